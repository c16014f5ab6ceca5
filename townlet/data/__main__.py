"""``python -m townlet.data validate SAMPLE…``: check replay samples with the loader's guards.

Prints ``Sample validation successful: <sample>`` for each sample that loads (the older
system's words, with the file named, so a list of files reads file by file), and each failure as
one line on stderr naming its file. Exit codes: 0 all valid, 1 any invalid sample, 2 usage
error (argparse). Never a traceback: operators run this on files they did not write, so every
failure is a message.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from townlet.data.sample import load_sample
from townlet.errors import TownletError

SUCCESS_MESSAGE = "Sample validation successful: {sample}"


def build_parser(prog: str = "python -m townlet.data") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Replay data tools (DESIGN §8).")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser(
        "validate", help="check replay samples (.npz with a .json sidecar) against DESIGN §8.2"
    )
    validate.add_argument("samples", nargs="+", metavar="SAMPLE", help="a replay sample .npz")
    return parser


def validate_samples(samples: Sequence[str]) -> int:
    """Validate every sample (not stopping at the first failure); return the exit code."""
    status = 0
    for sample in samples:
        try:
            load_sample(sample)
        except TownletError as exc:
            print(str(exc), file=sys.stderr)
            status = 1
        except Exception as exc:  # a loader bug must still not print a traceback
            message = " ".join(f"replay sample {sample}: unexpected error: {exc!r}".split())
            print(message, file=sys.stderr)
            status = 1
        else:
            print(SUCCESS_MESSAGE.format(sample=sample))
    return status


def main(argv: Sequence[str] | None = None, prog: str = "python -m townlet.data") -> int:
    args = build_parser(prog).parse_args(argv)
    if args.command == "validate":
        return validate_samples(args.samples)
    return 2  # unreachable: argparse rejects unknown commands with exit code 2


def run() -> int:
    """``main`` for the console: a closed pipe (``… | head``) ends the listing quietly."""
    try:
        return main()
    except BrokenPipeError:
        # Python's recipe: point stdout at devnull so the interpreter's final flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(run())
