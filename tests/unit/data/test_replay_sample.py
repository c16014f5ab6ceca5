"""Loading replay samples: upstream files, every §8.2 guard, legacy frames, masks and saving."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from replay_fixtures import FEATURES, make_arrays, write_sample

from townlet.data.metrics import summarise_sample
from townlet.data.sample import load_sample, save_sample
from townlet.errors import DataError

UPSTREAM_REPLAY = [
    "observation_hybrid_sample_base",
    "observation_hybrid_sample_conflict_high",
    "observation_hybrid_sample_conflict_low",
]
UPSTREAM_CAPTURE = ["rollout_sample_anna_001", "rollout_sample_ben_002", "rollout_sample_cara_003"]


def _error(path: Path | str, **kwargs: object) -> str:
    """Load ``path`` expecting a DataError; return its message after checking it is one line."""
    with pytest.raises(DataError) as info:
        load_sample(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    return message


@pytest.mark.parametrize("stem", UPSTREAM_REPLAY)
def test_upstream_replay_samples_load_with_canonical_shapes(
    upstream_samples: Path, stem: str
) -> None:
    sample = load_sample(upstream_samples / "replay" / f"{stem}.npz")
    arrays = sample.arrays
    assert arrays["map"].shape == (2, 4, 11, 11) and arrays["map"].dtype == np.float32
    assert arrays["features"].shape == (2, 36) and arrays["features"].dtype == np.float32
    assert arrays["actions"].dtype == np.int64 and arrays["actions"].shape == (2,)
    assert arrays["value_preds"].shape == (3,)  # T+1 entries, bootstrap included
    assert arrays["dones"].dtype == np.bool_
    assert sample.timesteps == 2 and sample.layout.value_steps == 3
    assert sample.feature_names[18:20] == ["rivalry_max", "rivalry_avoid_count"]
    assert sample.metrics == {}  # these sidecars carry no metrics
    assert "action_mask" not in arrays


def test_upstream_base_sample_values(upstream_samples: Path) -> None:
    arrays = load_sample(upstream_samples / "replay" / "observation_hybrid_sample_base.npz").arrays
    assert arrays["actions"].tolist() == [1, 0]
    np.testing.assert_allclose(arrays["rewards"], [0.05, 0.02])
    np.testing.assert_allclose(arrays["value_preds"], [0.1, 0.05, 0.02])
    assert arrays["dones"].tolist() == [False, True]


@pytest.mark.parametrize("stem", UPSTREAM_CAPTURE)
def test_upstream_capture_samples_load(upstream_samples: Path, stem: str) -> None:
    folder = upstream_samples / "capture_queue_conflict"
    sample = load_sample(folder / f"{stem}.npz", folder / f"{stem}.json")
    assert sample.layout.timesteps == 60 and sample.layout.value_steps == 61
    assert sample.layout.map_shape == (4, 11, 11) and sample.layout.feature_dim == 36
    assert sample.meta["agent_id"] == stem.split("_")[2]
    assert sample.metrics["reward_sum"] == -12.0 and sample.metrics["timesteps"] == 60.0
    assert 0 <= sample.max_action_id <= 3


def test_summarise_sample_reproduces_upstream_capture_metrics(upstream_samples: Path) -> None:
    sample = load_sample(
        upstream_samples / "capture_queue_conflict" / "rollout_sample_anna_001.npz"
    )
    ours = summarise_sample(sample.arrays, sample.feature_names)
    for key in (
        "timesteps",
        "reward_sum",
        "reward_mean",
        "log_prob_mean",
        "value_pred_last",
        "rivalry_max_mean",
        "rivalry_max_max",
        "rivalry_avoid_count_mean",
        "rivalry_avoid_count_max",
        "lateness_mean",
        "action_nonzero",
        "action_total",
        "action_entropy",
    ):
        assert ours[key] == pytest.approx(sample.metrics[key], rel=1e-6, abs=1e-7), key


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.npz"
    assert _error(path) == f"replay sample {path}: file not found"


def test_not_an_npz(tmp_path: Path) -> None:
    path = tmp_path / "text.npz"
    path.write_text("hello, I am not a zip\n")
    message = _error(path)
    assert message.startswith(f"replay sample {path}: is not an npz archive")


def test_zip_that_is_not_an_npz(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "no arrays here")
    path.with_suffix(".json").write_text(json.dumps({"feature_names": FEATURES}))
    message = _error(path)
    assert message.startswith(f"replay sample {path}: missing array(s) 'map', 'features'")


def test_truncated_npz(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "cut")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = _error(path)
    assert message.startswith(f"replay sample {path}: is not a readable npz archive")


def test_pickled_object_array_is_refused(tmp_path: Path) -> None:
    arrays = make_arrays()
    arrays["map"] = np.array([{"evil": True}], dtype=object)
    path = write_sample(tmp_path, "pickled", arrays=arrays)
    message = _error(path)
    assert message == (
        f"replay sample {path}: array 'map' cannot be read (it holds pickled "
        "Python objects, which townlet refuses to load)"
    )


def test_missing_array(tmp_path: Path) -> None:
    arrays = make_arrays()
    del arrays["rewards"]
    path = write_sample(tmp_path, "norewards", arrays=arrays)
    assert _error(path).startswith(f"replay sample {path}: missing array(s) 'rewards';")


def test_missing_conflict_feature(tmp_path: Path) -> None:
    arrays = make_arrays(features=3)
    path = write_sample(
        tmp_path,
        "nofeat",
        arrays=arrays,
        meta={"feature_names": ["need_hunger", "rivalry_max", "wallet"]},
    )
    message = _error(path)
    assert f"replay sample {path}: sidecar {path.with_suffix('.json')}" in message
    assert "lacks 'rivalry_avoid_count'" in message


def test_missing_and_broken_sidecar(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "side")
    sidecar = path.with_suffix(".json")
    sidecar.write_text("{not json")
    assert "is not valid JSON (line 1, column 2" in _error(path)
    sidecar.unlink()
    assert _error(path) == (
        f"replay sample {path}: sidecar {sidecar} not found; expected the "
        "sample's JSON metadata beside it"
    )


def test_explicit_meta_path_is_used(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "a")
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps({"feature_names": FEATURES, "agent_id": "zed"}))
    path.with_suffix(".json").unlink()
    assert load_sample(path, other).meta["agent_id"] == "zed"


def test_length_mismatch(tmp_path: Path) -> None:
    arrays = make_arrays(timesteps=2)
    arrays["rewards"] = np.zeros(3, dtype=np.float32)
    path = write_sample(tmp_path, "len", arrays=arrays)
    assert _error(path) == (
        f"replay sample {path}: array 'rewards' has 3 entries, expected 2 (T from 'actions')"
    )


def test_value_preds_must_have_t_or_t_plus_one(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "vp", value_steps=5)
    assert _error(path) == (
        f"replay sample {path}: array 'value_preds' has 5 entries, expected "
        "2 or 3 (T or T+1, T from 'actions')"
    )


def test_wrong_rank(tmp_path: Path) -> None:
    arrays = make_arrays()
    arrays["rewards"] = np.zeros((2, 2), dtype=np.float32)
    path = write_sample(tmp_path, "rank", arrays=arrays)
    assert _error(path) == (
        f"replay sample {path}: array 'rewards' has shape (2, 2), expected rank 1 (T)"
    )


def test_feature_count_must_match_names(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "fc", features=6)
    assert "array 'features' has 6 columns, expected 4" in _error(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values(tmp_path: Path, bad: float) -> None:
    arrays = make_arrays()
    arrays["features"][1, 2] = bad
    path = write_sample(tmp_path, "nan", arrays=arrays)
    assert _error(path) == (
        f"replay sample {path}: array 'features' holds 1 non-finite value(s) "
        "(NaN or inf); expected finite numbers"
    )


def test_negative_and_fractional_actions(tmp_path: Path) -> None:
    arrays = make_arrays()
    arrays["actions"] = np.array([0, -1])
    path = write_sample(tmp_path, "neg", arrays=arrays)
    assert "array 'actions' holds negative id -1" in _error(path)
    arrays["actions"] = np.array([0.0, 1.5])
    path = write_sample(tmp_path, "frac", arrays=arrays)
    assert "array 'actions' holds non-integer values" in _error(path)


def test_legacy_single_frame_gains_t_axis(tmp_path: Path) -> None:
    legacy = {
        "map": np.ones((2, 3, 3), dtype=np.float64),
        "features": np.arange(4.0),
        "actions": np.array(3),
        "old_log_probs": np.array(-0.5),
        "value_preds": np.array(0.2),
        "rewards": np.array(1.0),
        "dones": np.array(1),
    }
    sample = load_sample(write_sample(tmp_path, "legacy", arrays=legacy))
    arrays = sample.arrays
    assert arrays["map"].shape == (1, 2, 3, 3) and arrays["map"].dtype == np.float32
    assert arrays["features"].shape == (1, 4)
    assert arrays["actions"].tolist() == [3] and arrays["actions"].dtype == np.int64
    assert arrays["value_preds"].shape == (1,) and arrays["dones"].tolist() == [True]


def test_action_mask_is_kept_and_checked(tmp_path: Path) -> None:
    arrays = make_arrays(mask=True, seed=3)
    sample = load_sample(write_sample(tmp_path, "masked", arrays=arrays))
    assert sample.arrays["action_mask"].shape == (2, 5)
    assert sample.arrays["action_mask"].dtype == np.bool_
    assert sample.layout.mask_dim == 5
    arrays["action_mask"][1, arrays["actions"][1]] = False
    path = write_sample(tmp_path, "forbidden", arrays=arrays)
    assert (
        f"array 'action_mask' forbids the recorded action {int(arrays['actions'][1])} at step 1"
    ) in _error(path)


def test_save_sample_round_trip_fills_sidecar(tmp_path: Path) -> None:
    arrays = make_arrays(timesteps=3, value_steps=3, mask=True, seed=7)
    arrays["actions"] = arrays["actions"].astype(np.int32)  # cast to int64 on save
    target = tmp_path / "out" / "saved.npz"
    written = save_sample(target, arrays, {"feature_names": FEATURES, "metrics": {"x": 1.0}})
    sidecar = json.loads(target.with_suffix(".json").read_text())
    assert sidecar["training_arrays"] == [
        "actions",
        "old_log_probs",
        "value_preds",
        "rewards",
        "dones",
    ]
    assert sidecar["timesteps"] == 3 and sidecar["value_pred_steps"] == 3
    assert sidecar["map_shape"] == [2, 3, 3] and sidecar["action_mask"] is True
    loaded = load_sample(target)
    assert loaded.metrics == {"x": 1.0} == written.metrics
    for name, value in written.arrays.items():
        np.testing.assert_array_equal(loaded.arrays[name], value)
        assert loaded.arrays[name].dtype == value.dtype
    assert loaded.arrays["actions"].dtype == np.int64
    assert sorted(p.name for p in target.parent.iterdir()) == ["saved.json", "saved.npz"]


def test_save_sample_refuses_invalid_data_and_writes_nothing(tmp_path: Path) -> None:
    arrays = make_arrays()
    arrays["rewards"][0] = np.nan
    target = tmp_path / "bad.npz"
    with pytest.raises(DataError, match="array 'rewards' holds 1 non-finite"):
        save_sample(target, arrays, {"feature_names": FEATURES})
    with pytest.raises(DataError, match="lacks 'rivalry_max'"):
        save_sample(
            target, make_arrays(), {"feature_names": ["a", "b", "c", "rivalry_avoid_count"]}
        )
    assert list(tmp_path.iterdir()) == []
