"""Shortest-path fields on the static grid, computed once per layout (BFS in Python).

Every town of an environment shares one layout, so these run at build time only; the per-tick
code gathers from the resulting tables (see :mod:`townlet.sim.tables`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from townlet.sim.constants import DIR_DX, DIR_DY

UNREACHABLE = 1 << 20  # distance of tiles that cannot reach a target (and of walls)


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
        for d in range(1, 5):
            nx, ny = x + int(DIR_DX[d]), y + int(DIR_DY[d])
            if 0 <= nx < w and 0 <= ny < h and walkable[ny, nx] and dist[ny, nx] == UNREACHABLE:
                dist[ny, nx] = dist[y, x] + 1
                frontier.append((nx, ny))
    step = np.zeros((h, w), dtype=np.int8)
    for y in range(h):
        for x in range(w):
            d0 = dist[y, x]
            if d0 == 0 or d0 == UNREACHABLE:
                continue
            for d in range(1, 5):
                nx, ny = x + int(DIR_DX[d]), y + int(DIR_DY[d])
                if 0 <= nx < w and 0 <= ny < h and dist[ny, nx] == d0 - 1:
                    step[y, x] = d
                    break
    return dist, step


def use_area(walkable: np.ndarray, x: int, y: int) -> list[tuple[int, int]]:
    """The tile itself and its walkable 4-neighbours: where an object (or job) is used from."""
    h, w = walkable.shape
    tiles = [(x, y)]
    for d in range(1, 5):
        nx, ny = x + int(DIR_DX[d]), y + int(DIR_DY[d])
        if 0 <= nx < w and 0 <= ny < h and walkable[ny, nx]:
            tiles.append((nx, ny))
    return tiles


def path_fields(
    walkable: np.ndarray, points: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """[N, H, W] distance and first-move fields towards the use area of each (x, y) point."""
    h, w = walkable.shape
    dist = np.full((len(points), h, w), UNREACHABLE, dtype=np.int32)
    step = np.zeros((len(points), h, w), dtype=np.int8)
    for i, (x, y) in enumerate(points):
        dist[i], step[i] = bfs_fields(walkable, use_area(walkable, x, y))
    return dist, step
