"""What one process of a multi-process run needs to know about the others (DESIGN §5).

Lightning's DDP launches the ranks and all-reduces the gradients; townlet only has to agree on a
few plain values per epoch (counts, event counters, episode windows), so every rank can compute
the same telemetry record and rank 0 writes it once. Values travel as Python objects with
``all_gather_object``: a few hundred bytes per epoch, on gloo (CPU) or NCCL alike.

Without a process group every helper is the identity, so single-process runs take the same
code path with no communication at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# The variables a launcher sets, in the order Lightning reads them (lightning.fabric's _get_rank):
# torchrun sets RANK, Lightning's own launcher LOCAL_RANK, SLURM sets SLURM_PROCID.
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID")


def process_rank() -> int:
    """This process's global rank as its launcher announced it; 0 for a plain process.

    Read from the environment, so it is known before Lightning (or torch) is imported: the run
    folder is claimed, and result.json written, by rank 0 alone.
    """
    for key in RANK_VARIABLES:
        value = os.environ.get(key)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def world_size() -> int:
    """Processes in the current process group; 1 without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return int(dist.get_world_size())
    return 1


def gather_from_ranks(value: T) -> list[T]:
    """Every rank's ``value``, in rank order, on every rank; ``[value]`` in a single process.

    A collective: every rank must call it at the same point, the same number of times.
    """
    import torch.distributed as dist

    if world_size() == 1:
        return [value]
    gathered: list[Any] = [None] * world_size()
    dist.all_gather_object(gathered, _tensors_as(value, to_numpy=True))
    return [_tensors_as(part, to_numpy=False) for part in gathered]


def _tensors_as(value: Any, to_numpy: bool) -> Any:
    """``value`` with every tensor as a numpy array (or back). Tensors travel as arrays: torch's
    own pickling of uint64 tensors (the towns' RNG keys) does not load back inside
    ``all_gather_object``."""
    import numpy as np
    import torch

    if to_numpy and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if not to_numpy and isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, dict):
        return {key: _tensors_as(item, to_numpy) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_tensors_as(item, to_numpy) for item in value)
    return value


def sum_across_ranks(counts: Mapping[str, float]) -> dict[str, float]:
    """Key-wise sums of every rank's counters (a key one rank lacks counts as 0 there)."""
    total: dict[str, float] = {}
    for part in gather_from_ranks(dict(counts)):
        for key, value in part.items():
            total[key] = total.get(key, 0.0) + float(value)
    return total
