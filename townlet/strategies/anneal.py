"""The anneal stage runner: BC warm start handed to PPO behind guardrails (DESIGN §10).

Stages run in cycle order on one network, each as its own ``Trainer.fit``. One telemetry
callback spans them all, so epochs and stream counters continue from stage to stage; PPO records
carry the ``anneal_*`` keys. A BC stage below the accuracy threshold stops the run (FAIL); a PPO
stage whose loss drifts, or whose queue conflicts drop, against the previous PPO stage on the
same dataset is flagged (HOLD). The outcome is recorded in the promotion state file.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import lightning as L

from townlet.config.models import AnnealConfig, AnnealStage
from townlet.data.bc import BCDataModule
from townlet.data.replay import ReplayDataModule
from townlet.data.rollout import RolloutDataModule
from townlet.dto.anneal import AnnealStageResultDTO, AnnealSummaryDTO, stage_metrics_from_record
from townlet.errors import ConfigError
from townlet.promotion.guardrails import (
    BaselineTracker,
    anneal_status,
    bc_stage_passed,
    ppo_stage_flags,
)
from townlet.promotion.state import update_state
from townlet.strategies.builders import build_callbacks, build_module, build_trainer, scenario_of
from townlet.telemetry.callback import TelemetryCallback

if TYPE_CHECKING:
    from townlet.strategies.orchestrator import TrainingOrchestrator

log = logging.getLogger(__name__)


class AnnealRunner:
    """Runs one anneal schedule for a :class:`TrainingOrchestrator`."""

    def __init__(self, orchestrator: TrainingOrchestrator) -> None:
        self.orch = orchestrator
        strategy = orchestrator.config.strategy
        assert isinstance(strategy, AnnealConfig)
        self.anneal = strategy
        self.tracker = BaselineTracker()
        self.network: Any = None
        self.telemetry: TelemetryCallback | None = None
        self.bc_accuracy: float | None = None
        self._experts: dict[str, BCDataModule] = {}

    # -- data ------------------------------------------------------------------------------
    def expert(self, dataset: str) -> BCDataModule:
        """Expert transitions of a stage's dataset: the scripted capture or a manifest."""
        if dataset not in self._experts:
            manifest = None if dataset in ("capture", "rollout") else dataset
            if manifest is None:
                manifest = self.orch.expert_manifest(self.anneal.bc)
            self._experts[dataset] = self.orch.bc_datamodule(self.anneal.bc, manifest)
        return self._experts[dataset]

    def ppo_data(self, dataset: str) -> L.LightningDataModule:
        """Live rollouts of the scenario, or replay of the capture or a manifest."""
        config = self.orch.config
        if dataset == "rollout":
            scenario, name = scenario_of(self.orch.raw)
            rollout = self.orch.raw["rollout"]
            return RolloutDataModule(
                scenario, rollout["ticks"], rollout["num_towns"], config.seed, name
            )
        manifest = self.expert(dataset).manifest
        return ReplayDataModule(manifest, batch_size=4, seed=config.seed)

    # -- stages ----------------------------------------------------------------------------
    def callbacks(self) -> list[L.Callback]:
        """Fresh callbacks for a stage, keeping the one telemetry callback of the run."""
        callbacks = build_callbacks(self.orch.config, self.orch.raw)
        for index, callback in enumerate(callbacks):
            if isinstance(callback, TelemetryCallback):
                if self.telemetry is None:
                    self.telemetry = callback
                callbacks[index] = self.telemetry
        return callbacks

    def run_bc(self, stage: AnnealStage) -> AnnealStageResultDTO:
        data = self.expert(stage.dataset)
        module = self.orch.bc_module(self.anneal.bc, data, network=self.network)
        self.network = module.policy
        trainer = build_trainer(
            self.orch.config, self.orch.raw, self.callbacks(), max_epochs=stage.epochs
        )
        trainer.fit(module, datamodule=data)
        metrics = module.epoch_metrics()
        self.bc_accuracy = float(metrics.get("val_accuracy", metrics["accuracy"]))
        return AnnealStageResultDTO(
            cycle=stage.cycle,
            mode="bc",
            epochs=stage.epochs,
            dataset=stage.dataset,
            bc_weight=stage.bc_weight,
            bc_accuracy=self.bc_accuracy,
            bc_threshold=self.anneal.anneal_accuracy_threshold,
        )

    def annotations(self, stage: AnnealStage) -> dict[str, Any]:
        """The anneal keys every PPO record of this stage carries, before its own flags."""
        threshold = self.anneal.anneal_accuracy_threshold
        baseline = self.tracker.get(stage.dataset) or {}
        passed = None if self.bc_accuracy is None else bc_stage_passed(self.bc_accuracy, threshold)
        keys = {
            "anneal_cycle": stage.cycle,
            "anneal_stage": "ppo",
            "anneal_dataset": stage.dataset,
            "anneal_bc_accuracy": self.bc_accuracy,
            "anneal_bc_threshold": threshold,
            "anneal_bc_passed": passed,
            "anneal_loss_baseline": baseline.get("loss_total"),
            "anneal_queue_baseline": baseline.get("queue_conflict_events"),
            "anneal_intensity_baseline": baseline.get("queue_conflict_intensity_sum"),
        }
        return {k: v for k, v in keys.items() if v is not None}

    def run_ppo(self, stage: AnnealStage) -> AnnealStageResultDTO:
        data = self.ppo_data(stage.dataset)
        expert = self.expert(stage.dataset) if stage.bc_weight > 0 else None
        module = build_module(
            self.orch.config,
            data,
            self.anneal.ppo,
            max_epochs=stage.epochs,
            network=self.network,
            expert=expert,
            bc_weight=stage.bc_weight,
        )
        self.network = module.policy
        callbacks = self.callbacks()
        fixed = self.annotations(stage)
        baseline = self.tracker.get(stage.dataset)

        def annotate(record: dict[str, Any]) -> dict[str, Any]:
            # Each record is flagged against the baseline too, so watch can alert mid-stage.
            flags = ppo_stage_flags(
                record.get("loss_total"),
                record.get("queue_conflict_events"),
                record.get("queue_conflict_intensity_sum"),
                baseline,
                self.anneal.loss_tolerance,
                self.anneal.queue_tolerance,
            )
            return {**fixed, **{f"anneal_{k}": float(v) for k, v in flags.items()}}

        if self.telemetry is not None:
            self.telemetry.annotate = annotate
        trainer = build_trainer(
            self.orch.config,
            self.orch.raw,
            callbacks,
            reload_data=getattr(data, "reload_every_epoch", False),
            max_epochs=stage.epochs,
        )
        trainer.fit(module, datamodule=data)
        record = (self.telemetry.last_record if self.telemetry else None) or {
            **module.epoch_metrics()
        }
        check = self.tracker.observe(
            stage.dataset,
            record.get("loss_total"),
            record.get("queue_conflict_events"),
            record.get("queue_conflict_intensity_sum"),
            loss_tolerance=self.anneal.loss_tolerance,
            queue_tolerance=self.anneal.queue_tolerance,
        )
        return AnnealStageResultDTO(
            cycle=stage.cycle,
            mode="ppo",
            epochs=stage.epochs,
            dataset=stage.dataset,
            bc_weight=stage.bc_weight,
            bc_accuracy=self.bc_accuracy,
            **stage_metrics_from_record(record),
            **check.dto_fields(),
        )

    def run(self) -> AnnealSummaryDTO:
        if self.orch.config.ckpt_path:
            # Stages are separate fits; a checkpoint holds one stage's loop state, not the schedule.
            raise ConfigError(
                f"ckpt_path={self.orch.config.ckpt_path} — strategy=anneal runs its schedule from "
                "the start; continue from its weights with strategy=ppo strategy.init_from=<ckpt>"
            )
        L.seed_everything(self.orch.config.seed, workers=True, verbose=False)
        results: list[AnnealStageResultDTO] = []
        epochs_done = 0
        for stage in sorted(self.anneal.schedule, key=lambda s: s.cycle):
            if self.telemetry is not None:
                self.telemetry.epoch_offset = epochs_done
            log.info(
                "anneal cycle %d: %s for %d epoch(s) on %s",
                stage.cycle,
                stage.mode,
                stage.epochs,
                stage.dataset,
            )
            result = self.run_bc(stage) if stage.mode == "bc" else self.run_ppo(stage)
            results.append(result)
            epochs_done += stage.epochs
            if result.mode == "bc" and not result.bc_passed:
                log.warning("BC stage of cycle %d failed its threshold: stopping", stage.cycle)
                break
        return self.summary(results)

    def summary(self, results: list[AnnealStageResultDTO]) -> AnnealSummaryDTO:
        status, reasons = anneal_status(results)
        run_dir = self.orch.run_dir
        checkpoint = run_dir / "checkpoints" / "last.ckpt"
        streak, ready = 0, False
        if self.anneal.promotion_state:
            state = update_state(
                self.anneal.promotion_state,
                status,
                reasons,
                str(run_dir),
                str(checkpoint) if checkpoint.is_file() else None,
            )
            streak, ready = state.pass_streak, state.candidate_ready
        return AnnealSummaryDTO(
            stages=results,
            status=status,
            reasons=reasons,
            dataset_label=",".join(sorted({s.dataset for s in results})),
            baselines=self.tracker.as_dict(),
            promotion_pass_streak=streak,
            promotion_candidate_ready=ready,
            run_dir=str(run_dir),
            checkpoint=str(checkpoint) if checkpoint.is_file() else None,
        )
