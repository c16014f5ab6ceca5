"""TownVecEnv contract (DESIGN §9.10): shapes, info, determinism, in-place reset, checkpoints."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from townlet.sim import ACTION_NAMES, EVENT_KEYS, REWARD_TERMS, TownVecEnv

ROOT = Path(__file__).resolve().parents[3]


def _random_actions(env: TownVecEnv, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random allowed action per agent (masks always allow wait)."""
    noise = rng.random(mask.shape) * mask
    return noise.argmax(axis=2)


def _rollout(seed: int, steps: int, action_seed: int = 3) -> list:
    env = TownVecEnv("town", num_towns=2, seed=seed)
    obs = env.reset()
    rng = np.random.default_rng(action_seed)
    trace = []
    for _ in range(steps):
        acts = _random_actions(env, obs["action_mask"], rng)
        obs, rew, term, trunc, info = env.step(acts)
        trace.append(
            (
                obs["map"].copy(),
                obs["features"].copy(),
                rew,
                term,
                trunc,
                {k: v.copy() for k, v in info["events"].items()},
            )
        )
    return trace


def test_shapes_dtypes_and_info_contract():
    env = TownVecEnv("town", num_towns=3, seed=0)
    obs = env.reset()
    assert env.num_agents == 8 and env.action_names == ACTION_NAMES
    assert obs["map"].shape == (3, 8, *env.map_shape) and obs["map"].dtype == np.float32
    assert obs["features"].shape == (3, 8, 81) and obs["features"].dtype == np.float32
    assert obs["action_mask"].shape == (3, 8, 12) and obs["action_mask"].dtype == np.bool_
    assert len(env.feature_names) == 81
    obs, rew, term, trunc, info = env.step(env.scripted_actions())
    assert rew.shape == (3, 8) and rew.dtype == np.float32
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_
    assert set(info["events"]) == set(EVENT_KEYS)
    assert all(v.shape == (3,) for v in info["events"].values())
    assert set(info["reward_terms"]) == set(REWARD_TERMS)
    np.testing.assert_allclose(info["reward_terms"]["total"], rew)
    assert info["final_observation"] is None and not info["town_done"].any()
    assert info["tick"].tolist() == [1, 1, 1]
    with pytest.raises(ValueError):
        env.step(np.zeros((2, 8), dtype=np.int64))


def test_same_seed_same_actions_identical_trajectories():
    a, b = _rollout(11, 60), _rollout(11, 60)
    for step_a, step_b in zip(a, b, strict=True):
        for x, y in zip(step_a[:5], step_b[:5], strict=True):
            np.testing.assert_array_equal(x, y)
        for key in EVENT_KEYS:
            np.testing.assert_array_equal(step_a[5][key], step_b[5][key])


def test_truncation_resets_in_place_and_returns_final_observation(town):
    env = TownVecEnv(town([(1, 1), (3, 3)], ticks=5), num_towns=2)
    env.reset()
    for _ in range(4):
        obs, _, term, trunc, info = env.step(np.zeros((2, 2), dtype=np.int64))
        assert not trunc.any()
    env.state.x[0, 0] = 2  # make the final observation distinguishable from the restart
    env.observe()
    obs, _, term, trunc, info = env.step(np.zeros((2, 2), dtype=np.int64))
    assert trunc.all() and not term.any()
    assert info["town_done"].tolist() == [True, True]
    assert info["final_observation"]["features"][0, 0, 17] == pytest.approx(1.0)  # progress
    assert info["tick"].tolist() == [0, 0] and info["episode"].tolist() == [1, 1]
    assert env.state.x[0, 0] == 1  # back at its scenario position
    assert obs["features"][:, :, 16].all()  # ctx_reset_flag


def test_one_town_resets_without_disturbing_others():
    ref = TownVecEnv("town", num_towns=3, seed=5)
    env = TownVecEnv("town", num_towns=3, seed=5)
    ref.reset()
    env.reset()
    for _ in range(20):
        acts = ref.scripted_actions()
        ref.step(acts)
        env.step(acts)
    env.state.needs[1, :, 0] = 0.0  # everybody in town 1 faints this tick
    env.observe()
    acts = ref.scripted_actions()
    _, _, ref_term, _, _ = ref.step(acts)
    _, _, term, _, info = env.step(acts)
    assert term[1].all() and not term[[0, 2]].any()
    assert info["town_done"].tolist() == [False, True, False]
    assert info["episode"].tolist() == [0, 1, 0]
    assert env.state.tick[1] == 0 and env.state.key[1] != ref.state.key[1]
    mine, theirs = env.get_state()["arrays"], ref.get_state()["arrays"]
    for name, value in mine.items():
        np.testing.assert_array_equal(value[[0, 2]], theirs[name][[0, 2]], err_msg=name)
    for _ in range(10):  # the other towns keep evolving exactly as before
        acts = ref.scripted_actions()
        acts_env = env.scripted_actions()
        np.testing.assert_array_equal(acts[[0, 2]], acts_env[[0, 2]])
        ref.step(acts)
        env.step(acts_env)
    np.testing.assert_array_equal(env.state.needs[[0, 2]], ref.state.needs[[0, 2]])


def test_get_state_set_state_restores_exactly():
    env = TownVecEnv("town", num_towns=2, seed=9)
    env.reset()
    for _ in range(30):
        env.step(env.scripted_actions())
    snapshot = env.get_state()
    assert set(snapshot["rng"]) == {"seed", "episode", "key"}
    first = []
    for _ in range(15):
        obs, rew, *_ = env.step(env.scripted_actions())
        first.append((obs["features"].copy(), rew.copy()))
    other = TownVecEnv("town", num_towns=2, seed=123)
    other.reset()
    other.set_state(snapshot)
    for feats, rew in first:
        obs, rew2, *_ = other.step(other.scripted_actions())
        np.testing.assert_array_equal(obs["features"], feats)
        np.testing.assert_array_equal(rew2, rew)


def test_set_state_refuses_a_different_world(town):
    env = TownVecEnv("town", num_towns=2)
    other = TownVecEnv("queue_conflict", num_towns=2)
    with pytest.raises(ValueError, match="snapshot field"):
        env.set_state(other.get_state())
    with pytest.raises(ValueError, match="towns"):
        TownVecEnv("town", num_towns=3).set_state(env.get_state())


def test_sim_imports_with_torch_blocked():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None
        import townlet.sim
        from townlet.sim import TownVecEnv
        from townlet.sim.pettingzoo_env import TownParallelEnv
        env = TownVecEnv("queue_conflict")
        env.step(env.scripted_actions())
        assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
