"""Vectorised indexing shared by the rules: per-agent gathers, per-object counts, ranks.

Index arrays that only depend on shapes are built once per shape (``lru_cache``) and marked
read-only, so callers can share them freely.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def index_grids(towns: int, agents: int) -> tuple[np.ndarray, np.ndarray]:
    """``(town index [T, 1], agent index [1, A])`` for broadcasting fancy indexing."""
    t = np.arange(towns)[:, None]
    a = np.arange(agents)[None, :]
    t.flags.writeable = False
    a.flags.writeable = False
    return t, a


@lru_cache(maxsize=16)
def not_self(agents: int) -> np.ndarray:
    """[1, A, A] True off the diagonal."""
    mask = ~np.eye(agents, dtype=bool)[None]
    mask.flags.writeable = False
    return mask


@lru_cache(maxsize=16)
def object_ids(num_objects: int) -> np.ndarray:
    """[O] 0, 1, ..., O - 1 (read-only, shared)."""
    ids = np.arange(num_objects)
    ids.flags.writeable = False
    return ids


@lru_cache(maxsize=64)
def row_starts(towns: int, agents: int, width: int) -> np.ndarray:
    """[T, A] flat offset of row (t, a) in a C-contiguous [T, A, width] array."""
    starts = (np.arange(towns * agents, dtype=np.int64) * width).reshape(towns, agents)
    starts.flags.writeable = False
    return starts


def pick(arr: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per-agent gather: ``arr[t, a, index[t, a]]`` for [T, A, K], or ``arr[t, index[t, a]]``
    for [T, K]; negative indices read entry 0 (callers mask those out)."""
    t, a = index_grids(*index.shape)
    idx = np.maximum(index, 0)
    if arr.ndim == 3:
        return arr[t, a, idx]
    return arr[t, idx]


def pick_last(arr: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``arr[t, a, index[t, a]]`` for a C-contiguous [T, A, K] array and indices in [0, K).

    A flat ``take`` is the cheapest gather numpy has for this (no broadcasting of three index
    arrays, no negative-index handling)."""
    towns, agents, width = arr.shape
    return arr.reshape(-1).take(row_starts(towns, agents, width) + index)


@lru_cache(maxsize=64)
def _count_offsets(towns: int, num_objects: int) -> np.ndarray:
    """[T, 1] offset of town t's bins (O + 1 per town, the first for "none") in one bincount."""
    offsets = np.arange(towns, dtype=np.int64)[:, None] * (num_objects + 1) + 1
    offsets.flags.writeable = False
    return offsets


def object_counts(obj: np.ndarray, num_objects: int) -> np.ndarray:
    """[T, O] how many agents have each object in ``obj`` ([T, A], -1 for none).

    One ``bincount`` over all towns (each town owns O + 1 bins, the first counting -1)."""
    towns = obj.shape[0]
    flat = (obj + _count_offsets(towns, num_objects)).reshape(-1)
    counts = np.bincount(flat, minlength=towns * (num_objects + 1))
    return counts.reshape(towns, num_objects + 1)[:, 1:]


def rank_per_object(obj: np.ndarray, use: np.ndarray, num_objects: int) -> np.ndarray:
    """[T, A] 0, 1, 2, ... among the agents (in index order) that ``use`` the same object."""
    onehot = (obj[:, :, None] == np.arange(num_objects)) & use[:, :, None]
    return pick(np.cumsum(onehot, axis=1) - 1, obj)


def running_index(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values (town indices, or any sorted keys)."""
    n = sorted_keys.shape[0]
    index = np.arange(n)
    if n <= 1:
        return index
    first = np.empty(n, dtype=bool)  # first entry of a run
    first[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    return index - np.maximum.accumulate(np.where(first, index, 0))
