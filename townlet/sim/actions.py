"""The action phase of a tick (§9.1, §9.7): moves, goal-directed options, starts, requests, chats.

Masked actions are executed as ``wait`` and reported as unsuccessful. All targets, chat partners
and avoid directions are taken from the positions at the start of the tick, then everybody
moves at once (agents do not block each other; walls do). Options 5-9 take one step per tick
towards their target; at it they request the object (:mod:`townlet.sim.queues`), or - already
holding it - start its affordance (:mod:`townlet.sim.affordances`); work starts the shift
(:mod:`townlet.sim.employment`). Starts use the reservations held when the tick began, so a
request granted this tick starts next tick ("step, then queue, then start").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.affordances import shared_meals, start_affordances
from townlet.sim.constants import AVOID, CHAT, EAT, NUM_ACTIONS, OBJECT_OPTIONS, SLEEP, WORK
from townlet.sim.employment import start_work
from townlet.sim.grid import UNREACHABLE, goal_object, nearest_goal, object_goal
from townlet.sim.indexing import pick_last
from townlet.sim.queues import leave_out_of_reach, request_objects
from townlet.sim.relationships import avoid_steps, resolve_chats
from townlet.sim.state import TownState
from townlet.sim.tick_record import TickRecord
from townlet.sim.view import WorldView
from townlet.sim.world import World

# Per action id: the move it makes by itself (1..4 for the moves, else 0), and whether it is an
# object option (eat, cook, shower, sleep).
_MOVE_STEP = np.array([0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0], dtype=np.int64)
_IS_OBJECT_OPTION = np.isin(np.arange(NUM_ACTIONS), OBJECT_OPTIONS)
_NO_GOAL_COLUMN = np.zeros((1, 1), dtype=np.int64)  # no object option (broadcasts to [T, A])


@dataclass(slots=True)
class _Goals:
    """Where the goal-directed options of this tick lead, and what their agents do on arrival,
    from the reservations held as the tick begins ([T, A] each)."""

    object_column: np.ndarray  # goal column of the object an object option heads for
    target: np.ndarray  # its object index (-1 for other actions)
    step: np.ndarray  # first move towards the goal (0 there, unreachable or without one)
    start: np.ndarray  # at its object, holding it and idle: starts the affordance
    request: np.ndarray  # at its object, neither holding nor queueing for it: asks for it
    work_here: np.ndarray  # at its job site: starts work if the shift is on


def apply_actions(
    view: WorldView, actions: np.ndarray, mask: np.ndarray, record: TickRecord
) -> None:
    """Execute one action per agent; updates the state in place and records what happened.

    ``view`` must describe the state as the tick begins; everything it caches that moves
    invalidate (targets, distances, chat partners) is read before anybody moves.
    """
    state, world = view.state, view.world
    success = pick_last(mask, actions)
    act = actions * success  # a masked action is executed as wait (0)
    state.last_action[:] = act
    # How many agents chose each action: one bincount decides which branches run at all.
    chosen = np.bincount(act.reshape(-1), minlength=NUM_ACTIONS).tolist()
    frame = view.frame  # the positions as the tick begins
    step = _MOVE_STEP[act]
    goals = _head_for_goals(view, act, chosen, success)
    if goals is not None:
        step = step + goals.step
    widened = None
    if chosen[AVOID]:
        avoiders = act == AVOID
        avoid_dir, widened = avoid_steps(
            state, world, avoiders, view.rivals.live_avoids, frame.tile
        )
        step = np.where(avoiders, avoid_dir, step)
    tile, moved = _move(state, world, frame.tile, step, success)
    if widened is not None:
        record.reward_inputs.widened_gap = moved & widened
    if world.num_objects:
        wanted = _NO_GOAL_COLUMN if goals is None else goals.object_column
        leave_out_of_reach(state, world, tile, wanted, record.now)
    if goals is not None:
        started_eating = start_affordances(
            state, world, record, act, goals.start, goals.target, success
        )
        request_objects(state, world, act, goals.request, goals.target, success)
        start_work(state, world, goals.work_here, success, view.shifts)
        shared_meals(state, world, record, started_eating)
    if chosen[CHAT]:
        speakers = act == CHAT
        chatted = resolve_chats(state, world, record, speakers, frame.chat_partners, view.avoids)
        success &= ~speakers | chatted
    state.last_success[:] = success


def _head_for_goals(
    view: WorldView, act: np.ndarray, chosen: list[int], success: np.ndarray
) -> _Goals | None:
    """Targets, first steps and arrivals of the goal-directed options; None when nobody chose
    one. An option whose goal cannot be reached is unsuccessful (``success`` is updated)."""
    state, world = view.state, view.world
    grid = world.grid
    any_object = world.num_objects > 0 and sum(chosen[EAT : SLEEP + 1]) > 0
    if not (any_object or chosen[WORK] > 0):
        return None
    is_object = _IS_OBJECT_OPTION[act]
    is_work = act == WORK
    object_column = _object_columns(view, act) if any_object else np.zeros_like(act)
    column = np.where(is_work, world.jobs.site_goal, object_column)
    tile = view.frame.tile
    goal_dist = grid.goal_dist[tile, column]  # UNREACHABLE in NO_GOAL
    success &= ~((is_object | is_work) & (goal_dist >= UNREACHABLE))
    arrived = goal_dist == 0
    at_object = arrived & is_object
    target = goal_object(object_column)
    return _Goals(
        object_column=object_column,
        target=target,
        # The BFS step is 0 at the goal and where it is unreachable: it needs no masking.
        step=grid.goal_next[tile, column],
        start=at_object & (state.hold_obj == target) & (state.run_aff < 0),
        request=at_object & (target != state.hold_obj) & (target != state.queue_obj),
        work_here=arrived & is_work,
    )


def _object_columns(view: WorldView, act: np.ndarray) -> np.ndarray:
    """[T, A] goal column of the object each object option heads for; NO_GOAL for none and
    for other actions.

    An agent already holding or queued at an object the option can use sticks with it, so a
    waiting agent is not lured away by an equally near twin. Actions that are not object
    options have an all-False row in ``option_targets``, so they get NO_GOAL without a test.
    """
    state, targets = view.state, view.world.objects.option_targets
    allowed = targets[act] & view.usable[:, None, :]
    column = nearest_goal(view.object_distances, allowed)
    own = object_goal(np.where(state.hold_obj >= 0, state.hold_obj, state.queue_obj))
    return np.where(targets[act, own], own, column)


def _move(
    state: TownState, world: World, tile: np.ndarray, step: np.ndarray, success: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Everybody takes its step (0..4) at once; a step into a wall fails. Returns the tiles
    after moving and [T, A] moved."""
    grid = world.grid
    dest = grid.move_dest[tile, step]  # the same tile when the step is blocked
    moved = dest != tile
    success &= moved | (step == 0)
    grid.tile_x.take(dest, out=state.x)
    grid.tile_y.take(dest, out=state.y)
    return dest, moved
