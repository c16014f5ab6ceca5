"""``TrainingOrchestrator``: the Python API over every strategy (DESIGN §10).

    from townlet.compose import compose_train_config
    from townlet.strategies.orchestrator import TrainingOrchestrator

    result = TrainingOrchestrator(compose_train_config("outputs/nb", ["strategy=bc"])).run()

Each ``run_*`` validates nothing twice: the config is checked once in the constructor, every
run seeds Lightning the same way, and each returns its pydantic result DTO.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf, open_dict
from pydantic import BaseModel

from townlet.config import TrainConfig, validate_train_config
from townlet.config.models import BCConfig, PPOConfig, ReplayDataConfig
from townlet.data.bc import BCDataModule
from townlet.dto import BCTrainingResultDTO, PPOTrainingResultDTO
from townlet.errors import ConfigError
from townlet.policy.checkpoint import load_policy_weights
from townlet.strategies.bc import BCModule
from townlet.strategies.builders import (
    build_callbacks,
    build_datamodule,
    build_module,
    build_trainer,
    result_record,
    scenario_of,
)

log = logging.getLogger(__name__)


def _plain(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The resolved config as plain containers, without Hydra's own node."""
    if isinstance(cfg, DictConfig):
        cfg = cfg.copy()
        with open_dict(cfg):
            cfg.pop("hydra", None)
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return {str(k): v for k, v in cfg.items() if k != "hydra"}


class TrainingOrchestrator:
    """Runs PPO, BC or anneal from one composed config."""

    def __init__(self, cfg: DictConfig | Mapping[str, Any]) -> None:
        self.raw = _plain(cfg)
        self.config: TrainConfig = validate_train_config(self.raw)
        self.run_dir = Path(self.config.paths.output_dir)

    def run(self) -> BaseModel:
        """The strategy the config names."""
        runners = {"ppo": self.run_ppo, "bc": self.run_bc, "anneal": self.run_anneal}
        return runners[self.config.strategy.name]()

    def _require(self, kind: type[BaseModel], name: str) -> Any:
        if not isinstance(self.config.strategy, kind):
            raise ConfigError(
                f"strategy={self.config.strategy.name} — run_{name} needs strategy={name}"
            )
        return self.config.strategy

    def run_ppo(self) -> PPOTrainingResultDTO:
        """PPO on the configured data; writes telemetry, checkpoints and TensorBoard."""
        ppo: PPOConfig = self._require(PPOConfig, "ppo")
        L.seed_everything(self.config.seed, workers=True, verbose=False)
        datamodule = build_datamodule(self.config, self.raw)
        module = build_module(self.config, datamodule)
        if ppo.init_from:
            load_policy_weights(module.policy, Path(ppo.init_from), "strategy.init_from=")
            log.info("policy initialised from %s", ppo.init_from)
        callbacks = build_callbacks(self.config, self.raw)
        trainer = build_trainer(
            self.config,
            self.raw,
            callbacks,
            reload_data=getattr(datamodule, "reload_every_epoch", False),
        )
        started = time.perf_counter()
        trainer.fit(
            module, datamodule=datamodule, ckpt_path=self.config.ckpt_path, weights_only=True
        )
        record = result_record(
            module, datamodule, callbacks, trainer.current_epoch, time.perf_counter() - started
        )
        return PPOTrainingResultDTO.from_record(record, str(self.run_dir))

    def expert_manifest(self, bc: BCConfig) -> str:
        """The replay manifest to clone, or a fresh scripted capture of the scenario."""
        if isinstance(self.config.data, ReplayDataConfig):
            from townlet.data import EMBEDDED_MANIFEST

            return self.config.data.manifest or str(EMBEDDED_MANIFEST)
        folder = self.run_dir / "capture"
        if not (folder / "rollout_sample_manifest.json").is_file():
            from townlet.capture import capture_to

            scenario, name = scenario_of(self.raw)
            capture_to(
                folder,
                scenario,
                name,
                ticks=bc.capture_ticks,
                num_towns=bc.capture_towns,
                seed=self.config.seed + scenario.seed,
            )
        return str(folder)

    def bc_datamodule(self, bc: BCConfig, manifest: str | None = None) -> BCDataModule:
        return BCDataModule(
            manifest or self.expert_manifest(bc), bc.batch_size, bc.val_fraction, self.config.seed
        )

    def bc_module(self, bc: BCConfig, data: BCDataModule, network: Any = None) -> BCModule:
        return BCModule(
            policy=self.config.policy.model_dump(),
            map_shape=list(data.map_shape),
            feature_dim=data.feature_dim,
            action_dim=data.action_dim,
            batch_keys=data.batch_keys(),
            learning_rate=bc.learning_rate,
            weight_decay=bc.weight_decay,
            network=network,
        )

    def run_bc(self) -> BCTrainingResultDTO:
        """Behaviour cloning of the expert data, with a validation split."""
        bc: BCConfig = self._require(BCConfig, "bc")
        L.seed_everything(self.config.seed, workers=True, verbose=False)
        data = self.bc_datamodule(bc)
        module = self.bc_module(bc, data)
        trainer = build_trainer(
            self.config, self.raw, build_callbacks(self.config, self.raw), max_epochs=bc.epochs
        )
        started = time.perf_counter()
        trainer.fit(module, datamodule=data, ckpt_path=self.config.ckpt_path, weights_only=True)
        metrics = module.epoch_metrics()
        return BCTrainingResultDTO(
            mode="bc",
            manifest=data.dataset_label,
            accuracy=metrics["accuracy"],
            loss=metrics["loss"],
            val_accuracy=metrics.get("val_accuracy", metrics["accuracy"]),
            val_loss=metrics.get("val_loss", metrics["loss"]),
            learning_rate=bc.learning_rate,
            batch_size=bc.batch_size,
            epochs=trainer.current_epoch,
            device=str(trainer.strategy.root_device),
            duration_sec=time.perf_counter() - started,
            run_dir=str(self.run_dir),
        )

    def run_anneal(self) -> BaseModel:
        """BC then PPO stages on one network, behind the guardrails."""
        from townlet.strategies.anneal import AnnealRunner

        return AnnealRunner(self).run()
