"""Fixed vocabularies of the town (DESIGN §9): actions, affordances, object types, features.

Everything here is shared by every scenario, so replay data, policies and telemetry can rely on
the same ids and names whatever world produced them.
"""

from __future__ import annotations

import hashlib

import numpy as np

# --- actions (§9.7) -------------------------------------------------------------------------
ACTION_NAMES: tuple[str, ...] = (
    "wait",
    "move_north",
    "move_south",
    "move_east",
    "move_west",
    "eat",
    "cook",
    "shower",
    "sleep",
    "work",
    "chat",
    "avoid_rival",
)
NUM_ACTIONS = len(ACTION_NAMES)
WAIT, MOVE_N, MOVE_S, MOVE_E, MOVE_W, EAT, COOK, SHOWER, SLEEP, WORK, CHAT, AVOID = range(12)
ACTION_IDS: dict[str, int] = {name: i for i, name in enumerate(ACTION_NAMES)}

# Grid deltas indexed by a direction code: 0 = stay, 1..4 = north, south, east, west. The same
# codes are the move action ids, so a BFS "next step" table doubles as an action table.
# y grows southwards (row index), x grows eastwards (column index).
DIR_DX = np.array([0, 0, 0, 1, -1], dtype=np.int64)
DIR_DY = np.array([0, -1, 1, 0, 0], dtype=np.int64)

# --- affordances (§9.2) ---------------------------------------------------------------------
AFFORDANCE_NAMES: tuple[str, ...] = (
    "eat_meal",
    "cook_meal",
    "use_shower",
    "rest_sleep",
    "work_shift",
)
AFF_EAT, AFF_COOK, AFF_SHOWER, AFF_SLEEP, AFF_WORK = range(5)  # run_aff is -1 when idle
# Goal-directed options 5..9 start these affordances (index by action id; -1 elsewhere).
ACTION_TO_AFFORDANCE = np.full(NUM_ACTIONS, -1, dtype=np.int64)
ACTION_TO_AFFORDANCE[[EAT, COOK, SHOWER, SLEEP, WORK]] = [
    AFF_EAT,
    AFF_COOK,
    AFF_SHOWER,
    AFF_SLEEP,
    AFF_WORK,
]
OBJECT_OPTIONS: tuple[int, ...] = (EAT, COOK, SHOWER, SLEEP)  # options that target an object

NEED_NAMES: tuple[str, ...] = ("hunger", "hygiene", "energy")
HUNGER, HYGIENE, ENERGY = range(3)

# --- objects --------------------------------------------------------------------------------
# counter marks a workplace and bench a resting spot; neither offers an affordance, but both show
# on the objects channel and count as landmarks.
OBJECT_TYPES: tuple[str, ...] = ("fridge", "stove", "table", "shower", "bed", "counter", "bench")
OBJ_FRIDGE, OBJ_STOVE, OBJ_TABLE, OBJ_SHOWER, OBJ_BED, OBJ_COUNTER, OBJ_BENCH = range(7)
# Which object types each goal-directed option can use.
OPTION_OBJECT_TYPES: dict[int, tuple[int, ...]] = {
    EAT: (OBJ_FRIDGE, OBJ_TABLE),
    COOK: (OBJ_STOVE,),
    SHOWER: (OBJ_SHOWER,),
    SLEEP: (OBJ_BED,),
}

# --- employment (§9.5) ----------------------------------------------------------------------
SHIFT_STATES: tuple[str, ...] = ("pre_shift", "on_time", "late", "absent", "post_shift")
SHIFT_NONE, SHIFT_PRE, SHIFT_ON_TIME, SHIFT_LATE, SHIFT_ABSENT, SHIFT_POST = -1, 0, 1, 2, 3, 4

# --- observations (§9.8) --------------------------------------------------------------------
OBSERVATION_VARIANTS: tuple[str, ...] = ("hybrid", "full", "compact")
MAP_CHANNELS: dict[str, tuple[str, ...]] = {
    "hybrid": ("self", "agents", "objects", "reservations"),
    "full": ("self", "agents", "objects", "reservations", "path_dx", "path_dy"),
    "compact": ("self", "agents", "objects", "reservations", "walkable"),
}
MAP_WINDOW: dict[str, int] = {"hybrid": 11, "full": 11, "compact": 7}

EMBED_DIM = 8
SOCIAL_SLOTS = 4  # two top friends, then two top rivals
SOCIAL_SLOT_DIM = EMBED_DIM + 3  # embedding + trust, familiarity, rivalry

BASE_FEATURE_NAMES: tuple[str, ...] = (
    "need_hunger",
    "need_hygiene",
    "need_energy",
    "wallet",
    "lateness_counter",
    "on_shift",
    "time_sin",
    "time_cos",
    "attendance_ratio",
    "wages_withheld",
    "shift_pre",
    "shift_on_time",
    "shift_late",
    "shift_absent",
    "shift_post",
    "embedding_slot_norm",
    "ctx_reset_flag",
    "episode_progress",
    "rivalry_max",
    "rivalry_avoid_count",
    "last_action_id_hash",
    "last_action_success",
    "last_action_duration",
    "reservation_active",
    "in_queue",
    "path_hint_north",
    "path_hint_south",
    "path_hint_east",
    "path_hint_west",
    "neighbor_agent_ratio",
    "neighbor_object_ratio",
    "reserved_tile_ratio",
    "nearest_agent_distance",
)
SOCIAL_FEATURE_NAMES: tuple[str, ...] = tuple(
    f"social_slot{s}_d{d}" for s in range(SOCIAL_SLOTS) for d in range(SOCIAL_SLOT_DIM)
) + ("social_trust_mean", "social_trust_max", "social_rivalry_mean", "social_rivalry_max")
FEATURE_NAMES: tuple[str, ...] = BASE_FEATURE_NAMES + SOCIAL_FEATURE_NAMES
NUM_FEATURES = len(FEATURE_NAMES)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
assert NUM_FEATURES == 81, NUM_FEATURES

# --- events (§9.3-§9.5): per-town counts returned by every step ----------------------------
# Charter KPIs (DESIGN §13): the per-agent-day counters townlet.sim.kpi keeps.
NEED_FLOOR = 0.3  # K1: hunger, hygiene and energy all above this after every tick of the day
TIE_THRESHOLD = 0.3  # K3: a tie counts when |trust| or tie rivalry is above this
KPI_COUNTERS: tuple[str, ...] = (
    "days",  # agent-days completed
    "self_sufficient_days",  # of them, alive with every need > NEED_FLOOR at every tick
    "tie_days",  # of them, ending with at least one tie above TIE_THRESHOLD
    "shift_starts",  # shifts whose grace period ended (job holders alive then)
    "late_starts",  # of them, not on time: late or absent
    "shift_ticks",  # ticks of the shifts that closed
    "present_ticks",  # of them, on site working
    "faints",
    "conflicts",  # queue conflicts the agent took part in (each conflict has two parties)
    "escalations",  # of them, conflicts after which the pair's rivalry reached avoid_threshold
)

# Town-level event keys: a completed day's counters summed over the town's agents (conflicts
# and escalations once per conflict, not once per party).
KPI_EVENT_KEYS: tuple[str, ...] = tuple(f"kpi_{name}" for name in KPI_COUNTERS)

EVENT_KEYS: tuple[str, ...] = (
    "queue_conflict_events",
    "queue_conflict_intensity_sum",
    "ghost_step_events",
    "handover_events",
    "shared_meal_events",
    "late_help_events",
    "shift_takeover_events",
    "chat_success_events",
    "chat_failure_events",
    "chat_quality_sum",
    "chat_quality_mean",
    "utility_outage_events",
    "shower_complete_events",
    "sleep_complete_events",
    "meal_cooked_events",
    "meal_eaten_events",
    "faint_events",
    "eviction_events",
    *KPI_EVENT_KEYS,  # the counters of the agent-days completed at this tick (§13)
)

REWARD_TERMS: tuple[str, ...] = (
    "survival",
    "need_hunger",
    "need_hygiene",
    "need_energy",
    "wage",
    "punctuality",
    "lateness",
    "social_chat",
    "social_avoid",
    "need_floor",
    "clipped",
    "terminal",
    "living_well",
    "total",
)


def stable_unit_hash(text: str, count: int = 1) -> np.ndarray:
    """``count`` floats in [0, 1) from blake2s(text): stable across runs, platforms and seeds.

    Used for the agent-id embeddings and ``last_action_id_hash`` so that the same name always
    maps to the same numbers, as in the older system.
    """
    digest = hashlib.blake2s(text.encode("utf-8")).digest()
    values = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) / 255.0
    reps = -(-count // values.size)
    return np.tile(values, reps)[:count]


ACTION_HASH = np.array(
    [
        int.from_bytes(hashlib.blake2s(name.encode("utf-8")).digest()[:4], "little") / 2.0**32
        for name in ACTION_NAMES
    ],
    dtype=np.float32,
)
