"""``python -m townlet.evaluate`` end to end (DESIGN §13): result, table, checkpoints, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import compose_train, run_cli
from townlet.compose import compose_train_config
from townlet.evaluate import evaluate
from townlet.sim.constants import KPI_COUNTERS

KPI_KEYS = {
    "kpi.self_sufficiency",
    "kpi.lateness_rate",
    "kpi.attendance",
    "kpi.tie_share",
    "kpi.conflict_escalation",
    "faints_per_agent_day",
    "conflicts_per_agent_day",
}
RESULT_KEYS = KPI_KEYS | {
    "policy",
    "scenario",
    "towns",
    "seed",
    "greedy",
    "ticks",
    "episode_return",
    "episode_length",
    "days",
    "agent_days",
    "chats_per_agent_day",
    "targets",
    "references",
    "agents",
}
TOWN_AGENTS = ["ava", "bo", "cy", "di", "ed", "flo", "gil", "hal"]
HEADER = (
    "K1 self-sufficiency  lateness  attendance  tie share  escalation  faints/agent-day  "
    "conflicts/agent-day  return"
)


def read_result(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "evaluation.json").read_text())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (barely trained) town checkpoint: one epoch of 8 rollout ticks in one town."""
    from townlet.train import train

    run = tmp_path_factory.mktemp("train")
    overrides = [
        "scenario=town",
        "trainer.max_epochs=1",
        "data.ticks=8",
        "data.num_towns=1",
        "logger=none",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
    ]
    train(compose_train(run, overrides))
    return run / "checkpoints" / "last.ckpt"


def test_cli_writes_the_result_and_prints_the_comparison(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_cli(
        [f"hydra.run.dir={out}", "policy=never_work", "evaluate.towns=2"],
        tmp_path,
        "townlet.evaluate",
    )
    assert proc.returncode == 0, proc.stderr
    result = read_result(out)
    assert set(result) == RESULT_KEYS
    assert (result["policy"], result["scenario"], result["towns"]) == ("never_work", "town", 2)
    assert (result["seed"], result["ticks"], result["days"]) == (1000003, 1440, 3.0)
    assert result["agent_days"] == 2 * 8 * 3.0
    assert result["kpi.attendance"] == 0.0 and result["kpi.lateness_rate"] == 1.0
    assert set(result["targets"]) == KPI_KEYS - {"kpi.attendance", "conflicts_per_agent_day"}
    assert result["targets"]["kpi.lateness_rate"] is False
    assert list(result["references"]) == ["scripted", "random"]
    assert set(result["references"]["scripted"]) >= KPI_KEYS | {"episode_return"}
    assert list(result["agents"]) == TOWN_AGENTS
    for row in result["agents"].values():
        assert set(row) >= {"episode_return", "episode_length", "chat_actions", *KPI_COUNTERS}
        assert row["days"] == 2 * 3.0 and row["present_ticks"] == 0.0
    assert sum(row["episode_return"] for row in result["agents"].values()) / 8 == pytest.approx(
        result["episode_return"]
    )

    out_lines = proc.stdout.strip().splitlines()
    lines = out_lines[-5:]  # the table and the targets line close the output
    assert lines[0].startswith("policy") and lines[0].endswith(HEADER), proc.stdout
    assert [line.split()[0] for line in lines[1:4]] == ["never_work", "scripted", "random"]
    ours = lines[1].split()
    assert ours[3] == "0.000" and ours[2] == "1.000"  # attendance, lateness
    assert ours[-1] == f"{result['episode_return']:.2f}"
    assert lines[4].startswith("charter targets met by never_work: ")
    assert "lateness < 0.15: 1.000 MISSED" in lines[4]


def test_a_reference_policy_is_listed_once(tmp_path: Path) -> None:
    cfg = compose_train_config(
        tmp_path, ["evaluate.policy=random", "evaluate.towns=1"], config_name="evaluate"
    )
    result = evaluate(cfg)
    assert list(result["references"]) == ["scripted"]
    assert read_result(tmp_path) == json.loads(json.dumps(result))


def test_checkpoint_policy_is_evaluated(tmp_path: Path, checkpoint: Path) -> None:
    def run(folder: Path, *extra: str) -> dict[str, Any]:
        overrides = [f"evaluate.policy=ckpt:{checkpoint}", "evaluate.towns=1", *extra]
        return evaluate(compose_train_config(folder, overrides, config_name="evaluate"))

    sampled = run(tmp_path / "a")
    assert sampled["policy"] == f"ckpt:{checkpoint.resolve()}"
    assert sampled["greedy"] is False and sampled["agent_days"] > 0
    assert set(sampled) == RESULT_KEYS and list(sampled["agents"]) == TOWN_AGENTS
    assert read_result(tmp_path / "a") == json.loads(json.dumps(sampled))
    greedy = run(tmp_path / "b", "evaluate.greedy=true")
    assert greedy["greedy"] is True
    assert greedy["agents"] != sampled["agents"]


def test_checkpoint_for_other_observations_is_one_error_line(
    tmp_path: Path, checkpoint: Path
) -> None:
    out = tmp_path / "run"
    args = [
        f"hydra.run.dir={out}",
        f"policy=ckpt:{checkpoint}",
        "scenario.observation_variant=compact",
    ]
    proc = run_cli(args, tmp_path, "townlet.evaluate")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith(f"config error: policy=ckpt:{checkpoint} — ")
    assert "map (4, 11, 11)" in proc.stderr and "map (5, 7, 7)" in proc.stderr
    assert not (out / "evaluation.json").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("scenario=nope", "config error: scenario=nope — unknown option"),
        ("evaluate.towns=0", "config error: evaluate.towns=0 — must be >= 1"),
        ("policy=greedy", "config error: policy=greedy — must be one of scripted, chat, "),
        ("policy=ckpt:{tmp}/none.ckpt", "config error: policy=ckpt:{tmp}/none.ckpt — checkpoint"),
        ("policy=ckpt:{tmp}/junk.ckpt", "— not a townlet checkpoint"),
    ],
    ids=["unknown-scenario", "zero-towns", "unknown-policy", "missing-ckpt", "random-bytes-ckpt"],
)
def test_bad_input_is_one_config_error_line(tmp_path: Path, override: str, expected: str) -> None:
    (tmp_path / "junk.ckpt").write_bytes(bytes(range(256)) * 16)
    out = tmp_path / "run"
    proc = run_cli(
        [f"hydra.run.dir={out}", override.format(tmp=tmp_path)], tmp_path, "townlet.evaluate"
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert expected.format(tmp=tmp_path) in proc.stderr
    assert not (out / "evaluation.json").exists()


def test_scripted_controller_meets_the_charter_on_town(tmp_path: Path) -> None:
    """DESIGN §13: on `town`, the scripted reference meets K1-K4 with no faint."""
    out = tmp_path / "run"
    args = [f"hydra.run.dir={out}", "policy=scripted", "scenario=town"]
    proc = run_cli(args, tmp_path, "townlet.evaluate")
    assert proc.returncode == 0, proc.stderr
    result = read_result(out)
    assert result["towns"] == 16 and result["days"] >= 3
    kpis = {key: round(result[key], 3) for key in sorted(KPI_KEYS)}
    assert result["kpi.self_sufficiency"] >= 0.70, kpis
    assert result["kpi.lateness_rate"] < 0.15, kpis
    assert result["kpi.tie_share"] >= 0.60, kpis
    assert result["kpi.conflict_escalation"] < 0.20, kpis
    assert result["faints_per_agent_day"] == 0.0, kpis
    assert all(result["targets"].values())
    assert "charter targets met by scripted: 5 of 5" in proc.stdout
