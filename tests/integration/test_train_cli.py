"""`python -m townlet.train` as a user runs it: one-line errors, exit codes, sweeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import read_records, run_cli

pytestmark = pytest.mark.filterwarnings("ignore")


def _cli(tmp_path: Path, *overrides: str) -> tuple[int, str, Path]:
    run_dir = tmp_path / "run"
    proc = run_cli([f"hydra.run.dir={run_dir}", *overrides], cwd=tmp_path)
    return proc.returncode, proc.stderr, run_dir


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "strategy.learning_rate=-0.001",
            "config error: strategy.learning_rate=-0.001 — must be > 0",
        ),
        (
            "strategy.clip_param=1.5",
            "config error: strategy.clip_param=1.5 — must be within [0, 1]",
        ),
        ("+strategy.clip=0.1", "config error: strategy.clip — unknown key"),
        (
            "strategy.clipp=0.1",
            "config error: strategy.clipp — unknown key; did you mean strategy.clip_param?",
        ),
        (
            "strategy=sac",
            "config error: strategy=sac — unknown option (expected one of: anneal, bc, ppo)",
        ),
        (
            "data.manifest=/no/such/manifest.json",
            "data.manifest=/no/such/manifest.json — file not found",
        ),
        ("trainer.max_epochs=0", "config error: trainer.max_epochs=0 — must be >= 1"),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path: Path, override: str, expected: str) -> None:
    replay = ["data=replay"] if "manifest" in override else []
    code, stderr, run_dir = _cli(tmp_path, *replay, override)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert expected in lines[0]
    assert lines[0].startswith("config error: ")
    assert "Traceback" not in stderr
    assert not (run_dir / "telemetry.ndjson").exists()
    assert not (run_dir / "tensorboard").exists()


def test_bad_replay_sample_is_one_line_exit_1(tmp_path: Path) -> None:
    sample = tmp_path / "broken.npz"
    np.savez(sample, map=np.zeros((2, 4, 11, 11), np.float32))  # six arrays missing
    manifest = tmp_path / "manifest.json"
    manifest.write_text('["broken.npz"]')
    code, stderr, run_dir = _cli(tmp_path, "data=replay", f"data.manifest={manifest}")
    assert code == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and str(sample) in lines[0], stderr
    assert "Traceback" not in stderr
    assert not (run_dir / "result.json").exists()
    assert not (run_dir / "telemetry.ndjson").exists()


def test_sweep_runs_four_jobs_each_with_its_own_logs(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "multirun"
    proc = run_cli(
        [
            "-m",
            "strategy.learning_rate=1e-4,3e-4",
            "seed=1,2",
            "data=replay",
            "trainer.max_epochs=1",
            "trainer.enable_progress_bar=false",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    seen = set()
    for job in jobs:
        assert list((job / "tensorboard").glob("events.out.tfevents.*"))
        record = read_records(job / "telemetry.ndjson")[0]
        seen.add((record["lr"], record["seed"]))
    assert seen == {(1e-4, 1.0), (1e-4, 2.0), (3e-4, 1.0), (3e-4, 2.0)}
