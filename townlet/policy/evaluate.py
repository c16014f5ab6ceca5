"""Score a policy by whole episodes in the live town, and a uniform-random reference policy."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from townlet.data.rollout_collector import RolloutCollector
from townlet.sim import NUM_ACTIONS, Scenario, TownVecEnv


class UniformRandomPolicy(nn.Module):
    """Equal logits over the legal actions and a zero value: the chance-level reference."""

    def __init__(self, action_dim: int = NUM_ACTIONS) -> None:
        super().__init__()
        self.action_dim = action_dim

    def forward(
        self, obs_map: Tensor, features: Tensor, action_mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        logits = torch.zeros(features.shape[0], self.action_dim, device=features.device)
        if action_mask is not None:
            logits = logits.masked_fill(~action_mask, float("-inf"))
        return logits, torch.zeros(features.shape[0], device=features.device)


def evaluate_episodes(
    policy: nn.Module, scenario: Scenario, towns: int = 4, seed: int = 10_000
) -> dict[str, float]:
    """Mean return and length of one full episode per agent in ``towns`` fresh towns.

    Actions are sampled from the policy (as in training). The seed is far from training seeds
    so the evaluation towns are not the ones the policy was trained in.
    """
    collector = RolloutCollector(TownVecEnv(scenario, num_towns=towns, seed=seed), seed)
    device = next((p.device for p in policy.parameters()), torch.device("cpu"))
    collector.collect(policy, scenario.ticks, device)
    metrics = collector.episode_metrics()
    return {"episode_return": metrics["ep_rew_mean"], "episode_length": metrics["ep_len_mean"]}
