"""``data=mixed``: live rollouts blended or alternated with replay batches (DESIGN §11).

- ``blend``: every epoch trains on one fresh rollout (collected first, from the current weights)
  plus enough replay batches that replay makes up about ``replay_fraction`` of the transitions.
  Records say ``data_mode: "mixed"``.
- ``alternate``: replay and rollout epochs take turns, replay first (the older system's soak
  pattern); each record carries the mode of its own epoch.

The replay data must have the live observation layout (feature names and map shape), since one
network reads both. The dataloader is rebuilt every epoch (``reload_every_epoch``) because the
epoch's length depends on its schedule slot.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import lightning as L
from torch.utils.data import DataLoader, Dataset

from townlet.data.replay import ReplayDataModule
from townlet.data.rollout import RolloutDataModule
from townlet.errors import DataError
from townlet.sim import Scenario


class _EpochItems(Dataset[dict[str, Any]]):
    """This epoch's items: ``None`` stands for "collect a rollout now", ints are replay batches."""

    def __init__(self, datamodule: MixedDataModule, items: list[int | None]) -> None:
        self.datamodule = datamodule
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.items[index]
        if item is None:
            return self.datamodule.rollout.collect()
        return self.datamodule.replay_batch(item)


class MixedDataModule(L.LightningDataModule):
    """A rollout source and a replay source behind one schedule."""

    reload_every_epoch = True

    def __init__(
        self,
        scenario: dict[str, Any] | Scenario,
        manifest: str,
        ticks: int,
        num_towns: int | None = None,
        seed: int = 0,
        replay_fraction: float = 0.5,
        schedule: Literal["blend", "alternate"] = "blend",
        batch_size: int = 4,
        scenario_name: str | None = None,
        recompute_log_probs: bool = True,
    ) -> None:
        super().__init__()
        self.rollout = RolloutDataModule(scenario, ticks, num_towns, seed, scenario_name)
        # Only the replay batches carry the recompute flag: rollouts are on-policy already.
        self.replay = ReplayDataModule(
            manifest,
            batch_size=batch_size,
            shuffle=True,
            seed=seed,
            recompute_log_probs=recompute_log_probs,
        )
        self.replay_fraction = replay_fraction
        self.schedule = schedule
        self._mode = "mixed" if schedule == "blend" else "replay"
        self._epoch_has_rollout = False

    # -- facts: the live layout, checked against the replay data ------------------------------
    def _check_layout(self) -> None:
        if list(self.replay.feature_names) != self.rollout.feature_names:
            raise DataError(
                f"replay manifest {self.replay.dataset_label}: feature_names differ from the "
                f"live town's {len(self.rollout.feature_names)} features; mixed data needs both"
                " in one layout (capture the replay data with python -m townlet.capture)"
            )
        if tuple(self.replay.map_shape) != tuple(self.rollout.map_shape):
            raise DataError(
                f"replay manifest {self.replay.dataset_label}: map shape "
                f"{tuple(self.replay.map_shape)} differs from the scenario's "
                f"{tuple(self.rollout.map_shape)}"
            )

    @property
    def feature_names(self) -> list[str]:
        self._check_layout()
        return self.rollout.feature_names

    @property
    def feature_dim(self) -> int:
        return len(self.feature_names)

    @property
    def map_shape(self) -> tuple[int, int, int]:
        self._check_layout()
        return self.rollout.map_shape

    @property
    def action_dim(self) -> int:
        return max(self.rollout.action_dim, self.replay.action_dim)

    @property
    def data_mode(self) -> str:
        return self._mode

    @property
    def dataset_label(self) -> str:
        return f"{self.rollout.dataset_label}+{self.replay.dataset_label}"

    @property
    def baseline_metrics(self) -> dict[str, float]:
        return self.replay.baseline_metrics

    # -- the schedule --------------------------------------------------------------------------
    def replay_batches_per_epoch(self) -> int:
        """Replay batches so replay is about ``replay_fraction`` of a blended epoch's data."""
        if self.replay_fraction <= 0:
            return 0
        per_batch = self.replay.transitions_per_epoch / max(1, self.replay.num_batches)
        wanted = (
            self.replay_fraction / (1 - self.replay_fraction) * (self.rollout.transitions_per_epoch)
        )
        return max(1, math.ceil(wanted / per_batch))

    def epoch_items(self, epoch: int) -> list[int | None]:
        total = self.replay.num_batches
        if self.schedule == "alternate":
            if epoch % 2 == 0:
                return list(range(total))  # a replay cycle: one full pass
            return [None]
        count = self.replay_batches_per_epoch()
        start = epoch * count
        return [None, *((start + i) % total for i in range(count))]

    def replay_batch(self, index: int) -> dict[str, Any]:
        return self.replay.dataset[index]

    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        epoch = self.trainer.current_epoch if self.trainer is not None else 0
        self.rollout.trainer = self.trainer  # the rollout collects with this trainer's module
        items = self.epoch_items(epoch)
        self._epoch_has_rollout = None in items
        if self.schedule == "alternate":
            self._mode = "rollout" if self._epoch_has_rollout else "replay"
        # Alternate runs one replay pass every other epoch: count replay passes, not epochs.
        self.replay.set_epoch(epoch // 2 if self.schedule == "alternate" else epoch)
        return DataLoader(_EpochItems(self, items), batch_size=None, num_workers=0)

    def epoch_metrics(self) -> dict[str, Any]:
        """data_mode of this epoch plus the rollout's counters and KPIs when it collected one."""
        metrics: dict[str, Any] = {"data_mode": self._mode}
        if self._epoch_has_rollout:
            metrics.update(self.rollout.epoch_metrics())
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return self.rollout.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rollout.load_state_dict(state_dict)
