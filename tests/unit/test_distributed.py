"""townlet.distributed: the rank a launcher announced, and the per-epoch gathers over gloo."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from omegaconf import OmegaConf

from townlet.distributed import gather_from_ranks, process_rank, sum_across_ranks
from townlet.run_folder import register_resolvers

RANK_KEYS = ("RANK", "LOCAL_RANK", "SLURM_PROCID")


@pytest.fixture()
def no_rank(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in RANK_KEYS:
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_process_rank_reads_the_launchers_variables_in_lightnings_order(
    no_rank: pytest.MonkeyPatch,
) -> None:
    assert process_rank() == 0
    no_rank.setenv("SLURM_PROCID", "5")
    assert process_rank() == 5
    no_rank.setenv("LOCAL_RANK", "1")  # Lightning's launcher: before SLURM_PROCID
    assert process_rank() == 1
    no_rank.setenv("RANK", "3")  # torchrun's global rank comes first
    assert process_rank() == 3


def test_only_rank_zero_writes_the_composed_config(no_rank: pytest.MonkeyPatch) -> None:
    register_resolvers()
    node = OmegaConf.create({"output_subdir": "${config_subdir:}"})
    assert node.output_subdir == ".hydra"
    no_rank.setenv("RANK", "1")
    assert node.output_subdir is None


def test_single_process_gathers_are_the_identity() -> None:
    value = {"a": torch.arange(3)}
    assert gather_from_ranks(value) == [value]
    assert sum_across_ranks({"x": 2.0, "y": 1}) == {"x": 2.0, "y": 1.0}


def _rank_main(rank: int, port: int, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        # A uint64 tensor (the towns' RNG keys), which torch's own pickling does not load back
        # inside all_gather_object, a generator state, and a tensor sharing numpy's memory.
        state = {
            "key": torch.tensor([2**63 + rank], dtype=torch.uint64),
            "sampler": torch.Generator().manual_seed(rank).get_state(),
            "shared": torch.from_numpy(torch.full((2,), float(rank)).numpy()),
            "window": [rank * 1.0, 2.0],
        }
        parts = gather_from_ranks(state)
        counts = sum_across_ranks({"events": rank + 1.0} if rank else {"events": 1.0, "only0": 4})
        if rank == 0:
            expected = torch.Generator().manual_seed(1).get_state()
            ok = (
                parts[1]["key"].dtype == torch.uint64
                and parts[1]["key"].tolist() == [2**63 + 1]
                and torch.equal(parts[1]["sampler"], expected)
                and parts[1]["shared"].tolist() == [1.0, 1.0]
                and [part["window"] for part in parts] == [[0.0, 2.0], [1.0, 2.0]]
                and counts == {"events": 3.0, "only0": 4.0}
            )
            Path(out).write_text("ok" if ok else f"bad: {parts} {counts}")
    finally:
        dist.destroy_process_group()


def test_gathers_across_two_gloo_ranks(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "result.txt"
    env_before = dict(os.environ)
    mp.spawn(_rank_main, args=(port, str(out)), nprocs=2, join=True)
    assert dict(os.environ) == env_before
    assert out.read_text() == "ok"
