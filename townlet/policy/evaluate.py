"""Torch policies in whole-episode evaluations (DESIGN §13), and a uniform-random reference.

:class:`NetworkProbe` lets a policy network drive :func:`townlet.policy.episodes.play_episodes`
like any probe: it samples actions as the rollout collector does in training
(:func:`townlet.policy.distribution.act`, with its own seeded generator), or takes the most
likely legal action when ``greedy``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from townlet.policy.action_source import Obs
from townlet.policy.checkpoint import load_checkpoint_policy
from townlet.policy.distribution import act, flat_observations
from townlet.policy.episodes import EpisodeReport, TickObserver, play_episodes
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


class NetworkProbe:
    """A policy network acting as a probe: ``(env, obs, rng) -> actions`` [towns, agents].

    The network masks illegal actions itself (its logits are -inf there), so both sampling and
    the greedy argmax stay legal.
    """

    def __init__(self, network: nn.Module, seed: int, greedy: bool = False) -> None:
        self.network = network
        self.greedy = greedy
        self.device = next((p.device for p in network.parameters()), torch.device("cpu"))
        # Its own generator, as in training, so the draws do not depend on other torch users.
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def __call__(self, env: TownVecEnv, obs: Obs, rng: np.random.Generator) -> np.ndarray:
        flat = flat_observations(obs, self.device)
        if self.greedy:
            logits, _ = self.network(flat["map"], flat["features"], flat["action_mask"])
            actions = torch.argmax(logits, dim=-1)
        else:
            actions, _, _ = act(self.network, flat, self.generator)
        return actions.cpu().numpy().astype(np.int64).reshape(obs["action_mask"].shape[:2])


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads, then restore the previous setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def play_checkpoint(
    path: Path,
    scenario: Scenario,
    scenario_name: str,
    *,
    towns: int,
    seed: int,
    greedy: bool,
    field: str,
    observer: TickObserver | None = None,
) -> EpisodeReport:
    """Whole episodes with a checkpoint's policy (on the CPU).

    ``field`` is the override that named the checkpoint, for the one-line errors of
    :func:`load_checkpoint_policy`; ``observer`` is handed to :func:`play_episodes`.
    """
    shape_check = TownVecEnv(scenario, num_towns=1, seed=seed)
    network = load_checkpoint_policy(path, shape_check, scenario_name, field=field)
    # One forward pass covers only towns x agents rows: intra-op threads cost more to
    # synchronise than they save (several times slower per tick on a busy machine).
    with torch_threads(1):
        probe = NetworkProbe(network, seed, greedy)
        return play_episodes(scenario, probe, towns, seed, observer)
