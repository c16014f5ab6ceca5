"""Rewards (§9.6, §13): every per-agent reward term, written here from what the tick recorded.

``survival_tick - sum_n w_n * max(0, 1 - need_n)^2``, plus the shaped terms the other rules
noted (wage, punctuality, lateness fees, chat, avoid_rival) and the dense need-floor penalty,
clipped to ``±clip_per_tick``; only then is a terminal penalty added (faint or eviction), so a
terminal outcome is never hidden by the clip. Outside the clip too, ``living_well`` pays the
charter KPIs: ``on_time_shift`` to a job holder who arrived on time when the grace period ends,
and ``self_sufficient_day`` at a day's end to each agent whose day met K1.

Only agents alive when the tick began earn anything: the rules note nothing for the others, and
survival and the need penalties are masked here. Float addition is not associative, so the
order in which terms are summed is part of the result.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import NEED_FLOOR, REWARD_TERMS
from townlet.sim.kpi import SELF_SUFFICIENT
from townlet.sim.state import TownState
from townlet.sim.tick_record import RewardInputs, TickRecord
from townlet.sim.world import World

_ROW = {name: i for i, name in enumerate(REWARD_TERMS)}
# The need penalties are computed in place over three consecutive rows of the term block.
_NEED_ROWS = slice(_ROW["need_hunger"], _ROW["need_hunger"] + 3)
assert REWARD_TERMS[_NEED_ROWS] == ("need_hunger", "need_hygiene", "need_energy")
# The shaped terms, added in this order after survival and the need penalties.
_SHAPED_ORDER = ("wage", "punctuality", "lateness", "social_chat", "social_avoid", "need_floor")


class RewardTerms:
    """The reward terms of one tick: one [T, A] float64 row per name of REWARD_TERMS."""

    def __init__(self, towns: int, agents: int) -> None:
        self.block = np.zeros((len(REWARD_TERMS), towns, agents))

    def __getitem__(self, name: str) -> np.ndarray:
        """[T, A] the row of term ``name`` (a view: write into it in place)."""
        return self.block[_ROW[name]]

    def as_float32(self) -> dict[str, np.ndarray]:
        """The terms as float32 arrays by name (one conversion for all of them)."""
        return dict(zip(REWARD_TERMS, self.block.astype(np.float32), strict=True))


def compute_rewards(
    state: TownState, world: World, record: TickRecord, kpi_days: np.ndarray | None
) -> tuple[np.ndarray, RewardTerms]:
    """[T, A] float32 rewards of the tick and all its terms. ``kpi_days`` are the tallies of
    the agent-days that ended with this tick (None when none did)."""
    spec = world.scenario.rewards
    terms = RewardTerms(*state.alive.shape)
    shaped = _survival_and_needs(state, world, record, terms)
    written = _shaped_terms(state, world, record, terms)
    # Skipping an all-zero term changes no sum but one of -0.0 (a survival_tick of -0.0 gives
    # that); with survival_tick < 0 inactive agents sum to -0.0, so then every term is added.
    add_all = not spec.survival_tick >= 0.0
    for name in _SHAPED_ORDER:
        term = terms[name]
        if add_all or (name in written and np.count_nonzero(term)):
            shaped += term
    clipped = terms["clipped"]
    np.maximum(shaped, -spec.clip_per_tick, out=shaped)
    np.minimum(shaped, spec.clip_per_tick, out=clipped)
    terminal = terms["terminal"]
    if record.deaths is not None:
        terminal += np.where(record.deaths.fainted, spec.faint_penalty, 0.0)
        terminal += np.where(record.deaths.evicted, spec.eviction_penalty, 0.0)
    total = terms["total"]
    np.add(clipped, terminal, out=total)
    if spec.self_sufficient_day > 0.0 or spec.on_time_shift > 0.0:
        total += _living_well(world, record.reward_inputs, kpi_days, terms)
    return total.astype(np.float32), terms


def _survival_and_needs(
    state: TownState, world: World, record: TickRecord, terms: RewardTerms
) -> np.ndarray:
    """Write survival and the need penalties; returns their sum [T, A] (a fresh array)."""
    spec = world.scenario.rewards
    # Element by element exactly max(0, 1 - need)^2 * weight * -active, need-major.
    penalty = terms.block[_NEED_ROWS]
    np.subtract(1.0, state.needs.transpose(2, 0, 1), out=penalty)
    np.maximum(0.0, penalty, out=penalty)
    penalty *= penalty
    penalty *= world.need_weights
    if record.all_active:
        np.negative(penalty, out=penalty)  # x * -1.0, exactly
    else:
        penalty *= np.negative(record.active, dtype=np.float64)
    survival = terms["survival"]
    np.multiply(record.active, spec.survival_tick, out=survival)
    # Summed left to right, as a sum over the need axis does.
    shaped = penalty[0] + penalty[1]
    shaped += penalty[2]
    shaped += survival
    return shaped


def _shaped_terms(
    state: TownState, world: World, record: TickRecord, terms: RewardTerms
) -> set[str]:
    """Write the shaped terms the tick's reward inputs call for, and the need-floor penalty;
    returns the names written (the others stay all zero)."""
    spec = world.scenario.rewards
    inputs = record.reward_inputs
    written: set[str] = set()
    if inputs.wages is not None:
        terms["wage"][:] += spec.wage_weight * inputs.wages
        written.add("wage")
    if inputs.closed_shifts is not None:
        closed = inputs.closed_shifts
        bonus = spec.punctuality_bonus * closed.on_time_ticks / closed.length
        terms["punctuality"][closed.town, closed.agent] += bonus
        written.add("punctuality")
    if inputs.fees is not None:
        terms["lateness"][:] -= inputs.fees
        written.add("lateness")
    if inputs.chats is not None:
        chats, chat = inputs.chats, terms["social_chat"]
        np.add.at(chat, (chats.town, chats.speaker), spec.social.chat_success * chats.quality)
        np.add.at(chat, (chats.town, chats.listener), spec.social.chat_success * chats.quality)
        np.add.at(chat, (chats.failed_town, chats.failed_speaker), -spec.social.chat_failure)
        written.add("social_chat")
    if inputs.widened_gap is not None:
        terms["social_avoid"][:] += np.where(inputs.widened_gap, spec.social.avoid_rival, 0.0)
        written.add("social_avoid")
    if spec.need_floor_penalty > 0.0:
        # K1 made dense: every tick a need sits at or below the KPI floor costs this much.
        below = np.count_nonzero(state.needs <= NEED_FLOOR, axis=2)
        np.multiply(below * record.active, -spec.need_floor_penalty, out=terms["need_floor"])
        written.add("need_floor")
    return written


def _living_well(
    world: World, inputs: RewardInputs, kpi_days: np.ndarray | None, terms: RewardTerms
) -> np.ndarray:
    """Write and return ``living_well``: on-time shift starts, then the K1 days that ended."""
    spec = world.scenario.rewards
    living_well = terms["living_well"]
    starts = inputs.shift_starts
    if starts is not None and spec.on_time_shift > 0.0:
        living_well[starts.town, starts.agent] += spec.on_time_shift * starts.on_time
    if kpi_days is not None and spec.self_sufficient_day > 0.0:
        living_well += kpi_days[:, :, SELF_SUFFICIENT] * spec.self_sufficient_day
    return living_well
