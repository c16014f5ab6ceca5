"""``validate``: exit codes, one message per problem naming file, line and key, and drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from telemetry_tool_helpers import call, record, write_log

from townlet.telemetry.schema import HEALTH_KEYS, REQUIRED_KEYS, V11_ONLY_NUMERIC_KEYS

# The health keys in the order of REQUIRED_V10_KEYS, which is the order problems are reported in.
HEALTH_ORDER = (
    "clip_fraction_max", "clip_triggered_minibatches", "adv_zero_std_batches", "adv_min_std",
)  # fmt: skip


def test_townlet_records_validate(tmp_path: Path) -> None:
    log = write_log(tmp_path / "telemetry.ndjson", [record(e) for e in (1, 2, 3)])
    result = call("validate", log)
    assert result.code == 0
    assert result.out_lines == [f"{log}: 3 record(s) validated."]
    assert result.err == ""


def test_upstream_v1_1_needs_allow_legacy(upstream_samples: Path) -> None:
    path = upstream_samples / "telemetry" / "ppo_conflict_telemetry_v1_1.jsonl"
    strict = call("validate", path)
    assert strict.code == 1
    assert strict.err_lines[:4] == [f"{path}:1: {key}: missing" for key in HEALTH_ORDER]
    assert sorted(HEALTH_ORDER) == sorted(HEALTH_KEYS)
    assert strict.err_lines[4] == f"{path}: 4 problem(s) in 1 record(s)."
    assert strict.out == ""
    legacy = call("validate", "--allow-legacy", path)
    assert (legacy.code, legacy.out_lines, legacy.err) == (
        0,
        [f"{path}: 1 record(s) validated."],
        "",
    )


def test_upstream_v1_0_is_accepted_as_v1_0_with_allow_legacy(upstream_samples: Path) -> None:
    """README: the v1.0 sample has no v1.1 keys; it also predates the four health keys."""
    path = upstream_samples / "telemetry" / "ppo_epoch_log_v1_0.jsonl"
    strict = call("validate", path)
    assert strict.code == 1
    assert {line.split(": ")[1] for line in strict.err_lines[:4]} == set(HEALTH_KEYS)
    legacy = call("validate", "--allow-legacy", path)
    assert legacy.code == 0 and legacy.out_lines == [f"{path}: 1 record(s) validated."]


def test_upstream_soak_with_allow_legacy(upstream_samples: Path) -> None:
    path = upstream_samples / "telemetry" / "ppo_soak_queue_conflict.jsonl"
    result = call("validate", "--allow-legacy", path)
    assert result.code == 0 and result.out_lines == [f"{path}: 12 record(s) validated."]
    strict = call("validate", path)
    assert strict.code == 1 and len(strict.err_lines) == 12 * 4 + 1


# (kind, the value written, the problem expected) — data_mode has its own table below.
NUMERIC_KINDS: list[tuple[str, object, str]] = [
    ("missing", None, "missing"),
    ("string", "1.0", "non-numeric"),
    ("null", "NULL", "non-numeric"),
    ("bool", True, "non-numeric"),
    ("object", {"value": 1.0}, "non-numeric"),
    ("nan", float("nan"), "non-finite"),
    ("infinity", float("inf"), "non-finite"),
    ("-infinity", float("-inf"), "non-finite"),
    ("huge integer", "HUGE", "non-finite"),
]
DATA_MODE_KINDS: list[tuple[str, object, str]] = [
    ("missing", None, "missing"),
    ("number", 1.0, "data_mode must be a string"),
    ("null", "NULL", "data_mode must be a string"),
    ("nan", float("nan"), "data_mode must be a string"),
]
CASES = [
    (key, kind, value, problem)
    for key in REQUIRED_KEYS
    for kind, value, problem in (DATA_MODE_KINDS if key == "data_mode" else NUMERIC_KINDS)
]


def _corrupt(key: str, kind: str, value: object) -> str:
    bad = record(3)
    if kind == "missing":
        del bad[key]
        return json.dumps(bad)
    bad[key] = 0.0 if value in ("NULL", "HUGE") else value
    text = json.dumps(bad)  # NaN and Infinity become the bare literals the old system wrote
    if value == "NULL":
        text = text.replace(f'"{key}": 0.0', f'"{key}": null')
    if value == "HUGE":
        text = text.replace(f'"{key}": 0.0', f'"{key}": 1{"0" * 400}')
    return text


@pytest.mark.parametrize(("key", "kind", "value", "problem"), CASES)
def test_one_corrupted_key(tmp_path: Path, key: str, kind: str, value: Any, problem: str) -> None:
    # A blank line 2 proves line numbers count physical lines; the bad record is on line 3.
    log = write_log(tmp_path / "run.ndjson", [record(1), "", _corrupt(key, kind, value), record(4)])
    result = call("validate", log)
    assert result.code == 1
    assert result.err_lines == [
        f"{log}:3: {key}: {problem}",
        f"{log}: 1 problem(s) in 3 record(s).",
    ]
    assert result.out == ""


@pytest.mark.parametrize("key", V11_ONLY_NUMERIC_KEYS)
def test_v1_1_key_in_a_v1_0_record(tmp_path: Path, key: str) -> None:
    old = {k: v for k, v in record(1).items() if k not in V11_ONLY_NUMERIC_KEYS}
    old.update(telemetry_version=1.0)
    log = write_log(tmp_path / "v10.jsonl", [old, {**old, key: 1.0}])
    result = call("validate", "--allow-legacy", log)
    assert result.code == 1
    assert result.err_lines[0] == f"{log}:2: {key}: v1.1-only key in a v1.0 record"
    assert len(result.err_lines) == 2


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"epoch": 1.0,', "not a JSON object: invalid JSON (Expecting property name enclosed"),
        ("epoch=1", "not a JSON object: invalid JSON (Expecting value at column 1)"),
        ("[1.0, 2.0]", "not a JSON object: got an array"),
        ('"a string"', "not a JSON object: got a string"),
        ("42", "not a JSON object: got a number"),
        ("null", "not a JSON object: got null"),
    ],
)
def test_a_line_that_is_not_an_object(tmp_path: Path, line: str, why: str) -> None:
    log = write_log(tmp_path / "run.ndjson", [record(1), line, record(3)])
    result = call("validate", log)
    assert result.code == 1
    assert result.err_lines[0].startswith(f"{log}:2: {why}")
    assert result.err_lines[1] == f"{log}: 1 problem(s) in 2 record(s)."


def test_invalid_utf8_is_one_problem(tmp_path: Path) -> None:
    log = tmp_path / "run.ndjson"
    log.write_bytes(json.dumps(record(1)).encode() + b"\n" + b'{"epoch": "\xff"}\n')
    result = call("validate", log)
    assert (
        result.code == 1 and result.err_lines[0] == f"{log}:2: not a JSON object: not valid UTF-8"
    )


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    log = tmp_path / "empty.ndjson"
    log.write_text(content)
    result = call("validate", log)
    assert result.code == 1
    assert result.err_lines == [f"{log}: empty file: no telemetry records"]


def test_missing_file_is_one_line_and_the_others_are_still_checked(tmp_path: Path) -> None:
    good = write_log(tmp_path / "good.ndjson", [record(1)])
    missing = tmp_path / "nope.ndjson"
    result = call("validate", missing, good, tmp_path)
    assert result.code == 1
    assert result.out_lines == [f"{good}: 1 record(s) validated."]
    assert result.err_lines == [
        f"{missing}: no such file",
        f"{tmp_path}: is a directory, not a log file",
    ]


def test_every_problem_of_every_file_is_reported(tmp_path: Path) -> None:
    bad = record(2)
    del bad["lr"]
    bad["grad_norm"] = "high"
    first = write_log(tmp_path / "a.ndjson", [record(1), bad, "[]"])
    second = write_log(tmp_path / "b.ndjson", [record(1), {**record(2), "kl_divergence": None}])
    result = call("validate", first, second)
    assert result.code == 1
    assert result.err_lines == [
        f"{first}:2: grad_norm: non-numeric",
        f"{first}:2: lr: missing",
        f"{first}:3: not a JSON object: got an array",
        f"{first}: 3 problem(s) in 2 record(s).",
        f"{second}:2: kl_divergence: non-numeric",
        f"{second}: 1 problem(s) in 2 record(s).",
    ]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--drift-threshold", "1", "LOG"],
        ["--baseline", "B", "--drift-threshold", "x", "LOG"],
        ["--baseline", "B", "--drift-threshold", "-1", "LOG"],
        ["--bogus", "LOG"],
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    log = write_log(tmp_path / "log", [record(1)])
    result = call("validate", *[str(log) if a == "LOG" else a for a in args])
    assert result.code == 2
    assert "usage:" in result.err


# -- baseline drift ----------------------------------------------------------------------------
def _drift_log(tmp_path: Path) -> Path:
    rows = [(2.5, 4.0), (1.0, 4.0), (2.0, 5.0)]  # (baseline_reward_mean, baseline_sample_count)
    records = [
        record(i, baseline_reward_mean=mean, baseline_sample_count=count)
        for i, (mean, count) in enumerate(rows, start=1)
    ]
    return write_log(tmp_path / "telemetry.ndjson", records)


def _baseline(tmp_path: Path, payload: dict[str, Any]) -> Path:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(payload))
    return path


def _table(out: str) -> list[list[str]]:
    rows = [line for line in out.splitlines() if line.startswith("  ") and " | " in line]
    return [[cell.strip() for cell in row.split("|")] for row in rows]


def test_drift_table_columns_and_values(tmp_path: Path) -> None:
    log = _drift_log(tmp_path)
    # The file lists reward_mean first; the table follows the schema order (sample_count first).
    base = _baseline(tmp_path, {"baseline_reward_mean": 2.0, "baseline_sample_count": 4.0})
    result = call("validate", log, "--baseline", base)
    assert result.code == 0, result.err
    assert result.out_lines[0] == f"{log}: 3 record(s) validated."
    assert _table(result.out) == [
        ["line", "epoch", "baseline_sample_count", "baseline_reward_mean"],
        ["1", "1", "+0.000000", "+0.500000"],
        ["2", "2", "+0.000000", "-1.000000"],
        ["3", "3", "+1.000000", "+0.000000"],
    ]
    assert "    baseline_reward_mean: -1.000000 (line 2)" in result.out_lines
    assert "    baseline_sample_count: +1.000000 (line 3)" in result.out_lines


def test_relative_drift_adds_percent_columns(tmp_path: Path) -> None:
    log = _drift_log(tmp_path)
    base = _baseline(tmp_path, {"baseline_reward_mean": -2.0, "baseline_sample_count": 4.0})
    result = call("validate", log, "--baseline", base, "--relative")
    assert result.code == 0, result.err
    table = _table(result.out)
    assert table[0][-2:] == ["baseline_sample_count%", "baseline_reward_mean%"]
    # (2.5 - -2) / |-2| = +225%, (1 - -2) / 2 = +150%, (2 - -2) / 2 = +200%; counts 0, 0, +25%.
    assert [row[-2:] for row in table[1:]] == [
        ["+0.00%", "+225.00%"],
        ["+0.00%", "+150.00%"],
        ["+25.00%", "+200.00%"],
    ]


def test_drift_threshold_fails_naming_key_and_value(tmp_path: Path) -> None:
    log = _drift_log(tmp_path)
    base = _baseline(tmp_path, {"baseline_reward_mean": 2.0, "baseline_sample_count": 4.0})
    passing = call("validate", log, "--baseline", base, "--drift-threshold", "1.0")
    assert passing.code == 0 and passing.err == ""
    failing = call("validate", log, "--baseline", base, "--drift-threshold", "0.75")
    assert failing.code == 1
    assert failing.err_lines == [
        f"{log}: baseline drift exceeds threshold 0.75: "
        "baseline_sample_count=+1.000000 (line 3), baseline_reward_mean=-1.000000 (line 2)"
    ]
    relative = call("validate", log, "--baseline", base, "--relative", "--drift-threshold", "30")
    assert relative.code == 1
    assert relative.err_lines == [
        f"{log}: baseline drift exceeds threshold 30%: baseline_reward_mean=-1.000000 (-50.00%) "
        "(line 2)"
    ]


def test_a_zero_baseline_has_infinite_relative_drift(tmp_path: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1, baseline_reward_sum=0.5)])
    base = _baseline(tmp_path, {"baseline_reward_sum": 0.0})
    result = call("validate", log, "--baseline", base, "--relative", "--drift-threshold", "1e9")
    assert result.code == 1
    assert _table(result.out)[1] == ["1", "1", "+0.500000", "+inf%"]


def test_a_telemetry_record_as_baseline(tmp_path: Path) -> None:
    log = _drift_log(tmp_path)
    base = _baseline(tmp_path, record(9, baseline_reward_mean=2.0, baseline_zeta=1.0))
    result = call("validate", log, "--baseline", base)
    assert result.code == 0
    # Only baseline_* keys count; schema keys first, then the others by name.
    assert _table(result.out)[0] == ["line", "epoch", "baseline_reward_mean", "baseline_zeta"]
    assert _table(result.out)[2] == ["2", "2", "-1.000000", "n/a"]


def test_no_overlap_says_so(tmp_path: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1)])
    base = _baseline(tmp_path, {"baseline_reward_mean": 2.0})
    result = call("validate", log, "--baseline", base)
    assert result.code == 0
    assert result.out_lines[-1] == (
        f"{log}: none of the baseline's keys appears in the log; no drift report."
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ("{oops", "invalid JSON"),
        ('{"loss_total": 1.0}', "no baseline_* keys to compare against"),
        ('{"baseline_reward_mean": "high"}', "baseline_reward_mean must be a finite number"),
    ],
)
def test_bad_baseline_is_one_line_exit_1(tmp_path: Path, content: str | None, message: str) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1)])
    base = tmp_path / "baseline.json"
    if content is not None:
        base.write_text(content)
    result = call("validate", log, "--baseline", base)
    assert result.code == 1
    assert len(result.err_lines) == 1 and result.out == ""
    assert result.err_lines[0].startswith(f"validate: baseline {base}: ")
    assert message in result.err_lines[0]
