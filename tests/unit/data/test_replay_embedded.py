"""The embedded dataset shipped in townlet/data/embedded and the script that generates it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from townlet.data import ACTION_NAMES, EMBEDDED_MANIFEST, load_manifest, load_sample
from townlet.sim import FEATURE_NAMES

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "make_embedded_replay.py"


def test_embedded_dataset_contents() -> None:
    entries = load_manifest(EMBEDDED_MANIFEST)
    assert len(entries) == 8
    samples = [load_sample(e.sample, e.meta) for e in entries]
    # The live layout (pinned to DESIGN §9.8 by tests/unit/sim/test_observations.py).
    names = list(FEATURE_NAMES)
    assert len(names) == 81
    done_steps = 0
    for sample in samples:
        arrays = sample.arrays
        assert arrays["map"].shape == (32, 4, 11, 11) and arrays["features"].shape == (32, 81)
        assert arrays["value_preds"].shape == (33,)
        assert arrays["action_mask"].shape == (32, 12)
        assert arrays["actions"].min() >= 0 and arrays["actions"].max() <= 11
        assert sample.feature_names == names
        assert sample.meta["action_names"] == list(ACTION_NAMES)
        assert sample.meta["map_channels"] == ["self", "agents", "objects", "reservations"]
        assert {"reward_sum", "reward_mean", "log_prob_mean"} <= set(sample.metrics)
        assert sample.metrics["reward_sum"] == pytest.approx(
            float(arrays["rewards"].sum()), abs=1e-5
        )
        assert np.all(arrays["old_log_probs"] <= 0.0)
        assert np.all(arrays["map"][:, 0, 5, 5] == 1.0)  # the agent sits at the view's centre
        rivalry = arrays["features"][:, names.index("rivalry_max")]
        assert rivalry.max() > rivalry.min()
        done_steps += int(arrays["dones"].sum())
    assert done_steps >= 1
    avoid = np.concatenate(
        [s.arrays["features"][:, names.index("rivalry_avoid_count")] for s in samples]
    )
    assert avoid.max() > avoid.min()
    total = sum(p.stat().st_size for p in EMBEDDED_MANIFEST.parent.iterdir())
    assert total < 300 * 1024


def test_generator_is_deterministic(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_embedded_replay", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path)]) == 0
    shipped = json.loads(EMBEDDED_MANIFEST.read_text())
    assert json.loads((tmp_path / "replay_manifest.json").read_text()) == shipped
    for entry in shipped:
        ours = load_sample(tmp_path / entry["sample"])
        theirs = load_sample(EMBEDDED_MANIFEST.parent / entry["sample"])
        assert ours.meta == theirs.meta
        for name, value in theirs.arrays.items():
            np.testing.assert_array_equal(ours.arrays[name], value)
