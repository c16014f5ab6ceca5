"""Pure PPO, GAE and BC maths (DESIGN §6.2), one short function per term of the paper.

Everything here is a function of tensors: no module state, no logging. The LightningModules call
these in order, and the unit tests pin each one to hand-computed values.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from townlet.errors import TrainingError

ADV_EPS = 1e-8


def generalized_advantage_estimate(
    rewards: Tensor, values: Tensor, dones: Tensor, gamma: float, gae_lambda: float
) -> Tensor:
    """GAE over the time axis (last dim). ``values`` holds T+1 entries: V[T] is the bootstrap.

    ``mask = 1 - done[t]`` cuts both the bootstrap and the recursion at an episode end, so a
    terminated step never sees the value of the next episode's first state.
    """
    steps = rewards.shape[-1]
    advantages = torch.zeros_like(rewards)
    gae = torch.zeros_like(rewards[..., 0])
    masks = 1.0 - dones.to(rewards.dtype)
    for t in reversed(range(steps)):
        delta = rewards[..., t] + gamma * values[..., t + 1] * masks[..., t] - values[..., t]
        gae = delta + gamma * gae_lambda * masks[..., t] * gae
        advantages[..., t] = gae
    return advantages


def returns_from_advantages(advantages: Tensor, values: Tensor) -> Tensor:
    """Value targets R = A + V[t], from the raw (un-normalised) advantages."""
    return advantages + values[..., : advantages.shape[-1]]


def normalize_advantages(advantages: Tensor) -> tuple[Tensor, bool]:
    """(A - mean) / (population std + eps) over the whole batch; also says if std was ~0."""
    std = advantages.std(unbiased=False)
    normalized = (advantages - advantages.mean()) / (std + ADV_EPS)
    return normalized, bool(std < ADV_EPS)


def minibatch_plan(
    num_transitions: int, mini_batch_size: int, num_mini_batches: int
) -> tuple[int, int]:
    """(size, count) of the minibatches cut from one permutation of N transitions."""
    k = min(num_mini_batches, num_transitions)
    size = min(mini_batch_size, max(1, num_transitions // k))
    return size, math.ceil(num_transitions / size)


def minibatch_indices(
    num_transitions: int,
    size: int,
    generator: torch.Generator | None = None,
    parts: int | None = None,
) -> list[Tensor]:
    """One fresh permutation of the transitions cut into chunks of ``size`` (last may be short).

    ``parts`` asks for that many chunks instead, of near-equal sizes, when cutting by ``size``
    would give another count (DDP ranks with batches of different lengths must agree on it).
    """
    permutation = torch.randperm(num_transitions, generator=generator)
    if parts is not None and parts != math.ceil(num_transitions / size):
        return list(torch.tensor_split(permutation, parts))
    return list(torch.split(permutation, size))


def probability_ratio(new_log_probs: Tensor, old_log_probs: Tensor) -> Tensor:
    """r(theta) = pi_new(a|s) / pi_old(a|s)."""
    return torch.exp(new_log_probs - old_log_probs)


def clipped_surrogate_loss(ratio: Tensor, advantages: Tensor, clip_param: float) -> Tensor:
    """L_pi = -mean(min(r*A, clip(r, 1-eps, 1+eps)*A))."""
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_param, 1.0 + clip_param) * advantages
    return -torch.min(unclipped, clipped).mean()


def clipped_value_loss(
    values: Tensor, old_values: Tensor, returns: Tensor, value_clip: float
) -> Tensor:
    """0.5*mean(max((v-R)^2, (v_clipped-R)^2)); plain 0.5*mean((v-R)^2) when value_clip is 0."""
    unclipped = (values - returns) ** 2
    if value_clip <= 0.0:
        return 0.5 * unclipped.mean()
    v_clipped = old_values + torch.clamp(values - old_values, -value_clip, value_clip)
    return 0.5 * torch.max(unclipped, (v_clipped - returns) ** 2).mean()


def ppo_total_loss(
    policy_loss: Tensor,
    value_loss: Tensor,
    entropy: Tensor,
    value_loss_coef: float,
    entropy_coef: float,
) -> Tensor:
    """loss = L_pi + c_v * L_v - c_H * H."""
    return policy_loss + value_loss_coef * value_loss - entropy_coef * entropy


def approx_kl_old(new_log_probs: Tensor, old_log_probs: Tensor) -> Tensor:
    """kl = mean(logp_old - logp_new): the telemetry ``kl_divergence`` (SB3's old_approx_kl)."""
    return (old_log_probs - new_log_probs).mean()


def approx_kl_k3(ratio: Tensor) -> Tensor:
    """CleanRL's low-variance k3 estimator: mean((r - 1) - log r)."""
    return ((ratio - 1.0) - torch.log(ratio)).mean()


def clip_fraction(ratio: Tensor, clip_param: float) -> Tensor:
    """Share of ratios outside [1 - eps, 1 + eps]."""
    return ((ratio - 1.0).abs() > clip_param).float().mean()


def behaviour_cloning_loss(logits: Tensor, expert_actions: Tensor) -> Tensor:
    """Cross-entropy of the policy's logits against the expert's actions."""
    return torch.nn.functional.cross_entropy(logits, expert_actions)


def pearson_from_sums(n: float, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float:
    """Pearson correlation from running sums; 0 when either side is constant."""
    if n < 2:
        return 0.0
    cov = sxy - sx * sy / n
    var_x = sxx - sx * sx / n
    var_y = syy - sy * sy / n
    if var_x <= 1e-12 * max(1.0, sxx) or var_y <= 1e-12 * max(1.0, syy):
        return 0.0
    return float(cov / math.sqrt(var_x * var_y))


def explained_variance_from_sums(
    n: float, s_returns: float, s_returns_sq: float, s_residual: float, s_residual_sq: float
) -> float:
    """1 - Var[R - V] / Var[R] (SB3's definition) from running sums of R, R^2, R - V and
    (R - V)^2 over n transitions (population variances); 0 when Var[R] is ~0."""
    var_returns = s_returns_sq / n - (s_returns / n) ** 2
    var_residual = s_residual_sq / n - (s_residual / n) ** 2
    return 1.0 - var_residual / var_returns if var_returns > 1e-12 else 0.0


def assert_finite(tensor: Tensor, what: str, dataset: str, batch_index: int) -> None:
    """Raise one line naming the dataset and batch when ``tensor`` holds NaN or inf."""
    if not bool(torch.isfinite(tensor).all()):
        raise TrainingError(
            f"non-finite {what} in dataset {dataset}, batch {batch_index}: "
            "check the rewards and value predictions of that batch"
        )
