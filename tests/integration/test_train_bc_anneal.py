"""strategy=bc and strategy=anneal end to end: accuracy, guardrails, promotion, init_from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.helpers import REPO_ROOT, assert_validators_accept, read_records, run_cli
from townlet.data.rollout import RolloutDataModule
from townlet.dto.anneal import STAGE_TELEMETRY_KEYS
from townlet.errors import ConfigError
from townlet.telemetry.schema import KPI_KEYS

RunTraining = Callable[..., Path]
QUICK_ANNEAL = (
    "strategy=anneal",
    "scenario=queue_conflict",
    "data.ticks=40",
    "strategy.schedule.0.epochs=5",
    "strategy.bc.capture_towns=2",
    "logger=none",
)

VALIDATE_SCRIPT = REPO_ROOT / "scripts" / "validate_ppo_telemetry.py"

# A perfect-accuracy bar after one epoch at a learning rate too small to move the weights.
UNREACHABLE_BC = (
    "strategy.anneal_accuracy_threshold=1.0",
    "strategy.schedule.0.epochs=1",
    "strategy.bc.learning_rate=1e-12",
)


def _result(run: Path) -> dict[str, Any]:
    return json.loads((run / "result.json").read_text())


def test_bc_clones_the_scripted_kitchen(run_training: RunTraining) -> None:
    run = run_training("strategy=bc", "scenario=kitchen_breakfast", "logger=none")
    result = _result(run)
    assert result["mode"] == "bc" and result["epochs"] == 20
    assert result["val_accuracy"] >= 0.95, result
    records = [json.loads(line) for line in (run / "telemetry_bc.ndjson").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [float(e) for e in range(1, 21)]
    assert records[-1]["val_accuracy"] == pytest.approx(result["val_accuracy"])
    assert (run / "capture" / "rollout_sample_manifest.json").is_file()
    assert not (run / "telemetry.ndjson").exists()  # the PPO stream stays PPO-only


def test_anneal_runs_bc_then_ppo_and_passes(run_training: RunTraining, tmp_path: Path) -> None:
    state = tmp_path / "promotion_state.json"
    # 80-tick days (one per episode), 40-tick collections: a collection completes 3 agent-days
    # (the day of each agent) or none.
    days = "++scenario.ticks_per_day=80"
    run = run_training(*QUICK_ANNEAL, days, f"strategy.promotion_state={state}")
    result = _result(run)
    assert [(s["cycle"], s["mode"]) for s in result["stages"]] == [
        (0, "bc"),
        (1, "ppo"),
        (2, "ppo"),
    ]
    assert result["status"] == "PASS" and result["reasons"] == []
    assert result["promotion_pass_streak"] == 1
    assert json.loads(state.read_text())["pass_streak"] == 1
    records = read_records(run / "telemetry.ndjson")
    # BC epochs 1-5 go to telemetry_bc.ndjson; the PPO stream continues with epochs 6-11.
    assert [r["epoch"] for r in records] == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
    assert [r["anneal_cycle"] for r in records] == [1.0] * 3 + [2.0] * 3
    assert all(r["anneal_bc_passed"] == 1.0 for r in records)
    assert "anneal_loss_baseline" in records[3] and "anneal_loss_baseline" not in records[0]
    # No counter is lost between telemetry and the DTO.
    last_of_stage = {1: records[2], 2: records[5]}
    for stage in result["stages"][1:]:
        for key in STAGE_TELEMETRY_KEYS:
            assert stage[key] == last_of_stage[stage["cycle"]][key], key
    # KPI keys ride along in the records of collections that completed a day, and the anneal
    # stream stays valid for both validators (townlet's and the old script name).
    with_kpis = [r["epoch"] for r in records if set(KPI_KEYS) <= set(r)]
    assert with_kpis and len(with_kpis) < len(records)
    assert all(r["agent_days"] == 3.0 for r in records if "agent_days" in r)
    log = run / "telemetry.ndjson"
    assert_validators_accept(log, 6, tmp_path)
    # checkpoints/last.ckpt is the network the schedule ended with (its last PPO stage, three
    # epochs), overwritten stage after stage rather than versioned as last-v1, last-v2.
    checkpoints = run / "checkpoints"
    assert not list(checkpoints.glob("last-v*.ckpt"))
    last = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=True)
    assert last["epoch"] == 2 and "optimizer_states" in last
    assert any(key.startswith("RolloutDataModule") for key in last)  # a PPO stage's towns


def test_bc_threshold_out_of_reach_fails_and_stops(run_training: RunTraining) -> None:
    run = run_training(*QUICK_ANNEAL, *UNREACHABLE_BC, "strategy.promotion_state=null")
    result = _result(run)
    assert result["status"] == "FAIL"
    assert result["reasons"] == ["bc_stage_failed_cycle_0"]
    assert [s["cycle"] for s in result["stages"]] == [0]
    assert not (run / "telemetry.ndjson").exists()


def test_loss_drift_holds(run_training: RunTraining) -> None:
    run = run_training(
        *QUICK_ANNEAL, "strategy.loss_tolerance=0.0", "strategy.promotion_state=null"
    )
    result = _result(run)
    assert result["status"] == "HOLD"
    assert "loss_flag_cycle_2" in result["reasons"]


def test_queue_conflict_drop_holds(
    run_training: RunTraining, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = RolloutDataModule.epoch_metrics
    collections = {"count": 0}

    def fewer_conflicts_later(self: RolloutDataModule) -> dict[str, float]:
        # Force the drop the guardrail watches for: from the second PPO stage on (rollout 4+),
        # the towns report half their queue conflicts.
        metrics = original(self)
        collections["count"] += 1
        if collections["count"] > 3:
            metrics["queue_conflict_events"] = metrics["queue_conflict_events"] * 0.5
        return metrics

    monkeypatch.setattr(RolloutDataModule, "epoch_metrics", fewer_conflicts_later)
    run = run_training(
        *QUICK_ANNEAL, "strategy.loss_tolerance=100", "strategy.promotion_state=null"
    )
    result = _result(run)
    assert result["status"] == "HOLD"
    assert result["reasons"] == ["queue_flag_cycle_2"]


def test_promotion_streak_across_runs(run_training: RunTraining, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    keep = f"strategy.promotion_state={state}"
    promote = ("--format", "json")
    run_training(*QUICK_ANNEAL, keep)
    run_training(*QUICK_ANNEAL, keep)
    proc = run_cli([str(state), *promote], cwd=tmp_path, module="townlet.promote")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["decision"] == "PROMOTE"
    run_training(*QUICK_ANNEAL, keep, "strategy.loss_tolerance=0.0")  # HOLD resets the streak
    proc = run_cli([str(state), *promote], cwd=tmp_path, module="townlet.promote")
    assert proc.returncode == 1 and json.loads(proc.stdout)["pass_streak"] == 0
    run_training(*QUICK_ANNEAL, keep, *UNREACHABLE_BC)
    proc = run_cli([str(state), *promote], cwd=tmp_path, module="townlet.promote")
    assert proc.returncode == 2 and json.loads(proc.stdout)["decision"] == "FAIL"


def test_ppo_from_bc_checkpoint_starts_better_than_random(run_training: RunTraining) -> None:
    bc = run_training("strategy=bc", "scenario=kitchen_breakfast", "logger=none")
    common = (
        "scenario=kitchen_breakfast",
        "data.ticks=90",
        "data.num_towns=4",
        "trainer.max_epochs=1",
        "logger=none",
        "seed=3",
    )
    warm = read_records(
        run_training(*common, f"strategy.init_from={bc / 'checkpoints' / 'last.ckpt'}")
        / "telemetry.ndjson"
    )[0]
    cold = read_records(run_training(*common) / "telemetry.ndjson")[0]
    assert warm["ep_rew_mean"] >= cold["ep_rew_mean"], (
        f"first-epoch ep_rew_mean from the BC checkpoint {warm['ep_rew_mean']:.4f} vs "
        f"random init {cold['ep_rew_mean']:.4f}"
    )


def test_anneal_refuses_to_resume_mid_schedule(run_training: RunTraining) -> None:
    bc = run_training("strategy=bc", "scenario=queue_conflict", "strategy.epochs=1", "logger=none")
    ckpt = bc / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match="strategy=anneal runs its schedule from the start"):
        run_training(*QUICK_ANNEAL, f"ckpt_path={ckpt}")
