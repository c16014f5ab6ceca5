"""A per-tick trace of one town while its episode is played, for the pictures of the town's day.

:class:`TraceRecorder` is a :class:`townlet.policy.episodes.TickObserver`: ``play_episodes``
shows it the env after the reset and after every tick, and it copies one town's arrays out of
``env.state`` (it never writes, so KPIs and results are the same with or without it).
:meth:`TraceRecorder.trace` returns a :class:`TownTrace`: the static layout (grid, walls,
objects, agents, shift windows) and the per-tick arrays. States are indexed ``0..N`` (0 = after
the reset, n = after tick n); actions and terminations ``0..N-1`` (the tick they happened in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from townlet.sim import TownVecEnv
from townlet.sim.constants import HUNGER, NEED_FLOOR

# State arrays copied for one town at every tick: [A] per agent, [O] per object.
_AGENT_FIELDS = ("x", "y", "needs", "alive", "run_aff", "hold_obj", "queue_obj", "shift_state")
_OBJECT_FIELDS = ("stock",)


@dataclass
class TownTrace:
    """One town over one episode: the layout, and every tick's state, actions and deaths."""

    scenario: str  # scenario name, for titles
    policy: str  # policy label, for titles
    width: int
    height: int
    walls: np.ndarray  # [H, W] bool
    ticks_per_day: int
    agent_ids: tuple[str, ...]
    agent_jobs: tuple[str | None, ...]  # job name of each agent, None without one
    shift_start: np.ndarray  # [A] tick of the day the shift window opens (-1: no job)
    shift_end: np.ndarray  # [A] tick of the day it closes (exclusive; -1: no job)
    object_ids: tuple[str, ...]
    object_kind: np.ndarray  # [O] index into constants.OBJECT_TYPES
    object_x: np.ndarray  # [O]
    object_y: np.ndarray  # [O]
    need_floor: float  # K1's line: every need above it after every tick of a good day
    tick: np.ndarray  # [N + 1] the town's clock at each state
    x: np.ndarray  # [N + 1, A]
    y: np.ndarray  # [N + 1, A]
    needs: np.ndarray  # [N + 1, A, 3] hunger, hygiene, energy in [0, 1] (1 = satisfied)
    alive: np.ndarray  # [N + 1, A]
    run_aff: np.ndarray  # [N + 1, A] running affordance (constants.AFFORDANCE_NAMES), -1 idle
    hold_obj: np.ndarray  # [N + 1, A] object held (reservation), -1 none
    queue_obj: np.ndarray  # [N + 1, A] object whose queue the agent waits in, -1 none
    shift_state: np.ndarray  # [N + 1, A] constants.SHIFT_* (-1 without a job)
    stock: np.ndarray  # [N + 1, O] meals in each object (fridges)
    power_off: np.ndarray  # [N + 1] bool
    water_off: np.ndarray  # [N + 1] bool
    actions: np.ndarray  # [N, A] the action chosen at each tick
    fainted: np.ndarray  # [N, A] the agent fainted in that tick
    evicted: np.ndarray  # [N, A] the agent was evicted (debt) in that tick

    @property
    def num_ticks(self) -> int:
        """N: the ticks played (states hold one more, the state after the reset)."""
        return int(self.actions.shape[0])

    @property
    def num_agents(self) -> int:
        return len(self.agent_ids)

    def queue_length(self, index: int) -> np.ndarray:
        """[O] agents waiting in each object's queue at state ``index`` (holders not counted)."""
        waiting = self.queue_obj[index]
        return np.bincount(waiting[waiting >= 0], minlength=len(self.object_ids))


@dataclass
class TraceRecorder:
    """Records town ``town`` of the env it is shown (see the module docstring)."""

    town: int = 0
    scenario: str = ""
    policy: str = ""
    _static: dict[str, Any] = field(default_factory=dict, repr=False)
    _states: dict[str, list[np.ndarray]] = field(default_factory=dict, repr=False)
    _actions: list[np.ndarray] = field(default_factory=list, repr=False)
    _terminated: list[np.ndarray] = field(default_factory=list, repr=False)
    _faint_at: float = 0.0

    def start(self, env: TownVecEnv) -> None:
        """Take the layout and the state after the reset; forgets any earlier recording."""
        world = env.world
        scenario = world.scenario
        walls = np.zeros((scenario.grid.height, scenario.grid.width), dtype=bool)
        for x, y in scenario.grid.walls:
            walls[y, x] = True
        self._static = {
            "scenario": self.scenario or scenario.name or "scenario",
            "policy": self.policy,
            "width": scenario.grid.width,
            "height": scenario.grid.height,
            "walls": walls,
            "ticks_per_day": scenario.ticks_per_day,
            "agent_ids": tuple(world.agents.ids),
            "agent_jobs": tuple(agent.job for agent in scenario.agents),
            "shift_start": np.array(world.jobs.shift_start),
            "shift_end": np.array(world.jobs.shift_end),
            "object_ids": tuple(world.objects.ids),
            "object_kind": np.array(world.objects.kind),
            "object_x": np.array(world.objects.x),
            "object_y": np.array(world.objects.y),
            "need_floor": float(NEED_FLOOR),
        }
        self._faint_at = float(scenario.needs.faint_threshold)
        self._states = {name: [] for name in (*_AGENT_FIELDS, *_OBJECT_FIELDS, "tick")}
        self._states.update(power_off=[], water_off=[])
        self._actions, self._terminated = [], []
        self._take(env)

    def after_step(
        self, env: TownVecEnv, actions: np.ndarray, terminated: np.ndarray, info: dict[str, Any]
    ) -> None:
        """Take the action and deaths of the tick just played and the state after it."""
        self._actions.append(np.array(actions[self.town], dtype=np.int64))
        self._terminated.append(np.array(terminated[self.town], dtype=bool))
        self._take(env)

    def _take(self, env: TownVecEnv) -> None:
        state, t = env.state, self.town
        for name in (*_AGENT_FIELDS, *_OBJECT_FIELDS):
            self._states[name].append(np.array(getattr(state, name)[t]))
        now = state.tick[t]
        self._states["tick"].append(np.array(now))
        self._states["power_off"].append(np.array(now < state.power_until[t]))
        self._states["water_off"].append(np.array(now < state.water_until[t]))

    def trace(self) -> TownTrace:
        """The recording so far as arrays (call after the episode)."""
        if not self._static:
            raise RuntimeError("TraceRecorder.trace() before any episode was recorded")
        states: dict[str, Any] = {name: np.stack(v) for name, v in self._states.items()}
        agents = len(self._static["agent_ids"])
        actions = np.stack(self._actions) if self._actions else np.zeros((0, agents), np.int64)
        dead = np.stack(self._terminated) if self._terminated else np.zeros((0, agents), bool)
        # A death is a faint when hunger was at the threshold after that tick (needs.terminate).
        fainted = dead & (states["needs"][1:, :, HUNGER] <= self._faint_at)
        return TownTrace(
            **self._static,
            **states,
            actions=actions,
            fainted=fainted,
            evicted=dead & ~fainted,
        )
