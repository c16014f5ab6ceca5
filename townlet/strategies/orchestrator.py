"""``TrainingOrchestrator``: the Python API over every strategy (DESIGN §10).

    from townlet.compose import compose_train_config
    from townlet.strategies.orchestrator import TrainingOrchestrator

    result = TrainingOrchestrator(compose_train_config("outputs/nb", ["strategy=bc"])).run()

A façade over the recipes of :mod:`townlet.train`, so notebooks run exactly what the command
line runs. The config is validated once, in the constructor; each ``run_*`` seeds Lightning the
same way and returns its pydantic result DTO (``result.json`` is written by ``train`` only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig
from pydantic import BaseModel

from townlet.compose import resolved_config
from townlet.config import TrainConfig, validate_train_config
from townlet.dto import AnnealSummaryDTO, BCTrainingResultDTO, PPOTrainingResultDTO
from townlet.train import run_strategy, train_anneal, train_bc, train_ppo


class TrainingOrchestrator:
    """Runs PPO, BC or anneal from one composed config.

    ``extra_callbacks`` join the callbacks group's in every fit (every anneal stage included).
    """

    def __init__(
        self, cfg: DictConfig | Mapping[str, Any], extra_callbacks: Sequence[L.Callback] = ()
    ) -> None:
        self.config: TrainConfig = validate_train_config(resolved_config(cfg))
        self.run_dir = Path(self.config.paths.output_dir)
        self.extra_callbacks = list(extra_callbacks)

    def run(self) -> BaseModel:
        """The strategy the config names."""
        return run_strategy(self.config, self.extra_callbacks)

    def run_ppo(self) -> PPOTrainingResultDTO:
        """PPO on the configured data; writes telemetry, checkpoints and TensorBoard."""
        return train_ppo(self.config, self.extra_callbacks)

    def run_bc(self) -> BCTrainingResultDTO:
        """Behaviour cloning of the expert data, with a validation split."""
        return train_bc(self.config, self.extra_callbacks)

    def run_anneal(self) -> AnnealSummaryDTO:
        """BC then PPO stages on one network, behind the guardrails."""
        return train_anneal(self.config, self.extra_callbacks)
