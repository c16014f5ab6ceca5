"""The base of every config section, and the field types shared between sections (torch-free)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: unknown keys are errors, values are checked on assignment too.

    Floats must be finite: inf passes a bound such as ``gt=0`` and nan fails no comparison, so
    either would otherwise reach the optimiser or the telemetry records.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _path_exists(value: str) -> str:
    if not Path(value).exists():
        raise ValueError("file not found")
    return value


def _file_exists(value: str) -> str:
    if not Path(value).is_file():
        raise ValueError("file not found")
    return value


# A manifest file or a capture folder: either must exist before the run starts.
ExistingPath = Annotated[str, AfterValidator(_path_exists)]
# A checkpoint: a regular file, checked before the run starts.
ExistingFile = Annotated[str, AfterValidator(_file_exists)]
