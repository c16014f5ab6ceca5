"""The result DTOs of finished PPO and BC fits (DESIGN §10), as ``result.json`` holds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L

from townlet.config.models import BCConfig, TrainConfig
from townlet.data.bc import BCDataModule
from townlet.dto import BCTrainingResultDTO, PPOTrainingResultDTO
from townlet.strategies.bc import BCModule
from townlet.strategies.ppo import PPOModule
from townlet.telemetry.callback import TelemetryCallback, build_record, data_source_metrics


def last_ppo_record(
    module: PPOModule, datamodule: Any, callbacks: list[L.Callback], epochs: int, seconds: float
) -> dict[str, Any]:
    """The last telemetry record, or one built the same way when telemetry is switched off."""
    for callback in callbacks:
        if isinstance(callback, TelemetryCallback) and callback.last_record is not None:
            return callback.last_record
    metrics = module.epoch_metrics()
    counters = {"steps": module.agent_steps, "log_stream_offset": epochs, "cycle_id": -1}
    return build_record(
        metrics,
        data_source_metrics(datamodule),
        epoch=epochs,
        duration=seconds / max(epochs, 1),
        counters=counters,
        run_info={},
    )


def ppo_result(
    config: TrainConfig,
    module: PPOModule,
    datamodule: Any,
    callbacks: list[L.Callback],
    trainer: L.Trainer,
    seconds: float,
) -> PPOTrainingResultDTO:
    """The last epoch's record and the run folder."""
    record = last_ppo_record(module, datamodule, callbacks, trainer.current_epoch, seconds)
    return PPOTrainingResultDTO.from_record(record, str(Path(config.paths.output_dir)))


def bc_result(
    config: TrainConfig,
    bc: BCConfig,
    module: BCModule,
    datamodule: BCDataModule,
    trainer: L.Trainer,
    seconds: float,
) -> BCTrainingResultDTO:
    """The last epoch's training and validation metrics and the settings that produced them."""
    metrics = module.epoch_metrics()
    return BCTrainingResultDTO(
        mode="bc",
        manifest=datamodule.dataset_label,
        accuracy=metrics["accuracy"],
        loss=metrics["loss"],
        val_accuracy=metrics.get("val_accuracy", metrics["accuracy"]),
        val_loss=metrics.get("val_loss", metrics["loss"]),
        learning_rate=bc.learning_rate,
        batch_size=bc.batch_size,
        epochs=trainer.current_epoch,
        device=str(trainer.strategy.root_device),
        duration_sec=seconds,
        run_dir=str(Path(config.paths.output_dir)),
    )
