"""Resume after SIGKILL, from a moved folder and as a fork: the telemetry stream is exact.

A killed run is resumed from ``checkpoints/last.ckpt`` into its own folder: whatever the kill
point (after an epoch's telemetry line but before its checkpoint, mid-epoch, at an epoch start,
with a torn line left at the end), the final stream holds epochs 1..N once each, validates, and
the final weights equal those of an uninterrupted run (DESIGN §7.4, §14).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.helpers import REPO_ROOT, assert_validators_accept, compose_train, read_records
from townlet.errors import TownletError
from townlet.telemetry.writer import stream_files

pytestmark = pytest.mark.filterwarnings("ignore")
RunTraining = Callable[..., Path]
EPOCHS = 4
QUIET = (
    f"trainer.max_epochs={EPOCHS}",
    "logger=none",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
)
MODES = {"rollout": ("data=rollout", "data.ticks=16"), "replay": ("data=replay",)}
VOLATILE = {"epoch_duration_sec", "fps", "run_id"}
TORN = b'{"epoch": 99.0, "loss_to'  # what a full disk or a power loss leaves


@dataclass(frozen=True)
class Kill:
    """SIGKILL at ``at`` (epoch_start, batch_end, epoch_end) of ``epoch``; ``torn`` then
    appends a partial line to the stream before the resume."""

    at: str
    epoch: int
    torn: bool = False


# epoch_end kills land between the epoch's telemetry line and its checkpoint.
QUICK_KILLS = {
    "rollout": (Kill("epoch_end", 2, torn=True),),
    "replay": (Kill("epoch_end", 3), Kill("batch_end", 4, torn=True)),
}
# Each kill resumes from the checkpoint the previous one left, so every point is reached.
FULL_KILLS = (
    Kill("epoch_end", 2),
    Kill("batch_end", 2, torn=True),
    Kill("epoch_start", 3),
    Kill("epoch_end", 3, torn=True),
    Kill("batch_end", 3),
    Kill("epoch_start", 3, torn=True),
    Kill("epoch_end", 3),
    Kill("batch_end", 4, torn=True),
    Kill("epoch_end", 4),
    Kill("epoch_start", 4),
    Kill("epoch_end", 4, torn=True),
)


def _checkpoint(folder: Path) -> Path:
    return folder / "checkpoints" / "last.ckpt"


def _telemetry_state(checkpoint: Path) -> dict[str, Any]:
    states = torch.load(checkpoint, weights_only=True)["callbacks"]
    return next(state for name, state in states.items() if name.startswith("TelemetryCallback"))


def _epochs(folder: Path) -> list[float]:
    return [record["epoch"] for record in read_records(folder / "telemetry.ndjson")]


def _run_killed(folder: Path, mode: str, kill: Kill) -> None:
    """Train in a subprocess (resuming if a checkpoint exists) that SIGKILLs itself at ``kill``."""
    resume = [f"ckpt_path={_checkpoint(folder)}"] if _checkpoint(folder).exists() else []
    target = "+callbacks.kill"
    args = [f"hydra.run.dir={folder}", *MODES[mode], *QUIET, *resume]
    args += [f"{target}._target_=tests.integration.kill_points.KillAt"]
    args += [f"{target}.at={kill.at}", f"{target}.epoch={kill.epoch}"]
    proc = subprocess.run(
        [sys.executable, "-m", "townlet.train", *args],
        cwd=folder.parent,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    # The kill landed where asked: the checkpoint holds epoch k-1, the stream k-1 epochs, or k
    # when the process died between the telemetry line and the checkpoint.
    assert _telemetry_state(_checkpoint(folder))["log_stream_offset"] == kill.epoch - 1
    written = kill.epoch if kill.at == "epoch_end" else kill.epoch - 1
    assert _epochs(folder) == [float(e) for e in range(1, written + 1)]
    if kill.torn:
        with stream_files(folder / "telemetry.ndjson")[-1].open("ab") as handle:
            handle.write(TORN)


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The uninterrupted run of a mode, trained once per module."""
    from townlet.train import train

    runs: dict[str, Path] = {}

    def _get(mode: str) -> Path:
        if mode not in runs:
            folder = tmp_path_factory.mktemp(f"reference_{mode}")
            train(compose_train(folder, [*MODES[mode], *QUIET]))
            runs[mode] = folder
        return runs[mode]

    return _get


def _assert_like_uninterrupted(folder: Path, reference: Path) -> None:
    assert _epochs(folder) == [float(e) for e in range(1, EPOCHS + 1)]
    assert_validators_accept(folder / "telemetry.ndjson", EPOCHS, folder.parent)
    for got, want in zip(
        read_records(folder / "telemetry.ndjson"),
        read_records(reference / "telemetry.ndjson"),
        strict=True,
    ):
        assert {k: v for k, v in got.items() if k not in VOLATILE} == {
            k: v for k, v in want.items() if k not in VOLATILE
        }
    weights = torch.load(_checkpoint(folder), weights_only=True)["state_dict"]
    expected = torch.load(_checkpoint(reference), weights_only=True)["state_dict"]
    assert weights.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(weights[name], tensor), name


KILL_CASES = [
    *(pytest.param(mode, QUICK_KILLS[mode], id=f"{mode}-quick") for mode in sorted(MODES)),
    *(
        pytest.param(mode, FULL_KILLS, id=f"{mode}-every-point", marks=pytest.mark.slow)
        for mode in sorted(MODES)
    ),
]


@pytest.mark.parametrize(("mode", "kills"), KILL_CASES)
def test_killed_runs_resume_exactly(
    mode: str,
    kills: Sequence[Kill],
    tmp_path: Path,
    run_training: RunTraining,
    reference_runs: Callable[[str], Path],
) -> None:
    folder = tmp_path / "killed"
    for kill in kills:
        _run_killed(folder, mode, kill)
    run_training(*MODES[mode], *QUIET, f"ckpt_path={_checkpoint(folder)}", run_dir=folder)
    _assert_like_uninterrupted(folder, reference_runs(mode))


@pytest.mark.parametrize("relocate", [shutil.move, shutil.copytree])
def test_relocated_folder_resumes_only_in_its_new_place(
    relocate: Callable[[Path, Path], object],
    tmp_path: Path,
    run_training: RunTraining,
    reference_runs: Callable[[str], Path],
) -> None:
    source, moved = tmp_path / "source", tmp_path / "moved"
    run_training(*MODES["replay"], *QUIET, "trainer.max_epochs=2", run_dir=source)
    before = (source / "telemetry.ndjson").read_bytes()
    relocate(source, moved)
    run_training(*MODES["replay"], *QUIET, f"ckpt_path={_checkpoint(moved)}", run_dir=moved)
    _assert_like_uninterrupted(moved, reference_runs("replay"))
    assert len({record["run_id"] for record in read_records(moved / "telemetry.ndjson")}) == 1
    if relocate is shutil.move:
        assert not source.exists()  # the old place is not re-created
    else:
        assert (source / "telemetry.ndjson").read_bytes() == before


def test_fork_starts_a_new_stream_that_continues_the_offsets(
    tmp_path: Path, run_training: RunTraining, reference_runs: Callable[[str], Path]
) -> None:
    source, fork = tmp_path / "source", tmp_path / "fork"
    run_training(*MODES["replay"], *QUIET, "trainer.max_epochs=2", run_dir=source)
    before = (source / "telemetry.ndjson").read_bytes()
    run_training(*MODES["replay"], *QUIET, f"ckpt_path={_checkpoint(source)}", run_dir=fork)
    assert (source / "telemetry.ndjson").read_bytes() == before
    assert not (source / "telemetry_bc.ndjson").exists()
    forked = read_records(fork / "telemetry.ndjson")
    whole = read_records(reference_runs("replay") / "telemetry.ndjson")
    assert [r["epoch"] for r in forked] == [3.0, 4.0]
    for key in ("log_stream_offset", "steps", "cycle_id"):
        assert [r[key] for r in forked] == [r[key] for r in whole[2:]], key
    source_ids = {record["run_id"] for record in read_records(source / "telemetry.ndjson")}
    assert len({record["run_id"] for record in forked} | source_ids) == 2
    assert_validators_accept(fork / "telemetry.ndjson", 2, tmp_path)


def test_resume_into_a_folder_holding_another_stream_is_refused(
    tmp_path: Path, run_training: RunTraining
) -> None:
    source, other = tmp_path / "source", tmp_path / "other"
    run_training(*MODES["replay"], *QUIET, "trainer.max_epochs=2", run_dir=source)
    run_training(*MODES["replay"], *QUIET, "trainer.max_epochs=3", run_dir=other)
    before = (other / "telemetry.ndjson").read_bytes()
    with pytest.raises(TownletError, match="does not hold the telemetry"):
        run_training(*MODES["replay"], *QUIET, f"ckpt_path={_checkpoint(source)}", run_dir=other)
    assert (other / "telemetry.ndjson").read_bytes() == before
