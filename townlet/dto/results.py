"""The PPO result written as ``result.json`` by ``strategy=ppo`` (DESIGN §10). Torch-free."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import ConfigDict, Field

from townlet.dto.epoch_record import PPOEpochRecord

# The NDJSON keys of the record's declared fields (aliases for the dotted ones).
_RECORD_KEYS = frozenset(field.alias or name for name, field in PPOEpochRecord.model_fields.items())


class PPOTrainingResultDTO(PPOEpochRecord):
    """The last telemetry record of a PPO run, plus where the run lives.

    Every schema key is a checked field; the record's other keys (``approx_kl``, per-sample
    ``baseline_*`` aggregates, …) are kept under ``extra_metrics`` so nothing is lost while
    unknown top-level keys are still rejected.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(1, description="version of this result layout")
    result: Literal["ppo"] = Field("ppo", description="which strategy produced it")
    run_dir: str = Field(description="the Hydra run folder holding every artifact")
    extra_metrics: dict[str, float | str] = Field(
        default_factory=dict, description="record keys outside the telemetry schema"
    )

    @classmethod
    def from_record(cls, record: Mapping[str, object], run_dir: str) -> PPOTrainingResultDTO:
        """Split a telemetry record into declared fields and ``extra_metrics``."""
        fields = {k: v for k, v in record.items() if k in _RECORD_KEYS}
        extras = {k: v for k, v in record.items() if k not in _RECORD_KEYS}
        return cls.model_validate({**fields, "run_dir": run_dir, "extra_metrics": extras})
