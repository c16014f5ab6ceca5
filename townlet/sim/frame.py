"""Everything derived from where the agents stand (x, y, alive), computed together.

Agents waiting, sleeping or showering do not move, so the positions often come out the same
from one tick to the next; the engine keeps the last frame in a memo keyed on the bytes of x,
y and alive (:mod:`townlet.sim.memo`), and its arrays are read-only because they are shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.constants import CHAT
from townlet.sim.gather import not_self
from townlet.sim.layout import Layout
from townlet.sim.state import TownState


@dataclass(slots=True)  # not frozen: a frozen init costs more than the frame at one town
class PositionFrame:
    """Read-only arrays of one set of positions (see :mod:`townlet.sim.tables` for indices)."""

    tile: np.ndarray  # [T, A] tile index y * W + x
    rel: np.ndarray  # [T, A, A] offset from agent a (axis 1) to b (axis 2), as a table index
    others: np.ndarray  # [T, A, A] b is a different, living agent
    chat_partners: np.ndarray  # [T, A, A] ... and within one tile (Chebyshev <= 1)
    has_partner: np.ndarray  # [T, A] some chat partner is in range (the chat mask)
    same_tile: np.ndarray  # [T, A, A] a and b stand on the same tile (a itself included)
    shares_tile: bool  # somewhere two different agents share a tile
    goal_row: np.ndarray  # [T, A, 1 + O + J] BFS steps to every goal column
    # [T, A, NUM_ACTIONS] what the position allows: walls, the scenario's options, work for job
    # holders and chat with a partner in range (avoid_rival and running affordances excluded)
    position_mask: np.ndarray


def build_frame(state: TownState, layout: Layout) -> PositionFrame:
    """The position-derived arrays of ``state`` (see :class:`PositionFrame`)."""
    tables = layout.tables
    x, y = state.x, state.y
    tile = y * layout.width + x
    q = tables.tile_q[tile]
    rel = (q + tables.rel_center)[:, None, :] - q[:, :, None]
    others = state.alive[:, None, :] & not_self(x.shape[1])
    chat_partners = others & tables.rel_near[rel]
    same_tile = rel == tables.rel_center
    has_partner = chat_partners.any(axis=2)
    position_mask = tables.tile_mask[tile]
    position_mask &= tables.agent_mask
    position_mask[:, :, CHAT] = has_partner
    goal_row = tables.goal_dist[tile]
    shared = (tile, rel, others, chat_partners, has_partner, same_tile, goal_row, position_mask)
    for value in shared:
        value.flags.writeable = False  # shared through the memo: readers must copy
    return PositionFrame(
        tile=tile,
        rel=rel,
        others=others,
        chat_partners=chat_partners,
        has_partner=has_partner,
        same_tile=same_tile,
        # The diagonal (an agent and itself) is always set: more than T * A means a pair.
        shares_tile=np.count_nonzero(same_tile) > tile.size,
        goal_row=goal_row,
        position_mask=position_mask,
    )
