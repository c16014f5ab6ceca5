"""PPO on live rollouts and mixed data: every scenario trains, counters flow, resumes are exact."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import (
    assert_validators_accept,
    compose_train,
    read_records,
    read_tensorboard,
)
from townlet.errors import DataError
from townlet.sim import SCENARIO_NAMES, load_scenario
from townlet.telemetry.schema import KPI_KEYS

RunTraining = Callable[..., Path]
VOLATILE = {"epoch_duration_sec", "fps", "run_id"}


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_every_scenario_trains_two_epochs(run_training: RunTraining, scenario: str) -> None:
    run = run_training(
        "data=rollout",
        f"scenario={scenario}",
        "data.ticks=16",
        "trainer.max_epochs=2",
        "logger=none",
    )
    records = read_records(run / "telemetry.ndjson")
    agents = len(load_scenario(scenario).agents)
    assert [r["epoch"] for r in records] == [1.0, 2.0]
    assert [r["cycle_id"] for r in records] == [0.0, 1.0]
    for record in records:
        assert record["data_mode"] == "rollout" and record["scenario"] == scenario
        assert record["rollout_ticks"] == 16.0
        assert 0 < record["transitions"] <= 16 * agents
        assert record["loss_total"] == record["loss_total"]  # not NaN


def test_rollout_telemetry_and_tensorboard(run_training: RunTraining) -> None:
    run = run_training(
        "data=rollout", "scenario=queue_conflict", "data.ticks=100", "trainer.max_epochs=2"
    )
    records = read_records(run / "telemetry.ndjson")
    # queue_conflict episodes last 80 ticks, so 200 ticks finish episodes of all 3 agents.
    assert records[-1]["ep_len_mean"] == 80.0
    assert records[-1]["steps"] == records[0]["transitions"] + records[1]["transitions"]
    tags, events = read_tensorboard(run)
    for tag in (
        "rollout/ep_rew_mean",
        "rollout/ep_len_mean",
        "time/fps",
        "town/queue_conflict_events",
        "town/chat_success_events",
    ):
        assert tag in tags, tag
    steps = [e.step for e in events.Scalars("rollout/ep_len_mean")]
    assert steps == [int(r["agent_steps"]) for r in records if "ep_len_mean" in r]
    # The town counters reach TensorBoard unchanged, one point per epoch.
    conflicts = [e.value for e in events.Scalars("town/queue_conflict_events")]
    assert conflicts == [r["queue_conflict_events"] for r in records]
    # The run returns the mean episode return to sweepers: the result carries it.
    metric = compose_train(run).optimized_metric
    assert metric == "ep_rew_mean"
    result = json.loads((run / "result.json").read_text())
    assert result[metric] == records[-1]["ep_rew_mean"]


def test_rollout_records_carry_kpis_of_completed_days(
    run_training: RunTraining, tmp_path: Path
) -> None:
    # 40-tick days and 24-tick collections: the first day of the 3 agents ends at tick 40, in
    # the second collection; the first collection completes no agent-day.
    run = run_training(
        "data=rollout",
        "scenario=queue_conflict",
        "++scenario.ticks_per_day=40",
        "data.ticks=24",
        "trainer.max_epochs=2",
    )
    log = run / "telemetry.ndjson"
    first, second = read_records(log)
    assert not set(KPI_KEYS) & set(first)
    assert second["agent_days"] == 3.0
    assert set(KPI_KEYS) <= set(second)
    assert all(0.0 <= second[key] <= 1.0 for key in KPI_KEYS if key.startswith("kpi."))
    assert not [key for record in (first, second) for key in record if key.startswith("kpi_")]
    # KPI scalars exist only at the epoch that has them, stepped by agent-steps.
    _, events = read_tensorboard(run)
    for key in KPI_KEYS:
        scalars = events.Scalars(f"kpi/{key.removeprefix('kpi.')}")
        assert [(s.step, s.value) for s in scalars] == [
            (int(second["agent_steps"]), pytest.approx(second[key]))
        ]
    # Both validators, townlet's and the old name's wrapper, accept the records as they are.
    assert_validators_accept(log, 2, tmp_path)


def test_rollout_resume_is_exact(run_training: RunTraining, tmp_path: Path) -> None:
    common = ("data=rollout", "scenario=kitchen_breakfast", "data.ticks=24", "logger=none")
    whole = read_records(run_training(*common, "trainer.max_epochs=4") / "telemetry.ndjson")
    folder = tmp_path / "resumed"
    run_training(*common, "trainer.max_epochs=2", run_dir=folder)
    ckpt = folder / "checkpoints" / "last.ckpt"
    run_training(*common, "trainer.max_epochs=4", f"ckpt_path={ckpt}", run_dir=folder)
    resumed = read_records(folder / "telemetry.ndjson")
    assert [r["epoch"] for r in resumed] == [1.0, 2.0, 3.0, 4.0]
    for got, want in zip(resumed, whole, strict=True):
        assert {k: v for k, v in got.items() if k not in VOLATILE} == {
            k: v for k, v in want.items() if k not in VOLATILE
        }


def test_mixed_alternate_takes_turns_starting_with_replay(run_training: RunTraining) -> None:
    run = run_training(
        "data=mixed",
        "data.schedule=alternate",
        "data.ticks=16",
        "trainer.max_epochs=4",
        "logger=none",
    )
    records = read_records(run / "telemetry.ndjson")
    assert [r["data_mode"] for r in records] == ["replay", "rollout", "replay", "rollout"]
    assert [r["cycle_id"] for r in records] == [-1.0, 0.0, 0.0, 1.0]
    assert [r["rollout_ticks"] for r in records] == [0.0, 16.0, 0.0, 16.0]
    assert records[0]["transitions"] == 8 * 32  # a full pass over the embedded replay


def test_mixed_blend_adds_replay_to_every_rollout(run_training: RunTraining) -> None:
    run = run_training("data=mixed", "data.ticks=32", "trainer.max_epochs=2", "logger=none")
    records = read_records(run / "telemetry.ndjson")
    for record in records:
        assert record["data_mode"] == "mixed"
        # 3 agents x 32 ticks of rollout, plus one replay batch of 4 samples x 32 steps.
        assert record["transitions"] == 3 * 32 + 4 * 32
        assert record["baseline_sample_count"] == 8.0


def test_mixed_rejects_replay_in_another_layout(
    run_training: RunTraining, upstream_samples: Path
) -> None:
    manifest = upstream_samples / "replay" / "replay_manifest.json"
    with pytest.raises(DataError, match="feature_names differ from the live town's 81"):
        run_training("data=mixed", f"data.manifest={manifest}", "trainer.max_epochs=1")
