"""A callback that SIGKILLs its own training process at a chosen point, for resume tests.

Built from the command line (``+callbacks.kill._target_=tests.integration.kill_points.KillAt``),
it joins after the telemetry callback; Lightning runs ModelCheckpoint after every other callback,
so ``at="epoch_end"`` dies after the epoch's telemetry line and before its checkpoint.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import lightning as L

POINTS = ("epoch_start", "batch_end", "epoch_end")


class KillAt(L.Callback):
    """SIGKILL the process at ``at`` of epoch ``epoch`` (1-based, as telemetry counts)."""

    def __init__(self, at: str, epoch: int) -> None:
        if at not in POINTS:
            raise ValueError(f"at must be one of {POINTS}, got {at!r}")
        self.at = at
        self.epoch = epoch

    def _maybe_kill(self, trainer: L.Trainer, at: str) -> None:
        if at == self.at and trainer.current_epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._maybe_kill(trainer, "epoch_start")

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._maybe_kill(trainer, "batch_end")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._maybe_kill(trainer, "epoch_end")
