"""Hydra multirun with the [sweep] extra's plugins: the Optuna search, joblib, submitit, SLURM.

Each test runs ``python -m townlet.train`` as a user does, with every folder in pytest's tmp_path,
and skips with the install command when its plugin is absent. The runs are tiny (two short
epochs) but still finish an episode, so each job has an ``ep_rew_mean`` to return.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO_ROOT, read_records, run_cli
from townlet.telemetry import record_problems

pytestmark = pytest.mark.filterwarnings("ignore")

SKIP_REASON = "needs the [sweep] extra: pip install -e '.[sweep]'"
EPOCHS = 2
# A scenario whose episode return depends on the policy (the default queue_conflict's is the
# same for every policy, which would let a minimising sweeper pass). Two rollouts of a bit more
# than half an episode end one episode after one update: ep_rew_mean exists and differs by trial.
SCENARIO = "employment_punctuality"
EPISODE = yaml.safe_load((REPO_ROOT / f"conf/scenario/{SCENARIO}.yaml").read_text())["ticks"]
TINY = [
    f"scenario={SCENARIO}",
    f"trainer.max_epochs={EPOCHS}",
    f"data.ticks={EPISODE // 2 + 8}",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]
SEARCHED = {
    "strategy.learning_rate",
    "strategy.clip_param",
    "strategy.entropy_coef",
    "strategy.gae_lambda",
    "strategy.mini_batch_size",
}
# Library chatter that townlet.cli.quiet_library_logs must filter in every worker too.
NOISE = ("Tip:", "does not have many workers", "treespec", "setup plugin")


def _sweep(tmp_path: Path, *overrides: str) -> tuple[Path, str]:
    """``-m`` run into tmp_path/multirun; its folder and the main process's output."""
    sweep_dir = tmp_path / "multirun"
    run_dir = tmp_path / "run"
    args = ["-m", f"hydra.run.dir={run_dir}", f"hydra.sweep.dir={sweep_dir}", *TINY, *overrides]
    proc = run_cli(args, cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    return sweep_dir, output


def _jobs(sweep_dir: Path) -> list[Path]:
    return sorted(
        (p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )


def _assert_job_logs(job: Path) -> list[dict[str, object]]:
    """The job's own telemetry.ndjson (valid, one record per epoch) and TensorBoard events."""
    records = read_records(job / "telemetry.ndjson")
    assert len(records) == EPOCHS, job
    for record in records:
        assert record_problems(record) == [], (job, record)
    assert list((job / "tensorboard").glob("events.out.tfevents.*")), job
    return records


def _assert_quiet(text: str) -> None:
    for noise in NOISE:
        assert noise not in text, f"{noise!r} leaked into the sweep's output"


def test_optuna_search_writes_the_best_trial(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason=SKIP_REASON)
    sweep_dir, output = _sweep(tmp_path, "hparams_search=ppo_optuna", "hydra.sweeper.n_trials=3")
    _assert_quiet(output)

    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    best = results["best_value"]
    assert isinstance(best, float) and math.isfinite(best)
    assert set(results["best_params"]) == SEARCHED
    params = results["best_params"]
    assert 1e-5 <= params["strategy.learning_rate"] <= 1e-3
    assert params["strategy.mini_batch_size"] in (16, 32, 64, 128)

    jobs = _jobs(sweep_dir)
    assert [p.name for p in jobs] == ["0", "1", "2"]
    returns = []
    for job in jobs:
        _assert_job_logs(job)
        result = json.loads((job / "result.json").read_text())
        returns.append(result["ep_rew_mean"])
    # direction: maximize — the best value is the highest return, not the lowest.
    assert best == max(returns) and best > min(returns), returns
    best_job = jobs[returns.index(max(returns))]
    config = yaml.safe_load((best_job / ".hydra/config.yaml").read_text())
    for name, value in params.items():
        section, key = name.split(".")
        assert config[section][key] == pytest.approx(value), name


def test_joblib_sweep_gives_each_job_its_own_logs(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason=SKIP_REASON)
    sweep_dir, output = _sweep(
        tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=0,1"
    )
    _assert_quiet(output)
    jobs = _jobs(sweep_dir)
    assert [p.name for p in jobs] == ["0", "1"]
    assert [_assert_job_logs(job)[0]["seed"] for job in jobs] == [0, 1]


def test_submitit_local_sweep_gives_each_job_its_own_logs(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason=SKIP_REASON)
    sweep_dir, output = _sweep(tmp_path, "hydra/launcher=submitit_local", "seed=0,1")
    jobs = _jobs(sweep_dir)
    assert [p.name for p in jobs] == ["0", "1"]
    assert [_assert_job_logs(job)[0]["seed"] for job in jobs] == [0, 1]
    # Each job is a separate process logging to .submitit/<id>/<id>_0_log.{out,err}.
    worker_logs = sorted((sweep_dir / ".submitit").glob("*/*_log.*"))
    assert len(worker_logs) == 4, worker_logs
    worker_output = "".join(log.read_text() for log in worker_logs)
    assert worker_output.count("Job completed successfully") >= 2
    _assert_quiet(output + worker_output)


def test_slurm_preset_extends_the_plugins_launcher(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason=SKIP_REASON)
    sweep_dir = tmp_path / "multirun"
    args = ["hydra/launcher=slurm", f"hydra.sweep.dir={sweep_dir}", "hydra.launcher.mem_gb=64"]
    proc = run_cli([*args, "--cfg", "hydra", "--resolve", "-p", "hydra.launcher"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    launcher = yaml.safe_load(proc.stdout)
    assert launcher["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert launcher["submitit_folder"] == f"{sweep_dir}/.submitit/%j"
    assert launcher["timeout_min"] == 240  # ours, over the plugin's 60
    assert launcher["gpus_per_node"] == 1 and launcher["tasks_per_node"] == 1
    assert launcher["mem_gb"] == 64  # the command line wins over the preset
    assert launcher["partition"] is None and launcher["signal_delay_s"] == 120  # plugin fields
    assert not sweep_dir.exists()
