"""``watch``: record lines, JSON lines, every threshold, and reading a rotated stream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from telemetry_tool_helpers import call, record, write_log

from townlet.telemetry.writer import NDJSONWriter

ANNEAL = {
    "anneal_cycle": 1.0,
    "anneal_stage": "ppo",
    "anneal_dataset": "queue_conflict",
    "anneal_bc_accuracy": 0.95,
    "anneal_bc_threshold": 0.9,
    "anneal_bc_passed": 1.0,
    "anneal_loss_baseline": 0.5,
    "anneal_queue_baseline": 10.0,
    "anneal_intensity_baseline": 20.0,
    "anneal_loss_flag": 0.0,
    "anneal_queue_flag": 0.0,
    "anneal_intensity_flag": 0.0,
}


def test_one_line_per_record(tmp_path: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1), record(2, data_mode="rollout")])
    result = call("watch", log)
    assert result.code == 0 and result.err == ""
    assert result.out_lines[1] == (
        "Epoch 2 (rollout): loss_total=0.500000, kl_divergence=0.500000, grad_norm=0.500000, "
        "entropy_mean=0.500000, clip_fraction=0.5000, reward_adv_corr=0.500000, "
        "queue_events=0.5, queue_intensity_sum=0.50, shared_meals=0.5, late_help=0.5, "
        "shift_takeovers=0.5, chat_success=0.5, chat_failure=0.5, chat_quality_mean=0.500, "
        "offset=2"
    )
    assert len(result.out_lines) == 2


def test_kpis_join_the_line_when_the_record_has_them(tmp_path: Path) -> None:
    kpis = {
        "kpi.self_sufficiency": 0.75, "kpi.lateness_rate": 0.125, "kpi.attendance": 0.9,
        "kpi.tie_share": 0.5, "kpi.conflict_escalation": 0.25, "faints_per_agent_day": 0.0,
        "conflicts_per_agent_day": 1.5, "agent_days": 8.0,
    }  # fmt: skip
    log = write_log(tmp_path / "t.ndjson", [record(1, data_mode="rollout", **kpis), record(2)])
    first, second = call("watch", log).out_lines
    assert first.endswith(", offset=1, K1=0.750, lateness=0.125")
    assert second.endswith(", offset=2")
    with_kpis, without = (json.loads(line) for line in call("watch", log, "--json").out_lines)
    assert {key: with_kpis[key] for key in kpis} == kpis
    assert not set(kpis) & set(without)


def test_json_lines_keep_the_ndjson_names(tmp_path: Path, upstream_samples: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1, **ANNEAL)])
    (line,) = call("watch", log, "--json").out_lines
    payload = json.loads(line)
    assert payload["epoch"] == 1.0 and payload["data_mode"] == "replay"
    assert payload["queue_conflict_events"] == 0.5 and payload["log_stream_offset"] == 1.0
    assert {k: payload[k] for k in ANNEAL} == ANNEAL
    v10 = call("watch", upstream_samples / "telemetry" / "ppo_epoch_log_v1_0.jsonl", "--json")
    payload = json.loads(v10.out)
    assert payload["data_mode"] is None and payload["shared_meal_events"] is None
    assert payload["loss_total"] == pytest.approx(0.6454111859202385)


def test_upstream_soak_is_watched_whole(upstream_samples: Path) -> None:
    result = call("watch", upstream_samples / "telemetry" / "ppo_soak_queue_conflict.jsonl")
    assert result.code == 0 and len(result.out_lines) == 12
    assert result.out_lines[1].startswith("Epoch 1 (rollout): loss_total=1.242929, ")
    assert "shared_meals=n/a" in result.out_lines[1]


# (option, key, alerting value, quiet value, verb, rollout only)
RULES = [
    ("--kl-threshold", "kl_divergence", 0.9, 0.5, "exceeds", False),
    ("--loss-threshold", "loss_total", 2.0, 0.5, "exceeds", False),
    ("--grad-threshold", "grad_norm", 9.0, 0.5, "exceeds", False),
    ("--entropy-threshold", "batch_entropy_mean", 0.1, 0.5, "below", False),
    ("--reward-corr-threshold", "reward_advantage_corr", -0.5, 0.5, "below", False),
    ("--queue-events-min", "queue_conflict_events", 0.0, 0.5, "below", True),
    ("--queue-intensity-min", "queue_conflict_intensity_sum", 0.0, 0.5, "below", True),
    ("--shared-meal-min", "shared_meal_events", 0.0, 0.5, "below", True),
    ("--late-help-min", "late_help_events", 0.0, 0.5, "below", True),
    ("--chat-quality-min", "chat_quality_mean", 0.25, 0.5, "below", True),
    ("--shift-takeover-max", "shift_takeover_events", 3.0, 0.5, "exceeds", True),
]


@pytest.mark.parametrize(("option", "key", "bad", "quiet", "verb", "rollout_only"), RULES)
def test_each_threshold(
    tmp_path: Path, option: str, key: str, bad: float, quiet: float, verb: str, rollout_only: bool
) -> None:
    records = [
        record(1, data_mode="rollout", **{key: quiet}),  # equal to the threshold: no alert
        record(2, data_mode="rollout", **{key: bad}),
        record(3, data_mode="replay", **{key: bad}),
        record(4, data_mode="rollout", **{key: quiet}),
    ]
    log = write_log(tmp_path / "t.ndjson", records)
    result = call("watch", log, option, "0.5")
    alerts = [f"epoch 2: {key} {bad:g} {verb} 0.5"]
    if not rollout_only:
        alerts.append(f"epoch 3: {key} {bad:g} {verb} 0.5")
    assert result.err_lines == alerts
    assert result.code == 1
    assert len(result.out_lines) == 4  # an alert never stops the watch


def test_anneal_defaults_apply_only_to_anneal_records(tmp_path: Path) -> None:
    records = [
        record(1, loss_total=0.6),  # no anneal keys: the anneal checks do not apply
        record(2, **{**ANNEAL, "anneal_bc_accuracy": 0.85}),
        record(3, loss_total=0.56, **ANNEAL),  # 12% above the 0.5 baseline
        record(4, loss_total=0.54, **ANNEAL),  # 8%: within the default 10%
    ]
    log = write_log(tmp_path / "t.ndjson", records)
    result = call("watch", log)
    assert result.code == 1
    assert result.err_lines == [
        "epoch 2: anneal_bc_accuracy 0.85 below 0.9",
        "epoch 3: anneal_loss_drift 0.12 exceeds 0.1 (loss_total 0.56 vs anneal_loss_baseline 0.5)",
    ]
    relaxed = call("watch", log, "--anneal-bc-min", "0.8", "--anneal-loss-max", "0.2")
    assert relaxed.code == 0 and relaxed.err == ""
    assert "anneal_stage=ppo, anneal_bc_accuracy=0.850" in relaxed.out_lines[1]


def test_anneal_records_without_a_bc_stage_are_quiet(tmp_path: Path) -> None:
    no_bc = {k: v for k, v in ANNEAL.items() if not k.startswith("anneal_bc")}
    log = write_log(tmp_path / "t.ndjson", [record(1, loss_total=0.52, **no_bc)])
    result = call("watch", log)
    assert (result.code, result.err) == (0, "")


def test_anneal_queue_minimums_apply_to_anneal_rollout_records(tmp_path: Path) -> None:
    anneal_rollout = {**ANNEAL, "data_mode": "rollout"}
    records = [
        record(1, data_mode="rollout", queue_conflict_events=1.0),
        record(2, queue_conflict_events=1.0, **ANNEAL),
        record(3, queue_conflict_events=1.0, **anneal_rollout),
    ]
    log = write_log(tmp_path / "t.ndjson", records)
    result = call("watch", log, "--anneal-queue-min", "5", "--anneal-intensity-min", "0.1")
    assert result.err_lines == ["epoch 3: queue_conflict_events 1 below 5"]


def test_a_missing_key_warns_once_and_is_not_an_alert(upstream_samples: Path) -> None:
    soak = upstream_samples / "telemetry" / "ppo_soak_queue_conflict.jsonl"
    result = call("watch", soak, "--shared-meal-min", "1", "--queue-events-min", "1")
    assert result.code == 0
    assert result.err_lines == [
        f"warning: {soak}:2: shared_meal_events missing or not a number; "
        "--shared-meal-min not checked"
    ]


def test_bad_lines_are_reported_and_the_rest_watched(tmp_path: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1), "{broken", record(3)])
    result = call("watch", log)
    assert result.code == 1
    assert len(result.out_lines) == 2
    assert result.err_lines == [
        f"{log}:2: not a JSON object: invalid JSON (Expecting property name enclosed in "
        "double quotes at column 2)"
    ]


def test_a_rotated_stream_is_read_in_write_order(tmp_path: Path) -> None:
    log = tmp_path / "telemetry.ndjson"
    with NDJSONWriter(log, max_log_entries=2, fsync=False) as writer:
        for epoch in range(1, 8):
            writer.write(record(epoch))
    assert (tmp_path / "telemetry.ndjson.3").exists()
    result = call("watch", log, "--json")
    assert [json.loads(line)["epoch"] for line in result.out_lines] == [
        float(e) for e in range(1, 8)
    ]


def test_a_last_line_without_newline_is_read(tmp_path: Path) -> None:
    log = tmp_path / "t.ndjson"
    log.write_text(json.dumps(record(1)) + "\n" + json.dumps(record(2)))
    assert len(call("watch", log).out_lines) == 2


@pytest.mark.parametrize(
    "args",
    [
        ["--idle-timeout", "1"],
        ["--follow", "--interval", "0"],
        ["--kl-threshold", "nan"],
        ["--kl-threshold", "high"],
    ],
)
def test_usage_errors(tmp_path: Path, args: list[Any]) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1)])
    assert call("watch", log, *args).code == 2


def test_missing_file_without_follow(tmp_path: Path) -> None:
    result = call("watch", tmp_path / "nope.ndjson")
    assert result.code == 1
    assert result.err_lines == [f"watch: {tmp_path / 'nope.ndjson'}: no such file"]
