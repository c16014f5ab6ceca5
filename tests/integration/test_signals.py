"""SIGTERM and SIGINT during training: checkpoint, one resume line, exit 143 / 130, resumable."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, read_records, run_cli

pytestmark = pytest.mark.filterwarnings("ignore")
EPOCHS = 50  # far more than run before the signal lands, so the stop is always the signal's
ARGS = ["data.ticks=8", f"trainer.max_epochs={EPOCHS}", "trainer.enable_progress_bar=false"]


def _signal_after_first_epoch(run_dir: Path, cwd: Path, signum: int) -> tuple[int, str]:
    """Start a run, send ``signum`` once its first epoch is in telemetry; exit code, stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "townlet.train", f"hydra.run.dir={run_dir}", *ARGS],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    telemetry = run_dir / "telemetry.ndjson"
    deadline = time.monotonic() + 240
    while not (telemetry.exists() and telemetry.read_text().strip()):
        assert proc.poll() is None, "the run ended before its first epoch"
        assert time.monotonic() < deadline, "no epoch in telemetry.ndjson"
        time.sleep(0.1)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=240)
    return proc.returncode, stderr


def _resume_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "resume with:" in line]
    assert len(lines) == 1, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == lines[0]  # the last word of the run
    return lines[0]


def _assert_stopped_with_checkpoint(run_dir: Path, stderr: str, name: str) -> str:
    """The run saved last.ckpt, wrote no result, freed its folder; returns the resume line."""
    line = _resume_line(stderr)
    assert f"interrupted by {name}" in line
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    assert not (run_dir / "result.json").exists()  # an interrupted run has no result
    assert not (run_dir / "run.lock").exists()
    return line


def test_sigint_saves_checkpoint_and_exits_130(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    returncode, stderr = _signal_after_first_epoch(run_dir, tmp_path, signal.SIGINT)
    assert returncode == 130, stderr[-2000:]
    _assert_stopped_with_checkpoint(run_dir, stderr, "SIGINT")


def test_sigterm_saves_checkpoint_exits_143_and_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    returncode, stderr = _signal_after_first_epoch(run_dir, tmp_path, signal.SIGTERM)
    assert returncode == 143, stderr[-2000:]
    line = _assert_stopped_with_checkpoint(run_dir, stderr, "SIGTERM")
    command = shlex.split(line.split("resume with: ", 1)[1])
    assert command[:3] == ["python", "-m", "townlet.train"]
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    assert f"ckpt_path={checkpoint}" in command and f"hydra.run.dir={run_dir}" in command
    saved = max(record["epoch"] for record in read_records(run_dir / "telemetry.ndjson"))
    assert saved < EPOCHS
    # The same command, one epoch longer than what was saved, to keep the test short.
    args = [
        f"trainer.max_epochs={int(saved) + 1}" if word.startswith("trainer.max_epochs=") else word
        for word in command[3:]
    ]
    proc = run_cli(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    epochs = [record["epoch"] for record in read_records(run_dir / "telemetry.ndjson")]
    assert epochs[-1] == saved + 1 and epochs.count(saved + 1) == 1
    assert (run_dir / "result.json").exists()


def test_sigterm_stops_gracefully_without_the_callbacks_group(tmp_path: Path) -> None:
    """callbacks=none builds no callback at all, yet a SIGTERM still checkpoints and exits 143
    (Lightning's own handling would exit 0 mid-epoch)."""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "townlet.train",
            f"hydra.run.dir={run_dir}",
            *ARGS,
            "callbacks=none",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # No telemetry without callbacks: the TensorBoard folder appears once the fit has begun.
    deadline = time.monotonic() + 240
    while not (run_dir / "tensorboard").exists():
        assert proc.poll() is None, "the run ended before training started"
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 143, stderr[-2000:]
    _assert_stopped_with_checkpoint(run_dir, stderr, "SIGTERM")
    assert not (run_dir / "telemetry.ndjson").exists()  # callbacks=none really had none
