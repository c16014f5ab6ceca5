"""``python -m townlet.telemetry validate|watch|summary|plot …`` (DESIGN §7.5). Torch-free.

Each command lives in its own module with a ``main(argv) -> exit code``; this entry point only
dispatches, so ``python -m townlet.telemetry validate --help`` shows that command's own help.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import import_module

COMMANDS: dict[str, str] = {
    "validate": "check logs against the record rules; baseline drift",
    "watch": "one line per record, threshold alerts, --follow",
    "summary": "latest values, extremes, anneal status, baseline drift",
    "plot": "curves of one or more runs into a PNG (needs townlet[plot])",
}
USAGE = "usage: python -m townlet.telemetry {validate,watch,summary,plot} [-h] ..."


def _help() -> str:
    lines = [USAGE, "", "Telemetry tools for townlet's PPO NDJSON logs.", "", "commands:"]
    lines += [f"  {name:<9} {text}" for name, text in COMMANDS.items()]
    lines += ["", "Run `python -m townlet.telemetry <command> --help` for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(_help(), file=sys.stderr)
        return 2
    if args[0] in ("-h", "--help"):
        print(_help())
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(USAGE, file=sys.stderr)
        print(f"python -m townlet.telemetry: error: unknown command {command!r}", file=sys.stderr)
        return 2
    tool: Callable[..., int] = import_module(f"townlet.telemetry.{command}").main
    return tool(rest, prog=f"python -m townlet.telemetry {command}")


if __name__ == "__main__":
    sys.exit(main())
