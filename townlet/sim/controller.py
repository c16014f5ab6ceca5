"""The scripted threshold controller (§9.9): BC expert and baseline, vectorised over all agents.

Priority per agent (first that applies): committed to a running affordance -> wait; a pending
request (holding or queued) -> keep asking with the same option, unless the shift is on or the
affordance could no longer end before it is time to set off for work; shift on and not working
-> work; within the arrival buffer before the shift -> walk to work (once there, chat with a
friend if one is ready, else wait); a need below its threshold, or one that would sink below
the KPI floor (plus a margin) before the shift ends, checked in the ticks before setting off ->
eat (if a meal is in reach, else cook), shower, sleep, but never an affordance that would still
run when it is time to go to work; a friend within one tile and the chat interval passed ->
chat; an avoided rival on the same tile -> avoid_rival; else wait. Scenario schedules then
override it per agent, and anything the mask forbids becomes wait, so its trajectories are valid
BC data in the §9.7 action space.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import (
    AFF_WORK,
    AVOID,
    CHAT,
    COOK,
    EAT,
    ENERGY,
    HUNGER,
    HYGIENE,
    NEED_FLOOR,
    SHOWER,
    SLEEP,
    WAIT,
    WORK,
)
from townlet.sim.gather import pick_last
from townlet.sim.state import TownState
from townlet.sim.tables import Tables
from townlet.sim.view import WorldView

TOP_UP_TICKS = 90  # before setting off for work: long enough to serve one need (sleep: 60)
TOP_UP_MARGIN = 0.25  # above the KPI need floor, for the walk and the queue


def scripted_actions(view: WorldView, mask: np.ndarray) -> np.ndarray:
    """[T, A] int64 actions of the threshold controller for the current state and mask.

    The rules are applied from the last to the first (the first that holds wins); a rule whose
    condition holds for nobody is skipped, which at one town is most of them on most ticks.
    """
    state, layout = view.state, view.layout
    tables = layout.tables
    action = np.zeros(state.x.shape, dtype=np.int64)  # WAIT

    # An avoided rival on the same tile.
    frame = view.frame
    if frame.shares_tile and np.count_nonzero(view.rivals.has_live_rival):
        rival_here = (view.rivals.live_avoids & frame.same_tile).any(axis=2)
        action[rival_here] = AVOID
    chat_ready = None
    # tick - last_chat >= interval, with the subtraction done once per town
    due = state.last_chat_tick <= (state.tick - layout.scenario.behavior.chat_interval)[:, None]
    due &= frame.has_partner
    if np.count_nonzero(due):
        tie = state.trust + state.familiarity
        friends = frame.chat_partners & (tie > tables.friend_threshold[:, None])
        chat_ready = friends.any(axis=2) & due
        action[chat_ready] = CHAT
    low = state.needs < tables.need_thresholds
    if tables.any_job:
        low |= _needs_short_of_shift(view)
    if np.count_nonzero(low):
        action[low[:, :, ENERGY]] = SLEEP
        action[low[:, :, HYGIENE]] = SHOWER
        hungry = low[:, :, HUNGER]
        if np.count_nonzero(hungry):
            # object_ok already requires a stocked fridge in reach of a fridge or table; a
            # boolean matmul asks "any usable eat spot" per town.
            meal_in_reach = view.object_ok_pad @ tables.option_goal[EAT]
            np.copyto(action, np.where(meal_in_reach, EAT, COOK)[:, None], where=hungry)
    if tables.any_job:
        # An affordance that could not end before it is time to set off for work is not begun.
        action[_runs_into_work(view, action)] = WAIT
        # Agents without a job have start = -1: both windows below are empty for them.
        shifts = view.shifts
        before = shifts.before & (shifts.phase >= tables.arrival_start)
        if np.count_nonzero(before):
            action[before] = WORK
            arrived = before & (view.job_way[0] == 0)
            action[arrived] = WAIT
            if chat_ready is not None:
                action[arrived & chat_ready] = CHAT
        in_shift = shifts.open & (state.run_aff != AFF_WORK)
        action[in_shift] = WORK
    pending = (state.hold_obj >= 0) | (state.queue_obj >= 0)
    if tables.any_job:
        # A place in a queue is given up when the affordance could no longer end before it is
        # time to set off for work (or the shift is on).
        pending &= ~(_runs_into_work(view, state.pending_option) | view.shifts.open)
    if np.count_nonzero(pending):
        np.copyto(action, state.pending_option, where=pending)
    action[state.run_aff >= 0] = WAIT
    if tables.has_schedule:
        _apply_schedule(state, tables, mask, action)
    return action * pick_last(mask, action)  # a forbidden choice becomes wait (0)


def _runs_into_work(view: WorldView, option: np.ndarray) -> np.ndarray:
    """[T, A] object options whose affordance would still run when the agent should set off."""
    layout, shifts = view.layout, view.shifts
    is_object = (option >= EAT) & (option <= SLEEP)
    ticks = layout.aff_ticks[np.clip(option - EAT, 0, SLEEP - EAT)]
    return is_object & shifts.before & (shifts.phase + ticks >= layout.tables.arrival_start)


def _needs_short_of_shift(view: WorldView) -> np.ndarray:
    """[T, A, 3] needs that would sink below the KPI floor (plus a margin) before the shift ends.

    Checked only in the ``TOP_UP_TICKS`` before the agent sets off for work, so that it serves
    them while there is still time, instead of running low at work or arriving late.
    """
    layout, tables, shifts = view.layout, view.layout.tables, view.shifts
    window = shifts.before & (shifts.phase >= tables.arrival_start - TOP_UP_TICKS)
    window &= shifts.phase < tables.arrival_start
    ticks_left = np.where(window, layout.agent_end - shifts.phase, 0)
    projected = view.state.needs - layout.need_rates * ticks_left[:, :, None]
    return window[:, :, None] & (projected < NEED_FLOOR + TOP_UP_MARGIN)


def _apply_schedule(state: TownState, tables: Tables, mask: np.ndarray, action: np.ndarray) -> None:
    """Scheduled actions replace the controller's (in place) where they are currently allowed."""
    tick = np.minimum(state.tick, tables.schedule_any.shape[0] - 1)
    if not np.count_nonzero(tables.schedule_any[tick]):
        return  # nothing is scheduled at this tick in any town
    planned = tables.schedule_by_tick[tick]  # [T, A], -1 where nothing is scheduled
    allowed = (planned >= 0) & pick_last(mask, np.maximum(planned, 0))
    np.copyto(action, planned, where=allowed)
