"""Employment (§9.5): daily shifts, grace/late/absent states, penalties, wages, attendance.

Per agent with a job, each tick of the day falls before, inside or after its shift window
``[start_tick, end_tick)``. Inside it the agent is *present* while it runs work_shift. Not yet
present: ``pre_shift`` during the grace ticks, then ``late``, then ``absent`` from
``absent_cutoff`` on. Present: ``on_time`` if it first arrived within grace, else ``late``.
Penalties (a job's lateness_penalty once per late shift, late_tick_penalty per late tick away,
absence_penalty once per absent shift) leave the wallet and show as the ``lateness`` reward term;
wages go in per on-site tick and are recorded as withheld while the agent is late or absent.
"""

from __future__ import annotations

import numpy as np

from townlet.sim import kpi
from townlet.sim.affordance_state import drop_affordances
from townlet.sim.constants import (
    AFF_WORK,
    SHIFT_ABSENT,
    SHIFT_LATE,
    SHIFT_NONE,
    SHIFT_ON_TIME,
    SHIFT_POST,
    SHIFT_PRE,
)
from townlet.sim.events import StepScratch
from townlet.sim.layout import Layout
from townlet.sim.relationships import HELPED_WHEN_LATE, TOOK_MY_SHIFT, tie_delta
from townlet.sim.shifts import ShiftClock
from townlet.sim.state import TownState

_PER_SHIFT_FLAGS = (
    "shift_arrived",
    "shift_arrived_on_time",
    "shift_late_flag",
    "shift_absent_flag",
    "shift_help",
    "shift_took",
    "shift_done",
)


def _begin_shifts(state: TownState, new: np.ndarray, day: np.ndarray) -> None:
    state.shift_day[new] = np.broadcast_to(day, new.shape)[new]
    state.shift_present[new] = 0
    state.shift_on_time[new] = 0
    for name in _PER_SHIFT_FLAGS:
        getattr(state, name)[new] = False


def _coworker_events(
    state: TownState,
    layout: Layout,
    scratch: StepScratch,
    late: np.ndarray,
    absent: np.ndarray,
    working: np.ndarray,
) -> None:
    """Once per shift: a late agent covered by a working coworker is helped; an absent one has
    its shift taken. Ties change between the agent and every covering coworker."""
    covering = layout.coworkers[None] & working[:, None, :]
    covered = covering.any(axis=2)
    for when, flag, deltas, key in (
        (late, "shift_help", HELPED_WHEN_LATE, "late_help_events"),
        (absent, "shift_took", TOOK_MY_SHIFT, "shift_takeover_events"),
    ):
        seen = getattr(state, flag)
        fire = when & covered & ~seen
        if not np.count_nonzero(fire):
            continue
        seen |= fire
        t, a, b = np.nonzero(fire[:, :, None] & covering)
        tie_delta(state, t, a, b, *deltas)
        scratch.count(key, np.nonzero(fire)[0])


def _shift_states(
    state: TownState, layout: Layout, shifts: ShiftClock, in_win: np.ndarray, any_win: bool
) -> None:
    """Write every job holder's shift state for this tick (dead agents keep theirs, agents
    without a job are always SHIFT_NONE). With nobody inside a window (``any_win`` False, most
    ticks of a day) only pre and post are possible."""
    current = np.where(shifts.before, SHIFT_PRE, SHIFT_POST)
    if any_win:
        emp = layout.scenario.employment
        since = shifts.phase - layout.agent_start
        waiting = np.where(
            since <= emp.grace_ticks,
            SHIFT_PRE,
            np.where(since < emp.absent_cutoff, SHIFT_LATE, SHIFT_ABSENT),
        )
        arrived = np.where(state.shift_arrived_on_time, SHIFT_ON_TIME, SHIFT_LATE)
        inside = np.where(state.shift_arrived, arrived, waiting)
        current = np.where(in_win, inside, current)
    np.copyto(state.shift_state, current, where=state.alive)
    no_job = layout.tables.no_job
    if no_job.size:
        state.shift_state[:, no_job] = SHIFT_NONE


def employment_phase(
    state: TownState, layout: Layout, scratch: StepScratch, shifts: ShiftClock
) -> None:
    """Advance shift states, pay or withhold wages, charge penalties, record attendance.

    ``shifts`` is the shift clock of the tick being simulated (``scratch.now``)."""
    if not layout.tables.any_job:
        return
    emp = layout.scenario.employment
    in_win = shifts.open if scratch.all_active else shifts.open & state.alive
    any_win = bool(np.count_nonzero(in_win))
    working = in_win
    if any_win:
        new = in_win & (state.shift_day != shifts.day)
        if np.count_nonzero(new):
            _begin_shifts(state, new, shifts.day)
        working = in_win & (state.run_aff == AFF_WORK)
        since = shifts.phase - layout.agent_start
        state.shift_arrived_on_time |= working & ~state.shift_arrived & (since <= emp.grace_ticks)
        state.shift_arrived |= working
        # The grace period ends: the shift has started, on time or not (K2 counts it once).
        starting = in_win & (since == emp.grace_ticks)
        if np.count_nonzero(starting):
            t, a = np.nonzero(starting)
            kpi.note(state, t, a, kpi.SHIFT_STARTS)
            on_time = state.shift_arrived_on_time[t, a]
            kpi.note(state, t, a, kpi.LATE_STARTS, ~on_time)
            bonus = layout.scenario.rewards.on_time_shift
            if bonus > 0.0:
                scratch.term("living_well")[t, a] += bonus * on_time
    _shift_states(state, layout, shifts, in_win, any_win)
    if any_win:
        _pay_and_penalise(state, layout, scratch, in_win, working)
    stop = state.run_aff == AFF_WORK
    if any_win:
        stop &= ~in_win
    if np.count_nonzero(stop):
        drop_affordances(state, *np.nonzero(stop))
    # A shift ends once: on the first tick past its window, if it began today and is not closed.
    ended = shifts.ended & (state.shift_day == shifts.day)
    ended &= ~state.shift_done
    if np.count_nonzero(ended):
        ended &= state.alive & layout.has_job
        if np.count_nonzero(ended):
            _end_shifts(state, layout, scratch, ended)


def _pay_and_penalise(
    state: TownState,
    layout: Layout,
    scratch: StepScratch,
    in_win: np.ndarray,
    working: np.ndarray,
) -> None:
    late = in_win & (state.shift_state == SHIFT_LATE)
    absent = in_win & (state.shift_state == SHIFT_ABSENT)
    if np.count_nonzero(late) or np.count_nonzero(absent):
        # Without late or absent agents every fee and withheld wage is +0.0: skipping is exact.
        _penalise(state, layout, scratch, late, absent, working)
    pay = np.where(working, layout.agent_wage, 0.0)
    state.wallet += pay
    scratch.term("wage")[:] += layout.scenario.rewards.wage_weight * pay
    state.shift_present += working
    state.shift_on_time += working & (state.shift_state == SHIFT_ON_TIME)


def _penalise(
    state: TownState,
    layout: Layout,
    scratch: StepScratch,
    late: np.ndarray,
    absent: np.ndarray,
    working: np.ndarray,
) -> None:
    """Lateness and absence fees, withheld wages and the coworker events."""
    emp = layout.scenario.employment
    late_away = late & ~working
    fee = np.where(late_away, emp.late_tick_penalty, 0.0)
    first_late = late & ~state.shift_late_flag
    if np.count_nonzero(first_late):
        state.shift_late_flag |= first_late
        state.lateness_counter += first_late
        fee += np.where(first_late, layout.agent_lateness_penalty, 0.0)
    first_absent = absent & ~state.shift_absent_flag
    if np.count_nonzero(first_absent):
        state.shift_absent_flag |= first_absent
        fee += np.where(first_absent, emp.absence_penalty, 0.0)
    state.wallet -= fee
    scratch.term("lateness")[:] -= fee
    state.wages_withheld += np.where(late_away | (absent & ~working), layout.agent_wage, 0.0)
    _coworker_events(state, layout, scratch, late, absent, working)


def _end_shifts(state: TownState, layout: Layout, scratch: StepScratch, ended: np.ndarray) -> None:
    """Close finished shifts: store the attendance ratio and pay the punctuality bonus."""
    t, a = np.nonzero(ended)
    length = (layout.agent_end - layout.agent_start)[a]
    window = state.attendance.shape[2]
    slot = state.attendance_total[t, a] % window
    state.attendance[t, a, slot] = state.shift_present[t, a] / length
    state.attendance_total[t, a] += 1
    bonus = layout.scenario.rewards.punctuality_bonus * state.shift_on_time[t, a] / length
    scratch.term("punctuality")[t, a] += bonus
    state.shift_done[t, a] = True
    kpi.note(state, t, a, kpi.SHIFT_TICKS, length)
    kpi.note(state, t, a, kpi.PRESENT_TICKS, state.shift_present[t, a])


def attendance_ratio(state: TownState) -> np.ndarray:
    """[T, A] mean presence share over the recorded shifts of the attendance window (0 if none)."""
    window = state.attendance.shape[2]
    n = np.minimum(state.attendance_total, window)
    return np.divide(state.attendance.sum(axis=2), n, out=np.zeros(n.shape), where=n > 0)
