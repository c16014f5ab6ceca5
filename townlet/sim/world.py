"""The world compiled once from a scenario: grid, objects, agents, jobs and rule parameters.

Every town of an environment shares one world, so whatever depends on the scenario alone
(shortest paths, which fridge feeds which table, shift windows, thresholds) is computed here
once and only gathered per tick. Its arrays are read-only because every town and tick shares
them. Shapes use A agents, O objects, F fridges and ``1 + O`` object goal columns
(:mod:`townlet.sim.grid`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townlet.sim.constants import (
    ACTION_IDS,
    AVOID,
    CHAT,
    COOK,
    EAT,
    EMBED_DIM,
    NUM_ACTIONS,
    OBJ_FRIDGE,
    OBJ_SHOWER,
    OBJ_STOVE,
    OBJ_TABLE,
    OBJECT_TYPES,
    OPTION_OBJECT_TYPES,
    SLEEP,
    WORK,
    stable_unit_hash,
)
from townlet.sim.grid import NO_GOAL, Grid, build_grid, job_goal, object_goal, with_no_goal
from townlet.sim.scenario import Scenario


@dataclass(frozen=True, eq=False)
class Objects:
    """The scenario's objects and what each offers."""

    ids: tuple[str, ...]
    kind: np.ndarray  # [O] index into OBJECT_TYPES
    x: np.ndarray  # [O]
    y: np.ndarray  # [O]
    capacity: np.ndarray  # [O] agents that can hold it at once
    initial_stock: np.ndarray  # [O] meals at the start (and the level a restock refills to)
    is_fridge: np.ndarray  # [O]
    stove_fridge: np.ndarray  # [O] fridge that receives a stove's cooked meal (-1 none)
    eat_sources: np.ndarray  # [O, F] fridges an eater at the object draws from, nearest first
    meal_reach: np.ndarray  # [O, 1 + O] fridge f (row) feeds the eat spot of the goal column
    not_eat_spot: np.ndarray  # [1 + O] neither fridge nor table (True in NO_GOAL)
    not_shower: np.ndarray  # [1 + O] not a shower (True in NO_GOAL)
    option_targets: np.ndarray  # [NUM_ACTIONS, 1 + O] goal columns each option may use
    stoves: np.ndarray  # [1 + O] the stoves, in goal columns
    has_table: bool  # some object is a table (where meals are shared)
    max_capacity: int  # the largest capacity (rounds of queue promotion), 0 without objects


@dataclass(frozen=True, eq=False)
class Agents:
    """Where and how each agent starts, and what stays fixed about it."""

    ids: tuple[str, ...]
    start_x: np.ndarray  # [A]
    start_y: np.ndarray  # [A]
    start_needs: np.ndarray  # [A, 3]
    start_wallet: np.ndarray  # [A]
    extroversion: np.ndarray  # [A]
    embeddings_padded: np.ndarray  # [A + 1, EMBED_DIM] float32 id embeddings and a zero row


@dataclass(frozen=True, eq=False)
class Jobs:
    """Every agent's job as per-agent arrays (agents without one: start = end = -1, wage 0)."""

    has_job: np.ndarray  # [A]
    any_job: bool
    jobless: np.ndarray  # indices of the agents without a job
    site_goal: np.ndarray  # [A] goal column of the job site (NO_GOAL without a job)
    shift_start: np.ndarray  # [A] tick of the day the shift window opens
    shift_end: np.ndarray  # [A] tick of the day it closes (exclusive)
    wage_rate: np.ndarray  # [A] paid per on-site tick
    lateness_penalty: np.ndarray  # [A] charged once per late shift
    coworkers: np.ndarray  # [A, A] same job, different agent


@dataclass(frozen=True, eq=False)
class Behavior:
    """What the scripted controller and the path hint go by (scenario ``behavior``)."""

    arrival_start: np.ndarray  # [A] tick of the day the controller sets off for work (ambition)
    hint_start: np.ndarray  # [A] tick of the day the path hint starts pointing at the job site
    friend_threshold: np.ndarray  # [A] tie above which the controller counts a friend
    need_thresholds: np.ndarray  # [3] hunger, hygiene, energy levels the controller serves
    has_schedule: bool  # some agent has a scheduled action
    schedule_by_tick: np.ndarray  # [ticks, A] scheduled action id, -1 for none


@dataclass(frozen=True, eq=False)
class World:
    """The static world every town of an environment shares."""

    scenario: Scenario
    grid: Grid
    objects: Objects
    agents: Agents
    jobs: Jobs
    behavior: Behavior
    need_rates: np.ndarray  # [3] per-tick decay of hunger, hygiene, energy
    need_weights: np.ndarray  # [3, 1, 1] reward weights, shaped for need-major [3, T, A] arrays
    affordance_ticks: np.ndarray  # [5] durations (work_shift: 0, it runs to the shift's end)
    affordance_cost: np.ndarray  # [5] wallet cost charged on completion
    outages: tuple[tuple[int, int, int], ...]  # scheduled (kind 0 power / 1 water, start, ticks)
    tile_actions: np.ndarray  # [N, NUM_ACTIONS] actions a tile allows (walls, options offered)
    agent_actions: np.ndarray  # [A, NUM_ACTIONS] actions the world allows an agent (work: a job)

    @property
    def num_agents(self) -> int:
        return len(self.agents.ids)

    @property
    def num_objects(self) -> int:
        return len(self.objects.ids)


def compile_world(scenario: Scenario) -> World:
    """Compile the scenario's static world."""
    walkable = np.ones((scenario.grid.height, scenario.grid.width), dtype=bool)
    for x, y in scenario.grid.walls:
        walkable[y, x] = False
    jobs = list(scenario.jobs.values())
    goal_points = [o.position for o in scenario.objects] + [j.location for j in jobs]
    grid = build_grid(walkable, goal_points)
    objects = _objects(scenario)
    agent_jobs = _jobs(scenario, len(scenario.objects))
    decay, weights = scenario.needs.decay, scenario.rewards.needs_weights
    ticks, economy = scenario.affordance_ticks, scenario.economy
    world = World(
        scenario=scenario,
        grid=grid,
        objects=objects,
        agents=_agents(scenario),
        jobs=agent_jobs,
        behavior=_behavior(scenario, agent_jobs),
        need_rates=np.array([decay.hunger, decay.hygiene, decay.energy]),
        need_weights=np.array([weights.hunger, weights.hygiene, weights.energy])[:, None, None],
        affordance_ticks=np.array(
            [ticks.eat_meal, ticks.cook_meal, ticks.use_shower, ticks.rest_sleep, 0]
        ),
        affordance_cost=np.array(
            [economy.meal_cost, economy.ingredients_cost, economy.shower_cost, 0.0, 0.0]
        ),
        outages=tuple(
            (0 if outage.kind == "power" else 1, outage.start, outage.duration)
            for outage in scenario.perturbations.outages
        ),
        tile_actions=_tile_actions(grid, objects),
        agent_actions=_agent_actions(agent_jobs),
    )
    for part in (objects, world.agents, agent_jobs, world.behavior, world):
        _freeze(part)
    return world


def _freeze(part: object) -> None:
    for value in vars(part).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False


def _objects(scenario: Scenario) -> Objects:
    kind = np.array([OBJECT_TYPES.index(o.type) for o in scenario.objects], dtype=np.int64)
    xy = np.array([o.position for o in scenario.objects], dtype=np.int64).reshape(-1, 2)
    capacity = np.array([o.capacity for o in scenario.objects], dtype=np.int64)
    stove_fridge, eat_sources = _meal_routes(kind, xy)
    meal_reach = np.zeros((len(kind), 1 + len(kind)), dtype=bool)
    for o, sources in enumerate(eat_sources):
        meal_reach[sources[sources >= 0], object_goal(o)] = True
    option_objects = np.zeros((NUM_ACTIONS, len(kind)), dtype=bool)
    for option, types in OPTION_OBJECT_TYPES.items():
        option_objects[option] = np.isin(kind, types)
    return Objects(
        ids=tuple(o.id for o in scenario.objects),
        kind=kind,
        x=xy[:, 0].copy(),
        y=xy[:, 1].copy(),
        capacity=capacity,
        initial_stock=np.array([o.stock for o in scenario.objects], dtype=np.int64),
        is_fridge=kind == OBJ_FRIDGE,
        stove_fridge=stove_fridge,
        eat_sources=eat_sources,
        meal_reach=meal_reach,
        not_eat_spot=~with_no_goal(np.isin(kind, (OBJ_FRIDGE, OBJ_TABLE))),
        not_shower=~with_no_goal(kind == OBJ_SHOWER),
        option_targets=with_no_goal(option_objects),
        stoves=with_no_goal(option_objects[COOK]),
        has_table=bool(np.count_nonzero(kind == OBJ_TABLE)),
        max_capacity=int(capacity.max(initial=0)),
    )


def _meal_routes(kind: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which fridge a stove's meal goes to, and which fridges an eater at each object uses."""
    fridges = np.flatnonzero(kind == OBJ_FRIDGE)
    stove_fridge = np.full(len(kind), -1, dtype=np.int64)
    eat_sources = np.full((len(kind), max(1, len(fridges))), -1, dtype=np.int64)
    if len(fridges) == 0:
        return stove_fridge, eat_sources
    for o in range(len(kind)):
        # Manhattan distance with the object index as tie-break keeps the choice deterministic.
        gap = np.abs(xy[fridges] - xy[o]).sum(axis=1)
        order = fridges[np.lexsort((fridges, gap))]
        if kind[o] == OBJ_STOVE:
            stove_fridge[o] = order[0]
        elif kind[o] == OBJ_FRIDGE:
            eat_sources[o, 0] = o
        elif kind[o] == OBJ_TABLE:
            eat_sources[o, : len(order)] = order
    return stove_fridge, eat_sources


def _agents(scenario: Scenario) -> Agents:
    embeddings = np.stack([stable_unit_hash(a.id, EMBED_DIM) for a in scenario.agents])
    start_xy = np.array([a.position for a in scenario.agents], dtype=np.int64)
    return Agents(
        ids=tuple(a.id for a in scenario.agents),
        start_x=start_xy[:, 0].copy(),
        start_y=start_xy[:, 1].copy(),
        start_needs=np.array(
            [[a.needs.hunger, a.needs.hygiene, a.needs.energy] for a in scenario.agents]
        ),
        start_wallet=np.array([a.wallet for a in scenario.agents], dtype=np.float64),
        extroversion=np.array([a.personality.extroversion for a in scenario.agents]),
        embeddings_padded=np.vstack([embeddings, np.zeros((1, EMBED_DIM), dtype=np.float32)]),
    )


def _jobs(scenario: Scenario, num_objects: int) -> Jobs:
    names = list(scenario.jobs)
    jobs = [scenario.jobs[n] for n in names]
    job = np.array([names.index(a.job) if a.job else -1 for a in scenario.agents], dtype=np.int64)
    has_job = job >= 0
    # A trailing entry for "no job", which index -1 reads.
    start = np.r_[np.array([j.start_tick for j in jobs], dtype=np.int64), -1]
    end = np.r_[np.array([j.end_tick for j in jobs], dtype=np.int64), -1]
    return Jobs(
        has_job=has_job,
        any_job=bool(np.count_nonzero(has_job)),
        jobless=np.flatnonzero(~has_job),
        site_goal=np.where(has_job, job_goal(num_objects, job), NO_GOAL).astype(np.int64),
        shift_start=start[job],
        shift_end=end[job],
        wage_rate=np.r_[[j.wage_rate for j in jobs], 0.0][job],
        lateness_penalty=np.r_[[j.lateness_penalty for j in jobs], 0.0][job],
        coworkers=(job[:, None] == job[None, :])
        & has_job[:, None]
        & ~np.eye(len(scenario.agents), dtype=bool),
    )


def _behavior(scenario: Scenario, jobs: Jobs) -> Behavior:
    behavior = scenario.behavior
    ambition = np.array([a.personality.ambition for a in scenario.agents])
    extroversion = np.array([a.personality.extroversion for a in scenario.agents])
    buffer = np.rint(behavior.job_arrival_buffer * (1.0 + 0.5 * ambition)).astype(np.int64)
    schedule = np.full((len(scenario.agents), scenario.ticks), -1, dtype=np.int8)
    for a, agent in enumerate(scenario.agents):
        for entry in agent.schedule:
            schedule[a, entry.start : min(entry.end, scenario.ticks)] = ACTION_IDS[entry.action]
    return Behavior(
        arrival_start=jobs.shift_start - buffer,
        hint_start=jobs.shift_start - behavior.job_arrival_buffer,
        friend_threshold=behavior.friend_threshold - 0.5 * extroversion,
        need_thresholds=np.array(
            [behavior.hunger_threshold, behavior.hygiene_threshold, behavior.energy_threshold]
        ),
        has_schedule=bool(np.count_nonzero(schedule >= 0)),
        schedule_by_tick=np.ascontiguousarray(schedule.T, dtype=np.int64),
    )


def _tile_actions(grid: Grid, objects: Objects) -> np.ndarray:
    """[N, NUM_ACTIONS] what each tile allows before per-agent rules: moves that stay on
    walkable ground, and the object options whose objects the scenario has."""
    offered = np.asarray(objects.option_targets.any(axis=1))
    actions = np.ones((grid.tile_x.shape[0], NUM_ACTIONS), dtype=bool)
    actions[:, 1:5] = grid.can_step[:, 1:5]
    actions[:, EAT : SLEEP + 1] = offered[EAT : SLEEP + 1]
    return actions


def _agent_actions(jobs: Jobs) -> np.ndarray:
    """[A, NUM_ACTIONS] what the world allows each agent: work needs a job; chat and
    avoid_rival follow the state, not the world, so they start off."""
    actions = np.ones((jobs.has_job.shape[0], NUM_ACTIONS), dtype=bool)
    actions[:, WORK] = jobs.has_job
    actions[:, CHAT] = actions[:, AVOID] = False
    return actions
