"""PPO/GAE maths pinned to hand-computed values (DESIGN §6.2)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from townlet.errors import TrainingError
from townlet.strategies import losses

GAMMA, LAMBDA = 0.99, 0.95


def _gae_of(sample: Path) -> tuple[torch.Tensor, torch.Tensor]:
    arrays = np.load(sample, allow_pickle=False)
    rewards = torch.from_numpy(arrays["rewards"]).double()
    values = torch.from_numpy(arrays["value_preds"]).double()
    dones = torch.from_numpy(arrays["dones"])
    advantages = losses.generalized_advantage_estimate(rewards, values, dones, GAMMA, LAMBDA)
    return advantages, losses.returns_from_advantages(advantages, values)


@pytest.mark.parametrize(
    ("stem", "expected_adv"),
    [
        ("base", [-0.028715, -0.03]),
        ("conflict_high", [-0.13644, -0.08]),
        ("conflict_low", [-0.01911, -0.02]),
    ],
)
def test_gae_anchor_on_upstream_samples(
    upstream_samples: Path, stem: str, expected_adv: list[float]
) -> None:
    sample = upstream_samples / "replay" / f"observation_hybrid_sample_{stem}.npz"
    advantages, returns = _gae_of(sample)
    assert advantages.tolist() == pytest.approx(expected_adv, abs=1e-6)
    if stem == "base":
        assert returns.tolist() == pytest.approx([0.071285, 0.02], abs=1e-6)


def test_gae_by_hand_without_done_bootstraps_from_last_value() -> None:
    rewards = torch.tensor([1.0, 0.0])
    values = torch.tensor([0.5, 0.25, 2.0])
    dones = torch.tensor([False, False])
    adv = losses.generalized_advantage_estimate(rewards, values, dones, gamma=0.5, gae_lambda=0.5)
    # t=1: delta = 0 + 0.5*2.0 - 0.25 = 0.75; t=0: delta = 1 + 0.5*0.25 - 0.5 = 0.625,
    # gae = 0.625 + 0.25 * 0.75 = 0.8125.
    assert adv.tolist() == pytest.approx([0.8125, 0.75])


@pytest.mark.parametrize(
    ("n", "expected"),
    [(2, (1, 2)), (20, (5, 4)), (40, (10, 4)), (60, (15, 4)), (80, (20, 4)), (180, (32, 6))],
)
def test_minibatch_plan(n: int, expected: tuple[int, int]) -> None:
    assert losses.minibatch_plan(n, mini_batch_size=32, num_mini_batches=4) == expected


def test_minibatch_indices_cover_every_transition_once() -> None:
    chunks = losses.minibatch_indices(180, 32, torch.Generator().manual_seed(3))
    assert [len(c) for c in chunks] == [32, 32, 32, 32, 32, 20]
    assert sorted(torch.cat(chunks).tolist()) == list(range(180))


def test_minibatch_indices_cut_into_agreed_parts() -> None:
    # A DDP rank with 170 transitions would cut 6 chunks of 32 (ceil(170/32) = 6), like a rank
    # with 180; asked for 7 parts it cuts 7 near-equal chunks: 170 = 2*25 + 5*24.
    same = losses.minibatch_indices(170, 32, torch.Generator().manual_seed(3), parts=6)
    assert [len(c) for c in same] == [32, 32, 32, 32, 32, 10]
    agreed = losses.minibatch_indices(170, 32, torch.Generator().manual_seed(3), parts=7)
    assert [len(c) for c in agreed] == [25, 25, 24, 24, 24, 24, 24]
    assert sorted(torch.cat(agreed).tolist()) == list(range(170))
    # The same permutation either way: only the cut differs.
    assert torch.equal(torch.cat(agreed), torch.cat(same))


def test_clipped_surrogate_on_four_elements() -> None:
    ratio = torch.tensor([0.5, 1.0, 1.5, 1.1])
    adv = torch.tensor([1.0, -1.0, 2.0, -2.0])
    # min(r*A, clip(r, 0.8, 1.2)*A): [min(0.5, 0.8), min(-1, -1), min(3, 2.4), min(-2.2, -2.2)]
    # = [0.5, -1.0, 2.4, -2.2]; mean = -0.075; loss = 0.075.
    loss = losses.clipped_surrogate_loss(ratio, adv, clip_param=0.2)
    assert loss.item() == pytest.approx(0.075)
    assert losses.clip_fraction(ratio, 0.2).item() == pytest.approx(0.5)


def test_clipped_value_loss_on_four_elements() -> None:
    values = torch.tensor([1.0, 0.0, 0.5, 2.0])
    old = torch.tensor([0.5, 0.5, 0.5, 1.0])
    returns = torch.tensor([1.0, 1.0, 0.0, 1.0])
    # v_clipped = old + clip(v - old, ±0.2) = [0.7, 0.3, 0.5, 1.2]
    # unclipped sq = [0, 1, 0.25, 1]; clipped sq = [0.09, 0.49, 0.25, 0.04]
    # max = [0.09, 1, 0.25, 1] -> mean 0.585 -> *0.5 = 0.2925
    assert losses.clipped_value_loss(values, old, returns, 0.2).item() == pytest.approx(0.2925)
    # value_clip = 0: plain 0.5 * mean([0, 1, 0.25, 1]) = 0.28125
    assert losses.clipped_value_loss(values, old, returns, 0.0).item() == pytest.approx(0.28125)


def test_total_loss_and_kl_estimates() -> None:
    total = losses.ppo_total_loss(
        torch.tensor(0.1), torch.tensor(2.0), torch.tensor(1.5), 0.5, 0.01
    )
    assert total.item() == pytest.approx(0.1 + 1.0 - 0.015)
    new = torch.tensor([-1.0, -2.0])
    old = torch.tensor([-1.5, -1.0])
    assert losses.approx_kl_old(new, old).item() == pytest.approx((-0.5 + 1.0) / 2)
    ratio = losses.probability_ratio(new, old)
    expected_k3 = sum((math.exp(x) - 1 - x) for x in (0.5, -1.0)) / 2
    assert losses.approx_kl_k3(ratio).item() == pytest.approx(expected_k3)


def test_normalisation_and_zero_std_batch_flag() -> None:
    normalized, zero = losses.normalize_advantages(torch.tensor([1.0, 3.0]))
    assert normalized.tolist() == pytest.approx([-1.0, 1.0], abs=1e-6)
    assert zero is False
    flat, zero = losses.normalize_advantages(torch.tensor([0.25, 0.25, 0.25]))
    assert zero is True
    assert flat.tolist() == [0.0, 0.0, 0.0]


def test_pearson_from_sums_matches_numpy_and_is_zero_for_constants() -> None:
    x = [0.05, 0.02, 0.12, 0.04, 0.02, 0.01]
    y = [1.0, -1.0, -1.0, 1.0, 1.0, -1.0]
    sums = (
        len(x),
        sum(x),
        sum(y),
        sum(a * a for a in x),
        sum(b * b for b in y),
        sum(a * b for a, b in zip(x, y, strict=True)),
    )
    assert losses.pearson_from_sums(*sums) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert losses.pearson_from_sums(3, 3.0, 1.0, 3.0, 1.0, 1.0) == 0.0


def test_explained_variance_from_sums_by_hand() -> None:
    # R = [1, 2, 3, 4], V = [1, 2, 2, 2]: R - V = [0, 0, 1, 2].
    # Var[R] = 30/4 - 2.5^2 = 1.25; Var[R - V] = 5/4 - 0.75^2 = 0.6875; 1 - 0.6875/1.25 = 0.45.
    assert losses.explained_variance_from_sums(4, 10.0, 30.0, 3.0, 5.0) == pytest.approx(0.45)
    returns, values = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 2.0, 2.0])
    sb3 = 1.0 - np.var(returns - values) / np.var(returns)
    assert losses.explained_variance_from_sums(4, 10.0, 30.0, 3.0, 5.0) == pytest.approx(sb3)
    # Constant returns: Var[R] = 0, so nothing to explain and 0 rather than a division by zero.
    assert losses.explained_variance_from_sums(3, 6.0, 12.0, 1.0, 1.0) == 0.0


def test_nan_rewards_name_dataset_and_batch() -> None:
    with pytest.raises(TrainingError, match=r"non-finite rewards in dataset replay\.json, batch 7"):
        losses.assert_finite(torch.tensor([0.0, math.nan]), "rewards", "replay.json", 7)
