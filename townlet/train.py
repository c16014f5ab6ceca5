"""``python -m townlet.train``: compose -> validate -> seed -> build -> fit -> result (DESIGN §3).

The whole run reads top to bottom here. Hydra composes ``conf/train.yaml`` with the command line
(Python callers compose with :func:`townlet.compose.compose_train_config`), :func:`train`
validates it into pydantic models and hands it to the strategy's recipe in
:mod:`townlet.recipes` (:func:`~townlet.recipes.train_ppo`, ``train_bc``, ``train_anneal``).

Bad input never reaches Lightning: the config is validated first and the data is scanned before
the trainer exists, so a mistake costs one ``config error:`` line (exit 2) or one data error line
(exit 1), never a traceback, unless ``HYDRA_FULL_ERROR=1`` asks for one.

This module stays light: nothing here imports torch or Lightning at module level, so
``--help``, ``--cfg job`` and every config error answer in about a second. The recipes (and with
them torch and Lightning, seconds of imports) load in :func:`run_strategy`, after validation.
Their names stay importable from here (``from townlet.train import train_ppo``), loaded lazily.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig
from pydantic import BaseModel

from townlet.atomic import atomic_write_text
from townlet.cli import quiet_library_logs, report_errors, run_hydra_app
from townlet.compose import CONF_DIR, resolved_config
from townlet.config import TrainConfig, validate_train_config
from townlet.distributed import process_rank
from townlet.process_layout import check_process_layout
from townlet.run_folder import in_multirun

if TYPE_CHECKING:  # the real names for type checkers; at run time __getattr__ loads them
    from lightning import Callback

    from townlet.recipes import strategy_of, timed_fit, train_anneal, train_bc, train_ppo

__all__ = [
    "RESULT_FILE",
    "main",
    "optimized_metric",
    "run_strategy",
    "strategy_of",
    "timed_fit",
    "train",
    "train_anneal",
    "train_bc",
    "train_ppo",
    "write_result",
]

log = logging.getLogger("townlet.train")
RESULT_FILE = "result.json"
# The recipes' names re-exported from townlet.recipes on first use (PEP 562), so importing this
# module does not import Lightning.
_RECIPE_NAMES = frozenset({"train_ppo", "train_bc", "train_anneal", "timed_fit", "strategy_of"})


def __getattr__(name: str) -> Any:
    if name in _RECIPE_NAMES:
        return getattr(importlib.import_module("townlet.recipes"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train(cfg: DictConfig | Mapping[str, Any]) -> BaseModel:
    """One run of a composed config: validate, run its strategy's recipe, write ``result.json``."""
    config = validate_train_config(resolved_config(cfg))
    check_process_layout(config, multirun=in_multirun())
    # The config is valid from here on: torch may load now.
    from townlet.accelerators import apply_torch_threads

    apply_torch_threads(config.device.torch_threads)
    result = run_strategy(config)
    if process_rank() == 0:  # DDP: every rank returns the same result; rank 0 writes it
        path = Path(config.paths.output_dir) / RESULT_FILE
        write_result(path, result)
        log.info("result written to %s", path)
    return result


def run_strategy(config: TrainConfig, extra: Sequence[Callback] = ()) -> BaseModel:
    """The recipe of the strategy the config names; ``extra`` callbacks join every fit."""
    from townlet.recipes import RECIPES  # Lightning and torch load here, after validation

    return RECIPES[config.strategy.name](config, extra)


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
