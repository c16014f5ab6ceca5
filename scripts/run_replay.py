#!/usr/bin/env python
"""Old-tool name for replay sample checks: ``scripts/run_replay.py SAMPLE… --validate``.

A thin wrapper over ``python -m townlet.data validate``, kept under the older system's script
name so its operators' commands still work. Training on replay data runs through
``python -m townlet.train data=replay``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Run from a checkout without installing: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from townlet.data.__main__ import validate_samples  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="run_replay.py",
        description="Validate replay samples. Train with: python -m townlet.train data=replay",
    )
    parser.add_argument("samples", nargs="+", metavar="SAMPLE", help="a replay sample .npz")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="check each sample's arrays and sidecar (DESIGN §8.2)",
    )
    args = parser.parse_args(argv)
    if not args.validate:
        parser.error(
            "only --validate is supported here; train with python -m townlet.train data=replay"
        )
    return validate_samples(args.samples)


if __name__ == "__main__":
    sys.exit(main())
