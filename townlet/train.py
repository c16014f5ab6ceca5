"""``python -m townlet.train``: compose -> validate -> build -> fit -> result (DESIGN §3).

Bad input never reaches Lightning: the composed config is validated by pydantic first and the
data is scanned before the trainer exists, so a mistake costs one ``config error:`` line (exit 2)
or one data error line (exit 1), never a traceback, unless ``HYDRA_FULL_ERROR=1`` asks for one.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import hydra
from omegaconf import DictConfig
from pydantic import BaseModel

from townlet.atomic import atomic_write_text
from townlet.cli import report_errors, run_hydra_app
from townlet.compose import CONF_DIR
from townlet.strategies.orchestrator import TrainingOrchestrator

log = logging.getLogger("townlet.train")

# num_workers=0 is deliberate (rollouts must come from current weights); Lightning's hint is noise,
# as are a torch-version deprecation inside Lightning and its advertising line.
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())


def write_result(path: Path, result: BaseModel) -> None:
    """result.json, written atomically so a reader never sees half a file."""
    atomic_write_text(
        path, json.dumps(result.model_dump(by_alias=True, exclude_none=True), indent=2) + "\n"
    )


def train(cfg: DictConfig) -> BaseModel:
    """One run of the configured strategy; writes its result DTO to ``result.json``."""
    orchestrator = TrainingOrchestrator(cfg)
    result = orchestrator.run()
    path = orchestrator.run_dir / "result.json"
    write_result(path, result)
    log.info("result written to %s", path)
    return result


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@report_errors
def _hydra_main(cfg: DictConfig) -> float | None:
    result = train(cfg)
    metric = cfg.get("optimized_metric")  # the result key sweepers maximise (ep_rew_mean)
    if not metric:
        return None
    value = result.model_dump(by_alias=True).get(metric)
    if not isinstance(value, int | float):
        log.warning("optimized_metric %r is not in the result: no value for sweepers", metric)
        return None
    return float(value)


def main() -> None:
    """Console entry: ``python -m townlet.train [overrides]``."""
    run_hydra_app(_hydra_main)


if __name__ == "__main__":
    main()
