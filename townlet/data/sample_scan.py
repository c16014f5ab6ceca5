"""A replay sample's layout from its npy headers alone (DESIGN §8.4). numpy only.

Streaming replay datasets plan their batches from this scan: it reads each array's shape and
dtype from the npz members' headers and only the small ``actions`` array in full, so the scan
costs little memory however large the samples are. Values (NaN, mask rules) are checked later,
when the sample is loaded for its batch.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from townlet.data.manifest import ManifestEntry
from townlet.data.sample import read_sidecar, require_arrays
from townlet.data.sample_layout import (
    ARRAY_NAMES,
    READ_ERRORS,
    SampleLayout,
    action_space,
    check_action_ids,
    check_layout,
    fail,
)


@dataclass(frozen=True)
class SampleInfo:
    """What the plan keeps per sample: where it is, its shape signature, its largest action."""

    entry: ManifestEntry
    layout: SampleLayout
    max_action_id: int


def scan_sample(entry: ManifestEntry) -> tuple[SampleInfo, dict[str, Any]]:
    """Check a sample's layout from its npy headers, without reading its big arrays.

    Values (NaN, mask rules) are checked when the sample is loaded for its batch.
    """
    path = entry.sample
    if not path.is_file():
        raise fail(path, "file not found")
    meta = read_sidecar(path, entry.meta)
    shapes: dict[str, tuple[int, ...]] = {}
    dtypes: dict[str, np.dtype[Any]] = {}
    try:
        archive = zipfile.ZipFile(path)
    except READ_ERRORS as exc:
        raise fail(path, f"is not a readable npz archive ({exc})") from exc
    with archive:
        members = {n[: -len(".npy")]: n for n in archive.namelist() if n.endswith(".npy")}
        require_arrays(path, members)
        for name in (*ARRAY_NAMES, "action_mask"):
            if name in members:
                shapes[name], dtypes[name] = _read_header(path, archive, name, members[name])
        layout = check_layout(path, shapes, dtypes, meta)
        try:
            with archive.open(members["actions"]) as handle:
                actions = np.lib.format.read_array(handle, allow_pickle=False)
        except READ_ERRORS as exc:
            raise fail(path, f"array 'actions' cannot be read ({exc})") from exc
    space = action_space(path, meta, layout.mask_dim)
    return SampleInfo(entry, layout, check_action_ids(path, actions, space)), meta


def _read_header(
    path: Path, archive: zipfile.ZipFile, name: str, member: str
) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype of array ``name`` from its npy header, without reading its data."""
    try:
        with archive.open(member) as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
            else:  # a rare format version: read the member in full rather than parse its header
                with archive.open(member) as again:
                    full = np.lib.format.read_array(again, allow_pickle=False)
                shape, dtype = full.shape, full.dtype
            dtype = np.dtype(dtype)
    except READ_ERRORS as exc:
        raise fail(path, f"array {name!r} cannot be read ({exc})") from exc
    if dtype.hasobject:
        raise fail(
            path,
            f"array {name!r} cannot be read (it holds pickled Python objects, "
            "which townlet refuses to load)",
        )
    return tuple(int(d) for d in shape), dtype
