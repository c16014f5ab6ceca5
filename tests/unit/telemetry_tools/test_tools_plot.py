"""``plot``: a PNG of the asked size comparing runs, and a one-line hint without matplotlib."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from telemetry_tool_helpers import REPO, SAMPLE_NAMES, call, record, write_log

from townlet.telemetry.plot import read_run, unique_labels

pytest.importorskip("matplotlib")


def _runs(tmp_path: Path) -> list[Path]:
    """Three townlet run folders, each with its telemetry.ndjson."""
    logs = []
    for name, scale in (("lr3e-4", 1.0), ("lr1e-4", 1.5), ("lr1e-3", 0.5)):
        records = [
            record(e, loss_total=scale / e, kl_divergence=0.01 * e * scale, data_mode="rollout")
            for e in range(1, 6)
        ]
        (tmp_path / name).mkdir()
        logs.append(write_log(tmp_path / name / "telemetry.ndjson", records))
    return logs


def test_three_run_comparison_png_has_the_asked_size(tmp_path: Path) -> None:
    import matplotlib.image

    out = tmp_path / "compare.png"
    result = call("plot", *_runs(tmp_path), "--out", out, "--width", "900", "--height", "600")
    assert result.code == 0, result.err
    assert result.out_lines == [f"wrote {out} (900x600 px, 3 run(s))"]
    assert out.stat().st_size > 10_000
    pixels = matplotlib.image.imread(out)
    assert pixels.shape[:2] == (600, 900)
    assert pixels[..., :3].std() > 0.05  # something was drawn, not a blank canvas


def test_upstream_logs_plot_against_steps(upstream_samples: Path, tmp_path: Path) -> None:
    import matplotlib.image

    logs = [upstream_samples / "telemetry" / name for name in SAMPLE_NAMES]
    out = tmp_path / "upstream.png"
    assert call("plot", *logs, "--out", out).code == 0
    assert matplotlib.image.imread(out).shape[:2] == (900, 1600)
    soak = read_run(logs[2], "soak")
    assert soak.x_name == "steps"  # the old logs have no agent_steps
    assert soak.series["queue_conflict_events"][0][:2] == [180.0, 300.0]
    assert "shared_meal_events" not in soak.series


def test_x_axis_falls_back_to_epoch(tmp_path: Path) -> None:
    rows = [
        {k: v for k, v in record(e).items() if k not in ("agent_steps", "steps")} for e in (1, 2)
    ]
    run = read_run(write_log(tmp_path / "t.ndjson", rows), "t")
    assert run.x_name == "epoch" and run.series["loss_total"] == ([1.0, 2.0], [0.5, 0.5])
    with_agent_steps = read_run(write_log(tmp_path / "u.ndjson", [record(1), record(2)]), "u")
    assert with_agent_steps.x_name == "agent_steps"


def test_labels_are_run_folders_or_file_names(tmp_path: Path) -> None:
    paths = [
        tmp_path / "a" / "telemetry.ndjson",
        tmp_path / "b" / "telemetry.ndjson",
        tmp_path / "x" / "soak.jsonl",
        tmp_path / "y" / "soak.jsonl",
        tmp_path / "a" / "telemetry.ndjson",
    ]
    assert unique_labels(paths) == ["a (1)", "b", "x/soak.jsonl", "y/soak.jsonl", "a (5)"]


def test_a_log_without_records_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ndjson"
    empty.write_text("\n")
    result = call("plot", empty, "--out", tmp_path / "x.png")
    assert result.code == 1
    assert result.err_lines == [f"plot: {empty}: no telemetry records to plot"]
    assert not (tmp_path / "x.png").exists()


def test_usage_errors(tmp_path: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1)])
    assert call("plot", log).code == 2  # --out is required
    assert call("plot", log, "--out", tmp_path / "p.png", "--width", "10").code == 2


def test_without_matplotlib_one_line_and_exit_1(tmp_path: Path) -> None:
    log = write_log(tmp_path / "t.ndjson", [record(1)])
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from townlet.telemetry.__main__ import main\n"
        f"sys.exit(main(['plot', {str(log)!r}, '--out', {str(tmp_path / 'p.png')!r}]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "plot: matplotlib is not installed: pip install townlet[plot]"
    ]
    assert not (tmp_path / "p.png").exists()
