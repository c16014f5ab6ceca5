"""Per-agent action masks of the fixed 12-action space (DESIGN §9.7).

While an affordance runs (or after the agent has terminated) only ``wait`` is allowed. Moves
into walls or off the grid are masked, as are options whose target the scenario lacks, chat
without a living neighbour within one tile or within ``social.chat_cooldown`` ticks of the
speaker's last chat, and avoid_rival without a rival to avoid.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import AVOID, CHAT
from townlet.sim.view import WorldView


def compute_masks(view: WorldView) -> np.ndarray:
    """[T, A, NUM_ACTIONS] bool: which actions each agent may take now.

    What the positions allow (walls, the scenario's options, work for job holders, chat with a
    partner in range) comes with the position frame; avoid_rival follows the rivalry ledger.
    """
    state = view.state
    mask = view.frame.position_mask.copy()
    mask[:, :, AVOID] = view.rivals.has_live_rival
    # The chat cooldown is a world rule: a speaker waits chat_cooldown ticks between chats.
    cooldown = view.layout.scenario.social.chat_cooldown
    mask[:, :, CHAT] &= state.last_chat_tick <= (state.tick - cooldown)[:, None]
    mask[:, :, 1:] &= ((state.run_aff < 0) & state.alive)[:, :, None]
    return mask
