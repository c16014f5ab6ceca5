"""The shape rules of a replay sample (DESIGN §8.1-§8.2): array names, dtypes, ranks, layout.

``check_layout`` is where a sample's arrays are held against each other (one T, value_preds of T
or T+1, features matching feature_names, the conflict features present); ``fail`` makes the one
line that names the file. numpy only (DESIGN §2).
"""

from __future__ import annotations

import struct
import tokenize
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from townlet.errors import DataError

ARRAY_NAMES: tuple[str, ...] = (
    "map",
    "features",
    "actions",
    "old_log_probs",
    "value_preds",
    "rewards",
    "dones",
)
# The per-step training arrays, as the older system's sidecars list them.
TRAINING_ARRAYS: tuple[str, ...] = ("actions", "old_log_probs", "value_preds", "rewards", "dones")
FLOAT_ARRAYS: frozenset[str] = frozenset(
    {"map", "features", "old_log_probs", "value_preds", "rewards"}
)
CONFLICT_FEATURES: tuple[str, ...] = ("rivalry_max", "rivalry_avoid_count")
CANONICAL_DTYPES: dict[str, type[np.generic]] = {
    "map": np.float32,
    "features": np.float32,
    "actions": np.int64,
    "old_log_probs": np.float32,
    "value_preds": np.float32,
    "rewards": np.float32,
    "dones": np.bool_,
    "action_mask": np.bool_,
}
# Expected shapes once a legacy single frame has gained its T axis; the rank is the tuple length.
_SHAPE_HINTS: dict[str, tuple[str, ...]] = {
    "map": ("T", "C", "H", "W"),
    "features": ("T", "F"),
    "actions": ("T",),
    "old_log_probs": ("T",),
    "value_preds": ("T or T+1",),
    "rewards": ("T",),
    "dones": ("T",),
    "action_mask": ("T", "A"),
}
# Numeric kinds accepted before the cast; float actions pass only when every id is whole.
_ALLOWED_KINDS: dict[str, str] = {name: "fiub" for name in CANONICAL_DTYPES} | {"actions": "iuf"}
# The largest action space townlet trains: ids run from 0 to MAX_ACTION_SPACE - 1. The live town
# has 12 actions (DESIGN §9.7); the bound stops a corrupt id from sizing the policy head, whose
# width is the largest id + 1 (an id of 10**9 would ask for terabytes).
MAX_ACTION_SPACE: int = 1024
# Everything a broken or hostile archive can raise while zipfile and numpy read it: zipfile raises
# NotImplementedError/RuntimeError for odd versions, methods and encryption flags; numpy parses an
# npy header as a Python literal (tokenize, ast: TokenError, SyntaxError, TypeError,
# RecursionError) and allocates the shape it declares (MemoryError, OverflowError).
READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    KeyError,
    IndexError,
    RuntimeError,
    TypeError,
    SyntaxError,
    MemoryError,
    OverflowError,
    struct.error,
    tokenize.TokenError,
    zipfile.BadZipFile,
    zlib.error,
)


def fail(path: Path, problem: str) -> DataError:
    """Build the one-line error every guard raises; line breaks (say, from numpy) are flattened."""
    message = f"replay sample {path}: {problem}"
    return DataError(message.replace("\r", " ").replace("\n", " "))


@dataclass(frozen=True)
class SampleLayout:
    """The shape signature: samples with equal layouts can be stacked into one batch."""

    timesteps: int
    map_shape: tuple[int, int, int]
    feature_dim: int
    value_steps: int
    mask_dim: int | None

    @classmethod
    def of(cls, arrays: Mapping[str, np.ndarray]) -> SampleLayout:
        """The layout of canonical (T-axis) arrays."""
        _, c, h, w = arrays["map"].shape
        mask = arrays.get("action_mask")
        return cls(
            int(arrays["actions"].shape[0]),
            (int(c), int(h), int(w)),
            int(arrays["features"].shape[1]),
            int(arrays["value_preds"].shape[0]),
            None if mask is None else int(mask.shape[1]),
        )

    def shape_of(self, name: str) -> tuple[int, ...]:
        """The canonical shape of one array under this layout."""
        t = self.timesteps
        shapes: dict[str, tuple[int, ...]] = {
            "map": (t, *self.map_shape),
            "features": (t, self.feature_dim),
            "value_preds": (self.value_steps,),
            "action_mask": (t, self.mask_dim or 0),
        }
        return shapes.get(name, (t,))


def check_layout(
    path: Path,
    shapes: Mapping[str, tuple[int, ...]],
    dtypes: Mapping[str, np.dtype[Any]],
    meta: Mapping[str, Any],
) -> SampleLayout:
    """Check dtypes, ranks and lengths from shapes alone, so a header-only scan can use it too.

    A legacy single frame (map (C,H,W), features (F,), scalars) gains a T axis of 1 here.
    """
    _check_dtypes(path, dtypes)
    fixed = _with_time_axis(path, shapes)
    t, value_steps = _check_lengths(path, fixed)
    map_shape = _check_sidecar_shapes(path, fixed, meta)
    mask = fixed.get("action_mask")
    if mask is not None and not 1 <= mask[1] <= MAX_ACTION_SPACE:
        raise fail(
            path,
            f"array 'action_mask' has {mask[1]} columns; expected 1 to {MAX_ACTION_SPACE} "
            "(one per action id)",
        )
    return SampleLayout(
        t, map_shape, fixed["features"][1], value_steps, None if mask is None else mask[1]
    )


def _check_dtypes(path: Path, dtypes: Mapping[str, np.dtype[Any]]) -> None:
    for name, dtype in dtypes.items():
        if dtype.kind not in _ALLOWED_KINDS[name]:
            raise fail(
                path,
                f"array {name!r} has dtype {dtype}; expected "
                f"{np.dtype(CANONICAL_DTYPES[name]).name} numbers",
            )


def _with_time_axis(
    path: Path, shapes: Mapping[str, tuple[int, ...]]
) -> dict[str, tuple[int, ...]]:
    """Every shape with its T axis (added to a legacy single frame), checked for its rank."""
    fixed: dict[str, tuple[int, ...]] = {}
    for name, shape in shapes.items():
        rank = len(_SHAPE_HINTS[name])
        if (len(shape) == rank - 1 and name in ("map", "features")) or (not shape and rank == 1):
            shape = (1, *shape)
        if len(shape) != rank:
            raise fail(
                path,
                f"array {name!r} has shape {shape}, expected rank {rank} "
                f"({','.join(_SHAPE_HINTS[name])})",
            )
        if any(d < 0 for d in shape):  # only a corrupt npy header can declare one
            raise fail(path, f"array {name!r} has shape {shape}; expected no negative sizes")
        fixed[name] = shape
    return fixed


def _check_lengths(path: Path, fixed: Mapping[str, tuple[int, ...]]) -> tuple[int, int]:
    """T (from ``actions``), which every per-step array shares, and the value_preds length."""
    t = fixed["actions"][0]
    if t < 1:
        raise fail(path, "array 'actions' has 0 entries; expected at least one timestep")
    for name in ("map", "features", "old_log_probs", "rewards", "dones", "action_mask"):
        if name in fixed and fixed[name][0] != t:
            raise fail(
                path,
                f"array {name!r} has {fixed[name][0]} entries, expected {t} (T from 'actions')",
            )
    value_steps = fixed["value_preds"][0]
    if value_steps not in (t, t + 1):
        raise fail(
            path,
            f"array 'value_preds' has {value_steps} entries, expected {t} or "
            f"{t + 1} (T or T+1, T from 'actions')",
        )
    return t, value_steps


def _check_sidecar_shapes(
    path: Path, fixed: Mapping[str, tuple[int, ...]], meta: Mapping[str, Any]
) -> tuple[int, int, int]:
    """The feature count and map frame shape the sidecar declares; returns the map shape."""
    if fixed["features"][1] != len(meta["feature_names"]):
        raise fail(
            path,
            f"array 'features' has {fixed['features'][1]} columns, expected "
            f"{len(meta['feature_names'])} (one per sidecar feature_names entry)",
        )
    map_shape = (fixed["map"][1], fixed["map"][2], fixed["map"][3])
    declared = meta.get("map_shape")
    if (
        isinstance(declared, list)
        and all(isinstance(v, int) for v in declared)
        and tuple(declared) != map_shape
    ):
        raise fail(
            path,
            f"array 'map' has frames of shape {map_shape}, expected "
            f"{tuple(declared)} (the sidecar's map_shape)",
        )
    return map_shape


def check_feature_names(path: Path, names: Any, where: str) -> list[str]:
    """feature_names must be strings and include both conflict features (DESIGN §8.2)."""
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise fail(path, f"{where} field 'feature_names' must be a list of strings")
    missing = [name for name in CONFLICT_FEATURES if name not in names]
    if missing:
        raise fail(
            path,
            f"{where} field 'feature_names' lacks "
            f"{', '.join(repr(m) for m in missing)}; the conflict telemetry needs "
            "both rivalry_max and rivalry_avoid_count",
        )
    return list(names)


def action_space(path: Path, meta: Mapping[str, Any], mask_dim: int | None) -> tuple[int, str]:
    """How many action ids a sample may use, and where that bound comes from (for the error).

    An action mask's width, else the sidecar's ``action_names``, else ``MAX_ACTION_SPACE``. The
    sidecar's ``action_dim`` is not used: the older system wrote wrong values there.
    """
    if mask_dim is not None:
        return mask_dim, "the width of array 'action_mask'"
    names = meta.get("action_names")
    if names is None:
        return MAX_ACTION_SPACE, "the largest action space townlet trains"
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise fail(path, "sidecar field 'action_names' must be a non-empty list of strings")
    if len(names) > MAX_ACTION_SPACE:
        return MAX_ACTION_SPACE, "the largest action space townlet trains"
    return len(names), "the sidecar's action_names"


def check_action_ids(path: Path, actions: np.ndarray, space: tuple[int, str]) -> int:
    """Fail unless every id is a whole number in ``[0, space)``; returns the largest id."""
    if actions.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(actions) & (actions % 1 == 0)
        if not whole.all():
            raise fail(path, "array 'actions' holds non-integer values; expected action ids")
    # Compare as Python ints: uint64 and float ids may not fit int64.
    low, high = int(actions.min()), int(actions.max())
    if low < 0:
        raise fail(path, f"array 'actions' holds negative id {low}; expected ids >= 0")
    limit, source = space
    if high >= limit:
        raise fail(
            path,
            f"array 'actions' holds id {high}; expected ids below {limit} ({source})",
        )
    return high
