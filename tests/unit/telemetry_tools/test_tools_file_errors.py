"""One line per failing file, then on to the next: huge integers, empty logs, read errors,
unreadable files of a rotated stream, and lines of any length read in one pass."""

from __future__ import annotations

import errno
import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from telemetry_tool_helpers import call, record, write_log

from townlet.telemetry import follow, plot, streams
from townlet.telemetry.plot import Run, read_run

HUGE = "7" * 5000  # past Python's 4,300-digit limit on int(str)


def _with_huge_loss(epoch: int) -> str:
    return json.dumps(record(epoch)).replace('"loss_total": 0.5', f'"loss_total": {HUGE}')


def test_a_5000_digit_integer_is_one_problem_and_the_next_file_is_checked(tmp_path: Path) -> None:
    first = write_log(tmp_path / "a.ndjson", [record(1), _with_huge_loss(2), record(3)])
    second = write_log(tmp_path / "b.ndjson", [record(1)])
    result = call("validate", first, second)
    assert result.code == 1
    assert result.err_lines == [
        f"{first}:2: loss_total: non-finite",
        f"{first}: 1 problem(s) in 3 record(s).",
    ]
    assert result.out_lines == [f"{second}: 1 record(s) validated."]


def test_watch_and_summary_read_past_a_5000_digit_integer(tmp_path: Path) -> None:
    log = write_log(tmp_path / "telemetry.ndjson", [record(1), _with_huge_loss(2)])
    write_log(tmp_path / "telemetry.ndjson.1", [record(3, loss_total=0.25)])
    watched = call("watch", log)
    assert (watched.code, watched.err) == (0, "")
    assert [line.split(", ")[0] for line in watched.out_lines] == [
        "Epoch 1 (replay): loss_total=0.500000",
        "Epoch 2 (replay): loss_total=n/a",
        "Epoch 3 (replay): loss_total=0.250000",
    ]
    summary = call("summary", log, "--format", "json")
    assert (summary.code, summary.err) == (0, "")
    body = json.loads(summary.out)
    assert body["records_total"] == 3
    assert body["extremes"]["loss_total"] == {"min": 0.25, "max": 0.5}


@pytest.mark.parametrize("huge", [HUGE, "-" + HUGE], ids=["positive", "negative"])
def test_a_huge_integer_parses_as_an_infinite_number(huge: str) -> None:
    parsed, why = streams.parse_line(f'{{"a": {huge}, "b": 1}}'.encode())
    assert why is None and parsed is not None
    assert parsed["a"] == (float("-inf") if huge.startswith("-") else float("inf"))
    assert parsed["b"] == 1 and type(parsed["b"]) is int


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ("validate", "{log}: empty file: no telemetry records"),
        ("watch", "watch: {log}: no telemetry records"),
        ("summary", "summary: {log}: no telemetry records"),
    ],
)
@pytest.mark.parametrize("content", ["", "\n \n"], ids=["empty", "blank"])
def test_an_empty_log_fails_every_tool_with_one_line(
    tmp_path: Path, tool: str, message: str, content: str
) -> None:
    log = tmp_path / "telemetry.ndjson"
    log.write_text(content)
    result = call(tool, log)
    assert (result.code, result.out, result.err_lines) == (1, "", [message.format(log=log)])


class _CountingReader(io.BufferedReader):
    """A log handle that counts the reads made through it."""

    calls = 0

    def read(self, size: int | None = -1) -> bytes:
        type(self).calls += 1
        return super().read(size)

    def readline(self, size: int | None = -1) -> bytes:
        type(self).calls += 1
        return super().readline(size)


def test_watch_reads_a_5_mb_line_in_a_bounded_number_of_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long line is read whole, not in fixed-size chunks re-joined after every read."""
    log = write_log(tmp_path / "t.ndjson", [record(1, run_id="x" * 5_000_000)])
    monkeypatch.setattr(streams, "open_log", lambda path: _CountingReader(io.FileIO(path)))
    _CountingReader.calls = 0
    result = call("watch", log, "--json")
    assert (result.code, len(result.out_lines)) == (0, 1)
    assert _CountingReader.calls <= 3  # the line, then the end of the file (twice: drained)


class _FailingReader(io.BufferedReader):
    """A log handle on a failing disk: the second read raises EIO."""

    def __init__(self, path: Path) -> None:
        super().__init__(io.FileIO(path))
        self.reads = 0

    def _fail_on_second_read(self) -> None:
        self.reads += 1
        if self.reads == 2:
            raise OSError(errno.EIO, "Input/output error")

    def readline(self, size: int | None = -1) -> bytes:
        self._fail_on_second_read()
        return super().readline(size)

    def __next__(self) -> bytes:
        self._fail_on_second_read()
        return super().__next__()


def test_a_read_error_fails_that_file_and_validate_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = write_log(tmp_path / "bad.ndjson", [record(1), record(2)])
    good = write_log(tmp_path / "good.ndjson", [record(1)])
    failing = {bad}
    real_open = streams.open_log

    def open_log(path: Path) -> Any:
        return _FailingReader(path) if path in failing else real_open(path)

    monkeypatch.setattr(streams, "open_log", open_log)
    monkeypatch.setattr(follow, "open_log", open_log)  # watch reads through the follower
    result = call("validate", bad, good)
    assert result.code == 1
    assert result.err_lines == [f"{bad}: cannot read (Input/output error)"]
    assert result.out_lines == [f"{good}: 1 record(s) validated."]
    watched = call("watch", bad)
    assert watched.code == 1
    assert watched.err_lines[-1] == f"watch: {bad}: cannot read (Input/output error)"


def _stream_with_a_directory(tmp_path: Path) -> tuple[Path, Path]:
    """A rotated stream whose ``.1`` cannot be read (a directory) between two good files."""
    log = write_log(tmp_path / "telemetry.ndjson", [record(1)])
    (tmp_path / "telemetry.ndjson.1").mkdir()
    write_log(tmp_path / "telemetry.ndjson.2", [record(3)])
    return log, tmp_path / "telemetry.ndjson.1"


def test_watch_and_summary_report_an_unreadable_file_and_read_the_next(tmp_path: Path) -> None:
    log, unreadable = _stream_with_a_directory(tmp_path)
    message = f"{unreadable}: is a directory, not a log file"
    watched = call("watch", log)
    assert watched.code == 1
    assert watched.err_lines == [f"watch: {message}"]
    assert [line.split(" (")[0] for line in watched.out_lines] == ["Epoch 1", "Epoch 3"]
    summary = call("summary", log, "--format", "json")
    assert summary.code == 1
    assert summary.err_lines == [f"summary: {message}"]
    assert json.loads(summary.out)["records_total"] == 2


def test_a_plotted_run_reports_an_unreadable_file_and_keeps_the_rest(tmp_path: Path) -> None:
    log, unreadable = _stream_with_a_directory(tmp_path)
    failures: list[str] = []
    run = read_run(log, "run", failures.append)
    assert failures == [f"{unreadable}: is a directory, not a log file"]
    assert run.series["loss_total"][0] == [256.0, 768.0]  # agent steps of epochs 1 and 3
    with pytest.raises(streams.ToolError, match="is a directory"):
        read_run(log, "run")


def test_plot_reports_a_bad_log_and_draws_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drawing itself is stubbed: this is about which runs reach it, and the exit code."""
    drawn: list[list[Run]] = []
    monkeypatch.setitem(sys.modules, "matplotlib", types.ModuleType("matplotlib"))
    monkeypatch.setattr(plot, "draw", lambda runs, *_: drawn.append(runs))
    missing = tmp_path / "missing" / "telemetry.ndjson"
    good = write_log(tmp_path / "good.ndjson", [record(1)])
    out = tmp_path / "p.png"
    result = call("plot", missing, good, "--out", out)
    assert result.code == 1
    assert result.err_lines == [f"plot: {missing}: no such file"]
    assert result.out_lines == [f"wrote {out} (1600x900 px, 1 run(s))"]
    assert [[run.label for run in runs] for runs in drawn] == [["good.ndjson"]]
    nothing = call("plot", missing, "--out", out)
    assert (nothing.code, nothing.out, len(drawn)) == (1, "", 1)  # no run: nothing drawn
