"""Social actions: chat (§9.4) and avoid_rival (§9.7), vectorised over every speaker at once."""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import DIR_DX, DIR_DY
from townlet.sim.events import StepScratch
from townlet.sim.gather import pick
from townlet.sim.relationships import CHAT_FAILURE, tie_delta
from townlet.sim.rng import STREAM_CHAT, uniform
from townlet.sim.view import WorldView


def avoid_steps(view: WorldView, movers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First move away from each mover's strongest avoided rival, and whether it widens the gap.

    The move picks the walkable neighbour farthest (Manhattan) from the rival, preferring north,
    south, east, west on ties. Returns ``(direction [T, A], widened [T, A])``.
    """
    state, layout = view.state, view.layout
    strength = np.where(view.rivals.live_avoids, state.rivalry, -1.0)
    rival = strength.argmax(axis=2)
    rx, ry = pick(state.x, rival), pick(state.y, rival)
    current = np.abs(state.x - rx) + np.abs(state.y - ry)
    gap = np.abs(state.x[:, :, None] + DIR_DX[1:] - rx[:, :, None]) + np.abs(
        state.y[:, :, None] + DIR_DY[1:] - ry[:, :, None]
    )
    score = np.where(layout.tables.tile_mask[view.frame.tile, 1:5], gap, -1)
    best = score.argmax(axis=2)
    best_gap = pick(score, best)
    direction = np.where(movers & (best_gap >= 0), best + 1, 0)
    return direction, movers & (best_gap > current)


def resolve_chats(view: WorldView, speakers: np.ndarray, scratch: StepScratch) -> np.ndarray:
    """Each speaker talks to its best-liked neighbour; returns [T, A] chat succeeded.

    The listener is the partner in range with the highest trust + familiarity - rivalry (lower
    index on ties). A listener who avoids the speaker (ledger at or above avoid_threshold) makes
    it a chat_failure. Quality q in [0.05, 1] grows with the tie, both extroversions and a little
    per-town noise; success adds trust 0.05q and familiarity 0.1q to the pair.
    """
    ok = np.zeros(speakers.shape, dtype=bool)
    t, a = np.nonzero(speakers)
    if t.size == 0:
        return ok
    state, layout = view.state, view.layout
    sc = layout.scenario
    now = scratch.now
    tie = state.trust[t, a] + state.familiarity[t, a] - state.tie_rivalry[t, a]
    listener = np.where(view.frame.chat_partners[t, a], tie, -np.inf).argmax(axis=1)
    failed = view.avoids[t, listener, a]
    noise = uniform(state.key, now, STREAM_CHAT, lanes=state.x.shape[1])[t, a]
    ext = layout.extroversion
    quality = np.clip(
        0.5
        + 0.25 * (state.trust[t, a, listener] + state.familiarity[t, a, listener])
        + 0.1 * (ext[a] + ext[listener])
        + 0.2 * (noise - 0.5),
        0.05,
        1.0,
    )
    good = ~failed
    tg, ag, lg, qg = t[good], a[good], listener[good], quality[good]
    tie_delta(state, tg, ag, lg, 0.05 * qg, 0.1 * qg, 0.0)
    tf, af, lf = t[failed], a[failed], listener[failed]
    tie_delta(state, tf, af, lf, *CHAT_FAILURE)
    scratch.count("chat_success_events", tg)
    scratch.count("chat_quality_sum", tg, weights=qg)
    scratch.count("chat_failure_events", tf)
    social = sc.rewards.social
    chat_term = scratch.term("social_chat")
    np.add.at(chat_term, (tg, ag), social.chat_success * qg)
    np.add.at(chat_term, (tg, lg), social.chat_success * qg)
    np.add.at(chat_term, (tf, af), -social.chat_failure)
    state.last_chat_tick[t, a] = now[t]
    ok[tg, ag] = True
    return ok
