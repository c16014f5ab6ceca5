"""Small hand-built towns for the simulation tests.

``make_town`` returns a plain scenario mapping on a 10x10 grid with no need decay, no survival
bonus and one agent per given position; tests override any block they care about.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from townlet.sim import TownVecEnv
from townlet.sim.constants import ACTION_IDS


def make_town(
    agents: list[tuple[int, int]] | list[dict[str, Any]],
    objects: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A scenario mapping: agents given as (x, y) positions or full agent dicts."""
    people = []
    for i, agent in enumerate(agents):
        if isinstance(agent, dict):
            people.append({"id": f"a{i}", **agent})
        else:
            people.append({"id": f"a{i}", "position": list(agent), "wallet": 5.0})
    data: dict[str, Any] = {
        "description": "test town",
        "seed": 1,
        "ticks": 500,
        "grid": {"width": 10, "height": 10, "walls": []},
        "objects": objects or [],
        "agents": people,
        "needs": {"decay": {"hunger": 0.0, "hygiene": 0.0, "energy": 0.0}},
        "rewards": {"survival_tick": 0.0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            merged = copy.deepcopy(data[key])
            merged.update(value)
            data[key] = merged
        else:
            data[key] = value
    return data


class Driver:
    """Steps a one-town env with per-agent action lists and keeps event totals."""

    def __init__(self, env: TownVecEnv) -> None:
        self.env = env
        self.obs = env.reset()
        self.totals: dict[str, float] = {}
        self.last_info: dict[str, Any] = {}

    def step(self, *actions: int | str) -> tuple[np.ndarray, dict[str, Any]]:
        ids = [ACTION_IDS[a] if isinstance(a, str) else a for a in actions]
        batch = np.array([ids], dtype=np.int64)
        self.obs, rewards, _, _, info = self.env.step(batch)
        for key, value in info["events"].items():
            self.totals[key] = self.totals.get(key, 0.0) + float(value.sum())
        self.last_info = info
        return rewards, info

    @property
    def state(self) -> Any:
        return self.env.state


@pytest.fixture
def town() -> Callable[..., dict[str, Any]]:
    return make_town


@pytest.fixture
def driver() -> Callable[..., Driver]:
    def build(scenario: dict[str, Any], **kwargs: Any) -> Driver:
        return Driver(TownVecEnv(scenario, **kwargs))

    return build
