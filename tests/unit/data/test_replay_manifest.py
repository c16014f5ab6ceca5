"""Manifests and capture folders: upstream files, the accepted shapes, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from replay_fixtures import write_manifest, write_sample

from townlet.data.manifest import load_manifest
from townlet.errors import DataError


def _error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        load_manifest(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_upstream_replay_manifest(upstream_samples: Path) -> None:
    folder = upstream_samples / "replay"
    entries = load_manifest(folder / "replay_manifest.json")
    assert [e.sample for e in entries] == [
        folder / "observation_hybrid_sample_base.npz",
        folder / "observation_hybrid_sample_conflict_high.npz",
        folder / "observation_hybrid_sample_conflict_low.npz",
    ]
    assert [e.index for e in entries] == [0, 1, 2]
    assert all(e.meta is None and e.metrics is None for e in entries)
    assert entries[0].sidecar == folder / "observation_hybrid_sample_base.json"


def test_upstream_capture_folder_attaches_metrics(upstream_samples: Path) -> None:
    folder = upstream_samples / "capture_queue_conflict"
    entries = load_manifest(folder)
    assert [e.sample.name for e in entries] == [
        "rollout_sample_anna_001.npz",
        "rollout_sample_ben_002.npz",
        "rollout_sample_cara_003.npz",
    ]
    assert entries[1].meta == folder / "rollout_sample_ben_002.json"
    metrics = [e.metrics for e in entries]
    assert all(m is not None for m in metrics)
    assert [m["log_prob_mean"] for m in metrics if m] == pytest.approx(
        [-1.3847196102142334, -1.3611592054367065, -1.3787378072738647]
    )
    assert entries[1].metrics is not None and entries[1].metrics["action_wait_count"] == 20.0
    # The manifest file itself gives the same entries as its folder.
    assert load_manifest(folder / "rollout_sample_manifest.json") == entries


def test_object_manifest_yaml_and_relative_paths(tmp_path: Path) -> None:
    write_sample(tmp_path / "data", "one")
    absolute = write_sample(tmp_path / "other", "two")
    manifest = tmp_path / "set.yaml"
    manifest.write_text(
        f"samples:\n  - data/one.npz\n  - {{sample: {absolute}, agent_id: bea, frame_count: 2}}\n"
    )
    entries = load_manifest(manifest)
    assert [e.sample for e in entries] == [tmp_path / "data" / "one.npz", absolute]
    assert entries[1].agent_id == "bea" and entries[1].frame_count == 2


def test_wrapped_metrics_file_and_sidecar_fallback(tmp_path: Path) -> None:
    write_sample(tmp_path, "a")
    write_sample(tmp_path, "b")
    (tmp_path / "rollout_sample_manifest.json").write_text(json.dumps(["a.npz", "b.npz"]))
    (tmp_path / "rollout_sample_metrics.json").write_text(
        json.dumps(
            {"metadata": {"scenario": "x"}, "samples": {"a.npz": {"reward_sum": 2.0, "tag": "s"}}}
        )
    )
    entries = load_manifest(tmp_path)
    assert entries[0].metrics == {"reward_sum": 2.0}  # non-numbers are not metrics
    assert entries[1].metrics is None  # not listed: the sidecar's metrics are used instead


def test_missing_manifest(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    assert _error(path) == f"replay manifest {path}: file not found"


def test_folder_without_manifest(tmp_path: Path) -> None:
    assert _error(tmp_path) == (
        f"replay manifest {tmp_path}: folder holds neither "
        "rollout_sample_manifest.json nor replay_manifest.json"
    )


def test_unparseable_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("[{")
    assert _error(path).startswith(f"replay manifest {path}: is not valid JSON (line 1")
    yaml_path = tmp_path / "m.yaml"
    yaml_path.write_text("samples: [a, b\n  c: ]\n")
    assert _error(yaml_path).startswith(f"replay manifest {yaml_path}: is not valid YAML")


@pytest.mark.parametrize("content", [[], {"samples": []}])
def test_empty_manifest(tmp_path: Path, content: object) -> None:
    path = write_manifest(tmp_path, content)
    assert _error(path) == (
        f"replay manifest {path}: lists no samples; a dataset needs at least one"
    )


def test_entry_of_wrong_shape(tmp_path: Path) -> None:
    write_sample(tmp_path, "ok")
    path = write_manifest(tmp_path, ["ok.npz", 7])
    assert _error(path) == (
        f"replay manifest {path}: entry 1 must be a path string or an object "
        "with a 'sample' path, got int 7"
    )
    path = write_manifest(tmp_path, [{"meta": "ok.json"}])
    assert "entry 0 must be a path string or an object with a 'sample' path" in _error(path)
    path = write_manifest(tmp_path, {"data": ["ok.npz"]})
    assert "expected a list of samples, or an object with a 'samples' list" in _error(path)


def test_entry_pointing_nowhere(tmp_path: Path) -> None:
    write_sample(tmp_path, "ok")
    path = write_manifest(tmp_path, ["ok.npz", {"sample": "ghost.npz"}])
    assert _error(path) == (
        f"replay manifest {path}: entry 1 sample {tmp_path / 'ghost.npz'} does not exist"
    )
    path = write_manifest(tmp_path, [{"sample": "ok.npz", "meta": "ghost.json"}])
    assert f"entry 0 meta {tmp_path / 'ghost.json'} does not exist" in _error(path)


def test_malformed_metrics_file(tmp_path: Path) -> None:
    write_sample(tmp_path, "a")
    (tmp_path / "rollout_sample_manifest.json").write_text(json.dumps(["a.npz"]))
    metrics = tmp_path / "rollout_sample_metrics.json"
    metrics.write_text(json.dumps({"a.npz": [1, 2]}))
    with pytest.raises(DataError) as info:
        load_manifest(tmp_path)
    assert str(info.value) == (
        f"replay metrics {metrics}: metrics of 'a.npz' must be an object, got a list"
    )
