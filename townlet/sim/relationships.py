"""Rivalry ledger and relationship ties (DESIGN §9.4), as symmetric [towns, agents, agents] arrays.

Updates arrive as sparse event lists (town, a, b) and are scattered with ``np.add.at`` so that a
pair hit twice in one tick accumulates; decay and the max_edges cut run over whole arrays.
"""

from __future__ import annotations

import numpy as np

from townlet.sim import kpi
from townlet.sim.events import StepScratch
from townlet.sim.scenario import Scenario
from townlet.sim.state import TownState

# Tie deltas of the §9.4 table (trust, familiarity, rivalry).
POLITE_HANDOVER = (0.05, 0.05, -0.05)
SHARED_MEAL = (0.1, 0.25, 0.0)
HELPED_WHEN_LATE = (0.2, 0.1, -0.1)
TOOK_MY_SHIFT = (-0.1, 0.0, 0.3)
CHAT_FAILURE = (0.0, -0.05, 0.05)
CONFLICT_TIE_RIVALRY = 0.15  # tie rivalry per unit of conflict intensity


def _scatter_sym(
    arr: np.ndarray,
    t: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    delta: np.ndarray | float,
    lo: float,
    hi: float,
) -> None:
    """Add ``delta`` to both (a, b) and (b, a), then clamp just the touched cells."""
    if np.isscalar(delta) and delta == 0.0:
        return
    if t.shape[0] == 1:
        # One pair: two sequential in-place adds are exactly what ``np.add.at`` does.
        arr[t, a, b] += delta
        arr[t, b, a] += delta
    else:
        np.add.at(arr, (t, a, b), delta)
        np.add.at(arr, (t, b, a), delta)
    arr[t, a, b] = np.clip(arr[t, a, b], lo, hi)
    arr[t, b, a] = np.clip(arr[t, b, a], lo, hi)


def tie_delta(
    state: TownState,
    t: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    trust: np.ndarray | float,
    familiarity: np.ndarray | float,
    rivalry: np.ndarray | float,
) -> None:
    """Apply a symmetric tie event to each (t, a, b) pair."""
    if t.size == 0:
        return
    _scatter_sym(state.trust, t, a, b, trust, -1.0, 1.0)
    _scatter_sym(state.familiarity, t, a, b, familiarity, -1.0, 1.0)
    _scatter_sym(state.tie_rivalry, t, a, b, rivalry, 0.0, 1.0)


def conflict_intensity(
    boost: float, queue_length: np.ndarray, queue_length_boost: float
) -> np.ndarray:
    """§9.3: boost + queue_length_boost * (queue length - 1), clamped to [0.1, 5]."""
    raw = boost + queue_length_boost * np.maximum(queue_length - 1, 0)
    return np.clip(raw, 0.1, 5.0)


def record_conflicts(
    state: TownState,
    sc: Scenario,
    scratch: StepScratch,
    t: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    intensity: np.ndarray,
) -> None:
    """A queue conflict between a and b: raise the ledger and tie rivalry, emit queue_conflict."""
    keep = a != b
    t, a, b, intensity = t[keep], a[keep], b[keep], intensity[keep]
    if t.size == 0:
        return
    inc = sc.conflict.rivalry.increment_per_conflict * intensity
    _scatter_sym(state.rivalry, t, a, b, inc, 0.0, 1.0)
    _scatter_sym(state.tie_rivalry, t, a, b, CONFLICT_TIE_RIVALRY * intensity, 0.0, 1.0)
    kpi.note_conflicts(state, t, a, b, sc.conflict.rivalry.avoid_threshold)
    scratch.count("queue_conflict_events", t)
    scratch.count("queue_conflict_intensity_sum", t, weights=intensity)


def enforce_max_edges(rivalry: np.ndarray, max_edges: int) -> None:
    """Keep each agent's ``max_edges`` strongest rivals; an edge cut on either side is dropped.

    Ties in strength keep the lower agent index (stable sort), so the cut is deterministic.
    """
    agents = rivalry.shape[-1]
    if agents - 1 <= max_edges:
        return
    order = np.argsort(-rivalry, axis=2, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(agents), order.shape), axis=2)
    keep = rank < max_edges
    rivalry *= keep & keep.transpose(0, 2, 1)


def decay_relationships(state: TownState, sc: Scenario) -> None:
    """Ledger: linear decay, eviction below the threshold, top max_edges; ties: rivalry decay."""
    params = sc.conflict.rivalry
    r = state.rivalry
    r -= params.decay_per_tick
    r *= r >= max(params.eviction_threshold, 1e-12)  # evicts decayed edges and clears negatives
    # A row can only exceed max_edges when the whole batch has more edges than that (what is
    # left is either above the threshold or a signed zero, which count_nonzero skips).
    if (
        np.count_nonzero(r) > params.max_edges
        and (r > 0.0).sum(axis=2).max(initial=0) > params.max_edges
    ):
        enforce_max_edges(r, params.max_edges)
    if sc.conflict.tie_rivalry_decay > 0:
        np.maximum(state.tie_rivalry - sc.conflict.tie_rivalry_decay, 0.0, out=state.tie_rivalry)
