"""Per-step scratch: event counters per town and reward terms per agent.

Each phase adds into these arrays; the vector env hands them to the trainer in ``info`` so that
telemetry can sum them over a rollout without any per-agent Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from townlet.sim.constants import EVENT_KEYS, REWARD_TERMS


@dataclass
class StepScratch:
    """What one tick produced. ``now`` is the tick being simulated in each town."""

    now: np.ndarray  # [T]
    active: np.ndarray  # [T, A] alive when the tick began
    events: dict[str, np.ndarray] = field(default_factory=dict)  # key -> [T] float64
    terms: dict[str, np.ndarray] = field(default_factory=dict)  # term -> [T, A] float64
    fainted: np.ndarray | None = None  # [T, A]
    evicted: np.ndarray | None = None  # [T, A]
    term_block: np.ndarray | None = None  # [len(REWARD_TERMS), T, A]; ``terms`` are its rows

    @classmethod
    def start(cls, now: np.ndarray, alive: np.ndarray) -> StepScratch:
        towns, agents = alive.shape
        # One block per kind; the dict entries are row views (two allocations, not thirty).
        events = np.zeros((len(EVENT_KEYS), towns))
        terms = np.zeros((len(REWARD_TERMS), towns, agents))
        return cls(
            now=now.copy(),
            active=alive.copy(),
            events=dict(zip(EVENT_KEYS, events, strict=True)),
            terms=dict(zip(REWARD_TERMS, terms, strict=True)),
            term_block=terms,
        )

    def terms_float32(self) -> dict[str, np.ndarray]:
        """The reward terms as float32 arrays (one conversion for all of them)."""
        assert self.term_block is not None
        return dict(zip(REWARD_TERMS, self.term_block.astype(np.float32), strict=True))

    def count(self, key: str, towns: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add one event (or ``weights``) per entry of ``towns`` (town indices, may repeat)."""
        if towns.size:
            self.events[key] += np.bincount(towns, weights=weights, minlength=self.now.shape[0])

    def finish(self) -> None:
        """Derived counters: the mean chat quality of the tick (0 when nobody chatted well)."""
        n = self.events["chat_success_events"]
        self.events["chat_quality_mean"] = np.divide(
            self.events["chat_quality_sum"], n, out=np.zeros_like(n), where=n > 0
        )


def running_index(sorted_towns: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal town indices (input sorted by town)."""
    n = sorted_towns.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_towns[1:] != sorted_towns[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)
