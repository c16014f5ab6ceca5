"""KPI keys in rollout telemetry (DESIGN §13): counters -> KPIs, schema, validator and tags."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import torch
import yaml

from townlet.data.rollout import RolloutDataModule, rollout_event_metrics
from townlet.policy.conflict_aware import ConflictAwarePolicy
from townlet.sim import scenario_path
from townlet.sim.constants import KPI_EVENT_KEYS
from townlet.sim.kpi import kpi_metrics
from townlet.telemetry.schema import (
    ALWAYS_WRITTEN_KEYS,
    KPI_KEYS,
    REQUIRED_KEYS,
    TelemetryRecord,
    record_problems,
)
from townlet.telemetry.tags import LAYOUT_CHARTS, tb_scalars

# Ten agent-days, counted by hand: 7 self-sufficient, 6 holding a tie; 8 shift starts of which
# 2 late, 150 of 200 shift ticks on site; 3 faints; 12 queue conflicts, 3 of them escalating.
COUNTS = {
    "kpi_days": 10.0,
    "kpi_self_sufficient_days": 7.0,
    "kpi_tie_days": 6.0,
    "kpi_shift_starts": 8.0,
    "kpi_late_starts": 2.0,
    "kpi_shift_ticks": 200.0,
    "kpi_present_ticks": 150.0,
    "kpi_faints": 3.0,
    "kpi_conflicts": 12.0,
    "kpi_escalations": 3.0,
}
EXPECTED_KPIS = {
    "kpi.self_sufficiency": 0.7,
    "kpi.lateness_rate": 0.25,
    "kpi.attendance": 0.75,
    "kpi.tie_share": 0.6,
    "kpi.conflict_escalation": 0.25,
    "faints_per_agent_day": 0.3,
    "conflicts_per_agent_day": 1.2,
    "agent_days": 10.0,
}
OTHER_EVENTS = {"queue_conflict_events": 5.0, "shared_meal_events": 2.0, "chat_quality_mean": 0.5}


def test_counters_become_exact_kpis_and_leave_the_record() -> None:
    assert set(COUNTS) == set(KPI_EVENT_KEYS)
    metrics = rollout_event_metrics({**OTHER_EVENTS, **COUNTS})
    assert metrics == {**OTHER_EVENTS, **EXPECTED_KPIS}
    assert not any(key.startswith("kpi_") for key in metrics)


def test_no_completed_agent_day_means_no_kpi_keys() -> None:
    # Conflicts happened, but the day they belong to has not ended yet.
    open_day = {**dict.fromkeys(KPI_EVENT_KEYS, 0.0), "kpi_conflicts": 4.0}
    assert rollout_event_metrics({**OTHER_EVENTS, **open_day}) == OTHER_EVENTS


def test_rates_without_a_denominator_are_zero() -> None:
    quiet_days = {**dict.fromkeys(KPI_EVENT_KEYS, 0.0), "kpi_days": 3.0, "kpi_tie_days": 3.0}
    metrics = rollout_event_metrics(quiet_days)
    assert metrics["kpi.lateness_rate"] == 0.0 and metrics["kpi.conflict_escalation"] == 0.0
    assert metrics["kpi.tie_share"] == 1.0 and metrics["agent_days"] == 3.0


def test_schema_names_exactly_the_keys_kpi_metrics_computes() -> None:
    assert tuple(kpi_metrics(COUNTS)) == KPI_KEYS


def _record(**extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {key: 1.0 for key in REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS}
    values.update(data_mode="rollout", telemetry_version=1.1, agent_steps=96.0, **extra)
    built = TelemetryRecord.model_validate(values).to_json_dict()
    loaded: dict[str, Any] = json.loads(json.dumps(built))
    return loaded


def test_records_with_kpis_are_written_under_their_dotted_names_and_stay_valid() -> None:
    record = _record(**EXPECTED_KPIS)
    assert {key: record[key] for key in KPI_KEYS} == EXPECTED_KPIS
    assert record_problems(record) == []
    without = _record()
    assert not set(KPI_KEYS) & set(without) and record_problems(without) == []


def test_a_non_finite_kpi_is_refused() -> None:
    with pytest.raises(ValueError, match=r"kpi\.attendance must be a finite number"):
        _record(**{**EXPECTED_KPIS, "kpi.attendance": float("nan")})


def test_kpis_go_to_kpi_tags_only_when_present() -> None:
    scalars = tb_scalars(_record(**EXPECTED_KPIS))
    assert {tag: value for tag, value in scalars.items() if tag.startswith("kpi/")} == {
        "kpi/self_sufficiency": 0.7,
        "kpi/lateness_rate": 0.25,
        "kpi/attendance": 0.75,
        "kpi/tie_share": 0.6,
        "kpi/conflict_escalation": 0.25,
        "kpi/faints_per_agent_day": 0.3,
        "kpi/conflicts_per_agent_day": 1.2,
        "kpi/agent_days": 10.0,
    }
    assert not any(tag.startswith("kpi/") for tag in tb_scalars(_record()))


def test_living_well_group_charts_every_kpi_tag() -> None:
    charted = {
        tag
        for title, tags in LAYOUT_CHARTS
        if title.startswith("Living well (KPIs): ")
        for tag in tags
    }
    assert charted == {f"kpi/{key.removeprefix('kpi.')}" for key in KPI_KEYS}


def _datamodule(ticks: int) -> RolloutDataModule:
    """A real town (queue_conflict with 40-tick days) and policy; only the Trainer is a stand-in."""
    scenario = yaml.safe_load(scenario_path("queue_conflict").read_text())
    scenario["ticks_per_day"] = 40
    datamodule = RolloutDataModule(scenario, ticks=ticks, scenario_name="queue_conflict")
    torch.manual_seed(0)
    policy = ConflictAwarePolicy(datamodule.map_shape, datamodule.feature_dim, 12, hidden_dim=16)
    module = SimpleNamespace(policy=policy, device=torch.device("cpu"))
    datamodule.trainer = SimpleNamespace(global_rank=0, lightning_module=module)  # type: ignore[assignment]
    return datamodule


def test_epoch_metrics_of_real_collections() -> None:
    datamodule = _datamodule(ticks=24)
    datamodule.collect()  # ticks 1-24: the first day (ticks 1-40) is still open
    first = datamodule.epoch_metrics()
    assert not set(KPI_KEYS) & set(first)
    datamodule.collect()  # ticks 25-48: the first day of each of the 3 agents ends at tick 40
    second = datamodule.epoch_metrics()
    assert second["agent_days"] == 3.0
    assert set(KPI_KEYS) <= set(second)
    assert all(0.0 <= second[key] <= 1.0 for key in KPI_KEYS if key.startswith("kpi."))
    # Every agent's hygiene is still at or below the 0.3 floor after tick 1, so no first day is
    # self-sufficient; the town has no jobs, so no shift starts and no shift tick is missed.
    assert second["kpi.self_sufficiency"] == 0.0
    assert second["kpi.lateness_rate"] == 0.0 and second["kpi.attendance"] == 1.0
    assert second["faints_per_agent_day"] >= 0.0 and second["conflicts_per_agent_day"] >= 0.0
    for metrics in (first, second):
        assert not any(key.startswith("kpi_") for key in metrics)
        assert metrics["rollout_ticks"] == 24.0
