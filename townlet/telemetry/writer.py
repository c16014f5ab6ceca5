"""Append-only NDJSON writer with size-based rotation and resumable state (DESIGN §7.2, §7.4).

Rotation scheme: lines go to ``telemetry.ndjson`` first; once a file holds ``max_log_entries``
lines the writer moves on to ``telemetry.ndjson.1``, then ``.2``, and so on. Indices only grow, so
the file with the HIGHEST index is the newest and reading ``base, .1, .2, …`` in that order yields
the records in write order. (This is the reverse of logrotate: nothing is ever renamed, which is
what lets ``watch --follow`` move from the base file to ``.1`` to ``.2`` without losing its place.)

Each record is one ``write`` of a complete line on an unbuffered append-mode file, then fsync,
so a killed process leaves only whole lines. Existing files are never truncated.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self


def rotated_path(path: str | os.PathLike[str], index: int) -> Path:
    """File number ``index`` of the stream: the base path for 0, ``<path>.<index>`` after that."""
    base = Path(path)
    return base if index == 0 else base.with_name(f"{base.name}.{index}")


def stream_files(path: str | os.PathLike[str]) -> list[Path]:
    """The stream's existing files, oldest first (base, .1, .2, … up to the first gap)."""
    files: list[Path] = []
    while rotated_path(path, len(files)).exists():
        files.append(rotated_path(path, len(files)))
    return files


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


class NDJSONWriter:
    """Writes one JSON object per line to ``path``, rotating every ``max_log_entries`` lines.

    ``max_log_entries=0`` disables rotation. A new writer picks up where the stream on disk ends
    (its newest file and that file's line count); ``load_state_dict`` overrides that with the state
    saved in a checkpoint, so a resumed run rotates exactly as the uninterrupted run would have.
    """

    def __init__(
        self, path: str | os.PathLike[str], max_log_entries: int = 0, *, fsync: bool = True
    ) -> None:
        if max_log_entries < 0:
            raise ValueError(f"max_log_entries must be >= 0, got {max_log_entries}")
        self.path = Path(path)
        self.max_log_entries = max_log_entries
        self._fsync = fsync
        self._handle: BinaryIO | None = None
        existing = stream_files(self.path)
        self._file_index = max(len(existing) - 1, 0)
        self._lines_in_file = _count_lines(self.current_path)

    @property
    def current_path(self) -> Path:
        """The file the next line goes to, unless that line triggers a rotation."""
        return rotated_path(self.path, self._file_index)

    def write(self, record: Mapping[str, object]) -> None:
        """Append ``record`` as one complete line and push it to disk before returning."""
        line = _encode(record)  # before rotating, so a bad record changes nothing
        if self.max_log_entries and self._lines_in_file >= self.max_log_entries:
            self._close_handle()
            self._file_index += 1
            self._lines_in_file = 0
        handle = self._open()
        view = memoryview(line)
        while view:  # raw writes may be short; loop until the whole line is out
            written = handle.write(view)
            view = view[written or 0 :]
        handle.flush()
        if self._fsync:
            os.fsync(handle.fileno())
        self._lines_in_file += 1

    def state_dict(self) -> dict[str, int]:
        """Rotation state as plain ints, for the callback's checkpointed ``state_dict``."""
        return {"file_index": self._file_index, "lines_in_file": self._lines_in_file}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Continue the stream from a saved state: the next line follows the saved last line."""
        values: dict[str, int] = {}
        for key in ("file_index", "lines_in_file"):
            value = state.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"writer state {key} must be an int >= 0, got {value!r}")
            values[key] = value
        self._close_handle()
        self._file_index = values["file_index"]
        self._lines_in_file = values["lines_in_file"]

    def close(self) -> None:
        """Release the file handle; a later ``write`` reopens the current file in append mode."""
        self._close_handle()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _open(self) -> BinaryIO:
        if self._handle is None:
            self.current_path.parent.mkdir(parents=True, exist_ok=True)
            # buffering=0: no Python-side buffer can hold half a line when the process dies.
            self._handle = open(self.current_path, "ab", buffering=0)  # noqa: SIM115
        return self._handle

    def _close_handle(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _encode(record: Mapping[str, object]) -> bytes:
    try:
        text = json.dumps(dict(record), allow_nan=False, ensure_ascii=False)
    except ValueError as err:
        bad = [k for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)]
        raise ValueError(f"telemetry record has non-finite values for keys {bad}") from err
    return (text + "\n").encode("utf-8")
