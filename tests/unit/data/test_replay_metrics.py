"""baseline_* aggregation (DESIGN §8.4), checked by hand and against the upstream soak log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from townlet.data.batching import ReplayBatches
from townlet.data.metrics import aggregate_baseline, numeric_metrics


def test_sums_totals_and_means_by_hand() -> None:
    out = aggregate_baseline(
        [
            {"reward_sum": -12.0, "action_total": 60.0, "reward_mean": -0.2},
            {},  # carries no metrics: does not count
            {"reward_sum": -6.0, "action_total": 40.0, "reward_mean": -0.1, "extra": 4.0},
        ]
    )
    assert out == {
        "baseline_sample_count": 2.0,
        "baseline_reward_sum": -18.0,
        "baseline_reward_sum_mean": -9.0,
        "baseline_action_total": 100.0,
        "baseline_action_total_mean": 50.0,
        "baseline_reward_mean": pytest.approx(-0.15),
        "baseline_extra": 4.0,  # averaged over the samples that carry it
    }


def test_no_metrics_gives_empty_dict() -> None:
    assert aggregate_baseline([]) == {}
    assert aggregate_baseline([{}, {}]) == {}


def test_numeric_metrics_keeps_finite_numbers_only() -> None:
    raw = {"a": 1, "b": 2.5, "flag": True, "name": "x", "bad": float("nan"), "none": None}
    assert numeric_metrics(raw) == {"a": 1.0, "b": 2.5}
    assert numeric_metrics(["not", "a", "mapping"]) == {}


def test_capture_baseline_matches_upstream_soak_log(upstream_samples: Path) -> None:
    batches = ReplayBatches.from_manifest(upstream_samples / "capture_queue_conflict")
    baseline = batches.baseline_metrics
    assert baseline["baseline_sample_count"] == 3.0
    assert baseline["baseline_reward_sum"] == -36.0
    assert baseline["baseline_reward_sum_mean"] == -12.0
    assert baseline["baseline_reward_mean"] == pytest.approx(-0.2)
    assert baseline["baseline_log_prob_mean"] == pytest.approx(-1.3748722, abs=1e-7)
    # The older system logged exactly these values on its replay epochs.
    log = upstream_samples / "telemetry" / "ppo_soak_queue_conflict.jsonl"
    replay_record = next(
        r for r in map(json.loads, log.read_text().splitlines()) if r["data_mode"] == "replay"
    )
    for key, value in replay_record.items():
        if key.startswith("baseline_"):
            assert baseline[key] == pytest.approx(value, rel=1e-12), key


def test_sidecar_metrics_are_used_without_metrics_file(
    upstream_samples: Path, tmp_path: Path
) -> None:
    folder = upstream_samples / "capture_queue_conflict"
    manifest = tmp_path / "m.json"  # same samples, but no metrics file beside this manifest
    manifest.write_text(json.dumps([str(p) for p in sorted(folder.glob("*.npz"))]))
    baseline = ReplayBatches.from_manifest(manifest).baseline_metrics
    assert baseline["baseline_reward_sum"] == -36.0
    assert baseline["baseline_log_prob_mean"] == pytest.approx(-1.3748722, abs=1e-7)


def test_replay_samples_without_metrics_give_no_baseline(upstream_samples: Path) -> None:
    batches = ReplayBatches.from_manifest(upstream_samples / "replay" / "replay_manifest.json")
    assert batches.baseline_metrics == {}
