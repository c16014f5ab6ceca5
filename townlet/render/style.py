"""Colours and names shared by the timeline and the town animation, so both read the same way.

Needs keep one colour each everywhere (hunger orange, hygiene blue, energy green). An agent's
*activity* at a tick is what it is doing: the affordance it runs if any (a sleeping agent's
chosen action is ``wait``, since nothing else is legal, which would hide the sleep), else the
action it chose; the four moves share one colour, as their direction says little at a glance.
"""

from __future__ import annotations

import numpy as np

from townlet.sim.constants import (
    AFF_COOK,
    AFF_EAT,
    AFF_SHOWER,
    AFF_SLEEP,
    AFF_WORK,
    AVOID,
    CHAT,
    COOK,
    EAT,
    MOVE_N,
    MOVE_W,
    SHOWER,
    SLEEP,
    WAIT,
    WORK,
)

NEED_COLOURS: tuple[str, str, str] = ("#e6550d", "#3182bd", "#31a354")  # hunger, hygiene, energy

# (label, colour) of each activity; the index is the activity id.
ACTIVITIES: tuple[tuple[str, str], ...] = (
    ("wait", "#e3e3e3"),
    ("move", "#bcbddc"),
    ("eat", "#fdae6b"),
    ("cook", "#a63603"),
    ("shower", "#6baed6"),
    ("sleep", "#238b45"),
    ("work", "#525252"),
    ("chat", "#e7298a"),
    ("avoid rival", "#f0d000"),
    ("fainted / gone", "#000000"),
)
ACT_WAIT, ACT_MOVE, ACT_EAT, ACT_COOK, ACT_SHOWER, ACT_SLEEP, ACT_WORK, ACT_CHAT, ACT_AVOID = range(
    9
)
ACT_GONE = 9

# Action id -> activity id (moves collapse into one).
_FROM_ACTION = np.full(12, ACT_WAIT, dtype=np.int64)
_FROM_ACTION[WAIT] = ACT_WAIT
_FROM_ACTION[MOVE_N : MOVE_W + 1] = ACT_MOVE
_FROM_ACTION[[EAT, COOK, SHOWER, SLEEP, WORK]] = [
    ACT_EAT,
    ACT_COOK,
    ACT_SHOWER,
    ACT_SLEEP,
    ACT_WORK,
]
_FROM_ACTION[CHAT] = ACT_CHAT
_FROM_ACTION[AVOID] = ACT_AVOID
# Affordance id -> activity id.
_FROM_AFFORDANCE = np.zeros(5, dtype=np.int64)
_FROM_AFFORDANCE[[AFF_EAT, AFF_COOK, AFF_SHOWER, AFF_SLEEP, AFF_WORK]] = [
    ACT_EAT,
    ACT_COOK,
    ACT_SHOWER,
    ACT_SLEEP,
    ACT_WORK,
]

# Object types (constants.OBJECT_TYPES order) on the map: (short label, fill colour). Kept clear
# of the green-to-red of the agents so that an object never reads as an agent's state.
OBJECT_STYLE: tuple[tuple[str, str], ...] = (
    ("F", "#9ecae1"),  # fridge
    ("St", "#8c510a"),  # stove
    ("T", "#d8b365"),  # table
    ("Sh", "#2c7fb8"),  # shower
    ("B", "#8073ac"),  # bed
    ("C", "#969696"),  # counter (a job site)
    ("Be", "#bf812d"),  # bench
)

# Worst need -> colour, in NEED_LEVELS steps from red (0) through yellow to green (1).
NEED_LEVELS = 11
_NEED_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (215, 48, 39)),
    (0.3, (252, 141, 89)),
    (0.55, (254, 224, 139)),
    (0.8, (145, 207, 96)),
    (1.0, (26, 152, 80)),
)


def activities(run_aff: np.ndarray, actions: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """[N, A] activity ids from the running affordance, the chosen action and being alive."""
    doing = np.where(run_aff >= 0, _FROM_AFFORDANCE[np.maximum(run_aff, 0)], _FROM_ACTION[actions])
    return np.where(alive, doing, ACT_GONE)


def need_level(worst: np.ndarray | float) -> np.ndarray:
    """Index 0..NEED_LEVELS-1 of the colour step for a worst need in [0, 1]."""
    value = np.clip(np.asarray(worst, dtype=np.float64), 0.0, 1.0)
    return np.rint(value * (NEED_LEVELS - 1)).astype(np.int64)


def need_colours() -> list[tuple[int, int, int]]:
    """The NEED_LEVELS RGB colours, red (worst need 0) to green (1)."""
    points = np.array([stop for stop, _ in _NEED_STOPS])
    rgb = np.array([colour for _, colour in _NEED_STOPS], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, NEED_LEVELS)
    channels = [np.interp(levels, points, rgb[:, c]) for c in range(3)]
    return [(round(r), round(g), round(b)) for r, g, b in zip(*channels, strict=True)]


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an RGB triple."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
