"""Per-agent action masks of the fixed 12-action space (DESIGN §9.7).

While an affordance runs (or after the agent has terminated) only ``wait`` is allowed. Moves
into walls or off the grid are masked, as are options whose target the scenario lacks, chat
without a living neighbour within one tile, and avoid_rival without a rival to avoid.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import AVOID, CHAT, DIR_DX, DIR_DY, NUM_ACTIONS, WAIT, WORK
from townlet.sim.layout import Layout
from townlet.sim.state import TownState
from townlet.sim.view import WorldView

_DX1, _DY1 = DIR_DX[1:] + 1, DIR_DY[1:] + 1  # offsets into the padded walkable grid


def move_ok(state: TownState, layout: Layout) -> np.ndarray:
    """[T, A, 4] the tile one step north, south, east, west is walkable."""
    return layout.walk_pad[state.y[:, :, None] + _DY1, state.x[:, :, None] + _DX1]


def compute_masks(view: WorldView) -> np.ndarray:
    """[T, A, NUM_ACTIONS] bool: which actions each agent may take now."""
    state, layout = view.state, view.layout
    towns, agents = state.x.shape
    mask = np.empty((towns, agents, NUM_ACTIONS), dtype=bool)
    mask[:, :, WAIT] = True
    mask[:, :, 1:5] = move_ok(state, layout)
    mask[:, :, 5:9] = layout.option_available[5:9]
    mask[:, :, WORK] = layout.has_job
    mask[:, :, CHAT] = view.chat_partners.any(axis=2)
    mask[:, :, AVOID] = (view.avoids & state.alive[:, None, :]).any(axis=2)
    mask[:, :, 1:] &= (state.alive & (state.run_aff < 0))[:, :, None]
    return mask
