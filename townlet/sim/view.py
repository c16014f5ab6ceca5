"""Derived quantities of one world state, computed at most once and shared by every reader.

After a tick, the masks, the observation builders, the scripted controller and the next tick's
action phase all look at the same positions and ties. ``WorldView`` computes each derived
array (pair offsets, object distances, usable objects, shift windows, ...) lazily the first
time one of them needs it. A view is only valid until the state is mutated; the engine makes a
fresh one after every tick and reset.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Generic, TypeVar, overload

import numpy as np

from townlet.sim.layout import UNREACHABLE, Layout
from townlet.sim.state import TownState

_T = TypeVar("_T")


class lazy(Generic[_T]):  # noqa: N801 - used like the property decorators it replaces
    """A lock-free ``functools.cached_property``: computes on first access, then the value sits
    in the instance ``__dict__`` and shadows this (non-data) descriptor. The standard one takes
    a lock on every first access, which costs more than many of these arrays at one town."""

    def __init__(self, fn: Callable[[Any], _T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    @overload
    def __get__(self, obj: None, owner: type) -> lazy[_T]: ...

    @overload
    def __get__(self, obj: object, owner: type) -> _T: ...

    def __get__(self, obj: object | None, owner: type) -> lazy[_T] | _T:
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value


@lru_cache(maxsize=64)
def index_grids(towns: int, agents: int) -> tuple[np.ndarray, np.ndarray]:
    """``(town index [T, 1], agent index [1, A])`` for broadcasting fancy indexing."""
    t = np.arange(towns)[:, None]
    a = np.arange(agents)[None, :]
    t.flags.writeable = False
    a.flags.writeable = False
    return t, a


@lru_cache(maxsize=16)
def not_self(agents: int) -> np.ndarray:
    """[1, A, A] True off the diagonal."""
    mask = ~np.eye(agents, dtype=bool)[None]
    mask.flags.writeable = False
    return mask


def pick(arr: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per-agent gather: ``arr[t, a, index[t, a]]`` for [T, A, K], or ``arr[t, index[t, a]]``
    for [T, K]; negative indices read entry 0 (callers mask those out)."""
    t, a = index_grids(*index.shape)
    idx = np.maximum(index, 0)
    if arr.ndim == 3:
        return arr[t, a, idx]
    return arr[t, idx]


def nearest(dist: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per agent the nearest allowed object (lowest index on ties) and its distance.

    Returns ``(target, distance)``, with -1 and UNREACHABLE where nothing allowed is reachable.
    """
    if dist.shape[2] == 0:
        shape = dist.shape[:2]
        return np.full(shape, -1, dtype=np.int64), np.full(shape, UNREACHABLE, dtype=np.int64)
    cand = np.where(allowed, dist, UNREACHABLE)
    target = cand.argmin(axis=2)
    best = pick(cand, target).astype(np.int64)
    return np.where(best < UNREACHABLE, target, -1), best


class WorldView:
    """Lazily computed views of ``state`` (see module docstring)."""

    def __init__(self, state: TownState, layout: Layout) -> None:
        self.state = state
        self.layout = layout

    @lazy
    def offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """[T, A, A] (dx, dy) from agent a (axis 1) to agent b (axis 2)."""
        s = self.state
        return s.x[:, None, :] - s.x[:, :, None], s.y[:, None, :] - s.y[:, :, None]

    @lazy
    def others(self) -> np.ndarray:
        """[T, A, A] b is a different, living agent."""
        return self.state.alive[:, None, :] & not_self(self.state.x.shape[1])

    @lazy
    def chat_partners(self) -> np.ndarray:
        """[T, A, A] b is alive, not a, and within one tile (Chebyshev <= 1)."""
        dx, dy = self.offsets
        return self.others & (np.abs(dx) <= 1) & (np.abs(dy) <= 1)

    @lazy
    def avoids(self) -> np.ndarray:
        """[T, A, A] b is a rival a avoids: ledger at or above avoid_threshold."""
        r = self.state.rivalry
        return (r > 0.0) & (r >= self.layout.scenario.conflict.rivalry.avoid_threshold)

    @lazy
    def utilities_ok(self) -> np.ndarray:
        """[T] power and water are both on."""
        s = self.state
        return (s.tick >= s.power_until) & (s.tick >= s.water_until)

    @lazy
    def meal_stock(self) -> np.ndarray:
        """[T, O, F] stock of each fridge an eater at the object would draw from (0 if none)."""
        src = self.layout.eat_sources
        return np.where(src >= 0, self.state.stock[:, np.maximum(src, 0)], 0)

    @lazy
    def object_ok(self) -> np.ndarray:
        """[T, O] usable now: eat spots need a meal in reach, showers need the utilities."""
        layout = self.layout
        ok = np.ones((self.state.num_towns, layout.num_objects), dtype=bool)
        if layout.num_objects == 0:
            return ok
        ok &= ~layout.is_eat_spot | (self.meal_stock > 0).any(axis=2)
        ok &= ~layout.is_shower | self.utilities_ok[:, None]
        return ok

    @lazy
    def object_dist(self) -> np.ndarray:
        """[T, A, O] BFS steps from each agent to each object's use area."""
        return self.layout.dist_hwo[self.state.y, self.state.x]

    def object_step(self, target: np.ndarray) -> np.ndarray:
        """[T, A] first move (1..4) towards ``target`` objects (0 at the target or for -1)."""
        if self.layout.num_objects == 0:
            return np.zeros_like(target)
        s = self.state
        step = self.layout.next_hwo[s.y, s.x, np.maximum(target, 0)].astype(np.int64)
        return np.where(target >= 0, step, 0)

    @lazy
    def job_way(self) -> tuple[np.ndarray, np.ndarray]:
        """[T, A] distance to the agent's job site and first move there (UNREACHABLE/0 if none)."""
        layout, s = self.layout, self.state
        shape = s.x.shape
        if layout.num_jobs == 0:
            return np.full(shape, UNREACHABLE, dtype=np.int64), np.zeros(shape, dtype=np.int64)
        jc = np.maximum(layout.agent_job, 0)[None, :]
        has = layout.has_job[None, :]
        dist = np.where(has, layout.dist_job[jc, s.y, s.x], UNREACHABLE).astype(np.int64)
        step = np.where(has, layout.next_job[jc, s.y, s.x], 0).astype(np.int64)
        return dist, step

    @lazy
    def phase(self) -> np.ndarray:
        """[T, 1] tick within the day."""
        return (self.state.tick % self.layout.scenario.ticks_per_day)[:, None]

    @lazy
    def in_shift(self) -> np.ndarray:
        """[T, A] the agent's shift window is open now."""
        layout = self.layout
        return layout.has_job & (self.phase >= layout.agent_start) & (self.phase < layout.agent_end)
