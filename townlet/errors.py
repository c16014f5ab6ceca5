"""The TownletError family: one-line messages that entry points print without a traceback.

Also the one-line wording of a YAML file that does not parse, shared by the scenario loader and
the Hydra entry points (a group file such as ``conf/scenario/<name>.yaml``), and the closest
known name for a misspelt one, shared by the Hydra errors and the config validators.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TownletError(Exception):
    """Base class; ``str(err)`` is the whole one-line message shown to the user."""

    exit_code: int = 1
    # False for outcomes that are not failures to debug (a run stopped by a signal): their one
    # line and exit code stand even when HYDRA_FULL_ERROR=1 asks for tracebacks.
    traceback_helps: bool = True


class ConfigError(TownletError):
    """A composed config value is out of bounds or unknown (exit code 2)."""

    exit_code = 2

    def __str__(self) -> str:
        return f"config error: {super().__str__()}"


class DataError(TownletError):
    """A replay sample, manifest or capture folder is unusable (exit code 1)."""


class TrainingError(TownletError):
    """Training hit a non-finite value or another runtime failure (exit code 1)."""


def yaml_problem(err: Exception) -> str:
    """What is wrong in a YAML file, on one line, with the line and column where PyYAML has them.

    PyYAML's own message runs over several lines and quotes the file twice; a tag it refuses
    (``!!python/...``, never constructed by a safe loader) is named in the YAML spelling.
    """
    problem = str(getattr(err, "problem", None) or err).strip().splitlines()[0]
    tag = problem.rpartition("tag:yaml.org,2002:")[2].rstrip("'")
    if "could not determine a constructor" in problem and tag:
        problem = f"tag '!!{tag}' is not allowed (only plain data: mappings, lists, scalars)"
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    line = f"not valid YAML{where}: {problem}"
    context, start = getattr(err, "context", None), getattr(err, "context_mark", None)
    if context and start is not None:
        line += f" ({context} from line {start.line + 1}, column {start.column + 1})"
    return line


def yaml_file_of(err: Exception) -> str | None:
    """The file PyYAML was reading when it failed, when it read one (not a string)."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    name = getattr(mark, "name", None)
    return name if isinstance(name, str) and not name.startswith("<") else None


def yaml_error_line(err: Exception) -> str:
    """The ``config error:`` line for a config file that does not parse, naming the file."""
    where = yaml_file_of(err)
    return str(ConfigError(f"{where}: {yaml_problem(err)}" if where else yaml_problem(err)))


def close_match(word: str, known: Iterable[object]) -> str | None:
    """The known name closest to a misspelt ``word``, or None when none is close (``did you
    mean …?`` in config errors)."""
    matches = difflib.get_close_matches(word, [str(name) for name in known], n=1)
    return matches[0] if matches else None
