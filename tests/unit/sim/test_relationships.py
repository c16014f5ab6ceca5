"""Rivalry ledger and ties (DESIGN §9.4): decay, eviction, max_edges, chats."""

from __future__ import annotations

import pytest

from townlet.sim.constants import CHAT


def _set_ledger(state, a: int, b: int, value: float) -> None:
    state.rivalry[0, a, b] = state.rivalry[0, b, a] = value


def test_rivalry_decays_and_is_evicted_below_threshold(town, driver):
    scenario = town(
        [(1, 1), (8, 8)],
        conflict={"rivalry": {"decay_per_tick": 0.05, "eviction_threshold": 0.05}},
    )
    d = driver(scenario)
    _set_ledger(d.state, 0, 1, 0.22)
    d.env.observe()
    seen = []
    for _ in range(4):
        d.step("wait", "wait")
        seen.append(float(d.state.rivalry[0, 0, 1]))
    assert seen[:3] == pytest.approx([0.17, 0.12, 0.07])
    assert seen[3] == 0.0  # 0.02 is below the eviction threshold: the edge is dropped
    assert d.obs["features"][0, 0, 18] == 0.0  # rivalry_max


def test_max_edges_keeps_strongest_rivals(town, driver):
    scenario = town(
        [(1, 1), (3, 3), (5, 5), (7, 7)],
        conflict={"rivalry": {"decay_per_tick": 0.0, "max_edges": 2}},
    )
    d = driver(scenario)
    for b, value in ((1, 0.9), (2, 0.5), (3, 0.7)):
        _set_ledger(d.state, 0, b, value)
    d.env.observe()
    d.step("wait", "wait", "wait", "wait")
    row = d.state.rivalry[0, 0]
    assert row.tolist() == pytest.approx([0.0, 0.9, 0.0, 0.7])
    assert d.state.rivalry[0, 2, 0] == 0.0  # dropped on both sides
    assert d.obs["features"][0, 0, 18] == pytest.approx(0.9)


def test_avoid_count_feature_uses_threshold(town, driver):
    scenario = town(
        [(1, 1), (3, 3), (5, 5)],
        conflict={"rivalry": {"decay_per_tick": 0.0, "avoid_threshold": 0.6}},
    )
    d = driver(scenario)
    _set_ledger(d.state, 0, 1, 0.65)
    _set_ledger(d.state, 0, 2, 0.55)
    obs = d.env.observe()
    assert obs["features"][0, :, 19].tolist() == [1.0, 1.0, 0.0]
    assert obs["action_mask"][0, :, 11].tolist() == [True, True, False]


def test_chat_success_raises_trust_and_familiarity(town, driver):
    d = driver(town([(4, 5), (5, 6)]))
    assert d.obs["action_mask"][0, :, CHAT].all()  # diagonal neighbours are within one tile
    rewards, info = d.step("chat", "wait")
    ev = info["events"]
    assert ev["chat_success_events"][0] == 1 and ev["chat_failure_events"][0] == 0
    q = ev["chat_quality_sum"][0]
    assert 0.4 <= q <= 0.6  # 0.5 + noise within +-0.1 for neutral ties and personalities
    assert ev["chat_quality_mean"][0] == pytest.approx(q)
    s = d.state
    assert s.trust[0, 0, 1] == pytest.approx(0.05 * q) == s.trust[0, 1, 0]
    assert s.familiarity[0, 0, 1] == pytest.approx(0.1 * q)
    terms = info["reward_terms"]["social_chat"][0]
    assert terms.tolist() == pytest.approx([0.01 * q, 0.01 * q])
    assert s.last_success[0, 0]


def test_chat_fails_when_listener_avoids_speaker(town, driver):
    scenario = town([(4, 5), (5, 5)], conflict={"rivalry": {"decay_per_tick": 0.0}})
    d = driver(scenario)
    _set_ledger(d.state, 0, 1, 0.8)  # above the default avoid threshold 0.7
    d.env.observe()
    _, info = d.step("chat", "wait")
    assert info["events"]["chat_failure_events"][0] == 1
    assert info["events"]["chat_success_events"][0] == 0
    s = d.state
    assert s.familiarity[0, 0, 1] == pytest.approx(-0.05)
    assert s.tie_rivalry[0, 0, 1] == pytest.approx(0.05 - 0.01)  # then one tick of tie decay
    assert not s.last_success[0, 0]
    assert info["reward_terms"]["social_chat"][0].tolist() == pytest.approx([-0.01, 0.0])


def test_chat_masked_without_neighbour(town, driver):
    d = driver(town([(1, 1), (4, 4)]))
    assert not d.obs["action_mask"][0, :, CHAT].any()
    d.step("chat", "wait")  # masked: executed as wait, reported unsuccessful
    assert d.totals["chat_success_events"] + d.totals["chat_failure_events"] == 0
    assert not d.state.last_success[0, 0]
