"""The recipes behind ``train``: the Python façade runs the same ones, and anneal stages take
their data from the data group."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest

from tests.helpers import compose_train, read_records
from townlet.dto import PPOTrainingResultDTO
from townlet.errors import ConfigError
from townlet.strategies.orchestrator import TrainingOrchestrator

RunTraining = Callable[..., Path]
QUIET = ("trainer.enable_progress_bar=false", "trainer.enable_model_summary=false", "logger=none")
VOLATILE = ("duration", "run_id", "fps")


def _stable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not any(word in k for word in VOLATILE)}


class FitLog(L.Callback):
    """Remembers the datamodule of every fit it joins."""

    def __init__(self) -> None:
        self.fits: list[tuple[str, Any]] = []

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        data = trainer.datamodule  # type: ignore[attr-defined]
        self.fits.append((type(data).__name__, getattr(data, "batch_size", None)))


def test_orchestrator_runs_what_train_runs(run_training: RunTraining, tmp_path: Path) -> None:
    overrides = ("data=replay", "trainer.max_epochs=2", *QUIET)
    by_train = run_training(*overrides)
    facade = tmp_path / "facade"
    result = TrainingOrchestrator(compose_train(facade, overrides)).run_ppo()
    assert isinstance(result, PPOTrainingResultDTO) and result.run_dir == str(facade)
    expected = [_stable(r) for r in read_records(by_train / "telemetry.ndjson")]
    assert [_stable(r) for r in read_records(facade / "telemetry.ndjson")] == expected
    assert not (facade / "result.json").exists()  # train writes result.json, the façade returns it


def test_orchestrator_refuses_another_strategys_recipe(tmp_path: Path) -> None:
    orchestrator = TrainingOrchestrator(compose_train(tmp_path, ["data=replay"]))
    with pytest.raises(ConfigError, match="strategy=ppo — the bc recipe needs strategy=bc"):
        orchestrator.run_bc()


def test_anneal_stages_take_their_data_from_the_data_group(tmp_path: Path) -> None:
    schedule = (
        "strategy.schedule=[{cycle: 0, mode: bc, epochs: 1, dataset: capture},"
        "{cycle: 1, mode: ppo, epochs: 1, dataset: rollout, bc_weight: 0.5},"
        "{cycle: 2, mode: ppo, epochs: 1, dataset: capture}]"
    )
    overrides = [
        "strategy=anneal",
        schedule,
        "data.ticks=24",
        "data.num_towns=2",
        "strategy.replay_batch_size=2",
        "strategy.bc.capture_towns=2",
        "strategy.anneal_accuracy_threshold=0.0",
        "strategy.promotion_state=null",
        *QUIET,
    ]
    fits = FitLog()
    TrainingOrchestrator(compose_train(tmp_path, overrides), extra_callbacks=[fits]).run()
    # The extra callback joined every stage; the replay stage used strategy.replay_batch_size.
    assert fits.fits == [
        ("BCDataModule", 256),
        ("RolloutDataModule", None),
        ("ReplayDataModule", 2),
    ]
    rollout, replay = read_records(tmp_path / "telemetry.ndjson")
    assert rollout["rollout_ticks"] == 24.0
    assert rollout["transitions"] == 24 * 2 * 3  # data.ticks x data.num_towns x 3 agents
    assert replay["data_mode"] == "replay"


def test_anneal_rollout_stages_under_data_replay_take_the_rollout_defaults(
    tmp_path: Path,
) -> None:
    """data=replay sizes no rollouts: the live stage is sized by conf/data/rollout.yaml."""
    schedule = (
        "strategy.schedule=[{cycle: 0, mode: bc, epochs: 1, dataset: capture},"
        "{cycle: 1, mode: ppo, epochs: 1, dataset: rollout}]"
    )
    overrides = [
        "strategy=anneal",
        "data=replay",
        schedule,
        "strategy.anneal_accuracy_threshold=0.0",
        "strategy.promotion_state=null",
        *QUIET,
    ]
    TrainingOrchestrator(compose_train(tmp_path, overrides)).run()
    (record,) = read_records(tmp_path / "telemetry.ndjson")
    assert record["data_mode"] == "rollout"
    assert record["rollout_ticks"] == 128.0  # conf/data/rollout.yaml's ticks
