"""The telemetry record schema (DESIGN §7.1): key sets, pydantic records and the validator's rules.

The writer side builds records with :class:`TelemetryRecord` / :class:`BCRecord` (the PPO record's
fields are declared once, in :mod:`townlet.dto.epoch_record`, which the PPO result shares); the
validator side checks arbitrary parsed JSON lines with :func:`record_problems`, which applies the
older Townlet system's validator rules so logs move both ways between the two systems. Torch-free
by design (DESIGN §2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal, TypeGuard

from pydantic import ConfigDict

from townlet.dto.epoch_record import TELEMETRY_VERSION, Num, NumericRecord, PPOEpochRecord

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


class TelemetryRecord(PPOEpochRecord):
    """One PPO epoch record at telemetry_version 1.1, exactly as townlet writes it.

    The fields are :class:`~townlet.dto.epoch_record.PPOEpochRecord`'s; a stream record also
    keeps any other (finite) key the module or data source reports, such as ``approx_kl``.
    """

    model_config = ConfigDict(extra="allow")


class BCRecord(NumericRecord):
    """One BC epoch record, written to ``telemetry_bc.ndjson`` beside the PPO stream."""

    model_config = ConfigDict(extra="allow")

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
