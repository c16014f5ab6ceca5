"""Needs and survival (§9.2): per-tick decay, and the end of an agent (faint or eviction).

Hunger, hygiene and energy lie in [0, 1] (1 = satisfied) and drop every tick at the scenario's
rates. An agent faints when hunger reaches ``faint_threshold`` and is evicted when its wallet
falls below ``-max_debt``; either ends it until its town resets.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.affordances import drop_affordances
from townlet.sim.constants import HUNGER
from townlet.sim.kpi import FAINTS, tally
from townlet.sim.queues import release
from townlet.sim.state import TownState
from townlet.sim.tick_record import Deaths, TickRecord
from townlet.sim.world import World


def decay_needs(state: TownState, world: World, record: TickRecord) -> None:
    """Every living agent's needs drop by the scenario's per-tick rates (floored at 0)."""
    if record.all_active:  # nobody has died: the per-agent mask is not needed
        state.needs -= world.need_rates  # exactly the line below: rate * 1.0 == rate
    else:
        state.needs -= world.need_rates * state.alive[:, :, None]
    np.maximum(state.needs, 0.0, out=state.needs)


def terminate(state: TownState, world: World, record: TickRecord) -> np.ndarray:
    """Faint (hunger <= faint_threshold) and eviction (wallet below -max_debt) end an agent.

    A terminated agent leaves its queue, drops its affordance and releases its reservation, so
    the others can carry on; it stays dead until its town resets. Notes the deaths in
    ``record.deaths`` and returns [T, A] terminated.
    """
    scenario = world.scenario
    alive = state.alive
    faint = state.needs[:, :, HUNGER] <= scenario.needs.faint_threshold
    done = alive & (faint | (state.wallet < -scenario.economy.max_debt))
    if not np.count_nonzero(done):  # nobody dies on almost every tick: deaths stay None
        return done
    fainted = alive & faint
    evicted = done & ~fainted
    record.deaths = Deaths(fainted, evicted)
    record.events.add("faint_events", np.nonzero(fainted)[0])
    t, a = np.nonzero(fainted)
    tally(state, t, a, FAINTS)
    record.events.add("eviction_events", np.nonzero(evicted)[0])
    t, a = np.nonzero(done)  # every terminated agent
    drop_affordances(state, t, a)
    holding = state.hold_obj[t, a] >= 0
    release(state, t[holding], a[holding], success=False, cooldown=0, now=record.now)
    state.queue_obj[t, a] = -1
    state.alive[t, a] = False
    return done
