"""The town simulation (DESIGN §9): numpy only, importable without torch.

Public entry points: :class:`TownVecEnv` (batched towns), :class:`TownParallelEnv` (PettingZoo,
one town), :func:`load_scenario` / :func:`scenario_from_dict`, and the fixed vocabularies.
"""

from townlet.sim.constants import (
    ACTION_NAMES,
    EVENT_KEYS,
    FEATURE_NAMES,
    MAP_CHANNELS,
    NUM_ACTIONS,
    NUM_FEATURES,
    REWARD_TERMS,
)
from townlet.sim.scenario import Scenario
from townlet.sim.scenario_loader import (
    SCENARIO_NAMES,
    load_scenario,
    scenario_from_dict,
    scenario_path,
)
from townlet.sim.vec_env import TownVecEnv

__all__ = [
    "ACTION_NAMES",
    "EVENT_KEYS",
    "FEATURE_NAMES",
    "MAP_CHANNELS",
    "NUM_ACTIONS",
    "NUM_FEATURES",
    "REWARD_TERMS",
    "SCENARIO_NAMES",
    "Scenario",
    "TownVecEnv",
    "load_scenario",
    "scenario_from_dict",
    "scenario_path",
]
