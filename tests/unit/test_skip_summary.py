"""Without the older system's samples, the test run says how many tests skipped, and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT


def test_missing_upstream_samples_are_summed_up_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-samples-here"
    env = {**os.environ, "TOWNLET_UPSTREAM_SAMPLES": str(missing)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            "tests/unit/data/test_replay_cli.py",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    lines = done.stdout.splitlines()
    expected = f"2 compatibility tests skipped: the older system's samples are not at {missing}"
    assert expected in lines, done.stdout[-2000:]
    assert lines.count(expected) == 1
