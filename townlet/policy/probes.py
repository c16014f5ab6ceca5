"""Reference "probe" policies for the live town (DESIGN §13), numpy only.

Each probe answers ``(env, obs, rng) -> actions``: [towns, agents] int64 action ids for the
current state of a :class:`~townlet.sim.TownVecEnv`, always allowed by ``obs["action_mask"]``.
They exist to check that living well is what pays: every probe but ``scripted`` farms or skips
something, so each must earn strictly less than the scripted controller.

``make_probe(name)`` builds one by its registered name (:data:`PROBE_NAMES`); a fresh probe per
evaluation, because ``never_work`` keeps a table built for the env it first sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from townlet.policy.action_source import Obs
from townlet.sim import TownVecEnv
from townlet.sim.constants import CHAT, WAIT, WORK
from townlet.sim.controller import scripted_actions
from townlet.sim.scenario import Scenario
from townlet.sim.view import WorldView
from townlet.sim.world import World, compile_world


class Probe(Protocol):
    """What drives the agents in an evaluation: actions for the current state."""

    def __call__(self, env: TownVecEnv, obs: Obs, rng: np.random.Generator) -> np.ndarray: ...


def scripted_probe(env: TownVecEnv, obs: Obs, rng: np.random.Generator) -> np.ndarray:
    """The scripted threshold controller (§9.9): the reference that lives well."""
    return env.scripted_actions()


def chat_probe(env: TownVecEnv, obs: Obs, rng: np.random.Generator) -> np.ndarray:
    """Chat whenever the mask allows it, else the scripted controller's action."""
    return np.where(obs["action_mask"][..., CHAT], CHAT, env.scripted_actions())


def wait_probe(env: TownVecEnv, obs: Obs, rng: np.random.Generator) -> np.ndarray:
    """Always wait (always legal)."""
    return np.full(obs["action_mask"].shape[:2], WAIT, dtype=np.int64)


def random_probe(env: TownVecEnv, obs: Obs, rng: np.random.Generator) -> np.ndarray:
    """Uniform over the legal actions: the argmax of uniform scores, illegal ones scored -1."""
    mask = obs["action_mask"]
    scores = np.where(mask, rng.random(mask.shape), -1.0)
    return np.argmax(scores, axis=-1).astype(np.int64)


def jobless_scenario(scenario: Scenario) -> Scenario:
    """The same world with nobody employed (jobs stay defined, so goal tables keep their shape)."""
    agents = [agent.model_copy(update={"job": None}) for agent in scenario.agents]
    return scenario.model_copy(update={"agents": agents})


class NeverWorkProbe:
    """The scripted controller acting as if it had no job: it never works but keeps its needs up.

    Replacing WORK by WAIT would leave the agent standing where the shift rules sent it; here
    the controller decides on a world without jobs, so WORK is replaced by what it would do
    otherwise (serve a need, chat, wait). The real mask, WORK removed, still applies.
    """

    def __init__(self) -> None:
        self._for: World | None = None  # the env's world the jobless one was compiled from
        self._jobless: World | None = None

    def _jobless_world(self, env: TownVecEnv) -> World:
        if self._jobless is None or self._for is not env.world:
            self._jobless = compile_world(jobless_scenario(env.scenario))
            self._for = env.world
        return self._jobless

    def __call__(self, env: TownVecEnv, obs: Obs, rng: np.random.Generator) -> np.ndarray:
        mask = obs["action_mask"].copy()
        mask[..., WORK] = False
        return scripted_actions(WorldView(env.state, self._jobless_world(env)), mask)


PROBES: dict[str, Callable[[], Probe]] = {
    "scripted": lambda: scripted_probe,
    "chat": lambda: chat_probe,
    "never_work": NeverWorkProbe,
    "wait": lambda: wait_probe,
    "random": lambda: random_probe,
}
PROBE_NAMES: tuple[str, ...] = tuple(PROBES)


def make_probe(name: str) -> Probe:
    """A fresh probe by name; KeyError (listing the names) for an unknown one."""
    if name not in PROBES:
        raise KeyError(f"unknown probe {name!r}; expected one of: {', '.join(PROBE_NAMES)}")
    return PROBES[name]()
