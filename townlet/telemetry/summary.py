"""``summary``: latest values, extremes, anneal status and baseline drift of a log (DESIGN §7.5).

Streams the log (the whole rotated stream: base, ``.1``, ``.2``, …) and keeps only what the report
needs: running min/max and the latest records, or the last N records with ``--last N``. The JSON
form has stable keys; every key is always present, with null where the log has no value:

- ``log`` (str), ``files`` (list of str): the path given and the files read, oldest first
- ``records_total`` (int): records read; ``epochs`` (int): records analysed (≤ ``--last``)
- ``skipped_lines`` (int): lines that were not JSON objects (reported on stderr)
- ``latest_epoch``, ``telemetry_version``, ``cycle_id``, ``log_stream_offset`` (float|null),
  ``data_mode`` (str|null): from the latest record
- ``latest``: {key: float|null} for every key of LATEST_KEYS
- ``extremes``: {key: {"min": float|null, "max": float|null}} for every key of EXTREME_KEYS
- ``anneal``: null, or the latest anneal record's {stage, dataset (str|null), cycle, bc_accuracy,
  bc_threshold, loss_baseline, queue_baseline, intensity_baseline (float|null), bc_passed,
  loss_flag, queue_flag, intensity_flag (bool|null)}
- ``kpi``: null, or the latest record carrying KPIs (DESIGN §13): {epoch, and every key of
  KPI_KEYS} (float|null)
- ``baseline_drift``: null without ``--baseline``; else {key: {baseline, latest, delta, percent}}
  (floats) for each baseline_* key of the baseline that the latest record also holds, in the order
  ``validate`` uses (schema keys first, then by name). ``percent`` is delta / |baseline| × 100,
  null when the baseline is 0 and the delta is not.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from townlet.telemetry.schema import KPI_KEYS
from townlet.telemetry.streams import (
    Record,
    ToolError,
    fmt,
    fmt_epoch,
    iter_records,
    load_baseline,
    number,
    run_tool,
    say,
    stream_paths,
)
from townlet.telemetry.validate import baseline_values, relative_drift

PROG = "summary"

LOSS_KEYS: tuple[str, ...] = ("loss_total", "loss_policy", "loss_value", "loss_entropy")
HEALTH_KEYS: tuple[str, ...] = ("kl_divergence", "kl_divergence_max", "grad_norm", "grad_norm_max")
QUEUE_KEYS: tuple[str, ...] = ("queue_conflict_events", "queue_conflict_intensity_sum")
SOCIAL_KEYS: tuple[str, ...] = (
    "shared_meal_events", "late_help_events", "shift_takeover_events",
    "chat_success_events", "chat_failure_events", "chat_quality_mean",
)  # fmt: skip
# Latest-only: PPO numbers without a meaningful min/max, and the run's progress.
OTHER_KEYS: tuple[str, ...] = (
    "clip_fraction", "batch_entropy_mean", "reward_advantage_corr", "explained_variance", "lr",
    "epoch_duration_sec", "rollout_ticks", "steps", "agent_steps",
)  # fmt: skip
EXTREME_KEYS: tuple[str, ...] = LOSS_KEYS + HEALTH_KEYS + QUEUE_KEYS + SOCIAL_KEYS
LATEST_KEYS: tuple[str, ...] = LOSS_KEYS + HEALTH_KEYS + OTHER_KEYS + QUEUE_KEYS + SOCIAL_KEYS
ANNEAL_TEXT = ("stage", "dataset")
ANNEAL_NUMBERS = (
    "cycle", "bc_accuracy", "bc_threshold", "loss_baseline", "queue_baseline", "intensity_baseline",
)  # fmt: skip
ANNEAL_FLAGS = ("bc_passed", "loss_flag", "queue_flag", "intensity_flag")


class Extremes:
    """Running min/max of EXTREME_KEYS over the records fed to it."""

    def __init__(self) -> None:
        self.low: dict[str, float] = {}
        self.high: dict[str, float] = {}

    def add(self, record: Record) -> None:
        for key in EXTREME_KEYS:
            value = record.get(key)
            if type(value) is not float:  # the common case skips the general conversion
                value = number(record, key)
            if value is None or not math.isfinite(value):
                continue
            if key not in self.low or value < self.low[key]:
                self.low[key] = value
            if key not in self.high or value > self.high[key]:
                self.high[key] = value

    def as_dict(self) -> dict[str, dict[str, float | None]]:
        return {k: {"min": self.low.get(k), "max": self.high.get(k)} for k in EXTREME_KEYS}


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    return None


def anneal_status(record: Record | None) -> dict[str, Any] | None:
    if record is None:
        return None
    status: dict[str, Any] = {}
    for name in ANNEAL_TEXT:
        value = record.get(f"anneal_{name}")
        status[name] = value if isinstance(value, str) else None
    status.update({name: number(record, f"anneal_{name}") for name in ANNEAL_NUMBERS})
    status.update({name: _flag(record.get(f"anneal_{name}")) for name in ANNEAL_FLAGS})
    return status


def baseline_drift(latest: Record, baseline: dict[str, float] | None) -> dict[str, Any] | None:
    """Drift of the latest record on the baseline_* keys, as ``validate --baseline`` sees it."""
    if baseline is None:
        return None
    drift: dict[str, Any] = {}
    for key, base in baseline.items():
        value = number(latest, key)
        if value is None:
            continue
        delta = value - base
        percent = relative_drift(delta, base)
        drift[key] = {
            "baseline": base,
            "latest": value,
            "delta": delta,
            "percent": percent if math.isfinite(percent) else None,  # JSON has no infinity
        }
    return drift


def summarise(
    records: Iterable[Record], last: int | None, baseline: dict[str, float] | None
) -> dict[str, Any]:
    """The summary dict (module docstring) of a record stream, in one pass."""
    window: deque[Record] = deque(maxlen=last or 1)
    extremes, latest_anneal, latest_kpi, total = Extremes(), None, None, 0
    for record in records:
        total += 1
        window.append(record)
        if last is None:  # whole log: fold as we go, keep only the latest record
            extremes.add(record)
            latest_anneal = record if _is_anneal(record) else latest_anneal
            latest_kpi = record if _has_kpis(record) else latest_kpi
    if total == 0:
        raise ToolError("no telemetry records")
    if last is not None:  # only the window counts
        for record in window:
            extremes.add(record)
            latest_anneal = record if _is_anneal(record) else latest_anneal
            latest_kpi = record if _has_kpis(record) else latest_kpi
    latest = window[-1]
    return {
        "records_total": total,
        "epochs": len(window) if last is not None else total,
        "latest_epoch": number(latest, "epoch"),
        "telemetry_version": number(latest, "telemetry_version"),
        "data_mode": latest.get("data_mode") if isinstance(latest.get("data_mode"), str) else None,
        "cycle_id": number(latest, "cycle_id"),
        "log_stream_offset": number(latest, "log_stream_offset"),
        "latest": {key: number(latest, key) for key in LATEST_KEYS},
        "extremes": extremes.as_dict(),
        "anneal": anneal_status(latest_anneal),
        "kpi": kpi_status(latest_kpi),
        "baseline_drift": baseline_drift(latest, baseline),
    }


def _is_anneal(record: Record) -> bool:
    return isinstance(record.get("anneal_stage"), str) and bool(record["anneal_stage"])


def _has_kpis(record: Record) -> bool:
    return any(key in record for key in KPI_KEYS)


def kpi_status(record: Record | None) -> dict[str, float | None] | None:
    """The epoch and KPI values of the latest record that carries KPIs (None: no such record)."""
    if record is None:
        return None
    return {"epoch": number(record, "epoch"), **{key: number(record, key) for key in KPI_KEYS}}


def _kpi_pairs(kpi: dict[str, float | None]) -> str:
    return ", ".join(f"{key}={fmt(kpi[key], 3)}" for key in KPI_KEYS)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}%"


def _fmt_any(value: object) -> str:
    """An anneal status value: floats to 3 decimals, flags as true/false, None as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    return fmt(value, 3) if isinstance(value, float) else str(value)


def _pairs(values: dict[str, float | None], keys: tuple[str, ...], digits: int = 6) -> str:
    return ", ".join(f"{key}={fmt(values[key], digits)}" for key in keys)


def render_text(s: dict[str, Any]) -> str:
    latest, ext = s["latest"], s["extremes"]
    lines = [
        f"Log: {s['log']} ({len(s['files'])} file(s), {s['records_total']} record(s))",
        f"Epochs analysed: {s['epochs']} (latest epoch {fmt_epoch(s['latest_epoch'])}, "
        f"mode={s['data_mode'] or 'n/a'}, cycle_id={fmt_epoch(s['cycle_id'])}, "
        f"offset={fmt_epoch(s['log_stream_offset'])})",
        "Latest metrics: " + _pairs(latest, LOSS_KEYS + HEALTH_KEYS),
        "                " + _pairs(latest, OTHER_KEYS),
        "Queue conflicts: " + _pairs(latest, QUEUE_KEYS, 2),
        "Social interactions: " + _pairs(latest, SOCIAL_KEYS, 3),
    ]
    if s["kpi"]:
        epoch = fmt_epoch(s["kpi"]["epoch"])
        lines.append(f"Living well (KPIs, epoch {epoch}): {_kpi_pairs(s['kpi'])}")
    lines.append("Extremes:")
    lines += [f"  {k:<30} min={fmt(ext[k]['min']):>14}  max={fmt(ext[k]['max']):>14}" for k in ext]
    if s["anneal"]:
        a = s["anneal"]
        lines.append("Anneal status: " + ", ".join(f"{k}={_fmt_any(v)}" for k, v in a.items()))
    if s["baseline_drift"] is not None:
        lines.append("Baseline drift (latest - baseline):")
        for key, d in s["baseline_drift"].items():
            lines.append(f"  {key}: delta={d['delta']:+.6f} ({_pct(d['percent'])})")
    return "\n".join(lines)


def render_markdown(s: dict[str, Any]) -> str:
    latest, ext = s["latest"], s["extremes"]
    lines = [
        "### PPO telemetry summary",
        "",
        f"- Log: `{s['log']}` ({len(s['files'])} file(s), {s['records_total']} record(s))",
        f"- Epochs analysed: **{s['epochs']}** (latest epoch {fmt_epoch(s['latest_epoch'])})",
        f"- Data mode: **{s['data_mode'] or 'n/a'}** (cycle `{fmt_epoch(s['cycle_id'])}`, "
        f"offset `{fmt_epoch(s['log_stream_offset'])}`)",
    ]
    if s["anneal"]:
        items = ", ".join(f"{k} `{_fmt_any(v)}`" for k, v in s["anneal"].items())
        lines.append(f"- Anneal status: {items}")
    if s["kpi"]:
        epoch = fmt_epoch(s["kpi"]["epoch"])
        lines.append(f"- Living well (KPIs, epoch {epoch}): {_kpi_pairs(s['kpi'])}")
    lines += ["", "| Metric | Latest | Min | Max |", "| --- | ---: | ---: | ---: |"]
    for key in LATEST_KEYS:
        low, high = (ext[key]["min"], ext[key]["max"]) if key in ext else (None, None)
        lines.append(f"| {key} | {fmt(latest[key])} | {fmt(low)} | {fmt(high)} |")
    if s["baseline_drift"] is not None:
        lines += ["", "#### Baseline drift", "", "| Key | Baseline | Latest | Delta | Percent |"]
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for key, d in s["baseline_drift"].items():
            lines.append(
                f"| {key} | {fmt(d['baseline'])} | {fmt(d['latest'])} | {d['delta']:+.6f} "
                f"| {_pct(d['percent'])} |"
            )
    return "\n".join(lines)


def build_parser(prog: str = f"python -m townlet.telemetry {PROG}") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Summarise a PPO telemetry log.")
    parser.add_argument("log", type=Path, metavar="LOG", help="NDJSON log (rotated files follow)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--last", type=_count, metavar="N", help="only the last N records")
    parser.add_argument(
        "--baseline", type=Path, metavar="JSON", help="a JSON object (e.g. a telemetry record)"
    )
    return parser


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    baseline = None
    if args.baseline is not None:
        baseline = baseline_values(load_baseline(args.baseline), args.baseline)
    files = stream_paths(args.log)
    skipped = 0

    def warn(message: str) -> None:
        nonlocal skipped
        skipped += 1
        say(f"warning: {message} (skipped)", err=True)

    records = (record for _, _, record in iter_records(files, warn))
    try:
        body = summarise(records, args.last, baseline)
    except ToolError as err:
        raise ToolError(f"{args.log}: {err}") from None
    summary = {
        "log": str(args.log),
        "files": [str(f) for f in files],
        "records_total": body.pop("records_total"),
        "epochs": body.pop("epochs"),
        "skipped_lines": skipped,
        **body,
    }
    renderers = {"text": render_text, "markdown": render_markdown}
    say(json.dumps(summary, indent=2) if args.format == "json" else renderers[args.format](summary))
    return 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog) if prog else build_parser()
    args = parser.parse_args(argv)
    return run_tool(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
