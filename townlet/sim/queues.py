"""Object queues (DESIGN §9.3): FIFOs, age priority, ghost steps, polite handover.

A queue is not stored as a list: each agent carries ``queue_obj`` and a town-wide ``queue_seq``,
so an agent's FIFO index is the number of agents queued at the same object with a smaller seq.
That keeps every queue operation a vectorised [towns, agents(, objects)] computation.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.affordance_state import drop_affordances
from townlet.sim.events import StepScratch, running_index
from townlet.sim.gather import object_counts, object_ids
from townlet.sim.layout import Layout
from townlet.sim.relationships import (
    POLITE_HANDOVER,
    conflict_intensity,
    record_conflicts,
    tie_delta,
)
from townlet.sim.state import TownState

__all__ = ["object_counts", "queue_ranks", "pick_next", "queue_phase", "ghost_steps", "hand_over"]


def queue_ranks(state: TownState) -> np.ndarray:
    """[T, A] FIFO index of each queued agent in its object's queue (0 = head)."""
    q = state.queue_obj
    queued = q >= 0
    same = (q[:, :, None] == q[:, None, :]) & queued[:, None, :]
    earlier = same & (state.queue_seq[:, None, :] < state.queue_seq[:, :, None])
    return earlier.sum(axis=2)


def pick_next(state: TownState, layout: Layout, now: np.ndarray) -> np.ndarray:
    """[T, O] the waiter that goes next: min ``index - age_priority_weight * waited``, -1 if none.

    Equal priorities go to the earlier FIFO index: the tiny ``rank * 1e-7`` term breaks ties
    without reordering anything else (ranks and waits are integers).
    """
    weight = layout.scenario.queue_fairness.age_priority_weight
    rank = queue_ranks(state)
    prio = rank - weight * (now[:, None] - state.queue_tick) + rank * 1e-7
    onehot = state.queue_obj[:, :, None] == object_ids(layout.num_objects)
    key = np.where(onehot, prio[:, :, None], np.inf)
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
    offset = running_index(t)
    state.queue_obj[t, a] = o
    state.queue_seq[t, a] = state.seq[t] + offset
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


def queue_phase(state: TownState, layout: Layout, now: np.ndarray, scratch: StepScratch) -> None:
    """Fill free slots from the queues (best priority first), then count stalls and ghost-step.

    Object counts are taken once and retaken only after a round of grants changed them.
    """
    if not np.count_nonzero(state.queue_obj >= 0):
        state.stall.fill(0)  # nobody waits anywhere: no slot to fill and nothing is stalled
        return
    n_obj = layout.num_objects
    queued = object_counts(state.queue_obj, n_obj)
    full = object_counts(state.hold_obj, n_obj) >= layout.obj_capacity
    for _ in range(layout.tables.max_capacity):
        free = (queued > 0) & ~full
        if not np.count_nonzero(free):
            break
        nxt = pick_next(state, layout, now)
        t, o = np.nonzero(free & (nxt >= 0))
        grant(state, t, nxt[t, o], o, now)
        queued = object_counts(state.queue_obj, n_obj)
        full = object_counts(state.hold_obj, n_obj) >= layout.obj_capacity
    ghost_steps(state, layout, now, scratch, full, queued)


def ghost_steps(
    state: TownState,
    layout: Layout,
    now: np.ndarray,
    scratch: StepScratch,
    full: np.ndarray,
    qlen: np.ndarray,
) -> None:
    """Count stalled ticks; evict idle holders stalled ``ghost_step_after`` ticks to the tail.

    ``full`` [T, O] marks objects held to capacity, ``qlen`` [T, O] counts waiters. A tick is
    stalled only while a holder sits on the object without running its affordance. The evicted
    holder's affordance is dropped, a conflict with the queue head is recorded (intensity from
    ghost_step_boost and the queue length), and the next waiter is granted. The evicted agent
    keeps its original joined_tick, so with age priority its long wait can move it ahead of
    newer waiters at the next handover.
    """
    sc = layout.scenario
    # Only a holder that is not running an affordance blocks the queue (DESIGN §13): a sleep,
    # a shower or a meal in progress outlasts ghost_step_after by design and is never cut short
    # (unless the scenario keeps the older rule, evict_running).
    if sc.queue_fairness.evict_running:
        idle_hold = state.hold_obj  # the older rule: any holder blocks
    else:
        idle_hold = np.where(state.run_aff < 0, state.hold_obj, -1)
    stalled = full & (qlen > 0) & (object_counts(idle_hold, layout.num_objects) > 0)
    state.stall += stalled  # stalled: one more tick; otherwise reset to 0 just below
    state.stall *= stalled
    ghost = stalled & (state.stall >= sc.queue_fairness.ghost_step_after)
    if not np.count_nonzero(ghost):
        return
    t, o = np.nonzero(ghost)
    # The longest-serving idle holder goes (ties: lower agent index).
    holds = idle_hold[t] == o[:, None]
    evicted = np.argmin(np.where(holds, state.hold_since[t], np.iinfo(np.int64).max), axis=1)
    ranks = queue_ranks(state)[t]
    head = np.argmax((state.queue_obj[t] == o[:, None]) & (ranks == 0), axis=1)
    nxt = pick_next(state, layout, now)[t, o]
    drop_affordances(state, t, evicted)
    state.hold_obj[t, evicted] = -1
    join_tail(state, t, evicted, o, now, keep_joined=True)
    grant(state, t, nxt, o, now)
    rc = sc.conflict.rivalry
    intensity = conflict_intensity(rc.ghost_step_boost, qlen[t, o], rc.queue_length_boost)
    record_conflicts(state, sc, scratch, t, evicted, head, intensity)
    scratch.count("ghost_step_events", t)


def hand_over(
    state: TownState,
    layout: Layout,
    now: np.ndarray,
    scratch: StepScratch,
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
    qlen = object_counts(state.queue_obj, layout.num_objects)[t, o]
    has_queue = qlen > 0
    t, leaver, o, qlen = t[has_queue], leaver[has_queue], o[has_queue], qlen[has_queue]
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
    fifo_pick = pick_next(state, layout, now)[t, o]
    chosen = np.where(polite, polite_pick, fifo_pick)
    grant(state, t, chosen, o, now)
    tie_delta(state, t[polite], leaver[polite], chosen[polite], *POLITE_HANDOVER)
    scratch.count("handover_events", t[polite])
    rude = ~polite
    rc = layout.scenario.conflict.rivalry
    intensity = conflict_intensity(rc.handover_boost, qlen[rude], rc.queue_length_boost)
    record_conflicts(
        state, layout.scenario, scratch, t[rude], leaver[rude], chosen[rude], intensity
    )
