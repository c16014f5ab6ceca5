"""End-to-end PPO on replay data: artifacts, telemetry content, rotation, resume, determinism."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.helpers import read_records, read_tensorboard
from townlet.telemetry.schema import ALWAYS_WRITTEN_KEYS, REQUIRED_V10_KEYS, REQUIRED_V11_KEYS

RunTraining = Callable[..., Path]
VOLATILE = {"epoch_duration_sec", "fps", "run_id"}


@pytest.fixture
def upstream_manifest(upstream_samples: Path) -> str:
    return str(upstream_samples / "replay" / "replay_manifest.json")


@pytest.fixture
def replay_run(run_training: RunTraining) -> RunTraining:
    """Training on replay data (the embedded manifest unless a test names another)."""

    def _run(*overrides: str, run_dir: Path | None = None) -> Path:
        return run_training("data=replay", *overrides, run_dir=run_dir)

    return _run


def test_default_run_leaves_every_artifact(run_training: RunTraining) -> None:
    run = run_training("trainer.max_epochs=2")
    records = read_records(run / "telemetry.ndjson")
    assert [r["epoch"] for r in records] == [1.0, 2.0]
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert (run / "checkpoints" / "last.ckpt").is_file()
    result = json.loads((run / "result.json").read_text())
    assert result["run_dir"] == str(run)
    # The default is PPO on live rollouts of queue_conflict.
    assert result["epoch"] == 2.0 and result["data_mode"] == "rollout"
    assert result["scenario"] == "queue_conflict"
    assert result["loss_total"] == records[-1]["loss_total"]
    # The checkpoint holds plain containers only, so it loads without running pickled code.
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["townlet"]["agent_steps"] == int(records[-1]["agent_steps"])


def test_upstream_manifest_records(replay_run: RunTraining, upstream_manifest: str) -> None:
    run = replay_run(
        f"data.manifest={upstream_manifest}",
        "data.batch_size=1",
        "strategy.num_epochs=1",
        "trainer.max_epochs=3",
        # The advantages below come from the samples' recorded values, so the pinned correlation
        # is a fact of the data; recomputed (the default) they would be the fresh critic's.
        "data.recompute_log_probs=false",
    )
    records = read_records(run / "telemetry.ndjson")
    assert len(records) == 3
    required = set(REQUIRED_V10_KEYS) | set(REQUIRED_V11_KEYS)
    assert len(required) == 35
    for record in records:
        missing = (required | set(ALWAYS_WRITTEN_KEYS)) - record.keys()
        assert not missing, missing
        numbers = {k: v for k, v in record.items() if not isinstance(v, str)}
        assert all(type(v) is float for v in numbers.values()), numbers
        assert record["updates"] == 6.0 and record["transitions"] == 6.0
        assert record["conflict.rivalry_max_mean_avg"] == pytest.approx(0.383333, abs=1e-5)
        assert record["conflict.rivalry_avoid_count_mean_avg"] == pytest.approx(0.333333, abs=1e-5)
        assert record["reward_advantage_corr"] == pytest.approx(-0.181077, abs=1e-5)
        assert record["data_mode"] == "replay" and record["cycle_id"] == -1.0
    assert [r["log_stream_offset"] for r in records] == [1.0, 2.0, 3.0]
    assert [r["steps"] for r in records] == [6.0, 12.0, 18.0]
    assert "baseline_sample_count" not in records[0]  # these samples carry no metrics


def test_capture_folder_trains_with_baseline_metrics(
    replay_run: RunTraining, upstream_samples: Path
) -> None:
    capture = upstream_samples / "capture_queue_conflict"
    run = replay_run(f"data.manifest={capture}", "trainer.max_epochs=1")
    (record,) = read_records(run / "telemetry.ndjson")
    assert record["transitions"] == 180.0
    assert record["baseline_sample_count"] == 3.0
    assert record["baseline_reward_sum"] == pytest.approx(-36.0)
    assert record["baseline_reward_sum_mean"] == pytest.approx(-12.0)
    assert record["baseline_log_prob_mean"] == pytest.approx(-1.3748722, abs=1e-6)


def test_rotation_one_line_per_file(replay_run: RunTraining) -> None:
    run = replay_run("trainer.max_epochs=3", "callbacks.telemetry.max_log_entries=1")
    files = [run / "telemetry.ndjson", run / "telemetry.ndjson.1", run / "telemetry.ndjson.2"]
    epochs = []
    for path in files:
        lines = read_records(path)
        assert len(lines) == 1
        epochs.append(lines[0]["epoch"])
    assert epochs == [1.0, 2.0, 3.0]
    assert not (run / "telemetry.ndjson.3").exists()


def test_log_frequency_writes_even_epochs_but_counts_all(replay_run: RunTraining) -> None:
    run = replay_run("trainer.max_epochs=4", "callbacks.telemetry.log_frequency=2")
    records = read_records(run / "telemetry.ndjson")
    assert [r["epoch"] for r in records] == [2.0, 4.0]
    assert [r["log_stream_offset"] for r in records] == [2.0, 4.0]


def test_resume_continues_the_stream_exactly(replay_run: RunTraining, tmp_path: Path) -> None:
    whole = replay_run("trainer.max_epochs=4")
    resumed = tmp_path / "resumed"
    replay_run("trainer.max_epochs=2", run_dir=resumed)
    replay_run(
        "trainer.max_epochs=4",
        f"ckpt_path={resumed / 'checkpoints' / 'last.ckpt'}",
        run_dir=resumed,
    )
    expected = read_records(whole / "telemetry.ndjson")
    records = read_records(resumed / "telemetry.ndjson")
    assert [r["epoch"] for r in records] == [1.0, 2.0, 3.0, 4.0]
    assert [r["log_stream_offset"] for r in records] == [1.0, 2.0, 3.0, 4.0]
    assert [r["steps"] for r in records] == [r["steps"] for r in expected]
    for got, want in zip(records, expected, strict=True):
        assert {k: v for k, v in got.items() if k not in VOLATILE} == {
            k: v for k, v in want.items() if k not in VOLATILE
        }


def test_same_seed_same_telemetry(replay_run: RunTraining) -> None:
    first = read_records(replay_run("trainer.max_epochs=2", "seed=7") / "telemetry.ndjson")
    second = read_records(replay_run("trainer.max_epochs=2", "seed=7") / "telemetry.ndjson")
    strip = [{k: v for k, v in r.items() if k not in VOLATILE} for r in first]
    assert strip == [{k: v for k, v in r.items() if k not in VOLATILE} for r in second]
    other = read_records(replay_run("trainer.max_epochs=2", "seed=8") / "telemetry.ndjson")
    assert other[-1]["loss_total"] != first[-1]["loss_total"]


def test_tensorboard_scalars_use_agent_steps(replay_run: RunTraining) -> None:
    run = replay_run("trainer.max_epochs=2")
    records = read_records(run / "telemetry.ndjson")
    tags, events = read_tensorboard(run)
    for tag in (
        "train/policy_gradient_loss",
        "train/value_loss",
        "train/entropy_loss",
        "train/approx_kl",
        "train/clip_fraction",
        "train/learning_rate",
        "time/fps",
    ):
        assert tag in tags, tag
    steps = [event.step for event in events.Scalars("train/policy_gradient_loss")]
    assert steps == [int(r["agent_steps"]) for r in records]
    values = [event.value for event in events.Scalars("train/policy_gradient_loss")]
    assert values == pytest.approx([r["loss_policy"] for r in records], rel=1e-6)
