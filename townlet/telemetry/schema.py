"""The telemetry record schema (DESIGN §7.1): key sets, pydantic records and the validator's rules.

This module is the single definition of a PPO/BC telemetry record. The writer side builds records
with :class:`TelemetryRecord` / :class:`BCRecord`; the validator side checks arbitrary parsed JSON
lines with :func:`record_problems`, which applies the older Townlet system's validator rules so
logs move both ways between the two systems. Torch-free by design (DESIGN §2).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypeGuard

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
SUPPORTED_VERSIONS: tuple[float, ...] = (1.0, 1.1)
DATA_MODES: tuple[str, ...] = ("replay", "rollout", "mixed")

REQUIRED_V10_KEYS: tuple[str, ...] = (
    "epoch", "updates", "transitions",
    "loss_policy", "loss_value", "loss_entropy", "loss_total",
    "clip_fraction", "clip_fraction_max", "clip_triggered_minibatches",
    "adv_mean", "adv_std", "adv_zero_std_batches", "adv_min_std",
    "grad_norm", "kl_divergence", "telemetry_version", "lr", "steps",
    "conflict.rivalry_max_mean_avg", "conflict.rivalry_max_max_avg",
    "conflict.rivalry_avoid_count_mean_avg", "conflict.rivalry_avoid_count_max_avg",
)  # fmt: skip

# Added to the old system after some of its logs were written; `allow_legacy` lets them be absent.
HEALTH_KEYS: tuple[str, ...] = (
    "adv_zero_std_batches", "adv_min_std", "clip_fraction_max", "clip_triggered_minibatches",
)  # fmt: skip

REQUIRED_V11_KEYS: tuple[str, ...] = (
    "epoch_duration_sec", "data_mode", "cycle_id", "batch_entropy_mean", "batch_entropy_std",
    "grad_norm_max", "kl_divergence_max", "reward_advantage_corr", "rollout_ticks",
    "log_stream_offset", "queue_conflict_events", "queue_conflict_intensity_sum",
)  # fmt: skip

REQUIRED_KEYS: tuple[str, ...] = REQUIRED_V10_KEYS + REQUIRED_V11_KEYS

# The old validator only forbids its *numeric* v1.1 keys in a v1.0 record; `data_mode` is tolerated.
V11_ONLY_NUMERIC_KEYS: tuple[str, ...] = tuple(k for k in REQUIRED_V11_KEYS if k != "data_mode")

ALWAYS_WRITTEN_KEYS: tuple[str, ...] = (
    "shared_meal_events", "late_help_events", "shift_takeover_events",
    "chat_success_events", "chat_failure_events", "chat_quality_mean",
    "utility_outage_events", "shower_complete_events", "sleep_complete_events",
)  # fmt: skip

BASELINE_KEYS: tuple[str, ...] = (
    "baseline_sample_count", "baseline_reward_mean", "baseline_reward_sum",
    "baseline_reward_sum_mean", "baseline_log_prob_mean",
)  # fmt: skip

# The old validator checks baselines only once these four are all present.
_BASELINE_CORE_KEYS: tuple[str, ...] = BASELINE_KEYS[:4]

ANNEAL_KEYS: tuple[str, ...] = (
    "anneal_cycle", "anneal_stage", "anneal_dataset", "anneal_bc_accuracy",
    "anneal_bc_threshold", "anneal_bc_passed", "anneal_loss_baseline", "anneal_queue_baseline",
    "anneal_intensity_baseline", "anneal_loss_flag", "anneal_queue_flag", "anneal_intensity_flag",
)  # fmt: skip

TOWNLET_EXTRA_KEYS: tuple[str, ...] = (
    "run_id", "strategy", "scenario", "seed", "agent_steps", "optimizer_steps",
    "explained_variance", "ep_rew_mean", "ep_len_mean", "fps",
)  # fmt: skip

# Living-well KPIs (DESIGN §13) over the agent-days that completed in the record's rollout; a
# record whose rollout completed no agent-day carries none of them.
KPI_KEYS: tuple[str, ...] = (
    "kpi.self_sufficiency", "kpi.lateness_rate", "kpi.attendance", "kpi.tie_share",
    "kpi.conflict_escalation", "faints_per_agent_day", "conflicts_per_agent_day", "agent_days",
)  # fmt: skip

BC_KEYS: tuple[str, ...] = (
    "epoch", "accuracy", "loss", "val_accuracy", "val_loss", "prob_true_act", "entropy",
    "telemetry_version",
)  # fmt: skip


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


class _FloatRecord(BaseModel):
    """Shared behaviour: finite numbers only, extra keys kept, JSON with every number a float."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

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
        # Extra keys skip field validation, so check them here: NaN must never reach the file.
        for key, value in (self.model_extra or {}).items():
            if isinstance(value, numbers.Real) and not math.isfinite(float(value)):
                raise ValueError(f"{key} must be a finite number, got {value!r}")
        return self

    def to_json_dict(self) -> dict[str, object]:
        """The flat NDJSON object: dotted keys literal, every number (ints, bools) a float."""
        dumped = self.model_dump(by_alias=True, exclude_none=True)
        return {key: _as_json_value(value) for key, value in dumped.items()}


def _as_json_value(value: object) -> object:
    if isinstance(value, numbers.Real):  # bool, int and numpy scalars included
        return float(value)
    return value


class TelemetryRecord(_FloatRecord):
    """One PPO epoch record at telemetry_version 1.1, exactly as townlet writes it."""

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


class BCRecord(_FloatRecord):
    """One BC epoch record, written to ``telemetry_bc.ndjson`` beside the PPO stream."""

    record: Literal["bc"] = "bc"
    epoch: Num
    accuracy: Num
    loss: Num
    val_accuracy: Num
    val_loss: Num
    prob_true_act: Num
    entropy: Num
    telemetry_version: Num = TELEMETRY_VERSION


_NUMBER_TYPES = (int, float)
_MISSING = object()


def _is_number(value: object) -> TypeGuard[int | float]:
    # bool is an int subclass but never a telemetry number (stricter than the old validator).
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)


def _number_problem(value: object) -> str | None:
    # Validators call this ~50 times per record on million-line logs; floats (every number
    # townlet and the old system write) take the first branch without any isinstance call.
    if type(value) is float:
        return None if math.isfinite(value) else "non-finite"
    if not _is_number(value):
        return "non-numeric"
    try:
        return None if math.isfinite(value) else "non-finite"
    except OverflowError:  # a JSON integer beyond float range can never be a telemetry float
        return "non-finite"


def _version_of(record: Mapping[str, object], problems: list[tuple[str, str]]) -> float | None:
    """The record's version if it is a supported one; otherwise log why and return None."""
    if "telemetry_version" not in record:
        problems.append(("telemetry_version", "missing"))
        return None
    value = record["telemetry_version"]
    problem = _number_problem(value)
    if problem is not None or not _is_number(value):
        problems.append(("telemetry_version", problem or "non-numeric"))
        return None
    version = float(value)
    if version not in SUPPORTED_VERSIONS:
        problems.append(
            ("telemetry_version", f"unsupported version {version!r} (expected 1.0 or 1.1)")
        )
        return None
    return version


def _check_keys(
    record: Mapping[str, object],
    keys: tuple[str, ...],
    problems: list[tuple[str, str]],
    optional: tuple[str, ...] = (),
) -> None:
    get = record.get
    for key in keys:
        value = get(key, _MISSING)
        if value is _MISSING:
            if key not in optional:
                problems.append((key, "missing"))
            continue
        if key == "data_mode":
            if not isinstance(value, str):
                problems.append((key, "data_mode must be a string"))
            continue
        problem = _number_problem(value)
        if problem is not None:
            problems.append((key, problem))


# Key tuples record_problems checks, built once rather than per record.
_BASE_CHECK_KEYS: tuple[str, ...] = tuple(k for k in REQUIRED_V10_KEYS if k != "telemetry_version")
_BC_CHECK_KEYS: tuple[str, ...] = tuple(k for k in BC_KEYS if k != "telemetry_version")


def record_problems(
    record: Mapping[str, object], *, allow_legacy: bool = False
) -> list[tuple[str, str]]:
    """Every rule a parsed NDJSON record breaks, as (key, problem) pairs; empty when valid.

    The rules are the old system's current validator's (DESIGN §7.5): the version is read from
    ``telemetry_version`` and must be 1.0 or 1.1; 1.0 records need the 23 REQUIRED_V10_KEYS and
    must not carry the numeric v1.1-only keys; 1.1 records need all 35 REQUIRED_KEYS, with
    ``data_mode`` a string; baseline_* keys must be finite once the four core ones are present.
    Problems are "missing", "non-numeric", "non-finite", "v1.1-only key in a v1.0 record",
    "data_mode must be a string" and, for the version itself, "unsupported version …".
    With ``allow_legacy`` the four HEALTH_KEYS may be absent (checked when present), which admits
    the old system's v1.0/v1.1 logs written before it added them. When the version is unknown only
    the version-independent keys are checked, so a single fault yields a single problem.
    BC records (``"record": "bc"``) are checked against BC_KEYS instead.
    """
    problems: list[tuple[str, str]] = []
    version = _version_of(record, problems)
    if record.get("record") == "bc":
        _check_keys(record, _BC_CHECK_KEYS, problems)
        return problems

    optional = HEALTH_KEYS if allow_legacy else ()
    _check_keys(record, _BASE_CHECK_KEYS, problems, optional)
    if version == 1.1:
        _check_keys(record, REQUIRED_V11_KEYS, problems)
    elif version == 1.0:
        problems.extend(
            (key, "v1.1-only key in a v1.0 record")
            for key in V11_ONLY_NUMERIC_KEYS
            if key in record
        )
    if all(key in record for key in _BASELINE_CORE_KEYS):
        _check_keys(record, BASELINE_KEYS, problems, optional=BASELINE_KEYS[4:])
    return problems
