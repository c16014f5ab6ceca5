"""Throughput of the vectorised town: agent-steps per second with hybrid observations built.

Runs the ``town`` scenario (8 agents per town) at several town counts with the scripted
controller choosing every action, and prints agent-steps/s (the median of ``--repeats`` timed
runs, with their range), peak memory and where the time goes per phase. Numbers are printed,
never asserted.

    python scripts/bench/sim_throughput.py [--towns 1 16 256] [--seconds 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from townlet.sim import TownVecEnv  # noqa: E402


def timed_run(env: TownVecEnv, seconds: float, timings: dict[str, float]) -> tuple[int, float]:
    """Step for about ``seconds``; returns (steps, elapsed) and adds per-phase seconds."""
    env.timings = {}
    steps, controller = 0, 0.0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        actions = env.scripted_actions()
        controller += time.perf_counter() - t0
        env.step(actions)
        steps += 1
    elapsed = time.perf_counter() - start
    for name, value in {"controller": controller, **env.timings}.items():
        timings[name] = timings.get(name, 0.0) + value
    return steps, elapsed


def run(towns: int, seconds: float, repeats: int, scenario: str) -> None:
    env = TownVecEnv(scenario, num_towns=towns, seed=0)
    env.reset()
    for _ in range(20):  # warm-up: caches, first allocations
        env.step(env.scripted_actions())
    timings: dict[str, float] = {}
    rates, per_step = [], []
    for _ in range(repeats):
        steps, elapsed = timed_run(env, seconds, timings)
        rates.append(steps * towns * env.num_agents / elapsed)
        per_step.append(1e3 * elapsed / steps)
    total = sum(timings.values())
    phases = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in timings.items())
    print(
        f"towns={towns:4d} agents/town={env.num_agents} "
        f"agent-steps/s={statistics.median(rates):12,.0f}  "
        f"({statistics.median(per_step):.3f} ms/step; "
        f"{repeats} runs: {min(rates):,.0f} .. {max(rates):,.0f})"
    )
    print(f"    time per phase: {phases}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", type=int, nargs="+", default=[1, 16, 256])
    parser.add_argument("--seconds", type=float, default=3.0, help="per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per town count")
    parser.add_argument("--scenario", default="town")
    args = parser.parse_args()
    for towns in args.towns:
        run(towns, args.seconds, max(1, args.repeats), args.scenario)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
