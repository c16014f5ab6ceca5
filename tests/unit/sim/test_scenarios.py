"""The six bundled scenarios show what DESIGN §9.11 says under the scripted controller."""

from __future__ import annotations

import numpy as np
import pytest

from townlet.sim import FEATURE_NAMES, SCENARIO_NAMES, TownVecEnv, load_scenario
from townlet.sim.constants import SHIFT_LATE, SHIFT_ON_TIME
from townlet.sim.kpi import kpi_metrics

FI = {name: i for i, name in enumerate(FEATURE_NAMES)}
CLOCK = [FI["time_sin"], FI["time_cos"], FI["episode_progress"], FI["ctx_reset_flag"]]


def _run(name: str):
    """One episode (up to the last tick before truncation) under the scripted controller."""
    env = TownVecEnv(name)
    obs = env.reset()
    frames, rewards, events, states = [obs], [], [], []
    for _ in range(env.scenario.ticks - 1):
        obs, rew, _, _, info = env.step(env.scripted_actions())
        frames.append(obs)
        rewards.append(rew[0])
        events.append({k: float(v[0]) for k, v in info["events"].items()})
        states.append(env.state.shift_state[0].copy())
    totals = {k: sum(e[k] for e in events) for k in events[0]}
    feats = np.stack([f["features"][0] for f in frames])  # [ticks, agents, 81]
    return env, frames, np.stack(rewards), events, totals, feats, np.stack(states)


def test_all_bundled_scenarios_load():
    for name in SCENARIO_NAMES:
        sc = load_scenario(name)
        assert sc.name == name and sc.description


def test_queue_conflict():
    env, _, _, _, totals, feats, _ = _run("queue_conflict")
    assert env.num_agents == 3 and env.world.num_objects == 1
    assert totals["ghost_step_events"] > 10
    assert totals["queue_conflict_events"] >= totals["ghost_step_events"]
    rivalry_max = feats[:, :, FI["rivalry_max"]].max(axis=1)
    assert rivalry_max[0] == 0.0 and rivalry_max[5] > rivalry_max[2] > 0.0  # rising
    assert rivalry_max.max() >= 0.9
    assert feats[:, :, FI["rivalry_avoid_count"]].max() > 0


def test_employment_punctuality():
    env, _, _, _, totals, feats, states = _run("employment_punctuality")
    dawn, erin = env.agent_ids.index("dawn"), env.agent_ids.index("erin")
    assert (states[:, dawn] == SHIFT_ON_TIME).any() and not (states[:, dawn] == SHIFT_LATE).any()
    assert (states[:, erin] == SHIFT_LATE).any() and not (states[:, erin] == SHIFT_ON_TIME).any()
    last = feats[-2]  # before the episode's final tick
    assert last[erin, FI["lateness_counter"]] == 1 and last[dawn, FI["lateness_counter"]] == 0
    assert last[erin, FI["wages_withheld"]] > 0 and last[dawn, FI["wages_withheld"]] == 0
    assert last[dawn, FI["wallet"]] > last[erin, FI["wallet"]]
    assert totals["late_help_events"] >= 1


def test_rivalry_decay():
    _, _, _, _, totals, feats, _ = _run("rivalry_decay")
    assert totals["queue_conflict_events"] > 0
    rivalry = feats[:, :, FI["rivalry_max"]].max(axis=1)
    peak = int(rivalry.argmax())
    assert rivalry[peak] >= 0.7
    after = rivalry[30:]  # the stove contest ended at tick 24
    assert (np.diff(after) <= 1e-6).all()  # only decays from here on
    assert rivalry[-1] == 0.0  # decayed and evicted


def test_observation_baseline():
    _, frames, rewards, _, totals, feats, _ = _run("observation_baseline")
    assert (rewards == 0).all()
    assert all(v == 0 for v in totals.values())
    first_map = frames[1]["map"]
    assert all((f["map"] == first_map).all() for f in frames)
    steady = np.delete(feats[1:], CLOCK, axis=2)
    assert (steady == steady[0]).all()


def test_kitchen_breakfast():
    env, _, _, events, totals, _, _ = _run("kitchen_breakfast")
    cooked = [i for i, e in enumerate(events) if e["meal_cooked_events"]]
    eaten = [i for i, e in enumerate(events) if e["meal_eaten_events"]]
    assert totals["meal_cooked_events"] == 2 and totals["meal_eaten_events"] == 2
    assert max(cooked) < min(eaten)  # cook, then eat
    assert totals["shared_meal_events"] >= 1
    assert env.state.stock[0, env.world.objects.ids.index("fridge_1")] == 0  # all eaten


def test_kitchen_meals_flow_through_fridge():
    env = TownVecEnv("kitchen_breakfast")
    env.reset()
    fridge = env.world.objects.ids.index("fridge_1")
    stock = []
    for _ in range(60):
        env.step(env.scripted_actions())
        stock.append(int(env.state.stock[0, fridge]))
    assert max(stock) == 2 and stock[0] == 0 and stock[-1] == 0


@pytest.mark.parametrize(
    "key",
    [
        "queue_conflict_events",
        "handover_events",
        "shared_meal_events",
        "chat_success_events",
        "utility_outage_events",
        "shower_complete_events",
        "sleep_complete_events",
        "meal_eaten_events",
    ],
)
def test_town_days_show_town_life(town_day, key):
    assert town_day[key] > 0, key


@pytest.mark.parametrize(
    "key", ["ghost_step_events", "late_help_events", "shift_takeover_events", "faint_events"]
)
def test_town_scripted_days_go_well(town_day, key):
    """Nobody is ghost-stepped out of a running affordance, late, absent or fainted (§13)."""
    assert town_day[key] == 0, key


def test_town_scripted_controller_meets_the_charter(town_day):
    kpis = kpi_metrics(town_day)
    assert kpis["agent_days"] == 8 * 3  # three days of eight agents
    assert kpis["kpi.self_sufficiency"] >= 0.7
    assert kpis["kpi.lateness_rate"] < 0.15
    assert kpis["kpi.tie_share"] >= 0.6
    assert kpis["kpi.conflict_escalation"] < 0.2
    assert kpis["faints_per_agent_day"] == 0.0


@pytest.fixture(scope="module")
def town_day():
    """The whole three-day episode of one town, its last tick included."""
    env = TownVecEnv("town", auto_reset=False)
    env.reset()
    totals: dict[str, float] = {}
    for _ in range(env.scenario.ticks):
        _, _, _, _, info = env.step(env.scripted_actions())
        for key, value in info["events"].items():
            totals[key] = totals.get(key, 0.0) + float(value[0])
    assert env.num_agents == 8 and (env.scenario.grid.width, env.scenario.grid.height) == (24, 24)
    assert len(env.scenario.jobs) == 2
    kinds = {o.type for o in env.scenario.objects}
    assert kinds == {"fridge", "stove", "table", "shower", "bed", "counter", "bench"}
    assert totals["faint_events"] == 0 and totals["eviction_events"] == 0
    assert totals["chat_quality_sum"] > 0
    return totals
