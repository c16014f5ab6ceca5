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
from typing import Any

import numpy as np
import torch
from torch import Tensor

from townlet.policy.distribution import OBS_KEYS, act, flat_observations
from townlet.sim import EVENT_KEYS, TownVecEnv

EPISODE_WINDOW = 100  # like SB3's ep_info_buffer: episode stats over the last 100 episodes


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
        rows = env.num_towns * env.num_agents
        steps: dict[str, list[Tensor]] = {
            k: []
            for k in (
                "map",
                "features",
                "action_mask",
                "actions",
                "old_log_probs",
                "value_preds",
                "rewards",
                "dones",
                "valid",
                "truncation_values",
            )
        }
        events = dict.fromkeys(EVENT_KEYS, 0.0)
        for _ in range(ticks):
            obs = flat_observations(self.obs, device)
            actions, log_probs, values = act(policy, obs, self.sampler)
            for key in OBS_KEYS:
                steps[key].append(obs[key].cpu())
            steps["actions"].append(actions.cpu())
            steps["old_log_probs"].append(log_probs.cpu())
            steps["value_preds"].append(values.cpu())
            self.obs, rewards, terminated, truncated, info = env.step(
                actions.cpu().numpy().reshape(env.num_towns, env.num_agents)
            )
            steps["rewards"].append(torch.from_numpy(rewards.reshape(rows)))
            steps["dones"].append(torch.from_numpy((terminated | truncated).reshape(rows)))
            steps["valid"].append(torch.from_numpy(info["active"].reshape(rows)))
            steps["truncation_values"].append(
                self._truncation_values(policy, truncated, info, device)
            )
            for key in EVENT_KEYS:
                events[key] += float(info["events"][key].sum())
            self._track_episodes(rewards, terminated | truncated, info["active"])
        _, _, last_values = act(policy, flat_observations(self.obs, device), self.sampler)
        steps["value_preds"].append(last_values.cpu())
        # [ticks, rows, ...] -> [rows, ticks, ...]: one row per agent, like a replay sample.
        batch: dict[str, Any] = {k: torch.stack(v, dim=1) for k, v in steps.items()}
        events["chat_quality_mean"] = (
            events["chat_quality_sum"] / events["chat_success_events"]
            if events["chat_success_events"] > 0
            else 0.0
        )
        return {"batch": batch, "events": events}

    def _truncation_values(
        self,
        policy: torch.nn.Module,
        truncated: np.ndarray,
        info: dict[str, Any],
        device: torch.device,
    ) -> Tensor:
        values = torch.zeros(truncated.size)
        if not truncated.any():
            return values
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

    def episode_metrics(self) -> dict[str, float]:
        if not self.finished_returns:
            return {}
        return {
            "ep_rew_mean": float(np.mean(self.finished_returns)),
            "ep_len_mean": float(np.mean(self.finished_lengths)),
        }

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
