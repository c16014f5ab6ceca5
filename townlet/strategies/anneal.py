"""The anneal stage runner: BC warm start handed to PPO behind guardrails (DESIGN §10).

Stages run in cycle order on one network, each as its own ``Trainer.fit``. One telemetry
callback spans them all, so epochs and stream counters continue from stage to stage; PPO records
carry the ``anneal_*`` keys. A BC stage below the accuracy threshold stops the run (FAIL); a PPO
stage whose loss drifts, or whose queue conflicts drop, against the previous PPO stage on the
same dataset is flagged (HOLD). The outcome is recorded in the promotion state file.

Stage data comes from the run's config: ``rollout`` stages step the towns the data group sizes
(``data.ticks``, ``data.num_towns``), stages on a capture or manifest replay it with the data
group's replay options, and the expert data of BC stages and BC terms comes from the
:class:`~townlet.strategies.experts.ExpertData` the runner is given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from townlet.config.models import AnnealConfig, AnnealStage, TrainConfig
from townlet.dto.anneal import AnnealStageResultDTO, AnnealSummaryDTO, stage_metrics_from_record
from townlet.errors import ConfigError
from townlet.policy.conflict_aware import ConflictAwarePolicy
from townlet.promotion.guardrails import (
    BaselineTracker,
    anneal_status,
    bc_stage_passed,
    ppo_stage_flags,
)
from townlet.promotion.state import update_state
from townlet.strategies.anneal_ppo import AnnealPPOModule
from townlet.strategies.builders import (
    build_bc_module,
    build_callbacks,
    build_loggers,
    build_replay_datamodule,
    build_rollout_datamodule,
    build_trainer,
    ppo_module_arguments,
)
from townlet.strategies.experts import ExpertData
from townlet.strategies.ppo import PPOModule
from townlet.strategies.run_checkpoint import copy_atomically
from townlet.telemetry.callback import TelemetryCallback

log = logging.getLogger(__name__)
ROLLOUT = "rollout"  # the stage dataset that means live towns


def check_schedule(config: TrainConfig, anneal: AnnealConfig) -> None:
    """Refuse, before anything is built, a schedule this run cannot carry out."""
    if config.ckpt_path:
        # Stages are separate fits; a checkpoint holds one stage's loop state, not the schedule.
        raise ConfigError(
            f"ckpt_path={config.ckpt_path} — strategy=anneal runs its schedule from "
            "the start; continue from its weights with strategy=ppo strategy.init_from=<ckpt>"
        )


class AnnealRunner:
    """Runs one anneal schedule from the config, with the expert data it is given."""

    def __init__(
        self,
        config: TrainConfig,
        anneal: AnnealConfig,
        experts: ExpertData,
        extra_callbacks: Sequence[L.Callback] = (),
    ) -> None:
        check_schedule(config, anneal)
        self.config = config
        self.anneal = anneal
        self.experts = experts
        self.extra_callbacks = list(extra_callbacks)
        self.tracker = BaselineTracker()
        self.network: ConflictAwarePolicy | None = None  # shared by every stage once built
        self.telemetry: TelemetryCallback | None = None  # one stream across the stages
        self.bc_accuracy: float | None = None
        self.last_checkpoints: Path | None = None  # the latest stage's checkpoint folder

    def run(self) -> AnnealSummaryDTO:
        """Every stage in cycle order, until the schedule ends or a BC stage fails."""
        L.seed_everything(self.config.seed, workers=True, verbose=False)
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

    # -- stages ----------------------------------------------------------------------------
    def run_bc(self, stage: AnnealStage) -> AnnealStageResultDTO:
        data = self.experts.datamodule(stage.dataset)
        module = build_bc_module(self.config, self.anneal.bc, data, network=self.network)
        self.network = module.policy
        self.stage_trainer(stage, data).fit(module, datamodule=data)
        metrics = module.epoch_metrics()
        self.bc_accuracy = float(metrics.get("val_accuracy", metrics["accuracy"]))
        threshold = self.anneal.anneal_accuracy_threshold
        return AnnealStageResultDTO(
            **stage.model_dump(),
            bc_accuracy=self.bc_accuracy,
            bc_threshold=threshold,
            bc_passed=bc_stage_passed(self.bc_accuracy, threshold),
        )

    def run_ppo(self, stage: AnnealStage) -> AnnealStageResultDTO:
        data = self.ppo_datamodule(stage.dataset)
        module = self.ppo_module(stage, data)
        self.network = module.policy
        trainer = self.stage_trainer(stage, data, annotate=self.annotator(stage))
        trainer.fit(module, datamodule=data)
        record = (self.telemetry.last_record if self.telemetry else None) or module.epoch_metrics()
        check = self.tracker.observe(
            stage.dataset,
            record.get("loss_total"),
            record.get("queue_conflict_events"),
            record.get("queue_conflict_intensity_sum"),
            loss_tolerance=self.anneal.loss_tolerance,
            queue_tolerance=self.anneal.queue_tolerance,
        )
        return AnnealStageResultDTO(
            **stage.model_dump(),
            bc_accuracy=self.bc_accuracy,
            **stage_metrics_from_record(record),
            **check.dto_fields(),
        )

    def ppo_datamodule(self, dataset: str) -> L.LightningDataModule:
        """Live rollouts of the scenario, or replay of the capture or a manifest."""
        if dataset == ROLLOUT:
            return build_rollout_datamodule(self.config)
        manifest = self.experts.datamodule(dataset).manifest
        return build_replay_datamodule(self.config, manifest, self.anneal.replay_batch_size)

    def ppo_module(self, stage: AnnealStage, data: Any) -> PPOModule:
        """The stage's PPO module on the shared network; with a BC term when bc_weight > 0."""
        expert = self.experts.datamodule(stage.dataset) if stage.bc_weight > 0 else None
        arguments = ppo_module_arguments(self.config, self.anneal.ppo, data, stage.epochs)
        if expert is None:
            return PPOModule(**arguments, network=self.network)
        return AnnealPPOModule(expert, stage.bc_weight, **arguments, network=self.network)

    def stage_trainer(
        self,
        stage: AnnealStage,
        data: Any,
        annotate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> L.Trainer:
        """A fresh Trainer for the stage, with fresh callbacks but the run's one telemetry stream.

        ``annotate`` adds keys to each of the stage's telemetry records.
        """
        callbacks = build_callbacks(self.config, self.extra_callbacks)
        for index, callback in enumerate(callbacks):
            if isinstance(callback, TelemetryCallback):
                if self.telemetry is None:
                    self.telemetry = callback
                callbacks[index] = self.telemetry
            elif isinstance(callback, ModelCheckpoint) and callback.dirpath is not None:
                # Each stage writes into its own sub-folder (checkpoints/cycle_01_bc/, ...), so no
                # stage starts in a folder another stage filled; summary() copies the last
                # stage's last.ckpt to checkpoints/last.ckpt.
                folder = Path(callback.dirpath) / f"cycle_{stage.cycle:02d}_{stage.mode}"
                callback.dirpath = str(folder)
                self.last_checkpoints = folder
        if self.telemetry is not None and annotate is not None:
            self.telemetry.annotate = annotate
        loggers = build_loggers(self.config)
        return build_trainer(self.config, callbacks, loggers, data, max_epochs=stage.epochs)

    # -- guardrails --------------------------------------------------------------------------
    def annotator(self, stage: AnnealStage) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """The anneal keys of the stage's PPO records, each record flagged against the baseline.

        Each record is flagged, not only the stage's last, so watch can alert mid-stage.
        """
        fixed = self.annotations(stage)
        baseline = self.tracker.get(stage.dataset)

        def annotate(record: dict[str, Any]) -> dict[str, Any]:
            flags = ppo_stage_flags(
                record.get("loss_total"),
                record.get("queue_conflict_events"),
                record.get("queue_conflict_intensity_sum"),
                baseline,
                self.anneal.loss_tolerance,
                self.anneal.queue_tolerance,
            )
            return {**fixed, **{f"anneal_{k}": float(v) for k, v in flags.items()}}

        return annotate

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

    def summary(self, results: list[AnnealStageResultDTO]) -> AnnealSummaryDTO:
        """The schedule's status, recorded in the promotion state file when one is configured."""
        status, reasons = anneal_status(results)
        run_dir = Path(self.config.paths.output_dir)
        checkpoint = run_dir / "checkpoints" / "last.ckpt"
        if self.last_checkpoints is not None and (self.last_checkpoints / "last.ckpt").is_file():
            # The network the schedule ended with, where a single run keeps its last.ckpt.
            copy_atomically(self.last_checkpoints / "last.ckpt", checkpoint)
        candidate = str(checkpoint) if checkpoint.is_file() else None
        streak, ready = 0, False
        if self.anneal.promotion_state:
            state = update_state(
                self.anneal.promotion_state, status, reasons, str(run_dir), candidate
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
            checkpoint=candidate,
        )
