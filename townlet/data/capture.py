"""Run a scenario's towns and record what they did as a capture folder (DESIGN §11).

``python -m townlet.capture`` records with the policy its config names; BC and anneal record the
scripted controller here as their expert data. What is recorded, and how, is described in
:mod:`townlet.data.capture_writer`. torch is imported only for ``ckpt:`` policies.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from townlet.config.capture import CaptureConfig
from townlet.data.capture_writer import ScriptedSource, record_capture, write_capture
from townlet.policy.action_source import ActionSource
from townlet.sim import Scenario, TownVecEnv

log = logging.getLogger(__name__)


def action_source(config: CaptureConfig, env: TownVecEnv, scenario: str, seed: int) -> ActionSource:
    """The scripted controller, or the checkpoint's policy (the only path that needs torch)."""
    if config.checkpoint is None:
        return ScriptedSource()
    from townlet.policy.checkpoint import CheckpointPolicy

    return CheckpointPolicy(config.checkpoint, env, scenario, seed)


def capture_to(folder: Path, scenario: Scenario, name: str, config: CaptureConfig) -> list[Path]:
    """Run ``scenario``'s towns as ``config`` says and write the capture into ``folder``.

    Returns the sample paths. ``config.ticks`` and ``config.seed`` default to the scenario's.
    """
    seed = scenario.seed if config.seed is None else config.seed
    ticks = scenario.ticks if config.ticks is None else config.ticks
    env = TownVecEnv(scenario, num_towns=config.num_towns, seed=seed)
    source = action_source(config, env, name, seed)
    recorded = record_capture(env, source, ticks)
    metadata = {
        "scenario": name,
        "seed": seed,
        "ticks": ticks,
        "policy": source.label,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "num_towns": config.num_towns,
    }
    paths = write_capture(folder, recorded, env, metadata)
    log.info("captured %d samples of %d ticks into %s", len(paths), ticks, folder)
    return paths
