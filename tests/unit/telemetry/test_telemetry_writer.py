"""NDJSONWriter: whole lines, append-only, rotation base -> .1 -> .2 and exact resume from state."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from townlet.telemetry.writer import (
    NDJSONWriter,
    holds_position,
    line_at_position,
    rotated_path,
    stream_files,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def epochs_per_file(base: Path) -> list[list[object]]:
    return [[r["epoch"] for r in lines_of(p)] for p in stream_files(base)]


def test_rotation_one_line_per_file(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    with NDJSONWriter(base, max_log_entries=1) as writer:
        for epoch in (1, 2, 3):
            writer.write({"epoch": float(epoch)})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "telemetry.ndjson",
        "telemetry.ndjson.1",
        "telemetry.ndjson.2",
    ]
    assert stream_files(base) == [base, rotated_path(base, 1), rotated_path(base, 2)]
    assert epochs_per_file(base) == [[1.0], [2.0], [3.0]]


def test_rotation_fills_each_file_to_the_limit(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    with NDJSONWriter(base, max_log_entries=2) as writer:
        for epoch in range(1, 6):
            writer.write({"epoch": float(epoch)})
    assert epochs_per_file(base) == [[1.0, 2.0], [3.0, 4.0], [5.0]]


def test_no_rotation_by_default(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    with NDJSONWriter(base) as writer:
        for epoch in range(1, 6):
            writer.write({"epoch": float(epoch)})
    assert epochs_per_file(base) == [[1.0, 2.0, 3.0, 4.0, 5.0]]


@pytest.mark.parametrize(("limit", "before", "after"), [(1, 2, 1), (2, 3, 3), (3, 3, 4)])
def test_state_round_trip_continues_exactly(
    tmp_path: Path, limit: int, before: int, after: int
) -> None:
    base = tmp_path / "telemetry.ndjson"
    writer = NDJSONWriter(base, max_log_entries=limit)
    for epoch in range(1, before + 1):
        writer.write({"epoch": float(epoch)})
    state = writer.state_dict()
    writer.close()
    assert all(type(v) is int for v in state.values())
    state = json.loads(json.dumps(state))  # plain containers survive any checkpoint format

    resumed = NDJSONWriter(base, max_log_entries=limit)
    resumed.load_state_dict(state)
    for epoch in range(before + 1, before + after + 1):
        resumed.write({"epoch": float(epoch)})
    resumed.close()

    with NDJSONWriter(tmp_path / "reference.ndjson", max_log_entries=limit) as reference:
        for epoch in range(1, before + after + 1):
            reference.write({"epoch": float(epoch)})
    assert epochs_per_file(base) == epochs_per_file(tmp_path / "reference.ndjson")


def test_loaded_state_wins_over_what_is_on_disk(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    base.write_text('{"epoch": 1.0}\n{"epoch": 2.0}\n', encoding="utf-8")
    writer = NDJSONWriter(base, max_log_entries=2)
    writer.load_state_dict({"file_index": 0, "lines_in_file": 1})
    writer.write({"epoch": 3.0})
    assert writer.state_dict() == {"file_index": 0, "lines_in_file": 2, "byte_offset": 45}
    writer.close()
    assert epochs_per_file(base) == [[1.0, 2.0, 3.0]]


def test_new_writer_continues_the_stream_on_disk(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    with NDJSONWriter(base, max_log_entries=2) as writer:
        for epoch in (1, 2, 3):
            writer.write({"epoch": float(epoch)})
    reopened = NDJSONWriter(base, max_log_entries=2)
    assert reopened.state_dict() == {"file_index": 1, "lines_in_file": 1, "byte_offset": 15}
    reopened.write({"epoch": 4.0})
    reopened.write({"epoch": 5.0})
    reopened.close()
    assert epochs_per_file(base) == [[1.0, 2.0], [3.0, 4.0], [5.0]]


def test_appending_never_truncates(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    original = b'{"epoch": 1.0, "note": "kept"}\n{"epoch": 2.0}\n'
    base.write_bytes(original)
    with NDJSONWriter(base) as writer:
        writer.write({"epoch": 3.0})
    data = base.read_bytes()
    assert data.startswith(original)
    assert data[len(original) :] == b'{"epoch": 3.0}\n'


def test_utf8_without_ascii_escapes(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    with NDJSONWriter(base) as writer:
        writer.write({"scenario": "café", "conflict.rivalry_max_max_avg": 0.5})
    assert (
        base.read_bytes() == '{"scenario": "café", "conflict.rivalry_max_max_avg": 0.5}\n'.encode()
    )


def test_non_finite_record_is_refused_and_nothing_written(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    writer = NDJSONWriter(base, max_log_entries=1)
    writer.write({"epoch": 1.0})
    with pytest.raises(ValueError, match="loss_total"):
        writer.write({"epoch": 2.0, "loss_total": math.nan})
    writer.close()
    assert epochs_per_file(base) == [[1.0]]  # no rotation happened for the refused line
    assert writer.state_dict() == {"file_index": 0, "lines_in_file": 1, "byte_offset": 15}


@pytest.mark.parametrize(
    "state",
    [{"file_index": "1", "lines_in_file": 0}, {"file_index": 0, "lines_in_file": -1}, {}],
)
def test_bad_state_is_refused(tmp_path: Path, state: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="writer state"):
        NDJSONWriter(tmp_path / "t.ndjson").load_state_dict(state)


def test_negative_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_log_entries"):
        NDJSONWriter(tmp_path / "t.ndjson", max_log_entries=-1)


def test_killed_writer_leaves_only_whole_lines(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    script = (
        "import sys\n"
        "from townlet.telemetry.writer import NDJSONWriter\n"
        "w = NDJSONWriter(sys.argv[1], fsync=False)\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        "    w.write({'epoch': float(i), 'pad': 'x' * 200})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(base)], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (not base.exists() or base.stat().st_size < 100_000):
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()
    data = base.read_bytes()
    assert len(data) >= 100_000 and data.endswith(b"\n")
    records = lines_of(base)
    assert [r["epoch"] for r in records] == [float(i) for i in range(1, len(records) + 1)]


def test_cut_back_drops_lines_and_files_past_the_saved_position(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    writer = NDJSONWriter(base, max_log_entries=2)
    for epoch in (1, 2, 3):
        writer.write({"epoch": float(epoch)})
    state = writer.state_dict()
    for epoch in (4, 5, 6):  # written after the position was saved: .1 grows, .2 appears
        writer.write({"epoch": float(epoch)})
    writer.close()
    with rotated_path(base, 2).open("ab") as handle:
        handle.write(b'{"epoch": 7')  # a torn line
    resumed = NDJSONWriter(base, max_log_entries=2)
    resumed.cut_back(state)
    assert epochs_per_file(base) == [[1.0, 2.0], [3.0]]
    assert not rotated_path(base, 2).exists()
    for epoch in (4, 5):
        resumed.write({"epoch": float(epoch)})
    resumed.close()
    assert epochs_per_file(base) == [[1.0, 2.0], [3.0, 4.0], [5.0]]


def test_torn_last_line_is_dropped_before_the_next_write(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    base.write_bytes(b'{"epoch": 1.0}\n{"epoch": 2.0, "lo')
    writer = NDJSONWriter(base)
    assert writer.state_dict() == {"file_index": 0, "lines_in_file": 1, "byte_offset": 15}
    writer.write({"epoch": 2.0})
    writer.close()
    assert base.read_bytes() == b'{"epoch": 1.0}\n{"epoch": 2.0}\n'


def test_holds_position_needs_a_line_end_at_the_offset(tmp_path: Path) -> None:
    base = tmp_path / "telemetry.ndjson"
    at = {"file_index": 0, "lines_in_file": 1}
    assert holds_position(base, {**at, "byte_offset": 0})  # nothing saved, nothing needed
    assert not holds_position(base, {**at, "byte_offset": 15})  # no file
    base.write_bytes(b'{"epoch": 1.0}\n{"epoch": 2.0}\n')
    assert holds_position(base, {**at, "byte_offset": 15})
    assert not holds_position(base, {**at, "byte_offset": 10})  # inside a line
    assert not holds_position(base, {**at, "byte_offset": 31})  # past the end


@pytest.mark.parametrize("lines", [1, 3])
def test_line_at_position_reads_back_across_chunks(tmp_path: Path, lines: int) -> None:
    base = tmp_path / "telemetry.ndjson"
    writer = NDJSONWriter(base)
    for epoch in range(1, lines + 1):
        writer.write({"epoch": float(epoch), "note": "x" * 100_000})  # longer than one chunk
    state = writer.state_dict()
    writer.write({"epoch": 99.0})
    writer.close()
    line = line_at_position(base, state)
    assert line is not None and json.loads(line)["epoch"] == float(lines)
    assert line_at_position(base, {**state, "byte_offset": 0}) == b""
