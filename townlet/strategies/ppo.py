"""PPO as a LightningModule with manual optimisation (DESIGN §5, §6).

One ``training_step`` receives one dataset batch of [B, T] transitions, computes GAE once, then
runs ``num_epochs`` passes of shuffled minibatches over it. Lightning owns the loop, devices,
checkpoints and loggers; the maths lives in :mod:`townlet.strategies.losses`.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import lightning as L
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import Tensor

from townlet.config.models import PPOConfig
from townlet.distributed import gather_from_ranks
from townlet.policy.conflict_aware import ConflictAwarePolicy, build_policy
from townlet.strategies import losses
from townlet.strategies.ppo_recompute import StaleReplayCheck, recompute_old_policy
from townlet.strategies.ppo_stats import EpochStats

log = logging.getLogger(__name__)

FLAT_KEYS = ("map", "features", "actions", "old_log_probs", "action_mask")


class MinibatchLoss(NamedTuple):
    """One minibatch's loss and the terms and ratios its telemetry is computed from."""

    total: Tensor
    policy: Tensor
    value: Tensor
    entropy: Tensor  # mean entropy of the policy on the minibatch
    new_log_probs: Tensor
    ratio: Tensor


class PPOModule(L.LightningModule):
    """Proximal Policy Optimisation on dataset batches of whole trajectories."""

    # Constructor arguments that are objects rather than plain containers: not hyperparameters.
    unsaved_arguments: tuple[str, ...] = ("network",)

    def __init__(
        self,
        strategy: dict[str, Any],
        policy: dict[str, Any],
        map_shape: list[int],
        feature_dim: int,
        action_dim: int,
        feature_names: list[str],
        seed: int = 0,
        max_epochs: int = 1,
        network: ConflictAwarePolicy | None = None,
    ) -> None:
        super().__init__()
        # Plain containers only, so checkpoints load with torch.load(weights_only=True).
        self.save_hyperparameters(ignore=list(self.unsaved_arguments))
        self.automatic_optimization = False
        self.ppo = PPOConfig.model_validate(strategy)
        # Anneal hands one network from stage to stage; otherwise the module builds its own.
        self.policy = network or build_policy(policy, map_shape, feature_dim, action_dim)
        self.stats = EpochStats(
            rivalry_index=feature_names.index("rivalry_max"),
            avoid_index=feature_names.index("rivalry_avoid_count"),
        )
        # Environment steps are the x-axis (DESIGN §5); kept in the checkpoint.
        self.agent_steps = 0
        # A private generator makes minibatch order independent of anything else using torch RNG.
        self.minibatch_rng = torch.Generator().manual_seed(seed)
        # Warns once per run when replay data trains on another policy's log-probs.
        self.stale_replay = StaleReplayCheck()

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.ppo.learning_rate, eps=1e-5)
        if not self.ppo.lr_decay:
            return optimizer
        total = max(1, int(self.hparams["max_epochs"]))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: max(0.0, 1.0 - epoch / total)
        )
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def on_train_epoch_start(self) -> None:
        self.stats.reset()
        self.stale_replay.reset()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        dataset = str(batch.get("dataset", "<unnamed>"))
        batch_index = int(batch.get("batch_index", batch_idx))
        # Replay batches carry the flag (live rollouts do not): re-evaluated, pi_old and V_old are
        # the current policy's, so the first minibatch's ratio is 1 and the clip a trust region.
        recompute = batch.get("recompute_log_probs")
        if recompute:
            batch = recompute_old_policy(self.policy, batch, self.ppo.mini_batch_size)
        rewards, values, dones = batch["rewards"], batch["value_preds"], batch["dones"]
        losses.assert_finite(rewards, "rewards", dataset, batch_index)
        losses.assert_finite(values, "value predictions", dataset, batch_index)
        with torch.no_grad():
            # Live rollouts: a truncated episode bootstraps from V(final observation) here,
            # while ``dones`` stops the recursion for truncations and terminations alike.
            bootstrapped = rewards
            if "truncation_values" in batch:
                bootstrapped = rewards + self.ppo.gamma * batch["truncation_values"]
            advantages = losses.generalized_advantage_estimate(
                bootstrapped, values, dones, self.ppo.gamma, self.ppo.gae_lambda
            )
            returns = losses.returns_from_advantages(advantages, values)
        losses.assert_finite(advantages, "advantages", dataset, batch_index)
        losses.assert_finite(returns, "returns", dataset, batch_index)

        flat = {key: batch[key].flatten(0, 1) for key in FLAT_KEYS if key in batch}
        flat["rewards"] = rewards.reshape(-1)
        flat["old_values"] = values[..., : rewards.shape[-1]].reshape(-1)
        flat["advantages"] = advantages.reshape(-1)
        flat["returns"] = returns.reshape(-1)
        if "valid" in batch:  # drop the filler steps of agents already out of the episode
            valid = batch["valid"].reshape(-1)
            if not bool(valid.all()):  # copying every array costs time when nothing is dropped
                keep = valid.nonzero().squeeze(-1)
                flat = {key: value.index_select(0, keep) for key, value in flat.items()}
        raw_std = flat["advantages"].std(unbiased=False)
        if self.ppo.advantage_normalization:
            flat["advantages"], _ = losses.normalize_advantages(flat["advantages"])
        self.stats.add_batch(
            flat["rewards"],
            flat["advantages"],
            raw_std,
            flat["returns"],
            flat["old_values"],
            flat["features"],
        )
        if "valid" not in batch:
            # Replay episodes are seen only here; live rollouts report theirs from the collector,
            # which follows each episode across collections (see merge_epoch_metrics).
            self.stats.add_episodes(rewards, dones)
        first_row = len(self.stats.minibatches)
        self._update(flat)
        if recompute is False:  # replay trained on the recording policy's log-probs
            self.stale_replay.add(self.stats.minibatches[first_row:])
        # Environment steps of every rank: agent_steps is the run's x-axis, not one rank's share.
        self.agent_steps += sum(gather_from_ranks(int(flat["rewards"].numel())))

    def _update(self, flat: dict[str, Tensor]) -> None:
        """``num_epochs`` passes of clipped-surrogate minibatch updates over one batch."""
        optimizer = self.optimizers()
        assert isinstance(optimizer, LightningOptimizer)  # one optimiser, configured above
        count, device = flat["advantages"].numel(), flat["advantages"].device
        size, planned = losses.minibatch_plan(
            count, self.ppo.mini_batch_size, self.ppo.num_mini_batches
        )
        # DDP ranks all-reduce every backward, so they must step equally often; their batches can
        # differ in size (fainted agents' steps are dropped), so they agree on the most steps.
        parts = max(gather_from_ranks(planned))
        params = [p for p in self.policy.parameters() if p.requires_grad]
        for _ in range(self.ppo.num_epochs):
            for index in losses.minibatch_indices(count, size, self.minibatch_rng, parts):
                index = index.to(device, non_blocking=True)
                # index_select gathers rows several times faster than advanced indexing.
                minibatch = {key: value.index_select(0, index) for key, value in flat.items()}
                loss = self.minibatch_loss(minibatch)
                grad_norm = self._step(optimizer, loss.total, params)
                with torch.no_grad():
                    self._record_minibatch(minibatch, loss, grad_norm)

    def minibatch_loss(self, minibatch: dict[str, Tensor]) -> MinibatchLoss:
        """The PPO loss of one minibatch (DESIGN §6.2 step 4), with the terms telemetry reports."""
        hp = self.ppo
        new_log_probs, entropy, new_values = self.policy.evaluate_actions(
            minibatch["map"],
            minibatch["features"],
            minibatch["actions"],
            minibatch.get("action_mask"),
        )
        ratio = losses.probability_ratio(new_log_probs, minibatch["old_log_probs"])
        policy_loss = losses.clipped_surrogate_loss(ratio, minibatch["advantages"], hp.clip_param)
        value_loss = losses.clipped_value_loss(
            new_values, minibatch["old_values"], minibatch["returns"], hp.value_clip
        )
        mean_entropy = entropy.mean()
        total = losses.ppo_total_loss(
            policy_loss, value_loss, mean_entropy, hp.value_loss_coef, hp.entropy_coef
        )
        return MinibatchLoss(total, policy_loss, value_loss, mean_entropy, new_log_probs, ratio)

    def _step(
        self, optimizer: LightningOptimizer, loss: Tensor, params: list[torch.nn.Parameter]
    ) -> Tensor:
        """One optimiser step on ``loss``; returns the gradient norm measured before clipping."""
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        # Measured before clipping, and even when clipping is off (max_grad_norm = 0).
        grad_norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
        if self.ppo.max_grad_norm > 0:
            self.clip_gradients(
                optimizer.optimizer,
                gradient_clip_val=self.ppo.max_grad_norm,
                gradient_clip_algorithm="norm",
            )
        optimizer.step()
        return grad_norm

    def _record_minibatch(
        self, minibatch: dict[str, Tensor], loss: MinibatchLoss, grad_norm: Tensor
    ) -> None:
        """Add one minibatch update's numbers to the epoch's telemetry statistics."""
        old_log_probs, advantages = minibatch["old_log_probs"], minibatch["advantages"]
        self.stats.add_minibatch(
            loss_policy=loss.policy,
            loss_value=loss.value,
            loss_entropy=loss.entropy,
            loss_total=loss.total,
            kl_divergence=losses.approx_kl_old(loss.new_log_probs, old_log_probs),
            approx_kl=losses.approx_kl_k3(loss.ratio),
            clip_fraction=losses.clip_fraction(loss.ratio, self.ppo.clip_param),
            grad_norm=grad_norm,
            adv_mean=advantages.mean(),
            adv_std=advantages.std(unbiased=False),
        )

    def on_train_epoch_end(self) -> None:
        # This rank's replay minibatches suffice to spot the symptom; one rank says it.
        warning = self.stale_replay.check()
        if warning is not None and self.trainer.is_global_zero:
            log.warning(warning)
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()  # type: ignore[union-attr]

    def current_learning_rate(self) -> float:
        """The learning rate this epoch's updates used."""
        optimizer = self.optimizers()
        return float(optimizer.param_groups[0]["lr"])  # type: ignore[union-attr]

    def epoch_metrics(self) -> dict[str, float]:
        """This epoch's PPO telemetry values, read by the telemetry callback."""
        metrics = self.stats.summary()
        metrics["lr"] = self.current_learning_rate()
        metrics["agent_steps"] = float(self.agent_steps)
        metrics["optimizer_steps"] = float(self.trainer.global_step)
        return metrics

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["townlet"] = {
            "agent_steps": int(self.agent_steps),
            "minibatch_rng": self.minibatch_rng.get_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("townlet", {})
        self.agent_steps = int(state.get("agent_steps", 0))
        if "minibatch_rng" in state:
            self.minibatch_rng.set_state(state["minibatch_rng"])
