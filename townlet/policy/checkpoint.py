"""A trained policy read back from a townlet checkpoint, acting in a capture or an evaluation.

A training run's ``<run>/checkpoints/last.ckpt`` is a Lightning checkpoint: ``hyper_parameters``
(``policy``, ``map_shape``, ``feature_dim``, ``action_dim``, ``feature_names``, ...) and a
``state_dict`` whose network weights are under ``policy.``. It is read with
``torch.load(weights_only=True)`` only, so a file cannot run code while loading. Every problem
(missing, unreadable, not a townlet checkpoint, trained on other observation shapes) is one
``config error:`` line naming the override that pointed at the file (``capture.policy``,
evaluate's ``policy``, ``strategy.init_from``, ``ckpt_path``) and what the file should be. A
checkpoint to resume from must also hold what Lightning restores (loops, optimiser state) and
weights of exactly the shapes of the module the run builds.
"""

from __future__ import annotations

import warnings
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
# What every message says the file should be.
_EXPECTED = "expected a checkpoint of a townlet training run, e.g. <run>/checkpoints/last.ckpt"
# The entries Lightning reads when a fit resumes: loop progress, optimiser and scheduler state.
_RESUME_KEYS = (
    "pytorch-lightning_version",
    "epoch",
    "global_step",
    "state_dict",
    "loops",
    "optimizer_states",
    "lr_schedulers",
)


CAPTURE_FIELD = f"capture.policy={CKPT_PREFIX}"


def _problem(path: Path | str, reason: str, field: str = CAPTURE_FIELD) -> ConfigError:
    """One line naming the override that pointed at the checkpoint (``field``) and the path."""
    return ConfigError(" ".join(f"{field}{path} — {reason}".split()))


def _load(path: Path | str, field: str) -> dict[str, Any]:
    """The checkpoint's top-level entries, read with ``weights_only=True`` so no code runs."""
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of files it did not write; the error says all.
            warnings.simplefilter("ignore")
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises many types for foreign files; all mean the same
        # torch's own messages run to paragraphs of advice about weights_only; this is the gist.
        if "GLOBAL" in str(exc):
            why = "it holds pickled Python objects, which are never loaded"
        else:
            why = "torch.load(weights_only=True) cannot read it (truncated or not a torch file)"
        raise _problem(path, f"not a townlet checkpoint: {why}; {_EXPECTED}", field) from None
    if not isinstance(blob, dict):
        kind = type(blob).__name__
        raise _problem(path, f"not a townlet checkpoint: it holds a {kind}; {_EXPECTED}", field)
    return blob


def _read(
    path: Path, field: str = CAPTURE_FIELD
) -> tuple[Mapping[str, Any], dict[str, torch.Tensor]]:
    """The checkpoint's hyperparameters and policy weights, or why it is not a townlet one."""
    blob = _load(path, field)
    hparams, state = blob.get("hyper_parameters"), blob.get("state_dict")
    if not isinstance(hparams, Mapping) or not isinstance(state, Mapping):
        reason = f"not a townlet checkpoint: no hyper_parameters and state_dict; {_EXPECTED}"
        raise _problem(path, reason, field)
    missing = [key for key in _REQUIRED_HPARAMS if key not in hparams]
    weights = {
        key[len(_WEIGHTS_PREFIX) :]: value
        for key, value in state.items()
        if isinstance(key, str) and key.startswith(_WEIGHTS_PREFIX)
    }
    if missing or not weights:
        lacking = ", ".join(missing) if missing else "policy.* weights"
        raise _problem(path, f"not a townlet checkpoint: it lacks {lacking}; {_EXPECTED}", field)
    return hparams, weights


def check_resume_checkpoint(typed: str, module: torch.nn.Module, field: str = "ckpt_path=") -> int:
    """``typed`` (the path as the user wrote it) must resume ``module``'s fit, else one line.

    Returns the epochs the checkpoint has finished, which the resumed fit must go beyond.

    Lightning would read the file only inside ``trainer.fit``, after the loggers and callbacks
    have written into the run folder, and fail there with a traceback.
    """
    if not Path(typed).is_file():
        raise _problem(typed, "checkpoint file not found", field)
    blob = _load(typed, field)
    missing = [key for key in _RESUME_KEYS if key not in blob]
    if missing:
        raise _problem(
            typed,
            f"not a checkpoint a run can resume from: it lacks {', '.join(missing)}; {_EXPECTED}",
            field,
        )
    state = blob["state_dict"]
    if not isinstance(state, Mapping):
        reason = f"not a townlet checkpoint: its state_dict is no mapping; {_EXPECTED}"
        raise _problem(typed, reason, field)
    difference = _network_difference(blob.get("hyper_parameters"), state, module)
    if difference:
        reason = (
            f"its network differs from this run's ({difference}); "
            "expected a checkpoint of a run with the same strategy, policy, scenario and data"
        )
        raise _problem(typed, reason, field)
    return _epochs_done(blob)


def _epochs_done(blob: Mapping[str, Any]) -> int:
    """Epochs Lightning counts as finished on resume (a checkpoint saved at an epoch's end)."""
    try:
        return int(blob["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
    except (KeyError, TypeError, ValueError):
        return int(blob["epoch"]) + 1 if isinstance(blob["epoch"], int) else 0


def _network_difference(
    hparams: object, state: Mapping[str, Any], module: torch.nn.Module
) -> str | None:
    """How the saved network differs from ``module``'s, as precisely as the file allows."""
    # The policy hyperparameters say what the user changed (policy.hidden_dim=32), which the
    # first mismatched tensor shape only hints at.
    saved_policy = hparams.get("policy") if isinstance(hparams, Mapping) else None
    live_policy = getattr(module, "hparams", {}).get("policy")
    if isinstance(saved_policy, Mapping) and isinstance(live_policy, Mapping):
        for key, value in live_policy.items():
            if key in saved_policy and saved_policy[key] != value:
                return f"saved with policy.{key}={saved_policy[key]}, this run has {value}"
    live = module.state_dict()
    unknown = [key for key in state if key not in live]
    absent = [key for key in live if key not in state]
    if unknown or absent:
        return f"it holds {unknown[0]}" if unknown else f"it lacks {absent[0]}"
    for key, tensor in live.items():
        saved = state[key]
        shape = tuple(saved.shape) if isinstance(saved, torch.Tensor) else type(saved).__name__
        if shape != tuple(tensor.shape):
            return f"{key} is {shape} there, {tuple(tensor.shape)} here"
    return None


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
