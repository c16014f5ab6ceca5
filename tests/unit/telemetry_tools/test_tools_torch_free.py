"""DESIGN §2 and §7.5: every telemetry tool imports and runs with torch blocked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from telemetry_tool_helpers import REPO, SAMPLE_NAMES, record, write_log

BLOCK = "import sys; sys.modules['torch'] = None; sys.modules['lightning'] = None\n"


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_each_tool_main_runs_with_torch_blocked(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    log = write_log(tmp_path / "telemetry.ndjson", [record(1), record(2)])
    png = tmp_path / "plot.png"
    code = BLOCK + (
        "import contextlib, io, json\n"
        "from townlet.telemetry import __main__ as cli\n"
        f"log, png = {str(log)!r}, {str(png)!r}\n"
        "runs = [['validate', log], ['watch', log, '--json'], ['summary', log, '--format', 'json'],"
        " ['plot', log, '--out', png]]\n"
        "codes = []\n"
        "for argv in runs:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        codes.append(cli.main(argv))\n"
        "assert sys.modules['torch'] is None and sys.modules['lightning'] is None\n"
        "print(json.dumps(codes))\n"
    )
    proc = _python(code, REPO)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [0, 0, 0, 0]
    assert png.stat().st_size > 0


def test_tools_run_on_upstream_samples_with_torch_blocked(upstream_samples: Path) -> None:
    logs = [str(upstream_samples / "telemetry" / name) for name in SAMPLE_NAMES]
    code = BLOCK + (
        "import contextlib, io, json\n"
        "from townlet.telemetry import validate, watch, summary\n"
        f"logs = {logs!r}\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    codes = [validate.main(['--allow-legacy', *logs])]\n"
        "    codes += [watch.main([log]) for log in logs]\n"
        "    codes += [summary.main([log, '--format', 'markdown']) for log in logs]\n"
        "print(json.dumps(codes))\n"
    )
    proc = _python(code, REPO)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [0] * 7


@pytest.mark.parametrize(
    ("script", "args", "first_line"),
    [
        ("validate_ppo_telemetry.py", [], "LOG: 1 record(s) validated."),
        ("telemetry_watch.py", [], "Epoch 1 (replay): loss_total=0.500000, "),
        ("telemetry_summary.py", ["--format", "markdown"], "### PPO telemetry summary"),
    ],
)
def test_old_script_names_run_from_anywhere(
    tmp_path: Path, script: str, args: list[str], first_line: str
) -> None:
    log = write_log(tmp_path / "telemetry.ndjson", [record(1)])
    path = REPO / "scripts" / script
    code = BLOCK + (
        "import runpy\n"
        f"sys.argv = [{str(path)!r}, {str(log)!r}, *{args!r}]\n"
        f"runpy.run_path({str(path)!r}, run_name='__main__')\n"
    )
    proc = _python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(first_line.replace("LOG", str(log)))
