"""PPO update throughput: Lightning (default logger, callbacks, progress bar) vs a plain torch loop.

Both sides run the same minibatch updates (GAE once, 4 passes x 8 minibatches) on the same network
and the same 8192-transition batch, in this process, with torch pinned to one thread. Prints the
throughput ratio (target >= 0.9) and the telemetry callback's share of epoch time (target < 2%).

    python scripts/bench/ppo_update.py [--epochs 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import lightning as L  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from townlet.cli import quiet_library_logs  # noqa: E402
from townlet.compose import CONF_DIR  # noqa: E402
from townlet.config import validate_train_config  # noqa: E402
from townlet.policy.conflict_aware import ConflictAwarePolicy  # noqa: E402
from townlet.strategies import losses  # noqa: E402
from townlet.strategies.builders import build_callbacks, build_loggers, build_trainer  # noqa: E402
from townlet.strategies.ppo import PPOModule  # noqa: E402
from townlet.telemetry.callback import TelemetryCallback  # noqa: E402

ENVS, STEPS, FEATURES, ACTIONS = 256, 32, 81, 12
MAP_SHAPE = (4, 11, 11)
STRATEGY = {"num_epochs": 4, "num_mini_batches": 8, "mini_batch_size": 1024}


def make_batch(seed: int = 0) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    names = [f"f{i}" for i in range(FEATURES - 2)] + ["rivalry_max", "rivalry_avoid_count"]
    return {
        "map": torch.rand(ENVS, STEPS, *MAP_SHAPE, generator=g),
        "features": torch.rand(ENVS, STEPS, FEATURES, generator=g),
        "actions": torch.randint(0, ACTIONS, (ENVS, STEPS), generator=g),
        "old_log_probs": torch.full((ENVS, STEPS), -2.4849),
        "value_preds": torch.randn(ENVS, STEPS + 1, generator=g) * 0.1,
        "rewards": torch.randn(ENVS, STEPS, generator=g) * 0.1,
        "dones": torch.rand(ENVS, STEPS, generator=g) < 0.02,
        "dataset": "bench",
        "batch_index": 0,
        "_names": names,
    }


def raw_epoch_seconds(batch: dict[str, Any], epochs: int) -> list[float]:
    """The reference: the same updates as PPOModule, written as a bare loop."""
    torch.manual_seed(0)
    policy = ConflictAwarePolicy(MAP_SHAPE, FEATURES, ACTIONS)
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-4, eps=1e-5)
    generator = torch.Generator().manual_seed(0)
    flat = {k: batch[k].flatten(0, 1) for k in ("map", "features", "actions", "old_log_probs")}
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        with torch.no_grad():
            adv = losses.generalized_advantage_estimate(
                batch["rewards"], batch["value_preds"], batch["dones"], 0.99, 0.95
            )
            returns = losses.returns_from_advantages(adv, batch["value_preds"]).reshape(-1)
        old_values = batch["value_preds"][:, :STEPS].reshape(-1)
        norm_adv, _ = losses.normalize_advantages(adv.reshape(-1))
        size, _ = losses.minibatch_plan(norm_adv.numel(), 1024, 8)
        for _ in range(STRATEGY["num_epochs"]):
            for idx in losses.minibatch_indices(norm_adv.numel(), size, generator):
                logp, entropy, values = policy.evaluate_actions(
                    flat["map"][idx], flat["features"][idx], flat["actions"][idx]
                )
                ratio = losses.probability_ratio(logp, flat["old_log_probs"][idx])
                loss = losses.ppo_total_loss(
                    losses.clipped_surrogate_loss(ratio, norm_adv[idx], 0.2),
                    losses.clipped_value_loss(values, old_values[idx], returns[idx], 0.2),
                    entropy.mean(),
                    0.5,
                    0.01,
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
                optimizer.step()
        times.append(time.perf_counter() - start)
    return times


class FixedBatchData(L.LightningDataModule):
    """One dataset batch per epoch, already in memory: measures the update, not the loading."""

    data_mode = "replay"
    baseline_metrics: dict[str, float] = {}

    def __init__(self, batch: dict[str, Any]) -> None:
        super().__init__()
        self.batch = {k: v for k, v in batch.items() if not k.startswith("_")}

    def train_dataloader(self) -> DataLoader[Any]:
        return DataLoader([self.batch], batch_size=None)  # type: ignore[arg-type]


class EpochClock(L.Callback):
    """Epoch start times; the gaps include every end-of-epoch hook (telemetry, checkpoint)."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.starts.append(time.perf_counter())

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.starts.append(time.perf_counter())


class TimedTelemetry(TelemetryCallback):
    """The real telemetry callback, timing its own epoch-end work."""

    seconds: list[float]

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        start = time.perf_counter()
        super().on_train_epoch_end(trainer, pl_module)
        self.seconds = [*getattr(self, "seconds", []), time.perf_counter() - start]


def lightning_epoch_seconds(
    batch: dict[str, Any], epochs: int, out: Path
) -> tuple[list[float], list[float]]:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[f"paths.output_dir={out}", f"trainer.max_epochs={epochs}", "device=cpu"],
        )
    raw: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    config = validate_train_config(raw)
    callbacks = build_callbacks(config)
    telemetry = next(c for c in callbacks if isinstance(c, TelemetryCallback))
    timed = TimedTelemetry(str(out / "telemetry.ndjson"))
    clock = EpochClock()
    callbacks = [clock, timed, *(c for c in callbacks if c is not telemetry)]
    trainer = build_trainer(config, callbacks, build_loggers(config), datamodule=None)
    torch.manual_seed(0)
    module = PPOModule(
        strategy={**config.strategy.model_dump(), **STRATEGY},
        policy=config.policy.model_dump(),
        map_shape=list(MAP_SHAPE),
        feature_dim=FEATURES,
        action_dim=ACTIONS,
        feature_names=batch["_names"],
    )
    trainer.fit(module, datamodule=FixedBatchData(batch))
    gaps = [b - a for a, b in zip(clock.starts, clock.starts[1:], strict=False)]
    return gaps, timed.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=6, help="epochs per measurement (first is warm-up)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="alternating raw/Lightning rounds")
    args = parser.parse_args()
    quiet_library_logs()
    torch.set_num_threads(1)
    batch = make_batch()
    raw_times: list[float] = []
    pl_times: list[float] = []
    telemetry_share: list[float] = []
    for round_index in range(args.rounds):
        raw_times += raw_epoch_seconds(batch, args.epochs)[1:]
        with tempfile.TemporaryDirectory() as tmp:
            gaps, tele = lightning_epoch_seconds(batch, args.epochs, Path(tmp) / f"r{round_index}")
        pl_times += gaps[1:]
        telemetry_share += [t / g for t, g in zip(tele[1:], gaps[1:], strict=False)]
    transitions = ENVS * STEPS
    raw_tps = transitions / statistics.median(raw_times)
    pl_tps = transitions / statistics.median(pl_times)
    print(
        f"batch: {transitions} transitions, {STRATEGY['num_epochs']} epochs x "
        f"{STRATEGY['num_mini_batches']} minibatches, torch threads: {torch.get_num_threads()}"
    )
    print(f"plain torch loop:   {raw_tps:10.0f} transitions/s (median of {len(raw_times)} epochs)")
    print(f"Lightning PPOModule:{pl_tps:10.0f} transitions/s (median of {len(pl_times)} epochs)")
    print(f"throughput ratio Lightning/raw: {pl_tps / raw_tps:.3f}  (target >= 0.9)")
    print(
        f"telemetry callback share of epoch time: {100 * statistics.median(telemetry_share):.2f}%"
        "  (target < 2%)"
    )


if __name__ == "__main__":
    main()
