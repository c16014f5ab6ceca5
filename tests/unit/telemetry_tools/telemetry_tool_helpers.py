"""Helpers for the telemetry tool tests: hand-made records and logs, and running a tool."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from townlet.telemetry.schema import ALWAYS_WRITTEN_KEYS, REQUIRED_KEYS, TelemetryRecord

REPO = Path(__file__).resolve().parents[3]
SAMPLE_NAMES = (
    "ppo_conflict_telemetry_v1_1.jsonl",
    "ppo_epoch_log_v1_0.jsonl",
    "ppo_soak_queue_conflict.jsonl",
)


def record(epoch: int = 1, **overrides: Any) -> dict[str, Any]:
    """A complete townlet v1.1 record, as the writer puts it on disk (JSON round trip)."""
    values: dict[str, Any] = {key: 0.5 for key in REQUIRED_KEYS + ALWAYS_WRITTEN_KEYS}
    values.update(telemetry_version=1.1, data_mode="replay", epoch=epoch)
    values.update(log_stream_offset=epoch, steps=256 * epoch, agent_steps=256 * epoch)
    values.update(overrides)
    return json.loads(json.dumps(TelemetryRecord(**values).to_json_dict()))


def write_log(path: Path, items: Iterable[dict[str, Any] | str]) -> Path:
    """One line per item: dicts as JSON (NaN literals allowed), strings verbatim."""
    lines = [item if isinstance(item, str) else json.dumps(item) for item in items]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def out_lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def call(tool: str, *args: str | Path) -> Result:
    """Run ``townlet.telemetry.<tool>.main`` in-process and capture what it prints."""
    main = import_module(f"townlet.telemetry.{tool}").main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse usage errors and --help
            code = exit_.code if isinstance(exit_.code, int) else 1
    result = Result(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in result.out + result.err
    return result


def cli(*args: str | Path, cwd: Path = REPO, timeout: float = 60) -> Result:
    """``python -m townlet.telemetry args`` in a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "townlet.telemetry", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in result.out + result.err
    return result
