"""Record scenario rollouts as replay samples in the older system's capture layout (DESIGN §11).

A capture steps ``num_towns`` towns of one scenario for ``ticks`` ticks and writes, into one
folder, one sample per agent of every town (``rollout_sample_<agent>_<nnn>.npz`` + ``.json``,
``nnn`` the 1-based running index over towns, then agents, zero-padded to 3 digits),
``rollout_sample_metrics.json`` (``{npz: metrics}``) and, last, ``rollout_sample_manifest.json``
(``[{sample, meta}]``): exactly the files DESIGN §8 reads, with upstream's array names, dtypes and
sidecar keys, plus townlet's ``action_mask``, ``action_names`` and ``capture_metadata``.

How steps are recorded:

- **Scripted controller**: it is deterministic and has no critic, so every recorded action has
  probability 1 (``old_log_probs`` = log 1 = 0.0) and ``value_preds`` are 0.0. PPO on such data
  therefore starts from zero baselines; BC only needs the actions.
- **Checkpoint policy**: actions are sampled with a seeded generator and the policy's real
  log-probabilities and values are stored, with V(last observation) as the (T+1)-th value.
- **dones** = terminated | truncated for the agent. A town whose episode ends resets in place and
  the capture goes on, so one sample can hold several episodes.
- **Agents already out of the episode** (fainted or evicted; ``info["active"]`` False) stay in the
  sample until their town resets, as the environment keeps them: their frozen observation, a
  mask with only ``wait`` allowed, action ``wait`` (log-prob 0 under any policy), reward 0. The
  done at the termination step ends their real episode; the last such filler step before the
  town resets is also marked done, so nothing of the filler stretch bootstraps across the reset
  into the next episode.

Every file is written with a temp file + ``os.replace``; a stale manifest is removed first and the
new one written last, so a killed capture never leaves a manifest naming missing files.
numpy only (the checkpoint policy lives in ``townlet.policy.checkpoint``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from townlet.atomic import atomic_write_text
from townlet.data.manifest import CAPTURE_MANIFEST, CAPTURE_METRICS
from townlet.data.metrics import summarise_sample
from townlet.data.sample import save_sample
from townlet.data.sample_layout import TRAINING_ARRAYS
from townlet.policy.action_source import SCRIPTED, ActionSource, Decision, Obs
from townlet.sim import TownVecEnv

SAMPLE_PREFIX = "rollout_sample_"
_STEP_KEYS = ("map", "features", "action_mask", "actions", "old_log_probs", "rewards", "dones")


class ScriptedSource:
    """The §9.9 threshold controller: deterministic, so log-prob 0 and no value estimate."""

    label = SCRIPTED

    def act(self, env: TownVecEnv, obs: Obs) -> Decision:
        actions = env.scripted_actions()
        zeros = np.zeros(actions.shape, dtype=np.float32)
        return Decision(actions, zeros, zeros)

    def value(self, obs: Obs) -> np.ndarray:
        return np.zeros(obs["action_mask"].shape[:2], dtype=np.float32)


def record_capture(env: TownVecEnv, source: ActionSource, ticks: int) -> dict[str, np.ndarray]:
    """Step ``env`` from a reset for ``ticks`` ticks; arrays are [towns, agents, T(+1), ...]."""
    obs = env.reset()
    steps: dict[str, list[np.ndarray]] = {key: [] for key in (*_STEP_KEYS, "value_preds")}
    for _ in range(ticks):
        decision = source.act(env, obs)
        for key in ("map", "features", "action_mask"):
            steps[key].append(obs[key].copy())
        steps["actions"].append(decision.actions)
        steps["old_log_probs"].append(decision.log_probs)
        steps["value_preds"].append(decision.values)
        obs, rewards, terminated, truncated, info = env.step(decision.actions)
        # The last filler step of an agent already out of the episode closes it at the reset.
        filler_end = info["town_done"][:, None] & ~info["active"]
        steps["rewards"].append(rewards)
        steps["dones"].append(terminated | truncated | filler_end)
    steps["value_preds"].append(source.value(obs))
    return {key: np.stack(frames, axis=2) for key, frames in steps.items()}


def sample_name(agent_id: str, index: int) -> str:
    """``rollout_sample_<agent>_<nnn>``: ``index`` is 1-based, at least 3 digits."""
    return f"{SAMPLE_PREFIX}{agent_id}_{index:03d}"


def action_lookup(action_names: tuple[str, ...]) -> dict[str, int]:
    """Upstream maps JSON action payloads to ids; townlet's payload is just the action's name."""
    return {json.dumps({"action": name}, sort_keys=True): i for i, name in enumerate(action_names)}


def _sample_meta(
    env: TownVecEnv, agent: int, ticks: int, metrics: dict[str, float], metadata: dict[str, Any]
) -> dict[str, Any]:
    """The sidecar, keyed and ordered like upstream's; save_sample refreshes the layout keys."""
    return {
        "variant": env.variant,
        "map_shape": list(env.map_shape),
        "map_channels": list(env.map_channels),
        "feature_names": list(env.feature_names),
        "embedding_slot": agent,
        "training_arrays": list(TRAINING_ARRAYS),
        "timesteps": ticks,
        "value_pred_steps": ticks + 1,
        "action_lookup": action_lookup(env.action_names),
        "action_dim": env.num_actions,
        "agent_id": env.agent_ids[agent],
        "frame_count": ticks,
        "metrics": metrics,
        "action_names": list(env.action_names),
        "capture_metadata": metadata,
    }


def write_capture(
    folder: Path, recorded: Mapping[str, np.ndarray], env: TownVecEnv, metadata: Mapping[str, Any]
) -> list[Path]:
    """Write every sample, then the metrics file, then the manifest; return the sample paths.

    ``metadata`` is the run's ``capture_metadata``; each sample's copy also names its ``town``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    # A re-capture into the same folder must not leave the old manifest naming half-new files.
    (folder / CAPTURE_MANIFEST).unlink(missing_ok=True)
    towns, agents, ticks = recorded["actions"].shape
    entries: list[dict[str, str]] = []
    all_metrics: dict[str, dict[str, float]] = {}
    paths: list[Path] = []
    for town in range(towns):
        for agent in range(agents):
            name = sample_name(env.agent_ids[agent], len(entries) + 1)
            arrays = {key: value[town, agent] for key, value in recorded.items()}
            metrics = summarise_sample(arrays, env.feature_names)
            meta = _sample_meta(env, agent, ticks, metrics, {**metadata, "town": town})
            paths.append(save_sample(folder / f"{name}.npz", arrays, meta).path)
            entries.append({"sample": f"{name}.npz", "meta": f"{name}.json"})
            all_metrics[f"{name}.npz"] = metrics
    _write_json(folder / CAPTURE_METRICS, all_metrics)
    _write_json(folder / CAPTURE_MANIFEST, entries)
    return paths


def _write_json(path: Path, payload: Any) -> None:
    """One JSON file through save_sample's own temp-file + ``os.replace`` writer."""
    text = json.dumps(payload, indent=2) + "\n"
    atomic_write_text(path, text)
