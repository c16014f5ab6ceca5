"""``TownVecEnv``: the batched numpy environment the rollout datamodule steps (§9.10).

Observations are a dict of arrays: ``map`` [T, A, C, H, W] float32, ``features`` [T, A, 81]
float32 and ``action_mask`` [T, A, 12] bool. ``step`` returns rewards, terminated and truncated
as [T, A] arrays plus an ``info`` dict:

- ``events``: per-town [T] float64 counts of the tick (constants.EVENT_KEYS),
- ``reward_terms``: per-agent [T, A] float32 reward terms (constants.REWARD_TERMS),
- ``active``: [T, A] the agent was alive when the tick began (its transition is real),
- ``town_done``: [T] the town's episode ended this tick and it was reset in place,
- ``final_observation``: the observation dict *before* those resets (None when no town ended),
  so a trainer can bootstrap truncated agents from it,
- ``tick`` / ``episode``: [T] clocks after the step (0 / +1 for reset towns),
- ``kpi_days``: [T, A, K] per-agent KPI counters (constants.KPI_COUNTERS) of the agent-days
  that completed this tick, zero for other towns; None when no day ended (DESIGN §13).

Agents that terminate stay in the arrays (only ``wait`` unmasked, zero reward) until their town
resets; ``terminated`` is True only on the tick it happens.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from townlet.sim.constants import ACTION_NAMES, FEATURE_NAMES, MAP_CHANNELS, NUM_ACTIONS
from townlet.sim.controller import scripted_actions
from townlet.sim.engine import TownEngine
from townlet.sim.features import FeatureBuilder
from townlet.sim.observations import MapBuilder, action_masks
from townlet.sim.scenario import Scenario
from townlet.sim.scenario_loader import load_scenario
from townlet.sim.state import TownState
from townlet.sim.view import WorldView
from townlet.sim.world import World

Obs = dict[str, np.ndarray]


class TownVecEnv:
    """``num_towns`` copies of one scenario stepped together; town i is seeded ``seed + i``."""

    def __init__(
        self,
        scenario: Scenario | str | Path | Mapping[str, Any],
        num_towns: int | None = None,
        seed: int | None = None,
        auto_reset: bool = True,
    ) -> None:
        self.scenario = load_scenario(scenario)
        self.num_towns = int(num_towns if num_towns is not None else self.scenario.num_towns)
        if self.num_towns < 1:
            raise ValueError(f"num_towns must be >= 1, got {self.num_towns}")
        self.seed = int(self.scenario.seed if seed is None else seed)
        self.auto_reset = auto_reset
        self.engine = TownEngine(self.scenario, self.num_towns, self.seed)
        self.variant = self.scenario.observation_variant
        self._maps = MapBuilder(self.engine.world, self.variant)
        self._features = FeatureBuilder(self.engine.world)
        self._action_shape = (self.num_towns, self.num_agents)
        self._mask = action_masks(self.engine.view())
        self.timings: dict[str, float] | None = None

    # --- static description ------------------------------------------------------------------
    @property
    def world(self) -> World:
        """The static world compiled from the scenario, shared by every town."""
        return self.engine.world

    @property
    def state(self) -> TownState:
        return self.engine.state

    @property
    def feature_names(self) -> tuple[str, ...]:
        return FEATURE_NAMES

    @property
    def map_shape(self) -> tuple[int, int, int]:
        return self._maps.shape

    @property
    def map_channels(self) -> tuple[str, ...]:
        return MAP_CHANNELS[self.variant]

    @property
    def action_names(self) -> tuple[str, ...]:
        return ACTION_NAMES

    @property
    def num_actions(self) -> int:
        return NUM_ACTIONS

    @property
    def num_agents(self) -> int:
        return self.engine.world.num_agents

    @property
    def agent_ids(self) -> tuple[str, ...]:
        return self.engine.world.agents.ids

    # --- dynamics ----------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> Obs:
        """Restart every town (town i seeded ``seed + i``) and return the first observation."""
        if seed is not None:
            self.seed = int(seed)
        self.engine.reset(self.seed)
        return self.observe()

    def observe(self) -> Obs:
        """Observations of the current state (also refreshes the mask used to check actions).

        Safe to call after editing ``state`` by hand: cached derived arrays are rebuilt.
        """
        self.engine.invalidate()
        return self._observe(self.engine.view(), refresh=True)

    def _observe(self, view: WorldView, refresh: bool) -> Obs:
        maps, summary = self._maps.build(view)
        mask = action_masks(view)
        if refresh:
            self._mask = mask
        return {"map": maps, "features": self._features.build(view, summary), "action_mask": mask}

    def scripted_actions(self) -> np.ndarray:
        """[T, A] actions of the scripted controller for the current state."""
        return scripted_actions(self.engine.view(), self._mask)

    def step(
        self, actions: np.ndarray
    ) -> tuple[Obs, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        acts = np.asarray(actions, dtype=np.int64)
        expected = self._action_shape
        if acts.shape != expected:
            raise ValueError(f"actions must have shape {expected}, got {acts.shape}")
        # Seen as unsigned, negative ids wrap to huge values: one comparison checks both bounds.
        if np.count_nonzero(acts.view(np.uint64) >= NUM_ACTIONS):
            raise ValueError(f"actions must be within [0, {NUM_ACTIONS - 1}]")
        self.engine.timings = self.timings
        result = self.engine.tick(acts, self._mask)
        started = time.perf_counter()
        obs = self._observe(self.engine.view(), refresh=True)
        final: Obs | None = None
        if self.auto_reset and np.count_nonzero(result.town_done):
            done = np.flatnonzero(result.town_done)
            final = {k: v.copy() for k, v in obs.items()}
            self.engine.reset_towns(done)
            fresh_view = WorldView(self.engine.state.subset(done), self.engine.world)
            fresh = self._observe(fresh_view, refresh=False)
            for key, value in fresh.items():
                obs[key][done] = value
            self._mask = obs["action_mask"]
        if self.timings is not None:
            self.timings["observations"] = (
                self.timings.get("observations", 0.0) + time.perf_counter() - started
            )
        info: dict[str, Any] = {
            "events": result.record.events.counts,
            "reward_terms": result.reward_terms.as_float32(),
            "active": result.record.active,
            "town_done": result.town_done,
            "final_observation": final,
            "tick": self.engine.state.tick.copy(),
            "episode": self.engine.state.episode.copy(),
            "kpi_days": result.kpi_days,
        }
        return obs, result.rewards, result.terminated, result.truncated, info

    # --- checkpoints -------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Plain containers (numpy arrays and ints) that restore the world exactly.

        The RNG is counter based: its whole state is the per-town seed, episode counter and
        episode key, listed under ``rng`` and included in ``arrays``.
        """
        arrays = self.engine.state.to_dict()
        return {
            "scenario": self.scenario.name,
            "num_towns": self.num_towns,
            "seed": self.seed,
            "arrays": arrays,
            "rng": {k: arrays[k].copy() for k in ("seed", "episode", "key")},
        }

    def set_state(self, snapshot: Mapping[str, Any]) -> None:
        """Restore what ``get_state`` returned (same scenario and number of towns)."""
        if int(snapshot["num_towns"]) != self.num_towns:
            raise ValueError(
                f"snapshot has {snapshot['num_towns']} towns, env has {self.num_towns}"
            )
        restored = TownState.from_dict(dict(snapshot["arrays"]))
        for name, value in restored.to_dict().items():
            expected = getattr(self.engine.state, name).shape
            if value.shape != expected:
                raise ValueError(
                    f"snapshot field {name} has shape {value.shape}, this env needs {expected}"
                )
        self.seed = int(snapshot["seed"])
        self.engine.state = restored
        self.engine.invalidate()
        self._mask = action_masks(self.engine.view())
