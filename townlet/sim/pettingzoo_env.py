"""A PettingZoo ``ParallelEnv`` over one town (§9.10), backed by a one-town ``TownVecEnv``.

Each observation is ``{"observation": {"map", "features"}, "action_mask"}`` with an int8 mask,
the layout PettingZoo's samplers expect. Terminated (fainted/evicted) and truncated (the
scenario's tick limit) agents are reported separately and leave ``agents``; the town is not
reset until ``reset`` is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from townlet.sim.constants import NUM_ACTIONS, NUM_FEATURES, WAIT
from townlet.sim.scenario import Scenario
from townlet.sim.vec_env import Obs, TownVecEnv

AgentObs = dict[str, Any]


class TownParallelEnv(ParallelEnv[str, AgentObs, int]):
    metadata = {"name": "townlet_town_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        scenario: Scenario | str | Path | Mapping[str, Any],
        seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        self._env = TownVecEnv(scenario, num_towns=1, seed=seed, auto_reset=False)
        self._base_seed = self._env.seed
        self._resets = 0
        self.render_mode = render_mode
        self.possible_agents: list[str] = list(self._env.agent_ids)
        self.agents: list[str] = []
        self._index = {agent: i for i, agent in enumerate(self.possible_agents)}
        c, h, w = self._env.map_shape
        observation = spaces.Dict(
            {
                "map": spaces.Box(-1.0, 1.0, shape=(c, h, w), dtype=np.float32),
                "features": spaces.Box(-np.inf, np.inf, shape=(NUM_FEATURES,), dtype=np.float32),
            }
        )
        self.observation_spaces = {
            a: spaces.Dict(
                {
                    "observation": observation,
                    "action_mask": spaces.Box(0, 1, shape=(NUM_ACTIONS,), dtype=np.int8),
                }
            )
            for a in self.possible_agents
        }
        self.action_spaces = {a: spaces.Discrete(NUM_ACTIONS) for a in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self.action_spaces[agent]

    @property
    def vec_env(self) -> TownVecEnv:
        """The underlying one-town vector env (state access, scripted actions)."""
        return self._env

    def _split(self, obs: Obs, agents: list[str]) -> dict[str, AgentObs]:
        out: dict[str, AgentObs] = {}
        for agent in agents:
            i = self._index[agent]
            out[agent] = {
                "observation": {"map": obs["map"][0, i], "features": obs["features"][0, i]},
                "action_mask": obs["action_mask"][0, i].astype(np.int8),
            }
        return out

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, AgentObs], dict[str, dict[str, Any]]]:
        """Start an episode; without a seed each reset draws the next seed of the sequence."""
        if seed is not None:
            self._base_seed, self._resets = int(seed), 0
        obs = self._env.reset(self._base_seed + self._resets)
        self._resets += 1
        self.agents = list(self.possible_agents)
        return self._split(obs, self.agents), {a: {} for a in self.agents}

    def step(
        self, actions: Mapping[str, int]
    ) -> tuple[
        dict[str, AgentObs],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        batch = np.full((1, len(self.possible_agents)), WAIT, dtype=np.int64)
        for agent, action in actions.items():
            if agent in self._index:
                batch[0, self._index[agent]] = int(action)
        live = list(self.agents)
        obs, rewards, terminated, truncated, info = self._env.step(batch)
        events = {k: float(v[0]) for k, v in info["events"].items()}
        terms = info["reward_terms"]
        out_obs = self._split(obs, live)
        rew, term, trunc, infos = {}, {}, {}, {}
        for agent in live:
            i = self._index[agent]
            rew[agent] = float(rewards[0, i])
            term[agent] = bool(terminated[0, i])
            trunc[agent] = bool(truncated[0, i] or (info["town_done"][0] and not terminated[0, i]))
            infos[agent] = {
                "reward_terms": {k: float(v[0, i]) for k, v in terms.items()},
                "events": events,
            }
        self.agents = [a for a in live if not (term[a] or trunc[a])]
        return out_obs, rew, term, trunc, infos

    def render(self) -> None:
        """No renderer: the town is meant to be watched through telemetry."""
        return None

    def close(self) -> None:
        self.agents = []
