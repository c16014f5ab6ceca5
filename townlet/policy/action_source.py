"""What drives the agents of a capture (DESIGN §11): the action-source protocol. numpy only.

An action source picks every agent's action for the current tick and says how likely that choice
was and what it expected to earn, so the capture can store ``old_log_probs`` and ``value_preds``
beside the actions. The scripted controller (``townlet.data.capture_writer.ScriptedSource``) and
a trained checkpoint (``townlet.policy.checkpoint.CheckpointPolicy``) are the two sources.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from townlet.sim import TownVecEnv

# Observations as the town hands them out: "map", "features", "action_mask", [towns, agents, ...].
Obs = dict[str, np.ndarray]
# How a configuration names the two kinds of source, and how a capture labels them: the
# scripted controller, and a checkpoint's policy (``ckpt:PATH``).
SCRIPTED = "scripted"
CKPT_PREFIX = "ckpt:"


class Decision(NamedTuple):
    """One tick's choice for every agent: [towns, agents] actions, log-probs and values."""

    actions: np.ndarray
    log_probs: np.ndarray
    values: np.ndarray


class ActionSource(Protocol):
    """What drives the agents during a capture."""

    label: str  # recorded as capture_metadata.policy

    def act(self, env: TownVecEnv, obs: Obs) -> Decision: ...

    def value(self, obs: Obs) -> np.ndarray: ...
