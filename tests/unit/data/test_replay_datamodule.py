"""ReplayDataModule: tensors per batch, dataset facts, and the epoch order under a real Trainer."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
from replay_fixtures import write_manifest, write_sample

from townlet.data import EMBEDDED_MANIFEST, LIVE_ACTION_COUNT
from townlet.data.batching import ReplayBatches
from townlet.data.replay import ReplayDataModule
from townlet.errors import ConfigError


def test_upstream_manifest_batches_and_facts(upstream_samples: Path) -> None:
    manifest = str(upstream_samples / "replay" / "replay_manifest.json")
    dm = ReplayDataModule(manifest, batch_size=1, shuffle=False)
    # Facts are available before setup(): the scan runs lazily, once.
    assert dm.action_dim == LIVE_ACTION_COUNT == 12
    assert dm.feature_dim == 36 and dm.map_shape == (4, 11, 11)
    assert dm.feature_names[18:20] == ["rivalry_max", "rivalry_avoid_count"]
    assert dm.data_mode == "replay" and dm.dataset_label == manifest
    assert dm.transitions_per_epoch == 6 and dm.baseline_metrics == {}
    dm.setup("fit")
    items = list(dm.train_dataloader())
    assert len(items) == len(dm.train_dataloader()) == dm.num_batches == 3
    for index, item in enumerate(items):
        assert item["dataset"] == manifest and item["batch_index"] == index
        assert item["map"].shape == (1, 2, 4, 11, 11) and item["map"].dtype == torch.float32
        assert item["features"].shape == (1, 2, 36)
        assert item["actions"].dtype == torch.int64 and item["actions"].shape == (1, 2)
        assert item["value_preds"].shape == (1, 3)
        assert item["dones"].dtype == torch.bool
        assert item["old_log_probs"].dtype == item["rewards"].dtype == torch.float32
    assert items[0]["actions"].tolist() == [[1, 0]]  # manifest order without shuffling


def test_capture_folder_facts(upstream_samples: Path) -> None:
    dm = ReplayDataModule(str(upstream_samples / "capture_queue_conflict"), batch_size=2)
    assert dm.action_dim == 12  # max id 3 + 1 = 4, raised to the live action count
    assert dm.baseline_metrics["baseline_reward_sum"] == -36.0
    assert dm.transitions_per_epoch == 180 and dm.num_batches == 2


def test_embedded_dataset_with_masks() -> None:
    dm = ReplayDataModule(str(EMBEDDED_MANIFEST), batch_size=4, seed=3)
    dm.setup("fit")
    items = list(dm.train_dataloader())
    assert len(items) == 2 and dm.feature_dim == 81 and dm.action_dim == 12
    assert items[0]["action_mask"].shape == (4, 32, 12)
    assert items[0]["action_mask"].dtype == torch.bool
    assert items[0]["value_preds"].shape == (4, 33)


def test_bad_arguments_are_config_errors(upstream_samples: Path) -> None:
    with pytest.raises(ConfigError, match=r"data.batch_size=0 — must be >= 1"):
        ReplayDataModule("x.json", batch_size=0)
    with pytest.raises(ConfigError, match=r"data.num_workers=-1 — must be >= 0"):
        ReplayDataModule("x.json", num_workers=-1)


class _Recorder(L.LightningModule):
    """Records the actions of every batch it is given, per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: dict[int, list[tuple[int, list[list[int]]]]] = {}

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.seen.setdefault(self.current_epoch, []).append(
            (batch["batch_index"], batch["actions"].tolist())
        )

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_trainer_sees_each_epochs_plan(tmp_path: Path, num_workers: int) -> None:
    names = [write_sample(tmp_path, f"s{i}", seed=i).name for i in range(6)]
    manifest = write_manifest(tmp_path, names)
    dm = ReplayDataModule(
        str(manifest), batch_size=2, shuffle=True, seed=11, num_workers=num_workers
    )
    module = _Recorder()
    trainer = L.Trainer(
        max_epochs=3,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's num_workers hints are irrelevant here
        trainer.fit(module, datamodule=dm)
    reference = ReplayBatches.from_manifest(manifest, batch_size=2, shuffle=True, seed=11)
    for epoch in range(3):
        expected = [np.asarray(b["actions"]).tolist() for b in reference.batches(epoch)]
        assert [actions for _, actions in module.seen[epoch]] == expected
        assert [index for index, _ in module.seen[epoch]] == [0, 1, 2]
    assert module.seen[0] != module.seen[1]  # a new order every epoch
