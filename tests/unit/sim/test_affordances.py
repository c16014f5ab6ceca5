"""Affordances (DESIGN §9.2): effects on completion, meals, shared meals, masks while running."""

from __future__ import annotations

import pytest

from townlet.sim.constants import ACTION_IDS, NUM_ACTIONS


def _kitchen(town, **kw):
    objects = [
        {"id": "table", "type": "table", "position": [5, 5], "capacity": 2},
        {"id": "fridge", "type": "fridge", "position": [8, 8], "stock": 2},
        {"id": "stove", "type": "stove", "position": [1, 1]},
    ]
    people = [
        {"position": [4, 5], "needs": {"hunger": 0.3}, "wallet": 1.0},
        {"position": [6, 5], "needs": {"hunger": 0.3}, "wallet": 1.0},
    ]
    return town(people, objects, **kw)


def test_shared_meal_at_table_and_meal_effects(town, driver):
    d = driver(_kitchen(town))
    d.step("eat", "eat")  # both granted a seat (capacity 2)
    assert d.state.hold_obj[0].tolist() == [0, 0]
    _, info = d.step("eat", "eat")  # both start eating: a shared meal
    assert info["events"]["shared_meal_events"][0] == 1
    assert d.state.stock[0].tolist() == [0, 0, 0]  # two meals taken from the fridge
    assert d.state.trust[0, 0, 1] == pytest.approx(0.1)
    assert d.state.familiarity[0, 1, 0] == pytest.approx(0.25)
    for _ in range(14):
        _, info = d.step("wait", "wait")
    assert info["events"]["meal_eaten_events"][0] == 2
    assert d.state.needs[0, :, 0].tolist() == pytest.approx([0.7, 0.7])
    assert d.state.needs[0, :, 2].tolist() == pytest.approx([1.0, 1.0])  # +0.05, clipped
    assert d.state.wallet[0].tolist() == pytest.approx([0.6, 0.6])  # meal_cost charged once
    assert d.totals["shared_meal_events"] == 1


def test_masks_while_affordance_runs(town, driver):
    d = driver(_kitchen(town))
    d.step("eat", "wait")
    d.step("eat", "wait")
    mask = d.obs["action_mask"][0]
    assert mask[0].tolist() == [True] + [False] * (NUM_ACTIONS - 1)
    assert mask[1].sum() > 1
    d.step("move_west", "wait")  # masked while eating: executed as wait
    assert d.state.x[0, 0] == 4 and d.state.run_aff[0, 0] == 0
    assert not d.state.last_success[0, 0]
    feats = d.obs["features"][0, 0]
    assert feats[22] == pytest.approx(2 / 15)  # last_action_duration: 2 of 15 ticks done
    assert feats[23] == 1.0 and feats[24] == 0.0  # reservation_active, in_queue


def test_cooking_delivers_meal_to_fridge(town, driver):
    scenario = _kitchen(town, affordance_ticks={"cook_meal": 3})
    scenario["objects"][1]["stock"] = 0
    scenario["agents"][0]["position"] = [1, 2]
    d = driver(scenario)
    d.step("cook", "wait")
    d.step("cook", "wait")
    d.step("wait", "wait")
    _, info = d.step("wait", "wait")
    assert info["events"]["meal_cooked_events"][0] == 1
    assert d.state.stock[0, 1] == 1
    assert d.state.needs[0, 0, 0] == pytest.approx(0.4)
    assert d.state.wallet[0, 0] == pytest.approx(0.85)


def test_goal_option_steps_then_queues_then_starts(town, driver):
    scenario = town(
        [{"position": [1, 5], "needs": {"energy": 0.2}}],
        [{"id": "bed", "type": "bed", "position": [5, 5]}],
        grid={"width": 10, "height": 10, "walls": [[3, 5], [3, 4]]},
    )
    d = driver(scenario)
    path = []
    for _ in range(12):
        d.step("sleep")
        path.append((int(d.state.x[0, 0]), int(d.state.y[0, 0])))
        if d.state.run_aff[0, 0] >= 0:
            break
    starts = [(1, 5), *path[:-1]]
    steps = [abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in zip(starts, path, strict=True)]
    assert set(steps) <= {0, 1}  # never teleports
    assert (3, 5) not in path and (3, 4) not in path  # never enters a wall
    # 5 steps around the wall to the use area, a request tick, then the start
    assert len(path) == 7 and d.state.run_aff[0, 0] == 3
    assert ACTION_IDS["sleep"] == d.state.last_action[0, 0]


def test_unavailable_options_are_masked(town, driver):
    d = driver(town([(1, 1)], [{"id": "bed", "type": "bed", "position": [5, 5]}]))
    mask = d.obs["action_mask"][0, 0]
    assert mask[ACTION_IDS["sleep"]]
    for name in ("eat", "cook", "shower", "work", "chat", "avoid_rival"):
        assert not mask[ACTION_IDS[name]], name
    corner = d.obs["action_mask"][0, 0]
    assert corner[ACTION_IDS["move_north"]] and corner[ACTION_IDS["move_west"]]
    d2 = driver(town([(0, 0)]))
    m2 = d2.obs["action_mask"][0, 0]
    assert not m2[ACTION_IDS["move_north"]] and not m2[ACTION_IDS["move_west"]]
    assert m2[ACTION_IDS["move_south"]] and m2[ACTION_IDS["move_east"]]
