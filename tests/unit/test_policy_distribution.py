"""One way to act and one entropy: Gumbel-max sampling and masked entropy (townlet.policy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from townlet.policy.distribution import OBS_KEYS, act, flat_observations, masked_entropy


class FixedLogits(nn.Module):
    """Returns the same masked logits for every observation, and a value of 0.5."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, obs_map: Tensor, features: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.logits.expand(features.shape[0], -1).masked_fill(~mask, float("-inf"))
        return logits, torch.full((features.shape[0],), 0.5)


def observations(rows: int, mask: list[bool]) -> dict[str, Tensor]:
    return {
        "map": torch.zeros(rows, 1, 2, 2),
        "features": torch.zeros(rows, 3),
        "action_mask": torch.tensor([mask] * rows),
    }


def test_act_is_gumbel_max_on_the_generators_draws() -> None:
    network = FixedLogits([0.5, -1.0, 2.0, 0.0])
    obs = observations(64, [True, True, True, False])
    actions, log_probs, values = act(network, obs, torch.Generator().manual_seed(3))
    # The same draws by hand: argmax(logits - log(-log(u))) with u from the seeded generator.
    logits, _ = network(obs["map"], obs["features"], obs["action_mask"])
    uniform = torch.rand(logits.shape, generator=torch.Generator().manual_seed(3))
    expected = torch.argmax(logits - torch.log(-torch.log(uniform.clamp_min(1e-20))), dim=-1)
    assert torch.equal(actions, expected)
    assert not (actions == 3).any()  # masked: never sampled
    chosen = torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    assert torch.equal(log_probs, chosen)
    assert values.tolist() == [0.5] * 64


def test_flat_observations_put_towns_and_agents_on_one_axis() -> None:
    obs = {
        "map": np.zeros((2, 3, 1, 4, 4), np.float32),
        "features": np.ones((2, 3, 5), np.float32),
        "action_mask": np.ones((2, 3, 6), bool),
    }
    flat = flat_observations(obs)
    assert tuple(flat) == OBS_KEYS
    assert [tuple(flat[key].shape) for key in OBS_KEYS] == [(6, 1, 4, 4), (6, 5), (6, 6)]


def test_masked_entropy_ignores_masked_actions_with_finite_gradients() -> None:
    logits = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, float("-inf")]], requires_grad=True)
    entropy = masked_entropy(torch.log_softmax(logits, dim=-1))
    assert entropy.tolist() == pytest.approx([math.log(3), math.log(2)])
    entropy.sum().backward()
    assert logits.grad is not None and bool(torch.isfinite(logits.grad).all())
