"""``summary``: latest values, extremes, anneal status and baseline drift of a log (DESIGN §7.5).

Streams the log (the whole rotated stream: base, ``.1``, ``.2``, …) through
:func:`townlet.telemetry.summary_values.summarise`, which keeps only what the report needs, and
renders the result as text, markdown or JSON. The JSON form has stable keys; every key is always
present, with null where the log has no value:

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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from townlet.telemetry.command import run_command, say, tool_prog
from townlet.telemetry.schema import KPI_KEYS
from townlet.telemetry.streams import (
    ToolError,
    fmt,
    fmt_epoch,
    iter_records,
    load_baseline,
    stream_paths,
)
from townlet.telemetry.summary_values import (
    HEALTH_KEYS,
    LATEST_KEYS,
    LOSS_KEYS,
    OTHER_KEYS,
    QUEUE_KEYS,
    SOCIAL_KEYS,
    summarise,
)
from townlet.telemetry.validate import baseline_values

PROG = "summary"


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


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or tool_prog(PROG), description="Summarise a PPO telemetry log."
    )
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
    unread: list[str] = []

    def warn(message: str) -> None:
        nonlocal skipped
        skipped += 1
        say(f"warning: {message} (skipped)", err=True)

    def fail(message: str) -> None:  # a file of the stream that cannot be read; the rest can
        unread.append(message)
        say(f"{PROG}: {message}", err=True)

    records = (record for _, _, record in iter_records(files, warn, fail))
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
    return 1 if unread else 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    return run_command(PROG, build_parser(prog), argv, run)


if __name__ == "__main__":
    sys.exit(main())
