"""BC and anneal result DTOs: bounds, clear rejections, and no telemetry counter lost; and an
anneal summary read back from a file, held against the guardrails before promotion."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from townlet.dto.anneal import (
    STAGE_TELEMETRY_KEYS,
    AnnealStageResultDTO,
    AnnealSummaryDTO,
    stage_metrics_from_record,
)
from townlet.dto.bc import BCTrainingResultDTO
from townlet.errors import DataError
from townlet.promotion.checks import checked_summary
from townlet.telemetry.schema import ALWAYS_WRITTEN_KEYS, TelemetryRecord

BC_RESULT: dict[str, Any] = {
    "manifest": "replay/replay_manifest.json",
    "accuracy": 0.93,
    "loss": 0.21,
    "val_accuracy": 0.9,
    "val_loss": 0.3,
    "learning_rate": 3e-4,
    "batch_size": 64,
    "epochs": 5,
    "device": "cpu",
    "duration_sec": 12.5,
    "run_dir": "outputs/2025-01-01/00-00-00",
}

BC_STAGE: dict[str, Any] = {
    "cycle": 0,
    "mode": "bc",
    "epochs": 3,
    "dataset": "replay",
    "bc_weight": 1.0,
    "bc_accuracy": 0.95,
    "bc_threshold": 0.9,
}


def test_bc_result_round_trips_through_json() -> None:
    result = BCTrainingResultDTO(**BC_RESULT)
    assert result.mode == "bc" and result.schema_version == 1
    assert BCTrainingResultDTO.model_validate_json(result.model_dump_json()) == result


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("accuracy", 1.2, "less than or equal to 1"),
        ("val_accuracy", -0.1, "greater than or equal to 0"),
        ("loss", -1.0, "greater than or equal to 0"),
        ("learning_rate", 0.0, "greater than 0"),
        ("batch_size", 0, "greater than or equal to 1"),
        ("epochs", 0, "greater than or equal to 1"),
        ("duration_sec", float("nan"), "finite number"),
        ("mode", "ppo", "'bc'"),
        ("surprise", 1, "Extra inputs are not permitted"),
    ],
)
def test_bc_result_rejects_out_of_range_values(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        BCTrainingResultDTO(**{**BC_RESULT, key: value})
    text = str(info.value)
    assert key in text and message in text


def test_bc_stage_needs_its_accuracy_and_threshold() -> None:
    # The DTO holds the outcome as given; townlet.promotion derives and checks it.
    assert AnnealStageResultDTO(**BC_STAGE).bc_passed is None
    assert AnnealStageResultDTO(**{**BC_STAGE, "bc_passed": False}).bc_passed is False
    with pytest.raises(ValidationError, match="needs bc_accuracy and bc_threshold"):
        AnnealStageResultDTO(**{**BC_STAGE, "bc_threshold": None})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cycle", -1, "greater than or equal to 0"),
        ("epochs", 0, "greater than or equal to 1"),
        ("bc_weight", -0.5, "greater than or equal to 0"),
        ("bc_accuracy", 1.5, "less than or equal to 1"),
        ("mode", "dqn", "'bc' or 'ppo'"),
        ("queue_conflict_events", -2.0, "greater than or equal to 0"),
        ("sleep_complete_events", -1.0, "greater than or equal to 0"),
        ("loss_total", float("inf"), "finite number"),
    ],
)
def test_stage_rejects_out_of_range_values(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        AnnealStageResultDTO(**{**BC_STAGE, key: value})
    assert key in str(info.value) and message in str(info.value)


def test_stage_carries_every_always_written_counter() -> None:
    # The counters the watch tool alerts on must have a home in the stage DTO.
    assert set(ALWAYS_WRITTEN_KEYS) <= set(AnnealStageResultDTO.model_fields)
    assert set(STAGE_TELEMETRY_KEYS) <= set(TelemetryRecord.model_fields)


def test_stage_metrics_from_record_keeps_all_counters() -> None:
    record: dict[str, object] = {key: float(i) for i, key in enumerate(STAGE_TELEMETRY_KEYS)}
    record.update({"epoch": 3.0, "chat_quality_mean": True, "data_mode": "rollout"})
    metrics = stage_metrics_from_record(record)
    assert set(metrics) == set(STAGE_TELEMETRY_KEYS)
    assert metrics["chat_quality_mean"] is None  # a bool is not a measurement
    stage = AnnealStageResultDTO(**{**BC_STAGE, "mode": "ppo", **metrics})
    restored = AnnealStageResultDTO.model_validate_json(stage.model_dump_json())
    for key in STAGE_TELEMETRY_KEYS:
        assert getattr(restored, key) == metrics[key]


def summary(status: str, stages: list[dict[str, Any]], **extra: Any) -> AnnealSummaryDTO:
    return AnnealSummaryDTO(
        stages=stages, status=status, dataset_label="replay", run_dir="outputs/r", **extra
    )


def test_summary_rejects_a_bad_streak() -> None:
    with pytest.raises(ValidationError, match="promotion_pass_streak"):
        summary("PASS", [BC_STAGE], promotion_pass_streak=-1)
    ok = summary("PASS", [BC_STAGE], baselines={"replay": {"loss_total": 1.0}})
    assert ok.result == "anneal" and ok.checkpoint is None


SOURCE = "anneal summary result.json"


def test_bc_outcome_is_derived_when_left_out_and_checked_when_given() -> None:
    checked = checked_summary(summary("PASS", [BC_STAGE]), SOURCE)
    assert checked.stages[0].bc_passed is True
    failing = checked_summary(summary("FAIL", [{**BC_STAGE, "bc_accuracy": 0.5}]), SOURCE)
    assert failing.stages[0].bc_passed is False
    contradicting = {**BC_STAGE, "bc_accuracy": 0.5, "bc_passed": True}
    with pytest.raises(DataError, match=r"stages\.0\.bc_passed=True — contradicts bc_accuracy=0.5"):
        checked_summary(summary("PASS", [contradicting]), SOURCE)


def test_status_must_match_the_stages() -> None:
    failing = {**BC_STAGE, "bc_accuracy": 0.4}
    with pytest.raises(DataError, match=r"status=PASS — .* give FAIL \(bc_stage_failed_cycle_0\)"):
        checked_summary(summary("PASS", [failing]), SOURCE)
    flagged = {**BC_STAGE, "cycle": 1, "mode": "ppo", "loss_flag": True}
    with pytest.raises(DataError, match="give HOLD"):
        checked_summary(summary("PASS", [BC_STAGE, flagged]), SOURCE)
    with pytest.raises(DataError, match=r"^anneal summary result\.json: status=PASS .* HOLD"):
        checked_summary(summary("PASS", []), SOURCE)


def test_missing_reasons_come_from_the_guardrails() -> None:
    flagged = {**BC_STAGE, "cycle": 1, "mode": "ppo", "loss_flag": True}
    checked = checked_summary(summary("HOLD", [BC_STAGE, flagged]), SOURCE)
    assert checked.reasons == ["loss_flag_cycle_1"]
    kept = checked_summary(summary("HOLD", [BC_STAGE, flagged], reasons=["by hand"]), SOURCE)
    assert kept.reasons == ["by hand"]


def test_baselines_name_only_guardrail_metrics() -> None:
    bad = summary("PASS", [BC_STAGE], baselines={"replay": {"reward": 1.0}})
    with pytest.raises(DataError, match="dataset 'replay' has unknown metric"):
        checked_summary(bad, SOURCE)
    both = summary("HOLD", [BC_STAGE], baselines={"replay": {"reward": 1.0}})
    with pytest.raises(DataError, match=r"give PASS.*\(and 1 more problem\(s\)\)"):
        checked_summary(both, SOURCE)
    ok = summary("PASS", [BC_STAGE], baselines={"replay": {"loss_total": 1.0}})
    assert checked_summary(ok, SOURCE).baselines == {"replay": {"loss_total": 1.0}}
