"""Charter KPI accounting (DESIGN §13) on small hand-built towns with short days.

Each test counts the agent-days, shift starts, conflicts and faints of a scenario by hand and
checks the per-agent tallies ``info["kpi_days"]`` and the town events the sim hands out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from townlet.errors import ConfigError
from townlet.sim import TownVecEnv
from townlet.sim.constants import ENERGY, HUNGER, HYGIENE, KPI_COUNTERS, KPI_EVENT_KEYS
from townlet.sim.kpi import kpi_metrics

COUNTERS = dict(enumerate(KPI_COUNTERS))
PAIR_COUNTED = ("conflicts", "escalations")
COUNTER = [{"id": "counter", "type": "counter", "position": [5, 5]}]
SHOWER = [{"id": "shower", "type": "shower", "position": [5, 5]}]


def _check_info(info: dict[str, Any], num_towns: int, num_agents: int) -> None:
    """kpi_days is None exactly when no day ended, and the town events add up its rows."""
    tallies = info["kpi_days"]
    if tallies is None:
        for key in KPI_EVENT_KEYS:
            assert info["events"][key].tolist() == [0.0] * num_towns, key
        return
    assert tallies.shape == (num_towns, num_agents, len(KPI_COUNTERS))
    for i, name in COUNTERS.items():
        town_sum = tallies[:, :, i].sum(axis=1)
        if name in PAIR_COUNTED:
            town_sum = town_sum / 2  # two parties to each conflict
        assert info["events"][f"kpi_{name}"].tolist() == town_sum.tolist(), name


def _step(d: Any, *actions: int | str) -> dict[str, Any]:
    _, info = d.step(*actions)
    _check_info(info, 1, d.env.num_agents)
    return info


def _day(info: dict[str, Any], town: int = 0) -> dict[str, list[float]]:
    """The finished tallies of one town, by counter name, one value per agent."""
    assert info["kpi_days"] is not None
    return {name: info["kpi_days"][town, :, i].tolist() for i, name in COUNTERS.items()}


def _wait_until(d: Any, tick: int) -> dict[str, Any]:
    """Everybody waits until the town's clock reads ``tick``; the last step's info."""
    info: dict[str, Any] = {}
    for _ in range(tick - int(d.state.tick[0])):
        info = _step(d, *["wait"] * d.env.num_agents)
    assert int(d.state.tick[0]) == tick  # no reset on the way
    return info


# --- K1: self-sufficiency ------------------------------------------------------------------


def test_need_dip_below_floor_fails_the_day_and_next_day_counts_afresh(town, driver):
    d = driver(town([(1, 1), (8, 8)], ticks=100, ticks_per_day=10))
    for _ in range(3):
        assert _step(d, "wait", "wait")["kpi_days"] is None
    d.state.needs[0, 0, HYGIENE] = 0.29  # no decay: a0 ends tick 3 at 0.29
    d.env.observe()
    assert _step(d, "wait", "wait")["kpi_days"] is None
    assert d.state.day_ok[0].tolist() == [False, True]
    d.state.needs[0, 0, HYGIENE] = 1.0  # back to full for the rest of the day: too late
    d.env.observe()
    for _ in range(5):  # ticks 4..8
        assert _step(d, "wait", "wait")["kpi_days"] is None
    info = _step(d, "wait", "wait")  # tick 9, the last of day 0
    assert int(d.state.tick[0]) == 10
    day = _day(info)
    assert day["days"] == [1.0, 1.0]
    assert day["self_sufficient_days"] == [0.0, 1.0]
    assert info["events"]["kpi_self_sufficient_days"].tolist() == [1.0]
    assert d.state.day_ok[0].tolist() == [True, True]  # the next day starts clean
    assert d.state.kpi_tally[0].tolist() == [[0.0] * len(KPI_COUNTERS)] * 2
    info = _wait_until(d, 20)
    day = _day(info)
    assert day["days"] == [1.0, 1.0]
    assert day["self_sufficient_days"] == [1.0, 1.0]  # day 1 counts afresh for a0


@pytest.mark.parametrize("need", ["hunger", "hygiene", "energy"])
def test_need_exactly_at_floor_fails_the_day(town, driver, need):
    """The rule is strictly above 0.3: 0.3 itself fails, the next float above it passes."""
    above = float(np.nextafter(0.3, 1.0))
    people = [
        {"position": [1, 1], "needs": {need: 0.3}},
        {"position": [3, 3], "needs": {need: above}},
        {"position": [5, 5]},
    ]
    d = driver(town(people, ticks=100, ticks_per_day=10))
    info = _wait_until(d, 10)
    column = {"hunger": HUNGER, "hygiene": HYGIENE, "energy": ENERGY}[need]
    assert d.state.needs[0, :2, column].tolist() == [0.3, above]  # no decay: held all day
    day = _day(info)
    assert day["days"] == [1.0, 1.0, 1.0]
    assert day["self_sufficient_days"] == [0.0, 1.0, 1.0]


# --- faints and dead agents ---------------------------------------------------------------


def test_faint_counts_in_its_day_and_dead_agent_days_fail(town, driver):
    d = driver(town([(1, 1), (8, 8)], ticks=30, ticks_per_day=10))
    _wait_until(d, 9)
    d.state.needs[0, 0, HUNGER] = 0.0  # a0 faints at tick 9, the last tick of day 0
    d.env.observe()
    info = _step(d, "wait", "wait")
    assert info["events"]["faint_events"].tolist() == [1.0]
    assert d.state.alive[0].tolist() == [False, True]
    day = _day(info)  # the same tick closes day 0, faint included
    assert day["days"] == [1.0, 1.0]
    assert day["self_sufficient_days"] == [0.0, 1.0]
    assert day["faints"] == [1.0, 0.0]
    assert info["events"]["kpi_faints"].tolist() == [1.0]
    d.state.needs[0, 0] = 1.0  # full needs do not make a dead agent's day a good one
    d.env.observe()
    info = _wait_until(d, 20)
    day = _day(info)
    assert day["days"] == [1.0, 1.0]  # the dead agent still counts its agent-day
    assert day["self_sufficient_days"] == [0.0, 1.0]  # as a failed one
    assert day["faints"] == [0.0, 0.0]  # the faint is not counted again
    for _ in range(10):  # ticks 20..29: the last closes day 2 and truncates the episode
        info = _step(d, "wait", "wait")
    assert info["town_done"].tolist() == [True]
    day = _day(info)
    assert day["days"] == [1.0, 1.0]
    assert day["self_sufficient_days"] == [0.0, 1.0]
    assert d.state.alive[0].tolist() == [True, True]  # reset in place: a0 lives again
    assert d.state.tick[0] == 0


def test_wiped_out_town_closes_its_partial_day_once(town):
    """Two towns: every agent of town 0 faints at tick 3; town 1 lives on (no auto reset)."""
    env = TownVecEnv(
        town([(1, 1), (3, 3)], ticks=40, ticks_per_day=10), num_towns=2, auto_reset=False
    )
    env.reset()
    waits = np.zeros((2, 2), dtype=np.int64)

    def step() -> dict[str, Any]:
        info = env.step(waits)[4]
        _check_info(info, 2, 2)
        return info

    for _ in range(3):
        assert step()["kpi_days"] is None
    env.state.needs[0, :, HUNGER] = 0.0
    env.observe()
    info = step()  # tick 3
    assert info["town_done"].tolist() == [True, False]
    wiped = _day(info, town=0)
    assert wiped["days"] == [1.0, 1.0]
    assert wiped["self_sufficient_days"] == [0.0, 0.0]
    assert wiped["faints"] == [1.0, 1.0]
    assert info["kpi_days"][1].tolist() == [[0.0] * len(KPI_COUNTERS)] * 2  # town 1: no day
    assert info["events"]["kpi_days"].tolist() == [2.0, 0.0]
    assert env.state.kpi_open.tolist() == [False, True]
    closed = []
    for _ in range(4, 45):  # ticks 4..44: past town 1's day ends at 10, 20, 30 and 40
        info = step()
        if info["kpi_days"] is not None:
            closed.append(int(env.state.tick[1]))
            assert info["events"]["kpi_days"].tolist() == [0.0, 2.0]  # town 0 never again
            assert _day(info, town=0)["days"] == [0.0, 0.0]
            assert _day(info, town=1)["self_sufficient_days"] == [1.0, 1.0]
    assert closed == [10, 20, 30, 40]


def test_wiped_out_town_restarts_its_days_with_the_new_episode(town, driver):
    """With auto reset the wiped town's next day is ticks_per_day ticks of the new episode."""
    d = driver(town([(1, 1), (3, 3)], ticks=100, ticks_per_day=10))
    _wait_until(d, 3)
    d.state.needs[0, :, HUNGER] = 0.0
    d.env.observe()
    info = _step(d, "wait", "wait")  # tick 3: both faint, the partial day closes, reset
    assert _day(info)["faints"] == [1.0, 1.0]
    assert info["tick"].tolist() == [0] and info["episode"].tolist() == [1]
    assert d.state.kpi_open.tolist() == [True]
    for _ in range(9):
        assert _step(d, "wait", "wait")["kpi_days"] is None
    day = _day(_step(d, "wait", "wait"))  # tick 9 of episode 1 (the 14th step)
    assert day["days"] == [1.0, 1.0]
    assert day["self_sufficient_days"] == [1.0, 1.0]
    assert day["faints"] == [0.0, 0.0]


def test_partial_last_day_of_a_truncated_episode_is_not_reported(town, driver):
    d = driver(town([(1, 1)], ticks=25, ticks_per_day=10))
    ends = []
    for step in range(1, 36):
        info = _step(d, "wait")
        if info["kpi_days"] is not None:
            ends.append(step)
            assert _day(info)["days"] == [1.0]
        if step == 25:
            assert info["town_done"].tolist() == [True]
    # days end at 10 and 20; ticks 20..24 are dropped; episode 1 ends its first day at 25 + 10
    assert ends == [10, 20, 35]


# --- K2: lateness and attendance ----------------------------------------------------------


def _shop(town):
    """Four workers standing on the counter; shift [5, 15) of a 20-tick day, grace 2."""
    people = [{"position": [5, 5], "wallet": 5.0, "job": "shop"} for _ in range(4)]
    job = {"start_tick": 5, "end_tick": 15, "location": [5, 5], "wage_rate": 0.02}
    return town(
        people,
        COUNTER,
        ticks=100,
        ticks_per_day=20,
        jobs={"shop": job},
        employment={"grace_ticks": 2, "absent_cutoff": 5},
    )


def _workday(d, day: int) -> list[dict[str, Any]]:
    """a0 works from the start, a1 from phase 8 (late), a2 never (absent), a3 from phase 7
    (the last tick of grace: on time). Returns the info of every tick of the day."""
    infos = []
    for phase in range(20):
        assert int(d.state.tick[0]) == 20 * day + phase
        infos.append(
            _step(
                d,
                "work",
                "work" if phase >= 8 else "wait",
                "wait",
                "work" if phase >= 7 else "wait",
            )
        )
        tally = d.state.kpi_tally[0]
        starts = tally[:, KPI_COUNTERS.index("shift_starts")].tolist()
        ticks = tally[:, KPI_COUNTERS.index("shift_ticks")].tolist()
        if phase < 19:
            # the start is counted when the grace period ends (phase 5 + 2), the shift's
            # ticks when it closes on the first tick past its window (phase 15)
            assert starts == [0.0 if phase < 7 else 1.0] * 4
            assert ticks == [0.0 if phase < 15 else 10.0] * 4
    return infos


def test_on_time_late_and_absent_shift_starts_and_attendance(town, driver):
    d = driver(_shop(town))
    for day in range(2):
        infos = _workday(d, day)
        assert all(info["kpi_days"] is None for info in infos[:-1])
        tallies = _day(infos[-1])
        assert tallies["days"] == [1.0] * 4
        assert tallies["shift_starts"] == [1.0, 1.0, 1.0, 1.0]
        assert tallies["late_starts"] == [0.0, 1.0, 1.0, 0.0]  # late and absent once each
        assert tallies["shift_ticks"] == [10.0] * 4
        # present: a0 phases 5..14, a1 8..14, a2 none, a3 7..14
        assert tallies["present_ticks"] == [10.0, 7.0, 0.0, 8.0]
    assert d.state.lateness_counter[0].tolist() == [0, 2, 2, 0]
    # two days: 8 shift starts, 4 late; 80 shift ticks, 2 * 25 present
    assert d.totals["kpi_shift_starts"] == 8.0 and d.totals["kpi_late_starts"] == 4.0
    metrics = kpi_metrics(d.totals)
    assert metrics["kpi.lateness_rate"] == 0.5
    assert metrics["kpi.attendance"] == 50 / 80
    assert metrics["agent_days"] == 8.0


def test_shift_must_end_before_the_day_ends(town, driver):
    """A window ending with the day would never see a tick past it within its own day, so
    it would never close: the loader refuses it, naming the field."""
    job = {"start_tick": 15, "end_tick": 20, "location": [5, 5]}
    scenario = town(
        [{"position": [5, 5], "job": "shop"}],
        COUNTER,
        ticks=100,
        ticks_per_day=20,
        jobs={"shop": job},
        employment={"grace_ticks": 2},
    )
    with pytest.raises(ConfigError, match=r"jobs\.shop\.end_tick=20 must end before the day"):
        driver(scenario)


# --- K3: ties ----------------------------------------------------------------------------


def _set_pair(array: np.ndarray, a: int, b: int, value: float) -> None:
    array[0, a, b] = array[0, b, a] = value


def test_ties_count_above_threshold_at_the_days_end(town, driver):
    people = [(i % 10, 2 * (i // 10)) for i in range(14)]
    scenario = town(
        people,
        ticks=100,
        ticks_per_day=20,
        conflict={"tie_rivalry_decay": 0.0, "rivalry": {"decay_per_tick": 0.0}},
    )
    d = driver(scenario)
    s = d.state
    _set_pair(s.trust, 0, 1, 0.31)  # counts
    _set_pair(s.trust, 2, 3, 0.29)  # does not
    _set_pair(s.tie_rivalry, 4, 5, 0.31)  # tie rivalry counts too
    _set_pair(s.trust, 6, 7, -0.31)  # |trust|: distrust is a tie
    _set_pair(s.trust, 8, 9, 0.3)  # strictly above: 0.3 is not
    _set_pair(s.rivalry, 10, 11, 0.9)  # the rivalry ledger is not a tie
    d.env.observe()
    waits = ["wait"] * 14
    for _ in range(3):
        _step(d, *waits)
    _set_pair(s.trust, 12, 13, 0.5)  # a tie held from tick 3 to tick 10 only
    d.env.observe()
    for _ in range(3, 11):
        _step(d, *waits)
    _set_pair(s.trust, 12, 13, 0.0)
    d.env.observe()
    info = _wait_until(d, 20)
    expected = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert _day(info)["tie_days"] == expected + [0.0, 0.0]
    assert info["events"]["kpi_tie_days"].tolist() == [6.0]
    _wait_until(d, 39)
    _set_pair(s.trust, 12, 13, 0.5)  # only during the last tick of day 1
    d.env.observe()
    info = _step(d, *waits)
    assert int(d.state.tick[0]) == 40
    assert _day(info)["tie_days"] == expected + [1.0, 1.0]
    assert kpi_metrics({"days": 28.0, "tie_days": 14.0})["kpi.tie_share"] == 0.5


# --- K4: conflict escalation -------------------------------------------------------------


def test_conflict_escalates_when_rivalry_reaches_avoid_threshold(town, driver):
    """Ghost steps at a shower between a0 and a1 (a2 stands apart): each conflict raises the
    ledger by 0.25 * 1.5 = 0.375, so the second reaches avoid_threshold 0.75 exactly."""
    scenario = town(
        [(4, 5), (6, 5), (1, 1)],
        SHOWER,
        ticks=100,
        ticks_per_day=20,
        queue_fairness={"ghost_step_after": 2, "age_priority_weight": 0.0},
        conflict={
            "rivalry": {
                "increment_per_conflict": 0.25,
                "decay_per_tick": 0.0,
                "avoid_threshold": 0.75,
            }
        },
    )
    d = driver(scenario)
    s = d.state
    conflicts = KPI_COUNTERS.index("conflicts")
    escalations = KPI_COUNTERS.index("escalations")
    _step(d, "shower", "wait", "wait")  # tick 0: a0 holds the shower and idles
    _step(d, "wait", "shower", "wait")  # tick 1: a1 queues (stalled 1)
    info = _step(d, "wait", "wait", "wait")  # tick 2: stalled 2, a0 ghost-stepped
    assert info["events"]["queue_conflict_events"].tolist() == [1.0]
    assert s.rivalry[0, 0, 1] == 0.375
    assert s.kpi_tally[0, :, conflicts].tolist() == [1.0, 1.0, 0.0]
    assert s.kpi_tally[0, :, escalations].tolist() == [0.0, 0.0, 0.0]  # 0.375 < 0.75
    _step(d, "wait", "wait", "wait")  # tick 3: a1 holds, a0 queued (stalled 1)
    info = _step(d, "wait", "wait", "wait")  # tick 4: a1 ghost-stepped
    assert info["events"]["queue_conflict_events"].tolist() == [1.0]
    assert s.rivalry[0, 0, 1] == 0.75
    assert s.kpi_tally[0, :, conflicts].tolist() == [2.0, 2.0, 0.0]
    assert s.kpi_tally[0, :, escalations].tolist() == [1.0, 1.0, 0.0]
    _step(d, "wait", "move_east", "wait")  # tick 5: a1 walks off and leaves the queue
    assert s.queue_obj[0].tolist() == [-1, -1, -1]
    info = _wait_until(d, 20)
    assert d.totals["queue_conflict_events"] == 2.0
    day = _day(info)
    assert day["conflicts"] == [2.0, 2.0, 0.0]  # both parties count each conflict
    assert day["escalations"] == [1.0, 1.0, 0.0]
    assert info["events"]["kpi_conflicts"].tolist() == [2.0]  # the town counts it once
    assert info["events"]["kpi_escalations"].tolist() == [1.0]
    metrics = kpi_metrics(d.totals)
    assert metrics["kpi.conflict_escalation"] == 0.5
    assert metrics["conflicts_per_agent_day"] == 2 / 3


# --- kpi_metrics -------------------------------------------------------------------------

COUNTS = {
    "days": 8.0,
    "self_sufficient_days": 6.0,
    "tie_days": 5.0,
    "shift_starts": 4.0,
    "late_starts": 1.0,
    "shift_ticks": 40.0,
    "present_ticks": 34.0,
    "faints": 1.0,
    "conflicts": 4.0,
    "escalations": 1.0,
}
EXPECTED = {
    "kpi.self_sufficiency": 0.75,
    "kpi.lateness_rate": 0.25,
    "kpi.attendance": 34 / 40,
    "kpi.tie_share": 0.625,
    "kpi.conflict_escalation": 0.25,
    "faints_per_agent_day": 0.125,
    "conflicts_per_agent_day": 0.5,
    "agent_days": 8.0,
}


def test_kpi_metrics_exact_ratios_from_either_key_form():
    assert kpi_metrics(COUNTS) == EXPECTED
    prefixed = {f"kpi_{name}": np.float64(value) for name, value in COUNTS.items()}
    assert kpi_metrics(prefixed) == EXPECTED
    # the event key wins over a bare name when both are present
    assert kpi_metrics(prefixed | {"days": 1.0, "faints": 9.0}) == EXPECTED


def test_kpi_metrics_empty_without_agent_days():
    assert kpi_metrics({}) == {}
    assert kpi_metrics({name: 0.0 for name in COUNTS}) == {}
    assert kpi_metrics({"kpi_days": 0.0, "kpi_faints": 2.0, "kpi_conflicts": 3.0}) == {}


def test_kpi_metrics_rates_without_a_denominator_report_nothing_wrong():
    metrics = kpi_metrics({"kpi_days": 3.0, "kpi_self_sufficient_days": 3.0})
    assert metrics == {
        "kpi.self_sufficiency": 1.0,
        "kpi.lateness_rate": 0.0,  # no shift started
        "kpi.attendance": 1.0,  # no shift closed: no shift tick was missed
        "kpi.tie_share": 0.0,
        "kpi.conflict_escalation": 0.0,  # no conflict
        "faints_per_agent_day": 0.0,
        "conflicts_per_agent_day": 0.0,
        "agent_days": 3.0,
    }
