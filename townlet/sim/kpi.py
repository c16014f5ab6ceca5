"""Per-agent-day accounting of the charter KPIs (DESIGN §13), vectorised over towns.

Every agent carries a tally of the day in progress (``state.kpi_tally`` [T, A, K], one column
per name of :data:`KPI_COUNTERS`). The rules add into it as things happen (:func:`tally`: a
faint, a shift start, a queue conflict); :func:`close_days` checks the needs after every tick
and, when a day ends, adds the day itself, hands the finished tallies out and starts the next
day at zero. :func:`kpi_metrics` turns summed counters into the §13 KPIs.

A day ends every ``ticks_per_day`` ticks of the episode. A town whose agents are all dead
ends its day there and then (their remaining agent-days would only be failures), once per
episode. Dead agents keep counting agent-days until their town resets: each is a failed day.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from townlet.sim.constants import KPI_COUNTERS, KPI_EVENT_KEYS, NEED_FLOOR, TIE_THRESHOLD
from townlet.sim.state import TownState
from townlet.sim.tick_record import TickRecord
from townlet.sim.world import World

(
    DAYS,
    SELF_SUFFICIENT,
    TIE_DAYS,
    SHIFT_STARTS,
    LATE_STARTS,
    SHIFT_TICKS,
    PRESENT_TICKS,
    FAINTS,
    CONFLICTS,
    ESCALATIONS,
) = range(len(KPI_COUNTERS))
_PAIR_COUNTED = np.array([name in ("conflicts", "escalations") for name in KPI_COUNTERS])


def tally(
    state: TownState, t: np.ndarray, a: np.ndarray, column: int, amount: np.ndarray | float = 1.0
) -> None:
    """Add ``amount`` to counter ``column`` of each (town, agent)'s day; pairs may repeat."""
    if t.size:
        np.add.at(state.kpi_tally[:, :, column], (t, a), amount)


def tally_conflicts(
    state: TownState, t: np.ndarray, a: np.ndarray, b: np.ndarray, avoid_threshold: float
) -> None:
    """Queue conflicts between a and b (after the ledger rose): both parties count each one."""
    escalated = (state.rivalry[t, a, b] >= avoid_threshold).astype(np.float64)
    for party in (a, b):
        tally(state, t, party, CONFLICTS)
        tally(state, t, party, ESCALATIONS, escalated)


def holds_tie(state: TownState) -> np.ndarray:
    """[T, A] the agent has a tie with |trust| or tie rivalry above TIE_THRESHOLD."""
    strong = (np.abs(state.trust) > TIE_THRESHOLD) | (state.tie_rivalry > TIE_THRESHOLD)
    return strong.any(axis=2)


def close_days(state: TownState, world: World, record: TickRecord) -> np.ndarray | None:
    """Check the needs after this tick; close the days that end with it. Returns the finished
    tallies [T, A, K] (zero rows for other towns), or None."""
    fine = state.alive & (state.needs > NEED_FLOOR).all(axis=2)
    state.day_ok &= fine
    still_open = state.kpi_open
    wiped = still_open & ~state.alive.any(axis=1)
    next_tick = record.now + 1  # the clock once this tick is over
    due = still_open & ((next_tick % world.scenario.ticks_per_day == 0) | wiped)
    if not np.count_nonzero(due):
        return None
    tally = state.kpi_tally
    tally[due, :, DAYS] += 1.0
    tally[due, :, SELF_SUFFICIENT] += state.day_ok[due]
    tally[due, :, TIE_DAYS] += holds_tie(state)[due]
    finished = np.where(due[:, None, None], tally, 0.0)
    tally[due] = 0.0
    state.day_ok[due] = True
    still_open &= ~wiped
    town_sums = finished.sum(axis=1)  # [T, K]
    town_sums[:, _PAIR_COUNTED] *= 0.5
    for i, key in enumerate(KPI_EVENT_KEYS):
        record.events.counts[key] += town_sums[:, i]
    return finished


def _ratio(numerator: float, denominator: float, empty: float = 0.0) -> float:
    return numerator / denominator if denominator > 0 else empty


def kpi_metrics(counts: Mapping[str, float]) -> dict[str, float]:
    """The §13 KPI keys from summed counters (``kpi_<name>`` or bare ``<name>`` keys).

    Empty when no agent-day completed. Rates without a denominator (no shift, no conflict)
    report that nothing went wrong: lateness and escalation 0, attendance 1.
    """

    def get(name: str) -> float:
        return float(counts.get(f"kpi_{name}", counts.get(name, 0.0)))

    days = get("days")
    if days <= 0:
        return {}
    conflicts = get("conflicts")
    return {
        "kpi.self_sufficiency": get("self_sufficient_days") / days,
        "kpi.lateness_rate": _ratio(get("late_starts"), get("shift_starts")),
        "kpi.attendance": _ratio(get("present_ticks"), get("shift_ticks"), empty=1.0),
        "kpi.tie_share": get("tie_days") / days,
        "kpi.conflict_escalation": _ratio(get("escalations"), conflicts),
        "faints_per_agent_day": get("faints") / days,
        "conflicts_per_agent_day": conflicts / days,
        "agent_days": days,
    }
