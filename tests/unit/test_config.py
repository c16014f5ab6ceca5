"""Config models: one-line errors from the Field bounds, and a reference that cannot drift."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from tests.unit.finite_fields import NON_FINITE, float_fields, refusal_kinds
from townlet.config import validate_train_config
from townlet.config.capture import CaptureConfig
from townlet.config.models import TrainConfig
from townlet.config.reference import DEFAULT_PATH, render
from townlet.errors import ConfigError

REPLAY = "townlet.data.replay.ReplayDataModule"
BASE: dict[str, Any] = {
    "strategy": {"name": "ppo"},
    "data": {"_target_": REPLAY},
    "device": {},
    "policy": {},
    "trainer": {},
    "paths": {"root_dir": ".", "output_dir": ".", "log_dir": "."},
}


def _error_for(section: str, **values: Any) -> str:
    if section == "data":
        values = {"_target_": REPLAY, **values}
    if section == "strategy":
        values = {"name": "ppo", **values}
    config = {**BASE, section: values}
    with pytest.raises(ConfigError) as caught:
        validate_train_config(config)
    return str(caught.value)


def test_defaults_validate() -> None:
    config = validate_train_config(BASE)
    assert config.strategy.clip_param == 0.2
    assert config.data.manifest is None


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("strategy", {"clip_param": 1.5}, "strategy.clip_param=1.5 — must be within [0, 1]"),
        ("strategy", {"learning_rate": 0}, "strategy.learning_rate=0 — must be > 0"),
        ("strategy", {"num_epochs": 65}, "strategy.num_epochs=65 — must be within [1, 64]"),
        ("strategy", {"gamma": -0.1}, "strategy.gamma=-0.1 — must be within [0, 1]"),
        (
            "strategy",
            {"surprise": 1},
            "strategy.surprise — unknown key (not a field of this section)",
        ),
        (
            "device",
            {"name": "tpu"},
            "device.name=tpu — must be 'auto', 'cpu', 'gpu', 'ddp' or 'ddp_sim'",
        ),
        ("data", {"batch_size": 0}, "data.batch_size=0 — must be >= 1"),
        ("data", {"manifest": "/nowhere.json"}, "data.manifest=/nowhere.json — file not found"),
        ("policy", {"encoder": "rnn"}, "policy.encoder=rnn — must be 'mlp' or 'conv'"),
        # The rollout length is data.ticks now; the old top-level block is no section at all.
        ("rollout", {"ticks": 64}, "rollout — unknown key (not a field of this section)"),
    ],
)
def test_bad_value_is_one_line(section: str, values: dict[str, Any], message: str) -> None:
    text = _error_for(section, **values)
    assert text == f"config error: {message}"
    assert "\n" not in text


def test_several_problems_report_the_first_and_a_count() -> None:
    text = _error_for("strategy", clip_param=2.0, gamma=3.0)
    assert text.endswith("(and 1 more problem(s))")
    assert text.startswith("config error: strategy.clip_param=2.0")


def test_config_reference_is_up_to_date() -> None:
    assert DEFAULT_PATH.read_text() == render(), "run: python -m townlet.config.reference"


def test_rollout_data_bounds_name_the_field() -> None:
    config = {**BASE, "data": {"_target_": "townlet.data.rollout.RolloutDataModule", "ticks": 0}}
    with pytest.raises(ConfigError, match=r"^config error: data\.ticks=0 — must be >= 1$"):
        validate_train_config(config)


def test_anneal_nested_ppo_bounds_name_the_override() -> None:
    stage = {"cycle": 0, "mode": "bc", "epochs": 1, "dataset": "capture"}
    strategy = {"name": "anneal", "schedule": [stage], "ppo": {"clip_param": 2.0}}
    with pytest.raises(ConfigError) as caught:
        validate_train_config({**BASE, "strategy": strategy})
    assert str(caught.value) == "config error: strategy.ppo.clip_param=2.0 — must be within [0, 1]"


CONFIG_FLOATS = float_fields(TrainConfig) + float_fields(CaptureConfig)


def test_the_config_tree_has_float_fields_to_check() -> None:
    names = {f"{model.__name__}.{name}" for model, name in CONFIG_FLOATS}
    assert {"PPOConfig.learning_rate", "TrainerConfig.limit_train_batches"} <= names
    assert len(names) >= 15


@pytest.mark.parametrize(
    ("model", "name"), CONFIG_FLOATS, ids=[f"{m.__name__}.{n}" for m, n in CONFIG_FLOATS]
)
def test_every_float_field_refuses_inf_and_nan(model: type[BaseModel], name: str) -> None:
    for value in NON_FINITE:
        assert refusal_kinds(model, name, value) == {"finite_number"}, value


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("strategy", {"learning_rate": float("inf")}, "strategy.learning_rate=inf"),
        ("strategy", {"gamma": float("nan")}, "strategy.gamma=nan"),
        ("strategy", {"entropy_coef": float("-inf")}, "strategy.entropy_coef=-inf"),
        # int | float: one problem, named as typed, not once per union member
        ("trainer", {"limit_train_batches": float("inf")}, "trainer.limit_train_batches=inf"),
        ("trainer", {"overfit_batches": float("nan")}, "trainer.overfit_batches=nan"),
    ],
)
def test_non_finite_value_is_one_line(section: str, values: dict[str, Any], message: str) -> None:
    assert _error_for(section, **values) == f"config error: {message} — must be a finite number"


def test_non_finite_nested_anneal_values_name_the_override() -> None:
    stage = {"cycle": 0, "mode": "ppo", "epochs": 1, "dataset": "rollout", "bc_weight": "inf"}
    strategy = {"name": "anneal", "schedule": [stage], "ppo": {"gamma": float("nan")}}
    with pytest.raises(ConfigError) as caught:
        validate_train_config({**BASE, "strategy": strategy})
    assert str(caught.value) == (
        "config error: strategy.schedule.0.bc_weight=inf — must be a finite number "
        "(and 1 more problem(s))"
    )
