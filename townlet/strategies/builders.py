"""Build the pieces of a run from the validated config: data, modules, callbacks, loggers, trainer.

Every recipe (PPO, BC and each anneal stage) assembles its runs from these, so loggers,
callbacks, devices and the datamodule's ``_target_`` behave the same everywhere. Everything is
built from the pydantic models, never from the raw composed config.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from lightning.pytorch.loggers import Logger
from omegaconf import OmegaConf

from townlet.accelerators import trainer_device_kwargs
from townlet.compose import CONF_DIR, scenario_choice
from townlet.config.models import (
    BCConfig,
    LiveTownData,
    MixedDataConfig,
    PPOConfig,
    ReplayDataConfig,
    RolloutDataConfig,
    TrainConfig,
)
from townlet.data.bc import BCDataModule
from townlet.data.replay import ReplayDataModule
from townlet.data.rollout import RolloutDataModule
from townlet.errors import ConfigError
from townlet.policy.checkpoint import check_resume_checkpoint, load_policy_weights
from townlet.policy.conflict_aware import ConflictAwarePolicy
from townlet.signals import GracefulStop
from townlet.sim import Scenario, scenario_from_dict
from townlet.strategies.bc import BCModule
from townlet.strategies.ppo import PPOModule

log = logging.getLogger(__name__)


def scenario_of(config: TrainConfig) -> tuple[Scenario, str]:
    """The composed scenario, validated, and its group option name."""
    name = scenario_choice()
    scenario = scenario_from_dict(config.scenario, source=f"conf/scenario/{name}.yaml", name=name)
    return scenario, name


# -- data ------------------------------------------------------------------------------------
def build_datamodule(config: TrainConfig) -> L.LightningDataModule:
    """Instantiate the data group's ``_target_`` with what the group cannot say itself."""
    extra: dict[str, Any] = {}
    if isinstance(config.data, ReplayDataConfig | MixedDataConfig):
        from townlet.data import EMBEDDED_MANIFEST

        extra["manifest"] = config.data.manifest or str(EMBEDDED_MANIFEST)
    if not isinstance(config.data, ReplayDataConfig):
        extra["scenario"], extra["scenario_name"] = scenario_of(config)
    datamodule: L.LightningDataModule = hydra.utils.instantiate(
        config.data.model_dump(by_alias=True), **extra
    )
    return datamodule


def build_rollout_datamodule(config: TrainConfig) -> RolloutDataModule:
    """Live rollouts of the scenario, sized by the data group (data=rollout or data=mixed).

    data=replay sizes no rollouts; anneal's live stages then take data=rollout's own defaults
    (``conf/data/rollout.yaml``) with the run's seed, as if ``data=rollout`` had been chosen.
    """
    data = config.data if isinstance(config.data, LiveTownData) else rollout_defaults(config)
    scenario, name = scenario_of(config)
    return RolloutDataModule(scenario, data.ticks, data.num_towns, data.seed, name)


def rollout_defaults(config: TrainConfig) -> RolloutDataConfig:
    """``conf/data/rollout.yaml`` as composed for this run (its seed is the run's)."""
    group = OmegaConf.load(Path(CONF_DIR) / "data" / "rollout.yaml")
    group.seed = config.seed
    return RolloutDataConfig.model_validate(OmegaConf.to_container(group, resolve=True))


def build_replay_datamodule(
    config: TrainConfig, manifest: str, batch_size: int
) -> ReplayDataModule:
    """Replay of ``manifest`` with the data group's replay options.

    data=replay lends all of its options and data=mixed its batch size, seed and
    ``recompute_log_probs``; data=rollout has none, so ``batch_size`` and the run's seed apply.
    """
    data = config.data
    if isinstance(data, ReplayDataConfig):
        return ReplayDataModule(manifest, **data.model_dump(exclude={"target", "manifest"}))
    if isinstance(data, MixedDataConfig):
        return ReplayDataModule(
            manifest,
            batch_size=data.batch_size,
            seed=data.seed,
            recompute_log_probs=data.recompute_log_probs,
        )
    return ReplayDataModule(manifest, batch_size=batch_size, seed=config.seed)


# -- modules ---------------------------------------------------------------------------------
def ppo_module_arguments(
    config: TrainConfig, ppo: PPOConfig, datamodule: Any, max_epochs: int
) -> dict[str, Any]:
    """PPOModule's constructor arguments, sized from the data (never from hard-coded numbers)."""
    return {
        "strategy": ppo.model_dump(),
        "policy": config.policy.model_dump(),
        "map_shape": list(datamodule.map_shape),
        "feature_dim": int(datamodule.feature_dim),
        "action_dim": int(datamodule.action_dim),
        "feature_names": list(datamodule.feature_names),
        "seed": config.seed,
        "max_epochs": max_epochs,
    }


def build_ppo_module(config: TrainConfig, ppo: PPOConfig, datamodule: Any) -> PPOModule:
    """The run's PPO module; its policy starts from ``init_from``'s weights when one is given."""
    module = PPOModule(**ppo_module_arguments(config, ppo, datamodule, config.trainer.max_epochs))
    check_resume(config, module, ("trainer.max_epochs", config.trainer.max_epochs))
    if ppo.init_from:
        load_policy_weights(module.policy, Path(ppo.init_from), "strategy.init_from=")
        log.info("policy initialised from %s", ppo.init_from)
    return module


def build_bc_module(
    config: TrainConfig,
    bc: BCConfig,
    datamodule: BCDataModule,
    network: ConflictAwarePolicy | None = None,
) -> BCModule:
    """The BC module, sized from the expert data; anneal hands in the network of its stages."""
    module = BCModule(
        policy=config.policy.model_dump(),
        map_shape=list(datamodule.map_shape),
        feature_dim=datamodule.feature_dim,
        action_dim=datamodule.action_dim,
        batch_keys=datamodule.batch_keys(),
        learning_rate=bc.learning_rate,
        weight_decay=bc.weight_decay,
        network=network,
    )
    check_resume(config, module, ("strategy.epochs", bc.epochs))
    return module


def check_resume(config: TrainConfig, module: L.LightningModule, epochs: tuple[str, int]) -> None:
    """``ckpt_path`` must fit the module just built and leave epochs to train (``epochs`` is the
    key and value of the run's epoch budget); checked before any logger or trainer exists, so a
    bad file costs one line and leaves no TensorBoard, telemetry or checkpoint behind."""
    if not config.ckpt_path:
        return
    done = check_resume_checkpoint(config.ckpt_path, module)
    key, budget = epochs
    if budget <= done:
        # Lightning would fit nothing (or refuse), and the run would end without a result.
        raise ConfigError(
            f"{key}={budget} — ckpt_path={config.ckpt_path} has already trained {done} "
            f"epoch(s); resume with {key} above {done}"
        )


# -- callbacks, loggers, trainer -------------------------------------------------------------
def build_callbacks(config: TrainConfig, extra: Sequence[L.Callback] = ()) -> list[L.Callback]:
    """``extra`` (from Python callers) first, then the callbacks group's, in its order; a
    :class:`GracefulStop` is added last when none of them is one."""
    run_info: dict[str, Any] = {"strategy": config.strategy.name, "seed": config.seed}
    if not isinstance(config.data, ReplayDataConfig):
        run_info["scenario"] = scenario_choice()
    callbacks = list(extra)
    for name, spec in config.callbacks.model_dump(by_alias=True).items():
        if spec is None:  # switched off, e.g. callbacks.model_checkpoint=null
            continue
        arguments = {"run_info": run_info} if name == "telemetry" else {}
        callback = hydra.utils.instantiate(spec, **arguments)
        # trainer.enable_progress_bar=false wins over the callbacks group's progress bar.
        if isinstance(callback, ProgressBar) and not config.trainer.enable_progress_bar:
            continue
        callbacks.append(callback)
    if not any(isinstance(callback, GracefulStop) for callback in callbacks):
        # Without it Lightning's own SIGTERM handling ends the fit mid-epoch with exit code 0,
        # which a scheduler reads as success; so every run stops on signals the same way
        # (DESIGN §14), whatever the callbacks group says (callbacks=none included).
        callbacks.append(graceful_stop(config))
    return callbacks


def graceful_stop(config: TrainConfig) -> GracefulStop:
    """The stop on SIGTERM/SIGINT, saving where the callbacks group's default saves."""
    run_dir = Path(config.paths.output_dir)
    return GracefulStop(str(run_dir), str(run_dir / "checkpoints" / "last.ckpt"))


def build_loggers(config: TrainConfig) -> list[Logger]:
    """The logger group's Lightning loggers (none with logger=none)."""
    return [
        hydra.utils.instantiate(spec.model_dump(by_alias=True)) for spec in config.logger.values()
    ]


def build_trainer(
    config: TrainConfig,
    callbacks: list[L.Callback],
    loggers: list[Logger],
    datamodule: Any,
    max_epochs: int | None = None,
) -> L.Trainer:
    """The Trainer for one fit; BC and anneal stages pass their own ``max_epochs``."""
    options = config.trainer.model_dump()
    if max_epochs is not None:
        options["max_epochs"] = max_epochs
    return L.Trainer(
        **options,
        **trainer_device_kwargs(config.device),
        logger=loggers or False,
        callbacks=callbacks,
        enable_checkpointing=any(isinstance(cb, ModelCheckpoint) for cb in callbacks),
        default_root_dir=config.paths.output_dir,
        num_sanity_val_steps=0,
        # Mixed schedules change the epoch's length, so Lightning must ask for data every epoch.
        reload_dataloaders_every_n_epochs=int(getattr(datamodule, "reload_every_epoch", False)),
    )
