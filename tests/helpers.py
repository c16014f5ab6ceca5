"""Helpers for tests that compose the real conf/ and run training in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from townlet.train import CONF_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]


def compose_train(run_dir: Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The composed train config with the run folder in ``run_dir``, as Hydra would set it up."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            config_name="train",
            return_hydra_config=True,
            overrides=[f"hydra.run.dir={run_dir}", "hydra.job.num=0", *overrides],
        )
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


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
