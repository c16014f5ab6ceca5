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
- social slots and aggregates: see :mod:`townlet.sim.social_slots`.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import (
    ACTION_HASH,
    AFF_WORK,
    EAT,
    FEATURE_INDEX,
    HUNGER,
    NUM_FEATURES,
    SHOWER,
    SLEEP,
)
from townlet.sim.employment import attendance_ratio
from townlet.sim.frame import PositionFrame
from townlet.sim.gather import nearest_goal
from townlet.sim.layout import Layout
from townlet.sim.memo import Memo
from townlet.sim.observations import LocalSummary
from townlet.sim.social_slots import SocialSlots
from townlet.sim.state import TownState
from townlet.sim.view import WorldView

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

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._frame: PositionFrame | None = None
        self._key: tuple[bytes, bytes] | None = None
        self._column = np.zeros((0, 0), dtype=np.int64)

    def __call__(self, view: WorldView) -> np.ndarray:
        """[T, A] first move towards each agent's goal (see module docstring)."""
        state, layout = view.state, self.layout
        tables = layout.tables
        if layout.num_objects:
            need = state.needs.argmin(axis=2)
            key = (need.tobytes(), view.object_ok_pad.tobytes())
            if view.frame is not self._frame or key != self._key:
                self._column = self._object_goal(view, need)
                self._frame, self._key = view.frame, key
            column = self._column
        else:
            column = np.zeros(state.x.shape, dtype=np.int64)
        if tables.any_job:
            on_duty = ~view.shifts.ended & (view.shifts.phase >= tables.hint_start)
            on_duty &= state.run_aff != AFF_WORK
            column = np.where(on_duty, tables.agent_goal, column)
        return view.goal_step(column)

    def _object_goal(self, view: WorldView, need: np.ndarray) -> np.ndarray:
        tables = self.layout.tables
        row = view.object_row
        allowed = tables.option_goal[_NEED_OPTION[need]] & view.object_ok_pad[:, None, :]
        column = nearest_goal(row, allowed)
        no_meal = (column == 0) & (need == HUNGER)
        if np.count_nonzero(no_meal):
            column = np.where(no_meal, nearest_goal(row, tables.cook_goal), column)
        return column


class FeatureBuilder:
    """Builds ``features`` [T, A, 81] float32 for one layout (FEATURE_NAMES order).

    Holds what does not change between calls: per-agent constants, the clock of every tick of
    the day, and memos of the parts whose inputs rarely change (social slots, attendance
    ratios, path hints). The memos are keyed on their inputs' bytes (:mod:`townlet.sim.memo`),
    so they can never go stale.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        agents = layout.num_agents
        self.slot_norm = np.arange(agents) / agents
        self.social = SocialSlots(layout.embeddings_padded)
        self.hints = PathHints(layout)
        # time_sin / time_cos of every tick of the day, when a day is short enough to tabulate
        # (the same float64 expression, evaluated over all phases at once).
        tpd = layout.scenario.ticks_per_day
        self.day_table = day_clock(np.arange(tpd), tpd) if tpd <= _DAY_TABLE_MAX else None
        self._attendance: Memo[np.ndarray] = Memo()  # changes once per shift

    def _clock(self, phase: np.ndarray) -> np.ndarray:
        """[T, 2] (time_sin, time_cos) of each town's tick within the day ``phase`` [T]."""
        if self.day_table is not None:
            return self.day_table[phase]
        return day_clock(phase, self.layout.scenario.ticks_per_day)

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
        sc = self.layout.scenario
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
        if np.count_nonzero(state.ctx_reset):  # only on an episode's first observation
            out[:, :, _F["ctx_reset_flag"]] = state.ctx_reset[:, None]
        out[:, :, _F["episode_progress"]] = np.minimum(state.tick / sc.ticks, 1.0)[:, None]
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
