"""The social block of the features (§9.8): two top friends, two top rivals, four aggregates.

Slots: two friends (highest trust + familiarity), then two rivals (highest tie rivalry among the
rest) among agents with any non-zero tie; lower index wins ties. Each slot is the other agent's
8-dim id embedding + trust, familiarity, rivalry; empty slots are zero. Then trust mean, trust
max, rivalry mean, rivalry max over the filled slots (0 when none).

The block depends on the three tie arrays alone, which stay unchanged on many ticks (no social
event and no tie rivalry left to decay), so :class:`SocialSlots` memoises it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.constants import EMBED_DIM, SOCIAL_SLOT_DIM, SOCIAL_SLOTS
from townlet.sim.gather import not_self, row_starts
from townlet.sim.memo import Memo
from townlet.sim.state import TownState

SOCIAL_WIDTH = SOCIAL_SLOTS * SOCIAL_SLOT_DIM + 4  # slots then the four aggregates


def _top_two(
    key: np.ndarray, use: np.ndarray, starts: np.ndarray, first: np.ndarray, second: np.ndarray
) -> None:
    """Write into ``first`` and ``second`` [T, A] the two largest ``key`` among ``use``.

    Same order as a stable descending sort (lower index first on ties): the first is the
    first maximum; the second the first maximum once the first is struck out. Where fewer than
    two are usable, a stable sort continues with the unusable indices in order (0, then 1 if
    0 was taken), and so does this; callers mask those slots out. ``starts`` are the flat row
    offsets of [T, A, A] arrays (``row_starts``); needs A >= 2.
    """
    masked = np.where(use, key, -np.inf)
    masked.argmax(axis=2, out=first)
    masked.reshape(-1)[starts + first] = -np.inf
    masked.argmax(axis=2, out=second)
    # Nothing usable left: argmax gave 0; a stable sort gives 0, or 1 when 0 came first.
    second[second == first] = 1


@dataclass(slots=True)
class _Friends:
    """The friend half of the slots, which depends on trust, familiarity and on which tie
    rivalries are non-zero, but not on their values (those decay on most ticks)."""

    any_tie: bool  # some pair has a tie at all
    rest: np.ndarray  # [T, A, A] candidates for the rival slots: tied, not a chosen friend
    slots: np.ndarray  # [2, T, A] friend indices
    valid: np.ndarray  # [2, T, A] the friend slot is filled


def _friends(state: TownState) -> _Friends:
    towns, agents = state.x.shape
    trust, fam = state.trust, state.familiarity
    present = ((trust != 0) | (fam != 0) | (state.tie_rivalry != 0)) & not_self(agents)
    slots = np.zeros((2, towns, agents), dtype=np.int64)
    if not np.count_nonzero(present):
        return _Friends(False, present, slots, np.zeros(slots.shape, dtype=bool))
    starts = row_starts(towns, agents, agents)
    _top_two(trust + fam, present, starts, slots[0], slots[1])
    flat = slots + starts
    # Rivals are chosen among the rest: strike out the friend slots (where a slot is empty
    # ``present`` is already False there, so striking it changes nothing).
    rest = present.copy()
    rest.reshape(-1)[flat] = False
    return _Friends(True, rest, slots, present.take(flat))


def social_block(state: TownState, embeddings_padded: np.ndarray, friends: _Friends) -> np.ndarray:
    """[T, A, SOCIAL_WIDTH] float32 social features of every agent (see module docstring);
    ``friends`` is ``_friends(state)``."""
    towns, agents = state.x.shape
    block = np.zeros((towns, agents, SOCIAL_WIDTH), dtype=np.float32)
    if agents < 2 or not friends.any_tie:
        return block  # no ties anywhere: every slot and aggregate stays 0
    trust, fam, riv = state.trust, state.familiarity, state.tie_rivalry
    starts = row_starts(towns, agents, agents)
    # Slot-major [4, T, A]: every per-slot array is contiguous, and sums over the slot axis add
    # slot by slot in order, exactly like a sum over the last axis of [T, A, 4].
    slots = np.empty((SOCIAL_SLOTS, towns, agents), dtype=np.int64)
    slots[:2] = friends.slots
    _top_two(riv, friends.rest, starts, slots[2], slots[3])
    flat = slots + starts
    valid = np.empty(slots.shape, dtype=bool)
    valid[:2] = friends.valid
    friends.rest.take(flat[2:], out=valid[2:])
    # [3 ties, 4 slots, T, A]: trust, familiarity and rivalry of each slot (0 when empty).
    ties = np.empty((3, *slots.shape))
    trust.take(flat, out=ties[0])
    fam.take(flat, out=ties[1])
    riv.take(flat, out=ties[2])
    ties *= valid
    per_slot = block[:, :, : SOCIAL_SLOTS * SOCIAL_SLOT_DIM].reshape(
        towns, agents, SOCIAL_SLOTS, SOCIAL_SLOT_DIM
    )
    # Row ``agents`` of the padded table is zeros: empty slots read it instead of masking.
    slots[~valid] = agents
    per_slot[..., :EMBED_DIM] = embeddings_padded[slots].transpose(1, 2, 0, 3)
    per_slot[..., EMBED_DIM:] = ties.transpose(2, 3, 1, 0)
    # Aggregates over filled slots: mean and max of trust and of rivalry (ties 0 and 2).
    kept = ties[::2]
    n = valid.sum(axis=0)
    has = n > 0
    mean = np.divide(kept.sum(axis=1), n, out=np.zeros((2, towns, agents)), where=has)
    peak = np.where(valid, kept, -np.inf).max(axis=1)
    aggregates = block[:, :, SOCIAL_SLOTS * SOCIAL_SLOT_DIM :].reshape(towns, agents, 2, 2)
    aggregates[..., 0] = mean.transpose(1, 2, 0)  # trust mean, rivalry mean
    aggregates[..., 1] = np.where(has, peak, 0.0).transpose(1, 2, 0)  # trust max, rivalry max
    return block


class SocialSlots:
    """``social_block`` behind two memos (:mod:`townlet.sim.memo`): the whole block keyed on
    the three tie arrays, and the friend half keyed on trust, familiarity and the non-zero
    pattern of tie rivalry, so a tick where tie rivalry only decays redoes the rivals alone.
    A returned block is shared; callers copy it.
    """

    def __init__(self, embeddings_padded: np.ndarray) -> None:
        self.embeddings_padded = embeddings_padded
        self._blocks: Memo[np.ndarray] = Memo()
        self._friends: Memo[_Friends] = Memo()

    def __call__(self, state: TownState) -> np.ndarray:
        trust, fam = state.trust.tobytes(), state.familiarity.tobytes()
        key = (trust, fam, state.tie_rivalry.tobytes())
        return self._blocks.get(key, lambda: self._compute(state, trust, fam))

    def _compute(self, state: TownState, trust: bytes, fam: bytes) -> np.ndarray:
        key = (trust, fam, (state.tie_rivalry != 0).tobytes())
        friends = self._friends.get(key, lambda: _friends(state))
        return social_block(state, self.embeddings_padded, friends)
