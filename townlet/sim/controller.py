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
from townlet.sim.indexing import pick_last
from townlet.sim.state import TownState
from townlet.sim.view import WorldView
from townlet.sim.world import Behavior

TOP_UP_TICKS = 90  # before setting off for work: long enough to serve one need (sleep: 60)
TOP_UP_MARGIN = 0.25  # above the KPI need floor, for the walk and the queue


def scripted_actions(view: WorldView, mask: np.ndarray) -> np.ndarray:
    """[T, A] int64 actions of the threshold controller for the current state and mask.

    The rules are applied from the last to the first (the first that holds overwrites the
    others); a rule whose condition holds for nobody is skipped, which at one town is most of
    them on most ticks.
    """
    state, world = view.state, view.world
    action = np.zeros(state.x.shape, dtype=np.int64)  # WAIT
    chat_ready = _socialise(view, action)
    _serve_needs(view, action)
    if world.jobs.any_job:
        _go_to_work(view, action, chat_ready)
    _keep_pending(view, action)
    action[state.run_aff >= 0] = WAIT
    if world.behavior.has_schedule:
        _apply_schedule(state, world.behavior, mask, action)
    return action * pick_last(mask, action)  # a forbidden choice becomes wait (0)


def _socialise(view: WorldView, action: np.ndarray) -> np.ndarray:
    """Step away from an avoided rival on the same tile; chat with a friend within one tile
    once the chat interval has passed. Returns [T, A] ready to chat."""
    state, world, frame = view.state, view.world, view.frame
    # Fast path (1% of a tick at 256 towns): agents often share a tile, rarely with a rival.
    if frame.shares_tile and np.count_nonzero(view.rivals.has_live_rival):
        rival_here = (view.rivals.live_avoids & frame.same_tile).any(axis=2)
        action[rival_here] = AVOID
    # tick - last_chat >= interval, with the subtraction done once per town
    interval = world.scenario.behavior.chat_interval
    due = state.last_chat_tick <= (state.tick - interval)[:, None]
    due &= frame.has_partner
    tie = state.trust + state.familiarity
    friends = frame.chat_partners & (tie > world.behavior.friend_threshold[:, None])
    chat_ready = friends.any(axis=2) & due
    action[chat_ready] = CHAT
    return chat_ready


def _serve_needs(view: WorldView, action: np.ndarray) -> None:
    """Sleep, shower, eat or cook for a need below its threshold (or short of the shift)."""
    state, world = view.state, view.world
    low = state.needs < world.behavior.need_thresholds
    if world.jobs.any_job:
        low |= _needs_short_of_shift(view)
    action[low[:, :, ENERGY]] = SLEEP
    action[low[:, :, HYGIENE]] = SHOWER
    hungry = low[:, :, HUNGER]
    # usable already requires a stocked fridge in reach of a fridge or table; a boolean
    # matmul asks "any usable eat spot" per town.
    meal_in_reach = view.usable @ world.objects.option_targets[EAT]
    np.copyto(action, np.where(meal_in_reach, EAT, COOK)[:, None], where=hungry)


def _go_to_work(view: WorldView, action: np.ndarray, chat_ready: np.ndarray) -> None:
    """Hold back affordances that would run into the time to set off; walk to work within the
    arrival buffer (chat or wait once there); work while the shift is on."""
    state, world, shifts = view.state, view.world, view.shifts
    action[_runs_into_work(view, action)] = WAIT
    # Agents without a job have start = -1: both windows below are empty for them.
    before = shifts.before & (shifts.phase >= world.behavior.arrival_start)
    if np.count_nonzero(before):  # fast path (1% of a tick at one town): a short time of day
        action[before] = WORK
        arrived = before & (view.job_distance == 0)
        action[arrived] = WAIT
        action[arrived & chat_ready] = CHAT
    action[shifts.open & (state.run_aff != AFF_WORK)] = WORK


def _keep_pending(view: WorldView, action: np.ndarray) -> None:
    """Keep asking with the option of a pending request (holding or queued), unless the shift
    is on or the affordance could no longer end before it is time to set off for work."""
    state = view.state
    pending = (state.hold_obj >= 0) | (state.queue_obj >= 0)
    if view.world.jobs.any_job:
        pending &= ~(_runs_into_work(view, state.pending_option) | view.shifts.open)
    np.copyto(action, state.pending_option, where=pending)


def _runs_into_work(view: WorldView, option: np.ndarray) -> np.ndarray:
    """[T, A] object options whose affordance would still run when the agent should set off."""
    world, shifts = view.world, view.shifts
    is_object = (option >= EAT) & (option <= SLEEP)
    ticks = world.affordance_ticks[np.clip(option - EAT, 0, SLEEP - EAT)]
    return is_object & shifts.before & (shifts.phase + ticks >= world.behavior.arrival_start)


def _needs_short_of_shift(view: WorldView) -> np.ndarray:
    """[T, A, 3] needs that would sink below the KPI floor (plus a margin) before the shift ends.

    Checked only in the ``TOP_UP_TICKS`` before the agent sets off for work, so that it serves
    them while there is still time, instead of running low at work or arriving late.
    """
    world, shifts = view.world, view.shifts
    arrival_start = world.behavior.arrival_start
    window = shifts.before & (shifts.phase >= arrival_start - TOP_UP_TICKS)
    window &= shifts.phase < arrival_start
    ticks_left = np.where(window, world.jobs.shift_end - shifts.phase, 0)
    projected = view.state.needs - world.need_rates * ticks_left[:, :, None]
    return window[:, :, None] & (projected < NEED_FLOOR + TOP_UP_MARGIN)


def _apply_schedule(
    state: TownState, behavior: Behavior, mask: np.ndarray, action: np.ndarray
) -> None:
    """Scheduled actions replace the controller's (in place) where they are currently allowed."""
    tick = np.minimum(state.tick, behavior.schedule_by_tick.shape[0] - 1)
    planned = behavior.schedule_by_tick[tick]  # [T, A], -1 where nothing is scheduled
    allowed = (planned >= 0) & pick_last(mask, np.maximum(planned, 0))
    np.copyto(action, planned, where=allowed)
