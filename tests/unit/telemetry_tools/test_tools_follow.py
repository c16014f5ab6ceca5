"""``watch --follow`` in a subprocess while a writer appends, rotates and is interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from telemetry_tool_helpers import REPO, record

from townlet.telemetry.writer import NDJSONWriter


def _start(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "townlet.telemetry", "watch", *map(str, args)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 20) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"watch --follow did not stop: {err}")
    assert "Traceback" not in err
    return proc.returncode, out, err


def test_follow_across_rotation_prints_each_record_once(tmp_path: Path) -> None:
    log = tmp_path / "run" / "telemetry.ndjson"
    proc = _start(
        log, "--follow", "--json", "--interval", "0.05", "--idle-timeout", "3",
        "--kl-threshold", "0.8",
    )  # fmt: skip
    time.sleep(0.5)  # the watcher starts before the log exists and waits for it
    with NDJSONWriter(log, max_log_entries=3) as writer:
        for epoch in range(1, 12):
            kl = 0.9 if epoch == 5 else 0.1
            writer.write(record(epoch, kl_divergence=kl))
            time.sleep(0.05 if epoch % 4 else 0.3)  # some writes land while it is asleep
    assert [p.name for p in sorted(log.parent.iterdir())] == [
        "telemetry.ndjson", "telemetry.ndjson.1", "telemetry.ndjson.2", "telemetry.ndjson.3",
    ]  # fmt: skip
    code, out, err = _finish(proc)
    epochs = [json.loads(line)["epoch"] for line in out.splitlines()]
    assert epochs == [float(e) for e in range(1, 12)]  # each exactly once, in write order
    assert err.splitlines() == ["epoch 5: kl_divergence 0.9 exceeds 0.8"]
    assert code == 1


def test_follow_joins_a_line_written_in_two_parts(tmp_path: Path) -> None:
    log = tmp_path / "telemetry.ndjson"
    log.write_text(json.dumps(record(1)) + "\n")
    proc = _start(log, "--follow", "--json", "--interval", "0.05", "--idle-timeout", "2")
    line = json.dumps(record(2)) + "\n"
    with log.open("a") as handle:
        handle.write(line[:100])
        handle.flush()
        time.sleep(0.4)
        handle.write(line[100:])
        handle.flush()
        time.sleep(0.2)
        handle.write(json.dumps(record(3)) + "\n")
    code, out, err = _finish(proc)
    assert (code, err) == (0, "")
    assert [json.loads(line)["epoch"] for line in out.splitlines()] == [1.0, 2.0, 3.0]


def test_follow_starts_on_an_already_rotated_stream(tmp_path: Path) -> None:
    log = tmp_path / "telemetry.ndjson"
    writer = NDJSONWriter(log, max_log_entries=2)
    for epoch in range(1, 6):
        writer.write(record(epoch))
    proc = _start(log, "--follow", "--json", "--interval", "0.05", "--idle-timeout", "1.5")
    time.sleep(0.3)
    for epoch in range(6, 9):
        writer.write(record(epoch))
    writer.close()
    code, out, _ = _finish(proc)
    assert code == 0
    assert [json.loads(line)["epoch"] for line in out.splitlines()] == [
        float(e) for e in range(1, 9)
    ]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_follow_cleanly(tmp_path: Path, signum: int) -> None:
    log = tmp_path / "telemetry.ndjson"
    log.write_text(json.dumps(record(1)) + "\n")
    proc = _start(log, "--follow", "--interval", "0.05")
    assert proc.stdout is not None
    first = proc.stdout.readline()  # it is running and following
    assert first.startswith("Epoch 1 (replay): ")
    proc.send_signal(signum)
    code, out, err = _finish(proc, timeout=5)
    assert (code, out, err) == (0, "", "")
