"""Behaviour cloning as a LightningModule: cross-entropy on expert actions (DESIGN §10).

Batches are tuples in ``BCDataModule.batch_keys()`` order. Invalid actions are masked when the
data carries masks, so the network never spends probability on moves the expert could not make.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

from townlet.policy.conflict_aware import ConflictAwarePolicy, build_policy
from townlet.policy.distribution import masked_entropy
from townlet.strategies.losses import behaviour_cloning_loss

STAT_NAMES = ("loss", "accuracy", "prob_true_act", "entropy")


def bc_statistics(logits: Tensor, actions: Tensor) -> dict[str, Tensor]:
    """Loss, accuracy, mean probability of the expert's action and mean entropy of a batch."""
    log_probs = torch.log_softmax(logits, dim=-1)
    return {
        "loss": behaviour_cloning_loss(logits, actions),
        "accuracy": (logits.argmax(-1) == actions).float().mean(),
        "prob_true_act": log_probs.exp().gather(-1, actions.unsqueeze(-1)).mean(),
        "entropy": masked_entropy(log_probs).mean(),
    }


class BCModule(L.LightningModule):
    """Clones expert actions into the conflict-aware policy."""

    record_kind = "bc"

    def __init__(
        self,
        policy: dict[str, Any],
        map_shape: list[int],
        feature_dim: int,
        action_dim: int,
        batch_keys: list[str],
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        network: ConflictAwarePolicy | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["network"])
        # Anneal hands one network from stage to stage; otherwise the module builds its own.
        self.policy = network or build_policy(policy, map_shape, feature_dim, action_dim)
        self.batch_keys = list(batch_keys)
        self.samples_seen = 0
        self._sums: dict[str, list[float]] = {}

    def _statistics(self, batch: tuple[Tensor, ...]) -> tuple[dict[str, Tensor], int]:
        named = dict(zip(self.batch_keys, batch, strict=True))
        logits, _ = self.policy(named["map"], named["features"], named.get("action_mask"))
        return bc_statistics(logits, named["actions"]), int(named["actions"].shape[0])

    def _accumulate(self, prefix: str, stats: dict[str, Tensor], count: int) -> None:
        for name in STAT_NAMES:
            total = self._sums.setdefault(f"{prefix}{name}", [0.0, 0.0])
            total[0] += float(stats[name].detach()) * count
            total[1] += count

    def on_train_epoch_start(self) -> None:
        self._sums = {}

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        stats, count = self._statistics(batch)
        self._accumulate("", stats, count)
        self.samples_seen += count
        return stats["loss"]

    def validation_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> None:
        stats, count = self._statistics(batch)
        self._accumulate("val_", stats, count)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            self.policy.parameters(),
            lr=self.hparams["learning_rate"],
            weight_decay=self.hparams["weight_decay"],
        )

    def epoch_metrics(self) -> dict[str, float]:
        """Transition-weighted means of this epoch's training and validation statistics."""
        metrics = {key: total / count for key, (total, count) in self._sums.items() if count}
        metrics["samples_seen"] = float(self.samples_seen)
        return metrics

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["townlet"] = {"samples_seen": int(self.samples_seen)}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.samples_seen = int(checkpoint.get("townlet", {}).get("samples_seen", 0))
