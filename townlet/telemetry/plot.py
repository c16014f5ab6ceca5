"""``plot``: training curves of one or more runs in one PNG, one colour per run (DESIGN §7.5).

matplotlib is the optional extra ``townlet[plot]``: it is imported only when a plot is drawn, with
the Agg backend (no display needed). Each log is streamed once and only the plotted columns are
kept. The x-axis is agent-steps when a run records them, else ``steps``, else the epoch.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from townlet.telemetry.command import run_command, say, tool_prog
from townlet.telemetry.streams import (
    ToolError,
    Warn,
    iter_records,
    number,
    stream_paths,
)

PROG = "plot"
INSTALL_HINT = "matplotlib is not installed: pip install townlet[plot]"
X_KEYS: tuple[tuple[str, str], ...] = (
    ("agent_steps", "agent steps"),
    ("steps", "steps (transitions)"),
    ("epoch", "epoch"),
)
# (panel title, y label, keys): one line style per key, one colour per run.
PANELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Total loss", "loss_total", ("loss_total",)),
    ("Policy and value loss", "loss", ("loss_policy", "loss_value")),
    ("KL divergence", "KL", ("kl_divergence", "kl_divergence_max")),
    ("Entropy", "nats", ("loss_entropy",)),
    ("Gradient norm (pre-clip)", "L2 norm", ("grad_norm", "grad_norm_max")),
    ("Clip fraction", "fraction", ("clip_fraction", "clip_fraction_max")),
    ("Queue conflicts", "per epoch", ("queue_conflict_events", "queue_conflict_intensity_sum")),
    (
        "Social life",
        "events per epoch",
        ("shared_meal_events", "late_help_events", "chat_success_events", "shift_takeover_events"),
    ),
)
STYLES = ("-", "--", ":", "-.")
DPI = 100


@dataclass
class Run:
    """The plotted columns of one log: x values and (x, y) points per key."""

    label: str
    x_name: str = "epoch"
    series: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)


def run_label(path: Path, depth: int = 1) -> str:
    """The run folder for townlet's generic file names, else the file; ``depth`` path parts."""
    path = path.resolve()
    generic = path.name == "telemetry.ndjson" or path.name.startswith("telemetry.ndjson.")
    named = path.parent if generic else path
    return "/".join(named.parts[-depth:])


def _raise(message: str) -> None:
    raise ToolError(message)


def read_run(path: Path, label: str, fail: Warn = _raise) -> Run:
    """The plotted columns of the log at ``path``.

    A file of its stream that cannot be read goes to ``fail``: by default that fails the run;
    ``plot`` reports it and plots the files it could read.
    """
    keys = {key for _, _, panel_keys in PANELS for key in panel_keys}
    rows: list[tuple[dict[str, float], dict[str, float]]] = []  # (x candidates, y values)
    have_x = dict.fromkeys((name for name, _ in X_KEYS), True)

    def warn(message: str) -> None:
        say(f"warning: {message} (skipped)", err=True)

    for _, _, record in iter_records(stream_paths(path), warn, fail):
        xs = {name: v for name, _ in X_KEYS if (v := number(record, name)) is not None}
        for name in have_x:
            have_x[name] = have_x[name] and name in xs
        rows.append((xs, {k: v for k in keys if (v := number(record, k)) is not None}))
    if not rows:
        raise ToolError(f"{path}: no telemetry records to plot")
    # The first x key every record carries; else the record's position, shown as the epoch axis.
    x_name = next((name for name, _ in X_KEYS if have_x[name]), "")
    run = Run(label=label, x_name=x_name or "record")
    for index, (xs, ys) in enumerate(rows, start=1):
        x = xs[x_name] if x_name else float(index)
        for key, y in ys.items():
            points = run.series.setdefault(key, ([], []))
            points[0].append(x)
            points[1].append(y)
    return run


def unique_labels(paths: Sequence[Path]) -> list[str]:
    """Run labels, made unique with the parent folder (then the position) where they clash."""
    short = [run_label(path) for path in paths]
    longer = [
        run_label(path, 2) if short.count(label) > 1 else label
        for path, label in zip(paths, short, strict=True)
    ]
    return [
        f"{label} ({i})" if longer.count(long) > 1 else long
        for i, (label, long) in enumerate(zip(short, longer, strict=True), start=1)
    ]


def draw(runs: list[Run], out: Path, width: int, height: int) -> None:
    try:
        import matplotlib
    except ImportError:
        raise ToolError(INSTALL_HINT) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    columns = 4
    rows = math.ceil(len(PANELS) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width / DPI, height / DPI), dpi=DPI)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    x_label = " / ".join(dict.fromkeys(_x_label(run.x_name) for run in runs))
    for ax, (title, y_label, keys) in zip(axes.flat, PANELS, strict=False):
        _panel(ax, runs, keys, colours)
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel(x_label, fontsize="small")
        ax.set_ylabel(y_label, fontsize="small")
        ax.tick_params(labelsize="x-small")
    for ax in list(axes.flat)[len(PANELS) :]:
        ax.set_visible(False)
    handles = [
        Line2D([], [], color=colours[i % len(colours)], label=run.label)
        for i, run in enumerate(runs)
    ]
    fig.legend(handles=handles, loc="upper center", ncol=min(len(runs), 4), fontsize="small")
    fig.suptitle("townlet PPO telemetry", y=0.995, fontsize="large", va="top", ha="left", x=0.01)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    try:
        fig.savefig(out, dpi=DPI, format="png")  # no bbox_inches: the size stays as asked
    except OSError as err:
        raise ToolError(f"{out}: cannot write ({err.strerror or err})") from None
    finally:
        plt.close(fig)


def _x_label(x_name: str) -> str:
    return dict(X_KEYS).get(x_name, "record number")


def _panel(ax: Any, runs: list[Run], keys: tuple[str, ...], colours: list[str]) -> None:
    drawn_keys: set[str] = set()
    for i, run in enumerate(runs):
        for key, style in zip(keys, STYLES, strict=False):
            if key in run.series:
                xs, ys = run.series[key]
                marker = "o" if len(xs) == 1 else None  # a one-record run is still visible
                ax.plot(xs, ys, style, color=colours[i % len(colours)], marker=marker, lw=1.2)
                drawn_keys.add(key)
    if not drawn_keys:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    elif len(keys) > 1:  # say which line style is which key, in neutral grey
        shown = [(k, s) for k, s in zip(keys, STYLES, strict=False) if k in drawn_keys]
        ax.legend(
            handles=[ax.plot([], [], s, color="0.35", label=k)[0] for k, s in shown],
            fontsize="xx-small",
        )


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or tool_prog(PROG),
        description="Plot PPO telemetry curves of one or more runs into a PNG.",
    )
    parser.add_argument("logs", nargs="+", type=Path, metavar="LOG", help="NDJSON log(s)")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.png", help="PNG to write")
    parser.add_argument("--width", type=_pixels, default=1600, help="pixels (default 1600)")
    parser.add_argument("--height", type=_pixels, default=900, help="pixels (default 900)")
    return parser


def _pixels(text: str) -> int:
    value = int(text)
    if not 100 <= value <= 20000:
        raise argparse.ArgumentTypeError(f"must be between 100 and 20000 pixels, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    try:  # fail before reading anything when the extra is missing
        import matplotlib  # noqa: F401
    except ImportError:
        raise ToolError(INSTALL_HINT) from None
    failures = 0

    def fail(message: str) -> None:  # one line for a log or file; the other runs are plotted
        nonlocal failures
        failures += 1
        say(f"{PROG}: {message}", err=True)

    runs = []
    for path, label in zip(args.logs, unique_labels(args.logs), strict=True):
        try:
            runs.append(read_run(path, label, fail))
        except ToolError as err:
            fail(str(err))
    if not runs:
        return 1
    draw(runs, args.out, args.width, args.height)
    say(f"wrote {args.out} ({args.width}x{args.height} px, {len(runs)} run(s))")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    return run_command(PROG, build_parser(prog), argv, run)


if __name__ == "__main__":
    sys.exit(main())
