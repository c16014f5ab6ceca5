"""Pydantic models of the composed Hydra config (DESIGN §3, §4).

Every model forbids unknown keys, and every bound lives in a ``Field`` so the error formatter can
say "must be within [0, 1]" without a second copy of the limits. Field descriptions double as the
generated config reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _existing_path(value: str | None) -> str | None:
    if value is not None and not Path(value).exists():
        raise ValueError("file not found")
    return value


class Section(BaseModel):
    """A config section: unknown keys are errors, values are checked on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PPOConfig(Section):
    """PPO hyperparameters (DESIGN §6.1)."""

    name: Literal["ppo"] = Field("ppo", description="the strategy")
    learning_rate: float = Field(3e-4, gt=0, description="Adam learning rate")
    lr_decay: bool = Field(False, description="decay the learning rate linearly to 0")
    clip_param: float = Field(0.2, ge=0, le=1, description="surrogate clip epsilon")
    value_loss_coef: float = Field(0.5, ge=0, description="weight of the value loss")
    entropy_coef: float = Field(0.01, ge=0, description="weight of the entropy bonus")
    num_epochs: int = Field(4, ge=1, le=64, description="passes over each dataset batch")
    mini_batch_size: int = Field(32, ge=1, description="upper bound on minibatch size")
    num_mini_batches: int = Field(4, ge=1, le=1024, description="minibatches per pass")
    gae_lambda: float = Field(0.95, ge=0, le=1, description="GAE lambda")
    gamma: float = Field(0.99, ge=0, le=1, description="discount factor")
    max_grad_norm: float = Field(0.5, ge=0, description="gradient clip norm; 0 disables clipping")
    value_clip: float = Field(0.2, ge=0, le=1, description="value clip range; 0 disables it")
    advantage_normalization: bool = Field(True, description="normalise advantages per batch")
    init_from: str | None = Field(
        None, description="checkpoint (BC or PPO) whose policy weights start this run"
    )

    @field_validator("init_from")
    @classmethod
    def _init_from_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError("file not found")
        return value


class BCConfig(Section):
    """Behaviour cloning of expert actions (DESIGN §10)."""

    name: Literal["bc"] = Field("bc", description="the strategy")
    learning_rate: float = Field(1e-3, gt=0, description="Adam learning rate")
    weight_decay: float = Field(0.0, ge=0, description="Adam weight decay")
    batch_size: int = Field(256, ge=1, description="transitions per minibatch")
    epochs: int = Field(20, ge=1, description="passes over the expert data")
    val_fraction: float = Field(0.2, ge=0, lt=1, description="share of transitions held out")
    capture_towns: int = Field(
        8, ge=1, description="towns recorded when no manifest is given (data=rollout)"
    )
    capture_ticks: int | None = Field(
        None, ge=1, description="ticks recorded per town; null = the scenario's episode"
    )


class AnnealStage(Section):
    """One stage of the anneal schedule."""

    cycle: int = Field(ge=0, description="stages run in cycle order")
    mode: Literal["bc", "ppo"] = Field(description="train by cloning or by PPO")
    epochs: int = Field(ge=1, description="epochs of this stage")
    dataset: str = Field(
        description="capture (scripted expert data), rollout (live town) or a manifest path"
    )
    bc_weight: float = Field(0.0, ge=0, description="PPO: weight of the BC loss, annealed to 0")


class AnnealConfig(Section):
    """BC warm start handed over to PPO behind guardrails (DESIGN §10)."""

    name: Literal["anneal"] = Field("anneal", description="the strategy")
    schedule: list[AnnealStage] = Field(min_length=1, description="the stages")
    anneal_accuracy_threshold: float = Field(
        0.9, ge=0, le=1, description="a BC stage passes at this accuracy"
    )
    loss_tolerance: float = Field(0.10, ge=0, description="PPO loss drift allowed vs baseline")
    queue_tolerance: float = Field(
        0.15, ge=0, le=1, description="PPO queue-conflict drop allowed vs baseline"
    )
    promotion_state: str | None = Field(None, description="promotion state file; null = none")
    ppo: PPOConfig = Field(default_factory=PPOConfig, description="PPO stage hyperparameters")
    bc: BCConfig = Field(default_factory=BCConfig, description="BC stage hyperparameters")


class ReplayDataConfig(Section):
    """Replay data from a manifest or capture folder (DESIGN §8)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    target: Literal["townlet.data.replay.ReplayDataModule"] = Field(
        "townlet.data.replay.ReplayDataModule", alias="_target_", description="the datamodule"
    )
    manifest: str | None = Field(
        None, description="manifest file or capture folder; null = embedded"
    )
    batch_size: int = Field(4, ge=1, description="samples per dataset batch")
    shuffle: bool = Field(True, description="reshuffle batches every epoch")
    seed: int = Field(0, ge=0, description="shuffle seed")
    drop_last: bool = Field(False, description="drop each shape bucket's short last batch")
    streaming: bool = Field(False, description="read samples when needed, not all at start")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")

    @field_validator("manifest")
    @classmethod
    def _manifest_exists(cls, value: str | None) -> str | None:
        return _existing_path(value)


class RolloutDataConfig(Section):
    """Fresh on-policy rollouts from the live town (DESIGN §5)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    target: Literal["townlet.data.rollout.RolloutDataModule"] = Field(
        "townlet.data.rollout.RolloutDataModule", alias="_target_", description="the datamodule"
    )
    ticks: int = Field(128, ge=1, description="ticks collected per epoch")
    num_towns: int | None = Field(None, ge=1, description="towns stepped together")
    seed: int = Field(0, ge=0, description="town i is seeded seed + rank * num_towns + i")


class MixedDataConfig(Section):
    """Live rollouts plus replay batches (DESIGN §11)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    target: Literal["townlet.data.mixed.MixedDataModule"] = Field(
        "townlet.data.mixed.MixedDataModule", alias="_target_", description="the datamodule"
    )
    manifest: str | None = Field(None, description="replay manifest; null = embedded")
    ticks: int = Field(128, ge=1, description="ticks collected per rollout")
    num_towns: int | None = Field(None, ge=1, description="towns stepped together")
    seed: int = Field(0, ge=0, description="towns and replay order")
    replay_fraction: float = Field(0.5, ge=0, lt=1, description="blend: replay share")
    schedule: Literal["blend", "alternate"] = Field("blend", description="blend or alternate")
    batch_size: int = Field(4, ge=1, description="replay samples per batch")

    @field_validator("manifest")
    @classmethod
    def _manifest_exists(cls, value: str | None) -> str | None:
        return _existing_path(value)


class MixedConfig(Section):
    """The mixed schedule (read by data=mixed)."""

    manifest: str | None = Field(None, description="replay manifest; null = embedded")
    replay_fraction: float = Field(0.5, ge=0, lt=1, description="blend: replay share")
    schedule: Literal["blend", "alternate"] = Field("blend", description="blend or alternate")
    batch_size: int = Field(4, ge=1, description="replay samples per batch")


class RolloutConfig(Section):
    """Size of each rollout collection (read by data=rollout and data=mixed)."""

    ticks: int = Field(128, ge=1, description="ticks of every town collected per epoch")
    num_towns: int | None = Field(None, ge=1, description="null = the scenario's num_towns")


class DeviceConfig(Section):
    """Accelerator selection (DESIGN §4)."""

    name: Literal["auto", "cpu", "gpu"] = Field("auto", description="the device preset")
    accelerator: Literal["auto", "cpu", "gpu", "cuda"] = Field(
        "auto", description="Lightning accelerator; auto = most-free CUDA device, else CPU"
    )
    devices: int | list[int] | str = Field(1, description="device count or indices")
    strategy: str = Field("auto", description="Lightning strategy")
    precision: Literal["32-true", "32", "16-mixed", "bf16-mixed", "64-true"] = Field(
        "32-true", description="Lightning precision"
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


class CallbacksConfig(BaseModel):
    """Lightning callbacks by name; extra entries are any ``_target_`` callback."""

    model_config = ConfigDict(extra="allow")

    telemetry: TelemetryCallbackConfig | None = None
    model_checkpoint: TargetSpec | None = None
    progress_bar: TargetSpec | None = None

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
    ckpt_path: str | None = Field(None, description="checkpoint to resume from")
    optimized_metric: str | None = Field(
        "ep_rew_mean", description="result key returned to sweepers (ep_rew_mean: maximize)"
    )
    strategy: PPOConfig | BCConfig | AnnealConfig = Field(discriminator="name")
    data: ReplayDataConfig | RolloutDataConfig | MixedDataConfig = Field(discriminator="target")
    scenario: dict[str, Any] = Field(
        default_factory=dict, description="the world (scenario group; checked by townlet.sim)"
    )
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    mixed: MixedConfig = Field(default_factory=MixedConfig)
    device: DeviceConfig
    policy: PolicyConfig
    trainer: TrainerConfig
    logger: dict[str, TargetSpec] = Field(
        default_factory=dict, description="Lightning loggers by name (logger group)"
    )
    callbacks: CallbacksConfig = Field(
        default_factory=CallbacksConfig, description="Lightning callbacks by name"
    )
    paths: PathsConfig

    @field_validator("ckpt_path")
    @classmethod
    def _ckpt_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError("file not found")
        return value
