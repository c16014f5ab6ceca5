"""Mutated real samples: the loader, the header scan and the streaming path never crash.

Each case (see ``sample_fuzz``) must load as a sample or fail with townlet's own one-line error;
any other exception is a crash. The default run is small enough for every test run; the slow
run covers 10,000 cases.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sample_fuzz

from townlet.data import ReplayBatches
from townlet.data.manifest import ManifestEntry
from townlet.data.sample import load_sample
from townlet.data.sample_scan import scan_sample
from townlet.errors import TownletError


def _stream(path: Path) -> Any:
    """The streaming path: plan from the header scan, then build the one batch."""
    batches = ReplayBatches([ManifestEntry(path)], streaming=True)
    return next(iter(batches.batches(0)))


READERS: dict[str, Callable[[Path], Any]] = {
    "load_sample": load_sample,
    "scan_sample": lambda path: scan_sample(ManifestEntry(path)),
    "streaming": _stream,
}


def _fuzz(cases: range, folder: Path) -> tuple[dict[str, int], list[str]]:
    """Run every reader on every case; returns accepted counts and one line per crash."""
    seeds = sample_fuzz.load_seeds()
    accepted = dict.fromkeys(READERS, 0)
    crashes: list[str] = []
    for case in cases:
        path = sample_fuzz.write_case(seeds, case, folder)
        for name, reader in READERS.items():
            try:
                reader(path)
            except TownletError as exc:
                assert "\n" not in str(exc) and str(path) in str(exc), (case, name, str(exc))
            except Exception as exc:  # noqa: BLE001 - any other exception is what we count
                crashes.append(f"case {case} {name}: {exc!r}")
            else:
                accepted[name] += 1
        path.unlink()
    return accepted, crashes


def test_seeds_are_real_samples_that_load() -> None:
    paths = sample_fuzz.real_sample_paths()
    assert len(paths) >= 8  # the shipped samples at least
    for path in paths:
        assert load_sample(path).timesteps >= 1


def test_mutated_samples_never_crash(tmp_path: Path) -> None:
    started = time.perf_counter()
    accepted, crashes = _fuzz(range(600), tmp_path)
    assert crashes == []
    # Some mutations (a flipped padding byte, a widened dtype) leave a usable sample, and the
    # readers must agree on which.
    assert 0 < accepted["load_sample"] < 600
    assert accepted["streaming"] == accepted["load_sample"]
    assert time.perf_counter() - started < 30


@pytest.mark.slow
def test_ten_thousand_mutated_samples_never_crash(tmp_path: Path) -> None:
    accepted, crashes = _fuzz(range(10_000, 20_000), tmp_path)
    assert crashes == [], f"{len(crashes)} crashes, first: {crashes[:5]}"
    assert accepted["streaming"] == accepted["load_sample"]
