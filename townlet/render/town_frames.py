"""``town.gif``: the town's map, one frame per ``every``-th tick (drawn with Pillow directly).

A frame shows the grid (walls dark), the objects as lettered squares (legend on the right; a
held object gets a black border, a fridge its meals in stock, and a dark badge counts the agents
queued for it), the agents as circles coloured by their worst need (green 1 → red 0, K1's 0.3
floor is orange) with their initial, several agents on one tile side by side, a fainted agent as
a grey cross, and a header with the tick, the day and any utility outage.

Frames are palette images drawn from one fixed palette, on a pre-drawn background: that keeps a
frame a few milliseconds and the GIF small (Pillow stores only the changed area of each frame).
``every`` defaults to :func:`default_every`, ``ceil(ticks / MAX_FRAMES)``: for ``town`` (1440
ticks, 3 days) every 4th tick, 361 frames. Measured on a busy 2-core machine: about 1 s to draw
and save one town-day (121 frames), 3 s for the whole episode, a GIF of about 1.6 MB that plays
the three days in 22 s at :data:`FRAME_MS`; episodes up to MAX_FRAMES ticks get every tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from townlet.render.style import OBJECT_STYLE, hex_rgb, need_colours, need_level
from townlet.render.trace import TownTrace
from townlet.sim.constants import OBJECT_TYPES

MAX_FRAMES = 360  # longer episodes are shown every k-th tick
FRAME_MS = 60  # display time of one frame
HEADER_PX, LEGEND_PX, MARGIN_PX = 30, 190, 8

# Palette indices: fixed colours first, then the objects, then the need levels.
BG, PAPER, GRID, WALL, INK, WHITE, GHOST, BADGE, ALERT = range(9)
_FIXED: tuple[str, ...] = ("#ffffff", "#f6f6f2", "#dcdcdc", "#3b3b3b", "#000000", "#ffffff")
_FIXED += ("#9a9a9a", "#2b2b2b", "#c51b7d")
OBJ0 = len(_FIXED)
NEED0 = OBJ0 + len(OBJECT_STYLE)


def _palette() -> list[int]:
    colours = [hex_rgb(c) for c in _FIXED] + [hex_rgb(c) for _, c in OBJECT_STYLE]
    colours += need_colours()
    flat = [channel for colour in colours for channel in colour]
    return flat + [0] * (768 - len(flat))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans from matplotlib (always installed with townlet), else Pillow's own font."""
    try:
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size)


@dataclass(frozen=True)
class FrameLayout:
    """Where the grid lies in a frame: tile (x, y) spans ``cell`` pixels from its corner."""

    cell: int
    left: int
    top: int
    width: int  # the frame's size in pixels
    height: int

    @classmethod
    def for_grid(cls, grid_w: int, grid_h: int) -> FrameLayout:
        cell = max(10, min(32, 680 // max(grid_w, grid_h)))
        map_w, map_h = grid_w * cell, grid_h * cell
        height = max(HEADER_PX + map_h + MARGIN_PX, HEADER_PX + 330)
        return cls(cell, MARGIN_PX, HEADER_PX, MARGIN_PX + map_w + LEGEND_PX, height)

    def corner(self, x: int, y: int) -> tuple[int, int]:
        return self.left + x * self.cell, self.top + y * self.cell

    def centre(self, x: int, y: int) -> tuple[int, int]:
        """The pixel at the middle of tile (x, y): where a lone agent's circle is centred."""
        cx, cy = self.corner(x, y)
        return cx + self.cell // 2, cy + self.cell // 2


def default_every(ticks: int) -> int:
    """Ticks per frame: 1 up to MAX_FRAMES ticks, then the smallest k within that budget."""
    return max(1, math.ceil(ticks / MAX_FRAMES))


def frame_states(ticks: int, every: int) -> list[int]:
    """The state indices drawn: 0 (the start), every ``every``-th, and always the last."""
    states = list(range(0, ticks + 1, every))
    return states if states[-1] == ticks else [*states, ticks]


def _background(trace: TownTrace, layout: FrameLayout) -> Image.Image:
    """Everything that does not move: paper, grid lines, walls, objects and the legend."""
    image = Image.new("P", (layout.width, layout.height), BG)
    image.putpalette(_palette())
    draw = ImageDraw.Draw(image)
    cell, (x1, y1) = layout.cell, layout.corner(trace.width, trace.height)
    draw.rectangle((layout.left, layout.top, x1 - 1, y1 - 1), fill=PAPER)
    for gx in range(trace.width + 1):
        draw.line((layout.left + gx * cell, layout.top, layout.left + gx * cell, y1), fill=GRID)
    for gy in range(trace.height + 1):
        draw.line((layout.left, layout.top + gy * cell, x1, layout.top + gy * cell), fill=GRID)
    for wy, wx in zip(*np.nonzero(trace.walls), strict=True):
        cx, cy = layout.corner(int(wx), int(wy))
        draw.rectangle((cx, cy, cx + cell - 1, cy + cell - 1), fill=WALL)
    font = _font(max(8, cell * 9 // 20))
    for o in range(len(trace.object_ids)):
        kind = int(trace.object_kind[o])
        cx, cy = layout.corner(int(trace.object_x[o]), int(trace.object_y[o]))
        draw.rectangle((cx + 1, cy + 1, cx + cell - 2, cy + cell - 2), fill=OBJ0 + kind)
        draw.text((cx + 3, cy + 2), OBJECT_STYLE[kind][0], fill=INK, font=font)
    _legend(draw, trace, layout)
    return image


def _legend(draw: ImageDraw.ImageDraw, trace: TownTrace, layout: FrameLayout) -> None:
    x0, y, font, small = layout.width - LEGEND_PX + 10, layout.top, _font(13), _font(11)
    draw.text((x0, y), "objects", fill=INK, font=font)
    y += 20
    present = sorted(set(int(k) for k in trace.object_kind))
    for kind in present:
        draw.rectangle((x0, y, x0 + 18, y + 16), fill=OBJ0 + kind)
        draw.text((x0 + 2, y + 2), OBJECT_STYLE[kind][0], fill=INK, font=small)
        draw.text((x0 + 26, y + 1), OBJECT_TYPES[kind], fill=INK, font=small)
        y += 20
    y += 6
    draw.text((x0, y), "agent: worst need", fill=INK, font=font)
    y += 20
    levels = len(need_colours())
    step = max(1, 160 // levels)
    for level in range(levels):
        draw.rectangle(
            (x0 + level * step, y, x0 + (level + 1) * step - 1, y + 12), fill=NEED0 + level
        )
    draw.text((x0, y + 14), "0", fill=INK, font=small)
    floor_x = x0 + round(trace.need_floor * (levels - 1)) * step
    draw.text((floor_x, y + 14), f"{trace.need_floor:g}", fill=INK, font=small)
    draw.text((x0 + levels * step - 8, y + 14), "1", fill=INK, font=small)
    y += 34
    notes = (
        "letter: agent's initial",
        "black border: object in use",
        "dark badge: queue length",
        "number in a fridge: meals",
        "grey cross: fainted / gone",
    )
    for note in notes:
        draw.text((x0, y), note, fill=INK, font=small)
        y += 16


def _slots(count: int, cell: int) -> tuple[list[tuple[int, int]], int]:
    """Offsets (from the tile's corner) and radius for ``count`` agents sharing one tile.

    Two to four share a 2 x 2 layout with circles a little larger than their quarter (they
    overlap slightly), so that their initials stay readable; more use a 3 x 3 layout.
    """
    side = 1 if count == 1 else 2 if count <= 4 else 3
    sub = cell / side
    offsets = [
        (round((i % side + 0.5) * sub), round((i // side + 0.5) * sub)) for i in range(count)
    ]
    scale = 0.47 if side != 2 else 0.62
    return offsets, max(2, int(sub * scale))


def draw_frame(
    trace: TownTrace, index: int, layout: FrameLayout, background: Image.Image
) -> Image.Image:
    """The frame of state ``index`` (0 = after the reset) on a copy of ``background``."""
    image = background.copy()
    draw = ImageDraw.Draw(image)
    cell = layout.cell
    small = _font(max(8, cell * 2 // 5))
    held = trace.hold_obj[index]
    queued = trace.queue_length(index)
    for o in range(len(trace.object_ids)):
        cx, cy = layout.corner(int(trace.object_x[o]), int(trace.object_y[o]))
        if np.count_nonzero(held == o):
            draw.rectangle((cx, cy, cx + cell - 1, cy + cell - 1), outline=INK, width=2)
        if trace.object_kind[o] == OBJECT_TYPES.index("fridge"):
            stock = str(int(trace.stock[index, o]))
            draw.text((cx + cell - 3, cy + cell - 2), stock, fill=INK, font=small, anchor="rd")
        if queued[o]:
            r = max(5, cell // 3)
            bx, by = cx + cell - 2, cy + 1
            draw.ellipse((bx - r, by - r, bx + r, by + r), fill=BADGE)
            draw.text((bx, by), str(int(queued[o])), fill=WHITE, font=small, anchor="mm")
    _draw_agents(draw, trace, index, layout)
    _header(draw, trace, index, layout)
    return image


def _draw_agents(
    draw: ImageDraw.ImageDraw, trace: TownTrace, index: int, layout: FrameLayout
) -> None:
    """The fallen first, as grey crosses with a grey initial, then the living on top: only the
    living share a tile's slots, so a body never shrinks the agent standing on it."""
    xs, ys, alive = trace.x[index], trace.y[index], trace.alive[index]
    levels = need_level(trace.needs[index].min(axis=1))
    cell, half = layout.cell, layout.cell // 2
    small = _font(max(7, cell * 2 // 5))
    for fallen in np.flatnonzero(~alive):
        cx, cy = layout.corner(int(xs[fallen]), int(ys[fallen]))
        arm = int(cell * 0.26)
        px, py = cx + half, cy + half
        draw.line((px - arm, py - arm, px + arm, py + arm), fill=GHOST, width=3)
        draw.line((px - arm, py + arm, px + arm, py - arm), fill=GHOST, width=3)
        initial = trace.agent_ids[fallen][:1].upper()
        draw.text((cx + cell - 2, cy + cell - 1), initial, fill=GHOST, font=small, anchor="rd")
    tiles: dict[tuple[int, int], list[int]] = {}
    for living in np.flatnonzero(alive):
        tiles.setdefault((int(xs[living]), int(ys[living])), []).append(int(living))
    for (x, y), agents in tiles.items():
        offsets, radius = _slots(len(agents), cell)
        cx, cy = layout.corner(x, y)
        font = _font(max(7, radius * 5 // 4))
        for agent, (dx, dy) in zip(agents, offsets, strict=True):
            px, py = cx + dx, cy + dy
            box = (px - radius, py - radius, px + radius, py + radius)
            draw.ellipse(box, fill=NEED0 + int(levels[agent]), outline=INK)
            if radius >= 5:  # the letter fits; smaller circles stay plain
                initial = trace.agent_ids[agent][:1].upper()
                draw.text((px, py + 1), initial, fill=INK, font=font, anchor="mm")


def _header(draw: ImageDraw.ImageDraw, trace: TownTrace, index: int, layout: FrameLayout) -> None:
    tick, per_day = int(trace.tick[index]), trace.ticks_per_day
    text = (
        f"tick {tick:>4} / {trace.num_ticks}   day {tick // per_day + 1}, "
        f"tick {tick % per_day} of {per_day}   {trace.scenario} · {trace.policy}"
    )
    draw.text((layout.left, 6), text, fill=INK, font=_font(15))
    outages = [
        name for name, off in (("power", trace.power_off), ("water", trace.water_off)) if off[index]
    ]
    if outages:
        draw.text(
            (layout.width - LEGEND_PX + 10, 6),
            " + ".join(outages) + " off",
            fill=ALERT,
            font=_font(15),
        )


def town_frames(trace: TownTrace, every: int | None = None) -> list[Image.Image]:
    """The frames of :func:`frame_states` (``every`` ticks apart, default :func:`default_every`)."""
    step = every or default_every(trace.num_ticks)
    layout = FrameLayout.for_grid(trace.width, trace.height)
    background = _background(trace, layout)
    return [draw_frame(trace, i, layout, background) for i in frame_states(trace.num_ticks, step)]


def write_gif(trace: TownTrace, path: Path, every: int | None = None) -> Path:
    """Save the animation as a looping GIF of :data:`FRAME_MS` per frame."""
    frames = town_frames(trace, every)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(
        path, save_all=True, append_images=frames[1:], duration=FRAME_MS, loop=0, optimize=False
    )
    return path
