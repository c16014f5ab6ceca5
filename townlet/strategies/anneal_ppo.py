"""PPO with a behaviour-cloning term, for the PPO stages of anneal (DESIGN §10).

A stage's ``bc_weight`` keeps the network close to the expert it was cloned from while PPO takes
over: every minibatch adds ``weight x cross-entropy`` on an expert minibatch of the same size,
and the weight falls linearly to 0 across the stage's epochs. Plain PPO never carries this term.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor

from townlet.strategies import losses
from townlet.strategies.ppo import MinibatchLoss, PPOModule


class ExpertSource(Protocol):
    """Expert transitions for the BC term (``BCDataModule``)."""

    def expert_batch(self, size: int, generator: torch.Generator) -> dict[str, Tensor]: ...


class AnnealPPOModule(PPOModule):
    """PPO plus ``bc_weight`` x BC loss on ``expert`` data, the weight annealed to 0."""

    unsaved_arguments = (*PPOModule.unsaved_arguments, "expert")

    def __init__(self, expert: ExpertSource, bc_weight: float, **ppo_arguments: Any) -> None:
        """``ppo_arguments`` are :class:`PPOModule`'s."""
        super().__init__(**ppo_arguments)
        self.expert = expert
        self.bc_weight = bc_weight

    def current_bc_weight(self) -> float:
        """bc_weight, annealed linearly to 0 across this module's epochs."""
        total = max(1, int(self.hparams["max_epochs"]))
        return self.bc_weight * max(0.0, 1.0 - self.current_epoch / total)

    def minibatch_loss(self, minibatch: dict[str, Tensor]) -> MinibatchLoss:
        loss = super().minibatch_loss(minibatch)
        advantages = minibatch["advantages"]
        return loss._replace(total=loss.total + self.bc_term(advantages.numel(), advantages.device))

    def bc_term(self, size: int, device: torch.device) -> Tensor:
        """weight x cross-entropy on an expert minibatch of ``size``; 0 once the weight is 0."""
        weight = self.current_bc_weight()
        if weight <= 0:
            return torch.zeros((), device=device)
        # The module's seeded minibatch generator picks the rows, so a run draws the same ones.
        batch = self.expert.expert_batch(size, self.minibatch_rng)
        batch = {key: value.to(device) for key, value in batch.items()}
        logits, _ = self.policy(batch["map"], batch["features"], batch.get("action_mask"))
        return weight * losses.behaviour_cloning_loss(logits, batch["actions"])
