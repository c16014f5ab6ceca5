"""Relationships and social actions (§9.4, §9.7): the rivalry ledger, ties, chat and avoid_rival.

Two symmetric [towns, agents, agents] ledgers: the rivalry ledger (queue conflicts raise it, it
decays, weak edges are dropped, each agent keeps its ``max_edges`` strongest) and the ties
(trust, familiarity, tie rivalry), which events move by the deltas of the §9.4 table. Updates
arrive as sparse event lists (town, a, b) and are scattered with ``np.add.at``, so a pair hit
twice in one tick accumulates; decay and the max_edges cut run over whole arrays.

A rival is *avoided* once the ledger reaches ``avoid_threshold``: it makes a chat with the
avoider fail, unmasks avoid_rival and counts in ``rivalry_avoid_count``.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import DIR_DX, DIR_DY
from townlet.sim.indexing import pick
from townlet.sim.kpi import tally_conflicts
from townlet.sim.rng import STREAM_CHAT, uniform
from townlet.sim.state import TownState
from townlet.sim.tick_record import Chats, TickRecord
from townlet.sim.world import World

# Tie deltas of the §9.4 table (trust, familiarity, rivalry).
POLITE_HANDOVER = (0.05, 0.05, -0.05)
SHARED_MEAL = (0.1, 0.25, 0.0)
HELPED_WHEN_LATE = (0.2, 0.1, -0.1)
TOOK_MY_SHIFT = (-0.1, 0.0, 0.3)
CHAT_FAILURE = (0.0, -0.05, 0.05)
CONFLICT_TIE_RIVALRY = 0.15  # tie rivalry per unit of conflict intensity


def _add_symmetric(
    ledger: np.ndarray,
    t: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    delta: np.ndarray | float,
    bounds: tuple[float, float],
) -> None:
    """Add ``delta`` to both (a, b) and (b, a), then clamp just the touched cells."""
    if np.isscalar(delta) and delta == 0.0:
        return
    if t.shape[0] == 1:
        # One pair: two sequential in-place adds are exactly what ``np.add.at`` does.
        ledger[t, a, b] += delta
        ledger[t, b, a] += delta
    else:
        np.add.at(ledger, (t, a, b), delta)
        np.add.at(ledger, (t, b, a), delta)
    ledger[t, a, b] = np.clip(ledger[t, a, b], *bounds)
    ledger[t, b, a] = np.clip(ledger[t, b, a], *bounds)


def change_ties(
    state: TownState,
    t: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    deltas: tuple[np.ndarray | float, np.ndarray | float, np.ndarray | float],
) -> None:
    """Apply a symmetric tie event (trust, familiarity, rivalry deltas) to each (t, a, b)."""
    if t.size == 0:
        return
    trust, familiarity, rivalry = deltas
    _add_symmetric(state.trust, t, a, b, trust, (-1.0, 1.0))
    _add_symmetric(state.familiarity, t, a, b, familiarity, (-1.0, 1.0))
    _add_symmetric(state.tie_rivalry, t, a, b, rivalry, (0.0, 1.0))


def conflict_intensity(
    boost: float, queue_length: np.ndarray, queue_length_boost: float
) -> np.ndarray:
    """§9.3: boost + queue_length_boost * (queue length - 1), clamped to [0.1, 5]."""
    raw = boost + queue_length_boost * np.maximum(queue_length - 1, 0)
    return np.clip(raw, 0.1, 5.0)


def record_conflicts(
    state: TownState,
    world: World,
    record: TickRecord,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    intensity: np.ndarray,
) -> None:
    """Queue conflicts between the (town, a, b) ``pairs``: raise the ledger and tie rivalry,
    count them for the KPIs and emit queue_conflict."""
    t, a, b = pairs
    keep = a != b
    t, a, b, intensity = t[keep], a[keep], b[keep], intensity[keep]
    if t.size == 0:
        return
    params = world.scenario.conflict.rivalry
    _add_symmetric(state.rivalry, t, a, b, params.increment_per_conflict * intensity, (0.0, 1.0))
    _add_symmetric(state.tie_rivalry, t, a, b, CONFLICT_TIE_RIVALRY * intensity, (0.0, 1.0))
    tally_conflicts(state, t, a, b, params.avoid_threshold)
    record.events.add("queue_conflict_events", t)
    record.events.add("queue_conflict_intensity_sum", t, weights=intensity)


def avoided(state: TownState, world: World) -> np.ndarray:
    """[T, A, A] b is a rival a avoids: ledger at or above avoid_threshold (and above 0)."""
    threshold = world.scenario.conflict.rivalry.avoid_threshold
    return state.rivalry >= threshold if threshold > 0.0 else state.rivalry > 0.0


def decay_relationships(state: TownState, world: World) -> None:
    """Ledger: linear decay, eviction below the threshold, top max_edges; ties: rivalry decay."""
    conflict = world.scenario.conflict
    params = conflict.rivalry
    ledger = state.rivalry
    ledger -= params.decay_per_tick
    ledger *= ledger >= max(params.eviction_threshold, 1e-12)  # drops weak edges and negatives
    # Fast path (0.8% of a tick at one town): a row can only exceed max_edges when the whole
    # batch has more edges than that (count_nonzero skips the signed zeros left above).
    if (
        np.count_nonzero(ledger) > params.max_edges
        and (ledger > 0.0).sum(axis=2).max(initial=0) > params.max_edges
    ):
        keep_strongest(ledger, params.max_edges)
    if conflict.tie_rivalry_decay > 0:
        np.maximum(state.tie_rivalry - conflict.tie_rivalry_decay, 0.0, out=state.tie_rivalry)


def keep_strongest(ledger: np.ndarray, max_edges: int) -> None:
    """Keep each agent's ``max_edges`` strongest rivals; an edge cut on either side is dropped.

    Ties in strength keep the lower agent index (stable sort), so the cut is deterministic.
    """
    agents = ledger.shape[-1]
    if agents - 1 <= max_edges:
        return
    order = np.argsort(-ledger, axis=2, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(agents), order.shape), axis=2)
    keep = rank < max_edges
    ledger *= keep & keep.transpose(0, 2, 1)


def avoid_steps(
    state: TownState, world: World, movers: np.ndarray, live_avoids: np.ndarray, tile: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First move away from each mover's strongest avoided living rival, and whether it widens
    the gap.

    The move picks the walkable neighbour farthest (Manhattan) from the rival, preferring north,
    south, east, west on ties. Returns ``(direction [T, A], widened [T, A])``.
    """
    strength = np.where(live_avoids, state.rivalry, -1.0)
    rival = strength.argmax(axis=2)
    rx, ry = pick(state.x, rival), pick(state.y, rival)
    current = np.abs(state.x - rx) + np.abs(state.y - ry)
    gap = np.abs(state.x[:, :, None] + DIR_DX[1:] - rx[:, :, None]) + np.abs(
        state.y[:, :, None] + DIR_DY[1:] - ry[:, :, None]
    )
    score = np.where(world.tile_actions[tile, 1:5], gap, -1)
    best = score.argmax(axis=2)
    best_gap = pick(score, best)
    direction = np.where(movers & (best_gap >= 0), best + 1, 0)
    return direction, movers & (best_gap > current)


def resolve_chats(
    state: TownState,
    world: World,
    record: TickRecord,
    speakers: np.ndarray,
    partners: np.ndarray,
    avoids: np.ndarray,
) -> np.ndarray:
    """Each speaker talks to its best-liked partner in range; returns [T, A] chat succeeded.

    ``partners`` [T, A, A] are the living agents within one tile, ``avoids`` the :func:`avoided`
    rivals. The listener is the partner with the highest trust + familiarity - rivalry (lower
    index on ties). A listener who avoids the speaker makes it a chat_failure. Quality q in
    [0.05, 1] grows with the tie, both extroversions and a little per-town noise; success adds
    trust 0.05q and familiarity 0.1q to the pair.
    """
    ok = np.zeros(speakers.shape, dtype=bool)
    t, a = np.nonzero(speakers)
    if t.size == 0:
        return ok
    now = record.now
    tie = state.trust[t, a] + state.familiarity[t, a] - state.tie_rivalry[t, a]
    listener = np.where(partners[t, a], tie, -np.inf).argmax(axis=1)
    failed = avoids[t, listener, a]
    noise = uniform(state.key, now, STREAM_CHAT, lanes=state.x.shape[1])[t, a]
    extroversion = world.agents.extroversion
    quality = np.clip(
        0.5
        + 0.25 * (state.trust[t, a, listener] + state.familiarity[t, a, listener])
        + 0.1 * (extroversion[a] + extroversion[listener])
        + 0.2 * (noise - 0.5),
        0.05,
        1.0,
    )
    good = ~failed
    chats = Chats(t[good], a[good], listener[good], quality[good], t[failed], a[failed])
    deltas = (0.05 * chats.quality, 0.1 * chats.quality, 0.0)
    change_ties(state, chats.town, chats.speaker, chats.listener, deltas)
    change_ties(state, chats.failed_town, chats.failed_speaker, listener[failed], CHAT_FAILURE)
    record.events.add("chat_success_events", chats.town)
    record.events.add("chat_quality_sum", chats.town, weights=chats.quality)
    record.events.add("chat_failure_events", chats.failed_town)
    counts = record.events.counts  # and the tick's mean chat quality (0 without a good chat)
    n = counts["chat_success_events"]
    np.divide(counts["chat_quality_sum"], n, out=counts["chat_quality_mean"], where=n > 0)
    record.reward_inputs.chats = chats
    state.last_chat_tick[t, a] = now[t]
    ok[chats.town, chats.speaker] = True
    return ok
