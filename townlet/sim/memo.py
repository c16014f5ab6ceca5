"""One-entry memos keyed on the bytes of the arrays a value is computed from.

At one town most derived arrays come out the same on many consecutive ticks (agents that wait,
sleep or shower do not move; ties and stocks change only on events). A memo keeps the last
value with the bytes of its inputs and recomputes only when they differ. Equal bytes (for the
fixed dtypes and trailing shapes of one memo's inputs) mean equal inputs, so a memo can never
go stale and needs no invalidation, whoever edits the state: ticks, resets, ``set_state`` or a
test poking at arrays. Values are shared between callers and must not be modified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

if TYPE_CHECKING:
    from townlet.sim.frame import PositionFrame
    from townlet.sim.view import Rivals

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


@dataclass
class ViewMemos:
    """The memos a :class:`~townlet.sim.view.WorldView` shares with the views of later ticks."""

    frame: Memo[PositionFrame] = field(default_factory=Memo)  # by x, y and alive
    object_ok: Memo[np.ndarray] = field(default_factory=Memo)  # by stock and utilities
    rivals: Memo[Rivals] = field(default_factory=Memo)  # by avoids and alive
