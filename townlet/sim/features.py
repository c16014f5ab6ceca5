"""The 81 named features (§9.8), filled column by column for all agents at once.

Definitions that are not self-evident:
- ``embedding_slot_norm`` agent index / agent count; ``ctx_reset_flag`` 1 on an episode's first
  observation; ``episode_progress`` tick / scenario.ticks.
- ``rivalry_max`` / ``rivalry_avoid_count`` from the rivalry ledger row.
- ``last_action_duration`` share of the running affordance already done (0 when idle).
- ``path_hint_*`` one-hot first move towards the agent's current goal: its job site when the
  shift (or the behaviour's arrival buffer before it) is on and it is not working, otherwise
  the nearest usable object for its lowest need (a stove when hungry and no meal is in reach).
- neighbourhood ratios count inside the variant's map window (:mod:`townlet.sim.observations`).
- social slots: two friends (highest trust + familiarity), then two rivals (highest tie rivalry
  among the rest) among agents with any non-zero tie; lower index wins ties. Each slot is the
  other agent's 8-dim id embedding + trust, familiarity, rivalry; empty slots are zero. Then
  trust mean, trust max, rivalry mean, rivalry max over the filled slots (0 when none).

Parts whose inputs rarely change (social slots, attendance ratios, path hints) are memoised on
their inputs' bytes (:class:`~townlet.sim.view.Memo`), so they can never go stale. The module
runs a little over 300 lines on purpose: every feature column, the social slots included, is
written here, so a reader looking for one needs no other file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.constants import (
    ACTION_HASH,
    AFF_WORK,
    EAT,
    EMBED_DIM,
    FEATURE_INDEX,
    HUNGER,
    NUM_FEATURES,
    SHOWER,
    SLEEP,
    SOCIAL_SLOT_DIM,
    SOCIAL_SLOTS,
)
from townlet.sim.employment import attendance_ratio
from townlet.sim.grid import NO_GOAL, nearest_goal
from townlet.sim.indexing import not_self, row_starts
from townlet.sim.observations import LocalSummary
from townlet.sim.state import TownState
from townlet.sim.view import Memo, PositionFrame, WorldView
from townlet.sim.world import World

_NEED_OPTION = np.array([EAT, SHOWER, SLEEP])
_F = FEATURE_INDEX
_SOCIAL_START = FEATURE_INDEX["social_slot0_d0"]
_HINT = FEATURE_INDEX["path_hint_north"]
_SHIFT = FEATURE_INDEX["shift_pre"]
_NEIGHBOURHOOD = FEATURE_INDEX["neighbor_agent_ratio"]  # then object, reserved, nearest
# shift_* one-hot rows by shift_state code 0..4; code -1 (no job) reads the last, all-zero row.
_SHIFT_ONE_HOT = np.vstack([np.eye(5, dtype=np.float32), np.zeros((1, 5), dtype=np.float32)])
_DIRECTIONS = np.arange(1, 5)  # move codes of the four path_hint_* columns
_DAY_TABLE_MAX = 1 << 16  # longest day whose clock features are tabulated (512 KiB)


def day_clock(phase: np.ndarray, ticks_per_day: int) -> np.ndarray:
    """[N, 2] float32 (sin, cos) of ``2 pi phase / ticks_per_day`` for int64 phases [N]."""
    angle = 2.0 * np.pi * phase / ticks_per_day
    clock = np.empty((phase.shape[0], 2), dtype=np.float32)
    clock[:, 0] = np.sin(angle)
    clock[:, 1] = np.cos(angle)
    return clock


class PathHints:
    """The ``path_hint_*`` moves: first step (0..4) towards each agent's current goal.

    The object goal (nearest usable object for the lowest need, a stove when hungry and no meal
    is in reach) depends on the positions, the order of the needs and which objects are usable;
    it is kept with those inputs (the position frame by identity, the others by their bytes) and
    reused while they are unchanged. The job override depends on the clock and is applied on
    every call.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self._frame: PositionFrame | None = None
        self._key: tuple[bytes, bytes] | None = None
        self._column = np.zeros((0, 0), dtype=np.int64)

    def __call__(self, view: WorldView) -> np.ndarray:
        """[T, A] first move towards each agent's goal (see module docstring)."""
        state, world = view.state, self.world
        if world.num_objects:
            need = state.needs.argmin(axis=2)
            key = (need.tobytes(), view.usable.tobytes())
            if view.frame is not self._frame or key != self._key:
                self._column = self._object_goal(view, need)
                self._frame, self._key = view.frame, key
            column = self._column
        else:
            column = np.zeros(state.x.shape, dtype=np.int64)
        if world.jobs.any_job:
            on_duty = ~view.shifts.ended & (view.shifts.phase >= world.behavior.hint_start)
            on_duty &= state.run_aff != AFF_WORK
            column = np.where(on_duty, world.jobs.site_goal, column)
        return view.goal_step(column)

    def _object_goal(self, view: WorldView, need: np.ndarray) -> np.ndarray:
        objects = self.world.objects
        distances = view.object_distances
        allowed = objects.option_targets[_NEED_OPTION[need]] & view.usable[:, None, :]
        column = nearest_goal(distances, allowed)
        no_meal = (column == NO_GOAL) & (need == HUNGER)
        if not np.count_nonzero(no_meal):  # fast path (2% of a tick at 256 towns)
            return column
        return np.where(no_meal, nearest_goal(distances, objects.stoves), column)


class FeatureBuilder:
    """Builds ``features`` [T, A, 81] float32 for one world (FEATURE_NAMES order).

    Holds what does not change between calls: per-agent constants, the clock of every tick of
    the day, and the memos of the social slots, attendance ratios and path hints.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        agents = world.num_agents
        self.slot_norm = np.arange(agents) / agents
        self.social = SocialSlots(world.agents.embeddings_padded)
        self.hints = PathHints(world)
        # time_sin / time_cos of every tick of the day, when a day is short enough to tabulate
        # (the same float64 expression, evaluated over all phases at once).
        per_day = world.scenario.ticks_per_day
        self.day_table = (
            day_clock(np.arange(per_day), per_day) if per_day <= _DAY_TABLE_MAX else None
        )
        self._attendance: Memo[np.ndarray] = Memo()  # changes once per shift

    def _clock(self, phase: np.ndarray) -> np.ndarray:
        """[T, 2] (time_sin, time_cos) of each town's tick within the day ``phase`` [T]."""
        if self.day_table is not None:
            return self.day_table[phase]
        return day_clock(phase, self.world.scenario.ticks_per_day)

    def _attendance_ratio(self, state: TownState) -> np.ndarray:
        key = (state.attendance.tobytes(), state.attendance_total.tobytes())
        return self._attendance.get(key, lambda: attendance_ratio(state))

    def build(self, view: WorldView, summary: LocalSummary) -> np.ndarray:
        """[T, A, 81] float32 features of the state ``view`` describes (a fresh array).

        Where a column is computed by one ufunc with ``where=``, it is written through ``out=``:
        the float64 loop runs and casts to float32 on the way out, exactly like computing and
        then assigning, and the zeros of ``out`` stay where the condition is false.
        """
        state = view.state
        towns, agents = state.x.shape
        out = np.zeros((towns, agents, NUM_FEATURES), dtype=np.float32)
        out[:, :, 0:3] = state.needs
        out[:, :, _F["wallet"]] = state.wallet
        out[:, :, _F["lateness_counter"]] = state.lateness_counter
        out[:, :, _F["on_shift"]] = state.run_aff == AFF_WORK
        clock = self._clock(view.shifts.phase[:, 0])
        out[:, :, _F["time_sin"] : _F["time_cos"] + 1] = clock[:, None, :]
        out[:, :, _F["attendance_ratio"]] = self._attendance_ratio(state)
        out[:, :, _F["wages_withheld"]] = state.wages_withheld
        out[:, :, _SHIFT : _SHIFT + 5] = _SHIFT_ONE_HOT[state.shift_state]
        out[:, :, _F["embedding_slot_norm"]] = self.slot_norm
        out[:, :, _F["ctx_reset_flag"]] = state.ctx_reset[:, None]
        episode_ticks = self.world.scenario.ticks
        out[:, :, _F["episode_progress"]] = np.minimum(state.tick / episode_ticks, 1.0)[:, None]
        out[:, :, _F["rivalry_max"]] = state.rivalry.max(axis=2)
        out[:, :, _F["rivalry_avoid_count"]] = view.rivals.avoid_count
        out[:, :, _F["last_action_id_hash"]] = ACTION_HASH[state.last_action]
        out[:, :, _F["last_action_success"]] = state.last_success
        running = (state.run_aff >= 0) & (state.run_duration > 0)
        np.divide(
            state.run_elapsed,
            state.run_duration,
            out=out[:, :, _F["last_action_duration"]],
            where=running,
        )
        out[:, :, _F["reservation_active"]] = state.hold_obj >= 0
        out[:, :, _F["in_queue"]] = state.queue_obj >= 0
        out[:, :, _HINT : _HINT + 4] = self.hints(view)[:, :, None] == _DIRECTIONS
        out[:, :, _NEIGHBOURHOOD : _NEIGHBOURHOOD + 4] = summary.neighbourhood
        out[:, :, _SOCIAL_START:] = self.social(state)
        return out


# --- social slots -------------------------------------------------------------------------

SOCIAL_WIDTH = SOCIAL_SLOTS * SOCIAL_SLOT_DIM + 4  # slots then the four aggregates


def _top_two(
    key: np.ndarray, use: np.ndarray, starts: np.ndarray, first: np.ndarray, second: np.ndarray
) -> None:
    """Write into ``first`` and ``second`` [T, A] the two largest ``key`` among ``use``.

    Same order as a stable descending sort (lower index first on ties): the first is the
    first maximum; the second the first maximum once the first is struck out. Where fewer than
    two are usable, a stable sort continues with the unusable indices in order (0, then 1 if
    0 was taken), and so does this; callers mask those slots out. ``starts`` are the flat row
    offsets of [T, A, A] arrays (``row_starts``); needs A >= 2.
    """
    masked = np.where(use, key, -np.inf)
    masked.argmax(axis=2, out=first)
    masked.reshape(-1)[starts + first] = -np.inf
    masked.argmax(axis=2, out=second)
    # Nothing usable left: argmax gave 0; a stable sort gives 0, or 1 when 0 came first.
    second[second == first] = 1


@dataclass(slots=True)
class _Friends:
    """The friend half of the slots, which depends on trust, familiarity and on which tie
    rivalries are non-zero, but not on their values (those decay on most ticks)."""

    any_tie: bool  # some pair has a tie at all
    rest: np.ndarray  # [T, A, A] candidates for the rival slots: tied, not a chosen friend
    slots: np.ndarray  # [2, T, A] friend indices
    valid: np.ndarray  # [2, T, A] the friend slot is filled


def _friends(state: TownState) -> _Friends:
    towns, agents = state.x.shape
    trust, familiarity = state.trust, state.familiarity
    present = ((trust != 0) | (familiarity != 0) | (state.tie_rivalry != 0)) & not_self(agents)
    slots = np.zeros((2, towns, agents), dtype=np.int64)
    if not np.count_nonzero(present):  # no ties anywhere: the social block stays zero
        return _Friends(False, present, slots, np.zeros(slots.shape, dtype=bool))
    starts = row_starts(towns, agents, agents)
    _top_two(trust + familiarity, present, starts, slots[0], slots[1])
    flat = slots + starts
    # Rivals are chosen among the rest: strike out the friend slots (where a slot is empty
    # ``present`` is already False there, so striking it changes nothing).
    rest = present.copy()
    rest.reshape(-1)[flat] = False
    return _Friends(True, rest, slots, present.take(flat))


def social_block(state: TownState, embeddings_padded: np.ndarray, friends: _Friends) -> np.ndarray:
    """[T, A, SOCIAL_WIDTH] float32 social features of every agent (see module docstring);
    ``friends`` is ``_friends(state)``."""
    towns, agents = state.x.shape
    block = np.zeros((towns, agents, SOCIAL_WIDTH), dtype=np.float32)
    if agents < 2 or not friends.any_tie:
        return block  # no ties anywhere: every slot and aggregate stays 0
    trust, familiarity, rivalry = state.trust, state.familiarity, state.tie_rivalry
    starts = row_starts(towns, agents, agents)
    # Slot-major [4, T, A]: every per-slot array is contiguous, and sums over the slot axis add
    # slot by slot in order, exactly like a sum over the last axis of [T, A, 4].
    slots = np.empty((SOCIAL_SLOTS, towns, agents), dtype=np.int64)
    slots[:2] = friends.slots
    _top_two(rivalry, friends.rest, starts, slots[2], slots[3])
    flat = slots + starts
    valid = np.empty(slots.shape, dtype=bool)
    valid[:2] = friends.valid
    friends.rest.take(flat[2:], out=valid[2:])
    # [3 ties, 4 slots, T, A]: trust, familiarity and rivalry of each slot (0 when empty).
    ties = np.empty((3, *slots.shape))
    trust.take(flat, out=ties[0])
    familiarity.take(flat, out=ties[1])
    rivalry.take(flat, out=ties[2])
    ties *= valid
    per_slot = block[:, :, : SOCIAL_SLOTS * SOCIAL_SLOT_DIM].reshape(
        towns, agents, SOCIAL_SLOTS, SOCIAL_SLOT_DIM
    )
    # Row ``agents`` of the padded table is zeros: empty slots read it instead of masking.
    slots[~valid] = agents
    per_slot[..., :EMBED_DIM] = embeddings_padded[slots].transpose(1, 2, 0, 3)
    per_slot[..., EMBED_DIM:] = ties.transpose(2, 3, 1, 0)
    # Aggregates over filled slots: mean and max of trust and of rivalry (ties 0 and 2).
    kept = ties[::2]
    n = valid.sum(axis=0)
    has = n > 0
    mean = np.divide(kept.sum(axis=1), n, out=np.zeros((2, towns, agents)), where=has)
    peak = np.where(valid, kept, -np.inf).max(axis=1)
    aggregates = block[:, :, SOCIAL_SLOTS * SOCIAL_SLOT_DIM :].reshape(towns, agents, 2, 2)
    aggregates[..., 0] = mean.transpose(1, 2, 0)  # trust mean, rivalry mean
    aggregates[..., 1] = np.where(has, peak, 0.0).transpose(1, 2, 0)  # trust max, rivalry max
    return block


class SocialSlots:
    """``social_block`` behind two memos: the whole block keyed on the three tie arrays, and
    the friend half keyed on trust, familiarity and the non-zero pattern of tie rivalry, so a
    tick where tie rivalry only decays redoes the rivals alone. A returned block is shared;
    callers copy it.
    """

    def __init__(self, embeddings_padded: np.ndarray) -> None:
        self.embeddings_padded = embeddings_padded
        self._blocks: Memo[np.ndarray] = Memo()
        self._friends: Memo[_Friends] = Memo()

    def __call__(self, state: TownState) -> np.ndarray:
        trust, familiarity = state.trust.tobytes(), state.familiarity.tobytes()
        key = (trust, familiarity, state.tie_rivalry.tobytes())
        return self._blocks.get(key, lambda: self._compute(state, trust, familiarity))

    def _compute(self, state: TownState, trust: bytes, familiarity: bytes) -> np.ndarray:
        key = (trust, familiarity, (state.tie_rivalry != 0).tobytes())
        friends = self._friends.get(key, lambda: _friends(state))
        return social_block(state, self.embeddings_padded, friends)
