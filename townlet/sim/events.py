"""Per-step scratch: event counters per town and reward terms per agent.

Each phase adds into these arrays; the vector env hands them to the trainer in ``info`` so that
telemetry can sum them over a rollout without any per-agent Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.constants import EVENT_KEYS, REWARD_TERMS

TERM_INDEX = {name: i for i, name in enumerate(REWARD_TERMS)}


@dataclass
class StepScratch:
    """What one tick produced. ``now`` is the tick being simulated in each town."""

    now: np.ndarray  # [T]
    active: np.ndarray  # [T, A] alive when the tick began
    all_active: bool  # every agent of every town was alive when the tick began
    events: dict[str, np.ndarray]  # key -> [T] float64, rows of one block
    term_block: np.ndarray  # [len(REWARD_TERMS), T, A] float64, one row per term
    fainted: np.ndarray | None = None  # [T, A], None when nobody fainted
    evicted: np.ndarray | None = None  # [T, A], None when nobody was evicted

    @classmethod
    def start(cls, now: np.ndarray, alive: np.ndarray) -> StepScratch:
        towns, agents = alive.shape
        # One block per kind: the event entries are row views (one allocation, not eighteen).
        events = np.zeros((len(EVENT_KEYS), towns))
        return cls(
            now=now.copy(),
            active=alive.copy(),
            all_active=np.count_nonzero(alive) == alive.size,
            events=dict(zip(EVENT_KEYS, events, strict=True)),
            term_block=np.zeros((len(REWARD_TERMS), towns, agents)),
        )

    def term(self, name: str) -> np.ndarray:
        """[T, A] the reward term ``name`` (a row of ``term_block``: add into it in place)."""
        return self.term_block[TERM_INDEX[name]]

    def terms_float32(self) -> dict[str, np.ndarray]:
        """The reward terms as float32 arrays (one conversion for all of them)."""
        return dict(zip(REWARD_TERMS, self.term_block.astype(np.float32), strict=True))

    def count(self, key: str, towns: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add one event (or ``weights``) per entry of ``towns`` (town indices, may repeat)."""
        if towns.size:
            self.events[key] += np.bincount(towns, weights=weights, minlength=self.now.shape[0])

    def finish(self) -> None:
        """Derived counters: the mean chat quality of the tick (0 when nobody chatted well)."""
        n = self.events["chat_success_events"]
        if np.count_nonzero(n):  # otherwise the mean stays at its initial 0
            self.events["chat_quality_mean"] = np.divide(
                self.events["chat_quality_sum"], n, out=np.zeros_like(n), where=n > 0
            )


def running_index(sorted_towns: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values (town indices, or any sorted keys)."""
    n = sorted_towns.shape[0]
    index = np.arange(n)
    if n <= 1:
        return index
    first = np.empty(n, dtype=bool)  # first entry of a run
    first[0] = True
    np.not_equal(sorted_towns[1:], sorted_towns[:-1], out=first[1:])
    return index - np.maximum.accumulate(np.where(first, index, 0))
