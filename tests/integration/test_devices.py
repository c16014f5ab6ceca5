"""Device selection: auto logs its choice; gpu needs CUDA (a config error without it); every
process runs torch on device.torch_threads threads."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from tests.helpers import read_records, run_cli
from townlet.capture import capture
from townlet.compose import compose_train_config
from townlet.evaluate import evaluate


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


@pytest.fixture()
def restore_torch_threads() -> Iterator[None]:
    """These tests change the pytest process's torch threads: put them back afterwards."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("restore_torch_threads")
@pytest.mark.parametrize("threads", [2, 1])
def test_torch_threads_reach_the_training_process(
    run_training: Callable[..., Path], tmp_path: Path, threads: int
) -> None:
    torch.set_num_threads(3)  # something else than either setting
    run_training(
        "trainer.max_epochs=1",
        f"device.torch_threads={threads}",
        "+callbacks.threads._target_=tests.run_probes.ThreadsProbe",
        f"+callbacks.threads.folder={tmp_path}",
    )
    # As the fit started, inside the trainer.
    assert (tmp_path / "threads_rank0.txt").read_text() == str(threads)


@pytest.mark.usefixtures("restore_torch_threads")
def test_torch_threads_reach_capture_and_evaluate_of_a_checkpoint(
    run_training: Callable[..., Path], tmp_path: Path
) -> None:
    checkpoint = run_training("trainer.max_epochs=1") / "checkpoints" / "last.ckpt"
    torch.set_num_threads(1)
    capture(
        compose_train_config(
            tmp_path / "capture",
            [f"capture.policy=ckpt:{checkpoint}", "capture.ticks=4", "device.torch_threads=2"],
            config_name="capture",
        )
    )
    assert torch.get_num_threads() == 2
    evaluate(
        compose_train_config(
            tmp_path / "evaluate",
            [
                f"evaluate.policy=ckpt:{checkpoint}",
                "evaluate.towns=1",
                "scenario=queue_conflict",
                "device.torch_threads=1",
            ],
            config_name="evaluate",
        )
    )
    assert torch.get_num_threads() == 1


def test_torch_threads_must_not_be_negative(tmp_path: Path) -> None:
    proc = run_cli([f"hydra.run.dir={tmp_path / 'run'}", "device.torch_threads=-1"], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("config error: device.torch_threads")
    assert ">= 0" in proc.stderr or "at least 0" in proc.stderr, proc.stderr
