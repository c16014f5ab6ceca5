"""Per-epoch PPO statistics: collected as tensors, turned into floats once per epoch.

Keeping every per-minibatch value as a detached tensor avoids a host sync in the minibatch loop;
the one ``.tolist()`` per epoch in :meth:`EpochStats.summary` is the only sync.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from townlet.distributed import gather_from_ranks
from townlet.strategies.losses import ADV_EPS, explained_variance_from_sums, pearson_from_sums

MINIBATCH_KEYS = (
    "loss_policy",
    "loss_value",
    "loss_entropy",
    "loss_total",
    "kl_divergence",
    "approx_kl",
    "clip_fraction",
    "grad_norm",
    "adv_mean",
    "adv_std",
)
# The conflict features' mean and max per batch, reported as their epoch means, conflict.<name>_avg.
CONFLICT_COLUMNS = (
    "rivalry_max_mean",
    "rivalry_max_max",
    "rivalry_avoid_count_mean",
    "rivalry_avoid_count_max",
)
# One row per dataset batch: the raw advantage std, whether it was ~0, and the conflict columns.
BATCH_COLUMNS = ("adv_raw_std", "adv_zero_std", *CONFLICT_COLUMNS)
# Running sums for Pearson(reward r, advantage a) and the explained variance of returns R by the
# old values V: n, sum r, sum a, sum r^2, sum a^2, sum r*a, sum R, sum R^2, sum R-V, sum (R-V)^2.
SUM_COLUMNS = ("n", "r", "a", "rr", "aa", "ra", "ret", "ret_sq", "res", "res_sq")


class EpochStats:
    """Accumulates one training epoch of PPO statistics."""

    def __init__(self, rivalry_index: int, avoid_index: int) -> None:
        self.rivalry_index = rivalry_index
        self.avoid_index = avoid_index
        self.reset()

    def reset(self) -> None:
        self.minibatches: list[Tensor] = []
        self.batch_rows: list[Tensor] = []
        self.sums: Tensor | None = None
        self.episode_returns: list[Tensor] = []
        self.episode_lengths: list[Tensor] = []
        self.transitions = 0

    def add_batch(
        self,
        rewards: Tensor,
        advantages: Tensor,
        raw_advantage_std: Tensor,
        returns: Tensor,
        old_values: Tensor,
        features: Tensor,
    ) -> None:
        """Per dataset batch: flat [N] tensors, except ``features`` [N, F]."""
        self.transitions += int(rewards.numel())
        rivalry = features[:, self.rivalry_index]
        avoid = features[:, self.avoid_index]
        row = {
            "adv_raw_std": raw_advantage_std,
            "adv_zero_std": (raw_advantage_std < ADV_EPS).to(raw_advantage_std.dtype),
            "rivalry_max_mean": rivalry.mean(),
            "rivalry_max_max": rivalry.max(),
            "rivalry_avoid_count_mean": avoid.mean(),
            "rivalry_avoid_count_max": avoid.max(),
        }
        self.batch_rows.append(torch.stack([row[key] for key in BATCH_COLUMNS]).detach())
        r, a = rewards.double(), advantages.double()
        residual = (returns - old_values).double()
        sums = {
            "n": torch.tensor(float(r.numel()), dtype=torch.float64, device=r.device),
            "r": r.sum(),
            "a": a.sum(),
            "rr": (r * r).sum(),
            "aa": (a * a).sum(),
            "ra": (r * a).sum(),
            "ret": returns.double().sum(),
            "ret_sq": (returns.double() ** 2).sum(),
            "res": residual.sum(),
            "res_sq": (residual**2).sum(),
        }
        batch_sums = torch.stack([sums[key] for key in SUM_COLUMNS]).detach()
        self.sums = batch_sums if self.sums is None else self.sums + batch_sums

    def add_episodes(self, rewards: Tensor, dones: Tensor) -> None:
        """Returns and lengths of episodes that end inside a [B, T] batch.

        An episode is counted from the start of its row (or the previous done) to its done, so
        one that began before the sample starts is counted from the sample's first step. These
        are the episode statistics of recorded data; a live data source follows its episodes
        across collections and reports its own, which the telemetry record prefers
        (``townlet.telemetry.callback.merge_epoch_metrics``).
        """
        steps = rewards.shape[-1]
        done_int = dones.long()
        episode = done_int.cumsum(-1) - done_int  # the done step belongs to its own episode
        ids = (
            torch.arange(rewards.shape[0], device=rewards.device).unsqueeze(-1) * (steps + 1)
            + episode
        ).reshape(-1)
        slots = rewards.shape[0] * (steps + 1)
        sums = torch.zeros(slots, dtype=torch.float64, device=rewards.device)
        sums.scatter_add_(0, ids, rewards.reshape(-1).double())
        counts = torch.zeros(slots, dtype=torch.float64, device=rewards.device)
        counts.scatter_add_(0, ids, torch.ones_like(sums[: ids.numel()]))
        finished = ids[dones.reshape(-1)]
        self.episode_returns.append(sums[finished].detach())
        self.episode_lengths.append(counts[finished].detach())

    def add_minibatch(self, **values: Tensor) -> None:
        """One update's scalars, in MINIBATCH_KEYS order."""
        self.minibatches.append(
            torch.stack([values[key].detach().float() for key in MINIBATCH_KEYS])
        )

    def tables(self) -> dict[str, Any]:
        """This process's epoch as CPU tensors (empty ones where nothing was added)."""
        return {
            "minibatches": _rows(self.minibatches, len(MINIBATCH_KEYS)),
            "batch_rows": _rows(self.batch_rows, len(BATCH_COLUMNS)),
            "sums": None if self.sums is None else self.sums.cpu(),
            "episode_returns": _cat(self.episode_returns),
            "episode_lengths": _cat(self.episode_lengths),
            "transitions": self.transitions,
        }

    def summary(self) -> dict[str, float]:
        """The epoch's PPO telemetry keys as floats (DESIGN §7.1).

        Under DDP every rank's tables are merged first, so the figures are those of one process
        that saw every rank's batches: means and maxima over all minibatches, sums of counts.
        ``updates`` counts optimiser steps, which the ranks take together.
        """
        parts = gather_from_ranks(self.tables())
        minibatches = torch.cat([part["minibatches"] for part in parts])
        batch_rows = torch.cat([part["batch_rows"] for part in parts])
        out: dict[str, float] = {
            "updates": float(max(len(part["minibatches"]) for part in parts)),
            "transitions": float(sum(part["transitions"] for part in parts)),
        }
        if len(minibatches):
            out.update(_minibatch_summary(minibatches.double()))
        if len(batch_rows):
            out.update(_batch_summary(batch_rows.double()))
        rank_sums = [part["sums"] for part in parts if part["sums"] is not None]
        if rank_sums:
            total = torch.stack(rank_sums).sum(dim=0)
            sums = dict(zip(SUM_COLUMNS, total.tolist(), strict=True))
            out["reward_advantage_corr"] = pearson_from_sums(
                sums["n"], sums["r"], sums["a"], sums["rr"], sums["aa"], sums["ra"]
            )
            out["explained_variance"] = explained_variance_from_sums(
                sums["n"], sums["ret"], sums["ret_sq"], sums["res"], sums["res_sq"]
            )
        returns = torch.cat([part["episode_returns"] for part in parts])
        lengths = torch.cat([part["episode_lengths"] for part in parts])
        if returns.numel():  # like SB3: no finished episode, no episode statistics
            out.update(ep_rew_mean=float(returns.mean()), ep_len_mean=float(lengths.mean()))
        return out


def _rows(rows: list[Tensor], width: int) -> Tensor:
    """Per-step rows stacked into one [N, width] CPU tensor; [0, width] when there are none."""
    return torch.stack(rows).cpu() if rows else torch.zeros(0, width)


def _cat(parts: list[Tensor]) -> Tensor:
    return torch.cat(parts).cpu() if parts else torch.zeros(0, dtype=torch.float64)


def _minibatch_summary(table: Tensor) -> dict[str, float]:
    column = dict(zip(MINIBATCH_KEYS, table.unbind(dim=1), strict=True))
    out = {key: float(column[key].mean()) for key in MINIBATCH_KEYS}
    clip, entropy = column["clip_fraction"], column["loss_entropy"]
    out.update(
        clip_fraction_max=float(clip.max()),
        clip_triggered_minibatches=float((clip > 0).sum()),
        grad_norm_max=float(column["grad_norm"].max()),
        kl_divergence_max=float(column["kl_divergence"].abs().max()),
        batch_entropy_mean=float(entropy.mean()),
        batch_entropy_std=float(entropy.std(unbiased=False)),
    )
    return out


def _batch_summary(rows: Tensor) -> dict[str, float]:
    column = dict(zip(BATCH_COLUMNS, rows.unbind(dim=1), strict=True))
    out = {
        "adv_min_std": float(column["adv_raw_std"].min()),
        "adv_zero_std_batches": float(column["adv_zero_std"].sum()),
    }
    for key in CONFLICT_COLUMNS:
        out[f"conflict.{key}_avg"] = float(column[key].mean())
    return out
