"""The shared reader: orjson (when installed) never changes a verdict; closed pipes are quiet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from telemetry_tool_helpers import REPO, record, write_log

from townlet.telemetry import streams

LINES = [
    b'{"a": 1.5, "b": "x"}',
    b'{"a": NaN}',
    b'{"a": Infinity, "b": -Infinity}',
    b'{"a": 1e400}',
    b'{"a": 123456789012345678901234567890}',
    b'{"a": 1' + b"0" * 400 + b"}",
    b'{"a": 1, "a": 2}',
    b'{"a": "\\ud800"}',
    b'\xef\xbb\xbf{"a": 1}',
    b'{"a": "\xff"}',
    b'{"a": 1}\r',
    b'{"a": 1}\x0c',
    b'{"a": 01}',
    b"[1, 2]",
    b'"text"',
    b"null",
    b"[" * 100_000,
    b'{"a": 1' + b"0" * 5000 + b"}",  # more digits than int() converts
    b'{"a": -1' + b"0" * 5000 + b"}",
    b"[" * 100_000 + b"]" * 100_000,  # balanced: deep enough to overflow orjson 3.8's C stack
    b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
]


def _verdict(raw: bytes) -> tuple[bool, str | None]:
    record_, why = streams.parse_line(raw)
    return record_ is not None, why


@pytest.mark.parametrize("raw", LINES, ids=range(len(LINES)))
def test_orjson_never_changes_a_verdict(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _verdict(raw)
    monkeypatch.setattr(streams, "_orjson", None)
    assert _verdict(raw) == fast


def test_the_stdlib_reading_matches_the_old_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    """json.loads(path.read_text()): NaN literals parse, a UTF-8 byte-order mark does not."""
    monkeypatch.setattr(streams, "_orjson", None)
    nan_record, _ = streams.parse_line(b'{"a": NaN}')
    assert nan_record is not None and nan_record["a"] != nan_record["a"]
    assert streams.parse_line(b'\xef\xbb\xbf{"a": 1}') == (
        None,
        "not a JSON object: invalid JSON (Expecting value at column 1)",
    )
    assert (
        streams.parse_line(b"[" * 100_000)[1]
        == "not a JSON object: invalid JSON (nested too deeply)"
    )


def test_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(e) for e in range(1, 3000)])
    command = f"{sys.executable} -m townlet.telemetry watch {log} | head -n 1"
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.startswith("Epoch 1 (replay): ") and len(proc.stdout.splitlines()) == 1
    assert proc.stderr == ""
    assert proc.returncode == 141
