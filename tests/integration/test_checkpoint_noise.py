"""No "Checkpoint directory … exists and is not empty" where the folder is expected to hold
checkpoints: a resume from the folder's own last.ckpt, and the stages of anneal (each writes
into its own sub-folder). A fresh run pointed at a folder with checkpoints is still warned."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.test_train_bc_anneal import QUICK_ANNEAL

RunTraining = Callable[..., Path]
NOT_EMPTY = "exists and is not empty"


def not_empty_warnings(run: Callable[[], object]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught if NOT_EMPTY in str(w.message)]


def test_resume_from_the_folders_own_checkpoint_is_quiet(
    run_training: RunTraining, tmp_path: Path
) -> None:
    run = run_training("trainer.max_epochs=1")
    last = run / "checkpoints" / "last.ckpt"
    caught = not_empty_warnings(
        lambda: run_training("trainer.max_epochs=2", f"ckpt_path={last}", run_dir=run)
    )
    assert caught == []


def test_a_fresh_run_into_a_folder_with_checkpoints_is_still_warned(
    run_training: RunTraining,
) -> None:
    run = run_training("trainer.max_epochs=1")
    caught = not_empty_warnings(lambda: run_training("trainer.max_epochs=1", run_dir=run))
    assert len(caught) == 1 and str(run / "checkpoints") in caught[0]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_anneal_stages_write_their_own_folders_quietly(run_training: RunTraining) -> None:
    runs: list[Path] = []
    caught = not_empty_warnings(lambda: runs.append(run_training(*QUICK_ANNEAL)))
    assert caught == []
    checkpoints = runs[0] / "checkpoints"
    stages = sorted(p.name for p in checkpoints.iterdir() if p.is_dir())
    assert stages == ["cycle_00_bc", "cycle_01_ppo", "cycle_02_ppo"], stages
    # checkpoints/last.ckpt is a copy of the last stage's.
    last = (checkpoints / "last.ckpt").read_bytes()
    assert last == (checkpoints / "cycle_02_ppo" / "last.ckpt").read_bytes()
