"""Guards against samples that are readable but unsafe to train on, and against broken headers.

Action ids are bounded (a corrupt id must not size the policy head), an npy header that does not
parse is a townlet error, float actions of inf fail the streaming scan cleanly, and values must
stay finite after the cast to float32.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from replay_fixtures import make_arrays, write_sample

from townlet.data import ReplayBatches
from townlet.data.manifest import ManifestEntry
from townlet.data.sample import load_sample
from townlet.data.sample_layout import MAX_ACTION_SPACE
from townlet.data.sample_scan import scan_sample
from townlet.errors import DataError

REPO = Path(__file__).resolve().parents[3]


def _validate(*samples: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "townlet.data", "validate", *map(str, samples)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _rewrite(source: Path, folder: Path, **changes: np.ndarray) -> Path:
    """A copy of ``source`` (npz and sidecar) with some arrays replaced."""
    with np.load(source) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays.update(changes)
    target = folder / source.name
    np.savez(target, **arrays)
    shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    return target


def _scan_error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        scan_sample(ManifestEntry(path))
    return str(info.value)


def test_huge_action_id_in_upstream_sample_fails_validate(
    upstream_samples: Path, tmp_path: Path
) -> None:
    source = upstream_samples / "replay" / "observation_hybrid_sample_base.npz"
    with np.load(source) as archive:
        actions = np.full_like(archive["actions"], 10**9)
    bad = _rewrite(source, tmp_path, actions=actions)
    result = _validate(bad)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"replay sample {bad}: array 'actions' holds id 1000000000; expected ids below "
        f"{MAX_ACTION_SPACE} (the largest action space townlet trains)"
    ]
    assert "array 'actions' holds id 1000000000" in _scan_error(bad)


def test_action_ids_up_to_the_documented_maximum(tmp_path: Path) -> None:
    arrays = make_arrays()
    arrays["actions"] = np.array([0, MAX_ACTION_SPACE - 1])
    assert load_sample(write_sample(tmp_path, "top", arrays=arrays)).max_action_id == 1023
    arrays["actions"] = np.array([0, MAX_ACTION_SPACE])
    path = write_sample(tmp_path, "over", arrays=arrays)
    with pytest.raises(DataError, match=r"'actions' holds id 1024; expected ids below 1024"):
        load_sample(path)


def test_action_ids_bounded_by_declared_action_names_and_mask(tmp_path: Path) -> None:
    arrays = make_arrays()
    arrays["actions"] = np.array([0, 3])
    named = write_sample(tmp_path, "named", arrays=arrays, meta={"action_names": ["a", "b", "c"]})
    message = "array 'actions' holds id 3; expected ids below 3 (the sidecar's action_names)"
    with pytest.raises(DataError) as loaded:
        load_sample(named)
    assert message in str(loaded.value) and message in _scan_error(named)
    arrays["action_mask"] = np.ones((2, 3), dtype=bool)
    masked = write_sample(tmp_path, "masked", arrays=arrays)
    message = "'actions' holds id 3; expected ids below 3 (the width of array 'action_mask')"
    assert message in _scan_error(masked)
    arrays["action_mask"] = np.ones((2, 10**5), dtype=bool)
    wide = write_sample(tmp_path, "wide", arrays=arrays)
    assert "array 'action_mask' has 100000 columns; expected 1 to 1024" in _scan_error(wide)


def _npz_with_header(folder: Path, name: str, header: bytes) -> Path:
    """A sample whose ``name`` member carries ``header`` (npy format 1.0) before its data."""
    path = write_sample(folder, "header")
    with np.load(path) as archive:
        arrays = {n: archive[n] for n in archive.files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for member, value in arrays.items():
            raw = io.BytesIO()
            np.lib.format.write_array(raw, value)
            if member == name:
                padded = header + b" " * (-(len(header) + 11) % 64) + b"\n"
                prefix = b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little")
                raw = io.BytesIO(prefix + padded + value.tobytes())
            out.writestr(f"{member}.npy", raw.getvalue())
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize("name", ["actions", "map"])
def test_corrupted_npy_header_is_a_data_error(tmp_path: Path, name: str) -> None:
    # An unclosed bracket made numpy's header parser raise tokenize.TokenError.
    path = _npz_with_header(
        tmp_path, name, b"{'descr': '<f8', 'fortran_order': False, 'shape': (2,"
    )
    with pytest.raises(DataError) as loaded:
        load_sample(path)
    expected = f"replay sample {path}: array {name!r} cannot be read ("
    assert str(loaded.value).startswith(expected) and "\n" not in str(loaded.value)
    assert _scan_error(path).startswith(expected)
    result = _validate(path)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_non_finite_float_actions_fail_the_streaming_scan(tmp_path: Path, value: float) -> None:
    arrays = make_arrays()
    arrays["actions"] = np.full(2, value)
    path = write_sample(tmp_path, "inf", arrays=arrays)
    expected = (
        f"replay sample {path}: array 'actions' holds non-integer values; expected action ids"
    )
    assert _scan_error(path) == expected
    with pytest.raises(DataError, match="'actions' holds non-integer values"):
        ReplayBatches([ManifestEntry(path)], streaming=True)


@pytest.mark.parametrize("name", ["rewards", "value_preds", "old_log_probs", "features", "map"])
def test_values_must_stay_finite_in_float32(tmp_path: Path, name: str) -> None:
    arrays = make_arrays()
    wide = arrays[name].astype(np.float64)
    wide.reshape(-1)[0] = 1e39
    arrays[name] = wide
    path = write_sample(tmp_path, "wide", arrays=arrays)
    result = _validate(path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"replay sample {path}: array {name!r} holds 1 value(s) beyond the float32 range "
        "(largest magnitude 1e+39); expected numbers that stay finite in float32"
    ]
    arrays[name] = np.full_like(wide, 3.0e38)
    assert np.isfinite(
        load_sample(write_sample(tmp_path, "edge", arrays=arrays)).arrays[name]
    ).all()


def test_upstream_reward_of_1e39_fails_validate(upstream_samples: Path, tmp_path: Path) -> None:
    source = upstream_samples / "replay" / "observation_hybrid_sample_base.npz"
    with np.load(source) as archive:
        rewards = archive["rewards"].astype(np.float64)
    rewards[-1] = 1e39
    bad = _rewrite(source, tmp_path, rewards=rewards)
    result = _validate(bad)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"replay sample {bad}: array 'rewards' holds 1 value(s)")


def test_deeply_nested_sidecar_is_a_data_error(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "deep")
    path.with_suffix(".json").write_text("[" * 100_000)
    with pytest.raises(DataError, match="nests JSON too deeply"):
        load_sample(path)
