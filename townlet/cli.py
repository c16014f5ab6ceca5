"""Shared plumbing for the Hydra entry points: one-line errors instead of tracebacks (DESIGN §12).

Hydra composition errors (unknown group option, unknown key, unparsable override) become one
``config error:`` line with exit code 2; a ``TownletError`` raised by the task prints its own line
and exits with its code. ``HYDRA_FULL_ERROR=1`` restores the tracebacks. Every entry point's
``main()`` also calls :func:`quiet_library_logs` first; importing townlet changes no global state.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import yaml
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from townlet.errors import TownletError, close_match, yaml_error_line
from townlet.run_folder import register_resolvers, release_folders

T = TypeVar("T")

# Lightning's logger for its one-time hints, among them the "Tip:" advertising line.
LIGHTNING_HINT_LOGGER = "lightning.pytorch.utilities.rank_zero"
# alembic (optuna's storage migrations) logs one INFO line per plugin it sets up on import.
ALEMBIC_LOGGER = "alembic"
# The key of an override Hydra could not apply: "Could not override 'trainer.max_epoch'."
_OVERRIDE_KEY = re.compile(r"Could not override '([^']+)'")


class _DropTips(logging.Filter):
    """Drops Lightning's "Tip:" lines, which advertise products rather than report on the run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def quiet_library_logs() -> None:
    """Silence library messages that say nothing about a townlet run; idempotent.

    - "does not have many workers": rollouts run with ``num_workers=0`` on purpose, so every
      rollout comes from the current weights (DESIGN §5);
    - "treespec, LeafSpec": a deprecation inside Lightning, about the installed torch version;
    - Lightning's "Tip:" lines;
    - alembic's "setup plugin" INFO lines, logged when the Optuna sweeper imports optuna.
    """
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")
    logging.getLogger(ALEMBIC_LOGGER).setLevel(logging.WARNING)
    hints = logging.getLogger(LIGHTNING_HINT_LOGGER)
    if not any(isinstance(existing, _DropTips) for existing in hints.filters):
        hints.addFilter(_DropTips())


def user_wants_traceback() -> bool:
    """True when the user, not townlet, set HYDRA_FULL_ERROR=1."""
    return os.environ.get("TOWNLET_USER_FULL_ERROR", os.environ.get("HYDRA_FULL_ERROR")) == "1"


def report_errors(task: Callable[..., T]) -> Callable[..., T]:
    """Wrap a Hydra task function: a TownletError prints one line and exits with its code.

    HYDRA_FULL_ERROR=1 re-raises instead, except for errors with ``traceback_helps`` false
    (an interrupted run), whose exit code a scheduler reads.
    """

    @wraps(task)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return task(*args, **kwargs)
        except TownletError as err:
            if user_wants_traceback() and err.traceback_helps:
                raise
            print(err, file=sys.stderr)
            sys.exit(err.exit_code)

    return wrapper


def _unknown_key_line(err: Exception) -> str | None:
    """``<key> — unknown key; did you mean <key>?`` for an override of a key not in the config.

    OmegaConf's error (the cause) knows the first unknown part of the key (``full_key``) and the
    node it is missing from (``parent_node``), whose keys are the candidates. The rest of the
    override's key follows the suggestion unchanged: ``traner.max_epochs`` -> trainer.max_epochs.
    None when the error is another one or no known key is close: the caller keeps Hydra's words.
    """
    cause = err.__cause__
    if not isinstance(cause, ConfigKeyError | ConfigAttributeError):
        return None
    unknown = str(cause.full_key or "")
    parent = cause.parent_node
    if not unknown or not isinstance(parent, DictConfig):
        return None
    override = _OVERRIDE_KEY.search(str(err))  # only overrides: not interpolations, deletions
    if override is None or not override.group(1).startswith(unknown):
        return None
    typed = override.group(1)
    head, _, last = unknown.rpartition(".")
    guess = close_match(last, parent.keys())
    if guess is None:
        return None
    suggestion = ".".join(part for part in (head, guess) if part) + typed[len(unknown) :]
    return f"config error: {typed} — unknown key; did you mean {suggestion}?"


def hydra_error_line(err: Exception) -> str:
    """One line for a composition error: which override, what was expected, the likely fix."""
    if isinstance(err, yaml.YAMLError):  # a group file that does not parse (Hydra re-raises it)
        return yaml_error_line(err)
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        group, _, option = str(err.missing_cfg_file).rpartition("/")
        options = sorted(err.options or [])
        guess = close_match(option, options)
        hint = f"; did you mean {group}={guess}?" if guess else ""
        expected = f"expected one of: {', '.join(options)}" if options else "no such option"
        return f"config error: {group}={option} — unknown option{hint} ({expected})"
    if (line := _unknown_key_line(err)) is not None:
        return line
    cause = err.__cause__
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if cause is not None and str(cause).strip():
        message += f" — {str(cause).strip().splitlines()[0]}"
    return f"config error: {message}"


def run_hydra_app(hydra_main: Callable[[], Any]) -> None:
    """Run a ``@hydra.main`` function; composition errors become one line and exit code 2.

    The run folder is locked for the run's lifetime (:mod:`townlet.run_folder`) and released on
    every way out. Any failure (a config error, exit 2, or bad data, exit 1) also removes the
    folder when this process created it and Hydra's files are all it holds: a run that never
    started leaves no folder. Cleaning up on the way out, rather than validating before Hydra
    writes, catches every such error: some are only found while the run is being built
    (``device=gpu`` without CUDA, an unreadable manifest), long after Hydra made the folder.
    """
    os.environ.setdefault("TOWNLET_USER_FULL_ERROR", os.environ.get("HYDRA_FULL_ERROR", "0"))
    # Hydra re-raises instead of printing its own report, so composition errors can be reworded.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    register_resolvers()
    code: int | str | None = 0
    try:
        hydra_main()
    except (HydraException, OmegaConfBaseException, yaml.YAMLError) as err:
        if user_wants_traceback():
            raise
        print(hydra_error_line(err), file=sys.stderr)
        code = 2
    except SystemExit as exit_:
        code = exit_.code
        raise
    except KeyboardInterrupt:
        # Ctrl+C outside training (training saves a checkpoint first): no traceback, exit 130.
        print("interrupted (SIGINT)", file=sys.stderr)
        code = 128 + signal.SIGINT
    finally:
        # A failed run that wrote more than Hydra's files (a stopped fit) keeps its folder.
        release_folders(discard_unused=code not in (0, None))
    if code:
        sys.exit(code)
