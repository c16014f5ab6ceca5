"""The shortcuts that keep one tick cheap give exactly what the plain computations give.

Each test pits a fast path against a straightforward version of the same computation (a stable
sort, a loop, a fresh environment) and compares bit for bit, signed zeros included.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from townlet.sim import TownVecEnv
from townlet.sim.constants import EMBED_DIM
from townlet.sim.features import SOCIAL_WIDTH, SocialSlots, _top_two, day_clock
from townlet.sim.indexing import object_counts, running_index


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _reference_top_two(key: np.ndarray, use: np.ndarray) -> np.ndarray:
    """The first two indices of a stable descending sort of ``key`` among ``use``."""
    return np.argsort(-np.where(use, key, -np.inf), axis=2, kind="stable")[:, :, :2]


@pytest.mark.parametrize("agents", [2, 3, 5, 8])
def test_top_two_matches_a_stable_sort(agents: int) -> None:
    rng = np.random.default_rng(agents)
    towns = 64
    # Few distinct values, so ties are common; some rows have 0 or 1 usable entries.
    key = rng.integers(-2, 3, (towns, agents, agents)).astype(np.float64) / 2
    use = rng.random((towns, agents, agents)) < rng.choice([0.0, 0.2, 0.6, 1.0], (towns, 1, 1))
    starts = (np.arange(towns * agents) * agents).reshape(towns, agents)
    out = np.empty((2, towns, agents), dtype=np.int64)
    _top_two(key, use, starts, out[0], out[1])
    assert np.array_equal(out.transpose(1, 2, 0), _reference_top_two(key, use))


def _reference_social(trust: np.ndarray, fam: np.ndarray, riv: np.ndarray, emb: np.ndarray) -> Any:
    """The social block as the simulation first computed it (slot-last, argsort based)."""
    towns, agents = trust.shape[:2]
    out = np.zeros((towns, agents, SOCIAL_WIDTH), dtype=np.float32)
    present = ((trust != 0) | (fam != 0) | (riv != 0)) & ~np.eye(agents, dtype=bool)
    if not np.count_nonzero(present):
        return out
    t, a = np.arange(towns)[:, None, None], np.arange(agents)[None, :, None]

    def top_two(key: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = _reference_top_two(key, use)
        return order, use[t, a, order]

    friends, f_valid = top_two(trust + fam, present)
    ids = np.arange(agents)
    chosen = (friends[:, :, 0:1] == ids) & f_valid[:, :, 0:1]
    chosen |= (friends[:, :, 1:2] == ids) & f_valid[:, :, 1:2]
    rivals, r_valid = top_two(riv, present & ~chosen)
    slots = np.concatenate([friends, rivals], axis=2)
    valid = np.concatenate([f_valid, r_valid], axis=2)
    s_trust, s_fam, s_riv = (m[t, a, slots] * valid for m in (trust, fam, riv))
    block = out[:, :, :44].reshape(towns, agents, 4, 11)
    block[..., :EMBED_DIM] = emb[np.where(valid, slots, agents)]
    block[..., EMBED_DIM:] = np.stack([s_trust, s_fam, s_riv], axis=3)
    n = valid.sum(axis=2)
    has = n > 0
    for k, values in enumerate((s_trust, s_riv)):
        out[:, :, 44 + 2 * k] = np.divide(values.sum(axis=2), n, out=np.zeros(n.shape), where=has)
        peak = np.where(valid, values, -np.inf).max(axis=2)
        out[:, :, 44 + 2 * k + 1] = np.where(has, peak, 0.0)
    return out


@pytest.mark.parametrize("agents", [1, 2, 3, 8])
def test_social_slots_match_the_reference(agents: int) -> None:
    rng = np.random.default_rng(10 + agents)
    towns = 32
    emb = np.vstack([rng.random((agents, EMBED_DIM)), np.zeros((1, EMBED_DIM))]).astype(np.float32)
    slots = SocialSlots(emb)
    shape = (towns, agents, agents)
    levels = np.array([-0.5, -0.1, 0.0, 0.1, 0.25, 0.5])  # repeated values: ties in rank

    def ties(values: np.ndarray, density: float) -> np.ndarray:
        return np.where(rng.random(shape) < density, rng.choice(values, shape), 0.0)

    for density in (0.0, 0.1, 0.4, 1.0):
        trust, fam = ties(levels, density), ties(levels, density)
        riv = ties(np.abs(levels), density)
        eye = np.eye(agents, dtype=bool)
        trust[:, eye] = fam[:, eye] = riv[:, eye] = 0.0
        state = SimpleNamespace(
            x=np.zeros((towns, agents), dtype=np.int64),
            trust=trust,
            familiarity=fam,
            tie_rivalry=riv,
        )
        expected = _reference_social(trust, fam, riv, emb)
        assert _same_bits(slots(state), expected)  # type: ignore[arg-type]
        # Only tie rivalry changes (as when it decays): the friend half comes from the memo.
        state.tie_rivalry = np.maximum(riv - 0.1, 0.0)
        expected = _reference_social(trust, fam, state.tie_rivalry, emb)
        assert _same_bits(slots(state), expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("ticks_per_day", [1, 7, 480, 1440])
def test_day_clock_table_matches_each_phase(ticks_per_day: int) -> None:
    table = day_clock(np.arange(ticks_per_day), ticks_per_day)
    for phase in range(0, ticks_per_day, max(1, ticks_per_day // 97)):
        angle = 2.0 * np.pi * (np.array([phase]) % ticks_per_day) / ticks_per_day
        assert table[phase, 0] == np.float32(np.sin(angle)[0])
        assert table[phase, 1] == np.float32(np.cos(angle)[0])


def test_object_counts_and_running_index() -> None:
    rng = np.random.default_rng(3)
    obj = rng.integers(-1, 6, (40, 9))
    expected = np.array([[np.count_nonzero(row == o) for o in range(6)] for row in obj])
    assert np.array_equal(object_counts(obj, 6), expected)
    towns = np.sort(rng.integers(0, 5, 50))
    expected_index = [int(np.count_nonzero(towns[:i] == town)) for i, town in enumerate(towns)]
    assert running_index(towns).tolist() == expected_index
    assert running_index(np.zeros(0, dtype=np.int64)).tolist() == []


def _fresh(env: TownVecEnv) -> TownVecEnv:
    """A brand-new env (no memos, no caches) holding ``env``'s state."""
    other = TownVecEnv(env.scenario, num_towns=env.num_towns, seed=env.seed)
    other.set_state(env.get_state())
    return other


def test_memos_follow_state_edits() -> None:
    """Observations after editing the state in place (positions, stock, ties, utilities) are
    those of a fresh env with that state: content-keyed memos never go stale."""
    env = TownVecEnv("town", num_towns=2, seed=5)
    env.reset()
    for _ in range(60):
        env.step(env.scripted_actions())
    edits = [
        lambda s: s.x.__setitem__((0, 1), (s.x[0, 1] + 1) % 24),
        lambda s: s.stock.__setitem__((slice(None), 1), 0),
        lambda s: s.trust.__setitem__((1, 2, 3), 0.75),
        lambda s: s.tie_rivalry.__setitem__((0, 4, 5), 0.5),
        lambda s: s.water_until.__setitem__(0, s.tick[0] + 50),
        lambda s: s.hold_obj.__setitem__((1, 0), 3),
    ]
    for edit in edits:
        env.observe()  # fill the memos with the state before the edit
        edit(env.state)
        fresh = _fresh(env)
        got, expected = env.observe(), fresh.observe()
        for key in expected:
            assert _same_bits(got[key], expected[key]), key
        assert _same_bits(env.scripted_actions(), fresh.scripted_actions())


def test_shared_position_arrays_are_read_only() -> None:
    env = TownVecEnv("town", num_towns=1, seed=0)
    env.reset()
    frame = env.engine.view().frame
    with pytest.raises(ValueError):
        frame.tile[0, 0] = 1
    with pytest.raises(ValueError):
        env.engine.view().usable[0, 0] = True
