"""DESIGN §2: the promotion gate and its DTOs import with torch blocked."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "townlet.promotion",
    "townlet.promotion.state",
    "townlet.promotion.guardrails",
    "townlet.promote",
    "townlet.dto.bc",
    "townlet.dto.anneal",
]


def test_promotion_imports_with_torch_blocked() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        + "".join(f"import {name}\n" for name in MODULES)
        + "assert sys.modules['torch'] is None\nprint('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
