"""Promotion state: streak rules, the decision, loading errors and crash-safe saving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from townlet.errors import DataError
from townlet.promotion.state import (
    PromotionState,
    decide,
    load_state,
    save_state,
    update_state,
)

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_two_passes_make_the_candidate_ready() -> None:
    state = PromotionState()
    state.record("PASS", [], "runs/a", "runs/a/last.ckpt", now=NOW)
    assert (state.pass_streak, state.candidate_ready) == (1, False)
    assert state.candidate is not None and state.candidate.status == "pending"
    assert decide(state).decision == "HOLD"
    assert decide(state).reasons == ["pass_streak_1_of_2"]

    state.record("PASS", [], "runs/b", "runs/b/last.ckpt", now=NOW)
    assert (state.pass_streak, state.candidate_ready) == (2, True)
    assert state.candidate is not None
    assert (state.candidate.run_dir, state.candidate.status) == ("runs/b", "ready")
    decision = decide(state)
    assert (decision.decision, decision.exit_code) == ("PROMOTE", 0)
    assert decision.reasons == ["pass_streak_2_of_2"]


@pytest.mark.parametrize(
    ("status", "decision", "exit_code"), [("HOLD", "HOLD", 1), ("FAIL", "FAIL", 2)]
)
def test_hold_and_fail_reset_the_streak(status: str, decision: str, exit_code: int) -> None:
    state = PromotionState()
    for run in ("a", "b"):
        state.record("PASS", [], run, now=NOW)
    reason = "loss_flag_cycle_3" if status == "HOLD" else "bc_stage_failed_cycle_0"
    state.record(status, [reason], "c", now=NOW)  # type: ignore[arg-type]
    assert (state.pass_streak, state.candidate, state.candidate_ready) == (0, None, False)
    result = decide(state)
    assert (result.decision, result.exit_code) == (decision, exit_code)
    assert result.reasons[0] == reason
    assert [o.pass_streak for o in state.history] == [1, 2, 0]


def test_fresh_state_holds_with_a_reason() -> None:
    assert decide(PromotionState()).reasons == ["no_recorded_outcomes", "pass_streak_0_of_2"]


def test_record_rejects_unknown_status() -> None:
    with pytest.raises(DataError, match="status"):
        PromotionState().record("MAYBE", [], "a")  # type: ignore[arg-type]


def test_readiness_is_derived_on_load_not_trusted(tmp_path: Path) -> None:
    state = PromotionState()
    for run in ("a", "b"):
        state.record("PASS", [], run, now=NOW)
    path = tmp_path / "state.json"
    save_state(path, state)
    raw = json.loads(path.read_text())
    raw["required_passes"] = 3  # an operator raises the bar
    path.write_text(json.dumps(raw))
    assert not load_state(path).candidate_ready
    raw.update(required_passes=2, pass_streak=0, candidate_ready=True)  # a forged flag
    path.write_text(json.dumps(raw))
    assert not load_state(path).candidate_ready


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    state = PromotionState(required_passes=3)
    state.record("HOLD", ["queue_flag_cycle_2"], "runs/x", now=NOW)
    path = tmp_path / "nested" / "state.json"
    save_state(path, state)
    assert load_state(path) == state
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temp file left


def test_missing_file_is_a_fresh_state(tmp_path: Path) -> None:
    assert load_state(tmp_path / "absent.json") == PromotionState()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b'{"pass_streak": 1', "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, found list"),
        (b'{"pass_streak": -1}', "pass_streak=-1"),
        (b'{"pass_streak": 1, "bogus": 2}', "bogus"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_corrupt_state_is_a_one_line_data_error(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_state(path)
    message = str(info.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_unreadable_state_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        load_state(tmp_path)  # a folder where the file should be


def _saved(path: Path) -> bytes:
    state = PromotionState()
    state.record("PASS", [], "runs/old", now=NOW)
    save_state(path, state)
    return path.read_bytes()


def test_failed_replace_leaves_old_state_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    before = _saved(path)

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    newer = load_state(path)
    newer.record("HOLD", ["loss_flag_cycle_1"], "runs/new", now=NOW)
    with pytest.raises(DataError, match="cannot write: No space left on device"):
        save_state(path, newer)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # temp file cleaned up


def test_failed_write_leaves_old_state_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    before = _saved(path)

    def crash(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", crash)  # dies after writing, before the rename
    with pytest.raises(DataError, match="Input/output error"):
        save_state(path, PromotionState())
    assert path.read_bytes() == before


def test_process_killed_mid_save_leaves_old_state_intact(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    before = _saved(path)
    # The process dies (no cleanup, no exception handling) right before the rename.
    code = (
        "import os, sys\n"
        "from townlet.promotion.state import PromotionState, save_state\n"
        "os.replace = lambda src, dst: os._exit(9)\n"
        "save_state(sys.argv[1], PromotionState(pass_streak=7))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], check=False)
    assert proc.returncode == 9
    assert path.read_bytes() == before
    assert load_state(path).pass_streak == 1  # the stray temp file does not disturb loading


def test_update_state_records_each_run_once(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert update_state(path, "PASS", [], "runs/a").pass_streak == 1
    assert update_state(path, "PASS", [], "runs/a").pass_streak == 1  # same run: not counted
    state = update_state(path, "PASS", [], "runs/b", "runs/b/last.ckpt")
    assert state.candidate_ready and load_state(path) == state
