"""A non-editable install works from any folder: conf/ ships inside the wheel as townlet/conf.

The wheel is built from a copy of the checkout's files (what ``git ls-files`` lists, tracked or
new), so the build writes nothing into the repo and stale ``build/`` output cannot leak into it,
then installed with ``pip install --target`` and run with only that folder on ``PYTHONPATH``
from a folder outside the repo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, read_records

pytestmark = pytest.mark.filterwarnings("ignore")


def _checkout_files() -> list[str]:
    """The checkout's files as a fresh clone plus new unignored files would have them."""
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs the git checkout to know which files a clone has")
    proc = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "-co", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted({name for name in proc.stdout.split("\0") if name})


def _copy_checkout(dest: Path) -> list[str]:
    files = [name for name in _checkout_files() if os.path.lexists(REPO_ROOT / name)]
    for name in files:
        src, dst = REPO_ROOT / name, dest / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():  # townlet/conf -> ../conf stays a link, as in a clone
            dst.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dst)
    return files


def _can_build_offline() -> bool:
    try:
        from setuptools.command.bdist_wheel import bdist_wheel  # noqa: F401  (setuptools>=70.1)
    except ImportError:
        try:
            import wheel  # noqa: F401
        except ImportError:
            return False
    return True


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the checkout, installed (not editable) into its own folder.

    Built with the installed setuptools where it can build wheels (no network); else pip builds
    in its usual isolated environment, fetching ``build-system.requires`` as ``pip install .``
    would.
    """
    isolation = [] if _can_build_offline() else ["--use-pep517"]
    offline = ["--no-build-isolation"] if not isolation else []
    root = tmp_path_factory.mktemp("wheel")
    src, dist, target = root / "src", root / "dist", root / "site"
    files = _copy_checkout(src)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    build = subprocess.run(
        [*pip, "wheel", str(src), "--no-deps", *offline, *isolation, "-w", str(dist)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    wheels = sorted(dist.glob("townlet-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as archive:
        names = set(archive.namelist())
    # Every config of the clone's conf/ ships, except the user's own conf/local/.
    configs = [name for name in files if name.startswith("conf/") and name.endswith(".yaml")]
    shipped = {f"townlet/{name}" for name in configs if not name.startswith("conf/local/")}
    assert {"townlet/conf/train.yaml", "townlet/conf/scenario/town.yaml"} <= shipped
    assert shipped <= names, sorted(shipped - names)
    assert not [n for n in names if n.startswith("townlet/conf/local/")]
    for module in ("policy/checkpoint.py", "strategies/builders.py", "data/embedded/"):
        assert any(n.startswith(f"townlet/{module}") for n in names), module
    install = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheels[0])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    conf = target / "townlet" / "conf"
    assert conf.is_dir() and not conf.is_symlink()
    return target


def _run(
    site: Path, cwd: Path, args: Sequence[str], module: str | None = "townlet.train"
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` (or ``python args``) with only the installed wheel on the path."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    for name in ("HYDRA_FULL_ERROR", "PROJECT_ROOT"):
        env.pop(name, None)
    command = [sys.executable, *(["-m", module] if module else []), *args]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _elsewhere(tmp_path: Path) -> Path:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    assert not cwd.resolve().is_relative_to(REPO_ROOT.resolve())
    return cwd


PROBE = """
import json, townlet
from townlet.compose import CONF_DIR
from townlet.sim import load_scenario
from townlet.sim.scenario_loader import SCENARIO_DIR
town = load_scenario("town")
print(json.dumps({"file": townlet.__file__, "conf": CONF_DIR, "scenarios": str(SCENARIO_DIR),
                  "town": town.name, "agents": len(town.agents)}))
"""


def test_installed_wheel_runs_train_capture_evaluate_from_any_folder(
    site: Path, tmp_path: Path
) -> None:
    cwd = _elsewhere(tmp_path)
    probe = _run(site, cwd, ["-c", PROBE], module=None)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    package = site.resolve() / "townlet"
    assert Path(found["file"]).resolve() == package / "__init__.py"  # not the editable repo
    assert Path(found["conf"]).resolve() == package / "conf"
    assert Path(found["scenarios"]).resolve() == package / "conf" / "scenario"
    assert found["town"] == "town" and found["agents"] > 0

    run = cwd / "run"
    proc = _run(site, cwd, ["debug=fdr", f"hydra.run.dir={run}"])
    assert proc.returncode == 0, proc.stderr
    records = read_records(run / "telemetry.ndjson")
    assert records and records[0]["scenario"] == "queue_conflict"
    assert json.loads((run / "result.json").read_text())["epoch"] >= 1

    capture = cwd / "capture"
    proc = _run(site, cwd, ["capture.ticks=3", f"hydra.run.dir={capture}"], "townlet.capture")
    assert proc.returncode == 0, proc.stderr
    assert (capture / "rollout_sample_manifest.json").is_file()
    assert list(capture.glob("rollout_sample_*.npz"))

    evaluation = cwd / "evaluate"
    args = ["evaluate.towns=1", "scenario=queue_conflict", f"hydra.run.dir={evaluation}"]
    proc = _run(site, cwd, args, "townlet.evaluate")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((evaluation / "evaluation.json").read_text())
    assert result["scenario"] == "queue_conflict" and result["towns"] == 1
    assert not (cwd / "outputs").exists()  # every run went where hydra.run.dir said


def test_user_configs_join_through_hydra_searchpath(site: Path, tmp_path: Path) -> None:
    cwd = _elsewhere(tmp_path)
    mine = tmp_path / "myconf"
    (mine / "scenario").mkdir(parents=True)
    (mine / "experiment").mkdir()
    packaged = (site / "townlet" / "conf" / "scenario" / "queue_conflict.yaml").read_text()
    (mine / "scenario" / "my_town.yaml").write_text(
        packaged.replace("\nseed: 5252\n", "\nseed: 77\n"), encoding="utf-8"
    )
    (mine / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /scenario: my_town\nseed: 7\n",
        encoding="utf-8",
    )
    searchpath = f"hydra.searchpath=[{mine.resolve().as_uri()}]"

    # Without the search path the installed package does not know the user's scenario.
    proc = _run(site, cwd, ["scenario=my_town", f"hydra.run.dir={cwd / 'none'}"])
    assert proc.returncode == 2
    assert proc.stderr.startswith("config error: scenario=my_town — unknown option")

    proc = _run(site, cwd, ["scenario=my_town", searchpath, "--cfg", "job"])
    assert proc.returncode == 0, proc.stderr
    assert "  seed: 77\n" in proc.stdout  # the user's scenario file was composed

    run = cwd / "run"
    proc = _run(site, cwd, ["experiment=mine", "debug=fdr", searchpath, f"hydra.run.dir={run}"])
    assert proc.returncode == 0, proc.stderr
    records = read_records(run / "telemetry.ndjson")
    assert records[0]["scenario"] == "my_town" and records[0]["seed"] == 7
    assert (run / "result.json").is_file()
