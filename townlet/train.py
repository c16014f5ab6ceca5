"""``python -m townlet.train``: compose -> validate -> build -> fit -> result (DESIGN §3).

Bad input never reaches Lightning: the composed config is validated by pydantic first and the
data is scanned before the trainer exists, so a mistake costs one ``config error:`` line (exit 2)
or one data error line (exit 1), never a traceback, unless ``HYDRA_FULL_ERROR=1`` asks for one.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from omegaconf import DictConfig, OmegaConf, open_dict

from townlet.accelerators import trainer_device_kwargs
from townlet.cli import report_errors, run_hydra_app
from townlet.compose import CONF_DIR, scenario_choice
from townlet.config import TrainConfig, validate_train_config
from townlet.config.models import MixedDataConfig, ReplayDataConfig
from townlet.dto import PPOTrainingResultDTO
from townlet.sim import scenario_from_dict
from townlet.strategies.ppo import PPOModule
from townlet.telemetry.callback import TelemetryCallback, build_record, data_source_metrics

log = logging.getLogger("townlet.train")

# num_workers=0 is deliberate (rollouts must come from current weights); Lightning's hint is noise,
# as are a torch-version deprecation inside Lightning and its advertising line.
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())


def build_datamodule(config: TrainConfig, raw: dict[str, Any]) -> L.LightningDataModule:
    """Instantiate the datamodule from its ``_target_`` with what the config group cannot say."""
    extra: dict[str, Any] = {}
    if isinstance(config.data, ReplayDataConfig | MixedDataConfig):
        from townlet.data import EMBEDDED_MANIFEST

        extra["manifest"] = config.data.manifest or str(EMBEDDED_MANIFEST)
    if not isinstance(config.data, ReplayDataConfig):
        name = scenario_choice()
        extra["scenario"] = scenario_from_dict(
            raw["scenario"], source=f"conf/scenario/{name}.yaml", name=name
        )
        extra["scenario_name"] = name
    datamodule: L.LightningDataModule = hydra.utils.instantiate(raw["data"], **extra)
    return datamodule


def build_module(config: TrainConfig, datamodule: Any) -> PPOModule:
    """The PPO module, sized from the data (never from hard-coded numbers)."""
    return PPOModule(
        strategy=config.strategy.model_dump(),
        policy=config.policy.model_dump(),
        map_shape=list(datamodule.map_shape),
        feature_dim=int(datamodule.feature_dim),
        action_dim=int(datamodule.action_dim),
        feature_names=list(datamodule.feature_names),
        seed=config.seed,
        max_epochs=config.trainer.max_epochs,
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
    config: TrainConfig, raw: dict[str, Any], callbacks: list[L.Callback], reload_data: bool = False
) -> L.Trainer:
    loggers = [hydra.utils.instantiate(spec) for spec in (raw.get("logger") or {}).values()]
    has_checkpoint = any(isinstance(cb, ModelCheckpoint) for cb in callbacks)
    return L.Trainer(
        **config.trainer.model_dump(),
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


def write_result(path: Path, result: PPOTrainingResultDTO) -> None:
    """result.json, written atomically so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result.model_dump(by_alias=True, exclude_none=True), indent=2) + "\n")
    os.replace(tmp, path)


def train(cfg: DictConfig) -> PPOTrainingResultDTO:
    """One run: validate the composed config, build everything, fit, write result.json."""
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra", None)  # present when composed with return_hydra_config (tests)
    raw: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    config = validate_train_config(raw)
    L.seed_everything(config.seed, workers=True, verbose=False)
    log.info("seed %d", config.seed)
    datamodule = build_datamodule(config, raw)
    module = build_module(config, datamodule)
    callbacks = build_callbacks(config, raw)
    trainer = build_trainer(
        config, raw, callbacks, reload_data=getattr(datamodule, "reload_every_epoch", False)
    )
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=config.ckpt_path, weights_only=True)
    record = result_record(
        module, datamodule, callbacks, trainer.current_epoch, time.perf_counter() - started
    )
    result = PPOTrainingResultDTO.from_record(record, config.paths.output_dir)
    write_result(Path(config.paths.output_dir) / "result.json", result)
    log.info("result written to %s", Path(config.paths.output_dir) / "result.json")
    return result


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@report_errors
def _hydra_main(cfg: DictConfig) -> float | None:
    result = train(cfg)
    metric = cfg.get("optimized_metric")
    value = result.model_dump(by_alias=True).get(metric) if metric else None
    return float(value) if isinstance(value, int | float) else None


def main() -> None:
    """Console entry: ``python -m townlet.train [overrides]``."""
    run_hydra_app(_hydra_main)


if __name__ == "__main__":
    main()
