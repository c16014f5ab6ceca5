"""The ``capture:`` section of ``conf/capture.yaml`` and its one-line errors (DESIGN §11)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from townlet.config.sections import Section
from townlet.config.validate import format_validation_error
from townlet.errors import ConfigError
from townlet.policy.action_source import CKPT_PREFIX, SCRIPTED


class CaptureConfig(Section):
    """What a capture records: how long, how many towns, from which seed, with which policy."""

    ticks: int | None = Field(
        None, ge=1, description="ticks recorded per town; null = the scenario's ticks"
    )
    policy: str = Field(SCRIPTED, description="'scripted' or 'ckpt:PATH' (a training checkpoint)")
    num_towns: int = Field(1, ge=1, description="towns stepped together; one sample per agent each")
    seed: int | None = Field(None, ge=0, description="town i is seeded seed + i; null = scenario's")

    @field_validator("policy")
    @classmethod
    def _policy_spec(cls, value: str) -> str:
        if value == SCRIPTED:
            return value
        if not value.startswith(CKPT_PREFIX) or not value[len(CKPT_PREFIX) :].strip():
            raise ValueError(f"must be '{SCRIPTED}' or '{CKPT_PREFIX}PATH'")
        if not Path(value[len(CKPT_PREFIX) :]).is_file():
            raise ValueError("checkpoint file not found")
        return value

    @property
    def checkpoint(self) -> Path | None:
        """The checkpoint file of a ``ckpt:PATH`` policy, else None."""
        return Path(self.policy[len(CKPT_PREFIX) :]) if self.policy != SCRIPTED else None


class ProcessThreads(Section):
    """The ``device:`` node of the scenario apps (capture, evaluate): torch's threads only."""

    torch_threads: int = Field(
        1, ge=0, description="torch intra-op threads for a ckpt: policy; 0 = one per core"
    )


class _ThreadsRoot(BaseModel):
    model_config = ConfigDict(extra="ignore")

    device: ProcessThreads = Field(default_factory=ProcessThreads, description="torch threads")


def validate_process_threads(config: Mapping[str, Any]) -> int:
    """``device.torch_threads`` of a scenario app's resolved config, or one ``ConfigError``."""
    try:
        return _ThreadsRoot.model_validate(dict(config)).device.torch_threads
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, _ThreadsRoot)) from None


class _CaptureRoot(BaseModel):
    """Wraps the section so error lines name ``capture.<key>``; other groups are checked apart."""

    model_config = ConfigDict(extra="ignore")

    capture: CaptureConfig = Field(default_factory=CaptureConfig, description="the capture section")


def validate_capture_config(config: Mapping[str, Any]) -> CaptureConfig:
    """The validated ``capture`` section of a resolved config, or one ``ConfigError`` line."""
    try:
        return _CaptureRoot.model_validate(dict(config)).capture
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, _CaptureRoot)) from None
