"""Device selection: auto logs its choice; gpu needs CUDA (a config error without it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.helpers import read_records, run_cli


def test_auto_logs_its_choice(
    run_training: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="townlet.accelerators"):
        run_training("trainer.max_epochs=1", "device=auto")
    expected = "training on cuda:" if torch.cuda.is_available() else "no CUDA device found"
    assert any(expected in message for message in caplog.messages), caplog.messages


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on CPU-only machines")
def test_gpu_without_cuda_is_a_config_error(tmp_path: Path) -> None:
    proc = run_cli([f"hydra.run.dir={tmp_path / 'run'}", "device=gpu"], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "config error: device=gpu — CUDA is not available on this machine"


def test_debug_fdr_runs_one_batch_without_loggers(run_training: Callable[..., Path]) -> None:
    run = run_training("debug=fdr")
    (record,) = read_records(run / "telemetry.ndjson")
    assert record["epoch"] == 1.0
    assert record["transitions"] == 128 * 3  # one rollout: 128 ticks of queue_conflict's 3 agents
    assert not (run / "tensorboard").exists()
    assert not (run / "checkpoints").exists()  # a smoke test leaves no checkpoints behind


@pytest.mark.gpu
def test_gpu_device_trains_on_cuda(run_training: Callable[..., Path]) -> None:
    run = run_training("device=gpu", "trainer.max_epochs=2")
    records = read_records(run / "telemetry.ndjson")
    assert [r["epoch"] for r in records] == [1.0, 2.0]
    assert all(r["loss_total"] == r["loss_total"] for r in records)  # finite, not NaN
