"""A real run's TensorBoard dashboard and telemetry stream, read back by the operator tools.

One short training (2 epochs, rotating the NDJSON stream after every line) is shared by the module:
its ``tensorboard/`` folder must hold the "Townlet" custom-scalars layout and SB3-named scalars
stepped by agent-steps, and every telemetry tool must accept what it wrote.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2, metadata

from tests.helpers import compose_train
from townlet.telemetry.tags import LAYOUT_CATEGORY, NDJSON_TO_TB_TAG, NEGATED_TB_TAGS
from townlet.telemetry.writer import stream_files

pytestmark = pytest.mark.filterwarnings("ignore")

SB3_TAGS = {
    "train/policy_gradient_loss", "train/value_loss", "train/entropy_loss", "train/entropy",
    "train/approx_kl", "train/old_approx_kl", "train/clip_fraction", "train/explained_variance",
    "train/loss", "train/learning_rate", "train/grad_norm", "rollout/ep_rew_mean",
    "rollout/ep_len_mean", "time/fps",
}  # fmt: skip
GROUPS = {"Losses", "PPO health", "Rollout", "Conflicts", "Social life", "Living well (KPIs)"}
KPI_TAGS = {
    "kpi/self_sufficiency", "kpi/lateness_rate", "kpi/attendance", "kpi/tie_share",
    "kpi/conflict_escalation", "kpi/faints_per_agent_day", "kpi/conflicts_per_agent_day",
    "kpi/agent_days",
}  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from townlet.train import train

    folder = tmp_path_factory.mktemp("dashboard") / "run"
    folder.mkdir()
    overrides = [
        "trainer.max_epochs=2",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "callbacks.telemetry.max_log_entries=1",
        "++scenario.ticks_per_day=40",  # days end in every 128-tick rollout: KPIs are written
    ]
    train(compose_train(folder, overrides))
    return folder


@pytest.fixture(scope="module")
def events(run_dir: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    accumulator.Reload()
    return accumulator


@pytest.fixture(scope="module")
def records(run_dir: Path) -> list[dict[str, Any]]:
    lines = [
        line
        for path in stream_files(run_dir / "telemetry.ndjson")
        for line in path.read_text().splitlines()
    ]
    return [json.loads(line) for line in lines]


def test_the_stream_rotated(run_dir: Path, records: list[dict[str, Any]]) -> None:
    names = [p.name for p in stream_files(run_dir / "telemetry.ndjson")]
    assert names == ["telemetry.ndjson", "telemetry.ndjson.1"]
    assert [r["epoch"] for r in records] == [1.0, 2.0]


def test_layout_groups_the_dashboard(events: EventAccumulator) -> None:
    assert metadata.CONFIG_SUMMARY_TAG in events.Tags()["tensors"]
    assert metadata.CONFIG_SUMMARY_TAG in events.PluginTagToContent(metadata.PLUGIN_NAME)
    (event,) = events.Tensors(metadata.CONFIG_SUMMARY_TAG)
    layout = layout_pb2.Layout.FromString(event.tensor_proto.string_val[0])
    (category,) = layout.category
    assert category.title == LAYOUT_CATEGORY == "Townlet"
    assert {chart.title.split(":")[0] for chart in category.chart} == GROUPS
    written = set(events.Tags()["scalars"])
    charted: set[str] = set()
    for chart in category.chart:
        for regex in chart.multiline.tag:
            # The plugin selects tags with re.match; every entry must find a written scalar.
            matches = [tag for tag in written if re.match(regex, tag)]
            assert len(matches) == 1, (chart.title, regex)
            charted.update(matches)
    assert charted == written  # every PPO scalar of the run is on the dashboard


def test_scalars_use_sb3_names_with_agent_steps(
    events: EventAccumulator, records: list[dict[str, Any]]
) -> None:
    written = set(events.Tags()["scalars"])
    assert written >= SB3_TAGS
    assert {"town/queue_conflict_events", "town/shared_meal_events"} <= written
    assert written >= KPI_TAGS
    assert written <= set(NDJSON_TO_TB_TAG.values()) | set(NEGATED_TB_TAGS.values())
    steps = [r["agent_steps"] for r in records]
    assert steps == sorted(steps) and steps[0] > 0
    for key, tag in (("loss_total", "train/loss"), ("grad_norm", "train/grad_norm")):
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == steps
        assert [s.value for s in scalars] == pytest.approx([r[key] for r in records], rel=1e-6)
    entropy_loss = [s.value for s in events.Scalars("train/entropy_loss")]
    assert entropy_loss == pytest.approx([-r["loss_entropy"] for r in records], rel=1e-6)
    k1 = events.Scalars("kpi/self_sufficiency")
    assert [s.step for s in k1] == steps
    assert [s.value for s in k1] == pytest.approx([r["kpi.self_sufficiency"] for r in records])


def _call(tool: str, *args: str) -> tuple[int, str]:
    from importlib import import_module

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = import_module(f"townlet.telemetry.{tool}").main(list(args))
    return code, out.getvalue()


def test_the_tools_accept_a_real_run(run_dir: Path) -> None:
    files = [str(p) for p in stream_files(run_dir / "telemetry.ndjson")]
    code, out = _call("validate", *files)
    assert code == 0
    assert out.splitlines() == [f"{path}: 1 record(s) validated." for path in files]
    code, out = _call("summary", files[0], "--format", "json")
    summary = json.loads(out)
    assert (code, summary["files"], summary["epochs"], summary["latest_epoch"]) == (
        0,
        files,
        2,
        2.0,
    )
    assert summary["kpi"]["epoch"] == 2.0 and summary["kpi"]["agent_days"] > 0
    code, out = _call("watch", files[0], "--json")
    assert code == 0 and [json.loads(line)["epoch"] for line in out.splitlines()] == [1.0, 2.0]
    code, out = _call("watch", files[0])
    assert code == 0 and all(", K1=" in line and ", lateness=" in line for line in out.splitlines())


def test_plot_of_a_real_run(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    code, out = _call("plot", str(run_dir / "telemetry.ndjson"), "--out", str(tmp_path / "r.png"))
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'r.png'} (1600x900 px, 1 run(s))")
