"""Result DTOs written to ``result.json`` (DESIGN §10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import ConfigDict, Field

from townlet.telemetry.schema import TelemetryRecord


def _declared_keys(model: type[TelemetryRecord]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


class PPOTrainingResultDTO(TelemetryRecord):
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
        """Split a telemetry record into schema fields and ``extra_metrics``."""
        declared = _declared_keys(TelemetryRecord)
        fields = {k: v for k, v in record.items() if k in declared}
        extras = {k: v for k, v in record.items() if k not in declared}
        return cls.model_validate({**fields, "run_dir": run_dir, "extra_metrics": extras})
