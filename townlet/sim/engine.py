"""The engine: one vectorised tick of every town (§9.1), phase by phase in the order the design
fixes. Observations are built by the caller (the vector env) from the resulting state through
:meth:`TownEngine.view`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from townlet.sim.actions import apply_actions
from townlet.sim.affordances import drop_affordances, progress_affordances
from townlet.sim.economy import restock, start_outages
from townlet.sim.employment import run_shifts
from townlet.sim.kpi import close_days
from townlet.sim.needs import decay_needs, terminate
from townlet.sim.queues import serve_queues
from townlet.sim.relationships import decay_relationships
from townlet.sim.rewards import RewardTerms, compute_rewards
from townlet.sim.scenario import Scenario
from townlet.sim.state import TownState, allocate, reset_towns
from townlet.sim.tick_record import TickRecord
from townlet.sim.view import ViewMemos, WorldView
from townlet.sim.world import World, compile_world


@dataclass
class TickResult:
    rewards: np.ndarray  # [T, A] float32
    terminated: np.ndarray  # [T, A] bool: fainted or evicted this tick
    truncated: np.ndarray  # [T, A] bool: alive when the town hit scenario.ticks
    town_done: np.ndarray  # [T] bool: the town's episode ended (truncated or nobody alive)
    record: TickRecord  # who was active, the town events and the deaths of the tick
    reward_terms: RewardTerms
    kpi_days: np.ndarray | None  # [T, A, K] tallies of agent-days completed this tick (kpi.py)


class TownEngine:
    """State plus rules; ``tick`` advances all towns, ``reset_towns`` restarts some in place."""

    def __init__(self, scenario: Scenario, num_towns: int, seed: int) -> None:
        self.scenario = scenario
        self.world: World = compile_world(scenario)
        self.num_towns = num_towns
        self.state: TownState = allocate(self.world, num_towns, seed)
        self.timings: dict[str, float] | None = None  # set to {} to collect per-phase seconds
        self._view: WorldView | None = None
        self._memos = ViewMemos()  # content-keyed: survives ticks, resets and state edits

    def view(self) -> WorldView:
        """Derived arrays of the current state, shared until the state changes."""
        if self._view is None:
            self._view = WorldView(self.state, self.world, self._memos)
        return self._view

    def invalidate(self) -> None:
        """Forget cached derived arrays (call after editing ``state`` from outside)."""
        self._view = None

    def reset(self, seed: int) -> None:
        self.state = allocate(self.world, self.num_towns, seed)
        self._view = None

    def reset_towns(self, towns: np.ndarray) -> None:
        reset_towns(self.state, self.world, towns)
        self._view = None

    def tick(self, actions: np.ndarray, mask: np.ndarray) -> TickResult:
        """Advance every town by one tick under ``actions`` (checked against ``mask``)."""
        state, world = self.state, self.world
        clock = _PhaseClock(self.timings)
        record = TickRecord.start(state.tick, state.alive)
        view = self.view()
        apply_actions(view, actions, mask, record)
        shifts = view.shifts  # the clock does not move within a tick
        self._view = None
        clock.lap("actions")
        ghost_stepped = serve_queues(state, world, record)
        drop_affordances(state, *ghost_stepped)  # an evicted holder abandons its run
        clock.lap("queues")
        progress_affordances(state, world, record)
        clock.lap("affordances")
        decay_needs(state, world, record)
        clock.lap("needs")
        run_shifts(state, world, record, shifts)
        clock.lap("employment")
        decay_relationships(state, world)
        clock.lap("relationships")
        restock(state, world, record.now)
        clock.lap("economy")
        terminated = terminate(state, world, record)
        clock.lap("terminations")
        kpi_days = close_days(state, world, record)
        clock.lap("kpi")
        rewards, terms = compute_rewards(state, world, record, kpi_days)
        clock.lap("rewards")
        state.tick += 1
        state.ctx_reset[:] = False
        start_outages(state, world, record.events)  # due at the new tick (economy.py)
        truncated_town = state.tick >= self.scenario.ticks
        truncated = truncated_town[:, None] & state.alive
        if record.all_active and record.deaths is None:
            town_done = truncated_town  # nobody has died: only the clock ends a town
        else:
            town_done = truncated_town | ~state.alive.any(axis=1)
        clock.lap("clock")
        return TickResult(rewards, terminated, truncated, town_done, record, terms, kpi_days)


class _PhaseClock:
    """Accumulates wall time per phase into ``sink`` (a no-op when sink is None)."""

    def __init__(self, sink: dict[str, float] | None) -> None:
        self.sink = sink
        self.last = time.perf_counter() if sink is not None else 0.0

    def lap(self, name: str) -> None:
        if self.sink is None:
            return
        now = time.perf_counter()
        self.sink[name] = self.sink.get(name, 0.0) + now - self.last
        self.last = now
