"""Collect one on-policy rollout from a ``TownVecEnv`` with the current policy (DESIGN §5).

Every agent of every town is one row of the batch: ``[towns * agents, ticks]`` trajectories in
the same layout as replay samples, plus two keys replay never has:

- ``valid``: the agent was alive when the tick began. Fainted agents stay in the arrays (only
  ``wait`` unmasked) until their town resets; their filler steps are not trained on.
- ``truncation_values``: V(final observation) on steps where the episode was truncated, else 0.
  The PPO module adds ``gamma * truncation_values`` to those rewards, so a truncated episode
  bootstraps from its last state while a terminated one does not (``dones`` cuts both).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from townlet.policy.distribution import OBS_KEYS, act, flat_observations
from townlet.sim import EVENT_KEYS, TownVecEnv

EPISODE_WINDOW = 100  # like SB3's ep_info_buffer: episode stats over the last 100 episodes
BATCH_KEYS = (*OBS_KEYS, "actions", "old_log_probs", "value_preds", "rewards", "dones", "valid")


def episode_statistics(returns: Sequence[float], lengths: Sequence[float]) -> dict[str, float]:
    """ep_rew_mean / ep_len_mean of finished episodes; none at all when none finished (SB3)."""
    if not returns:
        return {}
    return {"ep_rew_mean": float(np.mean(returns)), "ep_len_mean": float(np.mean(lengths))}


class RolloutSteps:
    """The per-tick [rows, ...] tensors of one collection, stacked into [rows, ticks, ...].

    Each observation is kept as the env returned it (no copy) until the one stack at the end,
    whose output is written in order; per-tick writes into a [rows, ticks, ...] buffer would
    scatter over every page of it on every tick, which measured slower.
    """

    def __init__(self, rows: int, ticks: int) -> None:
        self.rows = rows
        self.steps: dict[str, list[Tensor]] = {key: [] for key in BATCH_KEYS}
        # Zero except on the ticks where some agent was truncated (see module docstring).
        self.truncation_values = torch.zeros((rows, ticks))

    def add(self, key: str, value: Tensor) -> None:
        self.steps[key].append(value)

    def add_env_step(self, rewards: np.ndarray, done: np.ndarray, active: np.ndarray) -> None:
        """What the env returned for one tick: rewards, dones and who was active."""
        self.steps["rewards"].append(torch.from_numpy(rewards.reshape(self.rows)))
        self.steps["dones"].append(torch.from_numpy(done.reshape(self.rows)))
        self.steps["valid"].append(torch.from_numpy(active.reshape(self.rows)))

    def tensors(self) -> dict[str, Tensor]:
        """[ticks, rows, ...] -> [rows, ticks, ...]: one row per agent, like a replay sample."""
        batch = {
            key: _stack_observations(values) if key in OBS_KEYS else torch.stack(values, dim=1)
            for key, values in self.steps.items()
        }
        batch["truncation_values"] = self.truncation_values
        return batch


def _stack_observations(values: list[Tensor]) -> Tensor:
    """``torch.stack(values, dim=1)`` of one observation's CPU tensors, into NumPy's memory.

    The maps of a rollout fill tens of MB, new every epoch: touching fresh memory page by page
    costs more than the copy itself. NumPy asks Linux for transparent huge pages on allocations
    that large (``madvise``), which halves the stack; torch's allocator does not.
    """
    first = values[0]
    shape = (first.shape[0], len(values), *first.shape[1:])
    out = torch.from_numpy(np.empty(shape, dtype=first.numpy().dtype))
    return torch.stack(values, dim=1, out=out)


class RolloutCollector:
    """Steps the towns with a policy, keeping episodes running across collections."""

    def __init__(self, env: TownVecEnv, seed: int) -> None:
        self.env = env
        self.obs = env.reset(seed)
        shape = (env.num_towns, env.num_agents)
        self.episode_return = np.zeros(shape, np.float64)
        self.episode_length = np.zeros(shape, np.int64)
        self.finished_returns: deque[float] = deque(maxlen=EPISODE_WINDOW)
        self.finished_lengths: deque[int] = deque(maxlen=EPISODE_WINDOW)
        # Sampling noise has its own generator so a resumed run draws the same actions.
        self.sampler = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def collect(self, policy: torch.nn.Module, ticks: int, device: torch.device) -> dict[str, Any]:
        """``ticks`` steps of every town; returns the batch (CPU tensors) and ``metrics``."""
        env = self.env
        steps = RolloutSteps(env.num_towns * env.num_agents, ticks)
        events = np.zeros(len(EVENT_KEYS))
        for tick in range(ticks):
            obs = flat_observations(self.obs, device)
            actions, log_probs, values = act(policy, obs, self.sampler)
            actions = actions.cpu()
            for key in OBS_KEYS:
                steps.add(key, obs[key].cpu())
            steps.add("actions", actions)
            steps.add("old_log_probs", log_probs.cpu())
            steps.add("value_preds", values.cpu())
            self.obs, rewards, terminated, truncated, info = env.step(
                actions.numpy().reshape(env.num_towns, env.num_agents)
            )
            done = terminated | truncated
            steps.add_env_step(rewards, done, info["active"])
            if truncated.any():
                steps.truncation_values[:, tick] = self._truncation_values(
                    policy, truncated, info, device
                )
            # Per-town counts of the tick, each row summed like one np.sum per key.
            events += np.stack([info["events"][key] for key in EVENT_KEYS]).sum(axis=1)
            self._track_episodes(rewards, done, info["active"])
        _, _, last_values = act(policy, flat_observations(self.obs, device), self.sampler)
        steps.add("value_preds", last_values.cpu())
        totals = dict(zip(EVENT_KEYS, events.tolist(), strict=True))
        totals["chat_quality_mean"] = (
            totals["chat_quality_sum"] / totals["chat_success_events"]
            if totals["chat_success_events"] > 0
            else 0.0
        )
        return {"batch": steps.tensors(), "events": totals}

    def _truncation_values(
        self,
        policy: torch.nn.Module,
        truncated: np.ndarray,
        info: dict[str, Any],
        device: torch.device,
    ) -> Tensor:
        """[rows] V(final observation) of the truncated agents, 0 for the others."""
        values = torch.zeros(truncated.size)
        final = flat_observations(info["final_observation"], device)
        flat = torch.from_numpy(truncated.reshape(-1))
        index = flat.nonzero().squeeze(-1)
        _, bootstrap = policy(*(final[key][index.to(device)] for key in OBS_KEYS))
        values[index] = bootstrap.float().cpu()
        return values

    def _track_episodes(self, rewards: np.ndarray, done: np.ndarray, active: np.ndarray) -> None:
        self.episode_return += np.where(active, rewards, 0.0)
        self.episode_length += active
        for town, agent in zip(*np.nonzero(done), strict=True):
            self.finished_returns.append(float(self.episode_return[town, agent]))
            self.finished_lengths.append(int(self.episode_length[town, agent]))
        self.episode_return[done] = 0.0
        self.episode_length[done] = 0

    # -- checkpoint state: tensors and plain values only (weights_only loading) ---------------
    def state_dict(self) -> dict[str, Any]:
        env_state = self.env.get_state()
        return {
            "env": {
                k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in env_state["arrays"].items()
            },
            "env_seed": int(env_state["seed"]),
            "episode_return": torch.from_numpy(self.episode_return.copy()),
            "episode_length": torch.from_numpy(self.episode_length.copy()),
            "finished_returns": list(self.finished_returns),
            "finished_lengths": list(self.finished_lengths),
            "sampler": self.sampler.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        arrays = {k: v.numpy() for k, v in state["env"].items()}
        self.env.set_state(
            {"num_towns": self.env.num_towns, "seed": state["env_seed"], "arrays": arrays}
        )
        self.obs = self.env.observe()
        self.episode_return = state["episode_return"].numpy().copy()
        self.episode_length = state["episode_length"].numpy().copy()
        self.finished_returns = deque(state["finished_returns"], maxlen=EPISODE_WINDOW)
        self.finished_lengths = deque(state["finished_lengths"], maxlen=EPISODE_WINDOW)
        self.sampler.set_state(state["sampler"])
