"""``python -m townlet.capture``: record a scenario's rollouts as replay samples (DESIGN §11).

    python -m townlet.capture scenario=<name> [capture.ticks=N] \\
        [capture.policy=scripted|ckpt:PATH] [capture.num_towns=N] [capture.seed=N]

Writes ``rollout_sample_<agent>_<nnn>.npz/.json``, ``rollout_sample_metrics.json`` and
``rollout_sample_manifest.json`` into the Hydra run folder (``hydra.run.dir``), ready for
``data=replay data.manifest=<run folder>``. The recording itself is :mod:`townlet.data.capture`.
Bad input is one ``config error:`` line and exit code 2. torch is imported only for ``ckpt:``
policies.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from townlet.cli import quiet_library_logs, report_errors, run_hydra_app
from townlet.compose import CONF_DIR, plain_app_config
from townlet.config.capture import validate_capture_config, validate_process_threads
from townlet.data.capture import capture_to


def capture(cfg: DictConfig) -> list[Path]:
    """Validate, run the towns, write the capture; returns the sample paths."""
    raw, name, scenario = plain_app_config(cfg)
    config = validate_capture_config(raw)
    threads = validate_process_threads(raw)
    if config.checkpoint is not None:  # only a checkpoint policy runs torch
        from townlet.accelerators import apply_torch_threads

        apply_torch_threads(threads)
    return capture_to(Path(raw["paths"]["output_dir"]), scenario, name, config)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="capture")
@report_errors
def _hydra_main(cfg: DictConfig) -> None:
    capture(cfg)


def main() -> None:
    """Console entry: ``python -m townlet.capture [overrides]``."""
    quiet_library_logs()
    run_hydra_app(_hydra_main)


if __name__ == "__main__":
    main()
