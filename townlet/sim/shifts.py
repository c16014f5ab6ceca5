"""Where every agent's daily shift window stands at one tick, computed once per tick.

The controller (heading to work, working), the path hint (on duty), ``start_work`` and the
employment phase all ask the same questions of each town's phase of the day; a
:class:`ShiftClock` answers them once. Agents without a job have start = end = -1 (see
``Layout.agent_start``), so their window is never open and they are never "before" it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.layout import Layout


@dataclass(slots=True)
class ShiftClock:
    phase: np.ndarray  # [T, 1] tick within the day
    day: np.ndarray  # [T, 1] day number
    before: np.ndarray  # [T, A] phase < start (the window has not opened today)
    open: np.ndarray  # [T, A] start <= phase < end
    ended: np.ndarray  # [T, A] phase >= end (also for agents without a job)


def shift_clock(tick: np.ndarray, layout: Layout) -> ShiftClock:
    """The :class:`ShiftClock` of towns at ``tick`` [T]."""
    per_day = layout.scenario.ticks_per_day
    phase = (tick % per_day)[:, None]
    before = phase < layout.agent_start
    ended = phase >= layout.agent_end
    return ShiftClock(
        phase=phase,
        day=(tick // per_day)[:, None],
        before=before,
        open=~(before | ended),
        ended=ended,
    )
