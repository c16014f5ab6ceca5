"""Per-epoch PPO statistics: collected as tensors, turned into floats once per epoch.

Keeping every per-minibatch value as a detached tensor avoids a host sync in the minibatch loop;
the one ``.tolist()`` per epoch in :meth:`EpochStats.summary` is the only sync.
"""

from __future__ import annotations

import torch
from torch import Tensor

from townlet.strategies.losses import ADV_EPS, pearson_from_sums

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
# Running sums for Pearson(reward, advantage) and explained variance:
# n, sum r, sum a, sum r^2, sum a^2, sum r*a, sum R, sum R^2, sum (R-V), sum (R-V)^2.
_SUMS = 10


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
        self.batch_rows.append(
            torch.stack(
                [
                    raw_advantage_std,
                    (raw_advantage_std < ADV_EPS).to(raw_advantage_std.dtype),
                    rivalry.mean(),
                    rivalry.max(),
                    avoid.mean(),
                    avoid.max(),
                ]
            ).detach()
        )
        r, a = rewards.double(), advantages.double()
        residual = (returns - old_values).double()
        batch_sums = torch.stack(
            [
                torch.tensor(float(r.numel()), dtype=torch.float64, device=r.device),
                r.sum(),
                a.sum(),
                (r * r).sum(),
                (a * a).sum(),
                (r * a).sum(),
                returns.double().sum(),
                (returns.double() ** 2).sum(),
                residual.sum(),
                (residual**2).sum(),
            ]
        ).detach()
        self.sums = batch_sums if self.sums is None else self.sums + batch_sums

    def add_episodes(self, rewards: Tensor, dones: Tensor) -> None:
        """Returns and lengths of episodes that end inside a [B, T] batch.

        An episode is counted from the start of its row (or the previous done) to its done, so
        one that began before the sample starts is counted from the sample's first step.
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

    def summary(self) -> dict[str, float]:
        """The epoch's PPO telemetry keys as floats (DESIGN §7.1)."""
        out: dict[str, float] = {
            "updates": float(len(self.minibatches)),
            "transitions": float(self.transitions),
        }
        if self.minibatches:
            table = torch.stack(self.minibatches).cpu().double()
            for column, key in enumerate(MINIBATCH_KEYS):
                out[key] = float(table[:, column].mean())
            clip, grad, kl = (
                table[:, MINIBATCH_KEYS.index(k)]
                for k in ("clip_fraction", "grad_norm", "kl_divergence")
            )
            entropy = table[:, MINIBATCH_KEYS.index("loss_entropy")]
            out.update(
                clip_fraction_max=float(clip.max()),
                clip_triggered_minibatches=float((clip > 0).sum()),
                grad_norm_max=float(grad.max()),
                kl_divergence_max=float(kl.abs().max()),
                batch_entropy_mean=float(entropy.mean()),
                batch_entropy_std=float(entropy.std(unbiased=False)),
            )
        if self.batch_rows:
            rows = torch.stack(self.batch_rows).cpu().double()
            out.update(
                adv_min_std=float(rows[:, 0].min()),
                adv_zero_std_batches=float(rows[:, 1].sum()),
            )
            for column, key in enumerate(
                (
                    "rivalry_max_mean",
                    "rivalry_max_max",
                    "rivalry_avoid_count_mean",
                    "rivalry_avoid_count_max",
                ),
                start=2,
            ):
                out[f"conflict.{key}_avg"] = float(rows[:, column].mean())
        if self.sums is not None:
            n, sr, sa, srr, saa, sra, s_ret, s_ret2, s_res, s_res2 = self.sums.cpu().tolist()
            out["reward_advantage_corr"] = pearson_from_sums(n, sr, sa, srr, saa, sra)
            var_returns = s_ret2 / n - (s_ret / n) ** 2
            var_residual = s_res2 / n - (s_res / n) ** 2
            out["explained_variance"] = (
                1.0 - var_residual / var_returns if var_returns > 1e-12 else 0.0
            )
        out.update(self._episode_summary())
        return out

    def _episode_summary(self) -> dict[str, float]:
        returns = torch.cat(self.episode_returns) if self.episode_returns else torch.zeros(0)
        if returns.numel() == 0:  # like SB3: no finished episode, no episode statistics
            return {}
        lengths = torch.cat(self.episode_lengths)
        return {"ep_rew_mean": float(returns.mean()), "ep_len_mean": float(lengths.mean())}
