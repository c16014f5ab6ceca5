"""Bad checkpoints, scenario files and non-finite values: one line, its exit code, nothing written.

A few cases run the CLI as a user does; the rest call ``train`` in-process, which raises the
same ``ConfigError`` the CLI prints.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
import torch

from tests.bad_yaml import UNPARSABLE_YAML
from tests.helpers import REPO_ROOT, compose_train, run_cli
from townlet.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore")

QUIET = ("trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
REPLAY = ("data=replay", *QUIET)
# What a run writes once training starts; none of it may exist after a config error.
LEFTOVERS = ("tensorboard", "checkpoints", "telemetry.ndjson", "result.json")
EXPECTED = "expected a checkpoint of a townlet training run, e.g. <run>/checkpoints/last.ckpt"
OTHER_NETWORK = "expected a checkpoint of a run with the same strategy, policy, scenario and data"


def _assert_nothing_written(run_dir: Path) -> None:
    assert [name for name in LEFTOVERS if (run_dir / name).exists()] == []


def _cli_error(tmp_path: Path, *overrides: str) -> str:
    """The single stderr line of a failed CLI run (exit code 2), after checking the run folder."""
    run_dir = tmp_path / "run"
    proc = run_cli(
        [f"hydra.run.dir={run_dir}", f"hydra.sweep.dir={tmp_path / 'multirun'}", *overrides],
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    _assert_nothing_written(run_dir)
    return lines[0]


def _train_error(tmp_path: Path, *overrides: str) -> str:
    """The message of the ConfigError an in-process run raises, after checking the run folder."""
    from townlet.train import train

    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    with pytest.raises(ConfigError) as caught:
        train(compose_train(run_dir, [*QUIET, *overrides]))
    assert caught.value.exit_code == 2
    _assert_nothing_written(run_dir)
    assert "\n" not in str(caught.value)
    return str(caught.value)


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of one replay epoch of a policy.hidden_dim=32 network."""
    from townlet.train import train

    run_dir = tmp_path_factory.mktemp("h32")
    train(compose_train(run_dir, [*REPLAY, "trainer.max_epochs=1", "policy.hidden_dim=32"]))
    return run_dir / "checkpoints" / "last.ckpt"


# -- ckpt_path ---------------------------------------------------------------------------------
def test_cli_random_bytes_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "random.ckpt").write_bytes(os.urandom(4096))
    line = _cli_error(tmp_path, *REPLAY, "ckpt_path=random.ckpt")
    assert line == (
        "config error: ckpt_path=random.ckpt — not a townlet checkpoint: torch.load"
        f"(weights_only=True) cannot read it (truncated or not a torch file); {EXPECTED}"
    )


def test_cli_checkpoint_of_another_network_shape(tmp_path: Path, small_checkpoint: Path) -> None:
    line = _cli_error(tmp_path, *REPLAY, f"ckpt_path={small_checkpoint}")
    assert line == (
        f"config error: ckpt_path={small_checkpoint} — its network differs from this run's "
        f"(saved with policy.hidden_dim=32, this run has 256); {OTHER_NETWORK}"
    )


def test_truncated_checkpoint(tmp_path: Path, small_checkpoint: Path) -> None:
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(small_checkpoint.read_bytes()[:50_000])
    assert _train_error(tmp_path, *REPLAY, "policy.hidden_dim=32", f"ckpt_path={cut}") == (
        f"config error: ckpt_path={cut} — not a townlet checkpoint: torch.load"
        f"(weights_only=True) cannot read it (truncated or not a torch file); {EXPECTED}"
    )


def test_pickle_payload_checkpoint_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    payload = tmp_path / "payload.ckpt"
    # What torch.save writes for an object whose unpickling calls os.system.
    payload.write_bytes(_pickled_call(f"touch {marker}"))
    assert _train_error(tmp_path, *REPLAY, f"ckpt_path={payload}") == (
        f"config error: ckpt_path={payload} — not a townlet checkpoint: it holds pickled "
        f"Python objects, which are never loaded; {EXPECTED}"
    )
    assert not marker.exists()


def _pickled_call(command: str) -> bytes:
    class RunsCode:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (command,))

    buffer = io.BytesIO()
    torch.save({"state_dict": RunsCode()}, buffer)
    return buffer.getvalue()


def test_weights_only_checkpoint_cannot_resume(tmp_path: Path, small_checkpoint: Path) -> None:
    blob = torch.load(small_checkpoint, weights_only=True)
    weights = tmp_path / "weights.ckpt"
    torch.save({key: blob[key] for key in ("state_dict", "hyper_parameters")}, weights)
    assert _train_error(tmp_path, *REPLAY, "policy.hidden_dim=32", f"ckpt_path={weights}") == (
        f"config error: ckpt_path={weights} — not a checkpoint a run can resume from: it lacks "
        f"pytorch-lightning_version, epoch, global_step, loops, optimizer_states, lr_schedulers; "
        f"{EXPECTED}"
    )


def test_checkpoint_with_no_epochs_left(tmp_path: Path, small_checkpoint: Path) -> None:
    overrides = ("policy.hidden_dim=32", "trainer.max_epochs=1", f"ckpt_path={small_checkpoint}")
    assert _train_error(tmp_path, *REPLAY, *overrides) == (
        f"config error: trainer.max_epochs=1 — ckpt_path={small_checkpoint} has already "
        "trained 1 epoch(s); resume with trainer.max_epochs above 1"
    )


def test_bc_checks_its_checkpoint_too(tmp_path: Path, small_checkpoint: Path) -> None:
    overrides = ("strategy=bc", "strategy.epochs=2", f"ckpt_path={small_checkpoint}")
    assert _train_error(tmp_path, *REPLAY, *overrides) == (
        f"config error: ckpt_path={small_checkpoint} — its network differs from this run's "
        f"(saved with policy.hidden_dim=32, this run has 256); {OTHER_NETWORK}"
    )


# -- scenario files in the scenario group -------------------------------------------------------
@pytest.mark.parametrize(("text", "where"), UNPARSABLE_YAML)
def test_cli_unparsable_scenario_in_the_group(tmp_path: Path, text: str, where: str) -> None:
    marker = tmp_path / "executed"
    conf = tmp_path / "conf"
    shutil.copytree(REPO_ROOT / "conf" / "scenario", conf / "scenario")
    bad = conf / "scenario" / "broken.yaml"
    bad.write_text(text.format(marker=marker))
    line = _cli_error(tmp_path, f"hydra.searchpath=[file://{conf}]", "scenario=broken")
    assert line == f"config error: {bad}: not valid YAML at {where}"
    assert not marker.exists()


# -- non-finite values -------------------------------------------------------------------------
def test_cli_infinite_learning_rate(tmp_path: Path) -> None:
    line = _cli_error(tmp_path, *REPLAY, "strategy.learning_rate=inf")
    assert line == "config error: strategy.learning_rate=inf — must be a finite number"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("strategy.gamma=nan", "strategy.gamma=nan — must be a finite number"),
        ("trainer.limit_train_batches=-inf", "trainer.limit_train_batches=-inf — must be a finite"),
        (
            "scenario.rewards.survival_tick=inf",
            "scenario conf/scenario/queue_conflict.yaml: rewards.survival_tick=inf must be a "
            "finite number",
        ),
    ],
)
def test_non_finite_values_stop_the_run(tmp_path: Path, override: str, message: str) -> None:
    assert _train_error(tmp_path, override).startswith(f"config error: {message}")
