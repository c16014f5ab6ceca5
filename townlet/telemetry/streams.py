"""Line-by-line NDJSON reading shared by the telemetry tools (DESIGN §7.5). Torch-free.

Everything here streams: a log is read one line at a time and never held whole, so the tools run
in constant memory on million-line logs. Line numbers count every physical line (blank ones too),
so ``<file>:<line>`` always points at the line an editor shows. ``Follower`` tails a rotating
stream (base → ``.1`` → ``.2``; the highest index is the newest, see ``writer.py``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from townlet.errors import TownletError
from townlet.telemetry.writer import rotated_path, stream_files

_orjson: Any
try:  # Optional accelerator: about 4x faster than json on telemetry lines (see parse_line).
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

Record = dict[str, Any]


class ToolError(TownletError):
    """A one-line failure of a telemetry tool (missing file, empty log, bad baseline); exit 1."""


def parse_line(raw: bytes) -> tuple[Record | None, str | None]:
    """``(record, None)`` for a JSON object line, else ``(None, why)``.

    orjson, when installed, parses the common well-formed line; anything it rejects (NaN and
    Infinity literals, lone surrogates, a BOM, huge numbers, real errors) goes to the standard
    json module, whose answer is the one that counts. Verdicts are therefore always json's.
    """
    payload: object
    if _orjson is not None and not _may_nest_deeply(raw):
        try:
            payload = _orjson.loads(raw)
        except ValueError:
            payload = _json_loads(raw)
    else:
        payload = _json_loads(raw)
    if isinstance(payload, dict):
        return payload, None
    if isinstance(payload, _Invalid):
        return None, f"not a JSON object: {payload.why}"
    return None, f"not a JSON object: got {_json_type(payload)}"


# orjson (3.8 at least) parses nested arrays and objects without a depth limit: a line nested
# 100,000 levels deep overflows the C stack (a segmentation fault); json raises RecursionError.
# Only a line of many brackets can nest deeply: past this many, json alone reads it. Telemetry
# records are flat (one brace), so the count costs two fast scans and changes nothing for them.
_ORJSON_MAX_BRACKETS = 512


def _may_nest_deeply(raw: bytes) -> bool:
    return raw.count(b"[") + raw.count(b"{") > _ORJSON_MAX_BRACKETS


class _Invalid:
    """A line json could not parse, with the reason in one line."""

    def __init__(self, why: str) -> None:
        self.why = why


def _parse_int(digits: str) -> int | float:
    """A JSON integer, or ±inf past the digits int() converts (4,300): float() takes any length,
    and the tools see such an integer as they see a 400-digit one, a non-finite number."""
    try:
        return int(digits)
    except ValueError:
        return float(digits)


# Decoding the UTF-8 text ourselves and calling one decoder is about twice as fast as
# json.loads(bytes), which sniffs the encoding per call. It is also the old tools' reading: a
# UTF-8 byte-order mark is rejected, as json.loads(path.read_text()) rejected it.
_DECODER = json.JSONDecoder(parse_int=_parse_int)


def _json_loads(raw: bytes) -> object:
    try:
        return _DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _Invalid("not valid UTF-8")
    except json.JSONDecodeError as err:
        return _Invalid(f"invalid JSON ({err.msg} at column {err.colno})")
    except RecursionError:
        return _Invalid("invalid JSON (nested too deeply)")


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def read_error(path: Path, err: OSError) -> ToolError:
    """A failure to open or read ``path``, as the one-line error that names it."""
    if isinstance(err, FileNotFoundError):
        return ToolError(f"{path}: no such file")
    if isinstance(err, IsADirectoryError):
        return ToolError(f"{path}: is a directory, not a log file")
    return ToolError(f"{path}: cannot read ({err.strerror or err})")


def open_log(path: Path) -> BinaryIO:
    """Open a log for binary reading, or raise a ToolError that names it."""
    try:
        return path.open("rb")
    except OSError as err:
        raise read_error(path, err) from None


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw line)`` for every non-blank line; blank lines only advance the count.

    A file that cannot be opened or read (a disk error midway) raises a ToolError naming it, so
    a tool reports that file and goes on with the next; errors of the tool's own output (a closed
    pipe) are not read errors and still end the tool.
    """
    with open_log(path) as handle:
        lines = enumerate(handle, start=1)
        while True:
            try:
                number, raw = next(lines)
            except StopIteration:
                return
            except OSError as err:
                raise read_error(path, err) from None
            if not raw.isspace():  # no copy, unlike strip(): a line may be megabytes long
                yield number, raw


def stream_paths(path: Path) -> list[Path]:
    """The files of the stream starting at ``path``: itself, then ``.1``, ``.2``, … if rotated."""
    if path.is_dir():
        raise ToolError(f"{path}: is a directory, not a log file")
    files = stream_files(path)
    if not files:
        raise ToolError(f"{path}: no such file")
    return files


Warn = Callable[[str], None]


def iter_records(paths: list[Path], warn: Warn, fail: Warn) -> Iterator[tuple[Path, int, Record]]:
    """Every JSON object of the files in order; other lines are reported through ``warn``.

    A file that cannot be read is reported through ``fail``, and reading goes on with the next.
    """
    for path in paths:
        try:
            for number, raw in iter_lines(path):
                record, why = parse_line(raw)
                if record is None:
                    warn(f"{path}:{number}: {why}")
                else:
                    yield path, number, record
        except ToolError as err:
            fail(str(err))


def number(record: Record, key: str) -> float | None:
    """The finite float at ``key``, or None when it is absent, not a number or not finite."""
    value = record.get(key)
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            as_float = float(value)
        except OverflowError:
            return None
        return as_float
    return None


def fmt(value: float | None, digits: int = 6) -> str:
    """Fixed-point with ``digits`` decimals; ``n/a`` for a missing value."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def fmt_epoch(value: float | None) -> str:
    """Epochs are written as floats (1.0); show them as the integers they are."""
    if value is None:
        return "n/a"
    return str(int(value)) if value.is_integer() else f"{value:g}"


def load_baseline(path: Path) -> Record:
    """The baseline JSON object (a flat object of baseline values, or a telemetry record)."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ToolError(f"baseline {path}: no such file") from None
    except OSError as err:
        raise ToolError(f"baseline {path}: cannot read ({err.strerror or err})") from None
    payload = _json_loads(text)
    if isinstance(payload, _Invalid):
        raise ToolError(f"baseline {path}: {payload.why}; expected one JSON object")
    if not isinstance(payload, dict):
        raise ToolError(f"baseline {path}: expected a JSON object, got {_json_type(payload)}")
    return payload


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
