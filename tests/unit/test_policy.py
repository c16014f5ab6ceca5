"""The conflict-aware network: shapes from the data, masks honoured, finite gradients."""

from __future__ import annotations

import math

import pytest
import torch

from townlet.policy.conflict_aware import ConflictAwarePolicy


@pytest.mark.parametrize("encoder", ["mlp", "conv"])
def test_masked_actions_get_zero_probability_and_finite_gradients(encoder: str) -> None:
    torch.manual_seed(0)
    policy = ConflictAwarePolicy(
        (4, 11, 11), feature_dim=81, action_dim=12, hidden_dim=32, encoder=encoder
    )  # type: ignore[arg-type]
    obs_map, features = torch.rand(5, 4, 11, 11), torch.rand(5, 81)
    mask = torch.zeros(5, 12, dtype=torch.bool)
    mask[:, 0] = True  # wait is always allowed
    mask[:3, 5] = True
    logits, values = policy(obs_map, features, mask)
    assert logits.shape == (5, 12) and values.shape == (5,)
    probs = torch.softmax(logits, -1)
    assert float(probs[~mask].abs().sum().detach()) == 0.0
    actions = torch.zeros(5, dtype=torch.long)
    log_probs, entropy, _ = policy.evaluate_actions(obs_map, features, actions, mask)
    # Rows with one legal action have zero entropy and log pi = 0; two legal actions at most ln 2.
    assert entropy[3:].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert log_probs[3:].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert all(0.0 < e <= math.log(2) + 1e-6 for e in entropy[:3].tolist())
    (entropy.sum() - log_probs.sum()).backward()
    grads = [p.grad for p in policy.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)


def test_unmasked_entropy_is_uniform_at_equal_logits() -> None:
    policy = ConflictAwarePolicy((2, 3, 3), feature_dim=4, action_dim=6, hidden_dim=8)
    torch.nn.init.zeros_(policy.policy_head.weight)
    torch.nn.init.zeros_(policy.policy_head.bias)
    _, entropy, _ = policy.evaluate_actions(
        torch.rand(3, 2, 3, 3), torch.rand(3, 4), torch.tensor([0, 1, 5])
    )
    assert entropy.tolist() == pytest.approx([math.log(6)] * 3)
