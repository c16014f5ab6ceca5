"""The PettingZoo adapter (DESIGN §9.10) passes PettingZoo's own parallel API and seed tests."""

from __future__ import annotations

import numpy as np
import pytest

pettingzoo_test = pytest.importorskip("pettingzoo.test")

from townlet.sim.pettingzoo_env import TownParallelEnv  # noqa: E402


def test_parallel_api_test():
    pettingzoo_test.parallel_api_test(TownParallelEnv("queue_conflict"), num_cycles=100)


def test_parallel_seed_test():
    pettingzoo_test.parallel_seed_test(lambda: TownParallelEnv("kitchen_breakfast"), num_cycles=50)


def test_observation_carries_action_mask_and_spaces():
    env = TownParallelEnv("queue_conflict")
    obs, infos = env.reset(seed=3)
    assert env.agents == ["anna", "ben", "cara"]
    for agent, item in obs.items():
        assert item["action_mask"].dtype == np.int8 and item["action_mask"].shape == (12,)
        assert env.observation_space(agent).contains(item)
        assert item["observation"]["features"].shape == (81,)


def test_terminations_kept_apart_from_truncations(town):
    scenario = town(
        [{"position": [1, 1], "needs": {"hunger": 0.031}}, {"position": [5, 5]}],
        ticks=3,
        needs={"decay": {"hunger": 0.001, "hygiene": 0.0, "energy": 0.0}},
    )
    env = TownParallelEnv(scenario)
    env.reset(seed=0)
    _, rewards, term, trunc, _ = env.step({"a0": 0, "a1": 0})
    assert term == {"a0": True, "a1": False} and trunc == {"a0": False, "a1": False}
    assert rewards["a0"] < -1.0
    assert env.agents == ["a1"]
    env.step({"a1": 0})
    _, _, term, trunc, _ = env.step({"a1": 0})
    assert term == {"a1": False} and trunc == {"a1": True}
    assert env.agents == []
