"""DESIGN §13 reward principle: on `town`, living well is what pays.

Each probe policy (chat whenever legal; never work but keep needs up; always wait; uniform
random) earns strictly less episode return than the scripted reference, over whole episodes
in the same evaluation towns.
"""

from __future__ import annotations

import pytest

from townlet.evaluate import EvaluateConfig
from townlet.policy.episodes import play_episodes
from townlet.policy.probes import make_probe
from townlet.sim import Scenario, load_scenario

TOWNS = 4
SEED = EvaluateConfig().seed  # the evaluation seed, far from training seeds


@pytest.fixture(scope="module")
def town() -> Scenario:
    return load_scenario("town")


@pytest.fixture(scope="module")
def scripted_return(town: Scenario) -> float:
    return play_episodes(town, make_probe("scripted"), TOWNS, SEED).summary()["episode_return"]


@pytest.mark.parametrize("probe", ["chat", "never_work", "wait", "random"])
def test_scripted_controller_out_earns_probe(
    town: Scenario, scripted_return: float, probe: str
) -> None:
    summary = play_episodes(town, make_probe(probe), TOWNS, SEED).summary()
    assert summary["days"] >= 3  # whole multi-day episodes: wallets and ties carry over
    assert scripted_return > summary["episode_return"], (
        f"{probe} earns {summary['episode_return']:.3f} per agent-episode, "
        f"the scripted controller {scripted_return:.3f}"
    )
