"""A trained policy read back from a townlet checkpoint, acting in a capture or an evaluation.

A training run's ``<run>/checkpoints/last.ckpt`` is a Lightning checkpoint: ``hyper_parameters``
(``policy``, ``map_shape``, ``feature_dim``, ``action_dim``, ``feature_names``, ...) and a
``state_dict`` whose network weights are under ``policy.``. It is read with
``torch.load(weights_only=True)`` only, so a file cannot run code while loading. Every problem
(missing, unreadable, not a townlet checkpoint, trained on other observation shapes) is one
``config error:`` line naming the override that pointed at the file (``capture.policy``,
evaluate's ``policy``, ``strategy.init_from``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError

from townlet.errors import ConfigError
from townlet.policy import distribution
from townlet.policy.action_source import CKPT_PREFIX, Decision, Obs
from townlet.policy.conflict_aware import ConflictAwarePolicy, build_policy
from townlet.sim import TownVecEnv

_WEIGHTS_PREFIX = "policy."
_REQUIRED_HPARAMS = ("policy", "map_shape", "feature_dim", "action_dim")


CAPTURE_FIELD = f"capture.policy={CKPT_PREFIX}"


def _problem(path: Path, reason: str, field: str = CAPTURE_FIELD) -> ConfigError:
    """One line naming the override that pointed at the checkpoint (``field``) and the path."""
    return ConfigError(" ".join(f"{field}{path} — {reason}".split()))


def _read(
    path: Path, field: str = CAPTURE_FIELD
) -> tuple[Mapping[str, Any], dict[str, torch.Tensor]]:
    """The checkpoint's hyperparameters and policy weights, or why it is not a townlet one."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises many types for foreign files; all mean the same
        # torch's own messages run to paragraphs of advice about weights_only; the type suffices.
        raise _problem(
            path,
            "not a townlet checkpoint (torch.load(weights_only=True) cannot read it: "
            f"{type(exc).__name__})",
            field,
        ) from None
    hparams = blob.get("hyper_parameters") if isinstance(blob, dict) else None
    state = blob.get("state_dict") if isinstance(blob, dict) else None
    if not isinstance(hparams, Mapping) or not isinstance(state, Mapping):
        raise _problem(path, "not a townlet checkpoint (no hyper_parameters and state_dict)", field)
    missing = [key for key in _REQUIRED_HPARAMS if key not in hparams]
    weights = {
        key[len(_WEIGHTS_PREFIX) :]: value
        for key, value in state.items()
        if isinstance(key, str) and key.startswith(_WEIGHTS_PREFIX)
    }
    if missing or not weights:
        lacking = ", ".join(missing) if missing else "policy.* weights"
        raise _problem(path, f"not a townlet checkpoint (it lacks {lacking})", field)
    return hparams, weights


def _check_fit(
    path: Path,
    hparams: Mapping[str, Any],
    env: TownVecEnv,
    scenario: str,
    field: str = CAPTURE_FIELD,
) -> None:
    """The network must observe exactly what this scenario's towns produce."""
    try:
        trained = (
            [int(v) for v in hparams["map_shape"]],
            int(hparams["feature_dim"]),
            int(hparams["action_dim"]),
        )
    except (TypeError, ValueError):
        raise _problem(
            path, "not a townlet checkpoint (its shape hyperparameters are not numbers)", field
        ) from None
    live = (list(env.map_shape), len(env.feature_names), env.num_actions)
    if trained != live:
        raise _problem(
            path,
            "the checkpoint's policy takes map {}, {} features and {} actions, but scenario "
            "'{}' gives map {}, {} features and {} actions".format(
                tuple(trained[0]), trained[1], trained[2], scenario, tuple(live[0]), *live[1:]
            ),
            field,
        )
    names = hparams.get("feature_names")
    if isinstance(names, Sequence) and list(names) != list(env.feature_names):
        raise _problem(
            path, f"the checkpoint's feature_names differ from scenario '{scenario}'", field
        )


def load_checkpoint_policy(
    path: Path, env: TownVecEnv, scenario: str, field: str = CAPTURE_FIELD
) -> ConflictAwarePolicy:
    """The checkpoint's network in eval mode, after checking it fits ``env``.

    ``field`` is the override that named the checkpoint, e.g. ``policy=ckpt:``.
    """
    if not path.is_file():
        raise _problem(path, "checkpoint file not found", field)
    hparams, weights = _read(path, field)
    _check_fit(path, hparams, env, scenario, field)
    try:
        network = build_policy(
            hparams["policy"], env.map_shape, len(env.feature_names), env.num_actions
        )
    except ValidationError:
        raise _problem(
            path, "not a townlet checkpoint (its policy hyperparameters are unknown)", field
        ) from None
    _load_weights(network, weights, path, field, "its weights do not fit its own hyperparameters")
    return network.eval()


def load_policy_weights(network: torch.nn.Module, path: Path, field: str) -> None:
    """Copy a townlet checkpoint's policy weights (BC or PPO) into ``network``.

    ``field`` is the override that named the checkpoint, e.g. ``strategy.init_from=``.
    """
    if not path.is_file():
        raise _problem(path, "checkpoint file not found", field)
    _, weights = _read(path, field)
    _load_weights(network, weights, path, field, "its policy does not fit this run's network")


def _load_weights(
    network: torch.nn.Module,
    weights: Mapping[str, torch.Tensor],
    path: Path,
    field: str,
    mismatch: str,
) -> None:
    """Load ``weights`` strictly; a mismatch is one line: ``mismatch`` and torch's first line."""
    try:
        network.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0][:160]
        raise _problem(path, f"{mismatch} ({first})", field) from None


class CheckpointPolicy:
    """Samples actions from a trained policy with its own seeded generator.

    It acts as the rollout collector does (:func:`townlet.policy.distribution.act`); the stored
    log-probs and values are the network's own, so PPO ratios start at 1 on this data.
    """

    def __init__(self, path: Path, env: TownVecEnv, scenario: str, seed: int) -> None:
        self.network = load_checkpoint_policy(path, env, scenario)
        self.generator = torch.Generator().manual_seed(seed)
        self.label = f"{CKPT_PREFIX}{path.resolve()}"

    @torch.no_grad()
    def act(self, env: TownVecEnv, obs: Obs) -> Decision:
        shape = obs["action_mask"].shape[:2]
        flat = distribution.flat_observations(obs)
        actions, log_probs, values = distribution.act(self.network, flat, self.generator)
        return Decision(
            actions.numpy().astype(np.int64).reshape(shape),
            log_probs.numpy().astype(np.float32).reshape(shape),
            values.numpy().astype(np.float32).reshape(shape),
        )

    @torch.no_grad()
    def value(self, obs: Obs) -> np.ndarray:
        flat = distribution.flat_observations(obs)
        _, values = self.network(flat["map"], flat["features"], flat["action_mask"])
        return values.numpy().astype(np.float32).reshape(obs["action_mask"].shape[:2])
