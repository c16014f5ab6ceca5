"""TelemetryRecord and BCRecord: key sets, JSON shape (every number a float), finite values."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import ValidationError

from townlet.telemetry.schema import (
    ALWAYS_WRITTEN_KEYS,
    ANNEAL_KEYS,
    BASELINE_KEYS,
    HEALTH_KEYS,
    KPI_KEYS,
    REQUIRED_KEYS,
    REQUIRED_V10_KEYS,
    REQUIRED_V11_KEYS,
    TOWNLET_EXTRA_KEYS,
    BCRecord,
    TelemetryRecord,
)

DOTTED = (
    "conflict.rivalry_max_mean_avg",
    "conflict.rivalry_max_max_avg",
    "conflict.rivalry_avoid_count_mean_avg",
    "conflict.rivalry_avoid_count_max_avg",
)


def full_values() -> dict[str, object]:
    """Every required and always-written key, with ints where a producer would have counters."""
    values: dict[str, object] = {key: 2 for key in REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS}
    values.update(data_mode="rollout", telemetry_version=1.1, loss_total=0.5, lr=3e-4)
    return values


def test_key_sets_have_the_design_sizes_and_order() -> None:
    assert len(REQUIRED_V10_KEYS) == 23
    assert len(REQUIRED_V11_KEYS) == 12
    assert len(REQUIRED_KEYS) == 35 == len(set(REQUIRED_KEYS))
    assert REQUIRED_V10_KEYS[:3] == ("epoch", "updates", "transitions")
    assert REQUIRED_V10_KEYS[-4:] == DOTTED
    assert REQUIRED_V11_KEYS[0] == "epoch_duration_sec"
    assert REQUIRED_V11_KEYS[-1] == "queue_conflict_intensity_sum"
    assert set(HEALTH_KEYS) == {
        "adv_zero_std_batches",
        "adv_min_std",
        "clip_fraction_max",
        "clip_triggered_minibatches",
    }
    assert set(HEALTH_KEYS) <= set(REQUIRED_V10_KEYS)
    assert len(ALWAYS_WRITTEN_KEYS) == 9
    assert ALWAYS_WRITTEN_KEYS[0] == "shared_meal_events"
    assert ALWAYS_WRITTEN_KEYS[-1] == "sleep_complete_events"
    assert len(BASELINE_KEYS) == 5 and len(ANNEAL_KEYS) == 12 and len(TOWNLET_EXTRA_KEYS) == 10
    assert len(KPI_KEYS) == 8 == len(set(KPI_KEYS))


def test_model_fields_are_exactly_the_key_sets() -> None:
    """The model and the constants are one definition: no key drifts between them."""
    fields = TelemetryRecord.model_fields
    required = {f.alias or name for name, f in fields.items() if f.is_required()}
    optional = {f.alias or name for name, f in fields.items() if not f.is_required()}
    assert required == set(REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS) - {"telemetry_version"}
    assert optional == {"telemetry_version"} | set(
        BASELINE_KEYS + ANNEAL_KEYS + TOWNLET_EXTRA_KEYS + KPI_KEYS
    )


def test_json_dict_has_only_float_numbers_and_literal_dotted_keys() -> None:
    record = TelemetryRecord(
        **full_values(), seed=0, agent_steps=1024, run_id="r1", anneal_bc_passed=True
    )
    loaded = json.loads(json.dumps(record.to_json_dict()))
    for key, value in loaded.items():
        if key in {"data_mode", "run_id"}:
            assert type(value) is str
        else:
            assert type(value) is float, key
    for key in DOTTED:
        assert key in loaded
    assert "conflict" not in loaded  # no nesting
    assert loaded["epoch"] == 2.0 and loaded["seed"] == 0.0
    assert loaded["anneal_bc_passed"] == 1.0
    assert loaded["telemetry_version"] == 1.1
    assert "baseline_reward_mean" not in loaded  # unset optionals are not written
    assert list(loaded)[:3] == ["epoch", "updates", "transitions"]


def test_fields_populate_by_python_name_too() -> None:
    values = full_values()
    values["conflict_rivalry_max_mean_avg"] = values.pop("conflict.rivalry_max_mean_avg")
    assert TelemetryRecord(**values).to_json_dict()["conflict.rivalry_max_mean_avg"] == 2.0


def test_extra_keys_are_kept_and_floated() -> None:
    record = TelemetryRecord(**full_values(), approx_kl=1, note="text")
    out = record.to_json_dict()
    assert type(out["approx_kl"]) is float and out["note"] == "text"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("key", ["loss_total", "conflict.rivalry_max_max_avg", "approx_kl"])
def test_non_finite_values_are_rejected_naming_the_key(key: str, bad: float) -> None:
    with pytest.raises(ValidationError, match=rf"{key} must be a finite number"):
        TelemetryRecord(**{**full_values(), key: bad})


def test_strings_are_rejected_for_numeric_fields() -> None:
    with pytest.raises(ValidationError, match="grad_norm"):
        TelemetryRecord(**{**full_values(), "grad_norm": "1.5"})


def test_missing_required_key_is_rejected() -> None:
    values = full_values()
    del values["sleep_complete_events"]
    with pytest.raises(ValidationError, match="sleep_complete_events"):
        TelemetryRecord(**values)


def test_data_mode_is_one_of_three() -> None:
    for mode in ("replay", "rollout", "mixed"):
        assert TelemetryRecord(**{**full_values(), "data_mode": mode}).data_mode == mode
    with pytest.raises(ValidationError, match="data_mode"):
        TelemetryRecord(**{**full_values(), "data_mode": "live"})


def test_version_is_pinned_to_1_1() -> None:
    values = full_values()
    del values["telemetry_version"]
    assert TelemetryRecord(**values).to_json_dict()["telemetry_version"] == 1.1
    with pytest.raises(ValidationError, match="telemetry_version must be 1.1"):
        TelemetryRecord(**{**full_values(), "telemetry_version": 1.0})


def test_number_like_objects_become_floats() -> None:
    class Scalar:  # stands in for a 0-d tensor without importing torch
        def __float__(self) -> float:
            return 0.25

    record = TelemetryRecord(**{**full_values(), "kl_divergence": Scalar()})
    assert record.to_json_dict()["kl_divergence"] == 0.25


def test_bc_record_shape() -> None:
    record = BCRecord(
        epoch=3, accuracy=0.9, loss=0.3, val_accuracy=0.8, val_loss=0.4, prob_true_act=0.7,
        entropy=1.1,
    )  # fmt: skip
    loaded = json.loads(json.dumps(record.to_json_dict()))
    assert loaded["record"] == "bc" and loaded["telemetry_version"] == 1.1
    assert all(type(v) is float for k, v in loaded.items() if k != "record")
    assert set(loaded) == {
        "record", "epoch", "accuracy", "loss", "val_accuracy", "val_loss", "prob_true_act",
        "entropy", "telemetry_version",
    }  # fmt: skip
    with pytest.raises(ValidationError, match="val_loss must be a finite number"):
        BCRecord(**{**loaded, "val_loss": math.nan})
