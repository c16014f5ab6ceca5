"""The debug presets (DESIGN §4) run from the command line on the default config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import read_records, run_cli

pytestmark = pytest.mark.filterwarnings("ignore")


def _debug_run(tmp_path: Path, preset: str) -> tuple[Path, str]:
    """``python -m townlet.train debug=<preset>`` into tmp_path; returns the run and its output."""
    run = tmp_path / preset
    proc = run_cli(
        [f"debug={preset}", f"hydra.run.dir={run}", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Every preset: the CPU, no Lightning loggers, and the telemetry stream still written.
    assert not (run / "tensorboard").exists()
    assert (run / "result.json").is_file()
    return run, proc.stdout + proc.stderr


def test_fdr_runs_one_batch_and_writes_no_checkpoints(tmp_path: Path) -> None:
    run, _ = _debug_run(tmp_path, "fdr")
    assert [r["epoch"] for r in read_records(run / "telemetry.ndjson")] == [1.0]
    assert not (run / "checkpoints").exists()


def test_limit_runs_a_few_short_epochs(tmp_path: Path) -> None:
    run, _ = _debug_run(tmp_path, "limit")
    assert [r["epoch"] for r in read_records(run / "telemetry.ndjson")] == [1.0, 2.0, 3.0]
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_overfit_trains_one_batch_for_many_epochs(tmp_path: Path) -> None:
    run, _ = _debug_run(tmp_path, "overfit")
    records = read_records(run / "telemetry.ndjson")
    assert [r["epoch"] for r in records] == [float(e) for e in range(1, 21)]
    assert not (run / "checkpoints").exists()


def test_profiler_prints_the_simple_report(tmp_path: Path) -> None:
    run, output = _debug_run(tmp_path, "profiler")
    assert [r["epoch"] for r in read_records(run / "telemetry.ndjson")] == [1.0]
    assert "FIT Profiler Report" in output
