"""The BC result written as ``result.json`` by ``strategy=bc`` (DESIGN §10). Torch-free."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BCTrainingResultDTO(BaseModel):
    """Final metrics of a behaviour-cloning run, plus where the run lives."""

    # allow_inf_nan=False: result.json must stay strict JSON, and a NaN metric means training
    # broke, which the trainer reports as a TrainingError instead of a result.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    schema_version: Literal[1] = Field(1, description="version of this result layout")
    mode: Literal["bc"] = Field("bc", description="which strategy produced it")
    manifest: str = Field(description="the replay or capture manifest the expert data came from")
    accuracy: float = Field(ge=0, le=1, description="training accuracy on expert actions")
    loss: float = Field(ge=0, description="training cross-entropy (nats)")
    val_accuracy: float = Field(ge=0, le=1, description="accuracy on the validation split")
    val_loss: float = Field(ge=0, description="cross-entropy on the validation split (nats)")
    learning_rate: float = Field(gt=0, description="optimiser learning rate")
    batch_size: int = Field(ge=1, description="samples per optimiser step")
    epochs: int = Field(ge=1, description="training epochs run")
    device: str = Field(description="where training ran, e.g. 'cpu' or 'cuda:0'")
    duration_sec: float = Field(ge=0, description="wall-clock training time in seconds")
    run_dir: str = Field(description="the Hydra run folder holding every artifact")
