"""Replay manifests and capture folders (DESIGN §8.3): which samples make up a dataset.

A manifest (``.json``, or YAML read with ``yaml.safe_load``) is a list, or an object with a
``samples`` list. An entry is a path string or ``{sample, meta?, agent_id?, frame_count?}``;
relative paths resolve against the manifest's folder, so a dataset can be moved as a whole. A
capture folder holds ``rollout_sample_manifest.json`` and, optionally,
``rollout_sample_metrics.json``, whose per-sample metrics are attached to the entries here.
numpy-free and torch-free.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from townlet.data.metrics import numeric_metrics
from townlet.errors import DataError

CAPTURE_MANIFEST = "rollout_sample_manifest.json"
CAPTURE_METRICS = "rollout_sample_metrics.json"
REPLAY_MANIFEST = "replay_manifest.json"
_FOLDER_MANIFESTS: tuple[str, ...] = (CAPTURE_MANIFEST, REPLAY_MANIFEST)


@dataclass(frozen=True)
class ManifestEntry:
    """One sample of a dataset, with its paths already resolved.

    ``metrics`` holds the capture metrics file's numbers for this sample, or ``None`` when no
    metrics file lists it (the sidecar's ``metrics`` are used then).
    """

    sample: Path
    meta: Path | None = None
    agent_id: str | None = None
    frame_count: int | None = None
    metrics: dict[str, float] | None = None
    index: int = 0

    @property
    def sidecar(self) -> Path:
        """The sidecar this entry's sample is read with."""
        return self.meta if self.meta is not None else self.sample.with_suffix(".json")


def _fail(path: Path, problem: str) -> DataError:
    message = f"replay manifest {path}: {problem}"
    return DataError(message.replace("\r", " ").replace("\n", " "))


def resolve_manifest(path: str | os.PathLike[str]) -> Path:
    """The manifest file for ``path``: the file itself, or the manifest inside a folder."""
    target = Path(path)
    if target.is_dir():
        for name in _FOLDER_MANIFESTS:
            if (target / name).is_file():
                return target / name
        raise _fail(target, f"folder holds neither {CAPTURE_MANIFEST} nor {REPLAY_MANIFEST}")
    if not target.exists():
        raise _fail(target, "file not found")
    return target


def load_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Read a manifest file or a capture folder into resolved, existing entries.

    Raises ``DataError`` (one line naming the manifest, and the entry index where it applies)
    when the manifest is missing, unparseable, empty or malformed, or names a missing file.
    """
    manifest = resolve_manifest(path)
    data = _parse(manifest)
    items = data.get("samples") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise _fail(manifest, "expected a list of samples, or an object with a 'samples' list")
    if not items:
        raise _fail(manifest, "lists no samples; a dataset needs at least one")
    metrics = _load_metrics(manifest.parent / CAPTURE_METRICS)
    entries = [_entry(manifest, index, item) for index, item in enumerate(items)]
    if metrics is not None:
        entries = [
            ManifestEntry(
                e.sample, e.meta, e.agent_id, e.frame_count, metrics.get(e.sample.name), e.index
            )
            for e in entries
        ]
    return entries


def _parse(manifest: Path) -> Any:
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(manifest, f"cannot be read ({exc})") from exc
    if manifest.suffix.lower() in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise _fail(manifest, f"is not valid YAML{where}") from exc
        except RecursionError as exc:  # the YAML composer recurses once per nesting level
            raise _fail(manifest, "nests YAML too deeply to read") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            manifest, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    except RecursionError as exc:  # json recurses once per nesting level
        raise _fail(manifest, "nests JSON too deeply to read") from exc


def _entry(manifest: Path, index: int, item: Any) -> ManifestEntry:
    """Turn one manifest item into an entry whose files are known to exist."""
    where = f"entry {index}"
    if isinstance(item, str):
        item = {"sample": item}
    if not isinstance(item, dict) or not isinstance(item.get("sample"), str):
        raise _fail(
            manifest,
            f"{where} must be a path string or an object with a 'sample' "
            f"path, got {_describe(item)}",
        )
    meta_value = item.get("meta")
    if meta_value is not None and not isinstance(meta_value, str):
        raise _fail(
            manifest, f"{where} field 'meta' must be a path string, got {_describe(meta_value)}"
        )
    agent_id = item.get("agent_id")
    if agent_id is not None and not isinstance(agent_id, str | int):
        raise _fail(
            manifest, f"{where} field 'agent_id' must be a string, got {_describe(agent_id)}"
        )
    frame_count = item.get("frame_count")
    if frame_count is not None and (
        isinstance(frame_count, bool) or not isinstance(frame_count, int)
    ):
        raise _fail(
            manifest,
            f"{where} field 'frame_count' must be an integer, got {_describe(frame_count)}",
        )
    sample = _resolve(manifest, item["sample"])
    if not sample.is_file():
        raise _fail(manifest, f"{where} sample {sample} does not exist")
    meta = _resolve(manifest, meta_value) if meta_value is not None else None
    if meta is not None and not meta.is_file():
        raise _fail(manifest, f"{where} meta {meta} does not exist")
    return ManifestEntry(
        sample=sample,
        meta=meta,
        agent_id=None if agent_id is None else str(agent_id),
        frame_count=frame_count,
        index=index,
    )


def _resolve(manifest: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else manifest.parent / candidate


def _load_metrics(path: Path) -> dict[str, dict[str, float]] | None:
    """Read a capture metrics file: ``{npz: metrics}`` or ``{"metadata", "samples": {...}}``.

    Keys are matched by file name, so either shape may name samples with or without folders.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(
            f"replay metrics {path}: is not readable JSON ({' '.join(str(exc).split())})"
        ) from exc
    if isinstance(data, dict) and isinstance(data.get("samples"), dict):
        data = data["samples"]
    if not isinstance(data, dict):
        raise DataError(
            f"replay metrics {path}: expected an object mapping sample files to metrics"
        )
    out: dict[str, dict[str, float]] = {}
    for key, value in data.items():
        if not isinstance(value, Mapping):
            raise DataError(
                f"replay metrics {path}: metrics of {key!r} must be an object, got "
                f"{_describe(value)}"
            )
        out[Path(str(key)).name] = numeric_metrics(value)
    return out


def _describe(value: Any) -> str:
    kind = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    text = kind.get(type(value), f"{type(value).__name__} {value!r}")
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = [
    "CAPTURE_MANIFEST",
    "CAPTURE_METRICS",
    "REPLAY_MANIFEST",
    "ManifestEntry",
    "load_manifest",
    "resolve_manifest",
]
