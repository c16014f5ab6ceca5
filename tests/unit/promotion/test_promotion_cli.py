"""``python -m townlet.promote``: decisions, exit codes, --dry-run and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from townlet.dto.anneal import AnnealSummaryDTO
from townlet.promote import main

BC_OK = {
    "cycle": 0,
    "mode": "bc",
    "epochs": 2,
    "dataset": "replay",
    "bc_weight": 1.0,
    "bc_accuracy": 0.95,
    "bc_threshold": 0.9,
}
PPO_OK = {
    "cycle": 1,
    "mode": "ppo",
    "epochs": 4,
    "dataset": "replay",
    "bc_weight": 0.5,
    "loss_total": 1.0,
    "queue_conflict_events": 12.0,
    "queue_conflict_intensity_sum": 6.0,
}


def write_summary(folder: Path, status: str, **stage_changes: Any) -> Path:
    """A result.json as the anneal runner writes it, with status and reasons from its stages."""
    stages = [BC_OK, {**PPO_OK, **stage_changes}]
    if status == "FAIL":
        stages = [{**BC_OK, "bc_accuracy": 0.5}]
    reasons = {"PASS": [], "HOLD": ["loss_flag_cycle_1"], "FAIL": ["bc_stage_failed_cycle_0"]}
    summary = AnnealSummaryDTO(
        stages=stages,
        status=status,
        dataset_label="replay",
        reasons=reasons[status],
        run_dir=str(folder),
        checkpoint=str(folder / "checkpoints" / "last.ckpt"),
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    path.write_text(summary.model_dump_json(indent=2))
    return path


def promote(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "townlet.promote", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_two_passes_in_a_row_promote(tmp_path: Path) -> None:
    state = tmp_path / "promotion_state.json"
    first = promote(write_summary(tmp_path / "run1", "PASS"), "--state", state)
    assert first.returncode == 1, first.stderr
    assert first.stdout.splitlines()[:2] == ["HOLD", "reason: pass_streak_1_of_2"]

    second = promote(write_summary(tmp_path / "run2", "PASS"), "--state", state, "--format", "json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["decision"] == "PROMOTE" and report["exit_code"] == 0
    assert (report["pass_streak"], report["required_passes"], report["candidate_ready"]) == (
        2,
        2,
        True,
    )
    assert report["reasons"] == ["pass_streak_2_of_2"]
    assert report["candidate"]["run_dir"] == str(tmp_path / "run2")

    from_state = promote(state)  # the state file alone gives the same decision
    assert from_state.returncode == 0
    assert from_state.stdout.splitlines()[0] == "PROMOTE"
    assert "Traceback" not in first.stderr + second.stderr + from_state.stderr


def test_hold_resets_the_streak(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert promote(write_summary(tmp_path / "r1", "PASS"), "--state", state).returncode == 1
    assert promote(write_summary(tmp_path / "r2", "PASS"), "--state", state).returncode == 0
    hold = promote(write_summary(tmp_path / "r3", "HOLD", loss_flag=True), "--state", state)
    assert hold.returncode == 1
    assert hold.stdout.splitlines() == [
        "HOLD",
        "reason: loss_flag_cycle_1",
        "reason: pass_streak_0_of_2",
    ]
    assert json.loads(state.read_text())["pass_streak"] == 0


def test_fail_exits_2_with_its_reasons(tmp_path: Path) -> None:
    result = promote(write_summary(tmp_path / "r", "FAIL"))
    assert result.returncode == 2
    assert result.stdout.splitlines() == ["FAIL", "reason: bc_stage_failed_cycle_0"]
    assert "error" not in result.stderr  # a FAIL decision, not an error
    assert (tmp_path / "r" / "promotion_state.json").is_file()  # default: beside the summary


def test_dry_run_leaves_the_state_byte_identical(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert promote(write_summary(tmp_path / "r1", "PASS"), "--state", state).returncode == 1
    before = state.read_bytes()
    dry = promote(write_summary(tmp_path / "r2", "PASS"), "--state", state, "--dry-run")
    assert dry.returncode == 0  # what recording would give
    assert dry.stdout.splitlines()[0] == "PROMOTE" and "dry run" in dry.stderr
    assert state.read_bytes() == before
    fresh = tmp_path / "never.json"
    promote(write_summary(tmp_path / "r3", "PASS"), "--state", fresh, "--dry-run")
    assert not fresh.exists()


def test_corrupt_file_is_one_line_error_told_apart_from_fail(tmp_path: Path) -> None:
    bad = tmp_path / "promotion_state.json"
    bad.write_text('{"pass_streak": 2, "histo')
    result = promote(bad)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m townlet.promote: error: ")
    assert str(bad) in lines[0] and "not valid JSON" in lines[0]


def test_python_m_townlet_promotion_is_the_same_tool(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "townlet.promotion", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "STATE_OR_SUMMARY" in result.stdout


def run_main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_same_summary_is_not_counted_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = write_summary(tmp_path / "r1", "PASS")
    assert run_main(capsys, summary)[0] == 1
    code, out, err = run_main(capsys, summary)
    assert code == 1 and "pass_streak_1_of_2" in out and "not counted again" in err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty"),
        ("[]", "expected a JSON object"),
        ('{"result": "ppo", "epoch": 1.0}', "a PPO result"),
        ('{"hello": 1}', "neither an anneal summary"),
        ('{"pass_streak": -3}', "pass_streak=-3 — must be >= 0"),
        ('{"stages": [], "status": "PASS", "dataset_label": "x", "run_dir": "r"}', "give HOLD"),
    ],
)
def test_bad_inputs_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    path = tmp_path / "input.json"
    path.write_text(content)
    code, out, err = run_main(capsys, path)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and problem in err


def test_missing_input_and_corrupt_state_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(capsys, tmp_path / "absent.json")
    assert (code, out) == (2, "") and "cannot read" in err
    state = tmp_path / "state.json"
    state.write_text("{broken")
    code, out, err = run_main(capsys, write_summary(tmp_path / "r", "PASS"), "--state", state)
    assert (code, out) == (2, "") and f"promotion state {state}" in err
    assert state.read_text() == "{broken"  # a corrupt state is reported, never overwritten


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys)[0] == 2
    assert run_main(capsys, "x.json", "--format", "xml")[0] == 2
    state = tmp_path / "state.json"
    state.write_text('{"pass_streak": 0}')
    code, _, err = run_main(capsys, state, "--state", tmp_path / "other.json")
    assert code == 2 and "--state" in err
