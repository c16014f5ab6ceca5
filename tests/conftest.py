"""Shared fixtures: the older system's files, read in place from ../shared/upstream-samples."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# TOWNLET_UPSTREAM_SAMPLES points elsewhere (the skip-summary test points it at nothing).
UPSTREAM_SAMPLES = Path(
    os.environ.get(
        "TOWNLET_UPSTREAM_SAMPLES",
        Path(__file__).resolve().parents[1].parent / "shared" / "upstream-samples",
    )
)
UPSTREAM_SKIP = "upstream samples not found"
# Skips a clone can meet, summed up in one line each at the end of the run (skip reason -> why).
SKIP_SUMMARIES = {
    UPSTREAM_SKIP: "{count} compatibility tests skipped: the older system's samples are not at "
    f"{UPSTREAM_SAMPLES}",
    "needs the [sweep] extra": "{count} sweep tests skipped: the [sweep] extra is not installed "
    "(pip install -e '.[sweep]')",
}


@pytest.fixture(scope="session")
def upstream_samples() -> Path:
    """The folder of upstream files; skips the test when the folder is absent."""
    if not UPSTREAM_SAMPLES.is_dir():
        pytest.skip(
            f"{UPSTREAM_SKIP} at {UPSTREAM_SAMPLES} "
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per kind of skip a fresh clone meets, so a skip is never silent."""
    reasons = [_skip_reason(report) for report in terminalreporter.stats.get("skipped", [])]
    for marker, line in SKIP_SUMMARIES.items():
        count = sum(marker in reason for reason in reasons)
        if count:
            terminalreporter.write_line(line.format(count=count))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
