"""The recipes of ``python -m townlet.train``: one checklist per strategy (DESIGN §3).

:func:`train_ppo` is the checklist of a PPO run, :func:`train_bc` and :func:`train_anneal` are
BC's and anneal's. The recipes only order the steps; :mod:`townlet.strategies.builders` builds
every piece. This module imports Lightning and torch (seconds), so :mod:`townlet.train` imports
it only once the config is valid: ``--help``, ``--cfg job`` and config errors answer without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import lightning as L
from pydantic import BaseModel

from townlet.config import TrainConfig
from townlet.config.models import AnnealConfig, BCConfig, PPOConfig
from townlet.dto import AnnealSummaryDTO, BCTrainingResultDTO, PPOTrainingResultDTO
from townlet.errors import ConfigError
from townlet.strategies.anneal import AnnealRunner
from townlet.strategies.builders import (
    build_bc_module,
    build_callbacks,
    build_datamodule,
    build_loggers,
    build_ppo_module,
    build_trainer,
)
from townlet.strategies.experts import ExpertData
from townlet.strategies.results import bc_result, ppo_result

Strategy = TypeVar("Strategy", PPOConfig, BCConfig, AnnealConfig)
# Callbacks from Python callers (notebooks, benchmarks), added to the config's in every fit.
ExtraCallbacks = Sequence[L.Callback]


def train_ppo(config: TrainConfig, extra: ExtraCallbacks = ()) -> PPOTrainingResultDTO:
    """The PPO checklist: seed, build datamodule, module, callbacks, loggers and trainer, fit,
    and return the result (telemetry, checkpoints and TensorBoard are written by the fit)."""
    ppo = strategy_of(config, PPOConfig)
    L.seed_everything(config.seed, workers=True, verbose=False)
    datamodule = build_datamodule(config)
    module = build_ppo_module(config, ppo, datamodule)
    callbacks = build_callbacks(config, extra)
    loggers = build_loggers(config)
    trainer = build_trainer(config, callbacks, loggers, datamodule)
    seconds = timed_fit(trainer, module, datamodule, config.ckpt_path)
    return ppo_result(config, module, datamodule, callbacks, trainer, seconds)


def train_bc(config: TrainConfig, extra: ExtraCallbacks = ()) -> BCTrainingResultDTO:
    """Behaviour cloning: PPO's checklist on the expert data, with a validation split."""
    bc = strategy_of(config, BCConfig)
    L.seed_everything(config.seed, workers=True, verbose=False)
    experts = ExpertData(config, bc)
    with experts.discarded_on_config_error():  # a refused ckpt_path leaves no capture
        datamodule = experts.datamodule()
        module = build_bc_module(config, bc, datamodule)
    # The same callbacks and loggers as PPO; the epochs come from the strategy.
    callbacks, loggers = build_callbacks(config, extra), build_loggers(config)
    trainer = build_trainer(config, callbacks, loggers, datamodule, max_epochs=bc.epochs)
    seconds = timed_fit(trainer, module, datamodule, config.ckpt_path)
    return bc_result(config, bc, module, datamodule, trainer, seconds)


def train_anneal(config: TrainConfig, extra: ExtraCallbacks = ()) -> AnnealSummaryDTO:
    """BC then PPO stages on one network, behind the guardrails; seeds once, fits per stage."""
    anneal = strategy_of(config, AnnealConfig)
    return AnnealRunner(config, anneal, ExpertData(config, anneal.bc), extra).run()


RECIPES: dict[str, Callable[[TrainConfig, ExtraCallbacks], BaseModel]] = {
    "ppo": train_ppo,
    "bc": train_bc,
    "anneal": train_anneal,
}


def timed_fit(
    trainer: L.Trainer, module: L.LightningModule, datamodule: Any, ckpt_path: str | None
) -> float:
    """``trainer.fit``, resuming from ``ckpt_path`` if given; returns the seconds it took."""
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    return time.perf_counter() - started


def strategy_of(config: TrainConfig, kind: type[Strategy]) -> Strategy:
    """The config's strategy section, which must be of the recipe's kind."""
    if not isinstance(config.strategy, kind):
        wanted = kind.model_fields["name"].default
        raise ConfigError(
            f"strategy={config.strategy.name} — the {wanted} recipe needs strategy={wanted}"
        )
    return config.strategy
