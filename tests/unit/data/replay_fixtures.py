"""Helpers that write small replay samples (good or deliberately broken) for the data tests.

Raw ``np.savez`` is used on purpose rather than ``save_sample``: the guard tests need files
that townlet itself would refuse to write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = ["need_hunger", "rivalry_max", "rivalry_avoid_count", "wallet"]


def make_arrays(
    timesteps: int = 2,
    value_steps: int | None = None,
    mask: bool = False,
    seed: int = 0,
    features: int = len(FEATURES),
) -> dict[str, np.ndarray]:
    """Valid canonical arrays for a (T, 2, 3, 3) map sample; values depend on ``seed``."""
    rng = np.random.default_rng(seed)
    t = timesteps
    arrays: dict[str, np.ndarray] = {
        "map": rng.random((t, 2, 3, 3)).astype(np.float32),
        "features": rng.random((t, features)).astype(np.float32),
        "actions": rng.integers(0, 4, t).astype(np.int64),
        "old_log_probs": -rng.random(t).astype(np.float32),
        "value_preds": rng.random(t + 1 if value_steps is None else value_steps).astype(np.float32),
        "rewards": rng.random(t).astype(np.float32) - 0.5,
        "dones": np.zeros(t, dtype=bool),
    }
    if mask:
        allowed = np.ones((t, 5), dtype=bool)
        allowed[:, 4] = False
        arrays["action_mask"] = allowed
    return arrays


def write_sample(
    folder: Path,
    name: str,
    arrays: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    **array_options: Any,
) -> Path:
    """Write ``<name>.npz`` and ``<name>.json`` into ``folder``; returns the npz path."""
    folder.mkdir(parents=True, exist_ok=True)
    data = make_arrays(**array_options) if arrays is None else arrays
    path = folder / f"{name}.npz"
    np.savez(path, **data)
    sidecar = {"variant": "test", "feature_names": list(FEATURES)}
    sidecar.update(meta or {})
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def write_manifest(folder: Path, entries: Any, name: str = "manifest.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(entries))
    return path
