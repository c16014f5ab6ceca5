"""``python -m townlet.capture`` end to end (DESIGN §11): upstream layout, replay, BC data, ckpt."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import read_records, run_cli
from townlet.capture import capture
from townlet.compose import compose_train_config
from townlet.data import load_manifest
from townlet.sim import ACTION_NAMES

RunTraining = Callable[..., Path]
SAMPLE_NAME = re.compile(r"^rollout_sample_(?P<agent>[a-z]+)_(?P<index>\d{3})\.(npz|json)$")
CAPTURE_FILES = {"rollout_sample_manifest.json", "rollout_sample_metrics.json"}
QUEUE_TICKS = 80  # queue_conflict's episode length, the default capture.ticks


def run_capture(run_dir: Path, *overrides: str) -> Path:
    """Capture in-process into ``run_dir`` through the real conf/capture.yaml."""
    capture(compose_train_config(run_dir, overrides, config_name="capture"))
    return run_dir


def capture_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".npz", ".json"))


def load_arrays(folder: Path) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for path in sorted(folder.glob("rollout_sample_*.npz")):
        with np.load(path) as archive:
            out[path.name] = {name: archive[name] for name in archive.files}
    return out


def test_capture_has_upstream_layout(upstream_samples: Path, tmp_path: Path) -> None:
    upstream = upstream_samples / "capture_queue_conflict"
    ours = run_capture(tmp_path / "cap", "scenario=queue_conflict")
    for folder in (upstream, ours):
        names = capture_files(folder)
        samples = [n for n in names if n not in CAPTURE_FILES]
        assert set(names) >= CAPTURE_FILES
        assert all(SAMPLE_NAME.match(n) for n in samples), samples
        stems = sorted({n.rsplit(".", 1)[0] for n in samples})
        assert [s[-3:] for s in stems] == [f"{i:03d}" for i in range(1, len(stems) + 1)]
        assert len(samples) == 2 * len(stems)  # one npz + one json per agent
    assert capture_files(ours) == capture_files(upstream)  # anna_001, ben_002, cara_003

    def manifest(folder: Path) -> list[dict[str, str]]:
        return json.loads((folder / "rollout_sample_manifest.json").read_text())

    def metrics(folder: Path) -> dict[str, dict[str, float]]:
        return json.loads((folder / "rollout_sample_metrics.json").read_text())

    assert manifest(ours) == manifest(upstream)
    assert list(metrics(ours)) == list(metrics(upstream))
    assert all(type(v) is float for m in metrics(ours).values() for v in m.values())

    theirs, mine = load_arrays(upstream), load_arrays(ours)
    for name, arrays in theirs.items():
        assert set(mine[name]) == set(arrays) | {"action_mask"}
        for key, value in arrays.items():
            assert mine[name][key].dtype == value.dtype, (name, key)
            assert mine[name][key].ndim == value.ndim, (name, key)
        assert mine[name]["value_preds"].shape == (QUEUE_TICKS + 1,)
        assert mine[name]["action_mask"].dtype == np.bool_
        their_meta = json.loads((upstream / name).with_suffix(".json").read_text())
        my_meta = json.loads((ours / name).with_suffix(".json").read_text())
        assert set(their_meta) <= set(my_meta), set(their_meta) - set(my_meta)
        assert my_meta["agent_id"] == their_meta["agent_id"]
        assert my_meta["frame_count"] == my_meta["timesteps"] == QUEUE_TICKS
        assert my_meta["action_names"] == list(ACTION_NAMES)
        assert set(my_meta["capture_metadata"]) >= {"scenario", "seed", "ticks", "policy"}
        assert my_meta["capture_metadata"]["policy"] == "scripted"
        assert "timestamp" in my_meta["capture_metadata"]


def test_capture_loads_validates_and_trains(tmp_path: Path, run_training: RunTraining) -> None:
    folder = run_capture(tmp_path / "cap", "scenario=queue_conflict")
    entries = load_manifest(folder)
    assert [e.sample.name for e in entries] == [
        "rollout_sample_anna_001.npz",
        "rollout_sample_ben_002.npz",
        "rollout_sample_cara_003.npz",
    ]
    assert all(e.metrics for e in entries)
    checked = run_cli(["validate", *(str(e.sample) for e in entries)], tmp_path, "townlet.data")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == [
        f"Sample validation successful: {e.sample}" for e in entries
    ]

    run = run_training("data=replay", f"data.manifest={folder}", "trainer.max_epochs=1")
    records = read_records(run / "telemetry.ndjson")
    assert len(records) == 1
    assert records[0]["data_mode"] == "replay"
    assert records[0]["transitions"] == 3.0 * QUEUE_TICKS


def test_same_seed_gives_identical_arrays(tmp_path: Path) -> None:
    args = ("scenario=queue_conflict", "capture.seed=11", "capture.num_towns=2")
    first = load_arrays(run_capture(tmp_path / "a", *args))
    second = load_arrays(run_capture(tmp_path / "b", *args))
    assert len(first) == 6 and list(first) == list(second)
    for name, arrays in first.items():
        for key, value in arrays.items():
            assert value.dtype == second[name][key].dtype
            assert value.tobytes() == second[name][key].tobytes(), (name, key)


def test_kitchen_breakfast_capture_is_expert_data(tmp_path: Path) -> None:
    folder = run_capture(tmp_path / "cap", "scenario=kitchen_breakfast")
    arrays = load_arrays(folder)
    assert sorted(arrays) == ["rollout_sample_alice_001.npz", "rollout_sample_bob_002.npz"]
    actions = np.concatenate([a["actions"] for a in arrays.values()])
    assert ACTION_NAMES.index("cook") in actions
    assert ACTION_NAMES.index("eat") in actions


def test_checkpoint_policy_capture(tmp_path: Path, run_training: RunTraining) -> None:
    run = run_training("data=rollout", "trainer.max_epochs=1", "data.ticks=16", "logger=none")
    ckpt = run / "checkpoints" / "last.ckpt"
    args = ("scenario=queue_conflict", f"capture.policy=ckpt:{ckpt}", "capture.ticks=24")
    first = load_arrays(run_capture(tmp_path / "a", *args))
    second = load_arrays(run_capture(tmp_path / "b", *args))
    for name, arrays in first.items():
        # Real log-probs of sampled actions under a 12-way policy, and a real critic.
        assert (arrays["old_log_probs"] < 0).any(), name
        assert np.all(arrays["old_log_probs"] <= 0)
        assert arrays["value_preds"].shape == (25,) and arrays["value_preds"].any()
        for key, value in arrays.items():  # seeded sampling: the same actions every time
            assert value.tobytes() == second[name][key].tobytes(), (name, key)
    meta = json.loads((tmp_path / "a" / "rollout_sample_anna_001.json").read_text())
    assert meta["capture_metadata"]["policy"] == f"ckpt:{ckpt.resolve()}"

    # The same checkpoint cannot drive a town whose observations have another shape.
    out = tmp_path / "compact"
    proc = run_cli(
        [f"hydra.run.dir={out}", *args, "scenario.observation_variant=compact"],
        tmp_path,
        "townlet.capture",
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith(f"config error: capture.policy=ckpt:{ckpt} — ")
    assert "map (4, 11, 11)" in proc.stderr and "map (5, 7, 7)" in proc.stderr
    assert not (out / "rollout_sample_manifest.json").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("scenario=nope", "config error: scenario=nope — unknown option"),
        ("capture.ticks=0", "config error: capture.ticks=0 — must be >= 1"),
        ("capture.policy=foo", "config error: capture.policy=foo — must be 'scripted' or"),
        ("capture.policy=ckpt:{tmp}/none.ckpt", "— checkpoint file not found"),
        ("capture.policy=ckpt:{tmp}/junk.ckpt", "— not a townlet checkpoint"),
    ],
    ids=["unknown-scenario", "zero-ticks", "unknown-policy", "missing-ckpt", "foreign-ckpt"],
)
def test_bad_input_is_one_config_error_line(tmp_path: Path, override: str, expected: str) -> None:
    (tmp_path / "junk.ckpt").write_text("not a checkpoint\n")
    out = tmp_path / "run"
    proc = run_cli(
        [f"hydra.run.dir={out}", override.format(tmp=tmp_path)], tmp_path, "townlet.capture"
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert expected in proc.stderr
    assert not (out / "rollout_sample_manifest.json").exists()
