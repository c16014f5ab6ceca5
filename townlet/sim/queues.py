"""Object queues and reservations (DESIGN §9.3): requests, FIFOs with age priority, ghost steps
and polite handovers.

A queue is not stored as a list: each agent carries ``queue_obj`` and a town-wide ``queue_seq``,
so an agent's FIFO index is the number of agents queued at the same object with a smaller seq.
That keeps every queue operation a vectorised [towns, agents(, objects)] computation. Holding
an object (``hold_obj``) is its reservation: only a holder may start the object's affordance.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.grid import object_goal
from townlet.sim.indexing import (
    object_counts,
    object_ids,
    pick,
    rank_per_object,
    running_index,
)
from townlet.sim.relationships import (
    POLITE_HANDOVER,
    change_ties,
    conflict_intensity,
    record_conflicts,
)
from townlet.sim.state import TownState
from townlet.sim.tick_record import TickRecord
from townlet.sim.world import World

_NOBODY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def queue_ranks(state: TownState) -> np.ndarray:
    """[T, A] FIFO index of each queued agent in its object's queue (0 = head)."""
    obj = state.queue_obj
    queued = obj >= 0
    same = (obj[:, :, None] == obj[:, None, :]) & queued[:, None, :]
    earlier = same & (state.queue_seq[:, None, :] < state.queue_seq[:, :, None])
    return earlier.sum(axis=2)


def pick_next(state: TownState, world: World, now: np.ndarray) -> np.ndarray:
    """[T, O] the waiter that goes next: min ``index - age_priority_weight * waited``, -1 if none.

    Equal priorities go to the earlier FIFO index: the tiny ``rank * 1e-7`` term breaks ties
    without reordering anything else (ranks and waits are integers).
    """
    weight = world.scenario.queue_fairness.age_priority_weight
    rank = queue_ranks(state)
    priority = rank - weight * (now[:, None] - state.queue_tick) + rank * 1e-7
    onehot = state.queue_obj[:, :, None] == object_ids(world.num_objects)
    key = np.where(onehot, priority[:, :, None], np.inf)
    # The minimum is the value at the argmin (NaN included), without a take_along_axis.
    return np.where(np.isfinite(key.min(axis=1)), key.argmin(axis=1), -1)


def grant(state: TownState, t: np.ndarray, a: np.ndarray, o: np.ndarray, now: np.ndarray) -> None:
    """Make each (t, a) the holder of object o, taking it out of any queue.

    ``queue_tick`` is left as it was: it keeps the tick the holder first asked for the object.
    """
    state.hold_obj[t, a] = o
    state.hold_since[t, a] = now[t]
    state.queue_obj[t, a] = -1
    state.stall[t, o] = 0


def join_tail(
    state: TownState,
    t: np.ndarray,
    a: np.ndarray,
    o: np.ndarray,
    now: np.ndarray,
    keep_joined: bool = False,
) -> None:
    """Append each (t, a) to object o's queue; entries sorted by town keep their order.

    ``keep_joined`` keeps the agents' original joined_tick (a ghost-stepped holder rejoins the
    tail but its waiting time still counts for age priority); otherwise joined_tick is now.
    """
    if t.size == 0:
        return
    state.queue_obj[t, a] = o
    state.queue_seq[t, a] = state.seq[t] + running_index(t)
    if not keep_joined:
        state.queue_tick[t, a] = now[t]
    state.seq += np.bincount(t, minlength=state.seq.shape[0])


def release(
    state: TownState, t: np.ndarray, a: np.ndarray, success: bool, cooldown: int, now: np.ndarray
) -> None:
    """Give up the held object: a successful release starts the cooldown, a failed one clears it."""
    o = state.hold_obj[t, a]
    state.cooldown_until[t, a, o] = now[t] + cooldown if success else 0
    state.hold_obj[t, a] = -1
    state.stall[t, o] = 0


def request_objects(
    state: TownState,
    world: World,
    option: np.ndarray,
    requests: np.ndarray,
    target: np.ndarray,
    success: np.ndarray,
) -> None:
    """Agents in ``requests`` ask for object ``target`` with ``option``: refused on cooldown,
    else they hold it (a slot is free and nobody waits) or join its queue."""
    if not np.count_nonzero(requests):  # fast path (6% of a tick at one town): no request
        return
    now = state.tick
    blocked = requests & (now[:, None] < pick(state.cooldown_until, target))
    success &= ~blocked
    requests = requests & ~blocked
    n_obj = world.num_objects
    free = pick(world.objects.capacity - object_counts(state.hold_obj, n_obj), target)
    queue_empty = pick(object_counts(state.queue_obj, n_obj), target) == 0
    granted = requests & queue_empty & (rank_per_object(target, requests, n_obj) < free)
    t, a = np.nonzero(granted)
    grant(state, t, a, target[t, a], now)
    state.queue_tick[t, a] = now[t]  # joined_tick of a holder served at once
    t, a = np.nonzero(requests & ~granted)
    join_tail(state, t, a, target[t, a], now)
    state.pending_option[requests] = option[requests]


def leave_out_of_reach(
    state: TownState, world: World, tile: np.ndarray, wanted: np.ndarray, now: np.ndarray
) -> None:
    """Queue places and reservations need the agent in the object's use area and not asking
    for another object; otherwise they are given up (a held one as a failed release).

    ``tile`` is where the agents stand after moving and ``wanted`` the goal column of the
    object each heads for (NO_GOAL for none)."""
    goal_dist = world.grid.goal_dist
    wants = wanted > 0
    for field in ("queue_obj", "hold_obj"):
        obj = getattr(state, field)
        held = obj >= 0
        if not np.count_nonzero(held):  # fast path (0.8% of a tick at one town): none held
            continue
        own = object_goal(obj)
        leave = (goal_dist[tile, own] != 0) | (wants & (wanted != own))
        leave &= held
        if not np.count_nonzero(leave):  # fast path (1% of a tick at one town): none left
            continue
        if field == "queue_obj":
            obj[leave] = -1
        else:
            t, a = np.nonzero(leave)
            release(state, t, a, success=False, cooldown=0, now=now)


def serve_queues(
    state: TownState, world: World, record: TickRecord
) -> tuple[np.ndarray, np.ndarray]:
    """Fill free slots from the queues (best priority first), then count stalls and ghost-step.

    Returns the (towns, agents) ghost-stepped this tick: their running affordance is dropped.
    """
    now = record.now
    if not np.count_nonzero(state.queue_obj >= 0):  # fast path (1% at one town): no queue
        state.stall.fill(0)  # no slot to fill and nothing is stalled
        return _NOBODY
    n_obj = world.num_objects
    # Counts are taken once and retaken only after a round of grants changed them.
    queued = object_counts(state.queue_obj, n_obj)
    full = object_counts(state.hold_obj, n_obj) >= world.objects.capacity
    for _ in range(world.objects.max_capacity):
        free = (queued > 0) & ~full
        if not np.count_nonzero(free):
            break
        successor = pick_next(state, world, now)
        t, o = np.nonzero(free & (successor >= 0))
        grant(state, t, successor[t, o], o, now)
        queued = object_counts(state.queue_obj, n_obj)
        full = object_counts(state.hold_obj, n_obj) >= world.objects.capacity
    return _ghost_steps(state, world, record, full, queued)


def _ghost_steps(
    state: TownState, world: World, record: TickRecord, full: np.ndarray, queued: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Count stalled ticks; evict idle holders stalled ``ghost_step_after`` ticks to the tail.

    ``full`` [T, O] marks objects held to capacity, ``queued`` [T, O] counts waiters. A tick is
    stalled only while a holder sits on the object without running its affordance. A conflict
    between the evicted holder and the queue head is recorded (intensity from ghost_step_boost
    and the queue length), and the next waiter is granted. The evicted agent keeps its original
    joined_tick, so with age priority its long wait can move it ahead of newer waiters at the
    next handover. Returns the evicted (towns, agents).
    """
    fairness = world.scenario.queue_fairness
    now = record.now
    # Only a holder that is not running an affordance blocks the queue (DESIGN §13): a sleep,
    # a shower or a meal in progress outlasts ghost_step_after by design and is never cut short
    # (unless the scenario keeps the older rule, evict_running, where any holder blocks).
    idle_hold = (
        state.hold_obj
        if fairness.evict_running
        else np.where(state.run_aff < 0, state.hold_obj, -1)
    )
    stalled = full & (queued > 0) & (object_counts(idle_hold, world.num_objects) > 0)
    state.stall += stalled  # stalled: one more tick; otherwise reset to 0 just below
    state.stall *= stalled
    ghost = stalled & (state.stall >= fairness.ghost_step_after)
    if not np.count_nonzero(ghost):  # fast path (11% of a tick at one town): no ghost step
        return _NOBODY
    t, o = np.nonzero(ghost)
    # The longest-serving idle holder goes (ties: lower agent index).
    holds = idle_hold[t] == o[:, None]
    evicted = np.argmin(np.where(holds, state.hold_since[t], np.iinfo(np.int64).max), axis=1)
    ranks = queue_ranks(state)[t]
    head = np.argmax((state.queue_obj[t] == o[:, None]) & (ranks == 0), axis=1)
    successor = pick_next(state, world, now)[t, o]
    state.hold_obj[t, evicted] = -1
    join_tail(state, t, evicted, o, now, keep_joined=True)
    grant(state, t, successor, o, now)
    rivalry = world.scenario.conflict.rivalry
    intensity = conflict_intensity(
        rivalry.ghost_step_boost, queued[t, o], rivalry.queue_length_boost
    )
    record_conflicts(state, world, record, (t, evicted, head), intensity)
    record.events.add("ghost_step_events", t)
    return t, evicted


def leave_after_use(
    state: TownState,
    world: World,
    record: TickRecord,
    t: np.ndarray,
    a: np.ndarray,
    obj: np.ndarray,
) -> None:
    """Agents (t, a) finished using ``obj``: a successful release (the cooldown starts), then
    the object passes to a waiter, one finisher per (town, object) at a time, so objects with
    capacity > 1 hand over in agent order."""
    cooldown = world.scenario.queue_fairness.cooldown_ticks
    release(state, t, a, success=True, cooldown=cooldown, now=record.now)
    if t.shape[0] == 1:
        _hand_over(state, world, record, t, a, obj)
        return
    key = t * max(world.num_objects, 1) + obj
    order = np.lexsort((a, key))
    t, a, obj, key = t[order], a[order], obj[order], key[order]
    round_of = running_index(key)  # 0, 1, ... among the finishers of each (town, object)
    for r in range(int(round_of.max(initial=-1)) + 1):
        turn = round_of == r
        _hand_over(state, world, record, t[turn], a[turn], obj[turn])


def _hand_over(
    state: TownState,
    world: World,
    record: TickRecord,
    t: np.ndarray,
    leaver: np.ndarray,
    o: np.ndarray,
) -> None:
    """After a normal completion at (t, o) by ``leaver``: pass the object to a waiter.

    The waiter with the best ``trust + familiarity - rivalry - 0.05 * index`` towards the leaver
    goes next when that score is positive (a polite handover, with its tie bonus). Otherwise the
    age-priority waiter takes it and the succession is recorded as a handover conflict
    (intensity from handover_boost and the queue length).
    """
    queued = object_counts(state.queue_obj, world.num_objects)[t, o]
    has_queue = queued > 0
    t, leaver, o, queued = t[has_queue], leaver[has_queue], o[has_queue], queued[has_queue]
    if t.size == 0:
        return
    waiting = state.queue_obj[t] == o[:, None]  # [n, A]
    ranks = queue_ranks(state)[t]
    score = (
        state.trust[t, :, leaver]
        + state.familiarity[t, :, leaver]
        - state.tie_rivalry[t, :, leaver]
        - 0.05 * ranks
    )
    score = np.where(waiting, score, -np.inf)
    polite_pick = np.argmax(score, axis=1)
    polite = score[np.arange(t.size), polite_pick] > 0.0
    fifo_pick = pick_next(state, world, record.now)[t, o]
    chosen = np.where(polite, polite_pick, fifo_pick)
    grant(state, t, chosen, o, record.now)
    change_ties(state, t[polite], leaver[polite], chosen[polite], POLITE_HANDOVER)
    record.events.add("handover_events", t[polite])
    rude = ~polite
    rivalry = world.scenario.conflict.rivalry
    intensity = conflict_intensity(rivalry.handover_boost, queued[rude], rivalry.queue_length_boost)
    record_conflicts(state, world, record, (t[rude], leaver[rude], chosen[rude]), intensity)
