"""Derived per-tick views of one state, computed at most once and shared by every reader.

After a tick, the action masks, the observation builders, the scripted controller and the next
tick's action phase all look at the same positions, rivals and usable objects. A
:class:`WorldView` computes each derived array the first time one of them asks. A view is only
valid until the state changes; the engine makes a fresh one after every tick and reset.

Three of them usually come out the same as on the previous tick - everything derived from the
positions (:class:`PositionFrame`), who avoids whom (:class:`Rivals`) and which objects are
usable - so a view takes them from :class:`Memo` s it shares with the views of later ticks.
A memo keeps the last value with the bytes of its inputs and recomputes only when they differ:
equal bytes (for the fixed dtypes and trailing shapes of one memo's inputs) mean equal inputs,
so a memo can never go stale, whoever edits the state (ticks, resets, ``set_state``, a test
poking at arrays). Memoised values are shared and read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

import numpy as np

from townlet.sim.affordances import usable_objects
from townlet.sim.constants import CHAT
from townlet.sim.economy import utilities_on
from townlet.sim.employment import ShiftClock, shift_clock
from townlet.sim.indexing import not_self, object_counts
from townlet.sim.relationships import avoided
from townlet.sim.state import TownState
from townlet.sim.world import World

_V = TypeVar("_V")


class Memo(Generic[_V]):
    """The last value of ``compute`` and the key (tuple of input bytes) it was computed for."""

    def __init__(self) -> None:
        self._key: tuple[bytes, ...] | None = None
        self._value: _V | None = None

    def get(self, key: tuple[bytes, ...], compute: Callable[[], _V]) -> _V:
        if self._value is None or key != self._key:
            self._value = compute()
            self._key = key
        return self._value


class CachedAttribute(Generic[_V]):
    """A lock-free ``functools.cached_property``: computes on first access, then the value sits
    in the instance ``__dict__`` and shadows this (non-data) descriptor. The standard one takes
    a lock on every first access, which costs more than many of these arrays at one town."""

    def __init__(self, compute: Callable[[Any], _V]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, obj: None, owner: type) -> CachedAttribute[_V]: ...

    @overload
    def __get__(self, obj: object, owner: type) -> _V: ...

    def __get__(self, obj: object | None, owner: type) -> CachedAttribute[_V] | _V:
        if obj is None:
            return self
        value = self.compute(obj)
        obj.__dict__[self.name] = value
        return value


def cached(compute: Callable[[Any], _V]) -> CachedAttribute[_V]:
    """Decorator: an attribute computed on first access (see :class:`CachedAttribute`)."""
    return CachedAttribute(compute)


@dataclass(slots=True)  # not frozen: a frozen init costs more than the frame at one town
class PositionFrame:
    """Read-only arrays of one set of positions (encodings: :mod:`townlet.sim.grid`)."""

    tile: np.ndarray  # [T, A] tile index
    pair: np.ndarray  # [T, A, A] pair-offset index from agent a (axis 1) to b (axis 2)
    others: np.ndarray  # [T, A, A] b is a different, living agent
    chat_partners: np.ndarray  # [T, A, A] ... and within one tile (Chebyshev <= 1)
    has_partner: np.ndarray  # [T, A] some chat partner is in range (the chat mask)
    same_tile: np.ndarray  # [T, A, A] a and b stand on the same tile (a itself included)
    shares_tile: bool  # somewhere two different agents share a tile
    goal_distances: np.ndarray  # [T, A, K] BFS steps to every goal column
    # [T, A, NUM_ACTIONS] what the position allows: walls, the scenario's options, work for job
    # holders and chat with a partner in range (avoid_rival and running affordances excluded)
    allowed_here: np.ndarray

    @classmethod
    def of(cls, state: TownState, world: World) -> PositionFrame:
        grid = world.grid
        tile = grid.tiles(state.x, state.y)
        pair = grid.pair_offsets(tile)
        others = state.alive[:, None, :] & not_self(state.x.shape[1])
        chat_partners = others & grid.pair_near[pair]
        same_tile = pair == grid.pair_center
        has_partner = chat_partners.any(axis=2)
        allowed_here = world.tile_actions[tile]
        allowed_here &= world.agent_actions
        allowed_here[:, :, CHAT] = has_partner
        # The diagonal (an agent and itself) is always set: more than T * A means a pair.
        frame = cls(
            tile,
            pair,
            others,
            chat_partners,
            has_partner,
            same_tile,
            bool(np.count_nonzero(same_tile) > tile.size),
            grid.goal_dist[tile],
            allowed_here,
        )
        for value in (tile, pair, others, chat_partners, has_partner, same_tile):
            value.flags.writeable = False  # shared through the memo: readers must copy
        frame.goal_distances.flags.writeable = False
        allowed_here.flags.writeable = False
        return frame


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


@dataclass
class ViewMemos:
    """The memos a :class:`WorldView` shares with the views of later ticks."""

    frame: Memo[PositionFrame] = field(default_factory=Memo)  # by x, y and alive
    usable: Memo[np.ndarray] = field(default_factory=Memo)  # by stock and utilities
    rivals: Memo[Rivals] = field(default_factory=Memo)  # by avoids and alive


class WorldView:
    """Lazily computed views of ``state`` in ``world`` (see module docstring).

    ``memos`` are the engine's, kept across ticks; a view made without them (the few freshly
    reset towns the vector env observes on their own) starts empty ones.
    """

    def __init__(self, state: TownState, world: World, memos: ViewMemos | None = None) -> None:
        self.state = state
        self.world = world
        self._memos = memos if memos is not None else ViewMemos()

    @cached
    def frame(self) -> PositionFrame:
        """Arrays derived from the positions alone (shared, read-only)."""
        s = self.state
        key = (s.x.tobytes(), s.y.tobytes(), s.alive.tobytes())
        return self._memos.frame.get(key, lambda: PositionFrame.of(s, self.world))

    @cached
    def avoids(self) -> np.ndarray:
        """[T, A, A] b is a rival a avoids (:func:`~townlet.sim.relationships.avoided`)."""
        return avoided(self.state, self.world)

    @cached
    def rivals(self) -> Rivals:
        """Who avoids whom, derived from ``avoids`` and ``alive`` (shared, read-only)."""
        avoids, alive = self.avoids, self.state.alive
        key = (avoids.tobytes(), alive.tobytes())
        return self._memos.rivals.get(key, lambda: Rivals.of(avoids, alive))

    @cached
    def utilities_on(self) -> np.ndarray:
        """[T] power and water are both on."""
        return utilities_on(self.state)

    @cached
    def usable(self) -> np.ndarray:
        """[T, 1 + O] objects usable now, in goal columns (shared, read-only; see
        :func:`~townlet.sim.affordances.usable_objects`)."""
        stock, utilities = self.state.stock, self.utilities_on
        key = (stock.tobytes(), utilities.tobytes())
        return self._memos.usable.get(key, lambda: usable_objects(self.world, stock, utilities))

    @cached
    def object_distances(self) -> np.ndarray:
        """[T, A, 1 + O] BFS steps to every object, in goal columns (NO_GOAL: UNREACHABLE)."""
        return self.frame.goal_distances[:, :, : 1 + self.world.num_objects]

    @cached
    def job_distance(self) -> np.ndarray:
        """[T, A] BFS steps to the agent's job site (UNREACHABLE without a job)."""
        return self.world.grid.goal_dist[self.frame.tile, self.world.jobs.site_goal]

    def goal_step(self, column: np.ndarray) -> np.ndarray:
        """[T, A] first move (0..4) towards each agent's goal column (0 there or for none)."""
        return self.world.grid.goal_next[self.frame.tile, column]

    @cached
    def holders(self) -> np.ndarray:
        """[T, O] how many agents hold each object."""
        return object_counts(self.state.hold_obj, self.world.num_objects)

    @cached
    def shifts(self) -> ShiftClock:
        """Where every agent's shift window stands at the state's tick."""
        return shift_clock(self.state.tick, self.world)
