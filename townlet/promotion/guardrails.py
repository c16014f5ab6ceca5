"""Anneal guardrails (DESIGN §10): pure functions over stage metrics. Torch-free.

- A BC stage passes when its accuracy reaches the threshold.
- A PPO stage is flagged when its total loss moves more than ``loss_tolerance`` (relative) from
  the baseline, or when queue-conflict events or their intensity fall below
  ``(1 - queue_tolerance)`` x baseline. A drop in conflicts means agents stopped meeting at the
  contested objects, which is the behaviour the queue scenarios exist to train.
- Baselines come from the previous PPO stage on the same dataset (``BaselineTracker``); the first
  PPO stage on a dataset has none, so it is never flagged and sets the baseline.
- Status: FAIL if any BC stage failed, else HOLD if any PPO stage was flagged, else PASS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from townlet.dto.anneal import AnnealStageResultDTO, AnnealStatus
from townlet.errors import ConfigError

# The metrics a PPO stage is held against its baseline on: the telemetry keys of the PPO stage
# they are taken from, and the keys of each dataset's entry in ``AnnealSummaryDTO.baselines``.
LOSS_KEY = "loss_total"
QUEUE_KEY = "queue_conflict_events"
INTENSITY_KEY = "queue_conflict_intensity_sum"
GUARDRAIL_METRIC_KEYS: tuple[str, ...] = (LOSS_KEY, QUEUE_KEY, INTENSITY_KEY)

# Reason given when a schedule ran no stage at all: nothing was checked, so nothing may pass.
NO_STAGES_REASON = "no_stages_run"


def _exceeds(value: float, limit: float) -> bool:
    """``value > limit``, with a value equal to the limit up to float rounding not exceeding it.

    Without this, ``|1.1 - 1.0| / 1.0`` (0.10000000000000009) would flag a loss exactly at a
    10 % tolerance, although the rule says only a larger change is flagged.
    """
    return value > limit and not math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12)


def _check_tolerances(loss_tolerance: float, queue_tolerance: float) -> None:
    if not (math.isfinite(loss_tolerance) and loss_tolerance >= 0):
        raise ConfigError(f"loss_tolerance={loss_tolerance} — must be a finite number >= 0")
    if not 0 <= queue_tolerance <= 1:
        raise ConfigError(f"queue_tolerance={queue_tolerance} — must be within [0, 1]")


def bc_stage_passed(accuracy: float, threshold: float) -> bool:
    """A BC stage passes when ``accuracy >= threshold``; a NaN accuracy never passes."""
    return accuracy >= threshold


def loss_flagged(loss_total: float | None, baseline: float | None, tolerance: float) -> bool:
    """``|loss - baseline| / |baseline| > tolerance``.

    - No loss or no (finite) baseline: nothing to compare, so no flag.
    - A non-finite loss against a finite baseline is flagged: divergence is the regression the
      guardrail exists to catch, and NaN would otherwise compare as "within tolerance".
    - A zero baseline makes the relative change undefined; the absolute change ``|loss|`` is
      compared with the same tolerance instead, so a loss that stays near 0 is not flagged while
      one that moves away from 0 is.
    """
    if loss_total is None or baseline is None or not math.isfinite(baseline):
        return False
    if not math.isfinite(loss_total):
        return True
    if baseline == 0.0:
        return _exceeds(abs(loss_total), tolerance)
    return _exceeds(abs(loss_total - baseline) / abs(baseline), tolerance)


def drop_flagged(value: float | None, baseline: float | None, tolerance: float) -> bool:
    """``value < (1 - tolerance) * baseline``: a queue count or intensity fell too far.

    No value or no (finite) baseline: no flag. A non-finite value is flagged, as for the loss.
    A zero baseline gives a zero floor, which no count can fall below.
    """
    if value is None or baseline is None or not math.isfinite(baseline):
        return False
    if not math.isfinite(value):
        return True
    return _exceeds((1.0 - tolerance) * baseline, value)


def ppo_stage_flags(
    loss_total: float | None,
    queue_events: float | None,
    intensity: float | None,
    baseline: Mapping[str, float] | None,
    loss_tolerance: float = 0.10,
    queue_tolerance: float = 0.15,
) -> dict[str, bool]:
    """The three flags of a PPO stage, keyed as the stage DTO's fields.

    ``baseline`` holds ``loss_total``, ``queue_conflict_events`` and
    ``queue_conflict_intensity_sum`` (any may be absent); ``None`` means this is the first PPO
    stage on its dataset, which sets the baseline and is never flagged.
    """
    _check_tolerances(loss_tolerance, queue_tolerance)
    base = baseline or {}
    return {
        "loss_flag": loss_flagged(loss_total, base.get(LOSS_KEY), loss_tolerance),
        "queue_flag": drop_flagged(queue_events, base.get(QUEUE_KEY), queue_tolerance),
        "intensity_flag": drop_flagged(intensity, base.get(INTENSITY_KEY), queue_tolerance),
    }


def anneal_status(stages: Sequence[AnnealStageResultDTO]) -> tuple[AnnealStatus, list[str]]:
    """FAIL if a BC stage failed, else HOLD if a PPO stage was flagged, else PASS; with reasons.

    Reasons name the cycle: ``bc_stage_failed_cycle_<c>`` for FAIL, and ``loss_flag_cycle_<c>``,
    ``queue_flag_cycle_<c>``, ``intensity_flag_cycle_<c>`` for HOLD, in stage order. An empty
    schedule is HOLD (``no_stages_run``): a run that checked nothing must not count as a pass.
    """
    if not stages:
        return "HOLD", [NO_STAGES_REASON]
    # A BC stage whose outcome is unknown (bc_passed None) counts as failed: the gate only opens
    # on evidence.
    failed = [
        f"bc_stage_failed_cycle_{s.cycle}"
        for s in stages
        if s.mode == "bc" and s.bc_passed is not True
    ]
    if failed:
        return "FAIL", failed
    flagged: list[str] = []
    for stage in stages:
        if stage.mode != "ppo":
            continue
        for name, raised in (
            ("loss_flag", stage.loss_flag),
            ("queue_flag", stage.queue_flag),
            ("intensity_flag", stage.intensity_flag),
        ):
            if raised:
                flagged.append(f"{name}_cycle_{stage.cycle}")
    return ("HOLD", flagged) if flagged else ("PASS", [])


class StageCheck(NamedTuple):
    """What ``BaselineTracker.observe`` found for one PPO stage."""

    baseline: dict[str, float] | None
    flags: dict[str, bool]

    def dto_fields(self) -> dict[str, float | bool | None]:
        """The baseline and flag fields of ``AnnealStageResultDTO`` (telemetry adds ``anneal_``)."""
        base = self.baseline or {}
        return {
            "loss_baseline": base.get(LOSS_KEY),
            "queue_baseline": base.get(QUEUE_KEY),
            "intensity_baseline": base.get(INTENSITY_KEY),
            **self.flags,
        }


class BaselineTracker:
    """Per-dataset baselines, each taken from the previous PPO stage on that dataset."""

    def __init__(self, baselines: Mapping[str, Mapping[str, float]] | None = None) -> None:
        # A resumed anneal run passes the baselines its summary already recorded.
        self._baselines: dict[str, dict[str, float]] = {
            dataset: dict(values) for dataset, values in (baselines or {}).items()
        }

    def get(self, dataset: str) -> dict[str, float] | None:
        """A copy of the dataset's baseline, or None before its first PPO stage."""
        values = self._baselines.get(dataset)
        return dict(values) if values is not None else None

    def update(
        self,
        dataset: str,
        loss_total: float | None,
        queue_events: float | None,
        intensity: float | None,
    ) -> None:
        """Make this stage the dataset's baseline.

        Missing or non-finite metrics keep the older value for that key, so one stage without
        (say) queue counts does not erase the queue baseline, and NaN never becomes a baseline.
        """
        current = dict(self._baselines.get(dataset, {}))
        for key, value in zip(
            GUARDRAIL_METRIC_KEYS, (loss_total, queue_events, intensity), strict=True
        ):
            if value is not None and math.isfinite(value):
                current[key] = float(value)
        if current:
            self._baselines[dataset] = current

    def observe(
        self,
        dataset: str,
        loss_total: float | None,
        queue_events: float | None,
        intensity: float | None,
        *,
        loss_tolerance: float = 0.10,
        queue_tolerance: float = 0.15,
    ) -> StageCheck:
        """Flag a finished PPO stage against the dataset's baseline, then make it the baseline."""
        baseline = self.get(dataset)
        flags = ppo_stage_flags(
            loss_total, queue_events, intensity, baseline, loss_tolerance, queue_tolerance
        )
        self.update(dataset, loss_total, queue_events, intensity)
        return StageCheck(baseline, flags)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """All baselines, as ``AnnealSummaryDTO.baselines`` holds them."""
        return {dataset: dict(values) for dataset, values in self._baselines.items()}
