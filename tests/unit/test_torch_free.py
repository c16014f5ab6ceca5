"""DESIGN §2: the format, config, telemetry and result modules import with torch blocked."""

from __future__ import annotations

import subprocess
import sys

TORCH_FREE = [
    "townlet.errors",
    "townlet.config",
    "townlet.dto",
    "townlet.data",
    "townlet.data.sample",
    "townlet.data.manifest",
    "townlet.data.metrics",
    "townlet.data.batching",
    "townlet.data.sample_scan",
    "townlet.telemetry",
    "townlet.telemetry.schema",
    "townlet.telemetry.writer",
    "townlet.telemetry.tags",
    "townlet.telemetry.columns",
    "townlet.telemetry.command",
    "townlet.telemetry.summary_values",
    "townlet.sim",
    "townlet.promotion",
    "townlet.promotion.state",
    "townlet.promotion.guardrails",
    "townlet.promotion.checks",
    "townlet.promote",
    "townlet.dto.bc",
    "townlet.dto.anneal",
    "townlet.dto.epoch_record",
    "townlet.dto.results",
    "townlet.atomic",
    "townlet.policy.action_source",
    "townlet.policy.probes",
    "townlet.policy.episodes",
    "townlet.policy.scorecard",
    "townlet.evaluate",
]


def test_modules_import_with_torch_blocked() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        + "".join(f"import {name}\n" for name in TORCH_FREE)
        + "assert sys.modules['torch'] is None\nprint('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_blocking_really_blocks_torch() -> None:
    code = "import sys; sys.modules['torch'] = None\nimport townlet.strategies.losses"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "torch" in proc.stderr
