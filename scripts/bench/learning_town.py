"""Does PPO learn in the town? Train ``experiment=town_ppo`` for a wall-time budget and compare.

Prints the mean episode return of three policies, each scored on the same fresh evaluation towns
(one full 480-tick episode per agent): a uniform-random policy over the legal actions, the PPO
policy after its first epoch, and the PPO policy at the end of the budget. Learning works when
the last beats both. Also prints the end-to-end training throughput in agent-steps/s.

    python scripts/bench/learning_town.py [--minutes 10] [--eval-towns 4] [overrides ...]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import lightning as L  # noqa: E402
from omegaconf import OmegaConf, open_dict  # noqa: E402

from townlet.compose import compose_train_config  # noqa: E402
from townlet.config import validate_train_config  # noqa: E402
from townlet.policy.evaluate import UniformRandomPolicy, evaluate_episodes  # noqa: E402
from townlet.sim import Scenario, scenario_from_dict  # noqa: E402
from townlet.strategies.builders import (  # noqa: E402
    build_callbacks,
    build_datamodule,
    build_module,
    build_trainer,
)


class FirstEpochSnapshot(L.Callback):
    """Keeps a copy of the policy as it stands after epoch 1, and the agent-step clock."""

    def __init__(self) -> None:
        self.policy: torch.nn.Module | None = None
        self.started = 0.0
        self.agent_steps = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 0:
            self.policy = copy.deepcopy(pl_module.policy).eval()  # type: ignore[arg-type]
        self.agent_steps = int(pl_module.agent_steps)  # type: ignore[arg-type]


def train_for(
    minutes: float, overrides: list[str], run_dir: Path
) -> tuple[Any, Any, float, Scenario]:
    cfg = compose_train_config(
        run_dir,
        [
            "experiment=town_ppo",
            f"trainer.max_time=00:00:{int(minutes):02d}:{int(minutes % 1 * 60):02d}",
            "trainer.enable_progress_bar=false",
            "logger=none",
            *overrides,
        ],
    )
    with open_dict(cfg):
        cfg.pop("hydra")
    raw: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    config = validate_train_config(raw)
    L.seed_everything(config.seed, verbose=False)
    datamodule = build_datamodule(config, raw)
    module = build_module(config, datamodule)
    snapshot = FirstEpochSnapshot()
    trainer = build_trainer(config, raw, [snapshot, *build_callbacks(config, raw)])
    trainer.fit(module, datamodule=datamodule)
    seconds = time.perf_counter() - snapshot.started
    scenario = scenario_from_dict(raw["scenario"], name="town")
    return snapshot, module.policy.eval(), snapshot.agent_steps / seconds, scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training wall-time budget")
    parser.add_argument("--eval-towns", type=int, default=4, help="towns per evaluation")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cpu_start = time.process_time()
        snapshot, final_policy, throughput, scenario = train_for(
            args.minutes, args.overrides, Path(tmp)
        )
        cpu_seconds = time.process_time() - cpu_start
    assert snapshot.policy is not None, "training ended before its first epoch"
    scores = {
        "uniform random": evaluate_episodes(UniformRandomPolicy(), scenario, args.eval_towns),
        "PPO after epoch 1": evaluate_episodes(snapshot.policy, scenario, args.eval_towns),
        "PPO at the end": evaluate_episodes(final_policy, scenario, args.eval_towns),
    }
    print(
        f"trained {snapshot.agent_steps} agent-steps in {cpu_seconds / 60:.1f} CPU-minutes "
        f"({throughput:,.0f} agent-steps/s end to end, rollout and update included)"
    )
    for name, score in scores.items():
        print(
            f"{name:>18}: episode return {score['episode_return']:9.3f}   "
            f"length {score['episode_length']:6.1f}"
        )
    final = scores["PPO at the end"]["episode_return"]
    learned = (
        final > scores["uniform random"]["episode_return"]
        and final > scores["PPO after epoch 1"]["episode_return"]
    )
    print(
        "learning works: the trained policy beats both references"
        if learned
        else "NOT LEARNING: the trained policy does not beat both references"
    )


if __name__ == "__main__":
    main()
