"""Observations (DESIGN §9.8): feature names, hand-placed map channels, and the vectorised
builder against a straightforward per-agent reference on random towns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from townlet.sim import FEATURE_NAMES, TownVecEnv
from townlet.sim.constants import OBJECT_TYPES

SPEC_ORDER = [
    "need_hunger",
    "need_hygiene",
    "need_energy",
    "wallet",
    "lateness_counter",
    "on_shift",
    "time_sin",
    "time_cos",
    "attendance_ratio",
    "wages_withheld",
    "shift_pre",
    "shift_on_time",
    "shift_late",
    "shift_absent",
    "shift_post",
    "embedding_slot_norm",
    "ctx_reset_flag",
    "episode_progress",
    "rivalry_max",
    "rivalry_avoid_count",
    "last_action_id_hash",
    "last_action_success",
    "last_action_duration",
    "reservation_active",
    "in_queue",
    "path_hint_north",
    "path_hint_south",
    "path_hint_east",
    "path_hint_west",
    "neighbor_agent_ratio",
    "neighbor_object_ratio",
    "reserved_tile_ratio",
    "nearest_agent_distance",
]


def test_feature_names_in_order():
    social = [f"social_slot{s}_d{d}" for s in range(4) for d in range(11)]
    aggregates = ["social_trust_mean", "social_trust_max", "social_rivalry_mean"]
    expected = SPEC_ORDER + social + aggregates + ["social_rivalry_max"]
    assert len(FEATURE_NAMES) == 81
    assert list(FEATURE_NAMES) == expected


@pytest.mark.parametrize(
    ("variant", "channels", "size"),
    [("hybrid", 4, 11), ("full", 6, 11), ("compact", 5, 7)],
)
def test_map_channels_for_hand_placed_things(town, variant, channels, size):
    scenario = town(
        [(5, 5), (7, 4)],
        [{"id": "shower", "type": "shower", "position": [3, 6]}],
        grid={"width": 8, "height": 10, "walls": [[6, 5]]},
        observation_variant=variant,
    )
    env = TownVecEnv(scenario)
    env.reset()
    env.state.hold_obj[0, 1] = 0  # a1 holds the shower: its tile is reserved
    obs = env.observe()
    assert env.map_shape == (channels, size, size)
    m = obs["map"][0, 0]
    r = size // 2
    assert m.shape == (channels, size, size) and m.dtype == np.float32
    expect_self = np.zeros((size, size))
    expect_self[r, r] = 1
    assert (m[0] == expect_self).all()
    other = np.zeros((size, size))
    other[r - 1, r + 2] = 1  # dx = +2, dy = -1: row dy + r, column dx + r
    assert (m[1] == other).all()
    thing = np.zeros((size, size))
    thing[r + 1, r - 2] = 1  # the shower: dx = -2, dy = +1
    assert (m[2] == thing).all()
    assert (m[3] == thing).all()  # reserved
    if variant == "full":
        assert m[4, r, r + 2] == pytest.approx(1.0) and m[5, r, r + 2] == 0.0
        assert m[5, r - 3, r] == pytest.approx(-1.0)
        assert m[4, r + 1, r + 1] == pytest.approx(1 / math.sqrt(2))
    if variant == "compact":
        walk = m[4]
        assert walk[r, r + 1] == 0.0  # the wall at (6, 5)
        assert walk[r, r + 3] == 0.0  # x = 8 is off the 8-wide grid
        assert walk[r, r + 2] == 1.0 and walk[r, r] == 1.0
    feats = obs["features"][0, 0]
    tiles = size * size
    assert feats[29] == pytest.approx(1 / (tiles - 1))  # neighbor_agent_ratio
    assert feats[30] == pytest.approx(1 / tiles) and feats[31] == pytest.approx(1 / tiles)
    assert feats[32] == pytest.approx(min(1.0, math.sqrt(5) / r))  # nearest_agent_distance
    assert obs["features"][0, 1, 23] == 1.0  # reservation_active of the holder


def test_embeddings_and_clock_features(town):
    env = TownVecEnv(town([(1, 1), (3, 3)], ticks=40, ticks_per_day=20))
    obs = env.reset()
    feats = obs["features"][0]
    assert feats[:, 15].tolist() == [0.0, 0.5]  # embedding_slot_norm
    assert feats[:, 16].tolist() == [1.0, 1.0]  # ctx_reset_flag on the first observation
    for _ in range(5):
        obs, *_ = env.step(np.zeros((1, 2), dtype=np.int64))
    f = obs["features"][0, 0]
    assert f[6] == pytest.approx(math.sin(2 * math.pi * 5 / 20))
    assert f[7] == pytest.approx(math.cos(2 * math.pi * 5 / 20), abs=1e-6)
    assert f[16] == 0.0 and f[17] == pytest.approx(5 / 40)
    assert f[21] == 1.0  # waiting succeeds
    assert OBJECT_TYPES  # vocabulary is importable alongside
