"""Shared plumbing for the Hydra entry points: one-line errors instead of tracebacks (DESIGN §12).

Hydra composition errors (unknown group option, unknown key, unparsable override) become one
``config error:`` line with exit code 2; a ``TownletError`` raised by the task prints its own line
and exits with its code. ``HYDRA_FULL_ERROR=1`` restores the tracebacks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException

from townlet.errors import TownletError

T = TypeVar("T")


def user_wants_traceback() -> bool:
    """True when the user, not townlet, set HYDRA_FULL_ERROR=1."""
    return os.environ.get("TOWNLET_USER_FULL_ERROR", os.environ.get("HYDRA_FULL_ERROR")) == "1"


def report_errors(task: Callable[..., T]) -> Callable[..., T]:
    """Wrap a Hydra task function: a TownletError prints one line and exits with its code."""

    @wraps(task)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return task(*args, **kwargs)
        except TownletError as err:
            if user_wants_traceback():
                raise
            print(err, file=sys.stderr)
            sys.exit(err.exit_code)

    return wrapper


def hydra_error_line(err: Exception) -> str:
    """One line for a composition error: which override, and what was expected."""
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        group, _, option = str(err.missing_cfg_file).rpartition("/")
        options = ", ".join(sorted(err.options or []))
        expected = f"expected one of: {options}" if options else "no such option"
        return f"config error: {group}={option} — unknown option ({expected})"
    cause = err.__cause__
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if cause is not None and str(cause).strip():
        message += f" — {str(cause).strip().splitlines()[0]}"
    return f"config error: {message}"


def run_hydra_app(hydra_main: Callable[[], Any]) -> None:
    """Run a ``@hydra.main`` function; composition errors become one line and exit code 2."""
    os.environ.setdefault("TOWNLET_USER_FULL_ERROR", os.environ.get("HYDRA_FULL_ERROR", "0"))
    # Hydra re-raises instead of printing its own report, so composition errors can be reworded.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        hydra_main()
    except (HydraException, OmegaConfBaseException) as err:
        if user_wants_traceback():
            raise
        print(hydra_error_line(err), file=sys.stderr)
        sys.exit(2)
