"""The economy and the utilities (§9.2): fridge restock, and power and water outages.

Money itself moves where it is earned or spent (affordance costs on completion, wages and fees
in the employment rule); an agent whose debt passes ``max_debt`` is evicted (``terminate``).
"""

from __future__ import annotations

import numpy as np

from townlet.sim.rng import STREAM_OUTAGE, uniform
from townlet.sim.state import TownState
from townlet.sim.tick_record import TownEvents
from townlet.sim.world import World


def utilities_on(state: TownState) -> np.ndarray:
    """[T] power and water are both on (a shower needs them)."""
    return state.tick >= np.maximum(state.power_until, state.water_until)


def restock(state: TownState, world: World, now: np.ndarray) -> None:
    """Every ``restock_interval`` ticks fridges refill up to their scenario stock."""
    interval = world.scenario.economy.restock_interval
    if interval <= 0 or world.num_objects == 0:
        return
    due_towns = (now + 1) % interval == 0
    if not np.count_nonzero(due_towns):  # fast path (0.8% of a tick at one town): none due
        return
    due = due_towns[:, None] & world.objects.is_fridge
    np.copyto(state.stock, np.maximum(state.stock, world.objects.initial_stock), where=due)


def start_outages(state: TownState, world: World, events: TownEvents) -> None:
    """Start the utility outages due at the state's (new) tick: scheduled ones and random cuts.

    The engine calls it right after advancing the clock, so an outage starting at tick s is
    already in the state (and observations) that tick s acts on, and blocks showers at s.
    """
    now = state.tick
    started: np.ndarray | None = None
    for kind, start, duration in world.outages:
        due = now == start
        if not np.count_nonzero(due):  # fast path (1% of a tick at one town): not due
            continue
        until = state.power_until if kind == 0 else state.water_until
        until[:] = np.where(due, np.maximum(until, now + duration), until)
        started = due if started is None else started | due
    chance = world.scenario.perturbations.outage_chance
    if chance > 0.0:
        cut = (uniform(state.key, now, STREAM_OUTAGE) < chance) & (now >= state.power_until)
        duration = world.scenario.perturbations.outage_duration
        state.power_until[:] = np.where(cut, now + duration, state.power_until)
        started = cut if started is None else started | cut
    if started is not None:
        events.add("utility_outage_events", np.nonzero(started)[0])
