"""Anneal results (DESIGN §10): one DTO per stage and the summary written as ``result.json``.

Torch-free, and data only: the guardrail rules that decide a BC stage's outcome, a PPO stage's
flags and the schedule's status live in ``townlet.promotion``, which applies them where these
objects are built (the anneal runner) or read back (``python -m townlet.promote``).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from townlet.dto.epoch_record import PPOEpochRecord

AnnealStatus = Literal["PASS", "HOLD", "FAIL"]

# allow_inf_nan=False: result.json stays strict JSON; a NaN metric is a TrainingError upstream.
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _counter(description: str) -> float | None:
    """A non-negative telemetry counter, None when the stage's record lacked it."""
    value: float | None = Field(None, ge=0, description=description)
    return value


class AnnealStageResultDTO(BaseModel):
    """One finished stage of an anneal schedule: its settings, metrics and guardrail outcome."""

    model_config = _STRICT

    schema_version: Literal[1] = Field(1, description="version of this result layout")
    cycle: int = Field(ge=0, description="the stage's place in the schedule (cycle order)")
    mode: Literal["bc", "ppo"] = Field(description="which objective the stage trained")
    epochs: int = Field(ge=1, description="epochs the stage ran")
    dataset: str = Field(description="dataset label; baselines are kept per dataset")
    bc_weight: float = Field(ge=0, description="weight of the BC loss term (anneals to 0 in PPO)")
    bc_accuracy: float | None = Field(
        None, ge=0, le=1, description="BC accuracy (the latest BC accuracy in a PPO stage)"
    )
    bc_threshold: float | None = Field(
        None, ge=0, le=1, description="accuracy a BC stage must reach (anneal_accuracy_threshold)"
    )
    # validate_default: the check below runs when bc_passed is left out, too.
    bc_passed: bool | None = Field(
        None, validate_default=True, description="BC stage outcome: accuracy >= threshold"
    )
    loss_total: float | None = Field(None, description="PPO total loss of the stage's last epoch")
    queue_conflict_events: float | None = _counter("queue conflicts in the last epoch")
    queue_conflict_intensity_sum: float | None = _counter("summed intensity of those conflicts")
    loss_baseline: float | None = Field(None, description="loss_total baseline (None: first)")
    queue_baseline: float | None = Field(None, description="queue_conflict_events baseline")
    intensity_baseline: float | None = Field(None, description="intensity baseline")
    loss_flag: bool = Field(False, description="loss moved more than loss_tolerance")
    queue_flag: bool = Field(False, description="queue events fell below the tolerance")
    intensity_flag: bool = Field(False, description="conflict intensity fell below the tolerance")
    shared_meal_events: float | None = _counter("shared meals in the last epoch")
    late_help_events: float | None = _counter("helps given to late co-workers")
    shift_takeover_events: float | None = _counter("shifts taken over")
    chat_success_events: float | None = _counter("successful chats")
    chat_failure_events: float | None = _counter("failed chats")
    chat_quality_mean: float | None = _counter("mean chat quality")
    utility_outage_events: float | None = _counter("utility outages")
    shower_complete_events: float | None = _counter("completed showers")
    sleep_complete_events: float | None = _counter("completed sleeps")

    @field_validator("bc_passed")
    @classmethod
    def _bc_stage_fields(cls, passed: bool | None, info: ValidationInfo) -> bool | None:
        """A BC stage carries the accuracy and threshold its outcome is judged by."""
        if info.data.get("mode") != "bc":
            return passed
        accuracy, threshold = info.data.get("bc_accuracy"), info.data.get("bc_threshold")
        fields_valid = "bc_accuracy" in info.data and "bc_threshold" in info.data
        if fields_valid and (accuracy is None or threshold is None):  # else: already reported
            raise ValueError("a bc stage needs bc_accuracy and bc_threshold")
        return passed


class AnnealSummaryDTO(BaseModel):
    """The outcome of a whole anneal schedule, written as the run's ``result.json``."""

    model_config = _STRICT

    schema_version: Literal[1] = Field(1, description="version of this result layout")
    # Tells this result apart from the PPO ("result": "ppo") and BC ("mode": "bc") results.
    result: Literal["anneal"] = Field("anneal", description="which strategy produced it")
    stages: list[AnnealStageResultDTO] = Field(description="finished stages in cycle order")
    status: AnnealStatus = Field(description="FAIL: a BC stage failed; HOLD: a PPO stage flagged")
    dataset_label: str = Field(description="label of the schedule's dataset(s)")
    baselines: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="per dataset: loss_total, queue_conflict_events, queue_conflict_intensity_sum",
    )
    promotion_pass_streak: int = Field(0, ge=0, description="pass streak after this run")
    promotion_candidate_ready: bool = Field(False, description="the streak reached the target")
    reasons: list[str] = Field(default_factory=list, description="why the status is not PASS")
    run_dir: str = Field(description="the Hydra run folder holding every artifact")
    checkpoint: str | None = Field(None, description="final weights, the promotion candidate")


# Stage fields copied one to one from the stage's last PPO telemetry record (DESIGN §7.1), so the
# counters the watch tool alerts on survive into result.json: the stage fields a PPO epoch record
# declares too, in stage order.
STAGE_TELEMETRY_KEYS: tuple[str, ...] = tuple(
    name for name in AnnealStageResultDTO.model_fields if name in PPOEpochRecord.model_fields
)


def stage_metrics_from_record(record: Mapping[str, object]) -> dict[str, float | None]:
    """The ``STAGE_TELEMETRY_KEYS`` of a telemetry record as stage fields (missing: None).

    Booleans and strings are not metrics here and become None rather than 1.0 or an error.
    """
    metrics: dict[str, float | None] = {}
    for key in STAGE_TELEMETRY_KEYS:
        value = record.get(key)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            metrics[key] = float(value)
        else:
            metrics[key] = None
    return metrics
