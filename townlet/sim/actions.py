"""The action phase of a tick (§9.1, §9.7): moves, goal-directed options, starts, requests, chats.

Masked actions are executed as ``wait`` and reported as unsuccessful. All targets, chat partners
and avoid directions are taken from the positions at the start of the tick, then everybody
moves at once (agents do not block each other; walls do).
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import AVOID, CHAT, EAT, NUM_ACTIONS, SLEEP, WORK
from townlet.sim.events import StepScratch
from townlet.sim.gather import nearest_goal, pick_last
from townlet.sim.layout import UNREACHABLE, Layout
from townlet.sim.queues import release
from townlet.sim.social import avoid_steps, resolve_chats
from townlet.sim.starts import request_objects, shared_meals, start_affordances, start_work
from townlet.sim.state import TownState
from townlet.sim.view import WorldView

# Per action id: the move it makes by itself (1..4 for the moves, else 0), and whether it is an
# object option (eat, cook, shower, sleep).
_MOVE_STEP = np.array([0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0], dtype=np.int64)
_IS_OBJECT_OPTION = (np.arange(NUM_ACTIONS) >= EAT) & (np.arange(NUM_ACTIONS) <= SLEEP)
_NO_COLUMN = np.zeros((1, 1), dtype=np.int64)  # no object option at all (broadcasts to [T, A])


def _option_columns(view: WorldView, act: np.ndarray) -> np.ndarray:
    """[T, A] goal column (object + 1) each object option heads for; 0 for none / other actions.

    An agent already holding or queued at an object the option can use sticks with it, so a
    waiting agent is not lured away by an equally near twin. Actions that are not object
    options have an all-False row in ``option_goal``, so they get column 0 without a test.
    """
    state, layout = view.state, view.layout
    tables = layout.tables
    allowed = tables.option_goal[act] & view.object_ok_pad[:, None, :]
    column = nearest_goal(view.object_row, allowed)
    own = np.where(state.hold_obj >= 0, state.hold_obj, state.queue_obj) + 1
    return np.where(tables.option_goal[act, own], own, column)


def _leave_out_of_reach(
    state: TownState, layout: Layout, tile: np.ndarray, column: np.ndarray, now: np.ndarray
) -> None:
    """Queue places and reservations need the agent in the object's use area and not asking
    for another object; otherwise they are given up (a held one as a failed release).

    ``tile`` is where the agents stand after moving and ``column`` the goal column of the
    object each heads for (object + 1; 0 for none)."""
    goal_dist = layout.tables.goal_dist
    wants = column > 0
    for field in ("queue_obj", "hold_obj"):
        obj = getattr(state, field)
        held = obj >= 0
        if not np.count_nonzero(held):
            continue
        own = obj + 1
        leave = (goal_dist[tile, own] != 0) | (wants & (column != own))
        leave &= held
        if not np.count_nonzero(leave):
            continue
        if field == "queue_obj":
            obj[leave] = -1
        else:
            t, a = np.nonzero(leave)
            release(state, t, a, success=False, cooldown=0, now=now)


def apply_actions(
    view: WorldView, actions: np.ndarray, mask: np.ndarray, scratch: StepScratch
) -> None:
    """Execute one action per agent; updates state in place and records social events.

    ``view`` must describe the state as the tick begins; everything it caches that moves
    invalidate (targets, distances, chat partners) is read before anybody moves.
    """
    state, layout = view.state, view.layout
    tables = layout.tables
    now = scratch.now
    success = pick_last(mask, actions)
    act = actions * success  # a masked action is executed as wait (0)
    state.last_action[:] = act
    # How many agents chose each action: one bincount decides which branches run at all.
    chosen = np.bincount(act.reshape(-1), minlength=NUM_ACTIONS).tolist()

    tile = view.frame.tile
    step = _MOVE_STEP[act]
    obj_column = _NO_COLUMN
    any_obj = layout.num_objects > 0 and sum(chosen[EAT : SLEEP + 1]) > 0
    any_goal = any_obj or chosen[WORK] > 0
    if any_goal:
        is_obj = _IS_OBJECT_OPTION[act]
        is_work = act == WORK
        obj_column = _option_columns(view, act) if any_obj else np.zeros_like(act)
        column = np.where(is_work, tables.agent_goal, obj_column)
        goal_dist = tables.goal_dist[tile, column]  # UNREACHABLE in column 0 (no goal)
        # The BFS step is 0 at the goal and where it is unreachable: it needs no masking.
        step = step + tables.goal_next[tile, column]
        is_goal = is_obj | is_work
        success &= ~(is_goal & (goal_dist >= UNREACHABLE))
        at_goal = is_goal & (goal_dist == 0)
        any_goal = bool(np.count_nonzero(at_goal))
    if chosen[CHAT]:
        _ = view.frame  # fix the chat partners of the pre-move positions
    widened = None
    if chosen[AVOID]:
        avoiders = act == AVOID
        avoid_dir, widened = avoid_steps(view, avoiders)
        step = np.where(avoiders, avoid_dir, step)

    # Phase order inside the tick: starts use the reservations held when the tick began, so a
    # request granted this tick starts next tick ("step, then queue, then start").
    if any_goal:  # somebody stands at the goal of its option
        target = obj_column - 1  # object index for object options, -1 otherwise
        at_obj = at_goal & is_obj
        start = at_obj & (state.hold_obj == target) & (state.run_aff < 0)
        request = at_obj & (target != state.hold_obj) & (target != state.queue_obj)
        work_here = at_goal & is_work

    if np.count_nonzero(step):
        dest = tables.move_dest[tile, step]  # the same tile when the step is blocked
        moved = dest != tile
        success &= moved | (step == 0)
        tables.tile_x.take(dest, out=state.x)
        tables.tile_y.take(dest, out=state.y)
        if widened is not None:
            scratch.term("social_avoid")[:] += np.where(
                moved & widened, layout.scenario.rewards.social.avoid_rival, 0.0
            )
        tile = dest

    if layout.num_objects:
        _leave_out_of_reach(state, layout, tile, obj_column, now)
    if any_goal:
        started_eating = start_affordances(view, act, start, target, success, scratch)
        request_objects(state, layout, act, request, target, success, now)
        start_work(view, work_here, success)
        shared_meals(state, layout, started_eating, scratch)
    if chosen[CHAT]:
        speakers = act == CHAT
        chatted = resolve_chats(view, speakers, scratch)
        success &= ~speakers | chatted
    state.last_success[:] = success
