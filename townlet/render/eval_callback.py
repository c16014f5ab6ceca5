"""``callbacks.evaluate``: score the policy being trained by whole episodes (DESIGN §13).

Every ``every_n_epochs`` epochs (0 = never: the default, so the entry costs nothing unless
asked for) global rank 0 plays one whole episode in each of ``towns`` fresh towns of the run's
scenario with the current network (sampled like training, or greedy), logs the episode report
as ``eval/<kpi>`` scalars (``kpi.`` dropped: ``eval/self_sufficiency``, ...,
``eval/episode_return``) to every Lightning logger with agent-steps as the step, and adds the
timeline of town 0 (:mod:`townlet.render.timeline`) as the image ``eval/timeline`` to each
TensorBoard logger. Towns are seeded ``seed + i`` every time, so epochs compare on equal terms.

The scenario is the datamodule's (rollout and mixed data); with replay data there is no town to
play, and the callback says so once and does nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

from townlet.policy.episodes import EpisodeReport, play_episodes
from townlet.policy.evaluate import NetworkProbe, torch_threads
from townlet.render.trace import TraceRecorder

log = logging.getLogger(__name__)
TAG_PREFIX = "eval/"
IMAGE_TAG = "eval/timeline"


def eval_scalars(report: EpisodeReport) -> dict[str, float]:
    """The report's summary as ``eval/<name>`` scalars (``kpi.`` prefixes dropped)."""
    return {
        f"{TAG_PREFIX}{key.removeprefix('kpi.')}": float(value)
        for key, value in report.summary().items()
    }


class EvaluateCallback(L.Callback):
    """Plays and logs whole evaluation episodes every ``every_n_epochs`` training epochs."""

    def __init__(
        self,
        every_n_epochs: int = 0,
        towns: int = 1,
        seed: int = 1_000_003,
        greedy: bool = False,
        timeline: bool = True,
    ) -> None:
        if every_n_epochs < 0 or towns < 1 or seed < 0:
            raise ValueError("every_n_epochs must be >= 0, towns >= 1 and seed >= 0")
        self.every_n_epochs = every_n_epochs
        self.towns = towns
        self.seed = seed
        self.greedy = greedy
        self.timeline = timeline
        self.last_scalars: dict[str, float] = {}
        self._warned = False

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.every_n_epochs == 0:  # off: costs nothing, touches nothing
            return
        epoch = trainer.current_epoch + 1
        if epoch % self.every_n_epochs != 0:
            return
        if not trainer.is_global_zero:  # one rank plays; loggers write from rank 0 anyway
            return
        scenario = getattr(trainer.datamodule, "scenario", None)  # type: ignore[attr-defined]
        network = getattr(pl_module, "policy", None)
        if scenario is None or network is None:
            if not self._warned:
                log.warning("callbacks.evaluate: no scenario or policy to play; skipped")
                self._warned = True
            return
        started = time.perf_counter()
        mode = "greedy" if self.greedy else "sampled"
        recorder = TraceRecorder(
            town=0,
            scenario=getattr(scenario, "name", None) or "scenario",
            policy=f"in training, epoch {epoch}, {mode}",
        )
        was_training = network.training
        network.eval()
        try:
            # One forward pass covers few rows: extra intra-op threads only cost (as evaluate).
            with torch_threads(1):
                probe = NetworkProbe(network, self.seed, self.greedy)
                report = play_episodes(scenario, probe, self.towns, self.seed, recorder)
        finally:
            network.train(was_training)
        step = int(getattr(pl_module, "agent_steps", trainer.global_step))
        self.last_scalars = eval_scalars(report)
        for logger in trainer.loggers:
            logger.log_metrics(self.last_scalars, step=step)
        if self.timeline:
            self._log_timeline(trainer, recorder, step)
        log.info(
            "callbacks.evaluate: epoch %d played in %.1fs", epoch, time.perf_counter() - started
        )

    @staticmethod
    def _log_timeline(trainer: L.Trainer, recorder: TraceRecorder, step: int) -> None:
        loggers = [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
        if not loggers:
            return
        from townlet.render.timeline import timeline_pixels

        pixels = timeline_pixels(recorder.trace())
        for logger in loggers:
            writer: Any = logger.experiment
            writer.add_image(IMAGE_TAG, pixels, global_step=step, dataformats="HWC")
            writer.flush()
