"""The numbers ``summary`` reports (DESIGN §7.5), folded from a record stream in one pass.

``summarise`` keeps only what the report needs: running min/max and the latest records (or the
last N records with ``last``). Its dict is the body of ``summary``'s JSON form, described in
:mod:`townlet.telemetry.summary`, which renders it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Any

from townlet.telemetry.schema import KPI_KEYS
from townlet.telemetry.streams import Record, ToolError, number
from townlet.telemetry.validate import relative_drift

LOSS_KEYS: tuple[str, ...] = ("loss_total", "loss_policy", "loss_value", "loss_entropy")
HEALTH_KEYS: tuple[str, ...] = ("kl_divergence", "kl_divergence_max", "grad_norm", "grad_norm_max")
QUEUE_KEYS: tuple[str, ...] = ("queue_conflict_events", "queue_conflict_intensity_sum")
SOCIAL_KEYS: tuple[str, ...] = (
    "shared_meal_events", "late_help_events", "shift_takeover_events",
    "chat_success_events", "chat_failure_events", "chat_quality_mean",
)  # fmt: skip
# Latest-only: PPO numbers without a meaningful min/max, and the run's progress.
OTHER_KEYS: tuple[str, ...] = (
    "clip_fraction", "batch_entropy_mean", "reward_advantage_corr", "explained_variance", "lr",
    "epoch_duration_sec", "rollout_ticks", "steps", "agent_steps",
)  # fmt: skip
EXTREME_KEYS: tuple[str, ...] = LOSS_KEYS + HEALTH_KEYS + QUEUE_KEYS + SOCIAL_KEYS
LATEST_KEYS: tuple[str, ...] = LOSS_KEYS + HEALTH_KEYS + OTHER_KEYS + QUEUE_KEYS + SOCIAL_KEYS
ANNEAL_TEXT = ("stage", "dataset")
ANNEAL_NUMBERS = (
    "cycle", "bc_accuracy", "bc_threshold", "loss_baseline", "queue_baseline", "intensity_baseline",
)  # fmt: skip
ANNEAL_FLAGS = ("bc_passed", "loss_flag", "queue_flag", "intensity_flag")


class Extremes:
    """Running min/max of EXTREME_KEYS over the records fed to it."""

    def __init__(self) -> None:
        self.low: dict[str, float] = {}
        self.high: dict[str, float] = {}

    def add(self, record: Record) -> None:
        for key in EXTREME_KEYS:
            value = record.get(key)
            if type(value) is not float:  # the common case skips the general conversion
                value = number(record, key)
            if value is None or not math.isfinite(value):
                continue
            if key not in self.low or value < self.low[key]:
                self.low[key] = value
            if key not in self.high or value > self.high[key]:
                self.high[key] = value

    def as_dict(self) -> dict[str, dict[str, float | None]]:
        return {k: {"min": self.low.get(k), "max": self.high.get(k)} for k in EXTREME_KEYS}


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    return None


def anneal_report(record: Record | None) -> dict[str, Any] | None:
    if record is None:
        return None
    status: dict[str, Any] = {}
    for name in ANNEAL_TEXT:
        value = record.get(f"anneal_{name}")
        status[name] = value if isinstance(value, str) else None
    status.update({name: number(record, f"anneal_{name}") for name in ANNEAL_NUMBERS})
    status.update({name: _flag(record.get(f"anneal_{name}")) for name in ANNEAL_FLAGS})
    return status


def baseline_drift(latest: Record, baseline: dict[str, float] | None) -> dict[str, Any] | None:
    """Drift of the latest record on the baseline_* keys, as ``validate --baseline`` sees it."""
    if baseline is None:
        return None
    drift: dict[str, Any] = {}
    for key, base in baseline.items():
        value = number(latest, key)
        if value is None:
            continue
        delta = value - base
        percent = relative_drift(delta, base)
        drift[key] = {
            "baseline": base,
            "latest": value,
            "delta": delta,
            "percent": percent if math.isfinite(percent) else None,  # JSON has no infinity
        }
    return drift


def summarise(
    records: Iterable[Record], last: int | None, baseline: dict[str, float] | None
) -> dict[str, Any]:
    """The summary dict (module docstring) of a record stream, in one pass."""
    window: deque[Record] = deque(maxlen=last or 1)
    extremes, latest_anneal, latest_kpi, total = Extremes(), None, None, 0
    for record in records:
        total += 1
        window.append(record)
        if last is None:  # whole log: fold as we go, keep only the latest record
            extremes.add(record)
            latest_anneal = record if _is_anneal(record) else latest_anneal
            latest_kpi = record if _has_kpis(record) else latest_kpi
    if total == 0:
        raise ToolError("no telemetry records")
    if last is not None:  # only the window counts
        for record in window:
            extremes.add(record)
            latest_anneal = record if _is_anneal(record) else latest_anneal
            latest_kpi = record if _has_kpis(record) else latest_kpi
    latest = window[-1]
    return {
        "records_total": total,
        "epochs": len(window) if last is not None else total,
        "latest_epoch": number(latest, "epoch"),
        "telemetry_version": number(latest, "telemetry_version"),
        "data_mode": latest.get("data_mode") if isinstance(latest.get("data_mode"), str) else None,
        "cycle_id": number(latest, "cycle_id"),
        "log_stream_offset": number(latest, "log_stream_offset"),
        "latest": {key: number(latest, key) for key in LATEST_KEYS},
        "extremes": extremes.as_dict(),
        "anneal": anneal_report(latest_anneal),
        "kpi": kpi_status(latest_kpi),
        "baseline_drift": baseline_drift(latest, baseline),
    }


def _is_anneal(record: Record) -> bool:
    return isinstance(record.get("anneal_stage"), str) and bool(record["anneal_stage"])


def _has_kpis(record: Record) -> bool:
    return any(key in record for key in KPI_KEYS)


def kpi_status(record: Record | None) -> dict[str, float | None] | None:
    """The epoch and KPI values of the latest record that carries KPIs (None: no such record)."""
    if record is None:
        return None
    return {"epoch": number(record, "epoch"), **{key: number(record, key) for key in KPI_KEYS}}
