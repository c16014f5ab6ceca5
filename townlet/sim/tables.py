"""Static lookup tables derived once per layout, so a tick gathers instead of recomputing.

At one town every numpy call costs about a microsecond whatever its size, so per-tick work is
kept to a few gathers from these tables. They depend on the layout only (grid, objects, jobs,
agents and the scenario's rule parameters), never on the state, so nothing invalidates them;
their arrays are read-only because every town and tick shares them.

Tiles are numbered ``tile = y * W + x``. Goal columns number what an agent can head for:
column 0 is "no goal" (distance UNREACHABLE, no move), columns 1..O the objects, then one per
job. A target object ``o`` (or -1 for none) therefore sits in column ``o + 1``, which removes
the ``max(index, 0)`` / ``where(index >= 0, ...)`` pairs a -1 sentinel would otherwise need.

Pair offsets use ``q = y * (2W - 1) + x``: ``q_b - q_a + rel_center`` indexes a table over
every (dx, dy) in ``[-(W-1), W-1] x [-(H-1), H-1]``, so one subtraction replaces the dx/dy
pair arithmetic of neighbourhood tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from townlet.sim.constants import AVOID, CHAT, COOK, DIR_DX, DIR_DY, NUM_ACTIONS, OBJ_TABLE, WORK
from townlet.sim.paths import UNREACHABLE

if TYPE_CHECKING:
    from townlet.sim.layout import Layout


@dataclass(frozen=True)
class Tables:
    """Shapes use A agents, O objects, J jobs, N = H * W tiles, K = 1 + O + J goal columns."""

    tile_x: np.ndarray  # [N] x of each tile
    tile_y: np.ndarray  # [N] y of each tile
    tile_q: np.ndarray  # [N] y * (2W - 1) + x, the tile's pair-offset coordinate
    move_dest: np.ndarray  # [N, 5] tile after a step 0..4 (the same tile when it is blocked)
    goal_dist: np.ndarray  # [N, K] int32 BFS steps to each goal (column 0: UNREACHABLE)
    goal_next: np.ndarray  # [N, K] int8 first move towards each goal (0 there or unreachable)
    agent_goal: np.ndarray  # [A] goal column of the agent's job (0 without a job)
    option_goal: np.ndarray  # [NUM_ACTIONS, 1 + O] objects each option may use (column 0 off)
    cook_goal: np.ndarray  # [1 + O] the stoves (column 0 off)
    not_eat_spot: np.ndarray  # [1 + O] neither fridge nor table (column 0 on)
    not_shower: np.ndarray  # [1 + O] not a shower (column 0 on)
    meal_reach: np.ndarray  # [O, 1 + O] fridge f (row f) feeds the eat spot in column o + 1
    tile_mask: np.ndarray  # [N, NUM_ACTIONS] actions allowed on a tile before per-agent rules
    agent_mask: np.ndarray  # [A, NUM_ACTIONS] actions allowed to an agent (work needs a job)
    rel_stride: int  # 2W - 1
    rel_center: int  # index of (dx, dy) = (0, 0)
    rel_near: np.ndarray  # [(2H-1) * (2W-1)] Chebyshev distance <= 1 (a chat partner)
    arrival_start: np.ndarray  # [A] phase from which the controller heads for work (ambition)
    hint_start: np.ndarray  # [A] phase from which the path hint points at the job site
    friend_threshold: np.ndarray  # [A] tie above which the controller counts a friend
    need_thresholds: np.ndarray  # [3] hunger, hygiene, energy levels the controller serves
    need_weights: np.ndarray  # [3, 1, 1] reward weights, shaped for need-major [3, T, A] arrays
    has_schedule: bool  # some agent has a scheduled action
    schedule_by_tick: np.ndarray  # [ticks, A] int64 scheduled action id, -1 for none
    schedule_any: np.ndarray  # [ticks] some agent has a scheduled action at this tick
    any_job: bool  # some agent has a job
    no_job: np.ndarray  # agents without a job (indices)
    has_table: bool  # some object is a table (where meals are shared)
    max_capacity: int  # the largest object capacity (rounds of queue promotion), 0 without objects
    outages: tuple[tuple[int, int, int], ...]  # scheduled (kind, start, duration) as plain ints


def build_tables(layout: Layout) -> Tables:
    """Compile the tables of ``layout`` (see the module docstring for the numbering)."""
    h, w = layout.height, layout.width
    n_obj = layout.num_objects
    ys, xs = np.divmod(np.arange(h * w, dtype=np.int64), w)
    nx = xs[:, None] + DIR_DX[None, :]
    ny = ys[:, None] + DIR_DY[None, :]
    inside = (nx >= 0) & (nx < w) & (ny >= 0) & (ny < h)
    walk = np.zeros(nx.shape, dtype=bool)
    walk[inside] = layout.walkable[ny[inside], nx[inside]]
    walk[:, 0] = True
    move_dest = np.where(walk, ny * w + nx, (ys * w + xs)[:, None])

    goals = 1 + n_obj + layout.num_jobs
    goal_dist = np.full((h * w, goals), UNREACHABLE, dtype=np.int32)
    goal_next = np.zeros((h * w, goals), dtype=np.int8)
    goal_dist[:, 1 : 1 + n_obj] = layout.dist_obj.reshape(n_obj, h * w).T
    goal_next[:, 1 : 1 + n_obj] = layout.next_obj.reshape(n_obj, h * w).T
    goal_dist[:, 1 + n_obj :] = layout.dist_job.reshape(layout.num_jobs, h * w).T
    goal_next[:, 1 + n_obj :] = layout.next_job.reshape(layout.num_jobs, h * w).T
    agent_goal = np.where(layout.has_job, 1 + n_obj + layout.agent_job, 0).astype(np.int64)

    def pad(flags: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros(flags.shape[:-1] + (1,), dtype=bool), flags], axis=-1)

    # meal_reach[f, o + 1]: an eater at object o may draw from fridge f (layout.eat_sources).
    meal_reach = np.zeros((n_obj, n_obj + 1), dtype=bool)
    for o in range(n_obj):
        for f in layout.eat_sources[o]:
            if f >= 0:
                meal_reach[f, o + 1] = True

    tile_mask = np.ones((h * w, NUM_ACTIONS), dtype=bool)
    tile_mask[:, 1:5] = walk[:, 1:5]
    tile_mask[:, 5:9] = layout.option_available[5:9]
    agent_mask = np.ones((layout.num_agents, NUM_ACTIONS), dtype=bool)
    agent_mask[:, WORK] = layout.has_job
    agent_mask[:, CHAT] = agent_mask[:, AVOID] = False  # these follow the state, not the layout

    stride = 2 * w - 1
    dx, dy = relative_offsets(layout)
    beh = layout.scenario.behavior
    buffer = np.rint(beh.job_arrival_buffer * (1.0 + 0.5 * layout.ambition)).astype(np.int64)
    tables = Tables(
        tile_x=xs,
        tile_y=ys,
        tile_q=ys * stride + xs,
        move_dest=move_dest,
        goal_dist=goal_dist,
        goal_next=goal_next,
        agent_goal=agent_goal,
        option_goal=pad(layout.option_objects),
        cook_goal=pad(layout.option_objects[COOK]),
        not_eat_spot=~pad(layout.is_eat_spot),
        not_shower=~pad(layout.is_shower),
        meal_reach=meal_reach,
        tile_mask=tile_mask,
        agent_mask=agent_mask,
        rel_stride=stride,
        rel_center=(h - 1) * stride + (w - 1),
        rel_near=(np.abs(dx) <= 1) & (np.abs(dy) <= 1),
        arrival_start=layout.agent_start - buffer,
        hint_start=layout.agent_start - beh.job_arrival_buffer,
        friend_threshold=beh.friend_threshold - 0.5 * layout.extroversion,
        need_thresholds=np.array(
            [beh.hunger_threshold, beh.hygiene_threshold, beh.energy_threshold]
        ),
        need_weights=layout.need_weights[:, None, None],
        has_schedule=bool(np.count_nonzero(layout.schedule >= 0)),
        schedule_by_tick=np.ascontiguousarray(layout.schedule.T, dtype=np.int64),
        schedule_any=np.asarray((layout.schedule >= 0).any(axis=0)),
        any_job=bool(np.count_nonzero(layout.has_job)),
        no_job=np.flatnonzero(~layout.has_job),
        has_table=bool(np.count_nonzero(layout.obj_type == OBJ_TABLE)),
        max_capacity=int(layout.obj_capacity.max(initial=0)),
        outages=tuple(
            (int(k), int(s), int(d))
            for k, s, d in zip(
                layout.outage_kind, layout.outage_start, layout.outage_duration, strict=True
            )
        ),
    )
    for value in vars(tables).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return tables


def relative_offsets(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dy) of every entry of a pair-offset table (see the module docstring)."""
    h, w = layout.height, layout.width
    stride = 2 * w - 1
    dy, dx = np.divmod(np.arange((2 * h - 1) * stride, dtype=np.int64), stride)
    return dx - (w - 1), dy - (h - 1)
