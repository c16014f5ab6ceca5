"""``validate``: check PPO telemetry logs against the record rules, line by line (DESIGN §7.5).

The rules are :func:`townlet.telemetry.schema.record_problems`, the one definition shared with the
writer's schema; by default they are exactly the older Townlet system's current validator's, and
``--allow-legacy`` admits its older logs written before the four health keys existed. Each file is
read once, one line at a time, so memory stays flat however long the log is.

Exit codes: 0 every file valid (and no drift over the threshold), 1 any problem, 2 usage errors.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from townlet.telemetry.command import run_command, say, tool_prog
from townlet.telemetry.schema import BASELINE_KEYS, record_problems
from townlet.telemetry.streams import (
    Record,
    ToolError,
    fmt_epoch,
    iter_lines,
    load_baseline,
    number,
    parse_line,
)

PROG = "validate"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or tool_prog(PROG),
        description="Validate PPO telemetry NDJSON logs (telemetry_version 1.0/1.1) line by line "
        "and report drift of the baseline_* keys against a baseline.",
    )
    parser.add_argument("logs", nargs="+", type=Path, metavar="LOG", help="NDJSON log file(s)")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="JSON",
        help="a JSON object holding baseline_* values (or a whole telemetry record)",
    )
    parser.add_argument(
        "--drift-threshold",
        type=float,
        metavar="T",
        help="fail when any |drift| exceeds T (with --relative: T is a percentage)",
    )
    parser.add_argument(
        "--relative",
        action="store_true",
        help="add relative drift columns, in percent of |baseline|",
    )
    parser.add_argument(
        "--allow-legacy",
        action="store_true",
        help="accept the old system's logs that predate adv_zero_std_batches, adv_min_std, "
        "clip_fraction_max and clip_triggered_minibatches",
    )
    return parser


def baseline_values(payload: Record, path: Path) -> dict[str, float]:
    """The baseline_* numbers of a baseline object, schema keys first, then the rest by name."""
    keys = [k for k in BASELINE_KEYS if k in payload]
    keys += sorted(k for k in payload if k.startswith("baseline_") and k not in BASELINE_KEYS)
    values: dict[str, float] = {}
    for key in keys:
        value = number(payload, key)
        if value is None:
            raise ToolError(f"baseline {path}: {key} must be a finite number, got {payload[key]!r}")
        values[key] = value
    if not values:
        raise ToolError(f"baseline {path}: no baseline_* keys to compare against")
    return values


def relative_drift(delta: float, base: float) -> float:
    """Drift in percent of |baseline|: the sign follows the delta; a zero baseline gives ±inf."""
    if base == 0.0:
        return 0.0 if delta == 0.0 else math.copysign(math.inf, delta)
    return delta / abs(base) * 100.0


class DriftTable:
    """Per-record drift of one file, rows spooled to disk so a long log never sits in memory."""

    def __init__(
        self,
        baseline: dict[str, float],
        relative: bool,
        threshold: float | None,
        rows: tempfile.SpooledTemporaryFile[str],
    ) -> None:
        self.baseline = baseline
        self.relative = relative
        self.threshold = threshold
        self.keys = list(baseline)
        self.header = ["line", "epoch", *self.keys]
        if relative:
            self.header += [f"{key}%" for key in self.keys]
        self.widths = [6, 6] + [max(len(name), 10) for name in self.header[2:]]
        self.rows = rows
        self.overlap = False
        self.count = 0
        # key -> (|drift| compared with the threshold, shown value, line) of the worst record
        self.worst: dict[str, tuple[float, str, int]] = {}

    def add(self, line: int, record: Record) -> None:
        self.count += 1
        deltas: list[str] = []
        percents: list[str] = []
        for key in self.keys:
            value = number(record, key)
            if value is None:
                deltas.append("n/a")
                percents.append("n/a")
                continue
            self.overlap = True
            base = self.baseline[key]
            delta = value - base
            rel = relative_drift(delta, base)
            deltas.append(f"{delta:+.6f}")
            percents.append(f"{rel:+.2f}%")
            measured = abs(rel) if self.relative else abs(delta)
            if key not in self.worst or measured > self.worst[key][0]:
                shown = f"{delta:+.6f}" + (f" ({rel:+.2f}%)" if self.relative else "")
                self.worst[key] = (measured, shown, line)
        cells = [str(line), fmt_epoch(number(record, "epoch")), *deltas]
        if self.relative:
            cells += percents
        self.rows.write(self._row(cells))

    def _row(self, cells: list[str]) -> str:
        padded = (f"{cell:>{width}}" for cell, width in zip(cells, self.widths, strict=True))
        return "  " + " | ".join(padded) + "\n"

    def render(self, path: Path) -> None:
        """Print the table (stdout), or say that the log shares no key with the baseline."""
        if self.count == 0:  # nothing to compare; the file's own problem was already reported
            return
        if not self.overlap:
            say(f"{path}: none of the baseline's keys appears in the log; no drift report.")
            return
        say(f"\nBaseline drift for {path} (log - baseline):")
        say(self._row(self.header).rstrip("\n"))
        self.rows.seek(0)
        shutil.copyfileobj(self.rows, sys.stdout)  # in bulk: a long log has a row per record
        say("  Worst drift by key:")
        for key in self.keys:
            if key in self.worst:
                _, shown, line = self.worst[key]
                say(f"    {key}: {shown} (line {line})")

    def failures(self) -> list[str]:
        """``key=value (line N)`` for every key whose worst drift exceeds the threshold."""
        if self.threshold is None:
            return []
        worst = [(key, *self.worst[key]) for key in self.keys if key in self.worst]
        return [
            f"{key}={shown} (line {line})"
            for key, measured, shown, line in worst
            if measured > self.threshold
        ]


def validate_file(path: Path, allow_legacy: bool, drift: DriftTable | None) -> bool:
    """Check one file, printing each problem as it is found; True when it is valid."""
    records = problems = 0
    for line, raw in iter_lines(path):
        record, why = parse_line(raw)
        if record is None:
            problems += 1
            say(f"{path}:{line}: {why}", err=True)
            continue
        records += 1
        for key, problem in record_problems(record, allow_legacy=allow_legacy):
            problems += 1
            say(f"{path}:{line}: {key}: {problem}", err=True)
        if drift is not None:
            drift.add(line, record)
    if records == 0 and problems == 0:
        say(f"{path}: empty file: no telemetry records", err=True)
        return False
    if problems:
        say(f"{path}: {problems} problem(s) in {records} record(s).", err=True)
        return False
    say(f"{path}: {records} record(s) validated.")
    return True


def check(args: argparse.Namespace) -> int:
    baseline = None
    if args.baseline is not None:
        baseline = baseline_values(load_baseline(args.baseline), args.baseline)
    ok = True
    for path in args.logs:
        try:
            ok = check_file(path, args, baseline) and ok
        except ToolError as err:  # a missing or unreadable file is one line; go on
            say(f"{err}", err=True)
            ok = False
    return 0 if ok else 1


def check_file(path: Path, args: argparse.Namespace, baseline: dict[str, float] | None) -> bool:
    """Validate one file and, with a baseline, print its drift table; True when all is well."""
    if baseline is None:
        return validate_file(path, args.allow_legacy, None)
    # Drift rows wait here until the file is checked; past 1 MiB they spill to a temporary file.
    with tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8") as rows:
        drift = DriftTable(baseline, args.relative, args.drift_threshold, rows)
        ok = validate_file(path, args.allow_legacy, drift)
        drift.render(path)
    failures = drift.failures()
    if failures:
        unit = "%" if args.relative else ""
        threshold = f"{args.drift_threshold:g}{unit}"
        detail = ", ".join(failures)
        say(f"{path}: baseline drift exceeds threshold {threshold}: {detail}", err=True)
        ok = False
    return ok


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.drift_threshold is not None and args.baseline is None:
        parser.error("--drift-threshold needs --baseline")
    if args.drift_threshold is not None and not args.drift_threshold >= 0:
        parser.error("--drift-threshold must be >= 0")


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    return run_command(PROG, build_parser(prog), argv, check, check_options)


if __name__ == "__main__":
    sys.exit(main())
