"""The scripted controller's capture of every bundled scenario matches the reference arrays
recorded by ``scripts/record_capture_reference.py`` from the code before the simulation was
restructured by rule: every observation, action, log-probability, value, reward, done flag and
mask of every sample, and every JSON sidecar but its timestamp."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "data" / "capture_reference"


def _recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "record_capture_reference", ROOT / "scripts" / "record_capture_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECORDER = _recorder()


def test_every_bundled_scenario_has_a_reference() -> None:
    assert sorted(p.stem for p in REFERENCE.glob("*.npz")) == RECORDER.SCENARIOS


@pytest.mark.parametrize("name", RECORDER.SCENARIOS)
def test_capture_matches_the_recorded_reference(name: str, tmp_path: Path) -> None:
    captured = RECORDER.capture_scenario(name, tmp_path / name)
    with np.load(REFERENCE / f"{name}.npz", allow_pickle=False) as reference:
        assert sorted(captured) == sorted(reference.files)
        for key in reference.files:
            expected, actual = reference[key], captured[key]
            assert actual.dtype == expected.dtype, f"{name}: {key} dtype"
            assert actual.shape == expected.shape, f"{name}: {key} shape"
            differ = np.flatnonzero(~_same(actual, expected))
            assert differ.size == 0, (
                f"{name}: {key} differs at {differ.size} places, first flat index {differ[0]}: "
                f"{actual.ravel()[differ[0]]!r} != {expected.ravel()[differ[0]]!r}"
            )


def _same(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Element-wise equality, with NaN equal to NaN and -0.0 told apart from 0.0."""
    if expected.dtype.kind != "f":
        return np.asarray(actual == expected).reshape(-1)
    equal = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    return (equal & (np.signbit(actual) == np.signbit(expected))).reshape(-1)
