"""``data=replay``: a LightningDataModule over recorded samples (DESIGN §5, §8.4).

One Lightning epoch is one pass over the dataset's batches. Each dataset item is a whole batch
(the DataLoader runs with ``batch_size=None``), built by ``ReplayBatches`` so a batch never mixes
shapes. The dataset itself picks the order from ``(seed, epoch)``: Lightning calls ``set_epoch``
on the sampler at every epoch start, and the sampler hands it on to the dataset, so shuffling
stays exact across resumes and is not left to the DataLoader's own RNG.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from townlet.data import LIVE_ACTION_COUNT
from townlet.data.batching import ReplayBatches
from townlet.errors import ConfigError


class ReplayBatchDataset(Dataset[dict[str, Any]]):
    """Map-style dataset whose item ``i`` is batch ``i`` of the current epoch's plan."""

    def __init__(self, batches: ReplayBatches, recompute_log_probs: bool = True) -> None:
        self.batches = batches
        self.recompute_log_probs = recompute_log_probs
        self.epoch = 0
        self._plan: list[tuple[int, ...]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Switch to ``epoch``'s order; the plan is recomputed on the next access."""
        if epoch != self.epoch:
            self.epoch, self._plan = epoch, None

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self._plan is None:
            self._plan = self.batches.plan(self.epoch)
        arrays = self.batches.build(self._plan[index])
        item: dict[str, Any] = {name: torch.from_numpy(value) for name, value in arrays.items()}
        # Plain values ride along (Lightning moves only tensors) so errors can name the batch.
        item["dataset"] = self.batches.label
        item["batch_index"] = index
        # Marks the batch as recorded data for PPO: True asks it to re-evaluate old_log_probs and
        # value_preds with the current policy; live rollout batches carry no such key.
        item["recompute_log_probs"] = self.recompute_log_probs
        return item


class EpochSampler(Sampler[int]):
    """Yields 0..len-1 and forwards Lightning's per-epoch ``set_epoch`` call to the dataset."""

    def __init__(self, dataset: ReplayBatchDataset) -> None:
        self.dataset = dataset

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.dataset)))

    def __len__(self) -> int:
        return len(self.dataset)


class ReplayDataModule(L.LightningDataModule):
    """Replay batches for PPO/BC, with the dataset facts the module sizes its network from.

    The manifest is scanned lazily, once, on the first property access or ``setup()``, so the
    module can be built (and a config validated) before any file is read.
    """

    data_mode = "replay"

    def __init__(
        self,
        manifest: str,
        batch_size: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        streaming: bool = False,
        num_workers: int = 0,
        recompute_log_probs: bool = True,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if batch_size < 1:
            raise ConfigError(f"data.batch_size={batch_size} — must be >= 1")
        if num_workers < 0:
            raise ConfigError(f"data.num_workers={num_workers} — must be >= 0")
        self.manifest = str(manifest)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.drop_last, self.streaming, self.num_workers = drop_last, streaming, num_workers
        self.recompute_log_probs = recompute_log_probs
        self._batches: ReplayBatches | None = None
        self._dataset: ReplayBatchDataset | None = None

    @property
    def batches(self) -> ReplayBatches:
        """The batch plan (scanned on first use)."""
        if self._batches is None:
            self._batches = ReplayBatches.from_manifest(
                self.manifest,
                batch_size=self.batch_size,
                shuffle=self.shuffle,
                seed=self.seed,
                drop_last=self.drop_last,
                streaming=self.streaming,
            )
        return self._batches

    @property
    def dataset(self) -> ReplayBatchDataset:
        if self._dataset is None:
            self._dataset = ReplayBatchDataset(self.batches, self.recompute_log_probs)
        return self._dataset

    def setup(self, stage: str | None = None) -> None:
        """Scan the manifest now, so bad data fails before the first training step."""
        self.set_epoch(self.dataset.epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select ``epoch``'s batch order (Lightning also does this through the sampler)."""
        self.dataset.set_epoch(epoch)

    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        if self.trainer is not None:
            self.set_epoch(self.trainer.current_epoch)
        return DataLoader(
            self.dataset,
            batch_size=None,
            shuffle=False,
            sampler=EpochSampler(self.dataset),
            num_workers=self.num_workers,
        )

    @property
    def dataset_label(self) -> str:
        return self.manifest

    @property
    def feature_names(self) -> list[str]:
        return self.batches.feature_names

    @property
    def feature_dim(self) -> int:
        return self.batches.feature_dim

    @property
    def map_shape(self) -> tuple[int, int, int]:
        return self.batches.map_shape

    @property
    def action_dim(self) -> int:
        """Max action id + 1, never below the live action count (DESIGN §6.3) nor a mask's width.

        Sidecars' ``action_dim`` is not trusted: the older system wrote wrong values there.
        """
        return max(
            self.batches.max_action_id + 1, LIVE_ACTION_COUNT, self.batches.action_mask_dim or 0
        )

    @property
    def baseline_metrics(self) -> dict[str, float]:
        return dict(self.batches.baseline_metrics)

    @property
    def transitions_per_epoch(self) -> int:
        return self.batches.transitions_per_epoch

    @property
    def num_batches(self) -> int:
        """Batches per epoch (the same every epoch)."""
        return len(self.batches)


__all__ = ["EpochSampler", "ReplayBatchDataset", "ReplayDataModule"]
