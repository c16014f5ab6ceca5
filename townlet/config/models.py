"""Pydantic models of the composed Hydra config (DESIGN §3, §4).

Every model forbids unknown keys, and every bound lives in a ``Field`` so the error formatter can
say "must be within [0, 1]" without a second copy of the limits. Field descriptions double as the
generated config reference. The strategy and data groups have their own modules; their models
are importable from here too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from townlet.config.data import (
    DataConfig,
    LiveTownData,
    MixedDataConfig,
    ReplayDataConfig,
    RolloutDataConfig,
)
from townlet.config.sections import ExistingFile, Section
from townlet.config.strategies import (
    AnnealConfig,
    AnnealStage,
    BCConfig,
    PPOConfig,
    StrategyConfig,
)


class DeviceConfig(Section):
    """Accelerator selection (DESIGN §4)."""

    name: Literal["auto", "cpu", "gpu", "ddp", "ddp_sim"] = Field(
        "auto", description="the device preset"
    )
    accelerator: Literal["auto", "cpu", "gpu", "cuda"] = Field(
        "auto", description="Lightning accelerator; auto = most-free CUDA device, else CPU"
    )
    devices: int | list[int] | str = Field(1, description="device count or indices")
    strategy: str = Field("auto", description="Lightning strategy")
    precision: Literal["32-true", "32", "16-mixed", "bf16-mixed", "64-true"] = Field(
        "32-true", description="Lightning precision"
    )
    torch_threads: int = Field(
        1,
        ge=0,
        description="torch intra-op threads in each process (every DDP rank and launcher "
        "worker); 0 = torch's default, one per core",
    )


class PolicyConfig(Section):
    """Network shape (DESIGN §6.3)."""

    name: Literal["conflict_aware"] = Field("conflict_aware", description="the network")
    hidden_dim: int = Field(256, ge=1, description="width of the encoders and trunk")
    encoder: Literal["mlp", "conv"] = Field(
        "mlp", description="map encoder: flatten + Linear, or a small CNN"
    )


class TrainerConfig(Section):
    """The Lightning Trainer options townlet exposes."""

    max_epochs: int = Field(5, ge=1, description="training cycles")
    log_every_n_steps: int = Field(1, ge=1, description="Lightning logging cadence")
    enable_progress_bar: bool = Field(True, description="Lightning's progress bar")
    enable_model_summary: bool = Field(True, description="print the network summary at start")
    deterministic: bool = Field(False, description="torch deterministic algorithms")
    num_nodes: int = Field(1, ge=1, description="machines under torchrun/SLURM")
    limit_train_batches: int | float | None = Field(
        None, gt=0, description="fraction or count of batches per epoch; null = all"
    )
    limit_val_batches: int | float | None = Field(
        None, ge=0, description="fraction or count of validation batches (BC); null = all"
    )
    overfit_batches: int | float = Field(
        0.0, ge=0, description="train (and validate) on this many batches only; 0 = off"
    )
    profiler: Literal["simple", "advanced"] | None = Field(None, description="Lightning profiler")
    max_time: str | None = Field(
        None, description='stop after this wall time, "DD:HH:MM:SS"; null = no limit'
    )


class TargetSpec(BaseModel):
    """A Hydra ``_target_`` entry; its other keys go to the target's constructor."""

    model_config = ConfigDict(extra="allow")

    target: str = Field(alias="_target_", description="import path of the class to build")


class TelemetryCallbackConfig(BaseModel):
    """The telemetry callback's options (DESIGN §7.2)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    target: str = Field(alias="_target_", description="the callback class")
    path: str = Field(description="the NDJSON stream")
    log_frequency: int = Field(1, ge=1, description="write epoch e when e % log_frequency == 0")
    max_log_entries: int = Field(0, ge=0, description="rotate after this many lines; 0 = never")


class EvaluateCallbackConfig(BaseModel):
    """The evaluation callback's options (townlet.render.eval_callback; DESIGN §13)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    target: str = Field(alias="_target_", description="the callback class")
    every_n_epochs: int = Field(0, ge=0, description="play after every n-th epoch; 0 = off")
    towns: int = Field(1, ge=1, description="towns played, one whole episode each")
    seed: int = Field(1_000_003, ge=0, description="town i is seeded seed + i; sampling too")
    greedy: bool = Field(False, description="most likely legal action instead of sampling")
    timeline: bool = Field(True, description="add town 0's timeline image to TensorBoard")


class CallbacksConfig(BaseModel):
    """Lightning callbacks by name; extra entries are any ``_target_`` callback."""

    model_config = ConfigDict(extra="allow")

    telemetry: TelemetryCallbackConfig | None = Field(
        None, description="writes telemetry.ndjson; null = no telemetry"
    )
    model_checkpoint: TargetSpec | None = Field(
        None, description="writes checkpoints/; null = no checkpoints"
    )
    progress_bar: TargetSpec | None = Field(None, description="Lightning's progress bar")
    evaluate: EvaluateCallbackConfig | None = Field(
        None, description="whole-episode KPIs and a timeline image while training; null = off"
    )

    @model_validator(mode="after")
    def _extras_are_targets(self) -> CallbacksConfig:
        for name, spec in (self.model_extra or {}).items():
            if not isinstance(spec, dict) or "_target_" not in spec:
                raise ValueError(f"callback '{name}' needs a _target_ entry")
        return self


class PathsConfig(Section):
    """Folders; every artifact path derives from output_dir."""

    root_dir: str = Field(description="project root, for relative data paths")
    output_dir: str = Field(description="this run's folder")
    log_dir: str = Field(description="where run folders are created")


class TrainConfig(Section):
    """The whole composed config of ``python -m townlet.train``."""

    task_name: str = Field("train", description="names the run in logs")
    seed: int = Field(0, ge=0, description="global seed")
    ckpt_path: ExistingFile | None = Field(None, description="checkpoint to resume from")
    optimized_metric: str | None = Field(
        "ep_rew_mean", description="result key returned to sweepers (ep_rew_mean: maximize)"
    )
    strategy: StrategyConfig = Field(discriminator="name")
    data: DataConfig = Field(discriminator="target")
    scenario: dict[str, Any] = Field(
        default_factory=dict, description="the world (scenario group; checked by townlet.sim)"
    )
    device: DeviceConfig = Field(description="accelerator selection (device group)")
    policy: PolicyConfig = Field(description="network shape (policy group)")
    trainer: TrainerConfig = Field(description="Lightning Trainer options")
    logger: dict[str, TargetSpec] = Field(
        default_factory=dict, description="Lightning loggers by name (logger group)"
    )
    callbacks: CallbacksConfig = Field(
        default_factory=CallbacksConfig, description="Lightning callbacks by name"
    )
    paths: PathsConfig = Field(description="folders (paths group)")


__all__ = [
    "AnnealConfig",
    "AnnealStage",
    "BCConfig",
    "CallbacksConfig",
    "DeviceConfig",
    "LiveTownData",
    "MixedDataConfig",
    "PPOConfig",
    "PathsConfig",
    "PolicyConfig",
    "ReplayDataConfig",
    "RolloutDataConfig",
    "Section",
    "TargetSpec",
    "TelemetryCallbackConfig",
    "TrainConfig",
    "TrainerConfig",
]
