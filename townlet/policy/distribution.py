"""The categorical action distribution of a policy network's masked logits (DESIGN §6.3).

One definition of how a network acts on town observations and of its entropy, shared by training
(rollout collection, PPO and BC statistics) and by the checkpoint policies of captures and
evaluations, so every caller samples the same actions from the same random draws.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor, nn

OBS_KEYS = ("map", "features", "action_mask")


def flat_observations(
    obs: Mapping[str, np.ndarray], device: torch.device | None = None
) -> dict[str, Tensor]:
    """[towns, agents, ...] numpy observations as flat [N, ...] tensors (on ``device``)."""
    flat = {key: torch.from_numpy(obs[key]).flatten(0, 1) for key in OBS_KEYS}
    if device is None:
        return flat
    return {key: value.to(device) for key, value in flat.items()}


def act(
    network: nn.Module, obs: Mapping[str, Tensor], generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Sampled actions, their log-probabilities and the values of flat observations.

    Gumbel-max sampling (argmax of logits + Gumbel noise) is exact categorical sampling. The
    noise comes from ``generator`` on the CPU, so the draws depend only on that generator's state,
    whichever device the network runs on; masked actions (-inf logits) are never chosen.
    """
    logits, values = network(obs["map"], obs["features"], obs["action_mask"])
    uniform = torch.rand(logits.shape, generator=generator).to(logits.device)
    # -log(-log(u)) in place on the fresh noise tensor: the same ops in the same order.
    gumbel = uniform.clamp_min_(1e-20).log_().neg_().log_().neg_()
    actions = torch.argmax(logits + gumbel, dim=-1)
    log_probs = torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    return actions, log_probs, values


def masked_entropy(log_probs: Tensor) -> Tensor:
    """Entropy -sum(p log p) over the last axis of log-probabilities, masked actions included.

    A masked action has p = 0 and log p = -inf; its log-prob is zeroed *before* the product,
    because 0 * -inf is nan, and a nan masked out afterwards still poisons the gradient.
    """
    probs = log_probs.exp()
    return -(probs * log_probs.masked_fill(torch.isinf(log_probs), 0.0)).sum(-1)
