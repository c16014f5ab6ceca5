#!/usr/bin/env python
"""Generate the small replay dataset shipped in ``townlet/data/embedded/``.

``data=replay`` must work right after installation with nothing else on disk, so the package
carries 8 samples (T=32, hybrid map 4x11x11, the 81 features of DESIGN §9.8, actions of §9.7)
written with townlet's own ``save_sample``. The trajectories come from a toy walk through a
12x12 town: one agent follows a masked softmax policy (so the stored log-probs are the real
log-probabilities of the stored actions), its needs decay and recover, rivalry rises on queue
conflicts and decays, and rewards follow the §9.6 need-deficit formula. The output is a pure
function of ``--seed``; re-running rewrites the same arrays.

    python scripts/make_embedded_replay.py [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from townlet.data import ACTION_NAMES, LIVE_ACTION_COUNT, save_sample  # noqa: E402
from townlet.data.metrics import summarise_sample  # noqa: E402
from townlet.sim.constants import FEATURE_NAMES  # noqa: E402

SAMPLES, T, VIEW, GRID = 8, 32, 11, 12
AGENTS = ("avery", "blake", "casey", "devon")
MAP_CHANNELS = ("self", "agents", "objects", "reservations")
# Object tiles and the goal-directed action (§9.7) that heads for each.
OBJECTS = {"fridge": (2, 2), "stove": (3, 2), "shower": (9, 2), "bed": (9, 9), "counter": (2, 9)}
GOALS = {5: "fridge", 6: "stove", 7: "shower", 8: "bed", 9: "counter"}
MOVES = {1: (0, -1), 2: (0, 1), 3: (1, 0), 4: (-1, 0)}
DECAY = np.array([0.01, 0.005, 0.008])  # hunger, hygiene, energy per tick (§9.2)
NEED_WEIGHTS = np.array([1.0, 0.6, 0.8])  # reward weights (§9.6)
RESTORE = {5: (0, 0.4), 6: (0, 0.1), 7: (1, 0.45), 8: (2, 0.8)}  # action: (need, gain)
AVOID_THRESHOLD = 0.4
COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


def step_towards(pos: np.ndarray, target: tuple[int, int]) -> np.ndarray:
    delta = np.array(target) - pos
    axis = int(np.argmax(np.abs(delta)))
    out = pos.copy()
    out[axis] += int(np.sign(delta[axis]))
    return out


def action_mask(pos: np.ndarray, others: np.ndarray, rivalry_max: float) -> np.ndarray:
    """Wait always; moves inside the grid; goals always (all objects exist); social if apt."""
    mask = np.ones(LIVE_ACTION_COUNT, dtype=bool)
    for action, (dx, dy) in MOVES.items():
        x, y = pos[0] + dx, pos[1] + dy
        mask[action] = 0 <= x < GRID and 0 <= y < GRID
    mask[10] = bool(np.any(np.abs(others - pos).max(axis=1) <= 1))
    mask[11] = rivalry_max >= AVOID_THRESHOLD
    return mask


def render_map(pos: np.ndarray, others: np.ndarray, reserved: set[str]) -> np.ndarray:
    """The egocentric 4x11x11 view centred on the agent."""
    frame = np.zeros((len(MAP_CHANNELS), VIEW, VIEW), dtype=np.float32)
    half = VIEW // 2
    frame[0, half, half] = 1.0

    def put(channel: int, xy: np.ndarray | tuple[int, int]) -> None:
        dx, dy = int(xy[0] - pos[0]) + half, int(xy[1] - pos[1]) + half
        if 0 <= dx < VIEW and 0 <= dy < VIEW:
            frame[channel, dy, dx] = 1.0

    for other in others:
        put(1, other)
    for name, xy in OBJECTS.items():
        put(2, xy)
        if name in reserved:
            put(3, xy)
    return frame


def trajectory(rng: np.random.Generator, index: int, end_at: int | None) -> dict[str, np.ndarray]:
    """One agent's T steps; ``end_at`` truncates its episode there and starts a fresh one."""
    features = np.zeros((T, len(FEATURE_NAMES)), dtype=np.float32)
    maps = np.zeros((T, len(MAP_CHANNELS), VIEW, VIEW), dtype=np.float32)
    actions = np.zeros(T, dtype=np.int64)
    log_probs = np.zeros(T, dtype=np.float32)
    rewards = np.zeros(T, dtype=np.float32)
    dones = np.zeros(T, dtype=bool)
    masks = np.zeros((T, LIVE_ACTION_COUNT), dtype=bool)
    social = rng.uniform(-1, 1, size=(4, 11)).astype(np.float32)  # 8-d embedding + ties
    social[:, 10] = 0.0  # rivalry column, tracked below
    pos, others = rng.integers(0, GRID, 2), rng.integers(0, GRID, (3, 2))
    needs, wallet = rng.uniform(0.7, 1.0, 3), rng.uniform(0.5, 2.0)
    rivalry, tick0, episode_start = np.zeros(2), 200 * index, 0
    last_action = 0
    for t in range(T):
        if end_at is not None and t == end_at + 1:  # the town reset: fresh needs and ledger
            pos, needs, rivalry, episode_start = (
                rng.integers(0, GRID, 2),
                np.full(3, 0.9),
                np.zeros(2),
                t,
            )
        others = np.clip(others + rng.integers(-1, 2, others.shape), 0, GRID - 1)
        if rng.random() < 0.25:  # a queue conflict with one of the two tracked rivals
            rivalry[rng.integers(0, 2)] += 0.2 * rng.uniform(0.4, 1.5)
        rivalry = np.clip(rivalry - 0.01, 0.0, 1.0)
        reserved = {name for name in OBJECTS if rng.random() < 0.2}
        mask = action_mask(pos, others, float(rivalry.max()))
        deficit = 1.0 - needs
        logits = 0.3 * rng.standard_normal(LIVE_ACTION_COUNT)
        logits[[5, 7, 8]] += 8.0 * deficit[[0, 1, 2]]
        logits[11] += 2.0 * rivalry.max()
        if last_action in GOALS:  # options are committed to: keep heading for the same goal
            logits[last_action] += 3.0
        logits = np.where(mask, logits, -np.inf)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        action = int(rng.choice(LIVE_ACTION_COUNT, p=probs))

        row = features[t]
        row[COLUMN["need_hunger"] : COLUMN["need_energy"] + 1] = needs
        row[COLUMN["wallet"]] = wallet
        phase = 2 * np.pi * ((tick0 + t) % 288) / 288
        row[COLUMN["time_sin"]], row[COLUMN["time_cos"]] = np.sin(phase), np.cos(phase)
        row[COLUMN["attendance_ratio"]] = 1.0
        row[COLUMN["shift_pre"]] = 1.0
        row[COLUMN["embedding_slot_norm"]] = np.linalg.norm(social[0, :8]) / np.sqrt(8)
        row[COLUMN["ctx_reset_flag"]] = float(t == episode_start)
        row[COLUMN["episode_progress"]] = (t - episode_start) / 64
        row[COLUMN["rivalry_max"]] = rivalry.max()
        row[COLUMN["rivalry_avoid_count"]] = float(np.sum(rivalry >= AVOID_THRESHOLD))
        row[COLUMN["last_action_id_hash"]] = last_action / LIVE_ACTION_COUNT
        row[COLUMN["last_action_success"]] = 1.0
        row[COLUMN["reservation_active"]] = float(bool(reserved))
        target = OBJECTS[GOALS.get(action, "fridge")]
        hints = step_towards(pos, target) - pos
        row[COLUMN["path_hint_north"] : COLUMN["path_hint_west"] + 1] = (
            hints[1] < 0,
            hints[1] > 0,
            hints[0] > 0,
            hints[0] < 0,
        )
        distances = np.abs(others - pos).max(axis=1)
        row[COLUMN["neighbor_agent_ratio"]] = np.mean(distances <= VIEW // 2)
        row[COLUMN["neighbor_object_ratio"]] = len(OBJECTS) / (VIEW * VIEW)
        row[COLUMN["reserved_tile_ratio"]] = len(reserved) / (VIEW * VIEW)
        row[COLUMN["nearest_agent_distance"]] = distances.min() / GRID
        social[2:, 10] = rivalry
        start = COLUMN["social_slot0_d0"]
        row[start : start + 44] = social.reshape(-1)
        row[COLUMN["social_trust_mean"]] = social[:, 8].mean()
        row[COLUMN["social_trust_max"]] = social[:, 8].max()
        row[COLUMN["social_rivalry_mean"]] = social[:, 10].mean()
        row[COLUMN["social_rivalry_max"]] = social[:, 10].max()
        maps[t] = render_map(pos, others, reserved)
        masks[t], actions[t], log_probs[t] = mask, action, np.log(probs[action])

        if action in MOVES:
            pos = pos + np.array(MOVES[action])
        elif action in GOALS:
            goal = OBJECTS[GOALS[action]]
            if np.abs(np.array(goal) - pos).sum() <= 1 and action in RESTORE:
                need, gain = RESTORE[action]
                needs[need] += gain
                wallet -= 0.4 if action == 5 else 0.0
            else:
                pos = step_towards(pos, goal)
        needs = np.clip(needs - DECAY, 0.0, 1.0)
        reward = 0.002 - float(np.sum(NEED_WEIGHTS * np.maximum(0.0, 1.0 - needs) ** 2))
        rewards[t] = np.clip(reward, -0.2, 0.2)
        dones[t] = end_at == t
        last_action = action
    return {
        "map": maps,
        "features": features,
        "actions": actions,
        "old_log_probs": log_probs,
        "value_preds": value_estimates(rng, rewards, dones),
        "rewards": rewards,
        "dones": dones,
        "action_mask": masks,
    }


def value_estimates(
    rng: np.random.Generator, rewards: np.ndarray, dones: np.ndarray, gamma: float = 0.99
) -> np.ndarray:
    """T+1 critic-like values: noisy discounted returns, with a bootstrap at the end."""
    values = np.zeros(T + 1, dtype=np.float64)
    values[T] = rewards[-8:].mean() / (1 - gamma) * 0.1
    for t in reversed(range(T)):
        values[t] = rewards[t] + gamma * values[t + 1] * (1.0 - dones[t])
    return (values + rng.normal(0.0, 0.02, T + 1)).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "townlet" / "data" / "embedded")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for stale in (*out.glob("embedded_*.npz"), *out.glob("embedded_*.json")):
        stale.unlink()
    rng = np.random.default_rng(args.seed)
    entries = []
    for index in range(SAMPLES):
        agent = AGENTS[index % len(AGENTS)]
        name = f"embedded_{agent}_{index:03d}"
        arrays = trajectory(rng, index, end_at=19 if index == 5 else None)
        meta = {
            "variant": "hybrid",
            "map_channels": list(MAP_CHANNELS),
            "feature_names": list(FEATURE_NAMES),
            "action_names": list(ACTION_NAMES),
            "action_dim": LIVE_ACTION_COUNT,
            "agent_id": agent,
            "frame_count": T,
            "sample_id": name,
            "metrics": summarise_sample(arrays, FEATURE_NAMES),
            "capture_metadata": {
                "scenario": "embedded",
                "seed": args.seed,
                "ticks": T,
                "policy": "synthetic masked softmax",
            },
        }
        save_sample(out / f"{name}.npz", arrays, meta)
        entries.append(
            {"sample": f"{name}.npz", "meta": f"{name}.json", "agent_id": agent, "frame_count": T}
        )
    (out / "replay_manifest.json").write_text(json.dumps(entries, indent=2) + "\n")
    total = sum(path.stat().st_size for path in out.iterdir() if path.is_file())
    print(f"wrote {SAMPLES} samples and replay_manifest.json to {out} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
