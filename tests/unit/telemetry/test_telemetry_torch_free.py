"""DESIGN §2: the telemetry core imports, and works, with torch blocked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import sys, tempfile
sys.modules["torch"] = None  # any `import torch` now raises ImportError
import townlet.telemetry, townlet.telemetry.schema, townlet.telemetry.writer, townlet.telemetry.tags
from townlet.telemetry import NDJSONWriter, record_problems, tb_scalars, write_layout
folder = tempfile.mkdtemp()
with NDJSONWriter(folder + "/telemetry.ndjson") as writer:
    writer.write({"epoch": 1.0})
write_layout(folder)
assert record_problems({"telemetry_version": 1.0}) and tb_scalars({"lr": 1.0})
assert sys.modules["torch"] is None and "lightning" not in sys.modules
print("ok")
"""


def test_telemetry_imports_and_runs_without_torch() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
