"""Probe policies (DESIGN §13): legal actions, and each does exactly what its name says."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from townlet.policy.episodes import play_episodes
from townlet.policy.probes import (
    PROBE_NAMES,
    Probe,
    jobless_scenario,
    make_probe,
    random_probe,
)
from townlet.sim import Scenario, TownVecEnv, load_scenario
from townlet.sim.constants import CHAT, COOK, EAT, SHOWER, SLEEP, WAIT, WORK

Obs = dict[str, np.ndarray]
TICKS = 480  # one town day: every shift, meal and chat pattern of the day shows up


@pytest.fixture(scope="module")
def town() -> Scenario:
    return load_scenario("town")


def steps(
    scenario: Scenario, probe: Probe, towns: int = 2, ticks: int = TICKS
) -> Iterator[tuple[TownVecEnv, Obs, np.ndarray]]:
    """Drive ``probe`` for ``ticks`` ticks; yields (env, observation, actions) before each step."""
    env = TownVecEnv(scenario, num_towns=towns, seed=7, auto_reset=False)
    obs = env.reset(7)
    rng = np.random.default_rng(7)
    for _ in range(ticks):
        actions = probe(env, obs, rng)
        yield env, obs, actions
        obs, *_ = env.step(actions)


def test_registry_names_every_probe() -> None:
    assert PROBE_NAMES == ("scripted", "chat", "never_work", "wait", "random")
    with pytest.raises(KeyError, match="expected one of: scripted, chat, never_work, wait, random"):
        make_probe("greedy")


@pytest.mark.parametrize("name", PROBE_NAMES)
def test_probe_actions_are_always_legal(town: Scenario, name: str) -> None:
    chosen = np.zeros(12, dtype=np.int64)
    for _, obs, actions in steps(town, make_probe(name)):
        assert actions.shape == (2, 8) and actions.dtype == np.int64
        legal = np.take_along_axis(obs["action_mask"], actions[..., None], axis=-1)
        assert legal.all(), name
        np.add.at(chosen, actions.ravel(), 1)
    if name != "wait":  # every other probe moves, eats and lives: more than one kind of action
        assert np.count_nonzero(chosen) >= 5, (name, chosen)


def test_wait_probe_only_waits(town: Scenario) -> None:
    for _, _, actions in steps(town, make_probe("wait"), ticks=50):
        assert (actions == WAIT).all()


def test_chat_probe_chats_whenever_allowed(town: Scenario) -> None:
    chats = 0
    for env, obs, actions in steps(town, make_probe("chat")):
        can_chat = obs["action_mask"][..., CHAT]
        assert (actions[can_chat] == CHAT).all()
        np.testing.assert_array_equal(actions[~can_chat], env.scripted_actions()[~can_chat])
        chats += int(can_chat.sum())
    assert chats > 100  # agents meet often enough in a town day for the probe to matter


def test_never_work_serves_needs_instead_of_working(town: Scenario) -> None:
    instead: set[int] = set()
    for env, _, actions in steps(town, make_probe("never_work"), towns=1):
        assert not (actions == WORK).any()
        would_work = env.scripted_actions() == WORK
        instead.update(int(a) for a in actions[would_work])
    # Where the controller would go to work, this probe eats, cooks, showers or sleeps instead
    # (not only waits): it keeps its needs up.
    assert instead & {EAT, COOK, SHOWER, SLEEP}, instead


def test_never_work_is_never_on_site_and_misses_every_shift(town: Scenario) -> None:
    report = play_episodes(town, make_probe("never_work"), towns=1, seed=3)
    summary = report.summary()
    assert summary["kpi.attendance"] == 0.0
    assert summary["kpi.lateness_rate"] == 1.0
    per_agent = report.per_agent()
    assert all(row["present_ticks"] == 0.0 for row in per_agent.values())
    assert sum(row["shift_starts"] for row in per_agent.values()) > 0


def test_jobless_scenario_keeps_the_world_and_drops_the_jobs(town: Scenario) -> None:
    jobless = jobless_scenario(town)
    assert [a.id for a in jobless.agents] == [a.id for a in town.agents]
    assert [a.job for a in jobless.agents] == [None] * 8
    assert jobless.jobs == town.jobs and jobless.objects == town.objects
    assert any(a.job for a in town.agents)  # the original is untouched


def test_random_probe_is_uniform_over_legal_actions_and_seeded(town: Scenario) -> None:
    env = TownVecEnv(town, num_towns=1, seed=0)
    mask = np.zeros((1, 3, 12), dtype=bool)
    mask[0, 0, [0, 3, 10]] = True
    mask[0, 1, :] = True
    mask[0, 2, 0] = True
    obs = {"action_mask": mask}
    draws = 6000
    rng = np.random.default_rng(0)
    picks = np.stack([random_probe(env, obs, rng)[0] for _ in range(draws)])  # [draws, 3]
    assert set(np.unique(picks[:, 0])) == {0, 3, 10}
    assert set(np.unique(picks[:, 1])) == set(range(12))
    assert (picks[:, 2] == 0).all()
    for agent, legal in ((0, 3), (1, 12)):
        shares = np.bincount(picks[:, agent], minlength=12)[mask[0, agent]] / draws
        np.testing.assert_allclose(shares, 1.0 / legal, atol=0.03)
    replay = random_probe(env, obs, np.random.default_rng(0))[0]
    np.testing.assert_array_equal(replay, picks[0])
