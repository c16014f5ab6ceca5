"""Seeded random mutations of real replay samples, for the loader's robustness tests.

Each case starts from a real sample (the upstream samples and the ones shipped with the package)
and applies one or two mutations: byte flips in the npz archive or inside an npy header,
truncation, dtype and shape changes, extreme values, missing or extra members, and corrupted
sidecars. The loader must answer every case with a sample or townlet's own error.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from townlet.data import EMBEDDED_MANIFEST

# The older system's files, where tests/conftest.py finds them too.
UPSTREAM = Path(__file__).resolve().parents[4] / "shared" / "upstream-samples"
EXTREMES = (np.inf, -np.inf, np.nan, 1e39, -1e39, 10**9, -1, 2**63 - 1, -(2**63), 0.5, 1e300)
DTYPES = (
    "float16",
    "float64",
    "int8",
    "uint8",
    "int64",
    "uint64",
    "bool",
    "complex64",
    "<U3",
    "S2",
    "datetime64[s]",
    "object",
    ">f4",
    ">i8",
)


@dataclass(frozen=True)
class Seed:
    """A real sample read once: its members as arrays, its raw npz bytes and its sidecar text."""

    arrays: dict[str, np.ndarray]
    npz: bytes
    sidecar: str


def real_sample_paths() -> list[Path]:
    """The real samples to mutate: upstream ones where present, and the shipped ones."""
    shipped = sorted(EMBEDDED_MANIFEST.parent.glob("*.npz"))
    upstream = sorted(UPSTREAM.glob("*/*.npz")) if UPSTREAM.is_dir() else []
    return [*upstream, *shipped]


def load_seeds() -> list[Seed]:
    seeds = []
    for path in real_sample_paths():
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        text = path.with_suffix(".json").read_text(encoding="utf-8")
        seeds.append(Seed(arrays, path.read_bytes(), text))
    return seeds


def _npz_bytes(arrays: dict[str, Any], rng: np.random.Generator) -> bytes:
    """An npz built member by member, so an npy member can be corrupted before zipping."""
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if rng.random() < 0.5 else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, value in arrays.items():
            raw = value if isinstance(value, bytes) else _npy_bytes(np.asarray(value))
            archive.writestr(f"{name}.npy", raw)
    return buffer.getvalue()


def _npy_bytes(value: np.ndarray) -> bytes:
    handle = io.BytesIO()
    np.lib.format.write_array(handle, value, allow_pickle=True)
    return handle.getvalue()


def _flip(data: bytes, rng: np.random.Generator, start: int = 0, stop: int | None = None) -> bytes:
    """Flip 1-4 bytes in ``data[start:stop]`` (to random values, or one bit)."""
    out = bytearray(data)
    stop = len(out) if stop is None else min(stop, len(out))
    for _ in range(int(rng.integers(1, 5))):
        if stop <= start:
            break
        at = int(rng.integers(start, stop))
        out[at] = int(rng.integers(256)) if rng.random() < 0.5 else out[at] ^ (1 << rng.integers(8))
    return bytes(out)


def _pick(arrays: dict[str, Any], rng: np.random.Generator) -> str:
    names = sorted(arrays)
    return names[int(rng.integers(len(names)))]


def flip_zip(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    return _flip(seed.npz, rng), seed.sidecar.encode()


def flip_header(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    members: dict[str, Any] = dict(seed.arrays)
    name = _pick(members, rng)
    raw = _npy_bytes(members[name])
    header_end = 10 + int.from_bytes(raw[8:10], "little") if raw[6] == 1 else 128
    members[name] = _flip(raw, rng, 0, header_end)
    return _npz_bytes(members, rng), seed.sidecar.encode()


def truncate(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    if rng.random() < 0.5:
        return seed.npz[: int(rng.integers(len(seed.npz)))], seed.sidecar.encode()
    members: dict[str, Any] = dict(seed.arrays)
    name = _pick(members, rng)
    raw = _npy_bytes(members[name])
    members[name] = raw[: int(rng.integers(len(raw)))]
    return _npz_bytes(members, rng), seed.sidecar.encode()


def change_dtype(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    members: dict[str, Any] = dict(seed.arrays)
    name = _pick(members, rng)
    dtype = DTYPES[int(rng.integers(len(DTYPES)))]
    with np.errstate(all="ignore"):
        members[name] = members[name].astype(dtype)
    return _npz_bytes(members, rng), seed.sidecar.encode()


def change_shape(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    members: dict[str, Any] = dict(seed.arrays)
    name = _pick(members, rng)
    value = members[name]
    choice = int(rng.integers(5))
    if choice == 0:
        members[name] = value.reshape(-1)
    elif choice == 1:
        members[name] = value[None]
    elif choice == 2:
        members[name] = value[: int(rng.integers(max(value.shape[0], 1)))] if value.ndim else value
    elif choice == 3:
        members[name] = np.zeros((0,) * int(rng.integers(1, 4)), dtype=value.dtype)
    else:
        members[name] = np.asarray(value.reshape(-1)[:1].reshape(()) if value.size else 0)
    return _npz_bytes(members, rng), seed.sidecar.encode()


def extreme_values(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    members: dict[str, Any] = dict(seed.arrays)
    name = _pick(members, rng)
    extreme = EXTREMES[int(rng.integers(len(EXTREMES)))]
    dtype = "float64" if isinstance(extreme, float) or rng.random() < 0.3 else members[name].dtype
    value = np.array(members[name], dtype=dtype if np.dtype(dtype).kind != "b" else "int64")
    flat = value.reshape(-1)
    if flat.size:
        every = rng.random() < 0.5
        with np.errstate(all="ignore"):
            flat[:] = extreme if every else flat
            flat[int(rng.integers(flat.size))] = extreme
    members[name] = value
    return _npz_bytes(members, rng), seed.sidecar.encode()


def change_keys(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    members: dict[str, Any] = dict(seed.arrays)
    choice = int(rng.integers(3))
    if choice == 0:
        del members[_pick(members, rng)]
    elif choice == 1:
        members["extra"] = np.arange(3)
    else:
        mask_width = int(rng.integers(0, 20))
        members["action_mask"] = rng.random((len(members["actions"]), mask_width)) < 0.9
    return _npz_bytes(members, rng), seed.sidecar.encode()


HEADER_EDITS = (
    (
        "descr",
        ("'|O'", "'<U0'", "'V8'", "'<M8[s]'", "'<c8'", "'>f8'", "'x'", "3", "[('a', '<f4')]"),
    ),
    ("shape", ("(-1,)", "(2**40,)", "(0,)", "()", "(2, -3)", "(10**6, 10**6)", "'a'", "(1.5,)")),
    ("fortran_order", ("True", "1", "'no'", "None")),
)


def edit_header(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    """Rewrite one field of an npy header dict (valid syntax, odd value); data left as it was."""
    members: dict[str, Any] = dict(seed.arrays)
    name = _pick(members, rng)
    value = np.asarray(members[name])
    key, options = HEADER_EDITS[int(rng.integers(len(HEADER_EDITS)))]
    fields = {
        "descr": repr(np.lib.format.dtype_to_descr(value.dtype)),
        "fortran_order": "False",
        "shape": repr(value.shape),
    }
    fields[key] = options[int(rng.integers(len(options)))]
    text = "{" + ", ".join(f"'{k}': {v}" for k, v in fields.items()) + "}"
    version = int(rng.integers(1, 4))
    encoded = text.encode("utf-8" if version == 3 else "latin1")
    size_format = "<H" if version == 1 else "<I"
    pad = -(len(encoded) + 7 + struct.calcsize(size_format)) % 64
    header = encoded + b" " * pad + b"\n"
    magic = b"\x93NUMPY" + bytes([version, 0]) + struct.pack(size_format, len(header))
    members[name] = magic + header + value.tobytes()
    return _npz_bytes(members, rng), seed.sidecar.encode()


def corrupt_sidecar(seed: Seed, rng: np.random.Generator) -> tuple[bytes, bytes]:
    choice = int(rng.integers(6))
    if choice == 0:
        return seed.npz, _flip(seed.sidecar.encode(), rng)
    if choice == 1:
        return seed.npz, seed.sidecar.encode()[: int(rng.integers(len(seed.sidecar)))]
    if choice == 2:
        return seed.npz, b"[" * int(rng.integers(1, 100_000))
    meta = json.loads(seed.sidecar)
    odd: list[Any] = [None, 3, -1, 1e308, "x", [], {}, [1, "a"], {"a": [1]}, True, 10**30]
    keys = [*sorted(meta), "action_dim", "action_names", "metrics", "map_shape", "action_lookup"]
    key = keys[int(rng.integers(len(keys)))]
    meta[key] = odd[int(rng.integers(len(odd)))]
    return seed.npz, (json.dumps(meta) if choice < 5 else json.dumps([meta])).encode()


MUTATIONS: tuple[Callable[[Seed, np.random.Generator], tuple[bytes, bytes]], ...] = (
    flip_zip,
    flip_header,
    truncate,
    change_dtype,
    change_shape,
    extreme_values,
    change_keys,
    edit_header,
    corrupt_sidecar,
)


def write_case(seeds: list[Seed], case: int, folder: Path) -> Path:
    """Write mutated case ``case`` (deterministic in its number) into ``folder``."""
    rng = np.random.default_rng([20260, case])
    seed = seeds[int(rng.integers(len(seeds)))]
    mutation = MUTATIONS[case % len(MUTATIONS)]
    npz, sidecar = mutation(seed, rng)
    path = folder / f"case_{case}.npz"
    path.write_bytes(npz)
    path.with_suffix(".json").write_bytes(sidecar)
    return path
