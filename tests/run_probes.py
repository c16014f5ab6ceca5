"""Callbacks tests add from the command line, to see inside a training process.

RankProbe (the DDP tests): each rank writes what it holds.

``+callbacks.rank_probe._target_=tests.run_probes.RankProbe +callbacks.rank_probe.folder=DIR``
makes every rank write ``DIR/rank<r>_epoch<e>_<when>.json`` at the start and end of each epoch:
a digest of its weights, a digest of its towns, and the agent-steps it trained on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter's bytes, in order."""
    digest = hashlib.sha256()
    for parameter in module.parameters():
        digest.update(parameter.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def towns_digest(datamodule: Any) -> str:
    """SHA-256 of the rank's town state arrays, by name."""
    arrays = datamodule.collector.env.get_state()["arrays"]
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


class RankProbe(L.Callback):
    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _write(self, trainer: L.Trainer, module: L.LightningModule, when: str) -> None:
        record = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "epoch": trainer.current_epoch + 1,
            "weights": weights_digest(module),
            "towns": towns_digest(trainer.datamodule),  # type: ignore[attr-defined]
            "transitions": int(module.stats.transitions),  # type: ignore[union-attr]
        }
        name = f"rank{trainer.global_rank}_epoch{record['epoch']}_{when}.json"
        (self.folder / name).write_text(json.dumps(record))

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, pl_module, "start")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, pl_module, "end")


class ThreadsProbe(L.Callback):
    """Writes ``torch.get_num_threads()`` as the fit starts, to ``folder/threads_rank<r>.txt``."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"threads_rank{trainer.global_rank}.txt"
        path.write_text(str(torch.get_num_threads()))
