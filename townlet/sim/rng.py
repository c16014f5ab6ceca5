"""Counter-based random numbers: one independent stream per town and episode, fully vectorised.

A town's randomness is a pure function of (episode key, tick, stream, lane), hashed with
SplitMix64. This keeps every town reproducible on its own, lets a single town reset in place with
a fresh stream (a new key) without touching the others, and makes the whole RNG state a small
array of keys that a checkpoint can store.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)

STREAM_OUTAGE = 1
STREAM_CHAT = 2


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser, elementwise on uint64 (wrap-around arithmetic is intended).

    Inputs are arrays (never numpy scalars), whose integer overflow numpy neither checks nor
    warns about, so no ``np.errstate`` (which costs more than the hash at one town) is needed.
    """
    z = x.astype(np.uint64, copy=True)
    z += _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


def episode_keys(town_seeds: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """The key of each town's episode: a hash of its seed, then of the episode counter."""
    seeds = town_seeds.astype(np.int64).view(np.uint64)
    return splitmix64(splitmix64(seeds) ^ episodes.astype(np.uint64))


def uniform(keys: np.ndarray, tick: np.ndarray, stream: int, lanes: int = 0) -> np.ndarray:
    """Floats in [0, 1): shape ``[T]`` when ``lanes`` is 0, else ``[T, lanes]``."""
    base = splitmix64(keys ^ (tick.astype(np.uint64) * _MIX1 + np.uint64(stream)))
    if lanes:
        base = splitmix64(base[:, None] + np.arange(lanes, dtype=np.uint64)[None, :])
    else:
        base = splitmix64(base)
    return (base >> _S11).astype(np.float64) * (1.0 / 9007199254740992.0)
