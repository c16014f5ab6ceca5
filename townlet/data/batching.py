"""A sized, deterministic batch plan over replay samples (DESIGN §8.4).

Samples are grouped by shape signature (T, map shape, feature count, value_preds length, mask
width), so a batch never mixes shapes, and stacked on a new axis 0. The order of an epoch is a
pure function of ``(seed, epoch)``, so a run resumed at epoch e sees exactly the batches the
uninterrupted run would have seen. With ``streaming`` the plan comes from a header-only scan
(:mod:`townlet.data.sample_scan`), and a sample's data is read when its batch is built, so memory
does not grow with the dataset. numpy only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np

from townlet.data.manifest import ManifestEntry, load_manifest
from townlet.data.metrics import aggregate_baseline, numeric_metrics
from townlet.data.sample import ReplaySample, load_sample
from townlet.data.sample_layout import ARRAY_NAMES, SampleLayout, fail
from townlet.data.sample_scan import SampleInfo, scan_sample
from townlet.errors import ConfigError, DataError


class ReplayBatches:
    """The batches of one replay dataset; ``len()`` is exact and the same for every epoch."""

    def __init__(
        self,
        entries: Sequence[ManifestEntry],
        *,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        streaming: bool = False,
        label: str = "replay dataset",
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} — must be >= 1")
        if not entries:
            raise DataError(f"replay dataset {label}: holds no samples")
        self.label, self.batch_size, self.shuffle = label, batch_size, shuffle
        self.seed, self.drop_last, self.streaming = seed, drop_last, streaming
        # Eager mode loads (and fully validates) every sample now; streaming keeps entries only.
        self._samples: list[ReplaySample] | None = (
            None if streaming else [load_sample(e.sample, e.meta) for e in entries]
        )
        self._infos, self._feature_names, per_sample_metrics = self._scan(entries)
        self.baseline_metrics: dict[str, float] = aggregate_baseline(per_sample_metrics)
        groups: dict[SampleLayout, list[int]] = {}
        for i, info in enumerate(self._infos):
            groups.setdefault(info.layout, []).append(i)
        self._buckets = list(groups.items())
        if len(self) == 0:
            largest = max(len(members) for _, members in self._buckets)
            raise DataError(
                f"replay dataset {label}: batch_size {batch_size} with drop_last "
                f"leaves no batches (the largest shape group has {largest} samples)"
            )

    @classmethod
    def from_manifest(
        cls,
        manifest: str | os.PathLike[str],
        *,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        streaming: bool = False,
    ) -> ReplayBatches:
        """Plan the batches of a manifest file or capture folder; its path is the label."""
        return cls(
            load_manifest(manifest),
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
            streaming=streaming,
            label=str(manifest),
        )

    def _scan(
        self, entries: Sequence[ManifestEntry]
    ) -> tuple[list[SampleInfo], list[str], list[dict[str, float]]]:
        """Shape facts, shared feature names and metrics (metrics file first, else sidecar)."""
        infos: list[SampleInfo] = []
        names: list[str] | None = None
        per_sample_metrics: list[dict[str, float]] = []
        for i, entry in enumerate(entries):
            if self._samples is not None:
                sample = self._samples[i]
                info, meta = SampleInfo(entry, sample.layout, sample.max_action_id), sample.meta
            else:
                info, meta = scan_sample(entry)
            names = self._check_consistent(infos, info, names, list(meta["feature_names"]))
            infos.append(info)
            per_sample_metrics.append(
                entry.metrics if entry.metrics is not None else numeric_metrics(meta.get("metrics"))
            )
        return infos, names or [], per_sample_metrics

    def _check_consistent(
        self,
        infos: Sequence[SampleInfo],
        info: SampleInfo,
        names: list[str] | None,
        sample_names: list[str],
    ) -> list[str]:
        """One network reads the whole dataset, so feature names and map shape must agree."""
        if names is None:
            return sample_names
        first = infos[0]
        where = f"replay dataset {self.label}: sample {info.entry.sample}"
        if sample_names != names:
            raise DataError(
                f"{where} has feature_names that differ from those of "
                f"{first.entry.sample} ({len(sample_names)} vs {len(names)} names)"
            )
        if info.layout.map_shape != first.layout.map_shape:
            raise DataError(
                f"{where} has map frames of shape {info.layout.map_shape}, expected "
                f"{first.layout.map_shape} like {first.entry.sample}"
            )
        return names

    def __len__(self) -> int:
        return sum(self._batch_count(len(members)) for _, members in self._buckets)

    def _batch_count(self, size: int) -> int:
        full, rest = divmod(size, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def plan(self, epoch: int) -> list[tuple[int, ...]]:
        """The sample indices of each batch of ``epoch``, in order; pure in (seed, epoch)."""
        rng = np.random.default_rng([self.seed % 2**63, epoch % 2**63]) if self.shuffle else None
        batches: list[tuple[int, ...]] = []
        for _, members in self._buckets:
            order = members if rng is None else [members[i] for i in rng.permutation(len(members))]
            for start in range(0, self._batch_count(len(order)) * self.batch_size, self.batch_size):
                batches.append(tuple(order[start : start + self.batch_size]))
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def batches(self, epoch: int) -> Iterator[dict[str, np.ndarray]]:
        """Build every batch of ``epoch`` in plan order."""
        for indices in self.plan(epoch):
            yield self.build(indices)

    def build(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        """Stack the samples at ``indices`` (one shape group) into one batch dict."""
        samples = [self._sample(i) for i in indices]
        batch = {name: np.stack([s.arrays[name] for s in samples]) for name in ARRAY_NAMES}
        if samples[0].layout.value_steps == samples[0].timesteps:
            # Stored without a bootstrap value: V[T] = 0 keeps the (B, T+1) contract.
            pad = np.zeros((len(samples), 1), dtype=np.float32)
            batch["value_preds"] = np.concatenate([batch["value_preds"], pad], axis=1)
        if samples[0].layout.mask_dim is not None:
            batch["action_mask"] = np.stack([s.arrays["action_mask"] for s in samples])
        return batch

    def _sample(self, index: int) -> ReplaySample:
        if self._samples is not None:
            return self._samples[index]
        info = self._infos[index]
        sample = load_sample(info.entry.sample, info.entry.meta)
        if sample.layout != info.layout:
            raise fail(
                sample.path,
                f"changed on disk since the dataset scan (layout "
                f"{sample.layout}, expected {info.layout})",
            )
        return sample

    @property
    def feature_names(self) -> list[str]:
        return list(self._feature_names)

    @property
    def map_shape(self) -> tuple[int, int, int]:
        return self._infos[0].layout.map_shape

    @property
    def feature_dim(self) -> int:
        return self._infos[0].layout.feature_dim

    @property
    def max_action_id(self) -> int:
        return max(info.max_action_id for info in self._infos)

    @property
    def action_mask_dim(self) -> int | None:
        """The widest stored action mask, or None when no sample carries one."""
        dims = [info.layout.mask_dim for info in self._infos if info.layout.mask_dim is not None]
        return max(dims) if dims else None

    @property
    def buckets(self) -> list[SampleLayout]:
        """The shape signatures, in order of first appearance in the manifest."""
        return [layout for layout, _ in self._buckets]

    @property
    def timesteps(self) -> list[int]:
        """T of each bucket, in bucket order."""
        return [layout.timesteps for layout, _ in self._buckets]

    @property
    def num_samples(self) -> int:
        return len(self._infos)

    @property
    def transitions_per_epoch(self) -> int:
        """B*T summed over one epoch's batches (samples dropped by drop_last excluded)."""
        total = 0
        for layout, members in self._buckets:
            used = (
                len(members)
                if not self.drop_last
                else (len(members) // self.batch_size * self.batch_size)
            )
            total += used * layout.timesteps
        return total
