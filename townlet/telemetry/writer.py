"""Append-only NDJSON writer with size-based rotation and resumable state (DESIGN §7.2, §7.4).

Rotation scheme: lines go to ``telemetry.ndjson`` first; once a file holds ``max_log_entries``
lines the writer moves on to ``telemetry.ndjson.1``, then ``.2``, and so on. Indices only grow, so
the file with the HIGHEST index is the newest and reading ``base, .1, .2, …`` in that order yields
the records in write order. (This is the reverse of logrotate: nothing is ever renamed, which is
what lets ``watch --follow`` move from the base file to ``.1`` to ``.2`` without losing its place.)

Each record is one ``write`` of a complete line on an unbuffered append-mode file, then fsync.
A kill (or a full disk) can still leave the start of a line, so the stream is only ever trusted up
to a position: the state a checkpoint saved (``cut_back``, DESIGN §14), or the last newline when a
writer opens a stream without saved state. Bytes past that position are cut off before writing.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

log = logging.getLogger(__name__)
_STATE_KEYS = ("file_index", "lines_in_file", "byte_offset")


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


def _whole_lines(path: Path) -> tuple[int, int]:
    """Line count and byte length of ``path`` up to its last newline (0, 0 when missing)."""
    lines = size = 0
    if path.exists():
        with path.open("rb") as handle:
            for raw in handle:
                if raw.endswith(b"\n"):
                    lines, size = lines + 1, size + len(raw)
    return lines, size


def line_at_position(path: str | os.PathLike[str], state: Mapping[str, object]) -> bytes | None:
    """The whole line that ends at a saved position of the stream at ``path`` (``b""`` for an
    empty position), or None when the stream does not hold that position: its file number
    ``file_index`` is missing, shorter, or has no line end right before ``byte_offset``."""
    values = _checked_state({"byte_offset": 0, **state})  # older states: no offset to check
    target = rotated_path(path, values["file_index"])
    offset = values["byte_offset"]
    if offset == 0:  # an empty position: any stream, even none yet, can be cut back to it
        return b""
    if not target.is_file() or target.stat().st_size < offset:
        return None
    with target.open("rb") as handle:
        start = offset - 1
        while start > 0:  # step back in chunks to the newline that ends the line before
            begin = max(start - 65536, 0)
            handle.seek(begin)
            found = handle.read(start - begin).rfind(b"\n")
            if found >= 0:
                start = begin + found + 1
                break
            start = begin
        handle.seek(start)
        line = handle.read(offset - start)
    return line if line.endswith(b"\n") else None


def holds_position(path: str | os.PathLike[str], state: Mapping[str, object]) -> bool:
    """Whether the stream at ``path`` holds the saved position (see ``line_at_position``)."""
    return line_at_position(path, state) is not None


class NDJSONWriter:
    """Writes one JSON object per line to ``path``, rotating every ``max_log_entries`` lines.

    ``max_log_entries=0`` disables rotation. A new writer picks up where the stream on disk ends
    (its newest file, up to that file's last newline); ``cut_back`` moves it to the state saved
    in a checkpoint, so a resumed run rotates exactly as the uninterrupted run would have.
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
        self._lines_in_file, self._bytes_in_file = _whole_lines(self.current_path)
        # Set until the first write: bytes past _bytes_in_file (a torn last line) go first.
        self._cut_pending = True

    @property
    def current_path(self) -> Path:
        """The file the next line goes to, unless that line triggers a rotation."""
        return rotated_path(self.path, self._file_index)

    def write(self, record: Mapping[str, object]) -> None:
        """Append ``record`` as one complete line and push it to disk before returning."""
        line = _encode(record)  # before rotating, so a bad record changes nothing
        if self._cut_pending:  # before rotating: a torn tail of a full file goes too
            self._truncate_current()
        if self.max_log_entries and self._lines_in_file >= self.max_log_entries:
            self._close_handle()
            self._file_index += 1
            self._lines_in_file = self._bytes_in_file = 0
        handle = self._open()
        view = memoryview(line)
        while view:  # raw writes may be short; loop until the whole line is out
            written = handle.write(view)
            view = view[written or 0 :]
        handle.flush()
        if self._fsync:
            os.fsync(handle.fileno())
        self._lines_in_file += 1
        self._bytes_in_file += len(line)

    def state_dict(self) -> dict[str, int]:
        """Stream position as plain ints, for the callback's checkpointed ``state_dict``: the
        file of the rotation, its line count and its byte length after the last line written."""
        return {
            "file_index": self._file_index,
            "lines_in_file": self._lines_in_file,
            "byte_offset": self._bytes_in_file,
        }

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Continue from a saved position: the next write first cuts the current file back to
        it. Later files of the rotation stay (``cut_back`` removes them too). A state without
        ``byte_offset`` (older checkpoints) keeps the current file's whole lines.
        """
        values = _checked_state({"byte_offset": 0, **state})
        self._close_handle()
        self._cut_pending = True
        self._file_index = values["file_index"]
        self._lines_in_file = values["lines_in_file"]
        if "byte_offset" in state:
            self._bytes_in_file = values["byte_offset"]
        else:
            self._bytes_in_file = _whole_lines(self.current_path)[1]

    def cut_back(self, state: Mapping[str, object]) -> None:
        """Cut the stream back to a saved position and continue from there.

        Files of the rotation past ``file_index`` are removed and file ``file_index`` is
        truncated to ``byte_offset``: lines written after the position was saved (an epoch whose
        checkpoint never landed, a torn line) are gone, so the resumed run writes them once.
        """
        self.load_state_dict(state)
        index = self._file_index + 1
        while rotated_path(self.path, index).exists():
            rotated_path(self.path, index).unlink()
            index += 1
        self._truncate_current()

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

    def _truncate_current(self) -> None:
        """Drop the current file's bytes past the trusted position, if any."""
        self._cut_pending = False
        target = self.current_path
        if target.is_file() and target.stat().st_size > self._bytes_in_file:
            log.info("cutting %s back to byte %d", target, self._bytes_in_file)
            self._close_handle()
            with target.open("r+b") as handle:
                handle.truncate(self._bytes_in_file)
                handle.flush()
                os.fsync(handle.fileno())


def _checked_state(state: Mapping[str, object]) -> dict[str, int]:
    values: dict[str, int] = {}
    for key in _STATE_KEYS:
        value = state.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"writer state {key} must be an int >= 0, got {value!r}")
        values[key] = value
    return values


def _encode(record: Mapping[str, object]) -> bytes:
    try:
        text = json.dumps(dict(record), allow_nan=False, ensure_ascii=False)
    except ValueError as err:
        bad = [k for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)]
        raise ValueError(f"telemetry record has non-finite values for keys {bad}") from err
    return (text + "\n").encode("utf-8")
