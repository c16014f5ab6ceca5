"""``python -m townlet.capture``: record a scenario's rollouts as replay samples (DESIGN §11).

    python -m townlet.capture scenario=<name> [capture.ticks=N] \\
        [capture.policy=scripted|ckpt:PATH] [capture.num_towns=N] [capture.seed=N]

Writes ``rollout_sample_<agent>_<nnn>.npz/.json``, ``rollout_sample_metrics.json`` and
``rollout_sample_manifest.json`` into the Hydra run folder (``hydra.run.dir``), ready for
``data=replay data.manifest=<run folder>``. What is recorded, and how, is described in
:mod:`townlet.data.capture_writer`. Bad input is one ``config error:`` line and exit code 2.
torch is imported only for ``ckpt:`` policies.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import hydra
from omegaconf import DictConfig

from townlet.cli import report_errors, run_hydra_app
from townlet.compose import CONF_DIR, plain_app_config
from townlet.data.capture_writer import (
    ActionSource,
    CaptureConfig,
    ScriptedSource,
    record_capture,
    validate_capture_config,
    write_capture,
)
from townlet.sim import Scenario, TownVecEnv

log = logging.getLogger("townlet.capture")


def build_source(config: CaptureConfig, env: TownVecEnv, scenario: str, seed: int) -> ActionSource:
    """The scripted controller, or the checkpoint's policy (the only path that needs torch)."""
    if config.checkpoint is None:
        return ScriptedSource()
    from townlet.policy.checkpoint import CheckpointPolicy

    return CheckpointPolicy(config.checkpoint, env, scenario, seed)


def capture(cfg: DictConfig) -> list[Path]:
    """Validate, run the towns, write the capture; returns the sample paths."""
    raw, name, scenario = plain_app_config(cfg)
    config = validate_capture_config(raw)
    folder = Path(raw["paths"]["output_dir"])
    return capture_to(
        folder,
        scenario,
        name,
        ticks=config.ticks,
        num_towns=config.num_towns,
        seed=config.seed,
        config=config,
    )


def capture_to(
    folder: Path,
    scenario: Scenario,
    name: str,
    *,
    ticks: int | None = None,
    num_towns: int = 1,
    seed: int | None = None,
    config: CaptureConfig | None = None,
) -> list[Path]:
    """Run ``scenario``'s towns and write a capture into ``folder``; scripted unless ``config``
    names a checkpoint policy. Also used by ``strategy=bc`` to record its expert data."""
    seed = scenario.seed if seed is None else seed
    ticks = scenario.ticks if ticks is None else ticks
    env = TownVecEnv(scenario, num_towns=num_towns, seed=seed)
    source = build_source(config, env, name, seed) if config else ScriptedSource()
    recorded = record_capture(env, source, ticks)
    metadata = {
        "scenario": name,
        "seed": seed,
        "ticks": ticks,
        "policy": source.label,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "num_towns": num_towns,
    }
    paths = write_capture(folder, recorded, env, metadata)
    log.info("captured %d samples of %d ticks into %s", len(paths), ticks, folder)
    return paths


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="capture")
@report_errors
def _hydra_main(cfg: DictConfig) -> None:
    capture(cfg)


def main() -> None:
    """Console entry: ``python -m townlet.capture [overrides]``."""
    run_hydra_app(_hydra_main)


if __name__ == "__main__":
    main()
