"""Egocentric maps (§9.8) for every agent of every town in one vectorised pass.

Instead of cutting an 11x11 window per agent out of per-town grids, the map is scattered from
the few things that can appear in it: other agents ([T, A, A] offsets) and objects ([T, A, O]
offsets). Row index is dy + radius (north up), column index dx + radius (west left); the agent
itself sits at the centre of the ``self`` channel.

Channels: hybrid = self, agents, objects, reservations (11x11); full = hybrid + path_dx,
path_dy (each tile's unit offset from the agent, as in the older system); compact = self,
agents, objects, reservations, walkable (7x7; 0 on walls and off the grid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.constants import MAP_CHANNELS, MAP_WINDOW
from townlet.sim.layout import Layout
from townlet.sim.queues import object_counts
from townlet.sim.view import WorldView


@dataclass
class LocalSummary:
    """Counts inside the agent's map window, for the neighbourhood features."""

    agents: np.ndarray  # [T, A] other living agents in the window
    objects: np.ndarray  # [T, A] objects in the window
    reserved: np.ndarray  # [T, A] held objects (reserved tiles) in the window
    nearest: np.ndarray  # [T, A] Euclidean distance to the nearest other agent in it (0: none)
    radius: int
    tiles: int


class MapBuilder:
    """Builds ``map`` [T, A, C, S, S] float32 for one layout and variant."""

    def __init__(self, layout: Layout, variant: str) -> None:
        self.layout = layout
        self.variant = variant
        self.channels = MAP_CHANNELS[variant]
        self.size = MAP_WINDOW[variant]
        self.radius = self.size // 2
        r = self.radius
        offs = np.arange(-r, r + 1, dtype=np.float64)
        dx, dy = np.meshgrid(offs, offs)  # [row=dy, col=dx]
        norm = np.hypot(dx, dy)
        safe = np.where(norm > 0, norm, 1.0)
        self.path_template = np.stack([dx / safe, dy / safe]).astype(np.float32)
        padded = np.pad(layout.walkable, r, constant_values=False).astype(np.float32)
        self.walk_windows = np.lib.stride_tricks.sliding_window_view(padded, (self.size, self.size))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.channels), self.size, self.size)

    def build(self, view: WorldView) -> tuple[np.ndarray, LocalSummary]:
        state = view.state
        layout, r, size = self.layout, self.radius, self.size
        towns, agents = state.x.shape
        channels = len(self.channels)
        out = np.zeros((towns, agents, channels, size, size), dtype=np.float32)
        out[:, :, 0, r, r] = 1.0
        flat = out.reshape(-1)
        # Offset of each agent's map inside ``flat``; a tile's index adds channel, row, column.
        base = (np.arange(towns * agents) * (channels * size * size)).reshape(towns, agents, 1)
        plane = size * size

        dx, dy = view.offsets
        seen = view.others & (np.abs(dx) <= r) & (np.abs(dy) <= r)
        flat[(base + plane + (dy + r) * size + (dx + r))[seen]] = 1.0
        # Nearest by squared integer distance: far cheaper than hypot on every pair.
        far = 1 << 30
        d2 = np.where(seen, dx * dx + dy * dy, far).min(axis=2, initial=far)
        nearest = np.where(d2 < far, np.sqrt(d2), 0.0)

        n_obj = layout.num_objects
        if n_obj:
            odx = layout.obj_x - state.x[:, :, None]
            ody = layout.obj_y - state.y[:, :, None]
            in_view = (np.abs(odx) <= r) & (np.abs(ody) <= r)
            tile = base + (ody + r) * size + (odx + r)
            flat[(tile + 2 * plane)[in_view]] = 1.0
            held = object_counts(state.hold_obj, n_obj) > 0
            reserved = in_view & held[:, None, :]
            flat[(tile + 3 * plane)[reserved]] = 1.0
            obj_count, res_count = in_view.sum(axis=2), reserved.sum(axis=2)
        else:
            obj_count = res_count = np.zeros((towns, agents), dtype=np.int64)

        if self.variant == "full":
            out[:, :, 4:6] = self.path_template
        elif self.variant == "compact":
            out[:, :, 4] = self.walk_windows[state.y, state.x]
        summary = LocalSummary(seen.sum(axis=2), obj_count, res_count, nearest, r, size * size)
        return out, summary
