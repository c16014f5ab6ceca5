"""Record the scripted controller's capture of every bundled scenario as reference arrays.

    python scripts/record_capture_reference.py [OUT_DIR]

Runs ``python -m townlet.capture scenario=<name>`` for each ``conf/scenario/*.yaml`` (the
scripted policy, the scenario's own seed and episode length, one town) and folds the capture's
sample files into one compressed ``<name>.npz`` per scenario: every array of every sample under
``<sample>/<key>``, and each JSON sidecar (timestamps dropped) as a string under
``<sample>/meta``. ``tests/integration/test_capture_reference.py`` captures again and compares
against these files, so a restructuring that changes any recorded number fails there. Re-record
(from the commit whose behaviour is the reference) only after an intended change of behaviour,
and say so in the commit message. Default OUT_DIR: ``tests/data/capture_reference``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p.stem for p in (ROOT / "conf" / "scenario").glob("*.yaml"))
# Written at capture time, so they differ between any two captures.
VOLATILE_KEYS = ("timestamp",)


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def fold_capture(folder: Path) -> dict[str, np.ndarray]:
    """Every sample array and JSON sidecar of a capture folder, keyed ``<file stem>/<key>``."""
    arrays: dict[str, np.ndarray] = {}
    for path in sorted(folder.glob("*.npz")):
        with np.load(path, allow_pickle=False) as sample:
            for key in sample.files:
                arrays[f"{path.stem}/{key}"] = sample[key]
    for path in sorted(folder.glob("*.json")):
        meta = _without_volatile(json.loads(path.read_text()))
        arrays[f"{path.stem}/meta"] = np.array(json.dumps(meta, sort_keys=True))
    return arrays


def capture_scenario(name: str, folder: Path) -> dict[str, np.ndarray]:
    """Run the capture CLI for one scenario into ``folder`` and fold what it wrote."""
    subprocess.run(
        [sys.executable, "-m", "townlet.capture", f"scenario={name}", f"hydra.run.dir={folder}"],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return fold_capture(folder)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "capture_reference"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCENARIOS:
            arrays = capture_scenario(name, Path(tmp) / name)
            np.savez_compressed(out / f"{name}.npz", **arrays)  # type: ignore[arg-type]
            print(f"{name}: {len(arrays)} arrays -> {out / f'{name}.npz'}")


if __name__ == "__main__":
    main()
