"""Stop on SIGTERM or SIGINT with a checkpoint to resume from (DESIGN §14).

Lightning's own SIGTERM handling raises ``SIGTERMException`` (a ``SystemExit`` with no code)
in the middle of an epoch: the process exits 0 without a checkpoint, and a scheduler reads
success. :class:`GracefulStop` replaces it for the fit: the first SIGTERM or SIGINT only asks
the trainer to stop when the running epoch ends (``trainer.should_stop``); the epoch ends whole,
``last.ckpt`` is saved, and the fit ends with :class:`RunInterrupted`: one line telling how to
resume, exit code 128 + the signal (143 for SIGTERM, 130 for SIGINT). A second signal ends the
process at once.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig

from townlet.errors import TownletError

log = logging.getLogger("townlet.signals")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
Handler = Callable[[int, FrameType | None], Any] | int | None
# Overrides the resume command sets itself (or that make no sense for one run).
RESUME_KEYS = ("ckpt_path=", "hydra.run.dir=", "hydra.sweep.dir=", "hydra.job.num=")


class RunInterrupted(TownletError):
    """Training stopped on a signal after saving a checkpoint; exit code 128 + the signal."""

    traceback_helps = False  # an interruption is no bug: 143/130 and the resume line, always

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


def resume_command(run_dir: str | Path, checkpoint: str | Path) -> str:
    """The command line that continues this run from ``checkpoint`` in the same folder."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    kept = [o for o in overrides if not o.lstrip("+~").startswith(RESUME_KEYS)]
    words = ["python", "-m", "townlet.train", *kept]
    words += [f"ckpt_path={checkpoint}", f"hydra.run.dir={run_dir}"]
    return shlex.join(words)


class GracefulStop(L.Callback):
    """On SIGTERM or SIGINT: end the epoch, save ``checkpoint``, stop and raise RunInterrupted."""

    def __init__(self, run_dir: str, checkpoint: str) -> None:
        self.run_dir = Path(run_dir)
        self.checkpoint = Path(checkpoint)
        self.signum: int | None = None
        self._saved_epoch: int | None = None
        self._originals: dict[int, Handler] = {}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            # Asked twice: the user wants out now, without waiting for the epoch to end.
            print(f"{signal.Signals(signum).name} again: stopping now", file=sys.stderr)
            os._exit(128 + signum)
        self.signum = signum
        # Logged, not printed: the one printed line is the resume command, at the end.
        name = signal.Signals(signum).name
        log.warning("%s: stopping after this epoch (again to stop now)", name)

    def _install(self, signums: Sequence[int]) -> None:
        # Signal handlers can only be set from the main thread (Lightning checks the same).
        if threading_is_main():
            for signum in signums:
                signal.signal(signum, self._on_signal)

    def _restore(self) -> None:
        if threading_is_main():
            for signum, handler in self._originals.items():
                if handler is not None:  # None: set outside Python, cannot be put back
                    signal.signal(signum, handler)
        self._originals = {}

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.signum, self._saved_epoch = None, None
        self._originals = {signum: signal.getsignal(signum) for signum in SIGNALS}
        self._install(SIGNALS)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning sets its SIGTERM handler after ``setup`` and chains the one it found (ours):
        # its half would stop mid-epoch and exit 0, so ours takes SIGTERM back for the training.
        self._install([signal.SIGTERM])

    def _signalled(self, trainer: L.Trainer) -> bool:
        # Under DDP only some ranks may get the signal; every rank calls this hook, so they
        # agree here and all stop (and save, which is collective) at the same epoch.
        return bool(trainer.strategy.reduce_boolean_decision(self.signum is not None, all=False))

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._signalled(trainer):
            trainer.should_stop = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The training loop is over (stopped, or at max_epochs): its state resumes cleanly.
        if self._signalled(trainer):
            trainer.save_checkpoint(self.checkpoint, weights_only=False)
            self._saved_epoch = trainer.current_epoch
            self.signum = self.signum or signal.SIGTERM  # a rank another rank's signal stopped

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        # A failed fit skips ``teardown``: give the process its own handlers back here.
        self._restore()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._restore()
        if self.signum is None:
            return
        name = signal.Signals(self.signum).name
        if self._saved_epoch is None:  # the signal came after the training loop ended
            raise RunInterrupted(f"interrupted by {name}; no checkpoint saved", self.signum)
        # Raised from the fit so every recipe (PPO, BC, each anneal stage) stops here, before
        # result.json: an interrupted run has no result.
        raise RunInterrupted(
            f"interrupted by {name} after epoch {self._saved_epoch}; resume with: "
            f"{resume_command(self.run_dir, self.checkpoint)}",
            self.signum,
        )


def threading_is_main() -> bool:
    return threading.current_thread() is threading.main_thread()
