"""record_problems: the old system's validator rules, on its real logs and on corrupted records."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from townlet.telemetry.schema import (
    ALWAYS_WRITTEN_KEYS,
    HEALTH_KEYS,
    REQUIRED_KEYS,
    BCRecord,
    TelemetryRecord,
    record_problems,
)

MISSING_HEALTH = sorted((key, "missing") for key in HEALTH_KEYS)


def load(upstream: Path, name: str) -> list[dict[str, object]]:
    lines = (upstream / "telemetry" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def built_record() -> dict[str, object]:
    values: dict[str, object] = {key: 1.0 for key in REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS}
    values.update(data_mode="mixed", telemetry_version=1.1)
    # Round-trip through JSON text, as a validator reading the file would see it.
    return json.loads(json.dumps(TelemetryRecord(**values).to_json_dict()))


def test_v1_1_fixture_needs_allow_legacy_for_exactly_the_health_keys(
    upstream_samples: Path,
) -> None:
    (record,) = load(upstream_samples, "ppo_conflict_telemetry_v1_1.jsonl")
    assert sorted(record_problems(record)) == MISSING_HEALTH
    assert record_problems(record, allow_legacy=True) == []


def test_v1_0_fixture_is_legacy_too(upstream_samples: Path) -> None:
    """README: v1.0 has no v1.1 keys; it also predates the health keys, so it is legacy."""
    (record,) = load(upstream_samples, "ppo_epoch_log_v1_0.jsonl")
    assert record["telemetry_version"] == 1.0
    assert sorted(record_problems(record)) == MISSING_HEALTH
    assert record_problems(record, allow_legacy=True) == []


def test_soak_fixture_passes_with_allow_legacy(upstream_samples: Path) -> None:
    records = load(upstream_samples, "ppo_soak_queue_conflict.jsonl")
    assert len(records) == 12
    assert {r["data_mode"] for r in records} == {"replay", "rollout"}
    for record in records:
        assert record_problems(record, allow_legacy=True) == []
        assert sorted(record_problems(record)) == MISSING_HEALTH


def test_built_record_passes_strict_rules() -> None:
    assert record_problems(built_record()) == []


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_each_required_key_missing(key: str) -> None:
    record = built_record()
    del record[key]
    assert record_problems(record) == [(key, "missing")]


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_each_required_key_as_a_string(key: str) -> None:
    record = built_record()
    if key == "data_mode":
        record[key] = 1.0
        assert record_problems(record) == [(key, "data_mode must be a string")]
    else:
        record[key] = "1.0"
        assert record_problems(record) == [(key, "non-numeric")]


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_each_required_key_as_a_nan_literal(key: str) -> None:
    record = built_record()
    record[key] = math.nan
    text = json.dumps(record)  # allow_nan defaults on: writes the bare NaN literal
    assert f'"{key}": NaN' in text
    expected = "data_mode must be a string" if key == "data_mode" else "non-finite"
    assert record_problems(json.loads(text)) == [(key, expected)]


def test_infinity_and_bool_are_rejected() -> None:
    record = built_record()
    record.update(lr=math.inf, grad_norm=True)
    assert record_problems(record) == [("grad_norm", "non-numeric"), ("lr", "non-finite")]


def test_allow_legacy_still_checks_health_keys_that_are_present() -> None:
    record = built_record()
    record["adv_min_std"] = "small"
    del record["clip_fraction_max"]
    assert record_problems(record, allow_legacy=True) == [("adv_min_std", "non-numeric")]


def test_v1_0_record_must_not_carry_v1_1_keys(upstream_samples: Path) -> None:
    (record,) = load(upstream_samples, "ppo_epoch_log_v1_0.jsonl")
    record.update(cycle_id=0.0, rollout_ticks=0.0)
    assert record_problems(record, allow_legacy=True) == [
        ("cycle_id", "v1.1-only key in a v1.0 record"),
        ("rollout_ticks", "v1.1-only key in a v1.0 record"),
    ]
    # As in the old validator, only the numeric v1.1 keys are forbidden; data_mode is tolerated.
    del record["cycle_id"], record["rollout_ticks"]
    record["data_mode"] = "replay"
    assert record_problems(record, allow_legacy=True) == []


@pytest.mark.parametrize("version", [1.2, 2.0, 0.9])
def test_unsupported_versions_are_a_problem(version: float) -> None:
    record = built_record()
    record["telemetry_version"] = version
    problems = record_problems(record)
    assert len(problems) == 1 and problems[0][0] == "telemetry_version"
    assert "unsupported version" in problems[0][1]


def test_baselines_are_checked_once_the_core_four_are_present(upstream_samples: Path) -> None:
    record = load(upstream_samples, "ppo_soak_queue_conflict.jsonl")[0]
    record["baseline_log_prob_mean"] = math.inf
    assert record_problems(record, allow_legacy=True) == [("baseline_log_prob_mean", "non-finite")]
    del record["baseline_reward_sum"]  # incomplete baseline set: the old validator skips it
    assert record_problems(record, allow_legacy=True) == []


def test_bc_records_are_checked_against_bc_keys() -> None:
    bc = BCRecord(
        epoch=1, accuracy=0.5, loss=1.0, val_accuracy=0.5, val_loss=1.0, prob_true_act=0.4,
        entropy=1.2,
    ).to_json_dict()  # fmt: skip
    assert record_problems(bc) == []
    del bc["accuracy"]
    bc["entropy"] = math.nan
    assert record_problems(bc) == [("accuracy", "missing"), ("entropy", "non-finite")]
