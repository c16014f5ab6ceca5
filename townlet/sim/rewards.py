"""Per-agent rewards (§9.6) with every term kept for telemetry.

``survival_tick - sum_n w_n * max(0, 1 - need_n)^2`` plus wage, punctuality, lateness penalties
and the social terms, clipped to ``±clip_per_tick``; only then is a terminal penalty added
(faint or eviction), so a terminal outcome is never hidden by the clip.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.events import StepScratch
from townlet.sim.layout import Layout
from townlet.sim.state import TownState


def compute_rewards(state: TownState, layout: Layout, scratch: StepScratch) -> np.ndarray:
    """[T, A] float32 rewards; fills the shaped terms, ``clipped``, ``terminal`` and ``total``.

    Only agents alive when the tick began earn anything. Wage, punctuality, lateness and the
    social terms are already zero for others (their phases skip dead agents); survival and the
    need penalties are masked here.
    """
    rw = layout.scenario.rewards
    terms = scratch.terms
    active = scratch.active.astype(np.float64)
    deficit = np.maximum(0.0, 1.0 - state.needs)
    deficit *= deficit
    penalty = deficit * layout.need_weights
    penalty *= -active[:, :, None]
    # Terms are rows of one block (see StepScratch): write into them, never rebind them.
    np.multiply(active, rw.survival_tick, out=terms["survival"])
    terms["need_hunger"][:] = penalty[:, :, 0]
    terms["need_hygiene"][:] = penalty[:, :, 1]
    terms["need_energy"][:] = penalty[:, :, 2]
    shaped = penalty.sum(axis=2)
    for name in ("survival", "wage", "punctuality", "lateness", "social_chat", "social_avoid"):
        shaped += terms[name]
    clipped = np.clip(shaped, -rw.clip_per_tick, rw.clip_per_tick)
    terminal = terms["terminal"]
    if scratch.fainted is not None and np.count_nonzero(scratch.fainted):
        terminal += np.where(scratch.fainted, rw.faint_penalty, 0.0)
    if scratch.evicted is not None and np.count_nonzero(scratch.evicted):
        terminal += np.where(scratch.evicted, rw.eviction_penalty, 0.0)
    terms["clipped"][:] = clipped
    np.add(clipped, terminal, out=terms["total"])
    return terms["total"].astype(np.float32)
