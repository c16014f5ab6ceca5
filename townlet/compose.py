"""Compose the train config from Python (tests, benchmarks, notebooks) as the CLI would.

``@hydra.main`` sets up the run folder for the command line; code that calls :func:`train`
directly composes through here, so ``${hydra:runtime.output_dir}`` resolves to ``run_dir``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from townlet.run_folder import register_resolvers
from townlet.sim import Scenario, scenario_from_dict

# townlet/conf: in a clone a symlink to the top-level conf/, in an installed wheel a real folder.
CONF_DIR = str(Path(__file__).resolve().parent / "conf")


def compose_train_config(
    run_dir: str | Path, overrides: Sequence[str] = (), config_name: str = "train"
) -> DictConfig:
    """The composed config with its run folder at ``run_dir``, as Hydra would set it up."""
    register_resolvers()  # the hydra node's default folder names use ${run_suffix:}
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            config_name=config_name,
            return_hydra_config=True,
            overrides=[f"hydra.run.dir={run_dir}", "hydra.job.num=0", *overrides],
        )
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


def resolved_config(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The composed config as plain, resolved containers, without Hydra's own node.

    The node is present when composed with ``return_hydra_config`` (tests, notebooks); the
    validators check townlet's config only.
    """
    if not isinstance(cfg, DictConfig):
        return {str(key): value for key, value in cfg.items() if key != "hydra"}
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def plain_app_config(cfg: DictConfig) -> tuple[dict[str, Any], str, Scenario]:
    """A scenario app's config as plain containers, its scenario's name and the Scenario.

    Used by ``townlet.capture`` and ``townlet.evaluate``, which both run a composed scenario.
    """
    raw = resolved_config(cfg)
    name = scenario_choice()
    scenario = scenario_from_dict(
        raw.get("scenario") or {}, source=f"conf/scenario/{name}.yaml", name=name
    )
    return raw, name, scenario


def scenario_choice() -> str:
    """The scenario group option Hydra composed (names the scenario in errors and metadata)."""
    if HydraConfig.initialized():
        return str(HydraConfig.get().runtime.choices.get("scenario", "scenario"))
    return "scenario"
