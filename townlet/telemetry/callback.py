"""Lightning callback writing telemetry.ndjson and the SB3-named TensorBoard scalars (DESIGN §7).

The module computes the PPO numbers; this callback adds the stream counters (``steps``,
``log_stream_offset``, ``cycle_id``), the data source's fields and timings, validates the record
against the one schema, writes it from global rank 0, and sends the same numbers to every logger
with agent-steps as the step. Its counters live in ``state_dict`` so resumed runs continue exactly.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

from townlet.telemetry.schema import (
    ALWAYS_WRITTEN_KEYS,
    BC_KEYS,
    TELEMETRY_VERSION,
    BCRecord,
    TelemetryRecord,
)
from townlet.telemetry.tags import tb_scalars, write_layout
from townlet.telemetry.writer import NDJSONWriter

log = logging.getLogger(__name__)
BC_STREAM = "telemetry_bc.ndjson"

# Episode statistics (SB3's rollout/ep_rew_mean and rollout/ep_len_mean): see merge_epoch_metrics.
EPISODE_KEYS = ("ep_rew_mean", "ep_len_mean")
# Counters a data source without a live town reports as zero (DESIGN §7.1).
_EVENT_KEYS = (
    "rollout_ticks",
    "queue_conflict_events",
    "queue_conflict_intensity_sum",
    *ALWAYS_WRITTEN_KEYS,
)


def data_source_metrics(datamodule: Any) -> dict[str, Any]:
    """data_mode, baseline_* and this epoch's event counters from the datamodule."""
    metrics: dict[str, Any] = dict.fromkeys(_EVENT_KEYS, 0.0)
    metrics["data_mode"] = getattr(datamodule, "data_mode", "replay")
    metrics.update(getattr(datamodule, "baseline_metrics", {}) or {})
    epoch_metrics = getattr(datamodule, "epoch_metrics", None)
    if callable(epoch_metrics):
        metrics.update(epoch_metrics())
    return metrics


def merge_epoch_metrics(metrics: dict[str, float], source: dict[str, Any]) -> dict[str, Any]:
    """The module's PPO numbers and the data source's fields as one mapping.

    The two report different keys, except the episode statistics: the module measures the
    episodes that end inside the batches it trained on, while a live data source follows every
    episode across collections (SB3's window of the last 100), which no single batch shows. The
    source's statistics are used when it reports them, else the module's (replay data). Any
    other key reported by both is a bug, not a choice to make here.
    """
    shared = (metrics.keys() & source.keys()) - set(EPISODE_KEYS)
    if shared:
        raise ValueError(f"the module and the data source both report {sorted(shared)}")
    episodes = source if any(key in source for key in EPISODE_KEYS) else metrics
    merged = {key: value for key, value in metrics.items() if key not in EPISODE_KEYS}
    merged.update((key, value) for key, value in source.items() if key not in EPISODE_KEYS)
    merged.update((key, episodes[key]) for key in EPISODE_KEYS if key in episodes)
    return merged


def build_record(
    metrics: dict[str, float],
    source: dict[str, Any],
    *,
    epoch: int,
    duration: float,
    counters: dict[str, Any],
    run_info: dict[str, Any],
) -> dict[str, Any]:
    """One validated record: run info, PPO numbers and data source fields, stream counters."""
    record = {
        **run_info,
        **merge_epoch_metrics(metrics, source),
        **counters,
        "epoch": epoch,
        "telemetry_version": TELEMETRY_VERSION,
        "epoch_duration_sec": duration,
        "fps": metrics["transitions"] / duration if duration > 0 else 0.0,
    }
    return TelemetryRecord.model_validate(record).to_json_dict()


class TelemetryCallback(L.Callback):
    """Writes one telemetry_version 1.1 record per logged epoch."""

    def __init__(
        self,
        path: str,
        log_frequency: int = 1,
        max_log_entries: int = 0,
        run_info: dict[str, Any] | None = None,
    ) -> None:
        self.path = str(Path(path).resolve())
        self.log_frequency = log_frequency
        self.max_log_entries = max_log_entries
        self.run_info = dict(run_info or {})
        self.run_id = uuid.uuid4().hex[:12]
        self.steps = 0
        self.log_stream_offset = 0
        self.cycle_id = -1
        self.last_record: dict[str, Any] | None = None
        self.last_bc_record: dict[str, Any] | None = None
        # Staged runs (anneal) fit several Trainers: epochs continue across them, and each
        # stage may add keys (anneal_*) computed from the record.
        self.epoch_offset = 0
        self.annotate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self._writer_state: dict[str, int] | None = None
        self._writer: NDJSONWriter | None = None
        self._bc_writer: NDJSONWriter | None = None
        self._epoch_start = 0.0

    # -- Lightning hooks ---------------------------------------------------------------------
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                if isinstance(logger, TensorBoardLogger):
                    write_layout(logger.log_dir)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        duration = time.perf_counter() - self._epoch_start
        epoch = self.epoch_offset + trainer.current_epoch + 1
        if getattr(pl_module, "record_kind", "ppo") == "bc":
            self._write_bc(trainer, pl_module, epoch)
            return
        metrics = pl_module.epoch_metrics()  # type: ignore[operator]
        source = data_source_metrics(trainer.datamodule)  # type: ignore[attr-defined]
        self.steps += int(metrics["transitions"])
        self.log_stream_offset += 1  # counts every computed epoch, logged or not
        self.cycle_id += int(source.pop("rollout_collections", 0))
        counters = {
            "steps": self.steps,
            "log_stream_offset": self.log_stream_offset,
            "cycle_id": self.cycle_id,
            "run_id": self.run_id,
        }
        record = build_record(
            metrics,
            source,
            epoch=epoch,
            duration=duration,
            counters=counters,
            run_info=self.run_info,
        )
        if self.annotate is not None:
            annotated = {**record, **self.annotate(record)}
            record = TelemetryRecord.model_validate(annotated).to_json_dict()
        self.last_record = record
        if epoch % self.log_frequency != 0:
            return
        if trainer.is_global_zero:
            self._get_writer().write(record)
        self._log_scalars(trainer, record, int(metrics["agent_steps"]))

    def _write_bc(self, trainer: L.Trainer, pl_module: L.LightningModule, epoch: int) -> None:
        """BC epochs go to telemetry_bc.ndjson, so the PPO stream stays valid for old tools."""
        metrics = pl_module.epoch_metrics()  # type: ignore[operator]
        record = BCRecord.model_validate(
            {**{k: v for k, v in metrics.items() if k in BC_KEYS}, "epoch": epoch}
        ).to_json_dict()
        self.last_bc_record = record
        if epoch % self.log_frequency != 0:
            return
        if trainer.is_global_zero:
            if self._bc_writer is None:
                self._bc_writer = NDJSONWriter(Path(self.path).with_name(BC_STREAM))
            self._bc_writer.write(record)
        self._log_scalars(trainer, record, int(metrics["samples_seen"]))

    @staticmethod
    def _log_scalars(trainer: L.Trainer, record: dict[str, Any], step: int) -> None:
        scalars = tb_scalars(record)
        for logger in trainer.loggers:
            logger.log_metrics(scalars, step=step)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for writer in (self._writer, self._bc_writer):
            if writer is not None:
                writer.close()

    # -- checkpointed counters (plain ints and strings only) ---------------------------------
    def state_dict(self) -> dict[str, Any]:
        writer_state = self._writer.state_dict() if self._writer else self._writer_state
        return {
            "path": self.path,
            "run_id": self.run_id,
            "steps": self.steps,
            "log_stream_offset": self.log_stream_offset,
            "cycle_id": self.cycle_id,
            "writer": dict(writer_state) if writer_state else None,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.steps = int(state_dict["steps"])
        self.log_stream_offset = int(state_dict["log_stream_offset"])
        self.cycle_id = int(state_dict["cycle_id"])
        self.run_id = str(state_dict.get("run_id", self.run_id))
        # A resumed run continues the stream it came from (DESIGN §7.4), wherever it now runs.
        saved_path = state_dict.get("path")
        if saved_path and saved_path != self.path:
            log.info("resuming telemetry stream %s (checkpoint's run)", saved_path)
            self.path = str(saved_path)
        self._writer_state = state_dict.get("writer")
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _get_writer(self) -> NDJSONWriter:
        if self._writer is None:
            self._writer = NDJSONWriter(self.path, self.max_log_entries)
            if self._writer_state:
                self._writer.load_state_dict(self._writer_state)
        return self._writer
