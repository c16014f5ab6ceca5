"""How every telemetry tool runs (DESIGN §7.5): its name, its arguments, its one-line errors.

Each tool module (``validate``, ``watch``, ``summary``, ``plot``) builds its parser and hands it,
with its body, to :func:`run_command`; ``python -m townlet.telemetry <tool>`` and the old script
names under ``scripts/`` differ only in the program name they pass.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from townlet.telemetry.streams import ToolError

OptionCheck = Callable[[argparse.ArgumentParser, argparse.Namespace], None]


def tool_prog(name: str) -> str:
    """The program name a tool shows in usage lines when run as ``python -m townlet.telemetry``."""
    return f"python -m townlet.telemetry {name}"


def say(message: str, *, err: bool = False) -> None:
    """Print one line, flushed, so stdout and stderr interleave in the order they happened."""
    stream = sys.stderr if err else sys.stdout
    if not err:
        sys.stderr.flush()
    else:
        sys.stdout.flush()
    print(message, file=stream, flush=True)


def run_tool(prog: str, body: Callable[[], int]) -> int:
    """Run a tool's body: one-line errors, quiet Ctrl-C and closed pipes, never a traceback.

    As everywhere in townlet (DESIGN §12), ``HYDRA_FULL_ERROR=1`` shows the traceback of an
    unexpected error instead of its one line.
    """
    try:
        return body()
    except ToolError as err:
        say(f"{prog}: {err}", err=True)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, keep Python's exit flush silent,
        # and exit as a tool killed by SIGPIPE would (128 + 13), not as a failed check.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as err:  # e.g. a read error on a failing disk, mid-file
        say(f"{prog}: {err.filename or 'error'}: {err.strerror or err}", err=True)
        return 1
    except Exception as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        say(f"{prog}: internal error: {type(err).__name__}: {err}", err=True)
        return 1


def run_command(
    name: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    body: Callable[[argparse.Namespace], int],
    check: OptionCheck | None = None,
) -> int:
    """Parse ``argv``, let ``check`` reject option combinations, then run ``body`` as a tool.

    Usage errors (from argparse or ``check`` through ``parser.error``) exit 2; the body's own
    failures are one line each (:func:`run_tool`).
    """
    args = parser.parse_args(argv)
    if check is not None:
        check(parser, args)
    return run_tool(name, lambda: body(args))
