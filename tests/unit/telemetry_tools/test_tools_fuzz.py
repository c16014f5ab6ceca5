"""Corrupted logs never crash validate, watch or summary (see telemetry_fuzz for the mutations).

Each case runs all three tools on a mutated log and a mutated next file. The default run covers
1,000 cases of each tool with lines up to 256 KiB; the slow run 10,000 cases with lines up to 4 MiB.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from telemetry_fuzz import run_case, seed_logs


def _fuzz(folder: Path, first_seed: int, cases: int, huge_line_limit: int) -> None:
    logs = seed_logs()
    crashes: list[str] = []
    for seed in range(first_seed, first_seed + cases):
        crashes += run_case(seed, folder, logs, huge_line_limit)
    assert not crashes, f"{len(crashes)} crash(es) in {cases} cases:\n" + "\n".join(crashes[:10])


def test_corrupted_logs_never_crash_a_tool(tmp_path: Path) -> None:
    _fuzz(tmp_path, first_seed=0, cases=1000, huge_line_limit=1 << 18)


@pytest.mark.slow
def test_corrupted_logs_never_crash_a_tool_at_length(tmp_path: Path) -> None:
    _fuzz(tmp_path, first_seed=1_000_000, cases=10_000, huge_line_limit=1 << 22)
