"""The render trace: what it records per tick, and that recording changes no result."""

from __future__ import annotations

import numpy as np

from tests.unit.render.conftest import TICKS, tiny_scenario, waiting
from townlet.policy.episodes import play_episodes
from townlet.policy.probes import make_probe
from townlet.render.style import ACT_GONE, ACT_MOVE, ACT_SLEEP, ACT_WAIT, activities
from townlet.render.trace import TownTrace, TraceRecorder
from townlet.sim import load_scenario
from townlet.sim.constants import AFF_SLEEP, MOVE_N, SLEEP, WAIT


def test_trace_holds_every_tick_of_town_zero(tiny_trace: TownTrace) -> None:
    assert tiny_trace.num_ticks == TICKS
    assert tiny_trace.x.shape == (TICKS + 1, 2) and tiny_trace.actions.shape == (TICKS, 2)
    assert tiny_trace.tick.tolist() == list(range(TICKS + 1))
    assert (tiny_trace.x[:, 0] == 1).all() and (tiny_trace.y[:, 1] == 2).all()
    assert tiny_trace.walls[0, 3] and tiny_trace.walls.sum() == 1
    # Needs decay while waiting: the trace follows the state, not the scenario's start.
    assert (np.diff(tiny_trace.needs[:, 0, 0]) < 0).all()
    assert tiny_trace.agent_ids == ("ann", "ben") and tiny_trace.object_ids == ("fridge_1", "bed_1")


def test_a_faint_is_recorded_at_its_tick() -> None:
    scenario = tiny_scenario(
        agents=[
            {"id": "ann", "position": [1, 1]},
            {"id": "ben", "position": [4, 2], "needs": {"hunger": 0.05}},  # 0.01 a tick: faints
        ]
    )
    recorder = TraceRecorder()
    play_episodes(scenario, waiting, towns=1, seed=3, observer=recorder)
    trace = recorder.trace()
    assert trace.fainted[:, 0].sum() == 0
    assert np.flatnonzero(trace.fainted[:, 1]).tolist() == [1]  # hunger 0.03 after tick 1
    assert not trace.alive[2:, 1].any() and not trace.evicted.any()


def test_recording_changes_no_result() -> None:
    scenario = load_scenario("queue_conflict")
    plain = play_episodes(scenario, make_probe("scripted"), towns=2, seed=11)
    traced = play_episodes(scenario, make_probe("scripted"), 2, 11, observer=TraceRecorder())
    assert plain.to_dict() == traced.to_dict()
    np.testing.assert_array_equal(plain.returns, traced.returns)


def test_activity_is_the_running_affordance_else_the_action() -> None:
    run_aff = np.array([[AFF_SLEEP, -1, -1, -1]])
    actions = np.array([[WAIT, MOVE_N, SLEEP, WAIT]])
    alive = np.array([[True, True, True, False]])
    assert activities(run_aff, actions, alive).tolist() == [
        [ACT_SLEEP, ACT_MOVE, ACT_SLEEP, ACT_GONE]
    ]
    assert activities(run_aff[:, 1:2], actions[:, :1], alive[:, :1]).tolist() == [[ACT_WAIT]]
