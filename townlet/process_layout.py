"""Which device settings start several training processes, and which of those townlet refuses.

Torch-free on purpose: :func:`townlet.train.train` checks the layout right after validation, and
a refused layout is a config error, which must print before torch and Lightning load (a config
error answers within seconds). Picking the Trainer's devices needs torch: that is
:mod:`townlet.accelerators`.
"""

from __future__ import annotations

from townlet.config.models import DeviceConfig, RolloutDataConfig, TrainConfig
from townlet.errors import ConfigError


def launches_processes(device: DeviceConfig, num_nodes: int = 1) -> bool:
    """Whether the device settings run several training processes (DDP ranks)."""
    indices = device.devices if isinstance(device.devices, list) else None
    several = len(indices) > 1 if indices is not None else str(device.devices) not in ("1", "0")
    return device.strategy.startswith("ddp") or num_nodes > 1 or several


def check_process_layout(config: TrainConfig, multirun: bool) -> None:
    """Refuse, in one line, the DDP runs townlet does not support (before any process starts).

    A multirun's jobs share the launching process (or a launcher's workers), which DDP's own
    launcher cannot re-run; DDP's ranks collect their own towns, so it needs live rollouts and
    PPO's reduced telemetry.
    """
    if not launches_processes(config.device, config.trainer.num_nodes):
        return
    device = f"device={config.device.name}"
    if multirun:
        raise ConfigError(
            f"{device} inside a multirun (-m) — DDP launches its own processes: run it as a "
            "single job, and sweep with device=cpu or device=gpu"
        )
    data = type(config.data).__name__.removesuffix("DataConfig").lower()
    if config.strategy.name != "ppo" or not isinstance(config.data, RolloutDataConfig):
        raise ConfigError(
            f"{device} with strategy={config.strategy.name} data={data} — DDP runs "
            "strategy=ppo on data=rollout (every rank collects its own towns)"
        )
