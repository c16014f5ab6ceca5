"""What a run prints while it trains: one progress bar over the run and a line per epoch.

Lightning's own bar counts the batches of each epoch, and a PPO epoch is one batch (one rollout),
so it showed ``1/1`` per epoch and nothing else. :class:`RunProgressBar` counts the epochs of the
whole fit instead (its ETA is the run's), and every ``print_every_n_epochs`` epochs it writes a
compact line of the numbers SB3 and CleanRL show (``ep_rew_mean``, ``fps``, the PPO losses, the
KPIs; the accuracy for BC). The line is taken from the same trainer's
:class:`~townlet.telemetry.callback.TelemetryCallback` record, so the console and
telemetry.ndjson show the same numbers, and it is written through tqdm so it doesn't break
the bar.

Who prints: Lightning disables a progress bar on every rank but global rank 0, and
``trainer.enable_progress_bar=false`` drops this callback altogether (builders.build_callbacks),
so neither bar nor lines appear then. In a Hydra multirun (-m: the basic, joblib or submitit
launcher) the jobs stay quiet: no bar, and no lines unless ``multirun_lines`` is true (the
lines are then printed plainly, e.g. into each submitit job's log).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

from townlet.run_folder import in_multirun
from townlet.telemetry.callback import TelemetryCallback

# The per-epoch line, in this order; a key the record lacks is left out (ep_rew_mean before the
# first finished episode, for instance). Every key starting with KPI_PREFIX follows the PPO keys.
PPO_LINE_KEYS = (
    "agent_steps",
    "ep_rew_mean",
    "ep_len_mean",
    "fps",
    "loss_total",
    "approx_kl",
    "clip_fraction",
)
BC_LINE_KEYS = ("accuracy", "val_accuracy", "loss", "val_loss")
KPI_PREFIX = "kpi."
# The bar's postfix: a glance, the line has the rest.
PPO_POSTFIX_KEYS = ("ep_rew_mean", "loss_total")
BC_POSTFIX_KEYS = ("accuracy", "val_accuracy")
# rate_fmt, not Lightning's rate_noinv_fmt: a slow run reads "12.3s/epoch", not "0.08epoch/s".
REDRAW_SECONDS = 1.0
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


def format_value(value: Any, digits: int = 4) -> str:
    """A number as the console prints it: whole numbers in full, others to ``digits``
    significant digits (``-15.61``, ``0.008865``, ``1.234e+05``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or (math.isfinite(value) and value.is_integer()):
        return str(int(value))
    return f"{value:.{digits}g}"


class RunProgressBar(TQDMProgressBar):
    """One bar over the epochs of the fit, with a telemetry line every N epochs.

    Args:
        refresh_rate: batches between redraws of the bar (its elapsed time and ETA); 0 hides
            the bar (the lines still print).
        process_position: Lightning's option, for several bars in one terminal.
        print_every_n_epochs: print the line of epoch e when e % N == 0 (e counts from 1, as in
            telemetry.ndjson), and always the fit's last one; 0 = never.
        multirun_lines: print the lines in Hydra multirun jobs too (never the bar).
        digits: significant digits of the printed numbers.
        ppo_keys, bc_keys: the record keys of the line (None = PPO_LINE_KEYS, BC_LINE_KEYS).
    """

    def __init__(
        self,
        refresh_rate: int = 1,
        process_position: int = 0,
        print_every_n_epochs: int = 1,
        multirun_lines: bool = False,
        digits: int = 4,
        ppo_keys: Sequence[str] | None = None,
        bc_keys: Sequence[str] | None = None,
    ) -> None:
        if print_every_n_epochs < 0:
            raise ValueError(f"print_every_n_epochs={print_every_n_epochs} — use 0 (never) or more")
        super().__init__(refresh_rate=refresh_rate, process_position=process_position, leave=True)
        self.print_every_n_epochs = print_every_n_epochs
        self.multirun_lines = multirun_lines
        self.digits = digits
        self.ppo_keys = tuple(PPO_LINE_KEYS if ppo_keys is None else ppo_keys)
        self.bc_keys = tuple(BC_LINE_KEYS if bc_keys is None else bc_keys)
        self._lines = True
        self._seen: dict[str, Any] | None = None  # the last record considered for a line
        self._printed: dict[str, Any] | None = None  # the last record printed

    # -- who prints ----------------------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)  # disables the bar on ranks other than 0
        multirun = in_multirun()
        if multirun:
            self.disable()
        self._lines = trainer.is_global_zero and self.print_every_n_epochs > 0
        self._lines = self._lines and (self.multirun_lines or not multirun)

    # -- the bar: epochs of the fit ----------------------------------------------------------
    def init_train_tqdm(self) -> Tqdm:
        return Tqdm(
            desc=_kind(self.trainer.lightning_module),  # ppo or bc (anneal runs both)
            total=_epochs(self.trainer.max_epochs),
            initial=self.trainer.current_epoch,  # a resumed run starts where it stopped
            unit="epoch",
            position=2 * self.process_position,
            disable=self.is_disabled,
            leave=True,
            dynamic_ncols=True,
            file=sys.stdout,
            smoothing=0,
            bar_format=BAR_FORMAT,
        )

    def init_validation_tqdm(self) -> Tqdm:
        # BC validates every epoch; a second bar per epoch is the noise this class removes.
        if self.trainer.state.fn == "fit":
            return Tqdm(disable=True)
        return super().init_validation_tqdm()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        # Anneal's stages share one telemetry callback: its record of an earlier stage is not
        # this fit's and is not printed again.
        self._seen = self._printed = self._record(trainer, pl_module)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # No reset: the bar spans the fit. A record that appeared after this callback's epoch
        # end (telemetry ordered after the bar) is printed here, one hook late.
        self._consider(trainer, pl_module)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        # Long replay/BC epochs: redraw (at most once a second) so elapsed and ETA keep moving
        # between epoch ends; a one-batch PPO epoch needs none of it.
        bar = self._train_progress_bar
        if bar is None or bar.disable or not self._should_update(batch_idx + 1, 0):
            return
        if bar._time() - bar.last_print_t >= REDRAW_SECONDS:
            bar.refresh()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._consider(trainer, pl_module)
        bar = self.train_progress_bar
        if not bar.disable:
            bar.set_postfix(self.get_metrics(trainer, pl_module), refresh=False)
            bar.update(1)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._consider(trainer, pl_module)
        record = self._record(trainer, pl_module)
        if record is not None and record is not self._printed:
            self._emit(record, pl_module)  # the fit's last epoch, whatever the cadence
        super().on_train_end(trainer, pl_module)

    def get_metrics(
        self, trainer: L.Trainer, pl_module: L.LightningModule
    ) -> dict[str, int | str | float | dict[str, float]]:
        """The postfix: a few numbers of the latest record (Lightning's v_num says nothing)."""
        record = self._record(trainer, pl_module)
        if record is None:
            return {}
        keys = BC_POSTFIX_KEYS if _kind(pl_module) == "bc" else PPO_POSTFIX_KEYS
        return {key: format_value(record[key], self.digits) for key in keys if key in record}

    # -- the lines ---------------------------------------------------------------------------
    def format_line(self, record: Mapping[str, Any], kind: str) -> str:
        """``[ppo] epoch 5  ep_rew_mean=-15.61  fps=607.8  …``: the record's own key names."""
        keys = list(self.bc_keys if kind == "bc" else self.ppo_keys)
        if kind != "bc":
            keys += sorted(key for key in record if key.startswith(KPI_PREFIX))
        fields = [
            f"{key}={format_value(record[key], self.digits)}" for key in keys if key in record
        ]
        return "  ".join([f"[{kind}] epoch {format_value(record['epoch'])}", *fields])

    def _consider(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Print the latest record once, when its epoch is on the cadence."""
        record = self._record(trainer, pl_module)
        if record is None or record is self._seen:
            return
        self._seen = record
        if self.print_every_n_epochs and int(record["epoch"]) % self.print_every_n_epochs == 0:
            self._emit(record, pl_module)

    def _emit(self, record: dict[str, Any], pl_module: L.LightningModule) -> None:
        self._printed = record
        if not self._lines:
            return
        line = self.format_line(record, _kind(pl_module))
        bar = self._train_progress_bar
        if bar is not None and not bar.disable:
            self.print(line)  # tqdm.write: above the bar, which is redrawn below
        else:
            print(line, flush=True)  # no bar (refresh_rate=0, multirun_lines)

    @staticmethod
    def _record(trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any] | None:
        """The latest record of the trainer's telemetry callback; None without telemetry."""
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, TelemetryCallback):
                if _kind(pl_module) == "bc":
                    return callback.last_bc_record
                return callback.last_record
        return None


def _epochs(max_epochs: int | None) -> int | None:
    """The bar's total; None (no ETA) for an unbounded fit (max_epochs -1, under max_time)."""
    return max_epochs if max_epochs is not None and max_epochs >= 0 else None


def _kind(pl_module: L.LightningModule) -> str:
    """``ppo`` or ``bc``: which of the telemetry callback's records the module produces."""
    return str(getattr(pl_module, "record_kind", "ppo"))
