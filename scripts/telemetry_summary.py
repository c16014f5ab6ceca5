"""Summarise a PPO telemetry log: `python -m townlet.telemetry summary`.

The older Townlet system's script name, kept so its operators' commands still work. Runs from a
checkout without installing townlet: the repository root goes on sys.path first.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from townlet.telemetry.summary import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog=Path(__file__).name))
