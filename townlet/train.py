"""``python -m townlet.train``: compose -> validate -> seed -> build -> fit -> result (DESIGN §3).

The whole run reads top to bottom here. Hydra composes ``conf/train.yaml`` with the command line
(Python callers compose with :func:`townlet.compose.compose_train_config`), :func:`train`
validates it into pydantic models and hands it to the strategy's recipe: :func:`train_ppo` is
the checklist of a PPO run, :func:`train_bc` and :func:`train_anneal` are BC's and anneal's.
The recipes only order the steps; :mod:`townlet.strategies.builders` builds every piece.

Bad input never reaches Lightning: the config is validated first and the data is scanned before
the trainer exists, so a mistake costs one ``config error:`` line (exit 2) or one data error line
(exit 1), never a traceback, unless ``HYDRA_FULL_ERROR=1`` asks for one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from pydantic import BaseModel

from townlet.accelerators import apply_torch_threads, check_process_layout
from townlet.atomic import atomic_write_text
from townlet.cli import quiet_library_logs, report_errors, run_hydra_app
from townlet.compose import CONF_DIR, resolved_config
from townlet.config import TrainConfig, validate_train_config
from townlet.config.models import AnnealConfig, BCConfig, PPOConfig
from townlet.distributed import process_rank
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

log = logging.getLogger("townlet.train")
RESULT_FILE = "result.json"
Strategy = TypeVar("Strategy", PPOConfig, BCConfig, AnnealConfig)
# Callbacks from Python callers (notebooks, benchmarks), added to the config's in every fit.
ExtraCallbacks = Sequence[L.Callback]


def train(cfg: DictConfig | Mapping[str, Any]) -> BaseModel:
    """One run of a composed config: validate, run its strategy's recipe, write ``result.json``."""
    config = validate_train_config(resolved_config(cfg))
    check_process_layout(config, multirun=in_multirun())
    apply_torch_threads(config.device.torch_threads)
    result = run_strategy(config)
    if process_rank() == 0:  # DDP: every rank returns the same result; rank 0 writes it
        path = Path(config.paths.output_dir) / RESULT_FILE
        write_result(path, result)
        log.info("result written to %s", path)
    return result


def in_multirun() -> bool:
    """Whether this run is a job of a Hydra multirun (``-m``)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_strategy(config: TrainConfig, extra: ExtraCallbacks = ()) -> BaseModel:
    """The recipe of the strategy the config names; ``extra`` callbacks join every fit."""
    recipes: dict[str, Callable[[TrainConfig, ExtraCallbacks], BaseModel]] = {
        "ppo": train_ppo,
        "bc": train_bc,
        "anneal": train_anneal,
    }
    return recipes[config.strategy.name](config, extra)


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


def write_result(path: Path, result: BaseModel) -> None:
    """result.json, written atomically so a reader never sees half a file."""
    atomic_write_text(
        path, json.dumps(result.model_dump(by_alias=True, exclude_none=True), indent=2) + "\n"
    )


def optimized_metric(config: DictConfig, result: BaseModel) -> float | None:
    """The result value named by ``optimized_metric`` (what sweepers maximise), if it has one."""
    metric = config.get("optimized_metric")
    if not metric:
        return None
    value = result.model_dump(by_alias=True).get(metric)
    if not isinstance(value, int | float):
        log.warning("optimized_metric %r is not in the result: no value for sweepers", metric)
        return None
    return float(value)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@report_errors
def _hydra_main(cfg: DictConfig) -> float | None:
    # Launcher workers (joblib, submitit) run this function, not main(): filter there too.
    quiet_library_logs()
    return optimized_metric(cfg, train(cfg))


def main() -> None:
    """Console entry: ``python -m townlet.train [overrides]``."""
    quiet_library_logs()
    run_hydra_app(_hydra_main)


if __name__ == "__main__":
    main()
