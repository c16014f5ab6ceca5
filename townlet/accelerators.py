"""Pick the Trainer's accelerator and devices from the ``device`` config group (DESIGN §4).

This module imports torch, so only code that runs after validation imports it; the torch-free
layout check of the same settings is :mod:`townlet.process_layout`.
"""

from __future__ import annotations

import logging
import os
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


def apply_torch_threads(threads: int) -> int:
    """Pin torch's intra-op threads for this process (0 keeps torch's default); returns it.

    Every process calls this: training, each DDP rank and launcher worker, capture and
    evaluate. Small networks and per-tick forwards gain little from more threads, and lose badly
    when threads wait on cores that other processes hold (DESIGN §5, docs/scaling.md).
    ``OMP_NUM_THREADS`` is set too: Lightning's DDP launcher otherwise re-pins every rank to
    cores / ranks when it starts, after this, and the ranks it starts inherit the variable.
    """
    if threads > 0:
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
    count = torch.get_num_threads()
    log.info("torch threads: %d per process (device.torch_threads=%d)", count, threads)
    return count
