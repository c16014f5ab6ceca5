"""The throughput helpers of rollout collection change no value: stacking observations into
NumPy-allocated memory, and the in-place ReLUs of the policy network."""

from __future__ import annotations

import copy

import pytest
import torch

from townlet.data.rollout_collector import _stack_observations
from townlet.policy.conflict_aware import ConflictAwarePolicy


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool, torch.int64])
def test_stack_observations_equals_torch_stack(dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    values = [(torch.rand((6, 4, 3), generator=generator) * 3).to(dtype) for _ in range(5)]
    stacked = _stack_observations(values)
    expected = torch.stack(values, dim=1)
    assert stacked.dtype == expected.dtype and stacked.is_contiguous()
    assert torch.equal(stacked, expected)


@pytest.mark.parametrize("encoder", ["mlp", "conv"])
def test_in_place_relu_keeps_outputs_and_gradients(encoder: str) -> None:
    torch.manual_seed(0)
    network = ConflictAwarePolicy((4, 5, 5), 9, 6, hidden_dim=16, encoder=encoder)  # type: ignore[arg-type]
    reference = copy.deepcopy(network)
    for module in reference.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    obs_map = (torch.rand(32, 4, 5, 5) < 0.2).float()
    features = torch.randn(32, 9)
    mask = torch.rand(32, 6) < 0.7
    mask[:, 0] = True
    actions = torch.zeros(32, dtype=torch.long)
    results = []
    for net in (network, reference):
        log_probs, entropy, values = net.evaluate_actions(obs_map, features, actions, mask)
        (values.pow(2).mean() - log_probs.mean() - 0.01 * entropy.mean()).backward()
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        results.append([log_probs.detach(), entropy.detach(), values.detach(), *grads])
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))
