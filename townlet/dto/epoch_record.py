"""The fields of one PPO epoch record at telemetry_version 1.1 (DESIGN §7.1). Torch-free.

Declared once, here, for the two places that hold such a record: the telemetry stream
(``townlet.telemetry.schema.TelemetryRecord`` adds the stream's extra keys) and the PPO result
(``PPOTrainingResultDTO``, the run's last record as ``result.json``). Both therefore check the
same fields the same way: numbers are floats and finite, and ``telemetry_version`` is 1.1.
"""

from __future__ import annotations

import math
import numbers
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

TELEMETRY_VERSION = 1.1


def _to_float(value: object) -> object:
    """Accept anything number-like (numpy scalars, 0-d tensors, bools) but never a string.

    pydantic's lax float would parse "1.5"; a string where a number belongs is a producer bug.
    """
    if isinstance(value, str | bytes):
        raise ValueError(f"must be a number, got the string {value!r}")
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "__float__"):  # e.g. a 0-d torch tensor, without importing torch
        try:
            return float(value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"must be a single number, got {type(value).__name__}") from err
    return value  # let pydantic report the type error


Num = Annotated[float, BeforeValidator(_to_float)]


def _as_json_value(value: object) -> object:
    if isinstance(value, numbers.Real):  # bool, int and numpy scalars included
        return float(value)
    return value


class NumericRecord(BaseModel):
    """Finite numbers only, the current ``telemetry_version``, JSON with every number a float."""

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("*", mode="after")
    @classmethod
    def _finite(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            name = info.field_name or "?"
            field = cls.model_fields.get(name)
            key = field.alias if field is not None and field.alias else name
            raise ValueError(f"{key} must be a finite number, got {value!r}")
        return value

    # Subclasses declare `telemetry_version` themselves so it sits in DESIGN's key order.
    @field_validator("telemetry_version", mode="after", check_fields=False)
    @classmethod
    def _version(cls, value: float) -> float:
        if value != TELEMETRY_VERSION:
            raise ValueError(f"telemetry_version must be {TELEMETRY_VERSION}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _finite_extras(self) -> Self:
        # Extra keys (where a subclass allows them) skip field validation, so check them here:
        # NaN must never reach a file.
        for key, value in (self.model_extra or {}).items():
            if isinstance(value, numbers.Real) and not math.isfinite(float(value)):
                raise ValueError(f"{key} must be a finite number, got {value!r}")
        return self

    def to_json_dict(self) -> dict[str, object]:
        """The flat NDJSON object: dotted keys literal, every number (ints, bools) a float."""
        dumped = self.model_dump(by_alias=True, exclude_none=True)
        return {key: _as_json_value(value) for key, value in dumped.items()}


class PPOEpochRecord(NumericRecord):
    """One PPO epoch at telemetry_version 1.1: every key townlet writes, in DESIGN's order."""

    # Required since 1.0.
    epoch: Num
    updates: Num
    transitions: Num
    loss_policy: Num
    loss_value: Num
    loss_entropy: Num
    loss_total: Num
    clip_fraction: Num
    clip_fraction_max: Num
    clip_triggered_minibatches: Num
    adv_mean: Num
    adv_std: Num
    adv_zero_std_batches: Num
    adv_min_std: Num
    grad_norm: Num
    kl_divergence: Num
    telemetry_version: Num = TELEMETRY_VERSION
    lr: Num
    steps: Num
    conflict_rivalry_max_mean_avg: Num = Field(alias="conflict.rivalry_max_mean_avg")
    conflict_rivalry_max_max_avg: Num = Field(alias="conflict.rivalry_max_max_avg")
    conflict_rivalry_avoid_count_mean_avg: Num = Field(
        alias="conflict.rivalry_avoid_count_mean_avg"
    )
    conflict_rivalry_avoid_count_max_avg: Num = Field(alias="conflict.rivalry_avoid_count_max_avg")
    # Required since 1.1.
    epoch_duration_sec: Num
    data_mode: Literal["replay", "rollout", "mixed"]
    cycle_id: Num
    batch_entropy_mean: Num
    batch_entropy_std: Num
    grad_norm_max: Num
    kl_divergence_max: Num
    reward_advantage_corr: Num
    rollout_ticks: Num
    log_stream_offset: Num
    queue_conflict_events: Num
    queue_conflict_intensity_sum: Num
    # Always written by townlet (the watch tool needs them).
    shared_meal_events: Num
    late_help_events: Num
    shift_takeover_events: Num
    chat_success_events: Num
    chat_failure_events: Num
    chat_quality_mean: Num
    utility_outage_events: Num
    shower_complete_events: Num
    sleep_complete_events: Num
    # Optional: only when the data carries per-sample metrics.
    baseline_sample_count: Num | None = None
    baseline_reward_mean: Num | None = None
    baseline_reward_sum: Num | None = None
    baseline_reward_sum_mean: Num | None = None
    baseline_log_prob_mean: Num | None = None
    # Optional: anneal PPO stages. Flags are written as 0.0/1.0 (the old watch tool reads bool(x)).
    anneal_cycle: Num | None = None
    anneal_stage: str | None = None
    anneal_dataset: str | None = None
    anneal_bc_accuracy: Num | None = None
    anneal_bc_threshold: Num | None = None
    anneal_bc_passed: Num | None = None
    anneal_loss_baseline: Num | None = None
    anneal_queue_baseline: Num | None = None
    anneal_intensity_baseline: Num | None = None
    anneal_loss_flag: Num | None = None
    anneal_queue_flag: Num | None = None
    anneal_intensity_flag: Num | None = None
    # Optional townlet additions.
    run_id: str | None = None
    strategy: str | None = None
    scenario: str | None = None
    seed: Num | None = None
    agent_steps: Num | None = None
    optimizer_steps: Num | None = None
    explained_variance: Num | None = None
    ep_rew_mean: Num | None = None
    ep_len_mean: Num | None = None
    fps: Num | None = None
    # Optional: the KPIs of the agent-days completed in the epoch's rollout (DESIGN §13).
    kpi_self_sufficiency: Num | None = Field(None, alias="kpi.self_sufficiency")
    kpi_lateness_rate: Num | None = Field(None, alias="kpi.lateness_rate")
    kpi_attendance: Num | None = Field(None, alias="kpi.attendance")
    kpi_tie_share: Num | None = Field(None, alias="kpi.tie_share")
    kpi_conflict_escalation: Num | None = Field(None, alias="kpi.conflict_escalation")
    faints_per_agent_day: Num | None = None
    conflicts_per_agent_day: Num | None = None
    agent_days: Num | None = None
