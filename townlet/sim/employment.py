"""Employment (§9.5): daily shift windows, work, shift states, wages, fees and attendance.

Per agent with a job, each tick of the day falls before, inside or after its shift window
``[start_tick, end_tick)`` (:class:`ShiftClock`). Inside it the agent is *present* while it runs
work_shift, which the work option starts at the job site. Not yet present: ``pre_shift`` during
the grace ticks, then ``late``, then ``absent`` from ``absent_cutoff`` on. Present: ``on_time``
if it first arrived within grace, else ``late``. Fees (a job's lateness_penalty once per late
shift, late_tick_penalty per late tick away, absence_penalty once per absent shift) leave the
wallet; wages go in per on-site tick and are recorded as withheld while the agent is late or
absent. When a shift closes its attendance ratio is stored for the last ``attendance_window``
shifts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.affordances import begin_runs, drop_affordances
from townlet.sim.constants import (
    AFF_WORK,
    SHIFT_ABSENT,
    SHIFT_LATE,
    SHIFT_NONE,
    SHIFT_ON_TIME,
    SHIFT_POST,
    SHIFT_PRE,
)
from townlet.sim.kpi import LATE_STARTS, PRESENT_TICKS, SHIFT_STARTS, SHIFT_TICKS, tally
from townlet.sim.relationships import HELPED_WHEN_LATE, TOOK_MY_SHIFT, change_ties
from townlet.sim.state import TownState
from townlet.sim.tick_record import ClosedShifts, ShiftStarts, TickRecord
from townlet.sim.world import World

_PER_SHIFT_FLAGS = (
    "shift_arrived",
    "shift_arrived_on_time",
    "shift_late_flag",
    "shift_absent_flag",
    "shift_help",
    "shift_took",
    "shift_done",
)


@dataclass(slots=True)
class ShiftClock:
    """Where every agent's shift window stands at one tick. Agents without a job have
    start = end = -1, so their window is never open and they are never before it."""

    phase: np.ndarray  # [T, 1] tick within the day
    day: np.ndarray  # [T, 1] day number
    before: np.ndarray  # [T, A] phase < start (the window has not opened today)
    open: np.ndarray  # [T, A] start <= phase < end
    ended: np.ndarray  # [T, A] phase >= end (also for agents without a job)


def shift_clock(tick: np.ndarray, world: World) -> ShiftClock:
    """The :class:`ShiftClock` of towns at ``tick`` [T]."""
    per_day = world.scenario.ticks_per_day
    phase = (tick % per_day)[:, None]
    before = phase < world.jobs.shift_start
    ended = phase >= world.jobs.shift_end
    return ShiftClock(
        phase=phase,
        day=(tick // per_day)[:, None],
        before=before,
        open=~(before | ended),
        ended=ended,
    )


def start_work(
    state: TownState, world: World, at_site: np.ndarray, success: np.ndarray, shifts: ShiftClock
) -> None:
    """Agents choosing work at their job site start work_shift if the shift window is open.

    It runs until the shift's end tick (:func:`run_shifts` ends it); outside the window the
    option does nothing and counts as unsuccessful.
    """
    if not np.count_nonzero(at_site):  # fast path (2% of a tick at one town): nobody there
        return
    begin = at_site & shifts.open & (state.run_aff < 0)
    success &= ~(at_site & ~shifts.open)
    t, a = np.nonzero(begin)
    begin_runs(state, t, a, AFF_WORK, (-1, -1), world.jobs.shift_end[a] - shifts.phase[t, 0])


@dataclass(slots=True)
class _Presence:
    """Who stands where in the shift windows of this tick ([T, A] each)."""

    on_shift: np.ndarray  # inside the window (and alive)
    working: np.ndarray  # ... running work_shift
    late: np.ndarray  # ... in the late state
    absent: np.ndarray  # ... in the absent state


def run_shifts(state: TownState, world: World, record: TickRecord, shifts: ShiftClock) -> None:
    """Advance shift states, pay or withhold wages, charge fees, record attendance.

    ``shifts`` is the shift clock of the tick being simulated (``record.now``)."""
    if not world.jobs.any_job:
        return
    on_shift = shifts.open if record.all_active else shifts.open & state.alive
    if np.count_nonzero(on_shift):  # fast path (7% of a tick at one town): nobody on shift
        working = _clock_in(state, world, record, shifts, on_shift)
        _write_shift_states(state, world, shifts, on_shift)
        presence = _Presence(
            on_shift,
            working,
            on_shift & (state.shift_state == SHIFT_LATE),
            on_shift & (state.shift_state == SHIFT_ABSENT),
        )
        _pay_and_charge(state, world, record, presence)
        stop = (state.run_aff == AFF_WORK) & ~on_shift
    else:
        _write_shift_states(state, world, shifts, None)
        stop = state.run_aff == AFF_WORK
    drop_affordances(state, *np.nonzero(stop))
    # A shift closes once: on the first tick past its window, if it began today.
    ended = shifts.ended & (state.shift_day == shifts.day) & ~state.shift_done
    if np.count_nonzero(ended):  # fast path (0.7% of a tick at one town): none to close
        _close_shifts(state, world, record, ended & state.alive & world.jobs.has_job)


def _clock_in(
    state: TownState, world: World, record: TickRecord, shifts: ShiftClock, on_shift: np.ndarray
) -> np.ndarray:
    """Begin the day's shifts, note arrivals, and count the shift starts whose grace period
    ends now (K2). Returns [T, A] working on site."""
    grace = world.scenario.employment.grace_ticks
    new = on_shift & (state.shift_day != shifts.day)
    state.shift_day[new] = np.broadcast_to(shifts.day, new.shape)[new]
    state.shift_present[new] = 0
    state.shift_on_time[new] = 0
    for name in _PER_SHIFT_FLAGS:
        getattr(state, name)[new] = False
    working = on_shift & (state.run_aff == AFF_WORK)
    since = shifts.phase - world.jobs.shift_start
    state.shift_arrived_on_time |= working & ~state.shift_arrived & (since <= grace)
    state.shift_arrived |= working
    # The grace period ends: the shift has started, on time or not (K2 counts it once).
    t, a = np.nonzero(on_shift & (since == grace))
    tally(state, t, a, SHIFT_STARTS)
    on_time = state.shift_arrived_on_time[t, a]
    tally(state, t, a, LATE_STARTS, ~on_time)
    record.reward_inputs.shift_starts = ShiftStarts(t, a, on_time)
    return working


def _write_shift_states(
    state: TownState, world: World, shifts: ShiftClock, on_shift: np.ndarray | None
) -> None:
    """Write every job holder's shift state for this tick (dead agents keep theirs, agents
    without a job are always SHIFT_NONE). ``on_shift`` None: nobody is inside a window, so only
    pre and post are possible."""
    current = np.where(shifts.before, SHIFT_PRE, SHIFT_POST)
    if on_shift is not None:
        employment = world.scenario.employment
        since = shifts.phase - world.jobs.shift_start
        waiting = np.where(
            since <= employment.grace_ticks,
            SHIFT_PRE,
            np.where(since < employment.absent_cutoff, SHIFT_LATE, SHIFT_ABSENT),
        )
        arrived = np.where(state.shift_arrived_on_time, SHIFT_ON_TIME, SHIFT_LATE)
        inside = np.where(state.shift_arrived, arrived, waiting)
        current = np.where(on_shift, inside, current)
    np.copyto(state.shift_state, current, where=state.alive)
    jobless = world.jobs.jobless
    if jobless.size:
        state.shift_state[:, jobless] = SHIFT_NONE


def _pay_and_charge(
    state: TownState, world: World, record: TickRecord, presence: _Presence
) -> None:
    """Wages for the agents working on site; fees, withheld wages and the coworker events for
    the late and absent ones."""
    if np.count_nonzero(presence.late) or np.count_nonzero(presence.absent):
        # Fast path (2% of a tick at one town): otherwise every fee and withheld wage is 0.
        _charge_lateness(state, world, record, presence)
        _coworker_events(state, world, record, presence)
    working = presence.working
    pay = np.where(working, world.jobs.wage_rate, 0.0)
    state.wallet += pay
    record.reward_inputs.wages = pay
    state.shift_present += working
    state.shift_on_time += working & (state.shift_state == SHIFT_ON_TIME)


def _charge_lateness(
    state: TownState, world: World, record: TickRecord, presence: _Presence
) -> None:
    """Lateness and absence fees, and the wages withheld from late or absent agents."""
    employment = world.scenario.employment
    late, absent, working = presence.late, presence.absent, presence.working
    late_away = late & ~working
    fee = np.where(late_away, employment.late_tick_penalty, 0.0)
    first_late = late & ~state.shift_late_flag
    state.shift_late_flag |= first_late
    state.lateness_counter += first_late
    fee += np.where(first_late, world.jobs.lateness_penalty, 0.0)
    first_absent = absent & ~state.shift_absent_flag
    state.shift_absent_flag |= first_absent
    fee += np.where(first_absent, employment.absence_penalty, 0.0)
    state.wallet -= fee
    record.reward_inputs.fees = fee
    state.wages_withheld += np.where(late_away | (absent & ~working), world.jobs.wage_rate, 0.0)


def _coworker_events(
    state: TownState, world: World, record: TickRecord, presence: _Presence
) -> None:
    """Once per shift: a late agent covered by a working coworker is helped; an absent one has
    its shift taken. Ties change between the agent and every covering coworker."""
    covering = world.jobs.coworkers[None] & presence.working[:, None, :]
    covered = covering.any(axis=2)
    for when, flag, deltas, key in (
        (presence.late, "shift_help", HELPED_WHEN_LATE, "late_help_events"),
        (presence.absent, "shift_took", TOOK_MY_SHIFT, "shift_takeover_events"),
    ):
        seen = getattr(state, flag)
        fire = when & covered & ~seen
        seen |= fire
        t, a, b = np.nonzero(fire[:, :, None] & covering)
        change_ties(state, t, a, b, deltas)
        record.events.add(key, np.nonzero(fire)[0])


def _close_shifts(state: TownState, world: World, record: TickRecord, ended: np.ndarray) -> None:
    """Close finished shifts: store the attendance ratio and note the on-time share (the
    punctuality bonus)."""
    t, a = np.nonzero(ended)
    if t.size == 0:
        return
    length = (world.jobs.shift_end - world.jobs.shift_start)[a]
    window = state.attendance.shape[2]
    slot = state.attendance_total[t, a] % window
    state.attendance[t, a, slot] = state.shift_present[t, a] / length
    state.attendance_total[t, a] += 1
    record.reward_inputs.closed_shifts = ClosedShifts(t, a, state.shift_on_time[t, a], length)
    state.shift_done[t, a] = True
    tally(state, t, a, SHIFT_TICKS, length)
    tally(state, t, a, PRESENT_TICKS, state.shift_present[t, a])


def attendance_ratio(state: TownState) -> np.ndarray:
    """[T, A] mean presence share over the recorded shifts of the attendance window (0 if none)."""
    window = state.attendance.shape[2]
    n = np.minimum(state.attendance_total, window)
    return np.divide(state.attendance.sum(axis=2), n, out=np.zeros(n.shape), where=n > 0)
