"""NDJSON key -> TensorBoard tag table and the "Townlet" custom-scalars dashboard (DESIGN §7.3).

Tag families:
- ``train/``, ``rollout/``, ``time/``: the Stable-Baselines3 names, so SB3 dashboards and habits
  carry over. ``train/entropy`` is the positive entropy; ``train/entropy_loss`` is its negation,
  as in SB3 (see NEGATED_TB_TAGS).
- ``health/``: townlet's extra PPO health signals (maxima, advantage statistics, batch entropy,
  reward/advantage correlation). Kept out of ``train/`` so that family holds only SB3 names.
- ``town/<key>``: conflict and social counters, the NDJSON key verbatim (dots included).
- ``kpi/<name>``: the living-well KPIs (DESIGN §13), ``kpi.`` dropped from the key. Records
  carry them only when an agent-day completed in their rollout, so they are logged only then.
- ``bc/``: BC epoch metrics. BC record keys never occur in PPO records, so one table serves both.

Torch-free; the TensorBoard protos are imported only inside the functions that need them.
"""

from __future__ import annotations

import numbers
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from townlet.telemetry.schema import KPI_KEYS

_QUEUE_KEYS: tuple[str, ...] = ("queue_conflict_events", "queue_conflict_intensity_sum")

_RIVALRY_KEYS: tuple[str, ...] = (
    "conflict.rivalry_max_mean_avg", "conflict.rivalry_max_max_avg",
    "conflict.rivalry_avoid_count_mean_avg", "conflict.rivalry_avoid_count_max_avg",
)  # fmt: skip

_SOCIAL_EVENT_KEYS: tuple[str, ...] = (
    "shared_meal_events", "late_help_events", "shift_takeover_events",
    "chat_success_events", "chat_failure_events",
    "utility_outage_events", "shower_complete_events", "sleep_complete_events",
)  # fmt: skip

_HEALTH_KEYS: tuple[str, ...] = (
    "grad_norm_max", "kl_divergence_max", "clip_fraction_max", "clip_triggered_minibatches",
    "adv_mean", "adv_std", "adv_zero_std_batches", "adv_min_std",
    "batch_entropy_mean", "batch_entropy_std", "reward_advantage_corr",
)  # fmt: skip

NDJSON_TO_TB_TAG: dict[str, str] = {
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
    **{key: f"health/{key}" for key in _HEALTH_KEYS},
    **{key: f"town/{key}" for key in (*_QUEUE_KEYS, *_RIVALRY_KEYS)},
    **{key: f"town/{key}" for key in (*_SOCIAL_EVENT_KEYS, "chat_quality_mean")},
    **{key: f"kpi/{key.removeprefix('kpi.')}" for key in KPI_KEYS},
    **{key: f"bc/{key}" for key in ("loss", "accuracy", "prob_true_act", "entropy")},
    **{key: f"bc/{key}" for key in ("val_loss", "val_accuracy")},
}

# Second tags that carry the NEGATED value of a key: SB3 logs entropy_loss = -H.
NEGATED_TB_TAGS: dict[str, str] = {"loss_entropy": "train/entropy_loss"}

# The "Townlet" dashboard: (chart title, tags). Titles are prefixed with their group.
LAYOUT_CHARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Losses", ("train/loss", "train/policy_gradient_loss", "train/value_loss")),
    ("Losses: entropy", ("train/entropy", "train/entropy_loss")),
    ("PPO health: KL", ("train/approx_kl", "train/old_approx_kl", "health/kl_divergence_max")),
    ("PPO health: clip fraction", ("train/clip_fraction", "health/clip_fraction_max")),
    ("PPO health: grad norm", ("train/grad_norm", "health/grad_norm_max")),
    ("PPO health: explained variance", ("train/explained_variance",)),
    ("PPO health: advantages", ("health/adv_mean", "health/adv_std", "health/adv_min_std")),
    (
        "PPO health: minibatch counts",
        ("health/adv_zero_std_batches", "health/clip_triggered_minibatches"),
    ),
    ("PPO health: batch entropy", ("health/batch_entropy_mean", "health/batch_entropy_std")),
    ("PPO health: reward-advantage correlation", ("health/reward_advantage_corr",)),
    ("PPO health: learning rate", ("train/learning_rate",)),
    ("Rollout: episode reward", ("rollout/ep_rew_mean",)),
    ("Rollout: episode length", ("rollout/ep_len_mean",)),
    ("Rollout: fps", ("time/fps",)),
    ("Conflicts: queue", tuple(f"town/{k}" for k in _QUEUE_KEYS)),
    ("Conflicts: rivalry", tuple(f"town/{k}" for k in _RIVALRY_KEYS)),
    ("Social life: events", tuple(f"town/{k}" for k in _SOCIAL_EVENT_KEYS)),
    ("Social life: chat quality", ("town/chat_quality_mean",)),
    ("Living well (KPIs): K1 self-sufficiency", ("kpi/self_sufficiency",)),
    ("Living well (KPIs): K2 work", ("kpi/lateness_rate", "kpi/attendance")),
    ("Living well (KPIs): K3 ties", ("kpi/tie_share",)),
    ("Living well (KPIs): K4 conflict escalation", ("kpi/conflict_escalation",)),
    (
        "Living well (KPIs): per agent-day",
        ("kpi/faints_per_agent_day", "kpi/conflicts_per_agent_day"),
    ),
    ("Living well (KPIs): agent-days", ("kpi/agent_days",)),
)

LAYOUT_CATEGORY = "Townlet"


def tb_scalars(record: Mapping[str, object]) -> dict[str, float]:
    """TensorBoard tag -> value for every mapped key of ``record`` that holds a number."""
    scalars: dict[str, float] = {}
    for key, tag in NDJSON_TO_TB_TAG.items():
        value = record.get(key)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            scalars[tag] = float(value)
    for key, tag in NEGATED_TB_TAGS.items():
        if NDJSON_TO_TB_TAG[key] in scalars:
            scalars[tag] = -scalars[NDJSON_TO_TB_TAG[key]]
    return scalars


def exact_tag_regex(tag: str) -> str:
    """The custom-scalars plugin reads chart tags as regexes (re.match); pin each to one tag."""
    return f"^{re.escape(tag)}$"


def townlet_layout() -> Any:
    """The custom-scalars ``Layout`` proto: one "Townlet" category, one Multiline per chart."""
    from tensorboard.plugins.custom_scalar import layout_pb2

    charts = [
        layout_pb2.Chart(
            title=title,
            multiline=layout_pb2.MultilineChartContent(tag=[exact_tag_regex(t) for t in tags]),
        )
        for title, tags in LAYOUT_CHARTS
    ]
    return layout_pb2.Layout(category=[layout_pb2.Category(title=LAYOUT_CATEGORY, chart=charts)])


def write_layout(log_dir: str | os.PathLike[str]) -> None:
    """Write the dashboard into a new event file in ``log_dir`` (TensorBoard merges the files).

    Built from the raw protos because ``custom_scalar.summary.pb`` needs TensorFlow.
    """
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.plugins.custom_scalar import metadata
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    tensor = TensorProto(
        dtype="DT_STRING",
        string_val=[townlet_layout().SerializeToString()],
        tensor_shape=TensorShapeProto(),
    )
    summary_metadata = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME)
    )
    summary = Summary(
        value=[
            Summary.Value(tag=metadata.CONFIG_SUMMARY_TAG, tensor=tensor, metadata=summary_metadata)
        ]
    )
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(log_dir), filename_suffix=".townlet_layout")
    try:
        writer.add_event(Event(wall_time=time.time(), summary=summary))
    finally:
        writer.close()
