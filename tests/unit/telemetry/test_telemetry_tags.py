"""TensorBoard tag table, tb_scalars and the "Townlet" custom-scalars layout round trip."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2, metadata

from townlet.telemetry.schema import ALWAYS_WRITTEN_KEYS, KPI_KEYS, REQUIRED_KEYS, TelemetryRecord
from townlet.telemetry.tags import (
    LAYOUT_CHARTS,
    NDJSON_TO_TB_TAG,
    NEGATED_TB_TAGS,
    tb_scalars,
    townlet_layout,
    write_layout,
)

SB3 = {
    "loss_policy": "train/policy_gradient_loss",
    "loss_value": "train/value_loss",
    "loss_entropy": "train/entropy",
    "kl_divergence": "train/old_approx_kl",
    "approx_kl": "train/approx_kl",
    "clip_fraction": "train/clip_fraction",
    "explained_variance": "train/explained_variance",
    "loss_total": "train/loss",
    "lr": "train/learning_rate",
    "grad_norm": "train/grad_norm",
    "ep_rew_mean": "rollout/ep_rew_mean",
    "ep_len_mean": "rollout/ep_len_mean",
    "fps": "time/fps",
}
TOWN = (
    "queue_conflict_events", "queue_conflict_intensity_sum",
    "conflict.rivalry_max_mean_avg", "conflict.rivalry_max_max_avg",
    "conflict.rivalry_avoid_count_mean_avg", "conflict.rivalry_avoid_count_max_avg",
    *ALWAYS_WRITTEN_KEYS,
)  # fmt: skip
HEALTH = (
    "grad_norm_max", "kl_divergence_max", "clip_fraction_max", "clip_triggered_minibatches",
    "adv_mean", "adv_std", "adv_zero_std_batches", "adv_min_std",
    "batch_entropy_mean", "batch_entropy_std", "reward_advantage_corr",
)  # fmt: skip
KPI = {
    "kpi.self_sufficiency": "kpi/self_sufficiency",
    "kpi.lateness_rate": "kpi/lateness_rate",
    "kpi.attendance": "kpi/attendance",
    "kpi.tie_share": "kpi/tie_share",
    "kpi.conflict_escalation": "kpi/conflict_escalation",
    "faints_per_agent_day": "kpi/faints_per_agent_day",
    "conflicts_per_agent_day": "kpi/conflicts_per_agent_day",
    "agent_days": "kpi/agent_days",
}
BC = ("loss", "accuracy", "prob_true_act", "entropy", "val_loss", "val_accuracy")
ALL_TAGS = set(NDJSON_TO_TB_TAG.values()) | set(NEGATED_TB_TAGS.values())


def test_table_is_exactly_sb3_town_health_kpi_and_bc() -> None:
    assert set(KPI) == set(KPI_KEYS)
    expected = dict(SB3) | KPI
    expected |= {key: f"town/{key}" for key in TOWN}
    expected |= {key: f"health/{key}" for key in HEALTH}
    expected |= {key: f"bc/{key}" for key in BC}
    assert expected == NDJSON_TO_TB_TAG
    assert NEGATED_TB_TAGS == {"loss_entropy": "train/entropy_loss"}
    assert len(ALL_TAGS) == len(NDJSON_TO_TB_TAG) + len(NEGATED_TB_TAGS)  # no tag reused
    assert not set(BC) & set(REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS + KPI_KEYS)  # one table, both


def test_tb_scalars_of_a_built_record() -> None:
    values: dict[str, object] = {key: 1.0 for key in REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS}
    values.update(data_mode="replay", telemetry_version=1.1, loss_entropy=1.25, fps=30)
    record = json.loads(json.dumps(TelemetryRecord(**values).to_json_dict()))
    scalars = tb_scalars(record)
    assert scalars["train/entropy"] == 1.25 and scalars["train/entropy_loss"] == -1.25
    assert scalars["time/fps"] == 30.0
    assert "rollout/ep_rew_mean" not in scalars and "train/approx_kl" not in scalars
    assert all(type(v) is float for v in scalars.values())
    mapped = {k for k in record if k in NDJSON_TO_TB_TAG}
    assert set(scalars) == {NDJSON_TO_TB_TAG[k] for k in mapped} | {"train/entropy_loss"}


def test_tb_scalars_skips_non_numbers_and_unmapped_keys() -> None:
    record = {"loss_total": "high", "grad_norm": True, "epoch": 3.0, "data_mode": "mixed"}
    assert tb_scalars(record) == {}
    assert tb_scalars({"record": "bc", "epoch": 1.0, "loss": 0.5, "accuracy": 1}) == {
        "bc/loss": 0.5,
        "bc/accuracy": 1.0,
    }


def test_tb_scalars_on_upstream_soak_record(upstream_samples: Path) -> None:
    path = upstream_samples / "telemetry" / "ppo_soak_queue_conflict.jsonl"
    record = json.loads(path.read_text(encoding="utf-8").splitlines()[1])
    scalars = tb_scalars(record)
    assert scalars["town/queue_conflict_events"] == record["queue_conflict_events"]
    assert scalars["train/entropy_loss"] == -record["loss_entropy"]
    assert "town/shared_meal_events" not in scalars  # the soak log has no social counters


def test_layout_groups_and_exact_tags() -> None:
    layout = townlet_layout()
    assert [c.title for c in layout.category] == ["Townlet"]
    charts = layout.category[0].chart
    groups = {chart.title.split(":")[0] for chart in charts}
    assert groups == {
        "Losses", "PPO health", "Rollout", "Conflicts", "Social life", "Living well (KPIs)"
    }  # fmt: skip
    shown: set[str] = set()
    for chart, (title, tags) in zip(charts, LAYOUT_CHARTS, strict=True):
        assert chart.title == title and chart.HasField("multiline")
        for regex, tag in zip(chart.multiline.tag, tags, strict=True):
            # The plugin matches with re.match: each entry must select its tag and no other.
            assert [t for t in ALL_TAGS if re.match(regex, t)] == [tag]
            shown.add(tag)
    wanted = {"train/loss", "train/old_approx_kl", "train/clip_fraction", "train/grad_norm"}
    wanted |= {"train/explained_variance", "rollout/ep_rew_mean", "rollout/ep_len_mean"}
    wanted |= {"time/fps", "train/entropy_loss"} | {f"town/{key}" for key in TOWN}
    wanted |= set(KPI.values())
    assert wanted <= shown <= ALL_TAGS


def test_write_layout_round_trips_through_event_accumulator(tmp_path: Path) -> None:
    log_dir = tmp_path / "tb"
    write_layout(log_dir)
    accumulator = EventAccumulator(str(log_dir))
    accumulator.Reload()
    assert metadata.CONFIG_SUMMARY_TAG in accumulator.Tags()["tensors"]
    assert metadata.CONFIG_SUMMARY_TAG in accumulator.PluginTagToContent(metadata.PLUGIN_NAME)
    (event,) = accumulator.Tensors(metadata.CONFIG_SUMMARY_TAG)
    assert event.wall_time > 0
    layout = layout_pb2.Layout.FromString(event.tensor_proto.string_val[0])
    assert layout == townlet_layout()
