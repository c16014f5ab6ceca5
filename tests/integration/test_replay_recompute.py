"""data.recompute_log_probs: PPO on the embedded manifest, which another policy recorded.

With the option on (the default), each replay batch's old_log_probs and value_preds are the
current policy's, so the first minibatch of every batch sees a ratio of exactly 1 and the clip is
a trust region; off, the recorded log-probs put the ratio far from 1 from the first minibatch on,
the clip fraction sits near 1, and the module says so once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import read_records
from townlet.strategies import losses, ppo_recompute
from townlet.strategies.ppo import MinibatchLoss, PPOModule

RunTraining = Callable[..., Path]
VOLATILE = {"epoch_duration_sec", "fps", "run_id"}
WARNING = "set data.recompute_log_probs=true"


class MinibatchProbe:
    """Per training_step: each minibatch's max |ratio - 1| and clip fraction, in update order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.batches: list[list[tuple[float, float]]] = []
        self.live_batches_recomputed = 0
        step, record = PPOModule.training_step, PPOModule._record_minibatch
        recompute = ppo_recompute.recompute_old_policy

        def training_step(module: PPOModule, batch: dict[str, Any], batch_idx: int) -> None:
            self.batches.append([])
            step(module, batch, batch_idx)

        def record_minibatch(
            module: PPOModule, minibatch: dict[str, Any], loss: MinibatchLoss, grad_norm: Any
        ) -> None:
            ratio = loss.ratio
            clipped = losses.clip_fraction(ratio, module.ppo.clip_param)
            self.batches[-1].append((float((ratio - 1).abs().max()), float(clipped)))
            record(module, minibatch, loss, grad_norm)

        def recompute_old_policy(policy: Any, batch: dict[str, Any], chunk: int) -> Any:
            self.live_batches_recomputed += int("valid" in batch)  # only rollouts carry it
            return recompute(policy, batch, chunk)

        monkeypatch.setattr(PPOModule, "training_step", training_step)
        monkeypatch.setattr(PPOModule, "_record_minibatch", record_minibatch)
        monkeypatch.setattr("townlet.strategies.ppo.recompute_old_policy", recompute_old_policy)


def replay(run_training: RunTraining, *overrides: str) -> list[dict[str, Any]]:
    run = run_training("data=replay", "trainer.max_epochs=3", "logger=none", *overrides)
    return read_records(run / "telemetry.ndjson")


def test_recomputed_batches_start_at_ratio_one(
    run_training: RunTraining, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = MinibatchProbe(monkeypatch)
    replay(run_training, "data.recompute_log_probs=true")
    # 8 samples in batches of 4: 2 batches an epoch, 4 passes of 4 minibatches each.
    assert len(probe.batches) == 6 and all(len(batch) == 16 for batch in probe.batches)
    for batch in probe.batches:  # every batch's first minibatch, so every epoch's first too
        max_gap, clipped = batch[0]
        assert max_gap < 1e-6 and clipped == 0.0
    # Later minibatches move away from 1: the recomputation happens once per batch, not per step.
    assert max(max_gap for batch in probe.batches for max_gap, _ in batch[1:]) > 0.01


def test_recorded_log_probs_put_the_ratio_far_from_one(
    run_training: RunTraining, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = MinibatchProbe(monkeypatch)
    replay(run_training, "data.recompute_log_probs=false")
    assert len(probe.batches) == 6
    for batch in probe.batches:
        max_gap, clipped = batch[0]
        assert max_gap > 1.0 and clipped > 0.5


def test_recomputing_brings_the_clip_fraction_down(run_training: RunTraining) -> None:
    default = replay(run_training)
    on = replay(run_training, "data.recompute_log_probs=true")
    off = replay(run_training, "data.recompute_log_probs=false")
    # The default is on: the same run, record for record.
    assert [{k: v for k, v in r.items() if k not in VOLATILE} for r in default] == [
        {k: v for k, v in r.items() if k not in VOLATILE} for r in on
    ]

    def mean(records: list[dict[str, Any]], key: str) -> float:
        return sum(r[key] for r in records) / len(records)

    # Measured: clip_fraction 0.25 on, 0.97 off; approx_kl 0.017 on, 1.22 off (3 epochs).
    assert mean(off, "clip_fraction") > 0.9 and mean(off, "approx_kl") > 0.9
    assert mean(on, "clip_fraction") < 0.5 * mean(off, "clip_fraction")
    assert mean(on, "approx_kl") < 0.05
    # On, the critic is the current one: its values no longer explain the recorded returns.
    assert all(r["explained_variance"] < 0.5 for r in on)


def test_warns_once_when_off(run_training: RunTraining, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="townlet.strategies.ppo"):
        replay(run_training, "data.recompute_log_probs=false")
    warnings = [m for m in caplog.messages if WARNING in m]
    # Every one of the 3 epochs passes the thresholds; the warning comes once per run.
    assert len(warnings) == 1, caplog.messages
    assert warnings[0].startswith("PPO on replay data recorded by another policy: approx_kl=1.")
    assert "clip_fraction=0.9" in warnings[0]


def test_no_warning_when_on(run_training: RunTraining, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="townlet.strategies.ppo"):
        replay(run_training)
    assert not [m for m in caplog.messages if WARNING in m], caplog.messages


def test_mixed_recomputes_replay_batches_only(
    run_training: RunTraining, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = MinibatchProbe(monkeypatch)
    run = run_training(
        "data=mixed",
        "data.schedule=alternate",
        "data.ticks=16",
        "trainer.max_epochs=2",
        "logger=none",
    )
    records = read_records(run / "telemetry.ndjson")
    assert [r["data_mode"] for r in records] == ["replay", "rollout"]
    assert probe.live_batches_recomputed == 0
    # Epoch 1: two replay batches, recomputed; epoch 2: one rollout, on-policy as collected.
    assert len(probe.batches) == 3
    for batch in probe.batches:
        assert batch[0][0] < 1e-6 and batch[0][1] == 0.0
