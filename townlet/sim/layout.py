"""The static part of a scenario compiled into numpy tables, shared by every town.

All towns of one environment use the same layout, so shortest-path fields, object tables and
schedules are computed once here (BFS in Python at build time) and only gathered per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from townlet.sim.constants import (
    ACTION_IDS,
    AFF_COOK,
    AFF_EAT,
    AFF_SHOWER,
    AFF_SLEEP,
    EMBED_DIM,
    NUM_ACTIONS,
    OBJ_FRIDGE,
    OBJ_SHOWER,
    OBJ_STOVE,
    OBJ_TABLE,
    OBJECT_TYPES,
    OPTION_OBJECT_TYPES,
    WORK,
    stable_unit_hash,
)
from townlet.sim.paths import UNREACHABLE, path_fields
from townlet.sim.scenario import Scenario
from townlet.sim.tables import Tables, build_tables

__all__ = ["UNREACHABLE", "Layout", "build_layout"]


@dataclass(frozen=True)
class Layout:
    """Static tables; shapes use A agents, O objects, J jobs, H x W grid."""

    scenario: Scenario
    width: int
    height: int
    walkable: np.ndarray  # [H, W] bool
    agent_ids: tuple[str, ...]
    object_ids: tuple[str, ...]
    obj_type: np.ndarray  # [O] index into OBJECT_TYPES
    obj_x: np.ndarray  # [O]
    obj_y: np.ndarray  # [O]
    obj_capacity: np.ndarray  # [O]
    obj_stock0: np.ndarray  # [O]
    dist_obj: np.ndarray  # [O, H, W] steps to the use area
    next_obj: np.ndarray  # [O, H, W] first move towards it
    option_objects: np.ndarray  # [NUM_ACTIONS, O] which objects each option can use
    option_available: np.ndarray  # [NUM_ACTIONS] the scenario offers a target at all
    stove_fridge: np.ndarray  # [O] fridge that receives a stove's cooked meal (-1 none)
    eat_sources: np.ndarray  # [O, F] fridges an eater at this object draws from, nearest first
    job_start: np.ndarray  # [J]
    job_end: np.ndarray  # [J]
    job_wage: np.ndarray  # [J]
    job_lateness_penalty: np.ndarray  # [J]
    dist_job: np.ndarray  # [J, H, W]
    next_job: np.ndarray  # [J, H, W]
    agent_job: np.ndarray  # [A] job index, -1 for none
    pos0: np.ndarray  # [A, 2] (x, y)
    needs0: np.ndarray  # [A, 3]
    wallet0: np.ndarray  # [A]
    extroversion: np.ndarray  # [A]
    ambition: np.ndarray  # [A]
    schedule: np.ndarray  # [A, ticks] action id or -1
    embeddings: np.ndarray  # [A, EMBED_DIM] float32
    embeddings_padded: np.ndarray  # [A + 1, EMBED_DIM]: the embeddings and a zero row
    need_rates: np.ndarray  # [3]
    need_weights: np.ndarray  # [3] reward weights of the squared need deficits
    aff_ticks: np.ndarray  # [5] (work: 0, it runs to the end of the shift)
    aff_effect: np.ndarray  # [5, 3] need deltas on completion
    aff_cost: np.ndarray  # [5] wallet cost on completion
    outage_kind: np.ndarray  # [K] 0 power, 1 water (scheduled outages)
    outage_start: np.ndarray  # [K]
    outage_duration: np.ndarray  # [K]
    is_eat_spot: np.ndarray  # [O] fridges and tables
    is_shower: np.ndarray  # [O]
    has_job: np.ndarray  # [A]
    agent_start: np.ndarray  # [A] shift start tick of the agent's job (-1 without a job)
    agent_end: np.ndarray  # [A] shift end tick (-1 without a job)
    agent_wage: np.ndarray  # [A] wage per on-site tick (0 without a job)
    agent_lateness_penalty: np.ndarray  # [A]
    coworkers: np.ndarray  # [A, A] same job, different agent

    @cached_property
    def tables(self) -> Tables:
        """Per-tile and per-pair lookup tables (built on first use, then kept)."""
        return build_tables(self)

    @property
    def num_agents(self) -> int:
        return len(self.agent_ids)

    @property
    def num_objects(self) -> int:
        return len(self.object_ids)

    @property
    def num_jobs(self) -> int:
        return int(self.job_start.shape[0])


def _walkable(sc: Scenario) -> np.ndarray:
    grid = np.ones((sc.grid.height, sc.grid.width), dtype=bool)
    for x, y in sc.grid.walls:
        grid[y, x] = False
    return grid


def _eat_tables(
    sc: Scenario, obj_type: np.ndarray, obj_xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    fridges = np.flatnonzero(obj_type == OBJ_FRIDGE)
    n = len(sc.objects)
    stove_fridge = np.full(n, -1, dtype=np.int64)
    eat_sources = np.full((n, max(1, len(fridges))), -1, dtype=np.int64)
    for o in range(n):
        if len(fridges) == 0:
            continue
        # Manhattan distance with the object index as tie-break keeps the choice deterministic.
        gap = np.abs(obj_xy[fridges] - obj_xy[o]).sum(axis=1)
        order = fridges[np.lexsort((fridges, gap))]
        if obj_type[o] == OBJ_STOVE:
            stove_fridge[o] = order[0]
        elif obj_type[o] == OBJ_FRIDGE:
            eat_sources[o, 0] = o
        elif obj_type[o] == OBJ_TABLE:
            eat_sources[o, : len(order)] = order
    return stove_fridge, eat_sources


def build_layout(sc: Scenario) -> Layout:
    """Compile the scenario's static world."""
    walkable = _walkable(sc)
    obj_type = np.array([OBJECT_TYPES.index(o.type) for o in sc.objects], dtype=np.int64)
    obj_xy = np.array([o.position for o in sc.objects], dtype=np.int64).reshape(-1, 2)
    dist_obj, next_obj = path_fields(walkable, [o.position for o in sc.objects])
    option_objects = np.zeros((NUM_ACTIONS, len(sc.objects)), dtype=bool)
    for option, types in OPTION_OBJECT_TYPES.items():
        option_objects[option] = np.isin(obj_type, types)
    job_names = list(sc.jobs)
    jobs = [sc.jobs[n] for n in job_names]
    dist_job, next_job = path_fields(walkable, [j.location for j in jobs])
    agent_job = np.array(
        [job_names.index(a.job) if a.job else -1 for a in sc.agents], dtype=np.int64
    )
    option_available: np.ndarray = np.asarray(option_objects.any(axis=1))
    option_available[:5] = True
    option_available[WORK] = bool((agent_job >= 0).any())
    option_available[10:] = len(sc.agents) > 1
    stove_fridge, eat_sources = _eat_tables(sc, obj_type, obj_xy)
    embeddings = np.stack([stable_unit_hash(a.id, EMBED_DIM) for a in sc.agents])
    # Padded with one entry so per-agent lookups work in scenarios without jobs.
    job_start = np.array([j.start_tick for j in jobs], dtype=np.int64)
    job_end = np.array([j.end_tick for j in jobs], dtype=np.int64)
    pad_start = np.r_[job_start, -1]
    pad_end = np.r_[job_end, -1]
    schedule = np.full((len(sc.agents), sc.ticks), -1, dtype=np.int8)
    for a, agent in enumerate(sc.agents):
        for entry in agent.schedule:
            schedule[a, entry.start : min(entry.end, sc.ticks)] = ACTION_IDS[entry.action]
    eco, ticks = sc.economy, sc.affordance_ticks
    aff_effect = np.zeros((5, 3))
    aff_effect[AFF_EAT] = (0.4, 0.0, 0.05)
    aff_effect[AFF_COOK] = (0.1, 0.0, -0.05)
    aff_effect[AFF_SHOWER] = (0.0, 0.45, -0.03)
    aff_effect[AFF_SLEEP] = (0.0, 0.0, 0.8)
    outages = sc.perturbations.outages
    return Layout(
        scenario=sc,
        width=sc.grid.width,
        height=sc.grid.height,
        walkable=walkable,
        agent_ids=tuple(a.id for a in sc.agents),
        object_ids=tuple(o.id for o in sc.objects),
        obj_type=obj_type,
        obj_x=obj_xy[:, 0].copy(),
        obj_y=obj_xy[:, 1].copy(),
        obj_capacity=np.array([o.capacity for o in sc.objects], dtype=np.int64),
        obj_stock0=np.array([o.stock for o in sc.objects], dtype=np.int64),
        dist_obj=dist_obj,
        next_obj=next_obj,
        option_objects=option_objects,
        option_available=option_available,
        stove_fridge=stove_fridge,
        eat_sources=eat_sources,
        job_start=job_start,
        job_end=job_end,
        job_wage=np.array([j.wage_rate for j in jobs], dtype=np.float64),
        job_lateness_penalty=np.array([j.lateness_penalty for j in jobs], dtype=np.float64),
        dist_job=dist_job,
        next_job=next_job,
        agent_job=agent_job,
        pos0=np.array([a.position for a in sc.agents], dtype=np.int64),
        needs0=np.array([[a.needs.hunger, a.needs.hygiene, a.needs.energy] for a in sc.agents]),
        wallet0=np.array([a.wallet for a in sc.agents], dtype=np.float64),
        extroversion=np.array([a.personality.extroversion for a in sc.agents]),
        ambition=np.array([a.personality.ambition for a in sc.agents]),
        schedule=schedule,
        embeddings=embeddings,
        embeddings_padded=np.vstack([embeddings, np.zeros((1, EMBED_DIM), dtype=np.float32)]),
        need_rates=np.array([sc.needs.decay.hunger, sc.needs.decay.hygiene, sc.needs.decay.energy]),
        need_weights=np.array(
            [
                sc.rewards.needs_weights.hunger,
                sc.rewards.needs_weights.hygiene,
                sc.rewards.needs_weights.energy,
            ]
        ),
        aff_ticks=np.array(
            [ticks.eat_meal, ticks.cook_meal, ticks.use_shower, ticks.rest_sleep, 0]
        ),
        aff_effect=aff_effect,
        aff_cost=np.array([eco.meal_cost, eco.ingredients_cost, eco.shower_cost, 0.0, 0.0]),
        outage_kind=np.array([0 if o.kind == "power" else 1 for o in outages], dtype=np.int64),
        outage_start=np.array([o.start for o in outages], dtype=np.int64),
        outage_duration=np.array([o.duration for o in outages], dtype=np.int64),
        is_eat_spot=np.isin(obj_type, (OBJ_FRIDGE, OBJ_TABLE)),
        is_shower=obj_type == OBJ_SHOWER,
        has_job=agent_job >= 0,
        agent_start=pad_start[agent_job],
        agent_end=pad_end[agent_job],
        agent_wage=np.r_[[j.wage_rate for j in jobs], 0.0][agent_job],
        agent_lateness_penalty=np.r_[[j.lateness_penalty for j in jobs], 0.0][agent_job],
        coworkers=(agent_job[:, None] == agent_job[None, :])
        & (agent_job >= 0)[:, None]
        & ~np.eye(len(sc.agents), dtype=bool),
    )
