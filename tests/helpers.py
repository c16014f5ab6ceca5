"""Helpers for tests that compose the real conf/ and run training in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from townlet.compose import compose_train_config

REPO_ROOT = Path(__file__).resolve().parents[1]


def compose_train(run_dir: Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The composed train config with the run folder in ``run_dir``."""
    return compose_train_config(run_dir, overrides)


def run_cli(
    args: Sequence[str], cwd: Path, module: str = "townlet.train", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m <module> args`` with the repo on the path."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_tensorboard(run: Path) -> tuple[set[str], EventAccumulator]:
    """The scalar tags and the loaded event accumulator of a run's tensorboard/ folder."""
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    return set(events.Tags()["scalars"]), events


def assert_validators_accept(log: Path, records: int, cwd: Path) -> None:
    """townlet's validator and the old name's wrapper both accept ``log`` as it is."""
    wrapper = REPO_ROOT / "scripts" / "validate_ppo_telemetry.py"
    for command in (["-m", "townlet.telemetry", "validate"], [str(wrapper)]):
        proc = subprocess.run(
            [sys.executable, *command, str(log)],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"{log}: {records} record(s) validated."
