"""Fixtures for integration tests: in-process training into pytest's tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import compose_train


@pytest.fixture
def run_training(tmp_path: Path) -> Callable[..., Path]:
    """Train in-process with quiet defaults; returns the run folder."""
    from townlet.train import train

    counter = iter(range(1000))

    def _run(*overrides: str, run_dir: Path | None = None) -> Path:
        folder = run_dir or tmp_path / f"run{next(counter)}"
        folder.mkdir(parents=True, exist_ok=True)
        quiet = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
        train(compose_train(folder, [*quiet, *overrides]))
        return folder

    return _run
