"""``timeline.png``: one row per agent over the episode's ticks (DESIGN §9, §13).

Each row shows the agent's three needs (1 = satisfied) as lines with K1's 0.3 floor dashed, its
activity at every tick as a coloured band under them (:mod:`townlet.render.style`), its shift
windows shaded (red where it was late or absent), day boundaries, and a red cross where it
fainted. The figure has a fixed size in pixels (:func:`timeline_size`), so the picture of a run
and its TensorBoard image line up from run to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from townlet.render.style import ACTIVITIES, NEED_COLOURS, activities
from townlet.render.trace import TownTrace
from townlet.sim.constants import NEED_NAMES, SHIFT_ABSENT, SHIFT_LATE

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
WIDTH_IN = 16.0
ROW_IN = 1.3  # height of one agent's row
HEAD_IN = 1.6  # title, legends and day labels
FOOT_IN = 0.45  # the tick axis
BAND = (-0.2, -0.05)  # y span of the activity band under the needs' [0, 1]
SHIFT_COLOUR, LATE_COLOUR = "#fff3b0", "#f4a582"


def timeline_size(num_agents: int) -> tuple[int, int]:
    """(width, height) in pixels of the timeline of ``num_agents`` agents."""
    return round(WIDTH_IN * DPI), round((HEAD_IN + FOOT_IN + ROW_IN * num_agents) * DPI)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True in a 1-d mask."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _shade_shifts(ax: Axes, trace: TownTrace, agent: int) -> None:
    """The agent's shift windows of every day, and the ticks it was late or absent in them."""
    start, end = int(trace.shift_start[agent]), int(trace.shift_end[agent])
    if start < 0:
        return
    per_day, ticks = trace.ticks_per_day, trace.num_ticks
    for day in range(-(-ticks // per_day)):
        lo, hi = day * per_day + start, min(day * per_day + end, ticks)
        if lo < hi:  # zorder 0: under the activity band (an image, zorder 0.5) and the lines
            ax.axvspan(lo, hi, color=SHIFT_COLOUR, zorder=0)
    # shift_state after tick t describes tick t: it is drawn over [t, t + 1). A dead agent keeps
    # its last state, so only living ticks inside the window count.
    phase = np.arange(ticks) % per_day
    inside = (phase >= start) & (phase < end) & trace.alive[1:, agent]
    late = inside & np.isin(trace.shift_state[1:, agent], (SHIFT_LATE, SHIFT_ABSENT))
    for lo, hi in _runs(late):
        ax.axvspan(lo, hi, ymin=0.5, color=LATE_COLOUR, zorder=0)


def _draw_row(ax: Axes, trace: TownTrace, agent: int, doing: np.ndarray, cmap: object) -> None:
    ticks = trace.num_ticks
    _shade_shifts(ax, trace, agent)
    steps = np.arange(ticks + 1)
    alive = trace.alive[:, agent].copy()
    alive[1:] |= trace.fainted[:, agent] | trace.evicted[:, agent]  # keep the line to the death
    for need, colour in enumerate(NEED_COLOURS):
        # Needs of the dead stay frozen in the state: they end the line instead.
        values = np.where(alive, trace.needs[:, agent, need], np.nan)
        ax.plot(steps, values, color=colour, lw=1.3)
    ax.axhline(trace.need_floor, color="#b2182b", lw=0.9, ls="--")
    ax.imshow(
        doing[None, :, agent],
        aspect="auto",
        cmap=cmap,  # type: ignore[arg-type]
        vmin=-0.5,
        vmax=len(ACTIVITIES) - 0.5,
        extent=(0, ticks, BAND[0], BAND[1]),
        interpolation="nearest",
        zorder=0.5,
    )
    for day in range(1, -(-ticks // trace.ticks_per_day)):
        ax.axvline(day * trace.ticks_per_day, color="#404040", lw=1.0, ls=":")
    for tick in np.flatnonzero(trace.fainted[:, agent]):
        ax.axvline(float(tick + 1), color="#d7301f", lw=1.5)
        ax.plot(tick + 1, 0.5, marker="X", ms=13, color="#d7301f", mec="white")
    for tick in np.flatnonzero(trace.evicted[:, agent]):
        ax.axvline(float(tick + 1), color="black", lw=1.5)
        ax.plot(tick + 1, 0.5, marker="X", ms=13, color="black", mec="white")
    job = trace.agent_jobs[agent]
    label = trace.agent_ids[agent] + (f"\n({job})" if job else "")
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=11, labelpad=8)
    ax.set_ylim(BAND[0] - 0.02, 1.04)
    ax.set_xlim(0, ticks)
    ax.set_yticks([0.0, trace.need_floor, 1.0], ["0", f"{trace.need_floor:g}", "1"], fontsize=8)
    ax.grid(axis="x", color="#dddddd", lw=0.5)


def draw_timeline(trace: TownTrace) -> Figure:
    """The timeline figure (not shown; save it or turn it into pixels)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    agents, ticks = trace.num_agents, trace.num_ticks
    width, height = timeline_size(agents)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    height_in = height / DPI
    fig.subplots_adjust(
        left=0.075, right=0.99, top=1 - HEAD_IN / height_in, bottom=FOOT_IN / height_in, hspace=0.1
    )
    axes = fig.subplots(agents, 1, sharex=True, squeeze=False)[:, 0]
    cmap = ListedColormap([colour for _, colour in ACTIVITIES])
    doing = activities(trace.run_aff[1:], trace.actions, trace.alive[:-1])
    for agent, ax in enumerate(axes):
        _draw_row(ax, trace, agent, doing, cmap)
    axes[-1].set_xlabel("tick", fontsize=10, labelpad=1)
    for day in range(-(-ticks // trace.ticks_per_day)):
        middle = (day + 0.5) * trace.ticks_per_day
        if middle < ticks:
            axes[0].text(middle, 1.08, f"day {day + 1}", ha="center", va="bottom", fontsize=10)
    days, per_day = ticks / trace.ticks_per_day, trace.ticks_per_day
    span = f"{days:g} day{'s' if days != 1 else ''} of {per_day}" if days >= 1 else "under a day"
    fig.suptitle(
        f"{trace.scenario} · policy {trace.policy} · {ticks} ticks ({span}) · town 0",
        fontsize=14,
        fontweight="bold",
        y=1 - 0.08 / height_in,
        va="top",
    )
    lines: list[Artist] = [
        Line2D([], [], color=c, lw=2, label=f"{n} (1 = satisfied)")
        for n, c in zip(NEED_NAMES, NEED_COLOURS, strict=True)
    ]
    lines += [
        Line2D([], [], color="#b2182b", ls="--", label=f"{trace.need_floor:g}: K1 need floor"),
        Patch(color=SHIFT_COLOUR, label="shift window"),
        Patch(color=LATE_COLOUR, label="late / absent (upper half)"),
        Line2D([], [], color="#d7301f", marker="X", ms=10, lw=1.5, label="fainted"),
        Line2D([], [], color="#404040", ls=":", label="new day"),
    ]
    fig.legend(
        handles=lines, loc="upper center", ncol=len(lines), fontsize=9.5, frameon=False,
        bbox_to_anchor=(0.5, 1 - 0.42 / height_in),
    )  # fmt: skip
    patches = [Patch(color=colour, label=name) for name, colour in ACTIVITIES]
    fig.legend(
        handles=patches, loc="upper center", ncol=len(patches), fontsize=9.5, frameon=False,
        bbox_to_anchor=(0.5, 1 - 0.78 / height_in), handlelength=1.5,
        title="band under each row: what the agent does (the affordance it runs, else its action)",
        title_fontsize=9.5,
    )  # fmt: skip
    return fig


def timeline_pixels(trace: TownTrace) -> np.ndarray:
    """The timeline as an [H, W, 3] uint8 image (for TensorBoard)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(draw_timeline(trace))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def write_timeline(trace: TownTrace, path: Path) -> Path:
    """Save the timeline as a PNG of :func:`timeline_size` pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = draw_timeline(trace)
    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path
