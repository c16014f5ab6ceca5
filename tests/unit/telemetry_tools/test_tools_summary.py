"""``summary``: stable JSON keys, numbers checked by hand, markdown table, rotated streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from telemetry_tool_helpers import call, record, write_log

from townlet.telemetry.summary_values import EXTREME_KEYS, LATEST_KEYS
from townlet.telemetry.writer import NDJSONWriter

TOP_KEYS = [
    "log", "files", "records_total", "epochs", "skipped_lines", "latest_epoch",
    "telemetry_version", "data_mode", "cycle_id", "log_stream_offset", "latest", "extremes",
    "anneal", "kpi", "baseline_drift",
]  # fmt: skip
ANNEAL_KEYS = [
    "stage", "dataset", "cycle", "bc_accuracy", "bc_threshold", "loss_baseline", "queue_baseline",
    "intensity_baseline", "bc_passed", "loss_flag", "queue_flag", "intensity_flag",
]  # fmt: skip


def _log(tmp_path: Path) -> Path:
    """Four epochs whose extremes are easy to check by hand."""
    rows = [  # loss_total, kl_divergence, grad_norm, queue events, shared meals, chat quality
        (1.0, 0.02, 1.5, 3.0, 1.0, 0.4),
        (3.0, 0.01, 0.5, 7.0, 0.0, 0.9),
        (0.5, 0.05, 2.5, 0.0, 2.0, 0.1),
        (2.0, 0.03, 1.0, 4.0, 5.0, 0.6),
    ]
    records = [
        record(
            i,
            loss_total=loss,
            kl_divergence=kl,
            grad_norm=grad,
            queue_conflict_events=queue,
            shared_meal_events=meals,
            chat_quality_mean=chat,
            data_mode="rollout" if i % 2 == 0 else "replay",
            cycle_id=float(i // 2),
            baseline_reward_mean=-0.1,
            baseline_sample_count=3.0,
            baseline_reward_sum=0.0,
        )
        for i, (loss, kl, grad, queue, meals, chat) in enumerate(rows, start=1)
    ]
    return write_log(tmp_path / "telemetry.ndjson", records)


def _json(*args: Any) -> dict[str, Any]:
    result = call("summary", *args, "--format", "json")
    assert result.code == 0, result.err
    payload: dict[str, Any] = json.loads(result.out)
    return payload


def test_json_keys_are_stable(tmp_path: Path, upstream_samples: Path) -> None:
    ours = _json(_log(tmp_path))
    theirs = _json(upstream_samples / "telemetry" / "ppo_epoch_log_v1_0.jsonl")
    for payload in (ours, theirs):
        assert list(payload) == TOP_KEYS
        assert list(payload["latest"]) == list(LATEST_KEYS)
        assert list(payload["extremes"]) == list(EXTREME_KEYS)
        assert all(list(v) == ["min", "max"] for v in payload["extremes"].values())
    # Values the v1.0 log lacks are null, never missing keys.
    assert theirs["data_mode"] is None and theirs["latest"]["shared_meal_events"] is None
    assert theirs["extremes"]["queue_conflict_events"] == {"min": None, "max": None}
    assert theirs["anneal"] is None and theirs["baseline_drift"] is None
    assert ours["kpi"] is None and theirs["kpi"] is None


def test_numbers_by_hand(tmp_path: Path) -> None:
    log = _log(tmp_path)
    s = _json(log)
    assert (s["log"], s["files"]) == (str(log), [str(log)])
    assert (s["records_total"], s["epochs"], s["skipped_lines"]) == (4, 4, 0)
    assert (s["latest_epoch"], s["data_mode"], s["cycle_id"]) == (4.0, "rollout", 2.0)
    assert (s["telemetry_version"], s["log_stream_offset"]) == (1.1, 4.0)
    assert s["latest"]["loss_total"] == 2.0 and s["latest"]["agent_steps"] == 1024.0
    ext = s["extremes"]
    assert ext["loss_total"] == {"min": 0.5, "max": 3.0}
    assert ext["kl_divergence"] == {"min": 0.01, "max": 0.05}
    assert ext["grad_norm"] == {"min": 0.5, "max": 2.5}
    assert ext["queue_conflict_events"] == {"min": 0.0, "max": 7.0}
    assert ext["shared_meal_events"] == {"min": 0.0, "max": 5.0}
    assert ext["chat_quality_mean"] == {"min": 0.1, "max": 0.9}


def test_last_n_limits_the_analysis(tmp_path: Path) -> None:
    s = _json(_log(tmp_path), "--last", "2")
    assert (s["records_total"], s["epochs"], s["latest_epoch"]) == (4, 2, 4.0)
    assert s["extremes"]["loss_total"] == {"min": 0.5, "max": 2.0}
    assert s["extremes"]["queue_conflict_events"] == {"min": 0.0, "max": 4.0}
    assert _json(_log(tmp_path), "--last", "10")["epochs"] == 4


def test_baseline_drift_by_hand(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        json.dumps(
            {
                "baseline_reward_mean": -0.2,
                "baseline_sample_count": 2.0,
                "baseline_reward_sum": 0.0,
                "baseline_log_prob_mean": -1.0,  # the log has none: left out
                "loss_total": 9.0,  # not a baseline_* key: not compared
            }
        )
    )
    drift = _json(_log(tmp_path), "--baseline", baseline)["baseline_drift"]
    assert list(drift) == ["baseline_sample_count", "baseline_reward_mean", "baseline_reward_sum"]
    assert drift["baseline_sample_count"] == {
        "baseline": 2.0,
        "latest": 3.0,
        "delta": 1.0,
        "percent": 50.0,
    }
    mean = drift["baseline_reward_mean"]  # -0.1 - -0.2 = +0.1, i.e. +50% of |-0.2|
    assert mean["delta"] == pytest.approx(0.1) and mean["percent"] == pytest.approx(50.0)
    assert drift["baseline_reward_sum"] == {
        "baseline": 0.0,
        "latest": 0.0,
        "delta": 0.0,
        "percent": 0.0,
    }
    text = call("summary", _log(tmp_path), "--baseline", baseline).out_lines
    assert "  baseline_sample_count: delta=+1.000000 (+50.00%)" in text


def test_anneal_status_of_the_latest_anneal_record(tmp_path: Path) -> None:
    anneal = {
        "anneal_cycle": 2.0, "anneal_stage": "ppo", "anneal_dataset": "queue_conflict",
        "anneal_bc_accuracy": 0.93, "anneal_bc_threshold": 0.9, "anneal_bc_passed": 1.0,
        "anneal_loss_baseline": 1.5, "anneal_queue_baseline": 10.0,
        "anneal_intensity_baseline": 20.0, "anneal_loss_flag": 1.0, "anneal_queue_flag": 0.0,
        "anneal_intensity_flag": 0.0,
    }  # fmt: skip
    earlier = {**anneal, "anneal_cycle": 1.0, "anneal_bc_accuracy": 0.91}
    log = write_log(tmp_path / "t.ndjson", [record(1, **earlier), record(2, **anneal), record(3)])
    status = _json(log)["anneal"]
    assert list(status) == ANNEAL_KEYS
    assert status == {
        "stage": "ppo", "dataset": "queue_conflict", "cycle": 2.0, "bc_accuracy": 0.93,
        "bc_threshold": 0.9, "loss_baseline": 1.5, "queue_baseline": 10.0,
        "intensity_baseline": 20.0, "bc_passed": True, "loss_flag": True, "queue_flag": False,
        "intensity_flag": False,
    }  # fmt: skip
    text = call("summary", log).out_lines
    assert any(
        line.startswith("Anneal status: stage=ppo, dataset=queue_conflict, cycle=2.000")
        and "loss_flag=true" in line
        for line in text
    )


KPIS = {
    "kpi.self_sufficiency": 0.75, "kpi.lateness_rate": 0.125, "kpi.attendance": 0.9,
    "kpi.tie_share": 0.5, "kpi.conflict_escalation": 0.25, "faints_per_agent_day": 0.0,
    "conflicts_per_agent_day": 1.5, "agent_days": 8.0,
}  # fmt: skip


def test_kpis_of_the_latest_record_that_has_them(tmp_path: Path) -> None:
    earlier = {**KPIS, "kpi.self_sufficiency": 0.25}
    records = [record(1, **earlier), record(2, **KPIS), record(3)]  # epoch 3: no day ended
    log = write_log(tmp_path / "t.ndjson", records)
    assert _json(log)["kpi"] == {"epoch": 2.0, **KPIS}
    assert _json(log, "--last", "1")["kpi"] is None
    assert (
        "Living well (KPIs, epoch 2): kpi.self_sufficiency=0.750, kpi.lateness_rate=0.125, "
        "kpi.attendance=0.900, kpi.tie_share=0.500, kpi.conflict_escalation=0.250, "
        "faints_per_agent_day=0.000, conflicts_per_agent_day=1.500, agent_days=8.000"
    ) in call("summary", log).out_lines
    markdown = call("summary", log, "--format", "markdown").out_lines
    assert any(line.startswith("- Living well (KPIs, epoch 2): kpi.self") for line in markdown)
    quiet = call("summary", write_log(tmp_path / "q.ndjson", [record(1)])).out
    assert "Living well" not in quiet


def test_markdown_renders_a_table(tmp_path: Path) -> None:
    result = call("summary", _log(tmp_path), "--format", "markdown")
    assert result.code == 0
    lines = result.out_lines
    assert lines[0] == "### PPO telemetry summary"
    start = lines.index("| Metric | Latest | Min | Max |")
    assert lines[start + 1] == "| --- | ---: | ---: | ---: |"
    rows = [line.split("|")[1:-1] for line in lines[start + 2 : start + 2 + len(LATEST_KEYS)]]
    assert [cells[0].strip() for cells in rows] == list(LATEST_KEYS)
    assert rows[0] == [" loss_total ", " 2.000000 ", " 0.500000 ", " 3.000000 "]
    assert all(len(cells) == 4 for cells in rows)


def test_text_report(tmp_path: Path, upstream_samples: Path) -> None:
    lines = call("summary", _log(tmp_path)).out_lines
    assert lines[1] == "Epochs analysed: 4 (latest epoch 4, mode=rollout, cycle_id=2, offset=4)"
    assert "  loss_total                     min=      0.500000  max=      3.000000" in lines
    soak = call("summary", upstream_samples / "telemetry" / "ppo_soak_queue_conflict.jsonl")
    assert soak.code == 0
    assert (
        soak.out_lines[1]
        == "Epochs analysed: 12 (latest epoch 1, mode=rollout, cycle_id=5, offset=12)"
    )
    assert "Queue conflicts: queue_conflict_events=32.00, queue_conflict_intensity_sum=52.75" in (
        soak.out_lines
    )


def test_a_rotated_stream_is_summarised_whole(tmp_path: Path) -> None:
    log = tmp_path / "telemetry.ndjson"
    with NDJSONWriter(log, max_log_entries=2, fsync=False) as writer:
        for epoch in range(1, 6):
            writer.write(record(epoch, loss_total=float(epoch)))
    s = _json(log)
    assert s["files"] == [str(log), f"{log}.1", f"{log}.2"]
    assert (s["records_total"], s["latest_epoch"]) == (5, 5.0)
    assert s["extremes"]["loss_total"] == {"min": 1.0, "max": 5.0}


def test_bad_lines_are_skipped_with_a_warning(tmp_path: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1), "[]", record(3)])
    result = call("summary", log, "--format", "json")
    assert result.code == 0
    assert json.loads(result.out)["skipped_lines"] == 1
    assert result.err_lines == [f"warning: {log}:2: not a JSON object: got an array (skipped)"]


@pytest.mark.parametrize(
    ("content", "message"), [("", "no telemetry records"), (None, "no such file")]
)
def test_nothing_to_summarise_is_one_line_exit_1(
    tmp_path: Path, content: str | None, message: str
) -> None:
    log = tmp_path / "t.ndjson"
    if content is not None:
        log.write_text(content)
    result = call("summary", log)
    assert result.code == 1 and result.out == ""
    assert result.err_lines == [f"summary: {log}: {message}"]


@pytest.mark.parametrize("args", [["--last", "0"], ["--format", "html"], ["--last", "x"]])
def test_usage_errors(tmp_path: Path, args: list[str]) -> None:
    assert call("summary", write_log(tmp_path / "t", [record(1)]), *args).code == 2
