"""The TownletError family: one-line messages that entry points print without a traceback."""

from __future__ import annotations


class TownletError(Exception):
    """Base class; ``str(err)`` is the whole one-line message shown to the user."""

    exit_code: int = 1


class ConfigError(TownletError):
    """A composed config value is out of bounds or unknown (exit code 2)."""

    exit_code = 2

    def __str__(self) -> str:
        return f"config error: {super().__str__()}"


class DataError(TownletError):
    """A replay sample, manifest or capture folder is unusable (exit code 1)."""


class TrainingError(TownletError):
    """Training hit a non-finite value or another runtime failure (exit code 1)."""
