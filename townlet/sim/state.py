"""The towns' state: plain numpy arrays shaped [towns, agents, ...] (or [towns, objects]).

Every field is listed in ``_SPECS`` with its shape kind, dtype and fill value, so allocation,
per-town reset and checkpoint round trips (``to_dict``/``from_dict``) stay in one place. The
field names are a checkpoint format: ``TownVecEnv.get_state`` stores them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from townlet.sim.constants import KPI_COUNTERS, SHIFT_NONE, SHIFT_PRE
from townlet.sim.rng import episode_keys
from townlet.sim.world import World

# kind: "ta" [T, A], "ta3" [T, A, 3], "tao" [T, A, O], "taa" [T, A, A], "taw" [T, A, window],
# "tak" [T, A, KPI counters],
# "to" [T, O], "t" [T]
_SPECS: dict[str, tuple[str, type, object]] = {
    "x": ("ta", np.int64, 0),
    "y": ("ta", np.int64, 0),
    "alive": ("ta", np.bool_, True),
    "needs": ("ta3", np.float64, 1.0),
    "wallet": ("ta", np.float64, 0.0),
    "run_aff": ("ta", np.int64, -1),  # running affordance, -1 when idle
    "run_obj": ("ta", np.int64, -1),  # object it runs at (-1 for work)
    "run_src": ("ta", np.int64, -1),  # fridge an eaten meal came from (returned if dropped)
    "run_elapsed": ("ta", np.int64, 0),
    "run_duration": ("ta", np.int64, 0),
    "hold_obj": ("ta", np.int64, -1),  # reservation held (queue holder), -1 for none
    "hold_since": ("ta", np.int64, 0),
    "queue_obj": ("ta", np.int64, -1),  # object whose FIFO the agent waits in
    "queue_seq": ("ta", np.int64, 0),  # town-wide join order: FIFO index is the rank of this
    "queue_tick": ("ta", np.int64, 0),  # joined_tick, for age priority
    "pending_option": ("ta", np.int64, 0),  # option that made the current request
    "cooldown_until": ("tao", np.int64, 0),  # a request before this tick is refused
    "last_action": ("ta", np.int64, 0),
    "last_success": ("ta", np.bool_, True),
    "last_chat_tick": ("ta", np.int64, -(1 << 30)),
    "shift_state": ("ta", np.int64, SHIFT_NONE),
    "shift_day": ("ta", np.int64, -1),  # day whose shift the shift_* fields describe
    "shift_present": ("ta", np.int64, 0),  # on-site ticks this shift
    "shift_on_time": ("ta", np.int64, 0),  # on-site ticks in the on_time state
    "shift_arrived": ("ta", np.bool_, False),
    "shift_arrived_on_time": ("ta", np.bool_, False),
    "shift_late_flag": ("ta", np.bool_, False),
    "shift_absent_flag": ("ta", np.bool_, False),
    "shift_help": ("ta", np.bool_, False),  # employment_helped_when_late already emitted
    "shift_took": ("ta", np.bool_, False),  # employment_took_my_shift already emitted
    "shift_done": ("ta", np.bool_, False),  # attendance recorded for this shift
    "lateness_counter": ("ta", np.int64, 0),
    "wages_withheld": ("ta", np.float64, 0.0),
    "attendance": ("taw", np.float64, 0.0),  # ring of the last attendance_window ratios
    "attendance_total": ("ta", np.int64, 0),  # shifts recorded so far (ring position)
    "rivalry": ("taa", np.float64, 0.0),  # rivalry ledger (symmetric)
    "trust": ("taa", np.float64, 0.0),
    "familiarity": ("taa", np.float64, 0.0),
    "tie_rivalry": ("taa", np.float64, 0.0),
    "stock": ("to", np.int64, 0),
    "stall": ("to", np.int64, 0),  # consecutive stalled ticks of a held object
    "tick": ("t", np.int64, 0),
    "episode": ("t", np.int64, 0),
    "seed": ("t", np.int64, 0),
    "key": ("t", np.uint64, 0),
    "seq": ("t", np.int64, 0),  # next queue sequence number
    "power_until": ("t", np.int64, 0),
    "water_until": ("t", np.int64, 0),
    "ctx_reset": ("t", np.bool_, True),  # first observation of an episode
    "kpi_tally": ("tak", np.float64, 0.0),  # KPI counters of the day in progress (kpi.py)
    "day_ok": ("ta", np.bool_, True),  # alive with every need above the floor so far today
    "kpi_open": ("t", np.bool_, True),  # the episode still reports days (False once wiped out)
}


@dataclass
class TownState:
    """Every array of every town (shapes, dtypes and meanings in ``_SPECS``)."""

    x: np.ndarray
    y: np.ndarray
    alive: np.ndarray
    needs: np.ndarray
    wallet: np.ndarray
    run_aff: np.ndarray
    run_obj: np.ndarray
    run_src: np.ndarray
    run_elapsed: np.ndarray
    run_duration: np.ndarray
    hold_obj: np.ndarray
    hold_since: np.ndarray
    queue_obj: np.ndarray
    queue_seq: np.ndarray
    queue_tick: np.ndarray
    pending_option: np.ndarray
    cooldown_until: np.ndarray
    last_action: np.ndarray
    last_success: np.ndarray
    last_chat_tick: np.ndarray
    shift_state: np.ndarray
    shift_day: np.ndarray
    shift_present: np.ndarray
    shift_on_time: np.ndarray
    shift_arrived: np.ndarray
    shift_arrived_on_time: np.ndarray
    shift_late_flag: np.ndarray
    shift_absent_flag: np.ndarray
    shift_help: np.ndarray
    shift_took: np.ndarray
    shift_done: np.ndarray
    lateness_counter: np.ndarray
    wages_withheld: np.ndarray
    attendance: np.ndarray
    attendance_total: np.ndarray
    rivalry: np.ndarray
    trust: np.ndarray
    familiarity: np.ndarray
    tie_rivalry: np.ndarray
    stock: np.ndarray
    stall: np.ndarray
    tick: np.ndarray
    episode: np.ndarray
    seed: np.ndarray
    key: np.ndarray
    seq: np.ndarray
    power_until: np.ndarray
    water_until: np.ndarray
    ctx_reset: np.ndarray
    kpi_tally: np.ndarray
    day_ok: np.ndarray
    kpi_open: np.ndarray

    @property
    def num_towns(self) -> int:
        return int(self.tick.shape[0])

    def to_dict(self) -> dict[str, np.ndarray]:
        """Copies of every array: a plain container a checkpoint can pickle or save."""
        return {f.name: getattr(self, f.name).copy() for f in fields(self)}

    def subset(self, towns: np.ndarray) -> TownState:
        """A copy holding only the listed towns (to observe a few freshly reset towns)."""
        return TownState(**{f.name: getattr(self, f.name)[towns] for f in fields(self)})

    @classmethod
    def from_dict(cls, data: dict[str, np.ndarray]) -> TownState:
        missing = [name for name in _SPECS if name not in data]
        if missing:
            raise ValueError(f"simulation state lacks {', '.join(missing)}")
        return cls(**{name: np.array(data[name], dtype=_SPECS[name][1]) for name in _SPECS})


def _shape(kind: str, towns: int, world: World) -> tuple[int, ...]:
    a, o = world.num_agents, world.num_objects
    window = world.scenario.employment.attendance_window
    return {
        "ta": (towns, a),
        "ta3": (towns, a, 3),
        "tao": (towns, a, o),
        "taa": (towns, a, a),
        "taw": (towns, a, window),
        "tak": (towns, a, len(KPI_COUNTERS)),
        "to": (towns, o),
        "t": (towns,),
    }[kind]


def allocate(world: World, towns: int, base_seed: int) -> TownState:
    """A fresh state with every town at the start of episode 0; town i is seeded base_seed + i."""
    arrays: dict[str, np.ndarray] = {
        name: np.full(_shape(kind, towns, world), fill, dtype=dtype)
        for name, (kind, dtype, fill) in _SPECS.items()
    }
    state = TownState(**arrays)
    state.seed[:] = base_seed + np.arange(towns, dtype=np.int64)
    reset_towns(state, world, np.arange(towns), new_episode=False)
    return state


def reset_towns(
    state: TownState, world: World, towns: np.ndarray, new_episode: bool = True
) -> None:
    """Put the listed towns back at the start of an episode, in place, with a fresh key.

    Other towns are not touched. ``new_episode`` advances the episode counter so the town draws
    a new random stream; the initial reset keeps episode 0.
    """
    if towns.size == 0:
        return
    for name, (_kind, _dtype, fill) in _SPECS.items():
        if name in ("episode", "seed", "key"):
            continue
        getattr(state, name)[towns] = fill
    state.x[towns] = world.agents.start_x
    state.y[towns] = world.agents.start_y
    state.needs[towns] = world.agents.start_needs
    state.wallet[towns] = world.agents.start_wallet
    state.stock[towns] = world.objects.initial_stock
    state.shift_state[towns] = np.where(world.jobs.has_job, SHIFT_PRE, SHIFT_NONE)
    if new_episode:
        state.episode[towns] += 1
    state.key[towns] = episode_keys(state.seed[towns], state.episode[towns])
