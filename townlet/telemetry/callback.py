"""Lightning callback writing telemetry.ndjson and the SB3-named TensorBoard scalars (DESIGN §7).

The module computes the PPO numbers; this callback adds the stream counters (``steps``,
``log_stream_offset``, ``cycle_id``), the data source's fields and timings, validates the record
against the one schema, writes it from global rank 0, and sends the same numbers to every logger
with agent-steps as the step. Its counters live in ``state_dict`` so resumed runs continue exactly.

Resume and fork (DESIGN §7.4, §14): the streams always live at this run's configured paths, never
at a path read from a checkpoint. The checkpoint stores each stream's position (file of the
rotation, lines, byte offset) and the resolved path of the stream that wrote it. On resume, a
stream at this run's path that holds the saved position (the same folder, or the folder moved or
copied whole) is cut back to it; where this run's folder has no stream yet (a checkpoint forked
into a new folder) a new stream starts there, continuing epochs and counters under a new run_id.
Anything else is refused rather than mixed.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

from townlet.errors import TownletError
from townlet.telemetry.schema import (
    ALWAYS_WRITTEN_KEYS,
    BC_KEYS,
    TELEMETRY_VERSION,
    BCRecord,
    TelemetryRecord,
)
from townlet.telemetry.tags import tb_scalars, write_layout
from townlet.telemetry.writer import NDJSONWriter, line_at_position, stream_files

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
        self._resume: dict[str, Any] | None = None  # a loaded state, applied in on_fit_start
        self._writer: NDJSONWriter | None = None
        self._bc_writer: NDJSONWriter | None = None
        self._epoch_start = 0.0

    # -- Lightning hooks ---------------------------------------------------------------------
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning restores callback states before this hook, so the streams are set up once
        # against the checkpoint's positions before any epoch writes.
        resume, self._resume = self._resume, None
        if resume is not None and trainer.is_global_zero:
            self._resume_streams(resume)
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
            self._get_bc_writer().write(record)
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
    # Order within an epoch end: the telemetry line is written and fsynced first, the checkpoint
    # (Lightning runs ModelCheckpoint after other callbacks) then saves the position after it.
    # A kill between the two leaves one line past the saved position; the resume cuts it off
    # and writes that epoch again, so it appears exactly once.
    def state_dict(self) -> dict[str, Any]:
        return {
            "stream_path": self.path,
            "run_id": self.run_id,
            "steps": self.steps,
            "log_stream_offset": self.log_stream_offset,
            "cycle_id": self.cycle_id,
            "writer": self._get_writer().state_dict(),
            "bc_writer": self._get_bc_writer().state_dict(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.steps = int(state_dict["steps"])
        self.log_stream_offset = int(state_dict["log_stream_offset"])
        self.cycle_id = int(state_dict["cycle_id"])
        self.run_id = str(state_dict.get("run_id", self.run_id))
        for writer in (self._writer, self._bc_writer):
            if writer is not None:
                writer.close()
        self._writer = self._bc_writer = None
        self._resume = {
            # Older checkpoints named the stream "path".
            "stream_path": state_dict.get("stream_path", state_dict.get("path")),
            "run_id": self.run_id,
            "writer": state_dict.get("writer"),
            "bc_writer": state_dict.get("bc_writer"),
        }

    def _resume_streams(self, resume: dict[str, Any]) -> None:
        """Cut this run's streams back to the saved positions, or start new ones (a fork)."""
        main, bc = Path(self.path), Path(self.path).with_name(BC_STREAM)
        forked = resume["stream_path"] != self.path and not stream_files(main)
        if forked:
            log.info("forking telemetry of %s into %s", resume["stream_path"], self.path)
            self.run_id = uuid.uuid4().hex[:12]
        for path, state in ((main, resume["writer"]), (bc, resume["bc_writer"])):
            if state is None or (forked and not stream_files(path)):
                continue
            if not _holds_run(path, state, resume["run_id"] if path == main else None):
                raise TownletError(
                    f"{path} does not hold the telemetry the checkpoint saved "
                    f"(file {state['file_index']}, byte {state.get('byte_offset')}); "
                    "resume into the run folder that wrote it, or into an empty one to fork"
                )
            writer = NDJSONWriter(path, self.max_log_entries if path == main else 0)
            writer.cut_back(state)
            if path == main:
                self._writer = writer
            else:
                self._bc_writer = writer

    def _get_writer(self) -> NDJSONWriter:
        if self._writer is None:
            self._writer = NDJSONWriter(self.path, self.max_log_entries)
        return self._writer

    def _get_bc_writer(self) -> NDJSONWriter:
        """BC epochs go to telemetry_bc.ndjson next to the PPO stream, never rotated."""
        if self._bc_writer is None:
            self._bc_writer = NDJSONWriter(Path(self.path).with_name(BC_STREAM))
        return self._bc_writer


def _holds_run(path: Path, state: dict[str, Any], run_id: str | None) -> bool:
    """Whether the stream at ``path`` holds the saved position, its last line (if any) written
    by ``run_id``: another run's stream may hold a line end at the same byte by chance."""
    line = line_at_position(path, state)
    if not line or run_id is None:
        return line is not None
    try:
        return bool(json.loads(line).get("run_id") == run_id)
    except (ValueError, AttributeError):
        return False
