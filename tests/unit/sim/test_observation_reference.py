"""The vectorised observation builder equals a straightforward per-agent reference
implementation (written here, loop by loop) on random towns, in all three variants."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

from townlet.sim import TownVecEnv
from townlet.sim.constants import EMBED_DIM, stable_unit_hash

STEPS = {1: (0, -1), 2: (0, 1), 3: (1, 0), 4: (-1, 0)}


def _bfs(walk: np.ndarray, sources: list[tuple[int, int]]) -> np.ndarray:
    h, w = walk.shape
    dist = np.full((h, w), 10**9)
    todo: deque[tuple[int, int]] = deque()
    for x, y in sources:
        dist[y, x] = 0
        todo.append((x, y))
    while todo:
        x, y = todo.popleft()
        for dx, dy in STEPS.values():
            nx, ny = x + dx, y + dy
            if 0 <= nx < w and 0 <= ny < h and walk[ny, nx] and dist[ny, nx] > dist[y, x] + 1:
                dist[ny, nx] = dist[y, x] + 1
                todo.append((nx, ny))
    return dist


def _use_area(walk: np.ndarray, x: int, y: int) -> list[tuple[int, int]]:
    h, w = walk.shape
    out = [(x, y)]
    for dx, dy in STEPS.values():
        if 0 <= x + dx < w and 0 <= y + dy < h and walk[y + dy, x + dx]:
            out.append((x + dx, y + dy))
    return out


def _reference(env: TownVecEnv, t: int, a: int) -> tuple[np.ndarray, np.ndarray]:
    s, sc = env.state, env.scenario
    size = 11 if sc.observation_variant != "compact" else 7
    r = size // 2
    n_agents = env.num_agents
    walk = env.world.grid.walkable
    objs = sc.objects
    x, y = int(s.x[t, a]), int(s.y[t, a])
    channels = (
        4 if sc.observation_variant == "hybrid" else (6 if sc.observation_variant == "full" else 5)
    )
    m = np.zeros((channels, size, size), dtype=np.float32)
    m[0, r, r] = 1
    seen, nearest = 0, None
    for b in range(n_agents):
        if b == a or not s.alive[t, b]:
            continue
        dx, dy = int(s.x[t, b]) - x, int(s.y[t, b]) - y
        if abs(dx) <= r and abs(dy) <= r:
            m[1, dy + r, dx + r] = 1
            seen += 1
            d = math.hypot(dx, dy)
            nearest = d if nearest is None else min(nearest, d)
    held = {int(o) for o in s.hold_obj[t] if o >= 0}
    n_obj = n_res = 0
    for i, obj in enumerate(objs):
        dx, dy = obj.position[0] - x, obj.position[1] - y
        if abs(dx) <= r and abs(dy) <= r:
            m[2, dy + r, dx + r] = 1
            n_obj += 1
            if i in held:
                m[3, dy + r, dx + r] = 1
                n_res += 1
    for row in range(size):
        for col in range(size):
            dx, dy = col - r, row - r
            if sc.observation_variant == "full" and (dx or dy):
                norm = math.hypot(dx, dy)
                m[4, row, col], m[5, row, col] = dx / norm, dy / norm
            if sc.observation_variant == "compact":
                gx, gy = x + dx, y + dy
                inside = 0 <= gx < walk.shape[1] and 0 <= gy < walk.shape[0]
                m[4, row, col] = float(inside and walk[gy, gx])
    f = np.zeros(81, dtype=np.float64)
    f[0:3] = s.needs[t, a]
    f[3] = s.wallet[t, a]
    ledger = s.rivalry[t, a]
    f[18] = ledger.max()
    f[19] = sum(1 for v in ledger if v > 0 and v >= sc.conflict.rivalry.avoid_threshold)
    f[23] = float(s.hold_obj[t, a] >= 0)
    f[24] = float(s.queue_obj[t, a] >= 0)
    # path hint: nearest object for the lowest need (eat needs a stocked fridge in reach)
    need = int(np.argmin(s.needs[t, a]))
    fridges = [i for i, o in enumerate(objs) if o.type == "fridge"]
    stocked = any(s.stock[t, i] > 0 for i in fridges)

    def usable(i: int) -> bool:
        kind = objs[i].type
        if need == 0:
            return (kind == "fridge" and s.stock[t, i] > 0) or (kind == "table" and stocked)
        return kind == ("shower" if need == 1 else "bed")

    def closest(ok) -> int | None:
        best, best_d = None, 10**9
        for i, obj in enumerate(objs):
            if ok(i):
                d = _bfs(walk, _use_area(walk, *obj.position))[y, x]
                if d < best_d:
                    best, best_d = i, d
        return best

    goal = closest(usable)
    if goal is None and need == 0:
        goal = closest(lambda i: objs[i].type == "stove")
    if goal is not None:
        dist = _bfs(walk, _use_area(walk, *objs[goal].position))
        if 0 < dist[y, x] < 10**9:
            for code, (dx, dy) in STEPS.items():
                nx, ny = x + dx, y + dy
                if (
                    0 <= nx < walk.shape[1]
                    and 0 <= ny < walk.shape[0]
                    and dist[ny, nx] == dist[y, x] - 1
                ):
                    f[24 + code] = 1
                    break
    f[29] = min(1.0, seen / (size * size - 1))
    f[30] = min(1.0, n_obj / (size * size))
    f[31] = min(1.0, n_res / (size * size))
    f[32] = 0.0 if nearest is None else min(1.0, nearest / r)
    # social slots: two friends by trust + familiarity, then two rivals by tie rivalry
    trust, fam, riv = s.trust[t, a], s.familiarity[t, a], s.tie_rivalry[t, a]
    present = [b for b in range(n_agents) if b != a and (trust[b] or fam[b] or riv[b])]
    friends = sorted(present, key=lambda b: (-(trust[b] + fam[b]), b))[:2]
    rest = [b for b in present if b not in friends]
    rivals = sorted(rest, key=lambda b: (-riv[b], b))[:2]
    slots = friends + [None] * (2 - len(friends)) + rivals + [None] * (2 - len(rivals))
    for k, b in enumerate(slots):
        if b is None:
            continue
        base = 33 + 11 * k
        f[base : base + EMBED_DIM] = stable_unit_hash(sc.agents[b].id, EMBED_DIM)
        f[base + 8 : base + 11] = (trust[b], fam[b], riv[b])
    filled = [b for b in slots if b is not None]
    if filled:
        f[77], f[78] = np.mean([trust[b] for b in filled]), max(trust[b] for b in filled)
        f[79], f[80] = np.mean([riv[b] for b in filled]), max(riv[b] for b in filled)
    return m, f.astype(np.float32)


CHECKED = [0, 1, 2, 3, 18, 19, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, *range(33, 81)]


def _random_town(rng: np.random.Generator, variant: str) -> dict:
    w, h = 12, 11
    cells = [(x, y) for x in range(w) for y in range(h)]
    order = rng.permutation(len(cells))
    walls = [list(cells[i]) for i in order[:14]]
    free = [cells[i] for i in order[14:]]
    types = ["fridge", "fridge", "table", "stove", "shower", "bed", "bench"]
    objects = [
        {"id": f"o{i}", "type": kind, "position": list(free[i]), "stock": int(rng.integers(0, 2))}
        for i, kind in enumerate(types)
    ]
    agents = [{"id": f"agent_{i}", "position": list(free[20 + i])} for i in range(6)]
    return {
        "ticks": 100,
        "num_towns": 3,
        "observation_variant": variant,
        "grid": {"width": w, "height": h, "walls": walls},
        "objects": objects,
        "agents": agents,
        "conflict": {"rivalry": {"avoid_threshold": 0.5}},
    }


def _scramble(env: TownVecEnv, rng: np.random.Generator) -> None:
    """Random positions, needs, ties, reservations and queues in every town."""
    s = env.state
    free = np.argwhere(env.world.grid.walkable)  # (y, x)
    towns, agents = s.x.shape
    n_obj = env.world.num_objects
    pick = free[rng.integers(0, len(free), size=(towns, agents))]
    s.y[:], s.x[:] = pick[..., 0], pick[..., 1]
    s.needs[:] = rng.uniform(0.05, 1.0, size=s.needs.shape)
    s.wallet[:] = rng.uniform(0, 3, size=s.wallet.shape)
    s.stock[:] = rng.integers(0, 2, size=s.stock.shape)
    for name in ("trust", "familiarity", "rivalry", "tie_rivalry"):
        lo = -1.0 if name in ("trust", "familiarity") else 0.0
        vals = rng.uniform(lo, 1.0, size=(towns, agents, agents))
        vals *= rng.random((towns, agents, agents)) < 0.35
        vals = np.triu(vals, 1)
        getattr(s, name)[:] = vals + vals.transpose(0, 2, 1)
    s.alive[:] = rng.random((towns, agents)) < 0.85
    s.hold_obj[:] = np.where(
        rng.random((towns, agents)) < 0.3, rng.integers(0, n_obj, (towns, agents)), -1
    )
    s.queue_obj[:] = np.where(
        (s.hold_obj < 0) & (rng.random((towns, agents)) < 0.3),
        rng.integers(0, n_obj, (towns, agents)),
        -1,
    )


@pytest.mark.parametrize("variant", ["hybrid", "full", "compact"])
def test_vectorised_observations_match_reference(variant):
    rng = np.random.default_rng(7)
    for _ in range(3):
        env = TownVecEnv(_random_town(rng, variant))
        env.reset()
        _scramble(env, rng)
        obs = env.observe()
        for t in range(env.num_towns):
            for a in range(env.num_agents):
                ref_map, ref_feat = _reference(env, t, a)
                np.testing.assert_array_equal(obs["map"][t, a], ref_map, err_msg=f"{t},{a}")
                np.testing.assert_allclose(
                    obs["features"][t, a, CHECKED],
                    ref_feat[CHECKED],
                    rtol=1e-6,
                    atol=1e-6,
                    err_msg=f"town {t} agent {a}",
                )
