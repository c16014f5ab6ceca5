"""Rewards and terminations (DESIGN §9.6, §9.1)."""

from __future__ import annotations

import pytest


def test_faint_terminates_and_adds_penalty_after_clip(town, driver):
    scenario = town(
        [{"position": [2, 2], "needs": {"hunger": 0.05, "hygiene": 0.5, "energy": 1.0}}],
        needs={"decay": {"hunger": 0.01, "hygiene": 0.0, "energy": 0.0}},
        rewards={"survival_tick": 0.002, "clip_per_tick": 0.2},
    )
    d = driver(scenario)
    rewards, info = d.step("wait")  # hunger 0.04: still standing
    terms = info["reward_terms"]
    raw = 0.002 - 1.0 * 0.96**2 - 0.6 * 0.5**2
    assert terms["need_hunger"][0, 0] == pytest.approx(-(0.96**2))
    assert terms["clipped"][0, 0] == pytest.approx(max(raw, -0.2))
    assert rewards[0, 0] == pytest.approx(-0.2)
    assert not info["town_done"][0]
    env = d.env
    obs, rewards, terminated, truncated, info = env.step([[0]])  # hunger 0.03 <= 0.03: faint
    assert terminated[0, 0] and not truncated[0, 0]
    assert rewards[0, 0] == pytest.approx(-0.2 - 1.0)  # clipped first, then the terminal penalty
    assert info["reward_terms"]["terminal"][0, 0] == pytest.approx(-1.0)
    assert info["events"]["faint_events"][0] == 1
    assert info["town_done"][0]  # nobody left alive: the town restarts in place
    final = info["final_observation"]
    assert final["features"][0, 0, 0] == pytest.approx(0.03)
    assert obs["features"][0, 0, 0] == pytest.approx(0.05)  # fresh episode
    assert obs["features"][0, 0, 16] == 1.0  # ctx_reset_flag


def test_reward_terms_sum_to_total_within_clip(town, driver):
    scenario = town(
        [{"position": [2, 2], "needs": {"hunger": 0.9, "hygiene": 0.8, "energy": 0.7}}],
        rewards={"survival_tick": 0.002},
    )
    d = driver(scenario)
    rewards, info = d.step("wait")
    terms = {k: float(v[0, 0]) for k, v in info["reward_terms"].items()}
    expected = 0.002 - 1.0 * 0.1**2 - 0.6 * 0.2**2 - 0.8 * 0.3**2
    assert terms["clipped"] == pytest.approx(expected)
    assert terms["total"] == pytest.approx(expected) == pytest.approx(float(rewards[0, 0]))
    shaped = sum(terms[k] for k in ("survival", "need_hunger", "need_hygiene", "need_energy"))
    assert shaped == pytest.approx(expected)


def test_dead_agents_earn_nothing_and_only_wait(town, driver):
    scenario = town(
        [{"position": [2, 2], "needs": {"hunger": 0.02}}, {"position": [6, 6]}],
        rewards={"survival_tick": 0.01},
    )
    d = driver(scenario)
    rewards, info = d.step("wait", "wait")
    assert rewards[0].tolist() == pytest.approx([-0.2 - 1.0, 0.01])  # clip(0.01 - 0.98^2) - 1
    assert not d.state.alive[0, 0]
    assert d.obs["action_mask"][0, 0].tolist() == [True] + [False] * 11
    rewards, info = d.step("wait", "wait")
    assert rewards[0, 0] == 0.0 and not info["active"][0, 0] and info["active"][0, 1]


def test_need_floor_penalty_per_need_at_or_below_the_kpi_floor(town, driver):
    """§13 made dense: 0.05 per need at or below 0.3 after the tick's decay (here two)."""
    scenario = town(
        [{"position": [2, 2], "needs": {"hunger": 0.9, "hygiene": 0.3, "energy": 0.31}}],
        needs={"decay": {"hunger": 0.0, "hygiene": 0.0, "energy": 0.01}},
        rewards={"survival_tick": 0.0, "need_floor_penalty": 0.05},
    )
    d = driver(scenario)
    rewards, info = d.step("wait")  # energy 0.30: now at the floor too
    terms = {k: float(v[0, 0]) for k, v in info["reward_terms"].items()}
    assert terms["need_floor"] == pytest.approx(-0.1)
    needs = -(0.1**2) - 0.6 * 0.7**2 - 0.8 * 0.7**2
    assert terms["clipped"] == pytest.approx(max(needs - 0.1, -0.2))


def test_living_well_pays_each_self_sufficient_day_at_its_end(town, driver):
    """rewards.self_sufficient_day is paid on the day's last tick to agents whose day met K1,
    outside the clip; an agent whose hygiene sat at 0.3 earns nothing."""
    scenario = town(
        [
            {"position": [2, 2], "needs": {"hunger": 1.0, "hygiene": 1.0, "energy": 1.0}},
            {"position": [6, 6], "needs": {"hunger": 1.0, "hygiene": 0.3, "energy": 1.0}},
        ],
        ticks=20,
        ticks_per_day=5,
        needs={"decay": {"hunger": 0.0, "hygiene": 0.0, "energy": 0.0}},
        rewards={"survival_tick": 0.01, "self_sufficient_day": 2.0},
    )
    d = driver(scenario)
    for _ in range(4):
        rewards, info = d.step("wait", "wait")
        assert info["reward_terms"]["living_well"][0].tolist() == [0.0, 0.0]
    rewards, info = d.step("wait", "wait")  # tick 4 ends the first day
    assert info["reward_terms"]["living_well"][0].tolist() == [2.0, 0.0]
    assert rewards[0, 0] == pytest.approx(0.01 + 2.0)
    rewards, info = d.step("wait", "wait")  # the next day has just begun
    assert info["reward_terms"]["living_well"][0].tolist() == [0.0, 0.0]
