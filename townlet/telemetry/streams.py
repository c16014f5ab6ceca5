"""Line-by-line NDJSON reading shared by the telemetry tools (DESIGN §7.5). Torch-free.

Everything here streams: a log is read one line at a time and never held whole, so the tools run
in constant memory on million-line logs. Line numbers count every physical line (blank ones too),
so ``<file>:<line>`` always points at the line an editor shows. ``follow.Follower`` tails a
rotating stream for ``watch --follow``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from townlet.errors import TownletError
from townlet.telemetry.writer import stream_files

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
