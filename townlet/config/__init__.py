"""Pydantic models of the composed config and their one-line validation errors (torch-free)."""

from townlet.config.models import (
    DeviceConfig,
    PolicyConfig,
    PPOConfig,
    ReplayDataConfig,
    TrainConfig,
    TrainerConfig,
)
from townlet.config.validate import format_validation_error, validate_train_config

__all__ = [
    "DeviceConfig",
    "PPOConfig",
    "PolicyConfig",
    "ReplayDataConfig",
    "TrainConfig",
    "TrainerConfig",
    "format_validation_error",
    "validate_train_config",
]
