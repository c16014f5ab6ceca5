"""``python -m townlet.evaluate``: score a policy by whole episodes against the charter (§13).

    python -m townlet.evaluate [policy=scripted|chat|never_work|wait|random|ckpt:PATH] \\
        [scenario=town] [evaluate.towns=16] [evaluate.seed=1000003] [evaluate.greedy=false] \\
        [evaluate.render=false]

Plays one whole episode in each town (town i seeded ``seed + i``) with the policy, writes
``evaluation.json`` into the Hydra run folder (the §13 KPIs, ``episode_return``,
``episode_length``, ``days``, ``agent_days``, ``chats_per_agent_day``, the charter targets met,
the references' summaries and a per-agent breakdown) and prints a table comparing the policy
with the scripted and random references on the same seeds, then the charter targets it meets.
With ``evaluate.render=true`` town 0 of the policy's episodes is traced and drawn into the
same folder: ``timeline.png`` and ``town.gif`` (:mod:`townlet.render`); the scores are the same.
Bad input is one ``config error:`` line and exit code 2. torch is imported only for ``ckpt:``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from townlet.atomic import atomic_write_text
from townlet.cli import quiet_library_logs, report_errors, run_hydra_app
from townlet.compose import CONF_DIR, plain_app_config
from townlet.config.capture import validate_process_threads
from townlet.config.models import Section
from townlet.config.validate import format_validation_error
from townlet.errors import ConfigError
from townlet.policy.action_source import CKPT_PREFIX
from townlet.policy.episodes import EpisodeReport, TickObserver, play_episodes
from townlet.policy.probes import PROBE_NAMES, make_probe
from townlet.policy.scorecard import format_table, targets_line, targets_met
from townlet.sim import Scenario

log = logging.getLogger("townlet.evaluate")

REFERENCES = ("scripted", "random")  # printed next to every evaluated policy
RESULT_FILE = "evaluation.json"


class EvaluateConfig(Section):
    """The ``evaluate:`` section of ``conf/evaluate.yaml``."""

    policy: str = Field("scripted", description="a probe name or ckpt:PATH (a training checkpoint)")
    towns: int = Field(16, ge=1, description="towns played, one whole episode each")
    seed: int = Field(1_000_003, ge=0, description="town i is seeded seed + i; sampling too")
    greedy: bool = Field(False, description="ckpt policies take their most likely legal action")
    render: bool = Field(
        False, description="draw town 0 into timeline.png and town.gif in the run folder"
    )

    @property
    def checkpoint(self) -> Path | None:
        """The checkpoint file of a ``ckpt:PATH`` policy, else None."""
        if self.policy.startswith(CKPT_PREFIX):
            return Path(self.policy[len(CKPT_PREFIX) :])
        return None


class _EvaluateRoot(BaseModel):
    """Wraps the section so error lines name ``evaluate.<key>``; other groups are checked apart."""

    model_config = ConfigDict(extra="ignore")

    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)


def validate_evaluate_config(config: dict[str, Any]) -> EvaluateConfig:
    """The validated ``evaluate`` section, or one ``ConfigError`` line."""
    try:
        section = _EvaluateRoot.model_validate(config).evaluate
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, _EvaluateRoot)) from None
    policy = section.policy
    # Named as typed: `policy=` is the command-line spelling (see policy_override).
    if policy not in PROBE_NAMES and not (
        policy.startswith(CKPT_PREFIX) and policy[len(CKPT_PREFIX) :].strip()
    ):
        raise ConfigError(
            f"policy={policy} — must be one of {', '.join(PROBE_NAMES)} or {CKPT_PREFIX}PATH"
        )
    return section


def play_policy(
    config: EvaluateConfig,
    scenario: Scenario,
    name: str,
    threads: int = 1,
    observer: TickObserver | None = None,
) -> tuple[EpisodeReport, str]:
    """The policy's episodes and the label it is reported under (a checkpoint's full path).

    Only a checkpoint policy imports torch, pinned to ``threads`` (device.torch_threads).
    ``observer`` (e.g. the render trace) is shown every tick.
    """
    path = config.checkpoint
    if path is None:
        probe = make_probe(config.policy)
        report = play_episodes(scenario, probe, config.towns, config.seed, observer)
        return report, config.policy
    from townlet.accelerators import apply_torch_threads
    from townlet.policy.evaluate import play_checkpoint

    apply_torch_threads(threads)
    report = play_checkpoint(
        path,
        scenario,
        name,
        towns=config.towns,
        seed=config.seed,
        greedy=config.greedy,
        field=f"policy={CKPT_PREFIX}",
        observer=observer,
    )
    return report, f"{CKPT_PREFIX}{path.resolve()}"


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Validate, play, write ``evaluation.json``, print the comparison; returns the result."""
    raw, name, scenario = plain_app_config(cfg)
    config = validate_evaluate_config(raw)
    recorder = None
    if config.render:
        from townlet.render.trace import TraceRecorder

        # A checkpoint's path can be long: the picture titles keep its end.
        shown = config.policy if len(config.policy) <= 60 else "…" + config.policy[-59:]
        recorder = TraceRecorder(town=0, scenario=name, policy=shown)
    report, label = play_policy(config, scenario, name, validate_process_threads(raw), recorder)
    summary = report.summary()
    references = {
        reference: play_episodes(
            scenario, make_probe(reference), config.towns, config.seed
        ).summary()
        for reference in REFERENCES
        if reference != config.policy
    }
    result: dict[str, Any] = {
        "policy": label,
        "scenario": name,
        "towns": config.towns,
        "seed": config.seed,
        "greedy": config.greedy,
        "ticks": scenario.ticks,
        **summary,
        "targets": targets_met(summary),
        "references": references,
        "agents": report.per_agent(),
    }
    folder = Path(raw["paths"]["output_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / RESULT_FILE, json.dumps(result, indent=2) + "\n")
    log.info("wrote %s", folder / RESULT_FILE)
    if recorder is not None:
        from townlet.render import write_pictures

        for path in write_pictures(recorder.trace(), folder).values():
            log.info("wrote %s", path)
    print(format_table({config.policy: summary, **references}))
    print(targets_line(config.policy, summary))
    return result


def policy_override(args: list[str]) -> list[str]:
    """``policy=X`` becomes ``evaluate.policy=X`` (and the shorthand ``render=X``,
    ``evaluate.render=X``).

    ``conf/policy/`` is training's network-shape group, so Hydra would read ``policy=X`` as a
    choice of that group (and fail, as evaluate's defaults do not use it).
    """
    return [f"evaluate.{arg}" if arg.startswith(("policy=", "render=")) else arg for arg in args]


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
@report_errors
def _hydra_main(cfg: DictConfig) -> None:
    evaluate(cfg)


def main() -> None:
    """Console entry: ``python -m townlet.evaluate [overrides]``."""
    sys.argv[1:] = policy_override(sys.argv[1:])
    quiet_library_logs()
    run_hydra_app(_hydra_main)


if __name__ == "__main__":
    main()
