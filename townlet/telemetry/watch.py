"""``watch``: one line per telemetry record, alerts on thresholds, and ``--follow`` (DESIGN §7.5).

Reads the whole stream in write order (``telemetry.ndjson``, then ``.1``, ``.2``, …). With
``--follow`` it waits for the log to appear, tails it, moves on when the writer rotates, and stops
on SIGINT/SIGTERM or after ``--idle-timeout`` seconds without new data. An alert goes to stderr as
``epoch N: <key> <value> exceeds|below <threshold>``; watching goes on, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from townlet.telemetry.columns import MetricColumn
from townlet.telemetry.command import run_command, say, tool_prog
from townlet.telemetry.follow import Follower
from townlet.telemetry.schema import ANNEAL_KEYS, KPI_KEYS
from townlet.telemetry.streams import (
    Record,
    ToolError,
    fmt,
    fmt_epoch,
    number,
    parse_line,
)

PROG = "watch"

# The old telemetry_watch.py's labels, so grep patterns written for it keep working;
# clip_fraction is townlet's addition.
FIELDS: tuple[MetricColumn, ...] = (
    MetricColumn("loss_total", "loss_total", 6),
    MetricColumn("kl_divergence", "kl_divergence", 6),
    MetricColumn("grad_norm", "grad_norm", 6),
    MetricColumn("batch_entropy_mean", "entropy_mean", 6),
    MetricColumn("clip_fraction", "clip_fraction", 4),
    MetricColumn("reward_advantage_corr", "reward_adv_corr", 6),
    MetricColumn("queue_conflict_events", "queue_events", 1),
    MetricColumn("queue_conflict_intensity_sum", "queue_intensity_sum", 2),
    MetricColumn("shared_meal_events", "shared_meals", 1),
    MetricColumn("late_help_events", "late_help", 1),
    MetricColumn("shift_takeover_events", "shift_takeovers", 1),
    MetricColumn("chat_success_events", "chat_success", 1),
    MetricColumn("chat_failure_events", "chat_failure", 1),
    MetricColumn("chat_quality_mean", "chat_quality_mean", 3),
    MetricColumn("log_stream_offset", "offset", 0),
)
BC_FIELDS: tuple[str, ...] = ("loss", "accuracy", "val_loss", "val_accuracy", "entropy")
# Appended to the line when the record carries KPIs (an agent-day completed in its rollout).
KPI_FIELDS: tuple[tuple[str, str], ...] = (
    ("kpi.self_sufficiency", "K1"),
    ("kpi.lateness_rate", "lateness"),
)


@dataclass(frozen=True)
class Rule:
    """Alert when ``key`` is above (``above``) or below the option's threshold, within a scope."""

    option: str
    key: str
    above: bool
    rollout_only: bool = False
    anneal_only: bool = False


RULES: tuple[Rule, ...] = (
    Rule("kl_threshold", "kl_divergence", above=True),
    Rule("loss_threshold", "loss_total", above=True),
    Rule("grad_threshold", "grad_norm", above=True),
    Rule("entropy_threshold", "batch_entropy_mean", above=False),
    Rule("reward_corr_threshold", "reward_advantage_corr", above=False),
    # Town activity only exists in fresh rollouts; replay records would always read as "low".
    Rule("queue_events_min", "queue_conflict_events", above=False, rollout_only=True),
    Rule("queue_intensity_min", "queue_conflict_intensity_sum", above=False, rollout_only=True),
    Rule("shared_meal_min", "shared_meal_events", above=False, rollout_only=True),
    Rule("late_help_min", "late_help_events", above=False, rollout_only=True),
    Rule("chat_quality_min", "chat_quality_mean", above=False, rollout_only=True),
    Rule("shift_takeover_max", "shift_takeover_events", above=True, rollout_only=True),
    Rule("anneal_bc_min", "anneal_bc_accuracy", above=False, anneal_only=True),
    Rule("anneal_queue_min", "queue_conflict_events", False, True, anneal_only=True),
    Rule("anneal_intensity_min", "queue_conflict_intensity_sum", False, True, anneal_only=True),
)

_HELP = {
    "kl_threshold": "alert when kl_divergence exceeds X",
    "loss_threshold": "alert when loss_total exceeds X",
    "grad_threshold": "alert when grad_norm exceeds X",
    "entropy_threshold": "alert when batch_entropy_mean falls below X",
    "reward_corr_threshold": "alert when reward_advantage_corr falls below X",
    "queue_events_min": "rollout records: alert when queue_conflict_events < X",
    "queue_intensity_min": "rollout records: alert when queue_conflict_intensity_sum < X",
    "shared_meal_min": "rollout records: alert when shared_meal_events < X",
    "late_help_min": "rollout records: alert when late_help_events < X",
    "chat_quality_min": "rollout records: alert when chat_quality_mean < X",
    "shift_takeover_max": "rollout records: alert when shift_takeover_events > X",
    "anneal_bc_min": "anneal records: alert when anneal_bc_accuracy < X (default 0.9)",
    "anneal_queue_min": "anneal rollout records: alert when queue_conflict_events < X",
    "anneal_intensity_min": "anneal rollout records: alert when queue_conflict_intensity_sum < X",
}


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or tool_prog(PROG),
        description="Print one line per PPO telemetry record and alert on thresholds.",
    )
    parser.add_argument("log", type=Path, metavar="LOG", help="NDJSON log (rotated files follow)")
    parser.add_argument("--follow", action="store_true", help="tail the log as it grows")
    parser.add_argument("--json", action="store_true", help="one JSON object per record")
    parser.add_argument(
        "--interval", type=_positive, default=1.0, metavar="S", help="poll every S s (default 1)"
    )
    parser.add_argument(
        "--idle-timeout",
        type=_positive,
        metavar="S",
        help="with --follow: stop after S seconds without new data",
    )
    for rule in RULES:
        flag = "--" + rule.option.replace("_", "-")
        default = 0.9 if rule.option == "anneal_bc_min" else None
        help_text = _HELP[rule.option]
        parser.add_argument(flag, type=_threshold, default=default, metavar="X", help=help_text)
    parser.add_argument(
        "--anneal-loss-max",
        type=_threshold,
        default=0.1,
        metavar="F",
        help="anneal records: alert when |loss_total - anneal_loss_baseline| / "
        "|anneal_loss_baseline| exceeds F (default 0.1 = 10%%)",
    )
    return parser


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _threshold(text: str) -> float:
    value = float(text)
    if math.isnan(value):
        raise argparse.ArgumentTypeError("must be a number, not nan")
    return value


def describe(record: Record) -> str:
    """The human-readable line for one record."""
    epoch = fmt_epoch(number(record, "epoch"))
    if record.get("record") == "bc":
        values = ", ".join(f"{key}={fmt(number(record, key))}" for key in BC_FIELDS)
        return f"Epoch {epoch} (bc): {values}"
    mode = record.get("data_mode")
    parts = [f"{column.label}={column.text(number(record, column.key))}" for column in FIELDS]
    if isinstance(record.get("anneal_stage"), str):
        parts.append(f"anneal_stage={record['anneal_stage']}")
        parts.append(f"anneal_bc_accuracy={fmt(number(record, 'anneal_bc_accuracy'), 3)}")
    parts += [f"{tag}={fmt(number(record, key), 3)}" for key, tag in KPI_FIELDS if key in record]
    return f"Epoch {epoch} ({mode if isinstance(mode, str) else 'n/a'}): " + ", ".join(parts)


def as_json(record: Record) -> str:
    """The watched fields as one JSON object (null when absent); anneal and KPI keys when
    present."""
    keys = ("epoch", "data_mode", *(column.key for column in FIELDS))
    if record.get("record") == "bc":
        keys = ("record", "epoch", *BC_FIELDS)
    payload = {key: record.get(key) for key in keys}
    payload.update({key: record[key] for key in (*ANNEAL_KEYS, *KPI_KEYS) if key in record})
    return json.dumps(payload)


class Alerts:
    """Checks each record against the thresholds; warns once per option whose key is missing."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.thresholds = {rule.option: getattr(args, rule.option) for rule in RULES}
        self.anneal_loss_max: float | None = args.anneal_loss_max
        self.warned: set[str] = set()

    def check(self, record: Record, where: str) -> Iterator[str]:
        if record.get("record") == "bc":
            return
        epoch = fmt_epoch(number(record, "epoch"))
        rollout = record.get("data_mode") == "rollout"
        anneal = any(key in record for key in ANNEAL_KEYS)
        for rule in RULES:
            threshold = self.thresholds[rule.option]
            if threshold is None or (rule.rollout_only and not rollout):
                continue
            if rule.anneal_only and not anneal:
                continue
            value = number(record, rule.key)
            if value is None:
                # An anneal record may lack a value for good (no BC stage ran before it), and the
                # anneal checks are on by default: only explicitly asked checks warn.
                if not rule.anneal_only:
                    self._warn_missing(rule.option, rule.key, where)
            elif value > threshold if rule.above else value < threshold:
                verb = "exceeds" if rule.above else "below"
                yield f"epoch {epoch}: {rule.key} {value:.6g} {verb} {threshold:g}"
        if anneal and self.anneal_loss_max is not None:
            yield from self._anneal_loss(record, epoch)

    def _anneal_loss(self, record: Record, epoch: str) -> Iterator[str]:
        loss, base = number(record, "loss_total"), number(record, "anneal_loss_baseline")
        if loss is None or not base:  # no baseline yet (the first PPO stage), nothing to compare
            return
        drift = abs(loss - base) / abs(base)
        if self.anneal_loss_max is not None and drift > self.anneal_loss_max:
            yield (
                f"epoch {epoch}: anneal_loss_drift {drift:.6g} exceeds {self.anneal_loss_max:g} "
                f"(loss_total {loss:.6g} vs anneal_loss_baseline {base:.6g})"
            )

    def _warn_missing(self, option: str, key: str, where: str) -> None:
        if option not in self.warned:
            self.warned.add(option)
            flag = "--" + option.replace("_", "-")
            say(f"warning: {where}: {key} missing or not a number; {flag} not checked", err=True)


class StopFlag:
    """Set by SIGINT/SIGTERM so the follow loop ends between lines, never mid-output."""

    def __init__(self) -> None:
        self.stopped = False

    def is_set(self) -> bool:
        return self.stopped

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = True

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous: dict[signal.Signals, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Outside the main thread (e.g. called from a worker) there are no handlers to set.
            with suppress(ValueError):
                previous[sig] = signal.signal(sig, self._handle)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def watch(args: argparse.Namespace) -> int:
    status = records = 0
    alerts = Alerts(args)
    stop = StopFlag()

    def unreadable(message: str) -> None:  # a file of the stream; the next one is still read
        nonlocal status
        status = 1
        say(f"{PROG}: {message}", err=True)

    with stop.installed():
        follower = Follower(
            args.log,
            follow=args.follow,
            on_error=unreadable,
            interval=args.interval,
            idle_timeout=args.idle_timeout,
            should_stop=stop.is_set,
        )
        for path, line, raw in follower.lines():
            record, why = parse_line(raw)
            if record is None:
                say(f"{path}:{line}: {why}", err=True)
                status = 1
                continue
            records += 1
            say(as_json(record) if args.json else describe(record))
            for alert in alerts.check(record, f"{path}:{line}"):
                say(alert, err=True)
                status = 1
    # Nothing to watch is a failure, as it is for validate and summary; stopping a --follow
    # with Ctrl-C before the first record arrives is not.
    if records == 0 and not stop.is_set():
        raise ToolError(f"{args.log}: no telemetry records")
    return status


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.idle_timeout is not None and not args.follow:
        parser.error("--idle-timeout needs --follow")


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    return run_command(PROG, build_parser(prog), argv, watch, check_options)


if __name__ == "__main__":
    sys.exit(main())
