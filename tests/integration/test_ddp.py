"""device=ddp_sim: two CPU ranks over gloo, each collecting its own towns (DESIGN §5).

Runs the CLI (Lightning's DDP launcher re-runs the command for rank 1), with
:class:`tests.run_probes.RankProbe` writing what each rank holds at every epoch's start and end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, read_records, run_cli

PROBE = "+callbacks.rank_probe._target_=tests.run_probes.RankProbe"


def probes(folder: Path, when: str) -> dict[tuple[int, int], dict[str, Any]]:
    """(rank, epoch) -> the probe record written at the epoch's ``when``."""
    records = [json.loads(path.read_text()) for path in folder.glob(f"rank*_{when}.json")]
    return {(record["rank"], record["epoch"]): record for record in records}


def ddp_run(run: Path, probe: Path, *extra: str) -> str:
    """A ddp_sim run (with its console: rank 1 shares rank 0's stdout); returns the stdout."""
    result = run_cli(
        [
            "device=ddp_sim",
            f"hydra.run.dir={run}",
            PROBE,
            f"+callbacks.rank_probe.folder={probe}",
            *extra,
        ],
        cwd=run.parent,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ddp")
    run, probe = root / "run", root / "probe"
    # Two threads per rank: not what Lightning's launcher would pick here (cores / ranks = 1).
    threads = [
        "device.torch_threads=2",
        "+callbacks.threads._target_=tests.run_probes.ThreadsProbe",
        f"+callbacks.threads.folder={probe}",
    ]
    (root / "stdout.txt").write_text(ddp_run(run, probe, "trainer.max_epochs=2", *threads))
    return run, probe


def test_ranks_collect_different_towns(two_epochs: tuple[Path, Path]) -> None:
    _, probe = two_epochs
    ends = probes(probe, "end")
    assert sorted(ends) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert {record["world_size"] for record in ends.values()} == {2}
    for epoch in (1, 2):
        assert ends[(0, epoch)]["towns"] != ends[(1, epoch)]["towns"]


def test_weights_identical_across_ranks_after_each_epoch(two_epochs: tuple[Path, Path]) -> None:
    _, probe = two_epochs
    ends = probes(probe, "end")
    for epoch in (1, 2):
        assert ends[(0, epoch)]["weights"] == ends[(1, epoch)]["weights"]
    assert ends[(0, 1)]["weights"] != ends[(0, 2)]["weights"]  # and they did train


def test_one_record_per_epoch_with_both_ranks_steps(two_epochs: tuple[Path, Path]) -> None:
    run, probe = two_epochs
    ends = probes(probe, "end")
    records = read_records(run / "telemetry.ndjson")
    assert [record["epoch"] for record in records] == [1, 2]
    steps = 0
    for record in records:
        epoch = record["epoch"]
        both = ends[(0, epoch)]["transitions"] + ends[(1, epoch)]["transitions"]
        assert ends[(0, epoch)]["transitions"] > 0 and ends[(1, epoch)]["transitions"] > 0
        steps += both
        assert record["transitions"] == both
        assert record["steps"] == steps
    assert (run / "result.json").is_file()
    assert len({record["run_id"] for record in records}) == 1


def test_resume_continues_the_stream_and_each_ranks_towns(
    two_epochs: tuple[Path, Path], tmp_path: Path
) -> None:
    run, probe = two_epochs
    # Resume in the same folder (a copy, so the other tests keep theirs) for one more epoch.
    resumed, resumed_probe = tmp_path / "run", tmp_path / "probe"
    shutil.copytree(run, resumed)
    first = read_records(run / "telemetry.ndjson")
    ddp_run(
        resumed,
        resumed_probe,
        "trainer.max_epochs=3",
        f"ckpt_path={resumed / 'checkpoints' / 'last.ckpt'}",
    )
    records = read_records(resumed / "telemetry.ndjson")
    assert [record["epoch"] for record in records] == [1, 2, 3]
    assert records[:2] == first  # the first run's lines are kept as they were
    assert len({record["run_id"] for record in records}) == 1
    third = probes(resumed_probe, "end")
    assert records[2]["steps"] == first[1]["steps"] + sum(
        third[(rank, 3)]["transitions"] for rank in (0, 1)
    )
    # Each rank resumed its own towns, as they were when the checkpoint was written.
    before, after = probes(probe, "end"), probes(resumed_probe, "start")
    for rank in (0, 1):
        assert after[(rank, 3)]["towns"] == before[(rank, 2)]["towns"]
        assert after[(rank, 3)]["weights"] == before[(rank, 2)]["weights"]


def test_torchrun_starts_the_ranks(tmp_path: Path) -> None:
    """The multi-node recipe on one node: torchrun starts both ranks with the same command."""
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node=2", "-m", "townlet.train", "device=ddp_sim"]
    command += ["trainer.max_epochs=1", f"hydra.run.dir={run}", "trainer.enable_progress_bar=false"]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (record,) = read_records(run / "telemetry.ndjson")
    assert record["transitions"] == 2 * 128 * 3  # both ranks' rollout: 128 ticks x 3 agents
    assert (run / ".hydra" / "config.yaml").is_file()  # written once, by rank 0
    assert not (run / "run.lock").exists()


def test_the_console_prints_once_per_epoch_from_rank_zero(two_epochs: tuple[Path, Path]) -> None:
    run, _ = two_epochs
    stdout = (run.parent / "stdout.txt").read_text()
    records = read_records(run / "telemetry.ndjson")
    for record in records:
        epoch = int(record["epoch"])
        (line,) = [ln for ln in stdout.splitlines() if f"[ppo] epoch {epoch} " in ln]
        assert f"agent_steps={int(record['agent_steps'])} " in line  # both ranks' steps


def test_every_rank_pins_torch_threads(two_epochs: tuple[Path, Path]) -> None:
    run, probe = two_epochs
    for log in ("train.log", "train_ddp_process_1.log"):  # rank 0's and rank 1's
        assert "torch threads: 2 per process (device.torch_threads=2)" in (run / log).read_text()
    # ... and still in force once Lightning's launcher has started the ranks.
    for rank in (0, 1):
        assert (probe / f"threads_rank{rank}.txt").read_text() == "2"
    assert not (run / "train_ddp_process_1.log").read_text().count("result written")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["-m", "device=ddp_sim", "seed=0,1"],
            "config error: device=ddp_sim inside a multirun (-m) — DDP launches its own "
            "processes: run it as a single job, and sweep with device=cpu or device=gpu",
        ),
        (
            ["device=ddp_sim", "strategy=bc"],
            "config error: device=ddp_sim with strategy=bc data=rollout — DDP runs "
            "strategy=ppo on data=rollout (every rank collects its own towns)",
        ),
        (
            ["device=ddp_sim", "data=replay"],
            "config error: device=ddp_sim with strategy=ppo data=replay — DDP runs "
            "strategy=ppo on data=rollout (every rank collects its own towns)",
        ),
    ],
)
def test_unsupported_ddp_runs_are_refused_in_one_line(
    tmp_path: Path, args: list[str], line: str
) -> None:
    result = run_cli(
        [*args, f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
