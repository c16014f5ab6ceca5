"""The validate CLIs (exit codes, messages, no tracebacks) and the torch-free import rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from replay_fixtures import make_arrays, write_sample

REPO = Path(__file__).resolve().parents[3]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )


def test_validate_upstream_samples(upstream_samples: Path) -> None:
    samples = sorted(str(p) for p in upstream_samples.glob("*/*.npz"))
    result = _run("-m", "townlet.data", "validate", *samples)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"Sample validation successful: {s}" for s in samples]
    assert result.stderr == ""


def test_validate_reports_each_bad_sample_on_one_line(tmp_path: Path) -> None:
    good = write_sample(tmp_path, "good")
    arrays = make_arrays()
    arrays["value_preds"][0] = float("nan")
    bad = write_sample(tmp_path, "bad", arrays=arrays)
    missing = tmp_path / "missing.npz"
    result = _run("-m", "townlet.data", "validate", str(good), str(bad), str(missing))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"Sample validation successful: {good}"]
    assert result.stderr.splitlines() == [
        f"replay sample {bad}: array 'value_preds' holds 1 non-finite value(s) (NaN or inf); "
        "expected finite numbers",
        f"replay sample {missing}: file not found",
    ]
    assert "Traceback" not in result.stderr


def test_validate_usage_errors_exit_2() -> None:
    assert _run("-m", "townlet.data").returncode == 2
    assert _run("-m", "townlet.data", "validate").returncode == 2
    assert _run("-m", "townlet.data", "frobnicate", "x.npz").returncode == 2


def test_run_replay_wrapper(upstream_samples: Path, tmp_path: Path) -> None:
    sample = upstream_samples / "replay" / "observation_hybrid_sample_base.npz"
    ok = _run("scripts/run_replay.py", str(sample), "--validate")
    assert (ok.returncode, ok.stdout) == (0, f"Sample validation successful: {sample}\n")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 truncated")
    bad = _run("scripts/run_replay.py", str(broken), "--validate")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"replay sample {broken}: is not a readable npz archive")
    assert len(bad.stderr.splitlines()) == 1
    assert _run("scripts/run_replay.py", str(sample)).returncode == 2


def test_format_code_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import townlet.data, townlet.data.sample, townlet.data.manifest, "
        "townlet.data.metrics, townlet.data.batching, townlet.data.__main__\n"
        "assert 'lightning' not in sys.modules\n"
        "print(townlet.data.LIVE_ACTION_COUNT, townlet.data.EMBEDDED_MANIFEST.name)\n"
    )
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["12", "replay_manifest.json"]
    blocked = _run("-c", "import sys; sys.modules['torch'] = None\nimport townlet.data.replay")
    assert blocked.returncode == 1 and "torch" in blocked.stderr  # the blocker itself works


def test_validate_into_a_closed_pipe_is_quiet() -> None:
    samples = sorted(str(p) for p in (REPO / "townlet" / "data" / "embedded").glob("*.npz"))
    samples *= 200  # far more output than a pipe buffers, so writing outlives the reader
    validate = subprocess.Popen(
        [sys.executable, "-m", "townlet.data", "validate", *samples],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert validate.stdout is not None and validate.stderr is not None
    first = validate.stdout.readline()  # like `| head -1`: read one line, close the pipe
    validate.stdout.close()
    stderr = validate.stderr.read()
    assert validate.wait(timeout=60) in (0, 1)
    assert first.startswith("Sample validation successful: ")
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
