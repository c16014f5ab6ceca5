"""Affordances (§9.2): which objects are usable, starting a run, its progress and completion
effects, dropping it, and meals shared at a table.

A goal-directed option reaches its object in three ticks at most: a step per tick until the
agent stands in the object's use area, then a request (:mod:`townlet.sim.queues`), then - once
holding the object - the start of the affordance, if the agent can pay and its inputs exist.
Effects apply only on completion (:data:`NEED_EFFECTS`, the wallet cost, a cooked meal delivered
to the stove's fridge); the finisher then leaves the object to a waiter. A dropped run (ghost
step, end of shift, termination) costs nothing but the time spent.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import (
    ACTION_TO_AFFORDANCE,
    AFF_COOK,
    AFF_EAT,
    AFF_SHOWER,
    AFF_SLEEP,
    AFF_WORK,
    OBJ_TABLE,
)
from townlet.sim.economy import utilities_on
from townlet.sim.grid import NO_GOAL
from townlet.sim.indexing import pick, rank_per_object
from townlet.sim.queues import leave_after_use, release
from townlet.sim.relationships import SHARED_MEAL, change_ties
from townlet.sim.state import TownState
from townlet.sim.tick_record import TickRecord
from townlet.sim.world import World

# Need deltas (hunger, hygiene, energy) on completion, by affordance id (§9.2); durations and
# wallet costs come from the scenario (World.affordance_ticks, World.affordance_cost).
NEED_EFFECTS = np.zeros((5, 3))
NEED_EFFECTS[AFF_EAT] = (0.4, 0.0, 0.05)
NEED_EFFECTS[AFF_COOK] = (0.1, 0.0, -0.05)
NEED_EFFECTS[AFF_SHOWER] = (0.0, 0.45, -0.03)
NEED_EFFECTS[AFF_SLEEP] = (0.0, 0.0, 0.8)
NEED_EFFECTS.flags.writeable = False

_COMPLETION_EVENTS = (
    (AFF_COOK, "meal_cooked_events"),
    (AFF_EAT, "meal_eaten_events"),
    (AFF_SHOWER, "shower_complete_events"),
    (AFF_SLEEP, "sleep_complete_events"),
)


def usable_objects(world: World, stock: np.ndarray, utilities: np.ndarray) -> np.ndarray:
    """[T, 1 + O] objects usable now, in goal columns (read-only): an eat spot needs a stocked
    fridge in reach, a shower needs power and water (``utilities`` [T]); NO_GOAL never is."""
    objects = world.objects
    usable = np.zeros((stock.shape[0], 1 + world.num_objects), dtype=bool)
    if world.num_objects:
        # A boolean matmul is an any-of-ands: is a stocked fridge in reach of each eat spot.
        usable[:] = objects.not_eat_spot | ((stock > 0) @ objects.meal_reach)
        usable &= objects.not_shower | utilities[:, None]
        usable[:, NO_GOAL] = False
    usable.flags.writeable = False
    return usable


def begin_runs(
    state: TownState,
    t: np.ndarray,
    a: np.ndarray,
    affordance: np.ndarray | int,
    place: tuple[np.ndarray | int, np.ndarray | int],
    duration: np.ndarray,
) -> None:
    """Agents (t, a) begin ``affordance`` at ``place`` = (object, fridge its meal came from)."""
    obj, source = place
    state.run_aff[t, a] = affordance
    state.run_obj[t, a] = obj
    state.run_src[t, a] = source
    state.run_elapsed[t, a] = 0
    state.run_duration[t, a] = duration


def _end_runs(state: TownState, t: np.ndarray, a: np.ndarray) -> None:
    state.run_aff[t, a] = -1
    state.run_obj[t, a] = -1
    state.run_src[t, a] = -1
    state.run_elapsed[t, a] = 0
    state.run_duration[t, a] = 0


def start_affordances(
    state: TownState,
    world: World,
    record: TickRecord,
    option: np.ndarray,
    start: np.ndarray,
    target: np.ndarray,
    success: np.ndarray,
) -> np.ndarray:
    """Holders in ``start`` begin the affordance of their ``option`` at object ``target``.

    A start that cannot happen (no money, no utilities, no meal) is a failed release: the
    reservation goes and the cooldown is cleared. Returns [T, A] eat_meal started this tick.
    """
    if not np.count_nonzero(start):  # fast path (5% of a tick at one town): nobody starts
        return start
    affordance = ACTION_TO_AFFORDANCE[option]
    ok = start & (state.wallet >= world.affordance_cost[np.maximum(affordance, 0)])
    ok &= (affordance != AFF_SHOWER) | utilities_on(state)[:, None]
    eat = ok & (affordance == AFF_EAT)
    source = _meal_sources(state, world, eat, target)
    ok &= ~eat | (source >= 0)
    failed = start & ~ok
    success &= ~failed
    t, a = np.nonzero(failed)
    release(state, t, a, success=False, cooldown=0, now=record.now)
    t, a = np.nonzero(ok)
    begin_runs(
        state,
        t,
        a,
        affordance[t, a],
        (target[t, a], source[t, a]),
        world.affordance_ticks[affordance[t, a]],
    )
    t, a = np.nonzero(ok & (source >= 0))  # the meals taken
    np.subtract.at(state.stock, (t, source[t, a]), 1)
    return ok & (affordance == AFF_EAT)


def _meal_sources(
    state: TownState, world: World, eaters: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """[T, A] fridge each eater takes its meal from, -1 for none (and for non-eaters).

    The nearest stocked fridge in reach of the eat spot (the fridge itself, or one a table draws
    from); competing eaters at one fridge are served in agent order while its stock lasts.
    """
    sources = world.objects.eat_sources  # [O, F]
    spot = np.maximum(target, 0)
    stocks = np.where(sources >= 0, state.stock[:, np.maximum(sources, 0)], 0)  # [T, O, F]
    stocks = stocks[np.arange(state.num_towns)[:, None], spot]  # [T, A, F]
    first = (stocks > 0).argmax(axis=2)
    source = np.where(eaters & (stocks > 0).any(axis=2), sources[spot, first], -1)
    served = rank_per_object(source, source >= 0, world.num_objects) < pick(state.stock, source)
    return np.where((source >= 0) & served, source, -1)


def shared_meals(
    state: TownState, world: World, record: TickRecord, started_eating: np.ndarray
) -> None:
    """Emit shared_meal (and its tie bonus) for each pair eating at one table whose overlap
    began this tick."""
    if not world.objects.has_table or not np.count_nonzero(started_eating):
        return  # fast path (3% of a tick at one town): nobody started eating
    obj = state.run_obj
    at_table = (
        (state.run_aff == AFF_EAT)
        & (world.objects.kind[np.maximum(obj, 0)] == OBJ_TABLE)
        & (obj >= 0)
    )
    fresh = started_eating[:, :, None] | started_eating[:, None, :]
    pair = (obj[:, :, None] == obj[:, None, :]) & at_table[:, :, None] & at_table[:, None, :]
    t, i, j = np.nonzero(np.triu(pair & fresh, k=1))
    change_ties(state, t, i, j, SHARED_MEAL)
    record.events.add("shared_meal_events", t)


def progress_affordances(state: TownState, world: World, record: TickRecord) -> None:
    """Advance every running affordance by a tick; complete those that reached their duration.

    work_shift is excluded: it is paid per tick and ended by the employment rule.
    """
    running = state.run_aff >= 0
    if not record.all_active:  # (alive at the tick's start is alive now: deaths come later)
        running &= state.alive
    state.run_elapsed += running
    done = running & (state.run_aff != AFF_WORK) & (state.run_elapsed >= state.run_duration)
    if not np.count_nonzero(done):  # fast path (9% of a tick at one town): nobody completes
        return
    t, a = np.nonzero(done)
    affordance = state.run_aff[t, a]
    obj = state.run_obj[t, a]
    needs = state.needs[t, a] + NEED_EFFECTS[affordance]
    state.needs[t, a] = np.clip(needs, 0.0, 1.0)
    state.wallet[t, a] -= world.affordance_cost[affordance]
    cooked = affordance == AFF_COOK
    fridge = world.objects.stove_fridge[obj[cooked]]
    has_fridge = fridge >= 0
    np.add.at(state.stock, (t[cooked][has_fridge], fridge[has_fridge]), 1)
    for kind, event in _COMPLETION_EVENTS:
        record.events.add(event, t[affordance == kind])
    _end_runs(state, t, a)
    leave_after_use(state, world, record, t, a, obj)


def drop_affordances(state: TownState, t: np.ndarray, a: np.ndarray) -> None:
    """Stop the runs of agents (t, a) without effects; a meal taken returns to its fridge."""
    if t.size == 0:
        return
    source = state.run_src[t, a]
    back = (state.run_aff[t, a] == AFF_EAT) & (source >= 0)
    np.add.at(state.stock, (t[back], source[back]), 1)
    _end_runs(state, t, a)
