"""The conflict-aware policy/value network (DESIGN §6.3).

A map encoder and a feature encoder feed a shared trunk with a policy head over the discrete
actions and a value head. Every size comes from the data; nothing is hard-coded to a scenario.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from townlet.policy.distribution import masked_entropy


def _relu() -> nn.ReLU:
    """A ReLU that overwrites its input: every one here follows a Linear or Conv2d, whose
    backward never reads its own output, so autograd is unaffected and the values are the same;
    it saves allocating and writing a second activation (about 5% of a PPO minibatch step)."""
    return nn.ReLU(inplace=True)


def _map_encoder(kind: str, map_shape: tuple[int, int, int], hidden: int) -> nn.Module:
    channels, height, width = map_shape
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(channels * height * width, hidden), _relu())
    # A small CNN keeps spatial structure; padding 1 keeps H x W so the flatten size is known.
    return nn.Sequential(
        nn.Conv2d(channels, 16, kernel_size=3, padding=1),
        _relu(),
        nn.Conv2d(16, 16, kernel_size=3, padding=1),
        _relu(),
        nn.Flatten(),
        nn.Linear(16 * height * width, hidden),
        _relu(),
    )


class ConflictAwarePolicy(nn.Module):
    """Actor-critic over (map, features) observations with optional invalid-action masks."""

    def __init__(
        self,
        map_shape: tuple[int, int, int],
        feature_dim: int,
        action_dim: int,
        hidden_dim: int = 256,
        encoder: Literal["mlp", "conv"] = "mlp",
    ) -> None:
        super().__init__()
        self.map_shape = tuple(map_shape)
        self.map_encoder = _map_encoder(encoder, self.map_shape, hidden_dim)  # type: ignore[arg-type]
        self.feature_encoder = nn.Sequential(nn.Linear(feature_dim, hidden_dim), _relu())
        self.trunk = nn.Sequential(nn.Linear(2 * hidden_dim, hidden_dim), _relu())
        self.policy_head = nn.Linear(hidden_dim, action_dim)
        self.value_head = nn.Linear(hidden_dim, 1)

    def forward(
        self, obs_map: Tensor, features: Tensor, action_mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Logits [N, A] (masked actions at -inf) and values [N] for N flat observations."""
        hidden = self.trunk(
            torch.cat([self.map_encoder(obs_map), self.feature_encoder(features)], dim=-1)
        )
        logits = self.policy_head(hidden)
        if action_mask is not None:
            logits = logits.masked_fill(~action_mask, float("-inf"))
        return logits, self.value_head(hidden).squeeze(-1)

    def evaluate_actions(
        self, obs_map: Tensor, features: Tensor, actions: Tensor, action_mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """log pi(a|s), entropy and value for the given actions."""
        logits, values = self(obs_map, features, action_mask)
        log_probs = torch.log_softmax(logits, dim=-1)
        action_log_probs = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        return action_log_probs, masked_entropy(log_probs), values


def build_policy(
    policy: dict[str, Any], map_shape: Sequence[int], feature_dim: int, action_dim: int
) -> ConflictAwarePolicy:
    """The network a ``policy`` config section describes, sized from the data."""
    from townlet.config.models import PolicyConfig

    config = PolicyConfig.model_validate(policy)
    return ConflictAwarePolicy(
        map_shape=(int(map_shape[0]), int(map_shape[1]), int(map_shape[2])),
        feature_dim=feature_dim,
        action_dim=action_dim,
        hidden_dim=config.hidden_dim,
        encoder=config.encoder,
    )
