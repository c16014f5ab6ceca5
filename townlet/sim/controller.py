"""The scripted threshold controller (§9.9): BC expert and baseline, vectorised over all agents.

Priority per agent (first that applies): committed to a running affordance -> wait; a pending
request (holding or queued) -> keep asking with the same option; shift on and not working ->
work; within the arrival buffer before the shift -> walk to work (once there, chat with a
friend if one is ready, else wait); hunger,
hygiene, energy below threshold -> eat (if a meal is in reach, else cook), shower, sleep; a
friend within one tile and the chat interval passed -> chat; an avoided rival on the same
tile -> avoid_rival; else wait. Scenario schedules then override it per agent, and anything the
mask forbids becomes wait, so its trajectories are valid BC data in the §9.7 action space.
"""

from __future__ import annotations

from typing import Any

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
    SHOWER,
    SLEEP,
    WAIT,
    WORK,
)
from townlet.sim.layout import Layout
from townlet.sim.state import TownState
from townlet.sim.view import WorldView, pick


def scripted_actions(view: WorldView, mask: np.ndarray) -> np.ndarray:
    """[T, A] int64 actions of the threshold controller for the current state and mask."""
    state, layout = view.state, view.layout
    sc = layout.scenario
    beh = sc.behavior
    needs = state.needs

    # object_ok already requires a stocked fridge in reach of a fridge or table.
    meal_in_reach = (layout.option_objects[EAT] & view.object_ok).any(axis=1)
    hunger_option = np.where(meal_in_reach, EAT, COOK)[:, None]

    buffer = np.rint(beh.job_arrival_buffer * (1.0 + 0.5 * layout.ambition)).astype(np.int64)
    start, phase = layout.agent_start, view.phase
    in_shift = view.in_shift & (state.run_aff != AFF_WORK)
    before = layout.has_job & (phase >= start - buffer) & (phase < start)
    jdist, _ = view.job_way

    threshold = beh.friend_threshold - 0.5 * layout.extroversion
    tie = state.trust + state.familiarity
    friends = view.chat_partners & (tie > threshold[None, :, None])
    chat_ready = friends.any(axis=2) & (
        state.tick[:, None] - state.last_chat_tick >= beh.chat_interval
    )
    same_tile = (state.x[:, :, None] == state.x[:, None, :]) & (
        state.y[:, :, None] == state.y[:, None, :]
    )
    rival_here = (view.avoids & same_tile & state.alive[:, None, :]).any(axis=2)

    pending = (state.hold_obj >= 0) | (state.queue_obj >= 0)
    conditions = [
        state.run_aff >= 0,
        pending,
        in_shift,
        before & (jdist == 0) & chat_ready,
        before & (jdist == 0),
        before,
        needs[:, :, HUNGER] < beh.hunger_threshold,
        needs[:, :, HYGIENE] < beh.hygiene_threshold,
        needs[:, :, ENERGY] < beh.energy_threshold,
        chat_ready,
        rival_here,
    ]
    choices: list[Any] = [
        WAIT,
        state.pending_option,
        WORK,
        CHAT,
        WAIT,
        WORK,
        hunger_option,
        SHOWER,
        SLEEP,
        CHAT,
        AVOID,
    ]
    # First matching rule wins: apply the rules from the last to the first.
    action = np.full(state.x.shape, WAIT, dtype=np.int64)
    for condition, choice in zip(reversed(conditions), reversed(choices), strict=True):
        action = np.where(condition, choice, action)
    action = _apply_schedule(state, layout, mask, action)
    allowed = pick(mask, action)
    return np.where(allowed, action, WAIT)


def _apply_schedule(
    state: TownState, layout: Layout, mask: np.ndarray, action: np.ndarray
) -> np.ndarray:
    """Scheduled actions replace the controller's where they are currently allowed."""
    sched = layout.schedule
    if not np.count_nonzero(sched >= 0):
        return action
    tick = np.minimum(state.tick, sched.shape[1] - 1)
    planned = sched[:, tick].T.astype(np.int64)  # [T, A]
    allowed = pick(mask, planned)
    return np.where((planned >= 0) & allowed, planned, action)
