"""A short town_anneal run learns to live better than chance (DESIGN §13). Slow: minutes of CPU.

Trained policies are judged by the KPIs and the return on unseen towns, against the uniform
random policy on the same seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from townlet.policy.episodes import play_episodes
from townlet.policy.evaluate import play_checkpoint
from townlet.policy.probes import make_probe
from townlet.sim import load_scenario

pytestmark = pytest.mark.slow

SEED = 1_000_003  # far from the training seeds (0 + town index)
TOWNS = 4


def test_short_town_anneal_beats_random_on_kpis_and_return(
    run_training: Callable[..., Path],
) -> None:
    run = run_training(
        "experiment=town_anneal",
        "logger=none",
        "strategy.promotion_state=null",
        "strategy.bc.capture_towns=4",
        "data.num_towns=8",
        "strategy.schedule=[{cycle: 0, mode: bc, epochs: 6, dataset: capture, bc_weight: 0.0},"
        "{cycle: 1, mode: ppo, epochs: 6, dataset: rollout, bc_weight: 1.0}]",
    )
    scenario = load_scenario("town")
    trained = play_checkpoint(
        run / "checkpoints" / "last.ckpt",
        scenario,
        "town",
        towns=TOWNS,
        seed=SEED,
        greedy=False,
        field="checkpoint",
    ).summary()
    chance = play_episodes(scenario, make_probe("random"), TOWNS, SEED).summary()

    assert trained["episode_return"] > chance["episode_return"] + 20.0
    assert trained["kpi.self_sufficiency"] > chance["kpi.self_sufficiency"] + 0.1
    assert trained["kpi.lateness_rate"] < chance["kpi.lateness_rate"]
    assert trained["kpi.attendance"] > chance["kpi.attendance"]
    assert trained["faints_per_agent_day"] < chance["faints_per_agent_day"]
