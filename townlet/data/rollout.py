"""``data=rollout``: fresh on-policy data from the live town every epoch (DESIGN §5, §9.10).

The dataset has an exact length of one batch per epoch, and collects that batch when Lightning
asks for it, under ``no_grad`` on the module's device with ``num_workers=0``. Lightning only
prefetches ahead from unsized iterables, so every rollout comes from the current weights.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from townlet.data.rollout_collector import RolloutCollector, episode_statistics
from townlet.distributed import gather_from_ranks, sum_across_ranks
from townlet.sim import FEATURE_NAMES, NUM_ACTIONS, Scenario, TownVecEnv, scenario_from_dict
from townlet.sim.constants import KPI_EVENT_KEYS
from townlet.sim.kpi import kpi_metrics

log = logging.getLogger(__name__)


def rollout_event_metrics(events: Mapping[str, float]) -> dict[str, float]:
    """A collection's summed event counters as telemetry keys (DESIGN §7.1, §13).

    Every counter is kept except the raw ``kpi_*`` ones, which become the KPIs of the agent-days
    completed in the collection (``kpi.self_sufficiency``, …, ``agent_days``); when none
    completed, there are no KPI keys at all.
    """
    metrics = {key: float(value) for key, value in events.items() if key not in KPI_EVENT_KEYS}
    metrics.update(kpi_metrics(events))
    return metrics


class _OneRollout(Dataset[dict[str, Any]]):
    """Length 1: item 0 is a rollout collected at the moment it is requested."""

    def __init__(self, datamodule: RolloutDataModule) -> None:
        self.datamodule = datamodule

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.datamodule.collect()


class RolloutDataModule(L.LightningDataModule):
    """Steps ``num_towns`` towns of a scenario for ``ticks`` ticks per epoch."""

    data_mode = "rollout"

    def __init__(
        self,
        scenario: dict[str, Any] | Scenario,
        ticks: int,
        num_towns: int | None = None,
        seed: int = 0,
        scenario_name: str | None = None,
    ) -> None:
        super().__init__()
        self.scenario = (
            scenario
            if isinstance(scenario, Scenario)
            else scenario_from_dict(
                scenario, source=f"conf/scenario/{scenario_name}.yaml", name=scenario_name
            )
        )
        self.ticks = ticks
        self.num_towns = num_towns or self.scenario.num_towns
        self.seed = seed
        self._collector: RolloutCollector | None = None
        self._collector_rank = 0
        self._pending_state: dict[str, Any] | None = None
        self._last_events: dict[str, float] = {}

    # -- facts the module sizes its network from ---------------------------------------------
    @property
    def collector(self) -> RolloutCollector:
        rank = self.trainer.global_rank if self.trainer is not None else 0
        # The network is sized from the towns before the trainer (and so the DDP rank) is known:
        # towns built for another rank are rebuilt once the rank is, before the first collection.
        if self._collector is None or self._collector_rank != rank:
            # Every DDP rank gets its own towns: town i of rank r is seeded seed + r*towns + i.
            seed = self.seed + rank * self.num_towns
            env = TownVecEnv(self.scenario, num_towns=self.num_towns, seed=seed)
            self._collector, self._collector_rank = RolloutCollector(env, seed), rank
            if self._pending_state is not None:
                self._collector.load_state_dict(self._pending_state)
                self._pending_state = None
        return self._collector

    @property
    def feature_names(self) -> list[str]:
        return list(FEATURE_NAMES)

    @property
    def feature_dim(self) -> int:
        return len(FEATURE_NAMES)

    @property
    def map_shape(self) -> tuple[int, int, int]:
        return self.collector.env.map_shape

    @property
    def action_dim(self) -> int:
        return NUM_ACTIONS

    @property
    def dataset_label(self) -> str:
        return f"rollout:{self.scenario.name or 'scenario'}"

    @property
    def baseline_metrics(self) -> dict[str, float]:
        return {}

    @property
    def transitions_per_epoch(self) -> int:
        return self.ticks * self.num_towns * self.collector.env.num_agents

    # -- Lightning ---------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        return DataLoader(_OneRollout(self), batch_size=None, shuffle=False, num_workers=0)

    def collect(self) -> dict[str, Any]:
        """One rollout with the module's current policy, on its device."""
        if self.trainer is None:
            raise RuntimeError("RolloutDataModule.collect needs a Trainer with a policy module")
        module = self.trainer.lightning_module
        policy: torch.nn.Module = module.policy  # type: ignore[assignment]
        result = self.collector.collect(policy, self.ticks, module.device)
        self._last_events = result["events"]
        batch: dict[str, Any] = result["batch"]
        batch["dataset"] = self.dataset_label
        batch["batch_index"] = 0
        return batch

    def epoch_metrics(self) -> dict[str, float]:
        """This epoch's counters for telemetry: one collection, its events, KPIs and ticks.

        Under DDP every rank collects its own towns: the event counters (and so the KPIs) are
        summed over the ranks, and the episode statistics cover every rank's window of episodes.
        """
        events = sum_across_ranks(self._last_events)
        metrics = rollout_event_metrics(events)
        metrics.update(self._episode_metrics())
        metrics["rollout_ticks"] = float(self.ticks)
        metrics["rollout_collections"] = 1.0 if events else 0.0
        return metrics

    def _episode_metrics(self) -> dict[str, float]:
        """ep_rew_mean / ep_len_mean over the finished-episode windows of every rank."""
        windows = gather_from_ranks(
            (list(self.collector.finished_returns), list(self.collector.finished_lengths))
        )
        returns = [value for window, _ in windows for value in window]
        lengths = [value for _, window in windows for value in window]
        return episode_statistics(returns, lengths)

    # -- checkpoint state ---------------------------------------------------------------------
    # Rank 0 writes the checkpoint, so it holds every rank's towns ("ranks", in rank order) and
    # each rank resumes its own. "collector" (rank 0's) is what single-process runs read.
    def state_dict(self) -> dict[str, Any]:
        ranks = gather_from_ranks(self.collector.state_dict())
        return {"collector": ranks[0], "ranks": ranks}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = self._own_state(state_dict)
        if state is not None:
            self._pending_state = state  # applied when the collector is next used
            self._collector = None

    def _own_state(self, state_dict: dict[str, Any]) -> dict[str, Any] | None:
        """This rank's collector state; None (fresh towns) for a rank the checkpoint lacks."""
        rank = self.trainer.global_rank if self.trainer is not None else 0
        ranks = state_dict.get("ranks") or [state_dict["collector"]]
        if rank < len(ranks):
            return dict(ranks[rank])
        log.warning(
            "the checkpoint holds the towns of %d rank(s): rank %d starts fresh towns",
            len(ranks),
            rank,
        )
        return None
