"""The 81 named features (§9.8), filled column by column for all agents at once.

Definitions that are not self-evident:
- ``embedding_slot_norm`` agent index / agent count; ``ctx_reset_flag`` 1 on an episode's first
  observation; ``episode_progress`` tick / scenario.ticks.
- ``rivalry_max`` / ``rivalry_avoid_count`` from the rivalry ledger row.
- ``last_action_duration`` share of the running affordance already done (0 when idle).
- ``path_hint_*`` one-hot first move towards the agent's current goal: its job site when the
  shift (or the behaviour's arrival buffer before it) is on and it is not working, otherwise
  the nearest object for its lowest need (a stove when hungry and no meal is in reach).
- neighbourhood ratios count inside the variant's map window.
- social slots: two friends (highest trust + familiarity), then two rivals (highest tie rivalry
  among the rest) among agents with any non-zero tie; lower index wins ties. Each slot is the
  other agent's 8-dim id embedding + trust, familiarity, rivalry; empty slots are zero.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import (
    ACTION_HASH,
    AFF_WORK,
    COOK,
    EAT,
    EMBED_DIM,
    FEATURE_INDEX,
    NUM_FEATURES,
    SHOWER,
    SLEEP,
    SOCIAL_SLOT_DIM,
    SOCIAL_SLOTS,
)
from townlet.sim.employment import attendance_ratio
from townlet.sim.layout import Layout
from townlet.sim.observations import LocalSummary
from townlet.sim.state import TownState
from townlet.sim.view import WorldView, index_grids, nearest, not_self

_NEED_OPTION = np.array([EAT, SHOWER, SLEEP])
_SOCIAL_START = FEATURE_INDEX["social_slot0_d0"]


def hint_steps(view: WorldView) -> np.ndarray:
    """[T, A] first move (0..4) towards each agent's current goal (see module docstring)."""
    state, layout = view.state, view.layout
    if layout.num_objects:
        dist = view.object_dist
        option = _NEED_OPTION[np.argmin(state.needs, axis=2)]
        target, _ = nearest(dist, layout.option_objects[option] & view.object_ok[:, None, :])
        no_meal = (target < 0) & (option == EAT)
        if np.count_nonzero(no_meal):
            stove, _ = nearest(dist, np.broadcast_to(layout.option_objects[COOK], dist.shape))
            target = np.where(no_meal, stove, target)
        step = view.object_step(target)
    else:
        step = np.zeros(state.x.shape, dtype=np.int64)
    if not np.count_nonzero(layout.has_job):
        return step
    buffer = layout.scenario.behavior.job_arrival_buffer
    on_duty = (
        layout.has_job
        & (view.phase >= layout.agent_start - buffer)
        & (view.phase < layout.agent_end)
        & (state.run_aff != AFF_WORK)
    )
    return np.where(on_duty, view.job_way[1], step)


def _top_two(key: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[T, A, 2] indices of the two largest ``key`` among ``use`` (stable: lower index first)
    and whether each slot is filled; padded when a town has fewer than two other agents."""
    towns, agents = use.shape[:2]
    order = np.argsort(-np.where(use, key, -np.inf), axis=2, kind="stable")[:, :, :2]
    if order.shape[2] < 2:
        order = np.pad(order, ((0, 0), (0, 0), (0, 2 - order.shape[2])))
    t, a = index_grids(towns, agents)
    valid = use[t[:, :, None], a[:, :, None], order]
    if agents < 2:
        valid[:, :, agents:] = False
    return order, valid


def _social(state: TownState, layout: Layout, out: np.ndarray) -> None:
    towns, agents = state.x.shape
    trust, fam, riv = state.trust, state.familiarity, state.tie_rivalry
    present = ((trust != 0) | (fam != 0) | (riv != 0)) & not_self(agents)
    if not np.count_nonzero(present):
        return  # no ties anywhere: every slot and aggregate stays 0
    friends, f_valid = _top_two(trust + fam, present)
    ids = np.arange(agents)
    chosen = (friends[:, :, 0:1] == ids) & f_valid[:, :, 0:1]
    chosen |= (friends[:, :, 1:2] == ids) & f_valid[:, :, 1:2]
    rivals, r_valid = _top_two(riv, present & ~chosen)
    slots = np.concatenate([friends, rivals], axis=2)  # [T, A, 4]
    valid = np.concatenate([f_valid, r_valid], axis=2)
    # Flat gathers (np.take) are much cheaper than 3-array fancy indexing on big batches.
    t, a = index_grids(towns, agents)
    flat = ((t * agents + a) * agents)[:, :, None] + slots
    s_trust, s_fam, s_riv = (np.take(m, flat) * valid for m in (trust, fam, riv))  # [T, A, 4]
    end = _SOCIAL_START + SOCIAL_SLOTS * SOCIAL_SLOT_DIM
    block = out[:, :, _SOCIAL_START:end].reshape(towns, agents, SOCIAL_SLOTS, SOCIAL_SLOT_DIM)
    # Row ``agents`` of the padded table is zeros: empty slots read it instead of masking.
    who = np.where(valid, slots, agents)
    block[..., :EMBED_DIM] = np.take(layout.embeddings_padded, who, axis=0)
    block[..., EMBED_DIM:] = np.stack([s_trust, s_fam, s_riv], axis=3)
    # aggregates over filled slots: trust mean, trust max, rivalry mean, rivalry max
    n = valid.sum(axis=2)
    has = n > 0
    for k, values in enumerate((s_trust, s_riv)):
        out[:, :, end + 2 * k] = np.divide(values.sum(axis=2), n, out=np.zeros(n.shape), where=has)
        peak = np.where(valid, values, -np.inf).max(axis=2)
        out[:, :, end + 2 * k + 1] = np.where(has, peak, 0.0)


def build_features(view: WorldView, summary: LocalSummary) -> np.ndarray:
    """[T, A, 81] float32 features in FEATURE_NAMES order."""
    state, layout = view.state, view.layout
    sc = layout.scenario
    towns, agents = state.x.shape
    out = np.zeros((towns, agents, NUM_FEATURES), dtype=np.float32)
    fi = FEATURE_INDEX
    out[:, :, 0:3] = state.needs
    out[:, :, fi["wallet"]] = state.wallet
    out[:, :, fi["lateness_counter"]] = state.lateness_counter
    out[:, :, fi["on_shift"]] = state.run_aff == AFF_WORK
    angle = 2.0 * np.pi * (state.tick % sc.ticks_per_day) / sc.ticks_per_day
    out[:, :, fi["time_sin"]] = np.sin(angle)[:, None]
    out[:, :, fi["time_cos"]] = np.cos(angle)[:, None]
    out[:, :, fi["attendance_ratio"]] = attendance_ratio(state)
    out[:, :, fi["wages_withheld"]] = state.wages_withheld
    out[:, :, fi["shift_pre"] : fi["shift_post"] + 1] = state.shift_state[:, :, None] == np.arange(
        5
    )
    out[:, :, fi["embedding_slot_norm"]] = np.arange(agents) / agents
    out[:, :, fi["ctx_reset_flag"]] = state.ctx_reset[:, None]
    out[:, :, fi["episode_progress"]] = np.minimum(state.tick / sc.ticks, 1.0)[:, None]
    out[:, :, fi["rivalry_max"]] = state.rivalry.max(axis=2)
    out[:, :, fi["rivalry_avoid_count"]] = view.avoids.sum(axis=2)
    out[:, :, fi["last_action_id_hash"]] = ACTION_HASH[state.last_action]
    out[:, :, fi["last_action_success"]] = state.last_success
    running = (state.run_aff >= 0) & (state.run_duration > 0)
    out[:, :, fi["last_action_duration"]] = np.divide(
        state.run_elapsed, state.run_duration, out=np.zeros((towns, agents)), where=running
    )
    out[:, :, fi["reservation_active"]] = state.hold_obj >= 0
    out[:, :, fi["in_queue"]] = state.queue_obj >= 0
    hint = fi["path_hint_north"]
    out[:, :, hint : hint + 4] = hint_steps(view)[:, :, None] == np.arange(1, 5)
    out[:, :, fi["neighbor_agent_ratio"]] = np.minimum(1.0, summary.agents / (summary.tiles - 1))
    out[:, :, fi["neighbor_object_ratio"]] = np.minimum(1.0, summary.objects / summary.tiles)
    out[:, :, fi["reserved_tile_ratio"]] = np.minimum(1.0, summary.reserved / summary.tiles)
    out[:, :, fi["nearest_agent_distance"]] = np.minimum(1.0, summary.nearest / summary.radius)
    _social(state, layout, out)
    return out
