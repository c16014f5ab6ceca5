"""Goal-directed options at their target: request (hold or queue), start, and work (§9.2, §9.7).

An option reaches its object in three ticks at most: a step per tick until the agent stands in
the object's use area, then a request (the reservation if a slot is free and nobody waits, else
the queue tail), then - once holding - the start of the affordance.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import ACTION_TO_AFFORDANCE, AFF_EAT, AFF_SHOWER, AFF_WORK, OBJ_TABLE
from townlet.sim.events import StepScratch
from townlet.sim.gather import object_counts
from townlet.sim.gather import pick as _at
from townlet.sim.layout import Layout
from townlet.sim.queues import grant, join_tail, release
from townlet.sim.relationships import SHARED_MEAL, tie_delta
from townlet.sim.state import TownState
from townlet.sim.view import WorldView


def _rank_per_object(index: np.ndarray, use: np.ndarray, num_objects: int) -> np.ndarray:
    """[T, A] 0, 1, 2, ... among agents (by id) that ``use`` the same object ``index``."""
    onehot = (index[:, :, None] == np.arange(num_objects)) & use[:, :, None]
    return _at(np.cumsum(onehot, axis=1) - 1, index)


def request_objects(
    state: TownState,
    layout: Layout,
    act: np.ndarray,
    req: np.ndarray,
    target: np.ndarray,
    success: np.ndarray,
    now: np.ndarray,
) -> None:
    """Agents in ``req`` ask for ``target``: refused on cooldown, else hold it or queue for it."""
    if not np.count_nonzero(req):
        return
    blocked = req & (now[:, None] < _at(state.cooldown_until, target))
    success &= ~blocked
    req = req & ~blocked
    if not np.count_nonzero(req):
        return
    n_obj = layout.num_objects
    free = _at(layout.obj_capacity - object_counts(state.hold_obj, n_obj), target)
    queue_empty = _at(object_counts(state.queue_obj, n_obj), target) == 0
    granted = req & queue_empty & (_rank_per_object(target, req, n_obj) < free)
    t, a = np.nonzero(granted)
    grant(state, t, a, target[t, a], now)
    state.queue_tick[t, a] = now[t]  # joined_tick of a holder served at once
    t, a = np.nonzero(req & ~granted)
    join_tail(state, t, a, target[t, a], now)
    state.pending_option[req] = act[req]


def start_affordances(
    view: WorldView,
    act: np.ndarray,
    start: np.ndarray,
    target: np.ndarray,
    success: np.ndarray,
    scratch: StepScratch,
) -> np.ndarray:
    """Holders in ``start`` begin their affordance if they can pay and its inputs exist.

    Eating takes a meal from the nearest stocked fridge in reach (the fridge itself, or one a
    table draws from); competing eaters are served in agent order. A start that cannot happen
    is a failed release: the reservation goes and the cooldown is cleared. Returns [T, A]
    eat_meal started this tick.
    """
    if not np.count_nonzero(start):
        return start
    state, layout = view.state, view.layout
    now = scratch.now
    aff = ACTION_TO_AFFORDANCE[act]
    ok = start & (state.wallet >= layout.aff_cost[np.maximum(aff, 0)])
    ok &= (aff != AFF_SHOWER) | view.utilities_ok[:, None]
    eat = ok & (aff == AFF_EAT)
    src = np.full(target.shape, -1, dtype=np.int64)
    if np.count_nonzero(eat):
        stocks = view.meal_stock[np.arange(state.num_towns)[:, None], np.maximum(target, 0)]
        first = (stocks > 0).argmax(axis=2)
        src = np.where(
            eat & (stocks > 0).any(axis=2), layout.eat_sources[np.maximum(target, 0), first], -1
        )
        served = _rank_per_object(src, src >= 0, layout.num_objects) < _at(state.stock, src)
        src = np.where((src >= 0) & served, src, -1)
        ok &= ~eat | (src >= 0)
    failed = start & ~ok
    success &= ~failed
    t, a = np.nonzero(failed)
    release(state, t, a, success=False, cooldown=0, now=now)
    t, a = np.nonzero(ok)
    state.run_aff[t, a] = aff[t, a]
    state.run_obj[t, a] = target[t, a]
    state.run_src[t, a] = src[t, a]
    state.run_elapsed[t, a] = 0
    state.run_duration[t, a] = layout.aff_ticks[aff[t, a]]
    took = ok & (src >= 0)
    te, ae = np.nonzero(took)
    np.subtract.at(state.stock, (te, src[te, ae]), 1)
    return ok & (aff == AFF_EAT)


def start_work(view: WorldView, at_site: np.ndarray, success: np.ndarray) -> None:
    """Agents choosing work at their job site start work_shift if the shift window is open.

    It runs until the shift's end tick (the employment phase ends it); outside the window the
    option does nothing and counts as unsuccessful.
    """
    if not np.count_nonzero(at_site):
        return
    state, layout = view.state, view.layout
    open_now = view.shifts.open
    begin = at_site & open_now & (state.run_aff < 0)
    success &= ~(at_site & ~open_now)
    t, a = np.nonzero(begin)
    state.run_aff[t, a] = AFF_WORK
    state.run_obj[t, a] = -1
    state.run_src[t, a] = -1
    state.run_elapsed[t, a] = 0
    state.run_duration[t, a] = layout.agent_end[a] - view.shifts.phase[t, 0]


def shared_meals(
    state: TownState, layout: Layout, started_eating: np.ndarray, scratch: StepScratch
) -> None:
    """Emit shared_meal for each pair eating at one table whose overlap began this tick."""
    if not np.count_nonzero(started_eating) or not layout.tables.has_table:
        return
    obj = state.run_obj
    at_table = (
        (state.run_aff == AFF_EAT) & (layout.obj_type[np.maximum(obj, 0)] == OBJ_TABLE) & (obj >= 0)
    )
    fresh = started_eating[:, :, None] | started_eating[:, None, :]
    pair = (
        (obj[:, :, None] == obj[:, None, :]) & at_table[:, :, None] & at_table[:, None, :] & fresh
    )
    t, i, j = np.nonzero(np.triu(pair, k=1))
    tie_delta(state, t, i, j, *SHARED_MEAL)
    scratch.count("shared_meal_events", t)
