"""The run's checkpoint writer: Lightning's ModelCheckpoint, quiet where the folder is expected.

Lightning warns "Checkpoint directory … exists and is not empty" whenever a fit starts with
checkpoints in its folder, to catch two runs writing into one place. townlet's run folder lock
already refuses that (DESIGN §14), and a resume from one of the folder's own checkpoints finds it
non-empty by design, so the warning is dropped exactly then; a fresh run pointed at a folder that
holds checkpoints still gets it. Anneal stages each write into their own sub-folder.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

NOT_EMPTY = "Checkpoint directory .* exists and is not empty"


class RunCheckpoint(ModelCheckpoint):
    """ModelCheckpoint without the not-empty warning when resuming from its own folder.

    ``resume_from`` is the run's ``ckpt_path`` (the callbacks group passes it): Lightning only
    learns the resume path after this callback's ``setup``, where it warns.
    """

    def __init__(self, *args: Any, resume_from: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resume_from = resume_from

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        with warnings.catch_warnings():
            if self._resumes_from_own_folder(trainer):
                warnings.filterwarnings("ignore", message=NOT_EMPTY)
            super().setup(trainer, pl_module, stage)

    def _resumes_from_own_folder(self, trainer: L.Trainer) -> bool:
        resume = self.resume_from or trainer.ckpt_path
        if not resume or self.dirpath is None:
            return False
        return Path(resume).resolve().parent == Path(self.dirpath).resolve()


def copy_atomically(source: Path, target: Path) -> None:
    """``target`` becomes a copy of ``source``; a reader never sees half a file."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
