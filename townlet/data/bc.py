"""Expert transitions for behaviour cloning, with a held-out validation split (DESIGN §10).

BC needs no trajectories, only (observation, expert action) pairs, so every sample of the
manifest is flattened into one pool of transitions and split at random, by seed, into training
and validation sets. Filler steps of agents already out of the episode (only ``wait`` legal)
carry no decision and are left out.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from townlet.data import LIVE_ACTION_COUNT
from townlet.data.manifest import load_manifest
from townlet.data.sample import load_sample
from townlet.errors import DataError


def load_expert_transitions(manifest: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """All transitions of a manifest as flat arrays, and the shared feature names."""
    parts: dict[str, list[np.ndarray]] = {"map": [], "features": [], "actions": []}
    masks: list[np.ndarray] = []
    names: list[str] | None = None
    for entry in load_manifest(manifest):
        sample = load_sample(entry.sample, entry.meta)
        if names is None:
            names = list(sample.feature_names)
        elif list(sample.feature_names) != names:
            raise DataError(f"replay sample {entry.sample}: feature_names differ from the first")
        keep = np.ones(sample.timesteps, dtype=bool)
        if "action_mask" in sample.arrays:
            mask = sample.arrays["action_mask"]
            keep = mask.sum(-1) > 1  # one legal action (wait while out) is no decision
            masks.append(mask[keep])
        for key in parts:
            parts[key].append(sample.arrays[key][keep])
    arrays = {key: np.concatenate(chunks) for key, chunks in parts.items()}
    if masks and len(masks) == len(parts["actions"]):
        arrays["action_mask"] = np.concatenate(masks)
    if names is None or arrays["actions"].size == 0:
        raise DataError(f"manifest {manifest}: no expert decisions to clone")
    return arrays, names


class BCDataModule(L.LightningDataModule):
    """Shuffled expert transitions, split into train and validation by ``val_fraction``."""

    data_mode = "replay"

    def __init__(
        self, manifest: str, batch_size: int = 256, val_fraction: float = 0.2, seed: int = 0
    ) -> None:
        super().__init__()
        self.manifest = manifest
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.seed = seed
        arrays, self.feature_names = load_expert_transitions(manifest)
        self.tensors = {key: torch.from_numpy(value) for key, value in arrays.items()}
        count = int(self.tensors["actions"].shape[0])
        order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
        val_count = int(round(count * val_fraction)) if count > 1 else 0
        self.val_index, self.train_index = order[:val_count], order[val_count:]

    @property
    def map_shape(self) -> tuple[int, int, int]:
        shape = self.tensors["map"].shape[1:]
        return (int(shape[0]), int(shape[1]), int(shape[2]))

    @property
    def feature_dim(self) -> int:
        return int(self.tensors["features"].shape[1])

    @property
    def action_dim(self) -> int:
        widest = self.tensors["action_mask"].shape[1] if "action_mask" in self.tensors else 0
        return max(int(self.tensors["actions"].max()) + 1, LIVE_ACTION_COUNT, widest)

    @property
    def dataset_label(self) -> str:
        return self.manifest

    @property
    def num_transitions(self) -> int:
        return int(self.tensors["actions"].shape[0])

    def batch_keys(self) -> list[str]:
        """Names of the tensors in each batch tuple, in order."""
        return [k for k in ("map", "features", "actions", "action_mask") if k in self.tensors]

    def _dataset(self, index: torch.Tensor) -> TensorDataset:
        return TensorDataset(*(self.tensors[k][index] for k in self.batch_keys()))

    def train_dataloader(self) -> DataLoader[Any]:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            self._dataset(self.train_index),
            batch_size=self.batch_size,
            shuffle=True,
            generator=generator,
        )

    def val_dataloader(self) -> DataLoader[Any]:
        return DataLoader(self._dataset(self.val_index), batch_size=4 * self.batch_size)

    def expert_batch(self, size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """A random training minibatch as a dict (the BC term inside PPO stages)."""
        pick = self.train_index[torch.randint(len(self.train_index), (size,), generator=generator)]
        return {key: self.tensors[key][pick] for key in self.batch_keys()}
