"""PPO on replay data recorded by another policy: re-evaluate it, or say that it was not.

A replay batch's ``old_log_probs`` and ``value_preds`` come from the policy that recorded it. PPO
reads them as pi_old and V_old, so on data recorded by another policy the ratio pi_new / pi_old is
far from 1 from the first minibatch on, and the clip acts as a wall, not a trust region around
the current policy. :func:`recompute_old_policy` re-evaluates both with the current policy
(``data.recompute_log_probs``, the default); :class:`StaleReplayCheck` warns once per run when it
is off and the epoch's telemetry shows the symptom.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from townlet.policy.conflict_aware import ConflictAwarePolicy
from townlet.strategies.ppo_stats import MINIBATCH_KEYS

# Above either mean, the epoch's updates are dominated by the gap to the recording policy.
STALE_APPROX_KL = 0.5
STALE_CLIP_FRACTION = 0.5


def recompute_old_policy(
    policy: ConflictAwarePolicy, batch: dict[str, Any], chunk_size: int
) -> dict[str, Any]:
    """``batch`` with ``old_log_probs`` and ``value_preds`` from ``policy`` (a new dict).

    The forward passes run under ``no_grad`` in chunks of ``chunk_size`` transitions, so memory
    stays that of one minibatch. ``value_preds`` keeps its width: with T+1 columns the last one
    bootstraps GAE from V(s_T), the state after the sample's last step, which the sample does not
    hold. The recorded V(s_T) is the recording critic's, on its own scale, and through
    gamma * lambda it would shift the advantages of the whole tail of the sample; so the current
    critic's V(s_{T-1}) stands in for it, keeping every value of the GAE from one critic. A
    sample that ends in a done never reads it (``dones`` cuts the bootstrap).
    """
    actions = batch["actions"]
    steps = actions.shape[-1]
    mask = batch.get("action_mask")
    inputs = [batch["map"], batch["features"], actions] + ([mask] if mask is not None else [])
    flat = [tensor.flatten(0, 1) for tensor in inputs]
    log_probs: list[Tensor] = []
    values: list[Tensor] = []
    with torch.no_grad():
        for chunk in zip(*(torch.split(t, max(1, chunk_size)) for t in flat), strict=True):
            chunk_log_probs, _, chunk_values = policy.evaluate_actions(*chunk)
            log_probs.append(chunk_log_probs)
            values.append(chunk_values)
    old_log_probs = torch.cat(log_probs).reshape(actions.shape)
    value_preds = torch.cat(values).reshape(actions.shape)
    recorded = batch["value_preds"]
    if recorded.shape[-1] == steps + 1:
        value_preds = torch.cat([value_preds, value_preds[..., -1:]], dim=-1)
    return {
        **batch,
        "old_log_probs": old_log_probs.to(batch["old_log_probs"].dtype),
        "value_preds": value_preds.to(recorded.dtype),
    }


class StaleReplayCheck:
    """Watches the minibatches of replay batches trained on their recorded log-probs.

    The module hands in the telemetry rows (``EpochStats.minibatches``, MINIBATCH_KEYS order) of
    such batches; at the epoch's end :meth:`check` compares their means with the thresholds and
    returns the warning once per run. Rows of recomputed or live batches never come here, so
    mixed data is judged by its replay batches alone.
    """

    def __init__(
        self, approx_kl: float = STALE_APPROX_KL, clip_fraction: float = STALE_CLIP_FRACTION
    ) -> None:
        self.approx_kl, self.clip_fraction = approx_kl, clip_fraction
        self.warned = False
        self.rows: list[Tensor] = []

    def reset(self) -> None:
        self.rows = []

    def add(self, rows: list[Tensor]) -> None:
        if not self.warned:
            self.rows.extend(rows)

    def check(self) -> str | None:
        """The warning for this epoch, if it is the first whose means pass a threshold."""
        if self.warned or not self.rows:
            return None
        table = torch.stack(self.rows).double().mean(dim=0).tolist()  # one host sync per epoch
        means = dict(zip(MINIBATCH_KEYS, table, strict=True))
        kl, clip = means["approx_kl"], means["clip_fraction"]
        if kl <= self.approx_kl and clip <= self.clip_fraction:
            return None
        self.warned = True
        return (
            f"PPO on replay data recorded by another policy: approx_kl={kl:.3f} "
            f"clip_fraction={clip:.3f} — the recorded old_log_probs are not this policy's, so the "
            "clip acts as a wall rather than a trust region; set data.recompute_log_probs=true "
            "(false only for data recorded by this very policy)"
        )


__all__ = ["StaleReplayCheck", "recompute_old_policy"]
