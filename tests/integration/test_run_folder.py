"""One run per folder: the run lock, unique default folders, no folder left by a config error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, read_records, run_cli
from townlet.run_folder import LOCK_FILE, RunFolderBusy, claim_folder, release_folders

pytestmark = pytest.mark.filterwarnings("ignore")
QUICK = ["data.ticks=8", "trainer.max_epochs=1", "trainer.enable_progress_bar=false"]


def _hold(folder: Path) -> subprocess.Popen[str]:
    """Another process that claims ``folder`` as a run would, then waits to be killed."""
    code = (
        "import sys, time\n"
        "from townlet.run_folder import claim_folder\n"
        f"claim_folder({str(folder)!r})\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_second_run_in_a_held_folder_stops_without_touching_it(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    holder = _hold(folder)
    try:
        (folder / "telemetry.ndjson").write_text("first run\n")
        proc = run_cli([f"hydra.run.dir={folder}", *QUICK], cwd=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(folder) in lines[0] and f"pid {holder.pid}" in lines[0]
    assert sorted(p.name for p in folder.iterdir()) == [LOCK_FILE, "telemetry.ndjson"]
    assert (folder / "telemetry.ndjson").read_text() == "first run\n"


def test_second_sweep_in_a_held_sweep_folder_stops(tmp_path: Path) -> None:
    folder = tmp_path / "multirun"
    holder = _hold(folder)
    try:
        proc = run_cli(["-m", "seed=1,2", f"hydra.sweep.dir={folder}", *QUICK], cwd=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "hydra.sweep.dir" in lines[0], proc.stderr
    assert [p.name for p in folder.iterdir()] == [LOCK_FILE]  # no job folder, no multirun.yaml


def test_lock_of_a_killed_run_does_not_block(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    holder = _hold(folder)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (folder / LOCK_FILE).exists()  # left behind by the killed holder
    proc = run_cli([f"hydra.run.dir={folder}", *QUICK], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (folder / "result.json").exists()
    assert not (folder / LOCK_FILE).exists()  # released at exit


def test_a_live_claim_blocks_a_second_claim_in_process(tmp_path: Path) -> None:
    holder = _hold(tmp_path / "run")
    try:
        with pytest.raises(RunFolderBusy, match=f"pid {holder.pid}"):
            claim_folder(tmp_path / "run")
    finally:
        holder.kill()
        holder.wait()
    claim_folder(tmp_path / "run")  # free once the holder is gone
    release_folders()
    assert not (tmp_path / "run" / LOCK_FILE).exists()


def test_runs_started_together_get_their_own_default_folders(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    args = [f"paths.log_dir={outputs}", f"hydra.sweep.dir={tmp_path / 'multirun'}", *QUICK]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "townlet.train", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr[-2000:]
    folders = sorted(outputs.glob("*/*"))
    assert len(folders) == 2
    assert {folder.name.rpartition("_")[2] for folder in folders} == {str(r.pid) for r in runs}
    for folder in folders:
        run_ids = {record["run_id"] for record in read_records(folder / "telemetry.ndjson")}
        assert len(run_ids) == 1


BAD_CONFIGS = [
    pytest.param(["device=gpu"], "device=gpu", id="device"),
    pytest.param(["strategy.clip_param=1.5"], "strategy.clip_param=1.5", id="clip"),
    pytest.param(["data=replay", "data.manifest=/nonexistent"], "data.manifest", id="manifest"),
]


@pytest.mark.parametrize(("overrides", "named"), BAD_CONFIGS)
def test_config_error_leaves_no_folder(tmp_path: Path, overrides: list[str], named: str) -> None:
    if "device=gpu" in overrides:
        torch = pytest.importorskip("torch")
        if torch.cuda.is_available():
            pytest.skip("device=gpu is valid on a machine with CUDA")
    outputs = tmp_path / "outputs"
    proc = run_cli([f"hydra.run.dir={outputs}/day/run", *overrides], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error: ") and named in lines[0]
    assert not outputs.exists()


def test_config_error_keeps_a_folder_that_existed(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    proc = run_cli([f"hydra.run.dir={folder}", "strategy.clip_param=1.5"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert (folder / "notes.txt").read_text() == "mine\n"
    assert not (folder / LOCK_FILE).exists()
