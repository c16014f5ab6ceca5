"""Queues and conflicts (DESIGN §9.3) on a one-shower town with three agents beside it."""

from __future__ import annotations

import numpy as np
import pytest

from townlet.sim.queues import queue_ranks
from townlet.sim.relationships import conflict_intensity

SHOWER = [{"id": "shower", "type": "shower", "position": [5, 5]}]
BESIDE = [(4, 5), (6, 5), (5, 4)]  # all three stand in the shower's use area


def _people(hygiene: float = 0.2) -> list[dict]:
    return [{"position": list(p), "needs": {"hygiene": hygiene}, "wallet": 5.0} for p in BESIDE]


def _shower_town(town, **fairness):
    """The older rule by default (a running shower can be ghost-stepped), as queue_conflict."""
    fair = {"cooldown_ticks": 60, "ghost_step_after": 3, "age_priority_weight": 0.0}
    return town(_people(), SHOWER, queue_fairness=fair | {"evict_running": True} | fairness)


def _fill_queue(d):
    """a0 holds and showers; a1 then a2 join the queue."""
    d.step("shower", "wait", "wait")  # a0 granted
    d.step("shower", "shower", "wait")  # a0 starts, a1 queues
    d.step("wait", "shower", "shower")  # a2 queues


def test_ghost_step_evicts_holder_to_tail(town, driver):
    d = driver(_shower_town(town))
    _fill_queue(d)
    s = d.state
    assert s.stall[0, 0] == 2 and d.totals["ghost_step_events"] == 0
    _, info = d.step("wait", "shower", "shower")  # third stalled tick
    assert info["events"]["ghost_step_events"][0] == 1
    assert s.hold_obj[0].tolist() == [-1, 0, -1]
    assert s.queue_obj[0].tolist() == [0, -1, 0]
    assert s.run_aff[0, 0] == -1  # the running shower was dropped
    ranks = queue_ranks(s)[0]
    assert (ranks[2], ranks[0]) == (0, 1)  # a2 is now head, a0 rejoined at the tail
    # queue length 2 at eviction: 1.5 + 0.25 * (2 - 1)
    assert info["events"]["queue_conflict_intensity_sum"][0] == pytest.approx(1.75)
    # ledger: 0.15 * 1.75, then one tick of decay (0.005); ties: 0.15 * 1.75 - 0.01
    assert s.rivalry[0, 0, 1] == pytest.approx(0.15 * 1.75 - 0.005)
    assert s.rivalry[0, 1, 0] == s.rivalry[0, 0, 1]
    assert s.tie_rivalry[0, 0, 1] == pytest.approx(0.15 * 1.75 - 0.01)
    assert s.rivalry[0, 0, 2] == 0.0


def test_running_affordance_is_never_ghost_stepped(town, driver):
    """DESIGN §13: only an idle holder blocks the queue; the running shower completes."""
    scenario = _shower_town(town, evict_running=False)
    d = driver(scenario)
    _fill_queue(d)
    assert d.state.stall[0, 0] == 0  # a0 is showering: the queue waits, nothing is stalled
    for _ in range(27):  # ticks 3..29: the 30-tick shower started at tick 1 runs to its end
        d.step("wait", "shower", "shower")
    assert d.totals["ghost_step_events"] == 0 and d.totals["queue_conflict_events"] == 0
    assert d.state.run_aff[0, 0] >= 0
    _, info = d.step("wait", "shower", "shower")  # tick 30: the 30th tick of the shower
    assert info["events"]["shower_complete_events"][0] == 1
    assert d.totals["ghost_step_events"] == 0


def test_idle_holder_is_still_ghost_stepped(town, driver):
    """A holder granted the shower that never starts it is evicted after ghost_step_after."""
    d = driver(_shower_town(town, evict_running=False))
    d.step("shower", "wait", "wait")  # a0 granted
    d.step("wait", "shower", "wait")  # a0 idles while holding, a1 queues: stalled 1
    d.step("wait", "shower", "wait")  # stalled 2
    assert d.totals["ghost_step_events"] == 0
    d.step("wait", "shower", "wait")  # stalled 3: a0 evicted, a1 holds
    assert d.totals["ghost_step_events"] == 1
    assert d.state.hold_obj[0].tolist() == [-1, 0, -1]


@pytest.mark.parametrize(("weight", "next_holder"), [(0.0, 2), (1.0, 0)])
def test_age_priority_reorders_queue(town, driver, weight, next_holder):
    d = driver(_shower_town(town, age_priority_weight=weight))
    _fill_queue(d)
    d.step("wait", "shower", "shower")  # tick 3: a0 ghost-stepped (joined at tick 0), a1 holds
    d.step("shower", "shower", "shower")  # tick 4: a1 starts
    d.step("shower", "wait", "shower")
    d.step("shower", "wait", "shower")  # tick 6: a1 ghost-stepped
    # FIFO: a2 (index 0, waited 4) vs a0 (index 1, waited 6): 0 - 4w against 1 - 6w.
    assert d.state.hold_obj[0].tolist().index(0) == next_holder
    assert d.totals["ghost_step_events"] == 2


def test_cooldown_blocks_rerequest(town, driver):
    scenario = _shower_town(town, cooldown_ticks=5)
    scenario["affordance_ticks"] = {"use_shower": 2}
    d = driver(scenario)
    d.step("shower", "wait", "wait")  # tick 0: granted
    d.step("shower", "wait", "wait")  # tick 1: started
    _, info = d.step("wait", "wait", "wait")  # tick 2: done -> cooldown until 7
    assert info["events"]["shower_complete_events"][0] == 1
    assert d.state.needs[0, 0, 1] == pytest.approx(0.65)
    assert d.state.cooldown_until[0, 0, 0] == 7
    for _ in range(3, 7):
        d.step("shower", "wait", "wait")
        assert not d.state.last_success[0, 0]
        assert d.state.hold_obj[0, 0] == -1 and d.state.queue_obj[0, 0] == -1
    d.step("shower", "wait", "wait")  # tick 7: allowed again
    assert d.state.last_success[0, 0] and d.state.hold_obj[0, 0] == 0


def test_failed_release_clears_cooldown(town, driver):
    scenario = _shower_town(town, cooldown_ticks=5)
    d = driver(scenario)
    d.step("shower", "wait", "wait")  # granted
    d.state.cooldown_until[0, 0, 0] = 99  # pretend an old cooldown lingered
    d.env.observe()
    d.step("move_west", "wait", "wait")  # walks out of reach: a failed release
    assert d.state.hold_obj[0, 0] == -1
    assert d.state.cooldown_until[0, 0, 0] == 0


def _handover_town(town, driver):
    scenario = _shower_town(town, ghost_step_after=50)
    scenario["affordance_ticks"] = {"use_shower": 3}
    d = driver(scenario)
    _fill_queue(d)  # a0 started at tick 1; a1 (head) and a2 wait
    return d


def test_polite_handover_prefers_liked_waiter(town, driver):
    d = _handover_town(town, driver)
    s = d.state
    s.trust[0, 2, 0] = s.trust[0, 0, 2] = 0.5  # a2 likes the leaver; a1 is a stranger
    d.env.observe()
    _, info = d.step("wait", "shower", "shower")  # tick 3: a0 completes
    # scores: a1 0 - 0.05 * 0 = 0 (not positive), a2 0.5 - 0.05 * 1 = 0.45
    assert info["events"]["handover_events"][0] == 1
    assert info["events"]["queue_conflict_events"][0] == 0
    assert s.hold_obj[0].tolist() == [-1, -1, 0]
    assert s.trust[0, 0, 2] == pytest.approx(0.55)
    assert s.familiarity[0, 2, 0] == pytest.approx(0.05)
    assert s.cooldown_until[0, 0, 0] == 3 + 60


def test_plain_handover_is_a_low_intensity_conflict(town, driver):
    d = _handover_town(town, driver)
    _, info = d.step("wait", "shower", "shower")
    assert info["events"]["handover_events"][0] == 0
    assert d.state.hold_obj[0].tolist() == [-1, 0, -1]  # FIFO head
    # handover_boost 0.4 + 0.25 * (2 - 1)
    assert info["events"]["queue_conflict_intensity_sum"][0] == pytest.approx(0.65)


def test_conflict_intensity_formula():
    qlen = np.array([1, 2, 4, 40])
    assert conflict_intensity(1.5, qlen, 0.25).tolist() == pytest.approx([1.5, 1.75, 2.25, 5.0])
    assert conflict_intensity(0.4, qlen, 0.25).tolist() == pytest.approx([0.4, 0.65, 1.15, 5.0])
    assert conflict_intensity(0.0, np.array([1]), 0.25).tolist() == [0.1]
