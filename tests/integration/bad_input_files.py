"""Bad input files for the bad-input catalogue: each builder writes one into a folder."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tests.helpers import REPO_ROOT

EMBEDDED = REPO_ROOT / "townlet" / "data" / "embedded"
SAMPLE = EMBEDDED / "embedded_avery_000"


@dataclass(frozen=True)
class Assets:
    """Inputs shared by the cases, built once per module."""

    h32_checkpoint: Path  # last.ckpt of a one-epoch replay run with policy.hidden_dim=32


# A case writes its bad input into the working folder and returns the CLI's arguments.
Build = Callable[[Path, Assets], list[str]]


def sample(folder: Path, changes: dict[str, np.ndarray | None], name: str = "bad") -> Path:
    """The embedded sample with ``changes`` (None drops a key), beside a copy of its sidecar."""
    with np.load(SAMPLE.with_suffix(".npz")) as original:
        arrays = {key: original[key] for key in original.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    path = folder / f"{name}.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    shutil.copy(SAMPLE.with_suffix(".json"), path.with_suffix(".json"))
    return path


def good_sample(folder: Path) -> Path:
    return sample(folder, {})


def sidecar(text: str) -> Build:
    """data validate of a good sample whose JSON sidecar reads ``text``."""

    def build(folder: Path, _: Assets) -> list[str]:
        npz = good_sample(folder)
        npz.with_suffix(".json").write_text(text)
        return [str(npz)]

    return build


def actions(value: object, dtype: type = np.int64) -> dict[str, np.ndarray | None]:
    return {"actions": np.full(32, value, dtype=dtype)}


def corrupt_npy_header(folder: Path) -> Path:
    """A sample whose ``actions.npy`` member has a header numpy cannot parse."""
    path = good_sample(folder)
    blob = path.read_bytes()
    start = blob.index(b"{'descr'", blob.index(b"actions.npy"))
    path.write_bytes(blob[:start] + b"{'descr': <garbage>" + blob[start + 19 :])
    return path


def truncated(path: Path, keep: int) -> Path:
    path.write_bytes(path.read_bytes()[:keep])
    return path


def manifest(folder: Path, text: str, name: str = "manifest.json") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def entry(npz: Path) -> str:
    return json.dumps([{"sample": npz.name, "meta": npz.with_suffix(".json").name}])


def pickle_payload(folder: Path) -> Path:
    """What torch.save writes for an object whose unpickling would run a command."""

    class RunsCode:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (f"touch {folder / 'executed'}",))

    buffer = io.BytesIO()
    torch.save({"state_dict": RunsCode()}, buffer)
    path = folder / "payload.ckpt"
    path.write_bytes(buffer.getvalue())
    return path


def random_bytes(folder: Path) -> Path:
    path = folder / "random.ckpt"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return path


def cut_checkpoint(folder: Path, assets: Assets) -> Path:
    path = folder / "cut.ckpt"
    path.write_bytes(assets.h32_checkpoint.read_bytes()[:50_000])
    return path


def scenario_dir(folder: Path, text: str) -> str:
    """A ``scenario=broken`` option in a searchpath folder; returns the searchpath override."""
    conf = folder / "conf"
    (conf / "scenario").mkdir(parents=True)
    (conf / "scenario" / "broken.yaml").write_text(text)
    return f"hydra.searchpath=[file://{conf}]"


def scenario_with(change: str, old: str, new: str) -> Callable[[Path, Assets], list[str]]:
    """capture with a copy of scenario ``change`` where ``old`` is replaced by ``new``."""

    def build(folder: Path, _: Assets) -> list[str]:
        text = (REPO_ROOT / "conf" / "scenario" / f"{change}.yaml").read_text()
        assert old in text
        return [scenario_dir(folder, text.replace(old, new)), "scenario=broken"]

    return build


def log(folder: Path, text: str | bytes) -> Path:
    path = folder / "telemetry.ndjson.bad"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def record_line(**changes: object) -> str:
    """One complete PPO epoch record, as townlet writes it, with ``changes``; an NDJSON line."""
    from townlet.telemetry.schema import ALWAYS_WRITTEN_KEYS, REQUIRED_KEYS, TelemetryRecord

    values: dict[str, object] = {key: 0.5 for key in REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS}
    values.update(telemetry_version=1.1, data_mode="replay", epoch=1, log_stream_offset=1)
    values.update(steps=256, agent_steps=256)
    record = TelemetryRecord(**values).to_json_dict()  # type: ignore[arg-type]
    record.update(changes)
    return json.dumps(record) + "\n"


def huge_epoch_line() -> str:
    """A complete record whose epoch has 5,000 digits (past Python's int-to-str limit)."""
    line = record_line(epoch=7)
    assert line.count('"epoch": 7') == 1
    return line.replace('"epoch": 7', '"epoch": 1' + "0" * 5000)


def state(folder: Path, text: str) -> Path:
    path = folder / "promotion_state.json"
    path.write_text(text)
    return path
