"""Shared fixtures: the older system's files, read in place from ../shared/upstream-samples."""

from __future__ import annotations

from pathlib import Path

import pytest

UPSTREAM_SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "upstream-samples"


@pytest.fixture(scope="session")
def upstream_samples() -> Path:
    """The folder of upstream files; skips the test when the folder is absent."""
    if not UPSTREAM_SAMPLES.is_dir():
        pytest.skip(
            f"upstream samples not found at {UPSTREAM_SAMPLES} "
            "(the older system's files belong in ../shared/upstream-samples)"
        )
    return UPSTREAM_SAMPLES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` are skipped on machines without CUDA."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
