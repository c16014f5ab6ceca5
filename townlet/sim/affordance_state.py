"""Abandoning a running affordance, shared by ghost steps, failed starts and terminations."""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import AFF_EAT
from townlet.sim.state import TownState


def drop_affordances(state: TownState, t: np.ndarray, a: np.ndarray) -> None:
    """Stop the affordances of agents (t, a) without effects; a taken meal returns to its fridge.

    Effects only apply on completion (§9.2), so a dropped run costs nothing but the time spent.
    """
    if t.size == 0:
        return
    src = state.run_src[t, a]
    back = (state.run_aff[t, a] == AFF_EAT) & (src >= 0)
    np.add.at(state.stock, (t[back], src[back]), 1)
    state.run_aff[t, a] = -1
    state.run_obj[t, a] = -1
    state.run_src[t, a] = -1
    state.run_elapsed[t, a] = 0
    state.run_duration[t, a] = 0
