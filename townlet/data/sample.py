"""Replay sample files (DESIGN §8.1-§8.2): load them behind guards, and write them atomically.

A sample is an ``.npz`` of seven arrays plus a sidecar ``.json`` with the same stem. Every way a
file can be unusable ends in one ``DataError`` line that names the file and, where it applies,
the array or field and what was expected, so an operator can fix the file without a traceback.
numpy only: this module must import with torch blocked (DESIGN §2).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from townlet.atomic import atomic_write
from townlet.data.metrics import numeric_metrics
from townlet.data.sample_layout import (
    ARRAY_NAMES,
    CANONICAL_DTYPES,
    FLOAT_ARRAYS,
    READ_ERRORS,
    TRAINING_ARRAYS,
    SampleLayout,
    action_space,
    check_action_ids,
    check_feature_names,
    check_layout,
    fail,
)


def read_sidecar(npz_path: Path, meta_path: Path | None = None) -> dict[str, Any]:
    """Read the sidecar JSON (same stem as the npz unless given) and check its feature names."""
    sidecar = meta_path if meta_path is not None else npz_path.with_suffix(".json")
    try:
        text = sidecar.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise fail(
            npz_path, f"sidecar {sidecar} not found; expected the sample's JSON metadata beside it"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(npz_path, f"sidecar {sidecar} cannot be read ({exc})") from exc
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(
            npz_path,
            f"sidecar {sidecar} is not valid JSON (line {exc.lineno}, column "
            f"{exc.colno}: {exc.msg})",
        ) from exc
    except RecursionError as exc:  # json recurses once per nesting level
        raise fail(npz_path, f"sidecar {sidecar} nests JSON too deeply to read") from exc
    if not isinstance(meta, dict):
        raise fail(
            npz_path, f"sidecar {sidecar} holds a JSON {type(meta).__name__}; expected an object"
        )
    check_feature_names(npz_path, meta.get("feature_names"), f"sidecar {sidecar}")
    return meta


@dataclass(frozen=True, eq=False)
class ReplaySample:
    """One validated sample: canonical arrays with a T axis, its sidecar and its metrics."""

    path: Path
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    metrics: dict[str, float]

    @property
    def layout(self) -> SampleLayout:
        return SampleLayout.of(self.arrays)

    @property
    def timesteps(self) -> int:
        return int(self.arrays["actions"].shape[0])

    @property
    def feature_names(self) -> list[str]:
        return list(self.meta["feature_names"])

    @property
    def max_action_id(self) -> int:
        return int(self.arrays["actions"].max())


def load_sample(
    npz_path: str | os.PathLike[str], meta_path: str | os.PathLike[str] | None = None
) -> ReplaySample:
    """Read one sample and its sidecar; raises a one-line ``DataError`` for every §8.2 guard."""
    path = Path(npz_path)
    raw = _read_npz(path)
    meta = read_sidecar(path, Path(meta_path) if meta_path is not None else None)
    arrays = normalise_arrays(path, raw, meta)
    return ReplaySample(path, arrays, meta, numeric_metrics(meta.get("metrics")))


def require_arrays(path: Path, present: Iterable[str]) -> None:
    """Fail unless all seven arrays are present."""
    have = set(present)
    missing = [name for name in ARRAY_NAMES if name not in have]
    if missing:
        raise fail(
            path,
            f"missing array(s) {', '.join(repr(m) for m in missing)}; "
            f"a sample needs all of {', '.join(ARRAY_NAMES)}",
        )


def normalise_arrays(
    path: Path, raw: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Check shapes and values, add the legacy T axis and cast to the canonical dtypes."""
    require_arrays(path, raw)
    names = [*ARRAY_NAMES, *(["action_mask"] if "action_mask" in raw else [])]
    given = {name: np.asarray(raw[name]) for name in names}
    layout = check_layout(
        path, {n: a.shape for n, a in given.items()}, {n: a.dtype for n, a in given.items()}, meta
    )
    arrays = {name: value.reshape(layout.shape_of(name)) for name, value in given.items()}
    _check_values(path, arrays, action_space(path, meta, layout.mask_dim))
    canonical: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
            canonical[name] = np.ascontiguousarray(value.astype(CANONICAL_DTYPES[name], copy=False))
        if name in FLOAT_ARRAYS:
            _check_finite(path, name, value, canonical[name])
    return canonical


def _check_finite(path: Path, name: str, given: np.ndarray, cast: np.ndarray) -> None:
    """Values must be finite as given and still finite in the dtype training uses (float32)."""
    finite = np.isfinite(given)
    if not finite.all():
        raise fail(
            path,
            f"array {name!r} holds {int(finite.size - finite.sum())} "
            "non-finite value(s) (NaN or inf); expected finite numbers",
        )
    overflow = ~np.isfinite(cast)
    if overflow.any():
        largest = float(np.abs(given[overflow].astype(np.float64)).max())
        raise fail(
            path,
            f"array {name!r} holds {int(overflow.sum())} value(s) beyond the float32 range "
            f"(largest magnitude {largest:.3g}); expected numbers that stay finite in float32",
        )


def _check_values(path: Path, arrays: Mapping[str, np.ndarray], space: tuple[int, str]) -> None:
    """Value rules that shapes cannot express: action ids in range, 0/1 flags, masks."""
    actions = arrays["actions"]
    check_action_ids(path, actions, space)
    for name in ("dones", "action_mask"):
        flags = arrays.get(name)
        if flags is not None and flags.dtype.kind != "b" and not np.isin(flags, (0, 1)).all():
            raise fail(path, f"array {name!r} holds values other than 0 and 1; expected booleans")
    mask = arrays.get("action_mask")
    if mask is None:
        return
    allowed = mask.astype(bool)[np.arange(actions.shape[0]), actions.astype(np.int64)]
    if not allowed.all():
        step = int(np.flatnonzero(~allowed)[0])
        raise fail(
            path,
            f"array 'action_mask' forbids the recorded action {int(actions[step])} "
            f"at step {step}; expected every recorded action to be allowed",
        )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read the arrays of an npz with pickles refused; every failure is one DataError line."""
    if not path.exists():
        raise fail(path, "file not found")
    if not path.is_file():
        raise fail(path, "is not a file; expected an .npz archive")
    try:
        with path.open("rb") as handle:
            signature = handle.read(4)
        if signature not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise fail(path, "is not an npz archive (no zip signature); expected np.savez output")
        archive = np.load(path, allow_pickle=False)
    except READ_ERRORS as exc:
        raise fail(path, f"is not a readable npz archive ({exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise fail(path, "is not an npz archive; expected np.savez output")
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for name in (*ARRAY_NAMES, "action_mask"):
            if name not in archive.files:
                continue
            try:
                value = archive[name]
            except READ_ERRORS as exc:
                reason = str(exc)
                if "allow_pickle" in reason:
                    reason = "it holds pickled Python objects, which townlet refuses to load"
                raise fail(path, f"array {name!r} cannot be read ({reason})") from exc
            if not isinstance(value, np.ndarray):
                raise fail(path, f"member {name!r} is not an .npy array; expected np.savez output")
            arrays[name] = value
    return arrays


def save_sample(
    npz_path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> ReplaySample:
    """Validate, then write ``npz_path`` and its ``.json`` sidecar, each atomically.

    The sidecar gains ``training_arrays``, ``timesteps``, ``value_pred_steps``, ``map_shape`` and
    ``action_mask`` (presence), so readers of either system find the layout without opening the
    npz. Nothing is written unless the sample would pass ``load_sample``'s guards.
    """
    path = Path(npz_path)
    if path.suffix != ".npz":
        raise fail(path, "cannot be saved: the file name must end in .npz")
    full_meta: dict[str, Any] = dict(meta)
    full_meta["feature_names"] = check_feature_names(path, meta.get("feature_names"), "meta")
    canonical = normalise_arrays(path, {k: np.asarray(v) for k, v in arrays.items()}, full_meta)
    layout = SampleLayout.of(canonical)
    full_meta.update(
        training_arrays=list(TRAINING_ARRAYS),
        timesteps=layout.timesteps,
        value_pred_steps=layout.value_steps,
        map_shape=list(layout.map_shape),
        action_mask="action_mask" in canonical,
    )
    try:
        sidecar = json.dumps(full_meta, indent=2, default=_json_default) + "\n"
    except (TypeError, ValueError) as exc:
        raise fail(path, f"cannot be saved: meta is not JSON-serialisable ({exc})") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    members: dict[str, Any] = canonical  # typed loosely: numpy's stub mistakes them for flags
    atomic_write(path, lambda handle: np.savez_compressed(handle, **members))
    atomic_write(path.with_suffix(".json"), lambda handle: handle.write(sidecar.encode()))
    return ReplaySample(path, canonical, full_meta, numeric_metrics(full_meta.get("metrics")))


def _json_default(value: Any) -> Any:
    """Let sidecars carry numpy scalars and arrays, as capture code naturally produces them."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
