"""Needs, the economy and perturbations: decay, faint/eviction, fridge restock, utility outages."""

from __future__ import annotations

import numpy as np

from townlet.sim import kpi
from townlet.sim.affordance_state import drop_affordances
from townlet.sim.constants import HUNGER, OBJ_FRIDGE
from townlet.sim.events import StepScratch
from townlet.sim.layout import Layout
from townlet.sim.queues import release
from townlet.sim.rng import STREAM_OUTAGE, uniform
from townlet.sim.state import TownState


def decay_needs(state: TownState, layout: Layout, all_alive: bool) -> None:
    """Every living agent's needs drop by the scenario's per-tick rates (floored at 0).

    ``all_alive``: nobody has died (the common case, which skips the per-agent mask)."""
    if all_alive:
        state.needs -= layout.need_rates  # exactly the line below: rate * 1.0 == rate
    else:
        state.needs -= layout.need_rates * state.alive[:, :, None]
    np.maximum(state.needs, 0.0, out=state.needs)


def terminate(state: TownState, layout: Layout, scratch: StepScratch) -> np.ndarray:
    """Faint (hunger <= faint_threshold) and eviction (wallet below -max_debt) end an agent.

    A terminated agent leaves its queue, drops its affordance and releases its reservation, so
    the others can carry on; it stays dead until its town resets. Returns [T, A] terminated.
    """
    sc = layout.scenario
    alive = state.alive
    faint = state.needs[:, :, HUNGER] <= sc.needs.faint_threshold
    done = alive & (faint | (state.wallet < -sc.economy.max_debt))
    if not np.count_nonzero(done):
        return done  # scratch.fainted / evicted stay None: no terminal penalty this tick
    fainted = alive & faint
    evicted = done & ~fainted
    scratch.fainted, scratch.evicted = fainted, evicted
    scratch.count("faint_events", np.nonzero(fainted)[0])
    tf, af = np.nonzero(fainted)
    kpi.note(state, tf, af, kpi.FAINTS)
    scratch.count("eviction_events", np.nonzero(evicted)[0])
    t, a = np.nonzero(done)
    drop_affordances(state, t, a)
    holding = state.hold_obj[t, a] >= 0
    release(state, t[holding], a[holding], success=False, cooldown=0, now=scratch.now)
    state.queue_obj[t, a] = -1
    state.alive[t, a] = False
    return done


def restock(state: TownState, layout: Layout, now: np.ndarray) -> None:
    """Every ``restock_interval`` ticks fridges refill up to their scenario stock."""
    interval = layout.scenario.economy.restock_interval
    if interval <= 0 or layout.num_objects == 0:
        return
    due_towns = (now + 1) % interval == 0
    if not np.count_nonzero(due_towns):
        return
    due = due_towns[:, None] & (layout.obj_type == OBJ_FRIDGE)
    np.copyto(state.stock, np.maximum(state.stock, layout.obj_stock0), where=due)


def perturb(state: TownState, layout: Layout, scratch: StepScratch) -> None:
    """Start the utility outages due at the state's (new) tick: scheduled ones and random cuts.

    The engine calls it right after advancing the clock, so an outage starting at tick s is
    already in the state (and observations) that tick s acts on, and blocks showers at s.
    """
    now = state.tick
    started: np.ndarray | None = None
    for kind, start, duration in layout.tables.outages:
        due = now == start
        if not np.count_nonzero(due):
            continue
        until = state.power_until if kind == 0 else state.water_until
        until[:] = np.where(due, np.maximum(until, now + duration), until)
        started = due if started is None else started | due
    chance = layout.scenario.perturbations.outage_chance
    if chance > 0.0:
        cut = (uniform(state.key, now, STREAM_OUTAGE) < chance) & (now >= state.power_until)
        duration = layout.scenario.perturbations.outage_duration
        state.power_until[:] = np.where(cut, now + duration, state.power_until)
        started = cut if started is None else started | cut
    if started is not None:
        scratch.count("utility_outage_events", np.nonzero(started)[0])
