"""Running affordances (§9.2): progress, completion effects, releases and handovers.

Effects apply only on completion: need deltas, the wallet charge, a cooked meal delivered to the
stove's fridge. The finisher releases its reservation successfully (starting its cooldown) and
the object passes to a waiter (§9.3), one finisher per object at a time so that objects with
capacity > 1 hand over in agent order.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import AFF_COOK, AFF_EAT, AFF_SHOWER, AFF_SLEEP, AFF_WORK
from townlet.sim.events import StepScratch, running_index
from townlet.sim.layout import Layout
from townlet.sim.queues import hand_over, release
from townlet.sim.state import TownState


def progress_affordances(state: TownState, layout: Layout, scratch: StepScratch) -> None:
    """Advance every running affordance by a tick and complete those that reached duration.

    work_shift is excluded: it is paid per tick and ended by the employment phase.
    """
    running = state.run_aff >= 0
    if not scratch.all_active:  # (alive at the tick's start is alive now: deaths come later)
        running &= state.alive
    if not np.count_nonzero(running):
        return
    state.run_elapsed += running
    done = running & (state.run_aff != AFF_WORK) & (state.run_elapsed >= state.run_duration)
    if not np.count_nonzero(done):
        return
    t, a = np.nonzero(done)
    aff = state.run_aff[t, a]
    obj = state.run_obj[t, a]
    needs = state.needs[t, a] + layout.aff_effect[aff]
    state.needs[t, a] = np.clip(needs, 0.0, 1.0)
    state.wallet[t, a] -= layout.aff_cost[aff]
    cooked = aff == AFF_COOK
    fridge = layout.stove_fridge[obj[cooked]]
    has_fridge = fridge >= 0
    np.add.at(state.stock, (t[cooked][has_fridge], fridge[has_fridge]), 1)
    scratch.count("meal_cooked_events", t[cooked])
    scratch.count("meal_eaten_events", t[aff == AFF_EAT])
    scratch.count("shower_complete_events", t[aff == AFF_SHOWER])
    scratch.count("sleep_complete_events", t[aff == AFF_SLEEP])
    state.run_aff[t, a] = -1
    state.run_obj[t, a] = -1
    state.run_src[t, a] = -1
    state.run_elapsed[t, a] = 0
    state.run_duration[t, a] = 0
    release(
        state,
        t,
        a,
        success=True,
        cooldown=layout.scenario.queue_fairness.cooldown_ticks,
        now=scratch.now,
    )
    _hand_over_in_turn(state, layout, scratch, t, a, obj)


def _hand_over_in_turn(
    state: TownState,
    layout: Layout,
    scratch: StepScratch,
    t: np.ndarray,
    a: np.ndarray,
    obj: np.ndarray,
) -> None:
    """Call ``hand_over`` in rounds so that each (town, object) sees one finisher per round."""
    if t.shape[0] == 1:
        hand_over(state, layout, scratch.now, scratch, t, a, obj)
        return
    key = t * max(layout.num_objects, 1) + obj
    order = np.lexsort((a, key))
    t, a, obj, key = t[order], a[order], obj[order], key[order]
    round_of = running_index(key)  # 0, 1, ... among the finishers of each (town, object)
    for r in range(int(round_of.max(initial=-1)) + 1):
        sel = round_of == r
        hand_over(state, layout, scratch.now, scratch, t[sel], a[sel], obj[sel])
