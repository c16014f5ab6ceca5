"""Build the pieces of a run from the validated config: data, module, callbacks, trainer.

Every strategy assembles its runs from these, so loggers, callbacks, devices and the datamodule's
``_target_`` behave the same in PPO, BC and every anneal stage.
"""

from __future__ import annotations

from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar

from townlet.accelerators import trainer_device_kwargs
from townlet.compose import scenario_choice
from townlet.config import TrainConfig
from townlet.config.models import MixedDataConfig, PPOConfig, ReplayDataConfig
from townlet.sim import Scenario, scenario_from_dict
from townlet.strategies.ppo import ExpertSource, PPOModule
from townlet.telemetry.callback import TelemetryCallback, build_record, data_source_metrics


def scenario_of(raw: dict[str, Any]) -> tuple[Scenario, str]:
    """The composed scenario, validated, and its group option name."""
    name = scenario_choice()
    return scenario_from_dict(raw["scenario"], source=f"conf/scenario/{name}.yaml", name=name), name


def build_datamodule(config: TrainConfig, raw: dict[str, Any]) -> L.LightningDataModule:
    """Instantiate the datamodule from its ``_target_`` with what the config group cannot say."""
    extra: dict[str, Any] = {}
    if isinstance(config.data, ReplayDataConfig | MixedDataConfig):
        from townlet.data import EMBEDDED_MANIFEST

        extra["manifest"] = config.data.manifest or str(EMBEDDED_MANIFEST)
    if not isinstance(config.data, ReplayDataConfig):
        extra["scenario"], extra["scenario_name"] = scenario_of(raw)
    datamodule: L.LightningDataModule = hydra.utils.instantiate(raw["data"], **extra)
    return datamodule


def build_module(
    config: TrainConfig,
    datamodule: Any,
    ppo: PPOConfig | None = None,
    *,
    max_epochs: int | None = None,
    network: Any = None,
    expert: ExpertSource | None = None,
    bc_weight: float = 0.0,
) -> PPOModule:
    """The PPO module, sized from the data (never from hard-coded numbers).

    ``ppo`` defaults to the run's strategy; anneal stages pass their own, with the shared
    ``network`` and the ``expert`` data of the BC term.
    """
    hyper = ppo or config.strategy
    assert isinstance(hyper, PPOConfig)
    return PPOModule(
        strategy=hyper.model_dump(),
        policy=config.policy.model_dump(),
        map_shape=list(datamodule.map_shape),
        feature_dim=int(datamodule.feature_dim),
        action_dim=int(datamodule.action_dim),
        feature_names=list(datamodule.feature_names),
        seed=config.seed,
        max_epochs=max_epochs or config.trainer.max_epochs,
        network=network,
        expert=expert,
        bc_weight=bc_weight,
    )


def build_callbacks(config: TrainConfig, raw: dict[str, Any]) -> list[L.Callback]:
    run_info: dict[str, Any] = {"strategy": config.strategy.name, "seed": config.seed}
    if not isinstance(config.data, ReplayDataConfig):
        run_info["scenario"] = scenario_choice()
    callbacks: list[L.Callback] = []
    for name, spec in (raw.get("callbacks") or {}).items():
        extra = {"run_info": run_info} if name == "telemetry" else {}
        callback = hydra.utils.instantiate(spec, **extra)
        # trainer.enable_progress_bar=false wins over the callbacks group's progress bar.
        if isinstance(callback, ProgressBar) and not config.trainer.enable_progress_bar:
            continue
        callbacks.append(callback)
    return callbacks


def build_trainer(
    config: TrainConfig,
    raw: dict[str, Any],
    callbacks: list[L.Callback],
    reload_data: bool = False,
    max_epochs: int | None = None,
) -> L.Trainer:
    """The Trainer; BC and anneal stages pass their own ``max_epochs``."""
    loggers = [hydra.utils.instantiate(spec) for spec in (raw.get("logger") or {}).values()]
    has_checkpoint = any(isinstance(cb, ModelCheckpoint) for cb in callbacks)
    options = config.trainer.model_dump()
    if max_epochs is not None:
        options["max_epochs"] = max_epochs
    return L.Trainer(
        **options,
        **trainer_device_kwargs(config.device),
        logger=loggers or False,
        callbacks=callbacks,
        enable_checkpointing=has_checkpoint,
        default_root_dir=config.paths.output_dir,
        num_sanity_val_steps=0,
        # Mixed schedules change the epoch's length, so Lightning must ask for data every epoch.
        reload_dataloaders_every_n_epochs=1 if reload_data else 0,
    )


def result_record(
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
