"""One vectorised tick of every town (§9.1), in the order the design fixes.

actions -> queues and conflicts -> running affordances -> need decay -> employment ->
relationship decay -> economy restock -> terminations -> the KPI day accounting (§13) ->
rewards -> clock, then the perturbations (utility outages) due at the new tick. Observations
are built by the caller (the vector env) from the resulting state through ``view()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.actions import apply_actions
from townlet.sim.affordances import progress_affordances
from townlet.sim.employment import employment_phase
from townlet.sim.events import StepScratch
from townlet.sim.kpi import close_days
from townlet.sim.layout import Layout, build_layout
from townlet.sim.memo import ViewMemos
from townlet.sim.needs import decay_needs, perturb, restock, terminate
from townlet.sim.queues import queue_phase
from townlet.sim.relationships import decay_relationships
from townlet.sim.rewards import compute_rewards
from townlet.sim.scenario import Scenario
from townlet.sim.state import TownState, allocate, reset_towns
from townlet.sim.view import WorldView


@dataclass
class TickResult:
    rewards: np.ndarray  # [T, A] float32
    terminated: np.ndarray  # [T, A] bool: fainted or evicted this tick
    truncated: np.ndarray  # [T, A] bool: alive when the town hit scenario.ticks
    town_done: np.ndarray  # [T] bool: the town's episode ended (truncated or nobody alive)
    scratch: StepScratch  # events and reward terms of the tick
    kpi_days: np.ndarray | None  # [T, A, K] tallies of agent-days completed this tick (sim.kpi)


class TownEngine:
    """State plus rules; ``tick`` advances all towns, ``reset_towns`` restarts some in place."""

    PHASES = ("actions", "queues", "affordances", "needs", "employment", "relationships", "rewards")

    def __init__(self, scenario: Scenario, num_towns: int, seed: int) -> None:
        self.scenario = scenario
        self.layout: Layout = build_layout(scenario)
        self.num_towns = num_towns
        self.state: TownState = allocate(self.layout, num_towns, seed)
        self.timings: dict[str, float] | None = None  # set to {} to collect per-phase seconds
        self._view: WorldView | None = None
        self._memos = ViewMemos()  # content-keyed: survives ticks, resets and state edits

    def view(self) -> WorldView:
        """Derived arrays of the current state, shared until the state changes."""
        if self._view is None:
            self._view = WorldView(self.state, self.layout, self._memos)
        return self._view

    def invalidate(self) -> None:
        """Forget cached derived arrays (call after editing ``state`` from outside)."""
        self._view = None

    def reset(self, seed: int) -> None:
        self.state = allocate(self.layout, self.num_towns, seed)
        self._view = None

    def reset_towns(self, towns: np.ndarray) -> None:
        reset_towns(self.state, self.layout, towns)
        self._view = None

    def tick(self, actions: np.ndarray, mask: np.ndarray) -> TickResult:
        state, layout = self.state, self.layout
        clock = _Clock(self.timings)
        scratch = StepScratch.start(state.tick, state.alive)
        view = self.view()
        apply_actions(view, actions, mask, scratch)
        shifts = view.shifts  # the clock does not move within a tick
        self._view = None
        clock.lap("actions")
        queue_phase(state, layout, scratch.now, scratch)
        clock.lap("queues")
        progress_affordances(state, layout, scratch)
        clock.lap("affordances")
        decay_needs(state, layout, scratch.all_active)
        clock.lap("needs")
        employment_phase(state, layout, scratch, shifts)
        clock.lap("employment")
        decay_relationships(state, layout.scenario)
        restock(state, layout, scratch.now)
        clock.lap("relationships")
        terminated = terminate(state, layout, scratch)
        kpi_days = close_days(state, self.scenario.ticks_per_day, scratch, scratch.now + 1)
        rewards = compute_rewards(state, layout, scratch, kpi_days)
        state.tick += 1
        state.ctx_reset[:] = False
        perturb(state, layout, scratch)
        scratch.finish()
        truncated_town = state.tick >= self.scenario.ticks
        truncated = truncated_town[:, None] & state.alive
        if scratch.all_active and scratch.fainted is None and scratch.evicted is None:
            town_done = truncated_town  # nobody has died: only the clock ends a town
        else:
            town_done = truncated_town | ~state.alive.any(axis=1)
        clock.lap("rewards")
        return TickResult(rewards, terminated, truncated, town_done, scratch, kpi_days)


class _Clock:
    """Accumulates wall time per phase into ``sink`` (a no-op when sink is None)."""

    def __init__(self, sink: dict[str, float] | None) -> None:
        self.sink = sink
        if sink is not None:
            import time

            self._now = time.perf_counter
            self.last = self._now()

    def lap(self, name: str) -> None:
        if self.sink is None:
            return
        now = self._now()
        self.sink[name] = self.sink.get(name, 0.0) + now - self.last
        self.last = now
