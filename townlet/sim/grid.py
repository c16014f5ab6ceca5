"""The grid of a world and its encodings: tiles, moves, shortest paths to goals, pair offsets.

Everything here depends on the walls and the goal points (objects and job sites) only, so it is
computed once per world (BFS in Python) and per-tick code merely gathers from it. Arrays are
read-only: every town and tick shares them.

Three encodings keep per-tick code to a few gathers:

- **Tiles** are numbered ``tile = y * W + x``.
- **Goal columns** number what an agent can head for: column :data:`NO_GOAL` is "nowhere"
  (distance :data:`UNREACHABLE`, no move), then one column per object (:func:`object_goal`),
  then one per job. Object index -1 ("none") lands on ``NO_GOAL``, so a target needs no
  ``max(index, 0)`` / ``where(index >= 0, ...)`` pair.
- **Pair offsets**: every tile has a pair coordinate ``y * (2W - 1) + x``; the coordinate of b
  minus that of a, plus ``pair_center``, indexes a table over every (dx, dy) in
  ``[-(W-1), W-1] x [-(H-1), H-1]`` (:meth:`Grid.pair_offsets`), so one subtraction replaces
  the dx/dy arithmetic of neighbourhood tests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from townlet.sim.constants import DIR_DX, DIR_DY

UNREACHABLE = 1 << 20  # distance of tiles that cannot reach a target (and of walls)
NO_GOAL = 0  # the goal column of "no goal"

_Index = TypeVar("_Index", np.ndarray, int)


def object_goal(obj: _Index) -> _Index:
    """Goal column of each object index (-1, no object, maps to NO_GOAL)."""
    return obj + 1


def goal_object(column: _Index) -> _Index:
    """Object index of each goal column (-1 for NO_GOAL)."""
    return column - 1


def job_goal(num_objects: int, job: np.ndarray) -> np.ndarray:
    """Goal column of each job index: the job columns follow the object columns."""
    return 1 + num_objects + job


def with_no_goal(flags: np.ndarray) -> np.ndarray:
    """Per-object flags [..., O] as goal columns [..., 1 + O], False in the NO_GOAL column."""
    return np.concatenate([np.zeros(flags.shape[:-1] + (1,), dtype=bool), flags], axis=-1)


def nearest_goal(distances: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """[T, A] goal column of the nearest allowed object (lowest index on ties), NO_GOAL if none.

    ``distances`` [T, A, 1 + O] holds the NO_GOAL column at UNREACHABLE, so it wins every tie
    at UNREACHABLE and an agent with nothing reachable gets NO_GOAL without a separate test.
    """
    return np.where(allowed, distances, UNREACHABLE).argmin(axis=2)


@dataclass(frozen=True, eq=False)
class Grid:
    """Shapes use N = H * W tiles, K goal columns and P = (2H - 1) * (2W - 1) pair offsets."""

    width: int
    height: int
    walkable: np.ndarray  # [H, W] bool
    tile_x: np.ndarray  # [N] x of each tile
    tile_y: np.ndarray  # [N] y of each tile
    can_step: np.ndarray  # [N, 5] step 0..4 stays on walkable ground (step 0 always does)
    move_dest: np.ndarray  # [N, 5] tile after a step 0..4 (the same tile when it is blocked)
    goal_dist: np.ndarray  # [N, K] int32 BFS steps to each goal column
    goal_next: np.ndarray  # [N, K] int8 first move towards it (0 there or unreachable)
    pair_coord: np.ndarray  # [N] the tile's pair coordinate y * (2W - 1) + x
    pair_center: int  # the pair-offset index of (dx, dy) = (0, 0)
    pair_dx: np.ndarray  # [P] dx of each pair offset
    pair_dy: np.ndarray  # [P] dy of each pair offset
    pair_near: np.ndarray  # [P] Chebyshev distance <= 1 (a chat partner)

    def tiles(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Tile index of each position."""
        return y * self.width + x

    def pair_offsets(self, tile: np.ndarray) -> np.ndarray:
        """[T, A, A] pair-offset index from agent a (axis 1) to agent b (axis 2)."""
        coord = self.pair_coord[tile]
        return (coord + self.pair_center)[:, None, :] - coord[:, :, None]


def build_grid(walkable: np.ndarray, goal_points: list[tuple[int, int]]) -> Grid:
    """The grid of ``walkable`` [H, W] with one goal column per (x, y) point after NO_GOAL."""
    h, w = walkable.shape
    ys, xs = np.divmod(np.arange(h * w, dtype=np.int64), w)
    nx = xs[:, None] + DIR_DX[None, :]
    ny = ys[:, None] + DIR_DY[None, :]
    inside = (nx >= 0) & (nx < w) & (ny >= 0) & (ny < h)
    can_step = np.zeros(nx.shape, dtype=bool)
    can_step[inside] = walkable[ny[inside], nx[inside]]
    can_step[:, 0] = True
    goal_dist = np.full((h * w, 1 + len(goal_points)), UNREACHABLE, dtype=np.int32)
    goal_next = np.zeros((h * w, 1 + len(goal_points)), dtype=np.int8)
    for column, (x, y) in enumerate(goal_points, start=1):
        dist, step = bfs_fields(walkable, use_area(walkable, x, y))
        goal_dist[:, column] = dist.reshape(-1)
        goal_next[:, column] = step.reshape(-1)
    stride = 2 * w - 1
    pair_dy, pair_dx = np.divmod(np.arange((2 * h - 1) * stride, dtype=np.int64), stride)
    pair_dx, pair_dy = pair_dx - (w - 1), pair_dy - (h - 1)
    grid = Grid(
        width=w,
        height=h,
        walkable=walkable,
        tile_x=xs,
        tile_y=ys,
        can_step=can_step,
        move_dest=np.where(can_step, ny * w + nx, (ys * w + xs)[:, None]),
        goal_dist=goal_dist,
        goal_next=goal_next,
        pair_coord=ys * stride + xs,
        pair_center=(h - 1) * stride + (w - 1),
        pair_dx=pair_dx,
        pair_dy=pair_dy,
        pair_near=(np.abs(pair_dx) <= 1) & (np.abs(pair_dy) <= 1),
    )
    for value in vars(grid).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return grid


def bfs_fields(
    walkable: np.ndarray, sources: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Steps to the nearest source tile and the first move (1..4, 0 at a source) from each tile.

    ``sources`` are (x, y) tiles; only walkable tiles are entered. The first move prefers
    north, south, east, west in that order, so paths are deterministic.
    """
    h, w = walkable.shape
    dist = np.full((h, w), UNREACHABLE, dtype=np.int32)
    frontier: deque[tuple[int, int]] = deque()
    for x, y in sources:
        if walkable[y, x] and dist[y, x] != 0:
            dist[y, x] = 0
            frontier.append((x, y))
    while frontier:
        x, y = frontier.popleft()
        for nx, ny in _neighbours(walkable, x, y):
            if dist[ny, nx] == UNREACHABLE:
                dist[ny, nx] = dist[y, x] + 1
                frontier.append((nx, ny))
    step = np.zeros((h, w), dtype=np.int8)
    for y in range(h):
        for x in range(w):
            here = dist[y, x]
            if here == 0 or here == UNREACHABLE:
                continue
            for d in range(1, 5):
                nx, ny = x + int(DIR_DX[d]), y + int(DIR_DY[d])
                if 0 <= nx < w and 0 <= ny < h and dist[ny, nx] == here - 1:
                    step[y, x] = d
                    break
    return dist, step


def use_area(walkable: np.ndarray, x: int, y: int) -> list[tuple[int, int]]:
    """The tile itself and its walkable 4-neighbours: where an object (or job) is used from."""
    return [(x, y), *_neighbours(walkable, x, y)]


def _neighbours(walkable: np.ndarray, x: int, y: int) -> list[tuple[int, int]]:
    """The walkable 4-neighbours of (x, y) on the grid, north, south, east, west."""
    h, w = walkable.shape
    out = []
    for d in range(1, 5):
        nx, ny = x + int(DIR_DX[d]), y + int(DIR_DY[d])
        if 0 <= nx < w and 0 <= ny < h and walkable[ny, nx]:
            out.append((nx, ny))
    return out
