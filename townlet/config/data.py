"""Pydantic models of the ``data`` group: one per ``conf/data/*.yaml`` (DESIGN §4, §5, §8, §11).

Each model's ``_target_`` names the LightningDataModule it configures, and the composed config
picks the model by it. The yaml files hold the defaults users edit; the rollout length in
particular is declared only in ``conf/data/rollout.yaml`` (``data=mixed`` inherits it), so these
models require it rather than repeat it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from townlet.config.sections import ExistingPath, Section


class DataSection(Section):
    """A data group option: the datamodule's ``_target_`` and its constructor arguments."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    target: str = Field(alias="_target_", description="the datamodule")


class ReplayDataConfig(DataSection):
    """Replay data from a manifest or capture folder (DESIGN §8)."""

    target: Literal["townlet.data.replay.ReplayDataModule"] = Field(
        "townlet.data.replay.ReplayDataModule", alias="_target_", description="the datamodule"
    )
    manifest: ExistingPath | None = Field(
        None, description="manifest file or capture folder; null = embedded"
    )
    batch_size: int = Field(4, ge=1, description="samples per dataset batch")
    shuffle: bool = Field(True, description="reshuffle batches every epoch")
    seed: int = Field(0, ge=0, description="shuffle seed")
    drop_last: bool = Field(False, description="drop each shape bucket's short last batch")
    streaming: bool = Field(False, description="read samples when needed, not all at start")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    recompute_log_probs: bool = Field(
        True,
        description="PPO re-evaluates old_log_probs and value_preds with the current policy before"
        " each batch's updates (data recorded by another policy); false only for data recorded by"
        " this very policy",
    )


class LiveTownData(DataSection):
    """The fields of data that steps live towns: the size of every rollout collection."""

    ticks: int = Field(
        ge=1,
        description="ticks of every town collected per rollout (default: conf/data/rollout.yaml)",
    )
    num_towns: int | None = Field(
        None, ge=1, description="towns stepped together; null = the scenario's num_towns"
    )
    seed: int = Field(
        0,
        ge=0,
        description="town i is seeded seed + rank * num_towns + i (mixed: replay order too)",
    )


class RolloutDataConfig(LiveTownData):
    """Fresh on-policy rollouts from the live town (DESIGN §5)."""

    target: Literal["townlet.data.rollout.RolloutDataModule"] = Field(
        "townlet.data.rollout.RolloutDataModule", alias="_target_", description="the datamodule"
    )


class MixedDataConfig(LiveTownData):
    """Live rollouts plus replay batches (DESIGN §11): data=rollout's fields and the replay's."""

    target: Literal["townlet.data.mixed.MixedDataModule"] = Field(
        "townlet.data.mixed.MixedDataModule", alias="_target_", description="the datamodule"
    )
    manifest: ExistingPath | None = Field(None, description="replay manifest; null = embedded")
    replay_fraction: float = Field(0.5, ge=0, lt=1, description="blend: replay share")
    schedule: Literal["blend", "alternate"] = Field("blend", description="blend or alternate")
    batch_size: int = Field(4, ge=1, description="replay samples per batch")
    recompute_log_probs: bool = Field(
        True,
        description="PPO re-evaluates the replay batches' old_log_probs and value_preds with the"
        " current policy (rollouts are on-policy already); false only for replay data recorded by"
        " this very policy",
    )


DataConfig = ReplayDataConfig | RolloutDataConfig | MixedDataConfig
