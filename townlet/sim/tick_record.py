"""What one tick leaves besides the new state: town events, reward inputs and deaths.

The rules count events per town as they happen and note what the reward rule prices (a wage
paid, a fee charged, a chat and its quality, ...); ``terminate`` notes who died. The reward rule
(:mod:`townlet.sim.rewards`) turns those inputs into the per-agent reward terms, and the vector
env hands the event counts to the trainer in ``info``, so telemetry can sum them over a rollout
without any per-agent Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from townlet.sim.constants import EVENT_KEYS


@dataclass
class TownEvents:
    """Per-town event counts of one tick, keyed by EVENT_KEYS."""

    counts: dict[str, np.ndarray]  # key -> [T] float64 (rows of one block)

    @classmethod
    def zeros(cls, towns: int) -> TownEvents:
        # One block: the entries are row views (one allocation, not one per key).
        return cls(dict(zip(EVENT_KEYS, np.zeros((len(EVENT_KEYS), towns)), strict=True)))

    def add(self, key: str, towns: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add one event (or ``weights``) per entry of ``towns`` (town indices, may repeat)."""
        if towns.size:
            size = self.counts[key].shape[0]
            self.counts[key] += np.bincount(towns, weights=weights, minlength=size)


@dataclass(slots=True)
class Chats:
    """The chats of a tick: successful ones (town, speaker, listener, quality) and failed
    ones (town, speaker)."""

    town: np.ndarray
    speaker: np.ndarray
    listener: np.ndarray
    quality: np.ndarray
    failed_town: np.ndarray
    failed_speaker: np.ndarray


@dataclass(slots=True)
class ShiftStarts:
    """Shifts whose grace period ended this tick: (town, agent) and whether it was on time."""

    town: np.ndarray
    agent: np.ndarray
    on_time: np.ndarray


@dataclass(slots=True)
class ClosedShifts:
    """Shifts that closed this tick: (town, agent), on-site ticks in the on_time state, and the
    shift's length in ticks."""

    town: np.ndarray
    agent: np.ndarray
    on_time_ticks: np.ndarray
    length: np.ndarray


@dataclass
class RewardInputs:
    """What the rules noted for the reward rule this tick (None: nothing of the kind)."""

    widened_gap: np.ndarray | None = None  # [T, A] a step away from an avoided rival widened it
    chats: Chats | None = None
    wages: np.ndarray | None = None  # [T, A] wage paid for working on site
    fees: np.ndarray | None = None  # [T, A] lateness and absence fees charged
    shift_starts: ShiftStarts | None = None
    closed_shifts: ClosedShifts | None = None


@dataclass(slots=True)
class Deaths:
    """Agents that terminated this tick."""

    fainted: np.ndarray  # [T, A] hunger at or below the faint threshold
    evicted: np.ndarray  # [T, A] wallet below -max_debt (and not fainted)


@dataclass
class TickRecord:
    """The record of one tick. ``now`` is the tick being simulated in each town."""

    now: np.ndarray  # [T]
    active: np.ndarray  # [T, A] alive when the tick began
    all_active: bool  # every agent of every town was alive when the tick began
    events: TownEvents
    reward_inputs: RewardInputs = field(default_factory=RewardInputs)
    deaths: Deaths | None = None  # None when nobody died

    @classmethod
    def start(cls, now: np.ndarray, alive: np.ndarray) -> TickRecord:
        return cls(
            now=now.copy(),
            active=alive.copy(),
            all_active=np.count_nonzero(alive) == alive.size,
            events=TownEvents.zeros(alive.shape[0]),
        )
