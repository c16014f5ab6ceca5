"""A tiny hand-built town for the render tests: a 6 x 4 grid, one fridge, one bed, two agents."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from townlet.policy.episodes import play_episodes
from townlet.render.trace import TownTrace, TraceRecorder
from townlet.sim import Scenario, TownVecEnv, scenario_from_dict
from townlet.sim.constants import WAIT

TICKS = 12


def tiny_scenario(**changes: Any) -> Scenario:
    """Two agents that only wait: ``ann`` at (1, 1), ``ben`` at (4, 2); a wall at (3, 0)."""
    spec: dict[str, Any] = {
        "name": "tiny",
        "ticks": TICKS,
        "ticks_per_day": 6,
        "grid": {"width": 6, "height": 4, "walls": [[3, 0]]},
        "objects": [
            {"id": "fridge_1", "type": "fridge", "position": [0, 3], "stock": 2},
            {"id": "bed_1", "type": "bed", "position": [5, 0]},
        ],
        "agents": [
            {
                "id": "ann",
                "position": [1, 1],
                "needs": {"hunger": 1.0, "hygiene": 1.0, "energy": 1.0},
            },
            {
                "id": "ben",
                "position": [4, 2],
                "needs": {"hunger": 0.9, "hygiene": 0.2, "energy": 0.9},
            },
        ],
        **changes,
    }
    return scenario_from_dict(spec, name="tiny")


def waiting(env: TownVecEnv, obs: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A probe that always waits: nobody moves, so positions are known at every tick."""
    return np.full(env.state.x.shape, WAIT, dtype=np.int64)


@pytest.fixture()
def tiny_trace() -> TownTrace:
    recorder = TraceRecorder(scenario="tiny", policy="wait")
    play_episodes(tiny_scenario(), waiting, towns=2, seed=7, observer=recorder)
    return recorder.trace()
