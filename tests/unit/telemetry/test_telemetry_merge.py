"""How a record combines the module's PPO numbers with the data source's fields."""

from __future__ import annotations

import pytest

from townlet.telemetry.callback import merge_epoch_metrics

MODULE = {"loss_total": 1.0, "approx_kl": 0.1, "ep_rew_mean": -3.0, "ep_len_mean": 20.0}


def test_a_live_source_reports_the_episode_statistics() -> None:
    source = {"data_mode": "rollout", "ep_rew_mean": -16.0, "ep_len_mean": 80.0}
    merged = merge_epoch_metrics(MODULE, source)
    assert (merged["ep_rew_mean"], merged["ep_len_mean"]) == (-16.0, 80.0)
    assert list(merged) == ["loss_total", "approx_kl", "data_mode", "ep_rew_mean", "ep_len_mean"]


def test_without_them_the_modules_episode_statistics_stand() -> None:
    merged = merge_epoch_metrics(MODULE, {"data_mode": "replay"})
    assert (merged["ep_rew_mean"], merged["ep_len_mean"]) == (-3.0, 20.0)
    assert "ep_rew_mean" not in merge_epoch_metrics({"loss_total": 1.0}, {"data_mode": "replay"})


def test_any_other_key_from_both_is_refused() -> None:
    with pytest.raises(ValueError, match=r"both report \['loss_total'\]"):
        merge_epoch_metrics(MODULE, {"loss_total": 2.0})
