"""Expert data for BC and anneal: a replay manifest, or a capture of the scripted controller.

With ``data=replay`` the expert is the replay manifest; otherwise the scenario's scripted
controller is recorded once into ``<run>/capture`` and cloned from there. Anneal stages may also
name a manifest path as their dataset.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from townlet.config.capture import CaptureConfig
from townlet.config.models import BCConfig, ReplayDataConfig, TrainConfig
from townlet.data.bc import BCDataModule
from townlet.data.capture import capture_to
from townlet.data.manifest import CAPTURE_MANIFEST
from townlet.errors import ConfigError
from townlet.strategies.builders import scenario_of

CAPTURE_FOLDER = "capture"  # inside the run folder
# Stage datasets that mean "the run's expert data" rather than a manifest path.
EXPERT_DATASETS = ("capture", "rollout")


class ExpertData:
    """Expert transitions by dataset name, each loaded once per run."""

    def __init__(self, config: TrainConfig, bc: BCConfig) -> None:
        self.config = config
        self.bc = bc
        self._loaded: dict[str, BCDataModule] = {}
        self._captured: Path | None = None  # the capture this run wrote, if it wrote one

    def manifest(self) -> str:
        """The replay manifest to clone, or a fresh scripted capture of the scenario."""
        if isinstance(self.config.data, ReplayDataConfig):
            from townlet.data import EMBEDDED_MANIFEST

            return self.config.data.manifest or str(EMBEDDED_MANIFEST)
        folder = Path(self.config.paths.output_dir) / CAPTURE_FOLDER
        if not (folder / CAPTURE_MANIFEST).is_file():
            scenario, name = scenario_of(self.config)
            capture = CaptureConfig(
                ticks=self.bc.capture_ticks,
                num_towns=self.bc.capture_towns,
                seed=self.config.seed + scenario.seed,
            )
            capture_to(folder, scenario, name, capture)
            self._captured = folder
        return str(folder)

    def datamodule(self, dataset: str = "capture") -> BCDataModule:
        """The expert transitions of a dataset: the run's expert data, or a manifest path."""
        if dataset not in self._loaded:
            manifest = self.manifest() if dataset in EXPERT_DATASETS else dataset
            self._loaded[dataset] = BCDataModule(
                manifest, self.bc.batch_size, self.bc.val_fraction, self.config.seed
            )
        return self._loaded[dataset]

    @contextmanager
    def discarded_on_config_error(self) -> Iterator[None]:
        """Remove the capture written inside the block when the block rejects the config.

        The BC module (and so the ``ckpt_path`` check) is sized from the expert data, so the
        capture comes first; a run refused there (exit 2) must still leave nothing behind.
        """
        try:
            yield
        except ConfigError:
            if self._captured is not None:
                shutil.rmtree(self._captured, ignore_errors=True)
                self._captured = None
            raise
