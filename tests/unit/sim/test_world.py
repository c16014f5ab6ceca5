"""The compiled world and its encodings (townlet.sim.grid, townlet.sim.world), and the import
structure of the simulation package."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from townlet.sim import TownVecEnv
from townlet.sim.grid import NO_GOAL, UNREACHABLE, goal_object, nearest_goal, object_goal
from townlet.sim.world import compile_world

SIM = Path(__file__).resolve().parents[3] / "townlet" / "sim"


def test_pair_offsets_decode_to_the_position_differences() -> None:
    env = TownVecEnv("town", num_towns=3, seed=2)
    env.reset()
    for _ in range(30):
        env.step(env.scripted_actions())
    grid, state = env.world.grid, env.state
    pair = grid.pair_offsets(grid.tiles(state.x, state.y))
    dx = state.x[:, None, :] - state.x[:, :, None]
    dy = state.y[:, None, :] - state.y[:, :, None]
    assert np.array_equal(grid.pair_dx[pair], dx)
    assert np.array_equal(grid.pair_dy[pair], dy)
    assert np.array_equal(pair == grid.pair_center, (dx == 0) & (dy == 0))


def test_goal_columns_number_objects_then_jobs() -> None:
    world = compile_world(TownVecEnv("town").scenario)
    objects = np.arange(-1, world.num_objects)
    assert object_goal(objects)[0] == NO_GOAL
    assert np.array_equal(goal_object(object_goal(objects)), objects)
    grid = world.grid
    assert grid.goal_dist.shape[1] == 1 + world.num_objects + len(world.scenario.jobs)
    assert (grid.goal_dist[:, NO_GOAL] == UNREACHABLE).all()
    # Each job holder's site column is 0 steps away from its job location.
    for a, agent in enumerate(world.scenario.agents):
        if agent.job is not None:
            x, y = world.scenario.jobs[agent.job].location
            assert grid.goal_dist[grid.tiles(x, y), world.jobs.site_goal[a]] == 0


def test_nearest_goal_prefers_the_lower_index_and_falls_back_to_no_goal() -> None:
    distances = np.array([[[UNREACHABLE, 4, 2, 2], [UNREACHABLE, UNREACHABLE, 7, 1]]])
    allowed = np.array([[[False, True, True, True], [False, True, False, False]]])
    assert nearest_goal(distances, allowed).tolist() == [[2, NO_GOAL]]


def test_world_arrays_are_read_only() -> None:
    world = compile_world(TownVecEnv("town").scenario)
    with pytest.raises(ValueError):
        world.grid.goal_dist[0, 0] = 1
    with pytest.raises(ValueError):
        world.objects.capacity[0] = 3
    with pytest.raises(ValueError):
        world.jobs.shift_start[0] = 3


@pytest.mark.parametrize("path", sorted(SIM.glob("*.py")), ids=lambda p: p.name)
def test_sim_modules_import_submodules_only(path: Path) -> None:
    """``townlet.sim`` imports the vector env, which imports the engine and every rule, so a
    rule importing the package itself (``from townlet.sim import kpi``) would be a cycle."""
    if path.name == "__init__.py":
        return
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            assert node.module != "townlet.sim", f"{path.name}:{node.lineno}"
        elif isinstance(node, ast.Import):
            assert all(alias.name != "townlet.sim" for alias in node.names), path.name
