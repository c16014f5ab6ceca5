"""Pick the Trainer's accelerator and devices from the ``device`` config group (DESIGN §4)."""

from __future__ import annotations

import logging
from typing import Any

import torch

from townlet.config.models import DeviceConfig
from townlet.errors import ConfigError

log = logging.getLogger(__name__)


def cuda_device_with_most_free_memory() -> int | None:
    """Index of the visible CUDA device with the most free memory, or None without CUDA."""
    if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        return None
    free = [torch.cuda.mem_get_info(index)[0] for index in range(torch.cuda.device_count())]
    return max(range(len(free)), key=free.__getitem__)


def trainer_device_kwargs(device: DeviceConfig) -> dict[str, Any]:
    """accelerator/devices/strategy/precision for ``lightning.Trainer``, with the choice logged."""
    kwargs: dict[str, Any] = {
        "accelerator": device.accelerator,
        "devices": device.devices,
        "strategy": device.strategy,
        "precision": device.precision,
    }
    wants_gpu = device.accelerator in ("gpu", "cuda")
    if device.accelerator == "auto" or (wants_gpu and device.devices == 1):
        best = cuda_device_with_most_free_memory()
        if best is None:
            if wants_gpu:
                raise ConfigError(f"device={device.name} — CUDA is not available on this machine")
            kwargs.update(accelerator="cpu", devices=1)
            log.info("device=%s: no CUDA device found, training on CPU", device.name)
        else:
            kwargs.update(accelerator="gpu", devices=[best])
            free_gib = torch.cuda.mem_get_info(best)[0] / 2**30
            log.info(
                "device=%s: training on cuda:%d (%s, %.1f GiB free, the most of %d device(s))",
                device.name,
                best,
                torch.cuda.get_device_name(best),
                free_gib,
                torch.cuda.device_count(),
            )
    return kwargs
