"""ReplayBatches: shape buckets, exact length, drop_last, (seed, epoch) order and streaming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from replay_fixtures import make_arrays, write_manifest, write_sample

from townlet.data.batching import ReplayBatches
from townlet.data.manifest import load_manifest
from townlet.errors import ConfigError, DataError


@pytest.fixture()
def mixed_manifest(tmp_path: Path) -> Path:
    """7 samples with T=2 (T+1 values), 3 with T=3 (T values), 2 with T=2 and a mask."""
    names = []
    for i in range(7):
        names.append(write_sample(tmp_path, f"t2_{i}", seed=i).name)
    for i in range(3):
        names.append(
            write_sample(tmp_path, f"t3_{i}", timesteps=3, value_steps=3, seed=10 + i).name
        )
    for i in range(2):
        names.append(write_sample(tmp_path, f"mask_{i}", mask=True, seed=20 + i).name)
    return write_manifest(tmp_path, names)


def _plan(manifest: Path, **options: Any) -> ReplayBatches:
    return ReplayBatches.from_manifest(manifest, **options)


def test_buckets_never_mix_shapes(mixed_manifest: Path) -> None:
    batches = _plan(mixed_manifest, batch_size=4, shuffle=True, seed=1)
    assert batches.timesteps == [2, 3, 2]
    assert [b.mask_dim for b in batches.buckets] == [None, None, 5]
    assert len(batches) == 2 + 1 + 1  # ceil(7/4) + ceil(3/4) + ceil(2/4)
    built = list(batches.batches(epoch=0))
    assert len(built) == len(batches)
    shapes = sorted((b["actions"].shape, "action_mask" in b) for b in built)
    assert shapes == [((2, 2), True), ((3, 2), False), ((3, 3), False), ((4, 2), False)]
    for batch in built:
        b, t = batch["actions"].shape
        assert batch["map"].shape == (b, t, 2, 3, 3) and batch["map"].dtype == np.float32
        assert batch["features"].shape == (b, t, 4) and batch["features"].dtype == np.float32
        assert batch["actions"].dtype == np.int64 and batch["dones"].dtype == np.bool_
        assert batch["value_preds"].shape == (b, t + 1)
        assert batch["value_preds"].dtype == np.float32
        for name in ("old_log_probs", "rewards", "dones"):
            assert batch[name].shape == (b, t)


def test_t_only_value_preds_gain_zero_bootstrap(mixed_manifest: Path) -> None:
    batches = _plan(mixed_manifest, batch_size=3)
    t3 = next(b for b in batches.batches(0) if b["actions"].shape[1] == 3)
    np.testing.assert_array_equal(t3["value_preds"][:, 3], np.zeros(3, dtype=np.float32))
    stored = make_arrays(timesteps=3, value_steps=3, seed=10)["value_preds"]
    np.testing.assert_array_equal(t3["value_preds"][0, :3], stored)


def test_drop_last_and_exact_counts(mixed_manifest: Path) -> None:
    batches = _plan(mixed_manifest, batch_size=2, drop_last=True)
    assert len(batches) == 3 + 1 + 1
    assert all(b["actions"].shape[0] == 2 for b in batches.batches(0))
    assert batches.transitions_per_epoch == 6 * 2 + 2 * 3 + 2 * 2
    keep = _plan(mixed_manifest, batch_size=2)
    assert len(keep) == 4 + 2 + 1
    assert keep.transitions_per_epoch == 7 * 2 + 3 * 3 + 2 * 2
    assert keep.num_samples == 12


def test_drop_last_leaving_nothing_is_an_error(mixed_manifest: Path) -> None:
    with pytest.raises(DataError, match="batch_size 8 with drop_last leaves no batches"):
        _plan(mixed_manifest, batch_size=8, drop_last=True)
    with pytest.raises(ConfigError, match="batch_size=0"):
        _plan(mixed_manifest, batch_size=0)


def test_order_is_a_pure_function_of_seed_and_epoch(mixed_manifest: Path) -> None:
    first = _plan(mixed_manifest, batch_size=2, shuffle=True, seed=5)
    second = _plan(mixed_manifest, batch_size=2, shuffle=True, seed=5)
    assert first.plan(3) == second.plan(3)  # a resumed run rebuilds the same epoch
    assert first.plan(3) != first.plan(4)
    assert first.plan(3) != _plan(mixed_manifest, batch_size=2, shuffle=True, seed=6).plan(3)
    for plan in (first.plan(0), first.plan(1)):  # every sample once per epoch
        assert sorted(i for batch in plan for i in batch) == list(range(12))
    for a, b in zip(first.batches(3), second.batches(3), strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_unshuffled_order_follows_manifest(mixed_manifest: Path) -> None:
    batches = _plan(mixed_manifest, batch_size=3)
    assert batches.plan(0) == batches.plan(9) == [(0, 1, 2), (3, 4, 5), (6,), (7, 8, 9), (10, 11)]


def test_streaming_gives_identical_batches(mixed_manifest: Path) -> None:
    eager = _plan(mixed_manifest, batch_size=3, shuffle=True, seed=2)
    lazy = _plan(mixed_manifest, batch_size=3, shuffle=True, seed=2, streaming=True)
    assert lazy._samples is None  # only the entries and their shape facts are kept
    assert len(lazy) == len(eager) and lazy.plan(1) == eager.plan(1)
    assert lazy.buckets == eager.buckets and lazy.max_action_id == eager.max_action_id
    for a, b in zip(eager.batches(1), lazy.batches(1), strict=True):
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
            assert a[name].dtype == b[name].dtype


def test_streaming_reads_bad_values_when_the_batch_is_built(tmp_path: Path) -> None:
    arrays = make_arrays()
    arrays["rewards"][0] = np.nan
    path = write_sample(tmp_path, "late", arrays=arrays)
    batches = ReplayBatches(load_manifest(write_manifest(tmp_path, ["late.npz"])), streaming=True)
    with pytest.raises(DataError, match=f"replay sample {path}: array 'rewards' holds 1 non-"):
        batches.build([0])
    with pytest.raises(DataError, match="array 'rewards' holds 1 non-finite"):
        ReplayBatches(load_manifest(tmp_path / "manifest.json"))  # eager: fails up front


def test_streaming_scan_applies_layout_guards(tmp_path: Path) -> None:
    write_sample(tmp_path, "vp", value_steps=7)
    entries = load_manifest(write_manifest(tmp_path, ["vp.npz"]))
    with pytest.raises(DataError, match="array 'value_preds' has 7 entries, expected 2 or 3"):
        ReplayBatches(entries, streaming=True)


def test_dataset_must_share_feature_names(tmp_path: Path) -> None:
    write_sample(tmp_path, "a")
    write_sample(
        tmp_path, "b", meta={"feature_names": ["x", "rivalry_max", "rivalry_avoid_count", "y"]}
    )
    manifest = write_manifest(tmp_path, ["a.npz", "b.npz"])
    with pytest.raises(DataError, match="has feature_names that differ from those of"):
        ReplayBatches.from_manifest(manifest)


def test_upstream_facts(upstream_samples: Path) -> None:
    replay = ReplayBatches.from_manifest(
        upstream_samples / "replay" / "replay_manifest.json", streaming=True
    )
    assert (len(replay), replay.num_samples, replay.timesteps) == (3, 3, [2])
    assert replay.map_shape == (4, 11, 11) and replay.feature_dim == 36
    assert replay.feature_names[18:20] == ["rivalry_max", "rivalry_avoid_count"]
    assert replay.max_action_id == 2 and replay.transitions_per_epoch == 6
    capture = ReplayBatches.from_manifest(upstream_samples / "capture_queue_conflict", batch_size=2)
    assert capture.max_action_id == 3 and capture.timesteps == [60]
    assert [b["actions"].shape for b in capture.batches(0)] == [(2, 60), (1, 60)]
    assert next(capture.batches(0))["value_preds"].shape == (2, 61)


def test_legacy_frames_stream_like_they_load(tmp_path: Path) -> None:
    legacy = {
        "map": np.ones((2, 3, 3), dtype=np.float32),
        "features": np.arange(4.0),
        "actions": np.array(2),
        "old_log_probs": np.array(-0.5),
        "value_preds": np.array(0.2),
        "rewards": np.array(1.0),
        "dones": np.array(False),
    }
    write_sample(tmp_path, "legacy", arrays=legacy)
    manifest = write_manifest(tmp_path, ["legacy.npz"])
    eager, lazy = _plan(manifest), _plan(manifest, streaming=True)
    assert eager.buckets == lazy.buckets and eager.timesteps == [1]
    a, b = next(eager.batches(0)), next(lazy.batches(0))
    assert a["map"].shape == (1, 1, 2, 3, 3)
    np.testing.assert_array_equal(a["value_preds"], np.array([[0.2, 0.0]], dtype=np.float32))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
