"""Employment (DESIGN §9.5): on-time, late and absent workers on one counter job."""

from __future__ import annotations

import pytest

from townlet.sim.constants import SHIFT_ABSENT, SHIFT_LATE, SHIFT_ON_TIME, SHIFT_POST, SHIFT_PRE


def _shop(town):
    people = [{"position": [5, y], "wallet": 5.0, "job": "shop"} for y in (5, 6, 4)]
    return town(
        people,
        [{"id": "counter", "type": "counter", "position": [5, 5]}],
        ticks=250,
        ticks_per_day=100,
        jobs={
            "shop": {
                "start_tick": 10,
                "end_tick": 30,
                "location": [5, 5],
                "wage_rate": 0.1,
                "lateness_penalty": 0.2,
            }
        },
        employment={
            "grace_ticks": 5,
            "absent_cutoff": 15,
            "late_tick_penalty": 0.01,
            "absence_penalty": 0.3,
        },
        rewards={"survival_tick": 0.0, "punctuality_bonus": 0.05, "clip_per_tick": 5.0},
    )


def _day(d, late_from: int, day: int = 0):
    """a0 works from the start, a1 from ``late_from``, a2 never (ticks of the given day)."""
    states = {}
    base = 100 * day
    while int(d.state.tick[0]) < base + 31:
        now = int(d.state.tick[0]) - base
        a1 = "work" if now >= late_from else "wait"
        rewards, info = d.step("work", a1, "wait" if day == 0 else "work")
        states[now] = d.state.shift_state[0].tolist()
    return states


def test_late_and_absent_states_penalties_and_wages(town, driver):
    d = driver(_shop(town))
    lateness_terms = []
    while int(d.state.tick[0]) < 31:
        now = int(d.state.tick[0])
        _, info = d.step("work", "work" if now >= 18 else "wait", "wait")
        lateness_terms.append(info["reward_terms"]["lateness"][0].tolist())
        s = d.state
        if now == 12:
            assert s.shift_state[0].tolist() == [SHIFT_ON_TIME, SHIFT_PRE, SHIFT_PRE]
        if now == 16:  # since start 6 > grace 5
            assert s.shift_state[0].tolist() == [SHIFT_ON_TIME, SHIFT_LATE, SHIFT_LATE]
            assert s.lateness_counter[0].tolist() == [0, 1, 1]
        if now == 20:
            assert s.shift_state[0].tolist() == [SHIFT_ON_TIME, SHIFT_LATE, SHIFT_LATE]
        if now == 25:  # since start 15 = absent_cutoff
            assert s.shift_state[0].tolist() == [SHIFT_ON_TIME, SHIFT_LATE, SHIFT_ABSENT]
        if now == 30:
            assert s.shift_state[0].tolist() == [SHIFT_POST] * 3
    s = d.state
    assert s.wallet[0].tolist() == pytest.approx([7.0, 5.98, 4.41])
    assert s.wages_withheld[0].tolist() == pytest.approx([0.0, 0.2, 1.4])
    assert s.lateness_counter[0].tolist() == [0, 1, 1]
    assert d.totals["late_help_events"] == 2  # a1 and a2, both covered by a0, once each
    assert d.totals["shift_takeover_events"] == 1  # a2 absent while a0 and a1 work
    # help (+0.2 trust) then took-my-shift (-0.1) between a2 and a0
    assert s.trust[0, 2, 0] == pytest.approx(0.1)
    assert s.trust[0, 1, 0] == pytest.approx(0.2)
    assert s.tie_rivalry[0, 2, 1] == pytest.approx(0.3 - 6 * 0.01)  # decayed ticks 25..30
    assert lateness_terms[16][1] == pytest.approx(-0.21)  # lateness_penalty + one late tick
    assert lateness_terms[25][2] == pytest.approx(-0.3)  # absence_penalty (absent, not late)
    feats = d.obs["features"][0]
    assert feats[:, 8].tolist() == pytest.approx([1.0, 0.6, 0.0])  # attendance_ratio
    assert feats[:, 9].tolist() == pytest.approx([0.0, 0.2, 1.4])  # wages_withheld
    assert feats[:, 4].tolist() == [0.0, 1.0, 1.0]  # lateness_counter
    assert feats[:, 14].tolist() == [1.0, 1.0, 1.0]  # shift_post one-hot


def test_shifts_repeat_daily_and_attendance_averages(town, driver):
    d = driver(_shop(town))
    while int(d.state.tick[0]) < 31:
        now = int(d.state.tick[0])
        d.step("work", "work" if now >= 18 else "wait", "wait")
    while int(d.state.tick[0]) < 131:  # day 2: everyone works from the start
        d.step("work", "work", "work")
    s = d.state
    assert s.shift_day[0].tolist() == [1, 1, 1]
    assert s.attendance_total[0].tolist() == [2, 2, 2]
    feats = d.obs["features"][0]
    assert feats[:, 8].tolist() == pytest.approx([1.0, 0.8, 0.5])
    assert s.lateness_counter[0].tolist() == [0, 1, 1]  # nobody late on day 2


def test_on_shift_feature_and_work_commitment(town, driver):
    d = driver(_shop(town))
    while int(d.state.tick[0]) < 11:
        d.step("work", "wait", "wait")
    assert d.obs["features"][0, 0, 5] == 1.0  # on_shift
    mask = d.obs["action_mask"][0, 0]
    assert mask.sum() == 1 and mask[0]  # committed to work_shift until it ends


def test_on_time_shift_is_paid_when_the_grace_period_ends(town, driver):
    """rewards.on_time_shift (K2 as a payment): on the tick the grace period ends (since start
    = grace_ticks = 5, tick 15) a0, at work since tick 10, earns 1.5 outside the clip; a1
    (arriving at 18) and a2 (never) earn nothing, then or later."""
    scenario = _shop(town)
    scenario["rewards"] |= {"on_time_shift": 1.5, "clip_per_tick": 0.2}
    d = driver(scenario)
    paid = {}
    while int(d.state.tick[0]) < 31:
        now = int(d.state.tick[0])
        rewards, info = d.step("work", "work" if now >= 18 else "wait", "wait")
        paid[now] = info["reward_terms"]["living_well"][0].tolist()
        if now == 15:
            assert rewards[0, 0] == pytest.approx(1.5 + info["reward_terms"]["clipped"][0, 0])
    assert paid.pop(15) == [1.5, 0.0, 0.0]
    assert all(row == [0.0, 0.0, 0.0] for row in paid.values())
