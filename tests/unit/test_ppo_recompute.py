"""recompute_old_policy, StaleReplayCheck and the flag replay batches carry to PPO."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from townlet.config.models import MixedDataConfig, ReplayDataConfig
from townlet.data import EMBEDDED_MANIFEST
from townlet.data.replay import ReplayDataModule
from townlet.policy.conflict_aware import ConflictAwarePolicy
from townlet.strategies.ppo_recompute import StaleReplayCheck, recompute_old_policy
from townlet.strategies.ppo_stats import MINIBATCH_KEYS

B, T, ACTIONS = 2, 5, 6


def make_batch(value_steps: int, mask: bool = True) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(0)
    batch: dict[str, Any] = {
        "map": torch.rand(B, T, 2, 3, 3, generator=generator),
        "features": torch.rand(B, T, 4, generator=generator),
        "actions": torch.randint(0, ACTIONS, (B, T), generator=generator),
        # Another policy's numbers: far from anything the fresh network gives.
        "old_log_probs": torch.full((B, T), -7.0),
        "value_preds": torch.full((B, value_steps), 42.0),
        "rewards": torch.zeros(B, T),
        "dones": torch.zeros(B, T),
        "dataset": "unit",
    }
    if mask:
        batch["action_mask"] = torch.ones(B, T, ACTIONS, dtype=torch.bool)
    return batch


@pytest.fixture
def policy() -> ConflictAwarePolicy:
    torch.manual_seed(0)
    return ConflictAwarePolicy((2, 3, 3), feature_dim=4, action_dim=ACTIONS, hidden_dim=8)


@pytest.mark.parametrize("mask", [True, False])
def test_recompute_gives_the_current_policys_numbers(
    policy: ConflictAwarePolicy, mask: bool
) -> None:
    batch = make_batch(T + 1, mask)
    out = recompute_old_policy(policy, batch, chunk_size=3)  # 10 transitions: chunks 3,3,3,1
    with torch.no_grad():
        log_probs, _, values = policy.evaluate_actions(
            batch["map"].flatten(0, 1),
            batch["features"].flatten(0, 1),
            batch["actions"].flatten(0, 1),
            batch["action_mask"].flatten(0, 1) if mask else None,
        )
    torch.testing.assert_close(out["old_log_probs"], log_probs.reshape(B, T))
    assert out["value_preds"].shape == (B, T + 1)
    torch.testing.assert_close(out["value_preds"][:, :T], values.reshape(B, T))
    # The bootstrap column: the current critic's V(s_{T-1}), not the recorded 42.
    torch.testing.assert_close(out["value_preds"][:, T], values.reshape(B, T)[:, -1])
    assert not out["old_log_probs"].requires_grad and not out["value_preds"].requires_grad
    # The input batch is left as it was; everything else rides along.
    assert float(batch["old_log_probs"].max()) == -7.0
    assert out["dataset"] == "unit" and out["rewards"] is batch["rewards"]


def test_recompute_keeps_a_width_of_t(policy: ConflictAwarePolicy) -> None:
    out = recompute_old_policy(policy, make_batch(T), chunk_size=64)
    assert out["value_preds"].shape == (B, T)
    assert float(out["value_preds"].abs().max()) < 5.0  # the fresh critic's, not the recorded 42


def test_recompute_does_not_depend_on_the_chunk_size(policy: ConflictAwarePolicy) -> None:
    one = recompute_old_policy(policy, make_batch(T + 1), chunk_size=1)
    whole = recompute_old_policy(policy, make_batch(T + 1), chunk_size=1000)
    torch.testing.assert_close(one["old_log_probs"], whole["old_log_probs"])
    torch.testing.assert_close(one["value_preds"], whole["value_preds"])


def rows(approx_kl: float, clip_fraction: float, count: int = 3) -> list[torch.Tensor]:
    values = {key: 0.0 for key in MINIBATCH_KEYS} | {
        "approx_kl": approx_kl,
        "clip_fraction": clip_fraction,
    }
    return [torch.tensor([values[key] for key in MINIBATCH_KEYS])] * count


def test_stale_check_warns_once_above_a_threshold() -> None:
    check = StaleReplayCheck()
    assert check.check() is None  # nothing trained on recorded log-probs
    check.add(rows(0.1, 0.2))
    assert check.check() is None
    check.reset()
    check.add(rows(0.1, 0.2) + rows(1.3, 0.4))  # means: approx_kl 0.7, clip_fraction 0.3
    message = check.check()
    assert message is not None
    assert message.startswith("PPO on replay data recorded by another policy: approx_kl=0.700 ")
    assert "clip_fraction=0.300" in message and "data.recompute_log_probs=true" in message
    check.reset()
    check.add(rows(2.0, 1.0))
    assert check.check() is None and check.rows == []  # once per run


def test_stale_check_clip_fraction_alone_is_enough() -> None:
    check = StaleReplayCheck()
    check.add(rows(0.05, 0.9))
    assert check.check() is not None


def test_replay_batches_carry_the_flag() -> None:
    on = ReplayDataModule(str(EMBEDDED_MANIFEST), batch_size=4)
    off = ReplayDataModule(str(EMBEDDED_MANIFEST), batch_size=4, recompute_log_probs=False)
    assert on.dataset[0]["recompute_log_probs"] is True
    assert off.dataset[0]["recompute_log_probs"] is False


def test_config_defaults_are_on() -> None:
    assert ReplayDataConfig().recompute_log_probs is True
    mixed = MixedDataConfig.model_validate({"ticks": 8})
    assert mixed.recompute_log_probs is True
