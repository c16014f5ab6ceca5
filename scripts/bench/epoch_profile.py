"""Where one PPO training epoch's time goes: simulation, observations, policy, update.

Runs ``experiment=town_ppo`` (or ``--experiment``) in this process for ``--epochs`` epochs with
torch pinned to ``--threads`` threads, timing the pieces of every rollout collection:

- simulation: ``TownEngine.tick`` (the rules, without observations),
- observations: the rest of ``TownVecEnv.step`` (maps, masks and features, mostly),
- policy: ``act`` (forward pass and action sampling) inside the collector,
- collector: the rest of ``RolloutCollector.collect`` (batch assembly, bookkeeping),
- update: the rest of the epoch, up to the next collection (PPO update, callbacks, Lightning).

Prints seconds per epoch and shares for each epoch after the first (warm-up), their median, and
the telemetry fps. Pieces are timed on the wall clock and on this thread's CPU clock, which a
busy machine disturbs less. Numbers are printed, never asserted.

    python scripts/bench/epoch_profile.py [--epochs 3] [--threads 1] [--run-dir /tmp/x]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import townlet.data.rollout_collector as collector_module  # noqa: E402
from townlet.compose import compose_train_config  # noqa: E402
from townlet.sim import TownVecEnv  # noqa: E402
from townlet.sim.engine import TownEngine  # noqa: E402
from townlet.train import train  # noqa: E402

PIECES = ("simulation", "observations", "policy", "collector", "update")
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}  # cpu: this thread's CPU time


class EpochClock:
    """Seconds per piece of each collection, on both clocks; a collection's ``epoch`` runs from
    its start to the next collection's start (or to the end of training)."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.collections: list[dict[str, float]] = []
        self.starts: list[dict[str, float]] = []

    def add(self, piece: str, seconds: dict[str, float]) -> None:
        for clock, value in seconds.items():
            key = f"{clock}:{piece}"
            self.current[key] = self.current.get(key, 0.0) + value

    def mark_start(self) -> None:
        self.starts.append({clock: read() for clock, read in CLOCKS.items()})


def timed(clock: EpochClock, piece: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` that adds its wall and CPU time to ``piece`` of the current collection."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = {name: read() for name, read in CLOCKS.items()}
        try:
            return function(*args, **kwargs)
        finally:
            clock.add(piece, {name: read() - start[name] for name, read in CLOCKS.items()})

    return wrapper


@contextmanager
def instrumented(clock: EpochClock) -> Iterator[None]:
    """Wrap the engine tick, the env step, ``act`` and ``collect`` with timers."""
    tick, step = TownEngine.tick, TownVecEnv.step
    act, collect = collector_module.act, collector_module.RolloutCollector.collect

    def collect_and_close(*args: Any, **kwargs: Any) -> Any:
        clock.mark_start()
        result = timed(clock, "collect_total", collect)(*args, **kwargs)
        clock.collections.append(clock.current)
        clock.current = {}
        return result

    TownEngine.tick = timed(clock, "simulation", tick)  # type: ignore[method-assign]
    TownVecEnv.step = timed(clock, "step_total", step)  # type: ignore[method-assign]
    collector_module.act = timed(clock, "policy", act)
    collector_module.RolloutCollector.collect = collect_and_close  # type: ignore[method-assign]
    try:
        yield
    finally:
        clock.mark_start()  # the end of the last epoch
        TownEngine.tick, TownVecEnv.step = tick, step  # type: ignore[method-assign]
        collector_module.act = act
        collector_module.RolloutCollector.collect = collect  # type: ignore[method-assign]


def breakdown(collection: dict[str, float], epoch_seconds: float, clock: str) -> dict[str, float]:
    """Seconds of each piece in ``PIECES`` for one epoch on ``clock``."""
    step = collection.get(f"{clock}:step_total", 0.0)
    simulation = collection.get(f"{clock}:simulation", 0.0)
    policy = collection.get(f"{clock}:policy", 0.0)
    collect = collection.get(f"{clock}:collect_total", 0.0)
    return {
        "simulation": simulation,
        "observations": step - simulation,
        "policy": policy,
        "collector": collect - step - policy,
        "update": epoch_seconds - collect,
    }


def print_table(title: str, rows: list[dict[str, float]], transitions: int) -> None:
    """One line per epoch (from the second), then the medians with shares."""
    print(title)
    for index, row in enumerate(rows, start=2):
        cells = "  ".join(f"{piece} {row[piece]:.3f}s" for piece in PIECES)
        total = sum(row.values())
        print(f"  epoch {index}: {cells}  total {total:.3f}s  ({transitions / total:,.0f}/s)")
    median = {piece: statistics.median(row[piece] for row in rows) for piece in PIECES}
    total = sum(median.values())
    cells = "  ".join(f"{p} {median[p]:.3f}s ({100 * median[p] / total:.0f}%)" for p in PIECES)
    print(f"  median: {cells}  total {total:.3f}s  ({transitions / total:,.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs; the first is warm-up")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--experiment", default="town_ppo")
    parser.add_argument("--run-dir", default=None, help="default: a fresh temporary folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="epoch_profile_")) / "run"
    overrides = [f"experiment={args.experiment}", f"trainer.max_epochs={max(2, args.epochs)}"]
    cfg = compose_train_config(run_dir, [*overrides, "logger=none"])
    clock = EpochClock()
    with instrumented(clock):
        train(cfg)
    records = [json.loads(line) for line in (run_dir / "telemetry.ndjson").open()]
    transitions = int(records[-1]["fps"] * records[-1]["epoch_duration_sec"] + 0.5)
    print(f"run folder: {run_dir}  torch threads: {torch.get_num_threads()}")
    for name in CLOCKS:
        epochs = [end[name] - start[name] for start, end in itertools.pairwise(clock.starts)]
        rows = [breakdown(c, e, name) for c, e in zip(clock.collections, epochs, strict=True)]
        print_table(f"{name} clock, seconds per epoch:", rows[1:], transitions)
    fps = [record["fps"] for record in records[1:]]
    print(f"telemetry fps (epochs 2..{len(records)}): {', '.join(f'{v:,.0f}' for v in fps)}")
    print(f"telemetry fps median: {statistics.median(fps):,.0f}")


if __name__ == "__main__":
    main()
