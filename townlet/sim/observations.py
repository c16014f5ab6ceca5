"""Observations (§9.8): egocentric maps and action masks, for every agent of every town at once.

Maps: instead of cutting an 11x11 window per agent out of per-town grids, the map is scattered
from the few things that can appear in it: other agents (by pair offset) and objects (by tile,
as they never move). Row index is dy + radius (north up), column index dx + radius (west left);
the agent itself sits at the centre of the ``self`` channel.

Channels: hybrid = self, agents, objects, reservations (11x11); full = hybrid + path_dx,
path_dy (each tile's unit offset from the agent, as in the older system); compact = self,
agents, objects, reservations, walkable (7x7; 0 on walls and off the grid).

Action masks (§9.7): while an affordance runs (or after the agent has terminated) only ``wait``
is allowed. Moves into walls or off the grid are masked, as are options whose target the
scenario lacks, work without a job, chat without a living neighbour within one tile or within
``social.chat_cooldown`` ticks of the speaker's last chat, and avoid_rival without a living
rival to avoid. The features are built by :mod:`townlet.sim.features`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.constants import AVOID, CHAT, MAP_CHANNELS, MAP_WINDOW
from townlet.sim.indexing import row_starts
from townlet.sim.view import PositionFrame, WorldView
from townlet.sim.world import World


@dataclass(slots=True)
class _Spots:
    """Map cells of one set of positions (kept while the agents stay put)."""

    agent_cells: np.ndarray  # flat output indices of the agents seen by each agent
    objects: np.ndarray  # [T, A, S, S] uint8 objects plane
    obj_in_view: np.ndarray  # [T, A, O] object o is in the window
    obj_cells: np.ndarray  # [T, A, O] flat output index of o in the reservations plane
    # [T, A, 4] float64 neighbor_agent_ratio, neighbor_object_ratio, reserved_tile_ratio (0
    # here: filled in per hold_obj) and nearest_agent_distance.
    neighbourhood: np.ndarray


@dataclass(slots=True)
class LocalSummary:
    """What the map window holds, for the neighbourhood features."""

    # [T, A, 4] float64, in FEATURE_NAMES order: neighbor_agent_ratio (other living agents /
    # (tiles - 1)), neighbor_object_ratio (objects / tiles), reserved_tile_ratio (held objects /
    # tiles) and nearest_agent_distance (Euclidean distance to the nearest other agent in the
    # window / radius, 0 without one), each capped at 1.
    neighbourhood: np.ndarray


class MapBuilder:
    """Builds ``map`` [T, A, C, S, S] float32 for one world and variant.

    Everything that depends on the world alone is tabulated once here: the objects plane seen
    from every tile, each object's window cell from every tile, and for every pair offset its
    window cell and squared distance (indexed by ``PositionFrame.pair``). A map is then a
    handful of gathers and two scatters, whatever the number of objects; and while the agents
    stay put even the gathers are reused.
    """

    def __init__(self, world: World, variant: str) -> None:
        self.world = world
        self.variant = variant
        self.channels = MAP_CHANNELS[variant]
        self.size = MAP_WINDOW[variant]
        self.radius = self.size // 2
        r, size = self.radius, self.size
        offs = np.arange(-r, r + 1, dtype=np.float64)
        dx, dy = np.meshgrid(offs, offs)  # [row=dy, col=dx]
        norm = np.hypot(dx, dy)
        safe = np.where(norm > 0, norm, 1.0)
        self.path_template = np.stack([dx / safe, dy / safe]).astype(np.float32)
        grid = world.grid
        padded = np.pad(grid.walkable, r, constant_values=False).astype(np.float32)
        self.walk_windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
        self.plane = size * size
        # Pair offsets: window cell in the agents plane, squared distance (``out`` outside).
        pdx, pdy = grid.pair_dx, grid.pair_dy
        inside = (np.abs(pdx) <= r) & (np.abs(pdy) <= r)
        self.out = 2 * r * r + 1  # beyond every squared distance inside the window
        self.pair_cell = np.where(inside, self.plane + (pdy + r) * size + (pdx + r), 0)
        self.pair_d2 = np.where(inside, pdx * pdx + pdy * pdy, self.out)
        # neighbor_agent_ratio by count of agents seen, nearest_agent_distance by squared
        # distance (``out``: nobody seen, 0): the features' expressions, tabulated.
        self.agent_ratio = np.minimum(1.0, np.arange(world.num_agents + 1) / (self.plane - 1))
        d2 = np.arange(self.out + 1)
        self.nearest_ratio = np.minimum(1.0, np.where(d2 < self.out, np.sqrt(d2), 0.0) / r)
        # Objects from every tile: in view, cell in the reservations plane, the objects plane.
        tiles = grid.height * grid.width
        tx, ty = grid.tile_x[:, None], grid.tile_y[:, None]
        odx, ody = world.objects.x[None, :] - tx, world.objects.y[None, :] - ty
        self.obj_in_view = (np.abs(odx) <= r) & (np.abs(ody) <= r)  # [N, O]
        cell = (ody + r) * size + (odx + r)
        self.obj_cell = np.where(self.obj_in_view, 3 * self.plane + cell, 0)
        self.obj_ratio = np.minimum(1.0, self.obj_in_view.sum(axis=1) / self.plane)  # [N]
        objects = np.zeros((tiles, self.plane + 1), dtype=np.uint8)  # last column: spill
        np.put_along_axis(objects, np.where(self.obj_in_view, cell, self.plane), 1, axis=1)
        self.obj_plane = objects[:, : self.plane].reshape(tiles, size, size)
        # Memo of the last positions' cells, by frame identity (a frame is never modified and
        # is replaced whenever x, y or alive change; holding it keeps its identity unique),
        # and of the reservations of the last hold_obj (by its bytes).
        self._located: tuple[PositionFrame, _Spots] | None = None
        self._held_key: bytes | None = None
        self._reserved_cells = np.zeros(0, dtype=np.int64)
        self._neighbourhood = np.zeros((0, 0, 4))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.channels), self.size, self.size)

    def build(self, view: WorldView) -> tuple[np.ndarray, LocalSummary]:
        state = view.state
        r, size = self.radius, self.size
        towns, agents = state.x.shape
        out = np.zeros((towns, agents, len(self.channels), size, size), dtype=np.float32)
        flat = out.reshape(-1)
        frame = view.frame
        if self._located is None or self._located[0] is not frame:
            self._located = (frame, self._locate(frame))
            self._held_key = None
        spots = self._located[1]
        out[:, :, 0, r, r] = 1.0
        flat[spots.agent_cells] = 1.0
        neighbourhood = spots.neighbourhood
        if self.world.num_objects:
            out[:, :, 2] = spots.objects
            # Reservations follow from who holds what: keyed on hold_obj itself.
            key = state.hold_obj.tobytes()
            if key != self._held_key:
                held = view.holders > 0
                reserved = spots.obj_in_view & held[:, None, :]
                self._reserved_cells = spots.obj_cells[reserved]
                self._neighbourhood = spots.neighbourhood.copy()
                self._neighbourhood[:, :, 2] = np.minimum(1.0, reserved.sum(axis=2) / self.plane)
                self._held_key = key
            flat[self._reserved_cells] = 1.0
            neighbourhood = self._neighbourhood
        if self.variant == "full":
            out[:, :, 4:6] = self.path_template
        elif self.variant == "compact":
            out[:, :, 4] = self.walk_windows[state.y, state.x]
        return out, LocalSummary(neighbourhood)

    def _locate(self, frame: PositionFrame) -> _Spots:
        """Where the agents and objects of one set of positions land in the maps."""
        towns, agents = frame.tile.shape
        # Offset of each agent's map inside the flat output; a cell index adds channel, row
        # and column.
        base = row_starts(towns, agents, len(self.channels) * self.plane)[:, :, None]
        pair, tile = frame.pair, frame.tile
        d2 = np.where(frame.others, self.pair_d2[pair], self.out)
        seen = d2 < self.out
        neighbourhood = np.zeros((towns, agents, 4))
        neighbourhood[:, :, 0] = self.agent_ratio[seen.sum(axis=2)]
        neighbourhood[:, :, 1] = self.obj_ratio[tile]
        # Nearest by squared integer distance: far cheaper than hypot on every pair.
        neighbourhood[:, :, 3] = self.nearest_ratio[d2.min(axis=2, initial=self.out)]
        return _Spots(
            agent_cells=(base + self.pair_cell[pair])[seen],
            objects=self.obj_plane[tile],
            obj_in_view=self.obj_in_view[tile],
            obj_cells=base + self.obj_cell[tile],
            neighbourhood=neighbourhood,
        )


def action_masks(view: WorldView) -> np.ndarray:
    """[T, A, NUM_ACTIONS] bool: which actions each agent may take now (see module docstring).

    What the positions allow (walls, the scenario's options, work for job holders, chat with a
    partner in range) comes with the position frame; avoid_rival follows the rivalry ledger.
    """
    state = view.state
    mask = view.frame.allowed_here.copy()
    mask[:, :, AVOID] = view.rivals.has_live_rival
    # The chat cooldown is a world rule: a speaker waits chat_cooldown ticks between chats.
    cooldown = view.world.scenario.social.chat_cooldown
    mask[:, :, CHAT] &= state.last_chat_tick <= (state.tick - cooldown)[:, None]
    mask[:, :, 1:] &= ((state.run_aff < 0) & state.alive)[:, :, None]
    return mask
