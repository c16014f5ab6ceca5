"""Does training make agents that live well? Train a town experiment on a CPU budget, then score.

Trains ``experiment=town_anneal`` (or ``--experiment town_ppo``) with torch pinned to one thread
until the schedule ends or ``--cpu-minutes`` of process CPU time are spent, then plays whole
3-day episodes in fresh towns (seeds far from training) and prints the charter KPI table
(DESIGN §13) for: a uniform-random policy, the scripted controller, the policy after its first
PPO epoch and the trained policy (sampled as in training, and greedy). The target: the trained
policy meets K1-K4 with 0 faints, earns more than the scripted controller and has at most half
its queue conflicts per agent-day.

    python scripts/bench/learning_town.py [--cpu-minutes 10] [--eval-towns 16] [overrides ...]
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
from omegaconf import OmegaConf  # noqa: E402

from townlet.cli import quiet_library_logs  # noqa: E402
from townlet.compose import compose_train_config  # noqa: E402
from townlet.policy.episodes import play_episodes  # noqa: E402
from townlet.policy.evaluate import NetworkProbe  # noqa: E402
from townlet.policy.probes import make_probe  # noqa: E402
from townlet.policy.scorecard import format_table, targets_line, targets_met  # noqa: E402
from townlet.sim import scenario_from_dict  # noqa: E402
from townlet.strategies.orchestrator import TrainingOrchestrator  # noqa: E402


class BudgetAndSnapshot(L.Callback):
    """Stops every PPO fit once the CPU budget is spent; keeps the policy after PPO epoch 1."""

    def __init__(self, cpu_seconds: float) -> None:
        self.cpu_seconds = cpu_seconds
        self.started = time.process_time()
        self.first_ppo: torch.nn.Module | None = None
        self.stage_steps: dict[int, int] = {}  # agent-steps of each PPO module (anneal stages)

    @property
    def agent_steps(self) -> int:
        return sum(self.stage_steps.values())

    def spent(self) -> float:
        return time.process_time() - self.started

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if getattr(pl_module, "record_kind", "ppo") != "ppo":
            return
        if self.first_ppo is None:
            self.first_ppo = copy.deepcopy(pl_module.policy).eval()  # type: ignore[arg-type]
        self.stage_steps[id(pl_module)] = int(pl_module.agent_steps)  # type: ignore[arg-type]
        if self.spent() > self.cpu_seconds:
            trainer.should_stop = True


def train(experiment: str, overrides: list[str], run_dir: Path, budget: BudgetAndSnapshot) -> Any:
    """Run the experiment with the budget callback added to every stage; returns the config."""
    cfg = compose_train_config(
        run_dir,
        [
            f"experiment={experiment}",
            "logger=none",
            "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
            "trainer.max_epochs=100000",  # town_ppo: the CPU budget ends it
            # anneal: a benchmark is no promotion candidate
            *(["strategy.promotion_state=null"] if "anneal" in experiment else []),
            *overrides,
        ],
    )

    # The budget callback joins every fit: the PPO run, or each stage of an anneal schedule.
    TrainingOrchestrator(cfg, extra_callbacks=[budget]).run()
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="town_anneal", help="town_anneal or town_ppo")
    parser.add_argument("--cpu-minutes", type=float, default=10.0, help="training CPU budget")
    parser.add_argument("--eval-towns", type=int, default=16, help="towns per evaluation")
    parser.add_argument("--eval-seed", type=int, default=1_000_003, help="evaluation seed")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args()
    quiet_library_logs()
    torch.set_num_threads(1)
    budget = BudgetAndSnapshot(args.cpu_minutes * 60)
    with tempfile.TemporaryDirectory() as tmp:
        wall = time.perf_counter()
        cfg = train(args.experiment, args.overrides, Path(tmp), budget)
        wall = time.perf_counter() - wall
        ckpt = Path(tmp) / "checkpoints" / "last.ckpt"
        final = torch.load(ckpt, map_location="cpu", weights_only=True)
    cpu_minutes = budget.spent() / 60
    scenario_raw = OmegaConf.to_container(cfg.scenario, resolve=True)
    scenario = scenario_from_dict(scenario_raw, name="town")  # type: ignore[arg-type]
    assert budget.first_ppo is not None, "training ended before its first PPO epoch"
    network = copy.deepcopy(budget.first_ppo)
    weights = {k[len("policy.") :]: v for k, v in final["state_dict"].items()}
    network.load_state_dict({k: v for k, v in weights.items() if k in network.state_dict()})
    network.eval()

    towns, seed = args.eval_towns, args.eval_seed
    rows = {
        "uniform random": play_episodes(scenario, make_probe("random"), towns, seed),
        "scripted": play_episodes(scenario, make_probe("scripted"), towns, seed),
        "after PPO epoch 1": play_episodes(
            scenario, NetworkProbe(budget.first_ppo, seed), towns, seed
        ),
        "trained (sampled)": play_episodes(scenario, NetworkProbe(network, seed), towns, seed),
        "trained (greedy)": play_episodes(
            scenario, NetworkProbe(network, seed, greedy=True), towns, seed
        ),
    }
    summaries = {name: report.summary() for name, report in rows.items()}
    print(
        f"{args.experiment}: {budget.agent_steps:,} PPO agent-steps in {cpu_minutes:.1f} "
        f"CPU-minutes on one torch thread ({wall / 60:.1f} wall minutes)"
    )
    print(f"evaluated on {towns} unseen towns (seed {seed}), one whole episode each")
    print(format_table(summaries))
    scripted = summaries["scripted"]
    for name in ("trained (sampled)", "trained (greedy)"):
        summary = summaries[name]
        print(targets_line(name, summary))
        all_met = all(targets_met(summary).values())
        richer = summary["episode_return"] > scripted["episode_return"]
        calmer = summary["conflicts_per_agent_day"] <= 0.5 * scripted["conflicts_per_agent_day"]
        verdict = "TARGET MET" if all_met and richer and calmer else "target missed"
        print(
            f"  {name}: return {summary['episode_return']:.2f} vs scripted "
            f"{scripted['episode_return']:.2f} ({'more' if richer else 'NOT more'}); "
            f"conflicts/agent-day {summary['conflicts_per_agent_day']:.3f} vs half of scripted "
            f"{0.5 * scripted['conflicts_per_agent_day']:.3f} ({'met' if calmer else 'MISSED'})"
            f" -> {verdict}"
        )


if __name__ == "__main__":
    main()
