"""Pydantic models of the ``strategy`` group: PPO, BC and anneal (DESIGN §6.1, §10)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townlet.config.sections import ExistingFile, Section


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
    init_from: ExistingFile | None = Field(
        None, description="checkpoint (BC or PPO) whose policy weights start this run"
    )


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
    replay_batch_size: int = Field(
        4,
        ge=1,
        description="samples per batch of PPO stages on replay data (capture or a manifest) "
        "when the data group has no batch_size (data=rollout)",
    )
    ppo: PPOConfig = Field(default_factory=PPOConfig, description="PPO stage hyperparameters")
    bc: BCConfig = Field(default_factory=BCConfig, description="BC stage hyperparameters")


StrategyConfig = PPOConfig | BCConfig | AnnealConfig
