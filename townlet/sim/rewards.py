"""Per-agent rewards (§9.6) with every term kept for telemetry.

``survival_tick - sum_n w_n * max(0, 1 - need_n)^2`` plus wage, punctuality, lateness penalties
and the social terms, clipped to ``±clip_per_tick``; only then is a terminal penalty added
(faint or eviction), so a terminal outcome is never hidden by the clip. At a day's end each agent
whose day met K1 earns ``self_sufficient_day``, and a job holder who arrived on time earns
``on_time_shift`` when the grace period ends (together the ``living_well`` term, DESIGN §13).
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import NEED_FLOOR, REWARD_TERMS
from townlet.sim.events import StepScratch
from townlet.sim.kpi import SELF_SUFFICIENT
from townlet.sim.layout import Layout
from townlet.sim.state import TownState

_ROW = {name: i for i, name in enumerate(REWARD_TERMS)}
_NEED_ROWS = slice(_ROW["need_hunger"], _ROW["need_energy"] + 1)
# Shaped terms added after the need penalties and survival, in this order (float addition is
# not associative, so the order is part of the result); they are consecutive rows.
_EXTRA_ROWS = slice(_ROW["wage"], _ROW["need_floor"] + 1)
assert REWARD_TERMS[_NEED_ROWS] == ("need_hunger", "need_hygiene", "need_energy")
assert REWARD_TERMS[_EXTRA_ROWS] == (
    "wage",
    "punctuality",
    "lateness",
    "social_chat",
    "social_avoid",
    "need_floor",
)


def compute_rewards(
    state: TownState, layout: Layout, scratch: StepScratch, kpi_days: np.ndarray | None = None
) -> np.ndarray:
    """[T, A] float32 rewards; fills the shaped terms, ``clipped``, ``terminal``,
    ``living_well`` and ``total``.

    Only agents alive when the tick began earn anything. Wage, punctuality, lateness and the
    social terms are already zero for others (their phases skip dead agents); survival and the
    need penalties are masked here.
    """
    rw = layout.scenario.rewards
    block = scratch.term_block
    active = scratch.active
    # The three need penalties are consecutive rows of the term block: compute them in place,
    # element by element exactly as max(0, 1 - need)^2 * weight * -active.
    penalty = block[_NEED_ROWS]
    np.subtract(1.0, state.needs.transpose(2, 0, 1), out=penalty)
    np.maximum(0.0, penalty, out=penalty)
    penalty *= penalty
    penalty *= layout.tables.need_weights
    if scratch.all_active:
        np.negative(penalty, out=penalty)  # x * -1.0, exactly
    else:
        penalty *= np.negative(active, dtype=np.float64)
    if rw.need_floor_penalty > 0.0:
        # K1 made dense: every tick a need sits at or below the KPI floor costs this much.
        below = np.count_nonzero(state.needs <= NEED_FLOOR, axis=2)
        np.multiply(below * active, -rw.need_floor_penalty, out=block[_ROW["need_floor"]])
    survival = block[_ROW["survival"]]
    np.multiply(active, rw.survival_tick, out=survival)
    # Summed left to right, as a sum over the need axis does.
    shaped = penalty[0] + penalty[1]
    shaped += penalty[2]
    shaped += survival
    # Adding an all-zero term changes nothing (x + 0.0 == x unless x is -0.0, and x + -0.0 ==
    # x), and with survival_tick >= 0 the survival row has no -0.0 to pass on to ``shaped``:
    # then skipping the terms no phase wrote this tick is exact.
    extra = block[_EXTRA_ROWS]
    if not rw.survival_tick >= 0.0:
        for term in extra:
            shaped += term
    elif np.count_nonzero(extra):
        for term in extra:
            if np.count_nonzero(term):
                shaped += term
    clipped = block[_ROW["clipped"]]
    np.maximum(shaped, -rw.clip_per_tick, out=shaped)
    np.minimum(shaped, rw.clip_per_tick, out=clipped)
    terminal = block[_ROW["terminal"]]
    if scratch.fainted is not None and np.count_nonzero(scratch.fainted):
        terminal += np.where(scratch.fainted, rw.faint_penalty, 0.0)
    if scratch.evicted is not None and np.count_nonzero(scratch.evicted):
        terminal += np.where(scratch.evicted, rw.eviction_penalty, 0.0)
    total = block[_ROW["total"]]
    np.add(clipped, terminal, out=total)
    # KPI payments, outside the clip: on-time shift starts (the employment phase wrote them)
    # and, from ``kpi_days`` (the tallies of the days that ended with this tick), K1 days.
    living_well = block[_ROW["living_well"]]
    if kpi_days is not None and rw.self_sufficient_day > 0.0:
        living_well += kpi_days[:, :, SELF_SUFFICIENT] * rw.self_sufficient_day
    if rw.self_sufficient_day > 0.0 or rw.on_time_shift > 0.0:
        total += living_well
    return total.astype(np.float32)
