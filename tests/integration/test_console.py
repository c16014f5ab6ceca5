"""What ``python -m townlet.train`` prints: one bar over the run and telemetry's numbers per epoch.

Each test runs the CLI as a user does and reads its stdout, split at tqdm's carriage returns.
The per-epoch lines must show the very numbers of the run's telemetry stream, formatted as
:func:`townlet.telemetry.console.format_value` prints them (checked against literals below).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from tests.helpers import read_records, run_cli
from townlet.telemetry.console import BC_LINE_KEYS, PPO_LINE_KEYS, format_value

QUIET = ("trainer.enable_model_summary=false", "logger=none")
# A tqdm bar as tqdm draws it ("ppo:  50%|█████     | 1/2 [...]"); Lightning's one included.
BAR = re.compile(r"\d+%\|")
# Agent-days of 40 ticks end inside every 128-tick collection, so the records carry kpi.* keys.
KPI_DAYS = "++scenario.ticks_per_day=40"


def _train(tmp_path: Path, *overrides: str) -> tuple[Path, str]:
    """Run the CLI into tmp_path/run; the run folder and its stdout."""
    run = tmp_path / "run"
    proc = run_cli([f"hydra.run.dir={run}", *QUIET, *overrides], cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return run, proc.stdout


def _lines(stdout: str, kind: str) -> dict[int, dict[str, str]]:
    """epoch -> {key: printed value} of the ``[kind] epoch N  key=value …`` lines."""
    found: dict[int, dict[str, str]] = {}
    for line in re.split(r"[\r\n]+", stdout):
        match = re.match(rf"\[{kind}\] epoch (\d+)  (.*)$", line.strip())
        if match:
            pairs = (field.split("=", 1) for field in match.group(2).split("  "))
            found[int(match.group(1))] = dict(pairs)
    return found


def _assert_line_shows(printed: dict[str, str], record: dict[str, Any], keys: list[str]) -> None:
    """Every key is printed, as format_value writes it and within 4 significant digits."""
    assert keys and set(keys) <= set(printed), (keys, printed)
    for key in keys:
        assert printed[key] == format_value(record[key]), key
        assert math.isclose(float(printed[key]), record[key], rel_tol=1e-3, abs_tol=1e-12), key


def test_format_value_is_compact() -> None:
    assert format_value(-15.61112896973888) == "-15.61"
    assert format_value(0.0088654984583249) == "0.008865"
    assert format_value(1920.0) == "1920"
    assert format_value(123456.7) == "1.235e+05"
    assert format_value(float("nan")) == "nan"


def test_ppo_lines_show_the_telemetry_records(tmp_path: Path) -> None:
    run, stdout = _train(
        tmp_path,
        "trainer.max_epochs=3",
        KPI_DAYS,
        "callbacks.progress_bar.print_every_n_epochs=2",
    )
    records = {int(r["epoch"]): r for r in read_records(run / "telemetry.ndjson")}
    lines = _lines(stdout, "ppo")
    # Every 2nd epoch, and the last one whatever the cadence.
    assert sorted(lines) == [2, 3], stdout[-3000:]
    for epoch, printed in lines.items():
        record = records[epoch]
        kpis = [key for key in record if key.startswith("kpi.")]
        assert kpis, record  # the scenario's agent-days ended: the line must show KPIs
        keys = [key for key in PPO_LINE_KEYS if key in record] + kpis
        assert {"ep_rew_mean", "fps", "loss_total", "approx_kl", "clip_fraction"} <= set(keys)
        _assert_line_shows(printed, record, keys)
    # One bar over the run's 3 epochs, not Lightning's "Epoch 0: 1/1" per epoch; its postfix
    # carries the last record's numbers.
    assert "3/3 [" in stdout and "Epoch 0" not in stdout
    last = records[3]
    assert f"ep_rew_mean={format_value(last['ep_rew_mean'])}, " in stdout
    assert f"loss_total={format_value(last['loss_total'])}]" in stdout


def test_bc_lines_show_the_accuracy(tmp_path: Path) -> None:
    run, stdout = _train(
        tmp_path,
        "strategy=bc",
        "scenario=kitchen_breakfast",
        "strategy.epochs=2",
        "strategy.capture_towns=2",
    )
    records = {int(r["epoch"]): r for r in read_records(run / "telemetry_bc.ndjson")}
    lines = _lines(stdout, "bc")
    assert sorted(lines) == [1, 2], stdout[-3000:]
    for epoch, printed in lines.items():
        _assert_line_shows(printed, records[epoch], list(BC_LINE_KEYS))
    assert "2/2 [" in stdout and "Validation" not in stdout  # no second bar per epoch
    assert f"accuracy={format_value(records[2]['accuracy'])}" in stdout


def test_no_progress_bar_prints_nothing(tmp_path: Path) -> None:
    run, stdout = _train(tmp_path, "trainer.max_epochs=2", "trainer.enable_progress_bar=false")
    assert len(read_records(run / "telemetry.ndjson")) == 2  # it trained and logged
    assert not BAR.search(stdout) and "[ppo]" not in stdout and "ep_rew_mean" not in stdout


def test_multirun_jobs_print_no_bar(tmp_path: Path) -> None:
    """Two jobs of the basic launcher: quiet, and with multirun_lines lines but still no bar."""
    sweep = tmp_path / "multirun"
    proc = run_cli(
        [
            "-m",
            f"hydra.sweep.dir={sweep}",
            *QUIET,
            "trainer.max_epochs=2",
            "callbacks.progress_bar.multirun_lines=false,true",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    quiet, chatty = proc.stdout.split("#1 : ")
    assert "#0 : " in quiet and "result written" in quiet  # the first job ran in this part
    assert not BAR.search(proc.stdout)
    assert not _lines(quiet, "ppo")
    records = {int(r["epoch"]): r for r in read_records(sweep / "1" / "telemetry.ndjson")}
    printed = _lines(chatty, "ppo")
    assert sorted(printed) == [1, 2]
    _assert_line_shows(printed[2], records[2], ["loss_total", "fps"])
