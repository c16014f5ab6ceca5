"""Tail a rotating NDJSON stream as it is written, for ``watch --follow`` (DESIGN §7.5). Torch-free.

A stream is the base file, then ``.1``, ``.2``, …; the highest index is the newest (see
``writer.py``). The reader never holds a file whole and never re-joins a pending partial line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from townlet.telemetry.streams import ToolError, Warn, open_log, read_error
from townlet.telemetry.writer import rotated_path


class Follower:
    """Yields ``(path, line number, raw line)`` from a rotating stream, oldest line first.

    Starts at the base file (waiting for it when ``follow``), reads each file to its end, and
    moves to ``.N+1`` only once that file exists: the writer creates it only after its last write
    to ``.N``, so draining ``.N`` once more at that moment loses nothing and repeats nothing.
    Only newline-terminated lines are yielded while following; a partial last line waits for the
    rest. Without ``follow`` it reads what exists and stops. ``should_stop`` is polled between
    reads (signal handlers set it); ``idle_timeout`` ends the wait after that long without data.
    A file of the stream that cannot be read goes to ``on_error`` as one line; the next file of
    the stream, if there is one, is read all the same.
    """

    def __init__(
        self,
        base: Path,
        *,
        follow: bool,
        on_error: Warn,
        interval: float = 1.0,
        idle_timeout: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.base = base
        self.follow = follow
        self.on_error = on_error
        self.interval = interval
        self.idle_timeout = idle_timeout
        self.should_stop = should_stop
        self._last_data = 0.0  # monotonic time of the last data read, for idle_timeout

    def lines(self) -> Iterator[tuple[Path, int, bytes]]:
        index = 0
        self._last_data = time.monotonic()
        while not self.should_stop():
            path = rotated_path(self.base, index)
            if not path.exists():
                if index == 0 and not self.follow:
                    raise ToolError(f"{path}: no such file")
                if not self._wait():
                    return
                continue
            try:
                with open_log(path) as handle:
                    yield from self._read_file(path, handle, rotated_path(self.base, index + 1))
            except ToolError as err:
                self.on_error(str(err))
            if self.should_stop() or not rotated_path(self.base, index + 1).exists():
                return
            index += 1

    def _read_file(
        self, path: Path, handle: BinaryIO, next_path: Path
    ) -> Iterator[tuple[Path, int, bytes]]:
        # readline() reads a line of any length in one call, in time linear in its length. The
        # pieces of a line whose end is not written yet wait in `partial` and are joined once,
        # when its newline arrives: re-joining the pending text at every read would copy it over
        # and over, quadratic in the length of a long line.
        number, final = 0, False
        partial: list[bytes] = []
        while True:
            try:
                raw = handle.readline()
            except OSError as err:  # a disk error: report this file, go on with the next
                raise read_error(path, err) from None
            if raw.endswith(b"\n"):
                self._last_data = time.monotonic()
                number += 1
                line = b"".join([*partial, raw]) if partial else raw
                partial.clear()
                if not line.isspace():
                    yield path, number, line
            elif raw:  # the end of the file, inside a line: wait for the rest
                self._last_data = time.monotonic()
                partial.append(raw)
            elif final:  # drained: lines written to this file just before the rotation are in
                break
            else:
                final = not self.follow or next_path.exists()
                if not final and not self._wait():
                    break
        # A last line without its newline is only final once this file is finished (a killed
        # writer, or a file read without --follow); while following it may still be completed.
        if final and partial:
            line = b"".join(partial)
            if not line.isspace():
                yield path, number + 1, line

    def _wait(self) -> bool:
        """Sleep one polling interval; False when following should end instead."""
        if not self.follow or self.should_stop():
            return False
        idle = time.monotonic() - self._last_data
        if self.idle_timeout is not None and idle >= self.idle_timeout:
            return False
        deadline = time.monotonic() + self.interval
        while time.monotonic() < deadline:  # short naps so a signal stops us promptly
            if self.should_stop():
                return False
            time.sleep(min(0.05, self.interval))
        return True
