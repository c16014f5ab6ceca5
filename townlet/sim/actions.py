"""The action phase of a tick (§9.1, §9.7): moves, goal-directed options, starts, requests, chats.

Masked actions are executed as ``wait`` and reported as unsuccessful. All targets, chat partners
and avoid directions are taken from the positions at the start of the tick, then everybody
moves at once (agents do not block each other; walls do).
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import AVOID, CHAT, DIR_DX, DIR_DY, EAT, MOVE_W, SLEEP, WAIT, WORK
from townlet.sim.events import StepScratch
from townlet.sim.layout import UNREACHABLE, Layout
from townlet.sim.queues import release
from townlet.sim.social import avoid_steps, resolve_chats
from townlet.sim.starts import request_objects, shared_meals, start_affordances, start_work
from townlet.sim.state import TownState
from townlet.sim.view import WorldView, nearest, pick


def _option_targets(view: WorldView, act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[T, A] object each goal option heads for, and its distance (-1 / UNREACHABLE if none).

    An agent already holding or queued at an object the option can use sticks with it, so a
    waiting agent is not lured away by an equally near twin.
    """
    state, layout = view.state, view.layout
    is_obj = (act >= EAT) & (act <= SLEEP)
    if layout.num_objects == 0 or not np.count_nonzero(is_obj):
        return np.full(act.shape, -1, dtype=np.int64), np.full(
            act.shape, UNREACHABLE, dtype=np.int64
        )
    dist = view.object_dist
    allowed = layout.option_objects[act] & view.object_ok[:, None, :]
    target, tdist = nearest(dist, allowed)
    own = np.where(state.hold_obj >= 0, state.hold_obj, state.queue_obj)
    sticky = (own >= 0) & layout.option_objects[act, np.maximum(own, 0)]
    own_dist = pick(dist, own)
    target = np.where(sticky, own, target)
    tdist = np.where(sticky, own_dist, tdist)
    return np.where(is_obj, target, -1), np.where(is_obj, tdist, UNREACHABLE)


def _leave_out_of_reach(
    state: TownState, layout: Layout, target: np.ndarray, now: np.ndarray
) -> None:
    """Queue places and reservations need the agent in the object's use area and not asking
    for another object; otherwise they are given up (a held one as a failed release)."""
    if layout.num_objects == 0:
        return
    for field in ("queue_obj", "hold_obj"):
        obj = getattr(state, field)
        held = obj >= 0
        if not np.count_nonzero(held):
            continue
        here = layout.dist_hwo[state.y, state.x, np.maximum(obj, 0)] == 0
        leave = held & (~here | ((target >= 0) & (target != obj)))
        t, a = np.nonzero(leave)
        if field == "queue_obj":
            state.queue_obj[t, a] = -1
        else:
            release(state, t, a, success=False, cooldown=0, now=now)


def apply_actions(
    view: WorldView, actions: np.ndarray, mask: np.ndarray, scratch: StepScratch
) -> None:
    """Execute one action per agent; updates state in place and records social events.

    ``view`` must describe the state as the tick begins; everything it caches that moves
    invalidate (targets, distances, chat partners) is read before anybody moves.
    """
    state, layout = view.state, view.layout
    now = scratch.now
    valid = pick(mask, actions)
    act = np.where(valid, actions, WAIT)
    success = valid.copy()
    state.last_action[:] = act

    is_obj = (act >= EAT) & (act <= SLEEP)
    is_work = act == WORK
    target, tdist = _option_targets(view, act)
    jdist, jstep = view.job_way
    speakers = act == CHAT
    if np.count_nonzero(speakers):
        _ = view.chat_partners  # cache the partners of the pre-move positions

    step = np.where((act >= 1) & (act <= MOVE_W), act, 0)
    step = np.where(is_obj & (tdist > 0), view.object_step(target), step)
    step = np.where(is_work & (jdist > 0) & (jdist < UNREACHABLE), jstep, step)
    widened = None
    if np.count_nonzero(act == AVOID):
        avoid_dir, widened = avoid_steps(view, act == AVOID)
        step = np.where(act == AVOID, avoid_dir, step)
    success &= ~(is_obj & ((target < 0) | (tdist >= UNREACHABLE)))
    success &= ~(is_work & (jdist >= UNREACHABLE))

    # Phase order inside the tick: starts use the reservations held when the tick began, so a
    # request granted this tick starts next tick ("step, then queue, then start").
    start = is_obj & (target >= 0) & (tdist == 0) & (state.hold_obj == target) & (state.run_aff < 0)
    request = (
        is_obj
        & (target >= 0)
        & (tdist == 0)
        & (target != state.hold_obj)
        & (target != state.queue_obj)
    )
    work_here = is_work & (jdist == 0)

    nx = state.x + DIR_DX[step]
    ny = state.y + DIR_DY[step]
    walk = layout.walk_pad[ny + 1, nx + 1]
    moved = (step > 0) & walk
    success &= ~((step > 0) & ~walk)
    state.x[:] = np.where(moved, nx, state.x)
    state.y[:] = np.where(moved, ny, state.y)
    if widened is not None:
        scratch.terms["social_avoid"] += np.where(
            moved & widened, layout.scenario.rewards.social.avoid_rival, 0.0
        )

    _leave_out_of_reach(state, layout, np.where(is_obj, target, -1), now)
    started_eating = start_affordances(view, act, start, target, success, scratch)
    request_objects(state, layout, act, request, target, success, now)
    start_work(view, work_here, success)
    shared_meals(state, layout, started_eating, scratch)
    if np.count_nonzero(speakers):
        chatted = resolve_chats(view, speakers, scratch)
        success &= ~speakers | chatted
    state.last_success[:] = success
