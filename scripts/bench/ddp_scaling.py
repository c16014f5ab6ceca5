"""End-to-end training throughput: one process against ``device=ddp_sim`` (2 CPU ranks).

Trains ``experiment=town_ppo`` (or ``--experiment``) through the command line, as a user would,
once in one process (``device=cpu``) and once with ``device=ddp_sim``, alternating the two for
``--rounds`` rounds so that a noisy machine disturbs both alike. Each rank collects its own 64
towns, so a DDP epoch holds twice the agent-steps; the figure compared is agent-steps per second
of wall time (telemetry's ``fps``: every rank's transitions over rank 0's epoch duration),
median over the epochs after the first (warm-up). Both runs pin torch to ``--threads`` threads
per process. Then it prints where one epoch of the single process goes (simulation,
observations, policy forward, PPO update), from ``epoch_profile.py``.

Targets (issue 11): the 2-process figure reaches 1.6x the 1-process figure on a 2-core machine,
and the 1-process figure reaches 45,000 agent-steps/s on a quiet machine. Printed, not asserted.

    python scripts/bench/ddp_scaling.py [--epochs 6] [--rounds 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QUIET = (
    "logger=none",
    "callbacks.model_checkpoint=null",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
)


def repo_env() -> dict[str, str]:
    """This environment with the repo first on PYTHONPATH (keeping what is already there)."""
    paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_fps(device: str, experiment: str, epochs: int, threads: int, folder: Path) -> list[float]:
    """Train through the CLI; the telemetry fps of every epoch after the first."""
    command = [
        sys.executable,
        "-m",
        "townlet.train",
        f"experiment={experiment}",
        f"device={device}",
        f"device.torch_threads={threads}",
        f"trainer.max_epochs={epochs}",
        f"hydra.run.dir={folder}",
        *QUIET,
    ]
    done = subprocess.run(command, env=repo_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{device} run failed ({done.returncode}): {done.stderr[-2000:]}")
    records = [json.loads(line) for line in (folder / "telemetry.ndjson").open()]
    return [float(record["fps"]) for record in records[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="town_ppo")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per run (first is warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating 1-process/DDP rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--no-profile", action="store_true", help="skip the epoch breakdown")
    args = parser.parse_args()
    print(f"{args.experiment}: {args.epochs} epochs per run, {args.rounds} rounds, ", end="")
    print(f"torch threads {args.threads} per process, {os.cpu_count()} cores here")
    single: list[float] = []
    ddp: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            one = run_fps(
                "cpu", args.experiment, args.epochs, args.threads, Path(tmp) / f"1p{round_}"
            )
            two = run_fps(
                "ddp_sim", args.experiment, args.epochs, args.threads, Path(tmp) / f"2p{round_}"
            )
            single += one
            ddp += two
            ratio = statistics.median(two) / statistics.median(one)
            print(
                f"round {round_ + 1}: 1 process {statistics.median(one):9,.0f}  "
                f"ddp_sim 2 processes {statistics.median(two):9,.0f}  agent-steps/s  "
                f"ratio {ratio:.2f}x"
            )
    one_fps, two_fps = statistics.median(single), statistics.median(ddp)
    print(f"\n{'run':<24}{'agent-steps/s':>14}{'vs 1 process':>14}")
    print(f"{'1 process (cpu)':<24}{one_fps:>14,.0f}{1.0:>13.2f}x")
    print(f"{'ddp_sim, 2 processes':<24}{two_fps:>14,.0f}{two_fps / one_fps:>13.2f}x")
    print(f"target: ddp_sim >= 1.60x the 1-process figure; measured {two_fps / one_fps:.2f}x")
    print(f"target: 1 process >= 45,000 agent-steps/s on a quiet machine; measured {one_fps:,.0f}")
    if not args.no_profile:
        print("\nwhere one epoch of the 1-process run goes (scripts/bench/epoch_profile.py):")
        profile = [sys.executable, str(REPO / "scripts/bench/epoch_profile.py")]
        profile += ["--epochs", "3", "--threads", str(args.threads)]
        subprocess.run(profile, check=True, env=repo_env())


if __name__ == "__main__":
    main()
