"""Derived quantities of one world state, computed at most once and shared by every reader.

After a tick, the masks, the observation builders, the scripted controller and the next tick's
action phase all look at the same positions and ties. ``WorldView`` computes each derived
array (pair offsets, object distances, usable objects, shift windows, ...) lazily the first
time one of them needs it. A view is only valid until the state is mutated; the engine makes a
fresh one after every tick and reset.

Two of them usually come out the same as on the previous tick - everything derived from the
positions (:mod:`townlet.sim.frame`) and which objects are usable - so a view takes them from
memos it shares with the views of later ticks (:mod:`townlet.sim.memo`): they are keyed on
the bytes of their inputs and so never stale. Memoised arrays are shared and read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import numpy as np

from townlet.sim.frame import PositionFrame, build_frame
from townlet.sim.gather import object_counts
from townlet.sim.layout import Layout
from townlet.sim.memo import ViewMemos
from townlet.sim.shifts import ShiftClock, shift_clock
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


@dataclass(slots=True)
class Rivals:
    """Who avoids whom: it only changes when a rivalry crosses avoid_threshold or an agent dies,
    while the ledger under it decays every tick."""

    live_avoids: np.ndarray  # [T, A, A] a avoids b and b is alive
    has_live_rival: np.ndarray  # [T, A] some living rival is avoided (the avoid_rival mask)
    avoid_count: np.ndarray  # [T, A] rivals avoided, living or not (rivalry_avoid_count)

    @classmethod
    def of(cls, avoids: np.ndarray, alive: np.ndarray) -> Rivals:
        live = avoids & alive[:, None, :]
        rivals = cls(live, np.asarray(live.any(axis=2)), avoids.sum(axis=2))
        for value in (rivals.live_avoids, rivals.has_live_rival, rivals.avoid_count):
            value.flags.writeable = False
        return rivals


class WorldView:
    """Lazily computed views of ``state`` (see module docstring).

    ``memos`` are the engine's, kept across ticks; a view made without them (the few freshly
    reset towns the vector env observes on their own) starts empty ones.
    """

    def __init__(self, state: TownState, layout: Layout, memos: ViewMemos | None = None) -> None:
        self.state = state
        self.layout = layout
        self._memos = memos if memos is not None else ViewMemos()

    @lazy
    def frame(self) -> PositionFrame:
        """Arrays derived from the positions alone (shared, read-only)."""
        s = self.state
        key = (s.x.tobytes(), s.y.tobytes(), s.alive.tobytes())
        return self._memos.frame.get(key, lambda: build_frame(s, self.layout))

    @lazy
    def avoids(self) -> np.ndarray:
        """[T, A, A] b is a rival a avoids: ledger at or above avoid_threshold (and above 0)."""
        r = self.state.rivalry
        threshold = self.layout.scenario.conflict.rivalry.avoid_threshold
        return r >= threshold if threshold > 0.0 else r > 0.0

    @lazy
    def rivals(self) -> Rivals:
        """Who avoids whom, derived from ``avoids`` and ``alive`` (shared, read-only)."""
        avoids, alive = self.avoids, self.state.alive
        key = (avoids.tobytes(), alive.tobytes())
        return self._memos.rivals.get(key, lambda: Rivals.of(avoids, alive))

    @lazy
    def utilities_ok(self) -> np.ndarray:
        """[T] power and water are both on."""
        s = self.state
        return s.tick >= np.maximum(s.power_until, s.water_until)

    @lazy
    def meal_stock(self) -> np.ndarray:
        """[T, O, F] stock of each fridge an eater at the object would draw from (0 if none)."""
        src = self.layout.eat_sources
        return np.where(src >= 0, self.state.stock[:, np.maximum(src, 0)], 0)

    @lazy
    def object_ok_pad(self) -> np.ndarray:
        """[T, 1 + O] usable now, in goal columns: eat spots need a meal in reach, showers the
        utilities (column 0, "no goal", is never usable). Shared, read-only."""
        stock, utilities = self.state.stock, self.utilities_ok
        key = (stock.tobytes(), utilities.tobytes())
        return self._memos.object_ok.get(key, lambda: _object_ok(self.layout, stock, utilities))

    @lazy
    def object_row(self) -> np.ndarray:
        """[T, A, 1 + O] BFS steps to every object, in goal columns (column 0: UNREACHABLE)."""
        return self.frame.goal_row[:, :, : 1 + self.layout.num_objects]

    def goal_step(self, column: np.ndarray) -> np.ndarray:
        """[T, A] first move (0..4) towards each agent's goal column (0 there or for none)."""
        return self.layout.tables.goal_next[self.frame.tile, column]

    @lazy
    def job_way(self) -> tuple[np.ndarray, np.ndarray]:
        """[T, A] distance to the agent's job site and first move there (UNREACHABLE/0 if none)."""
        tables = self.layout.tables
        tile, goal = self.frame.tile, tables.agent_goal
        return tables.goal_dist[tile, goal], tables.goal_next[tile, goal]

    @lazy
    def holders(self) -> np.ndarray:
        """[T, O] how many agents hold each object."""
        return object_counts(self.state.hold_obj, self.layout.num_objects)

    @lazy
    def shifts(self) -> ShiftClock:
        """Where every agent's shift window stands at the state's tick."""
        return shift_clock(self.state.tick, self.layout)


def _object_ok(layout: Layout, stock: np.ndarray, utilities_ok: np.ndarray) -> np.ndarray:
    tables = layout.tables
    ok = np.zeros((stock.shape[0], 1 + layout.num_objects), dtype=bool)
    if layout.num_objects:
        # A boolean matmul is an any-of-ands: is a stocked fridge in reach of each eat spot.
        ok[:] = tables.not_eat_spot | ((stock > 0) @ tables.meal_reach)
        ok &= tables.not_shower | utilities_ok[:, None]
        ok[:, 0] = False
    ok.flags.writeable = False
    return ok
