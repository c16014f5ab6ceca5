"""A catalogue of bad inputs, each given to the real CLI: its exit code, one line, nothing left.

Every case runs ``python -m <module> ...`` as a user does and checks the failure model of
DESIGN §14: the documented exit code (1 for unusable data, 2 for config or usage errors; the
promote CLI exits 2 for any error), exactly one non-empty line on stderr and no traceback
anywhere, and the working folder exactly as it was before, apart from the bad input itself: no
run folder, ``tensorboard/``, ``checkpoints/``, telemetry stream, ``result.json`` or capture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import compose_train, run_cli
from tests.integration.bad_input_files import (
    Assets,
    Build,
    actions,
    corrupt_npy_header,
    cut_checkpoint,
    entry,
    good_sample,
    huge_epoch_line,
    log,
    manifest,
    pickle_payload,
    random_bytes,
    record_line,
    sample,
    scenario_dir,
    scenario_with,
    sidecar,
    state,
    truncated,
)

pytestmark = pytest.mark.filterwarnings("ignore")

QUIET = ("trainer.enable_progress_bar=false", "trainer.enable_model_summary=false")
DATA_ERROR, CONFIG_ERROR = 1, 2
PROMOTE_ERROR = 2  # python -m townlet.promote exits 2 on any error (its --help)


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Assets:
    from townlet.train import train

    run_dir = tmp_path_factory.mktemp("h32")
    overrides = [*QUIET, "data=replay", "trainer.max_epochs=1", "policy.hidden_dim=32"]
    train(compose_train(run_dir, overrides))
    return Assets(h32_checkpoint=run_dir / "checkpoints" / "last.ckpt")


# -- the catalogue ------------------------------------------------------------------------------
def case(module: str, code: int, build: Build, id: str, *marks: pytest.MarkDecorator) -> object:
    return pytest.param(module, code, build, id=id, marks=marks)


def validate_sample(changes: dict[str, np.ndarray | None]) -> Build:
    return lambda folder, _: [str(sample(folder, changes))]


def train_replay(build_manifest: Callable[[Path], Path]) -> Build:
    return lambda folder, _: ["data=replay", f"data.manifest={build_manifest(folder)}"]


DATA, TRAIN, CAPTURE = "townlet.data", "townlet.train", "townlet.capture"
EVALUATE, TELEMETRY, PROMOTE = "townlet.evaluate", "townlet.telemetry", "townlet.promote"
# Train cases cost ~4 s each (the imports); these repeat what others cover, for the slow run.
SLOW = pytest.mark.slow
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="device=gpu works with CUDA")

SAMPLES = [
    case(DATA, DATA_ERROR, validate_sample(actions(10**9)), "sample-action-1e9"),
    case(DATA, DATA_ERROR, validate_sample(actions(np.inf, np.float32)), "sample-action-inf"),
    case(DATA, DATA_ERROR, validate_sample({"rewards": np.full(32, 1e39)}), "sample-reward-1e39"),
    case(DATA, DATA_ERROR, validate_sample({"rewards": None}), "sample-missing-key"),
    case(
        DATA,
        DATA_ERROR,
        validate_sample({"features": np.zeros((31, 81), np.float32)}),
        "sample-shape-mismatch",
    ),
    case(DATA, DATA_ERROR, lambda f, _: [str(corrupt_npy_header(f))], "sample-corrupt-npy-header"),
    case(
        DATA,
        DATA_ERROR,
        lambda f, _: [str(truncated(good_sample(f), 3000))],
        "sample-truncated-npz",
    ),
    case(DATA, DATA_ERROR, sidecar("{oops"), "sample-sidecar-not-json"),
    case(DATA, DATA_ERROR, sidecar(""), "sample-sidecar-empty"),
    case(DATA, DATA_ERROR, sidecar("[1, 2]"), "sample-sidecar-a-list"),
    case(
        TRAIN,
        DATA_ERROR,
        train_replay(lambda f: manifest(f, entry(sample(f, actions(10**9))))),
        "train-sample-action-1e9",
    ),
]

MANIFESTS = [
    case(TRAIN, DATA_ERROR, train_replay(lambda f: manifest(f, "[{not json")), "manifest-not-json"),
    case(
        TRAIN,
        DATA_ERROR,
        train_replay(lambda f: manifest(f, json.dumps([{"sample": "missing.npz"}]))),
        "manifest-missing-file",
    ),
    case(TRAIN, DATA_ERROR, train_replay(lambda f: manifest(f, "[]")), "manifest-empty-list", SLOW),
    case(
        TRAIN,
        DATA_ERROR,
        train_replay(
            lambda f: manifest(
                f, f'!!python/object/apply:os.system ["touch {f / "executed"}"]\n', "m.yaml"
            )
        ),
        "manifest-yaml-python-tag",
    ),
]


def override(id: str, *words: str, marks: tuple[pytest.MarkDecorator, ...] = ()) -> object:
    """A train command line whose overrides alone are the bad input (exit 2)."""
    return case(TRAIN, CONFIG_ERROR, lambda f, _: list(words), id, *marks)


OVERRIDES = [
    override("override-unknown-key", "no_such_key=1"),
    override("override-learning-rate-inf", "strategy.learning_rate=inf", marks=(SLOW,)),
    override("override-clip-param-1.5", "strategy.clip_param=1.5"),
    override("override-data-ticks-0", "data.ticks=0"),
    override("override-max-epochs-negative", "trainer.max_epochs=-1", marks=(SLOW,)),
    override("override-unknown-scenario", "scenario=nope"),
    override("override-unparsable", "trainer.max_epochs=[1", marks=(SLOW,)),
    override("override-device-gpu-without-cuda", "device=gpu", marks=(NO_CUDA,)),
    case(
        TRAIN,
        CONFIG_ERROR,
        lambda f, _: ["data=replay", f"data.manifest={f / 'nowhere.json'}"],
        "override-manifest-not-found",
    ),
    case(CAPTURE, CONFIG_ERROR, lambda f, _: ["capture.ticks=0"], "capture-ticks-0"),
    case(EVALUATE, CONFIG_ERROR, lambda f, _: ["policy=nope"], "evaluate-unknown-probe"),
]


def evaluate_checkpoint(id: str, bad: Callable[[Path, Assets], Path]) -> object:
    """evaluate with ``policy=ckpt:`` a bad checkpoint file (exit 2)."""
    return case(EVALUATE, CONFIG_ERROR, lambda f, a: [f"policy=ckpt:{bad(f, a)}"], id)


CHECKPOINTS = [
    case(TRAIN, CONFIG_ERROR, lambda f, _: [f"ckpt_path={random_bytes(f)}"], "ckpt-random-bytes"),
    case(
        TRAIN,
        CONFIG_ERROR,
        lambda f, a: [f"ckpt_path={cut_checkpoint(f, a)}"],
        "ckpt-truncated",
        SLOW,
    ),
    case(
        TRAIN,
        CONFIG_ERROR,
        lambda f, _: [f"ckpt_path={pickle_payload(f)}"],
        "ckpt-pickle-payload",
        SLOW,
    ),
    case(
        TRAIN, CONFIG_ERROR, lambda f, _: [f"ckpt_path={f / 'missing.ckpt'}"], "ckpt-missing", SLOW
    ),
    case(
        TRAIN,
        CONFIG_ERROR,
        lambda f, a: ["data=replay", f"ckpt_path={a.h32_checkpoint}"],
        "ckpt-other-network",
    ),
    case(
        TRAIN,
        CONFIG_ERROR,
        lambda f, _: ["strategy=bc", "data=rollout", f"ckpt_path={random_bytes(f)}"],
        "ckpt-bc-rollout-random-bytes",
    ),
    case(
        TRAIN,
        CONFIG_ERROR,
        lambda f, _: [f"strategy.init_from={random_bytes(f)}"],
        "init-from-random-bytes",
        SLOW,
    ),
    case(
        TRAIN,
        CONFIG_ERROR,
        lambda f, a: ["data=replay", f"strategy.init_from={a.h32_checkpoint}"],
        "init-from-other-network",
    ),
    evaluate_checkpoint("evaluate-random-bytes", lambda f, _: random_bytes(f)),
    evaluate_checkpoint("evaluate-truncated", cut_checkpoint),
    evaluate_checkpoint("evaluate-pickle-payload", lambda f, _: pickle_payload(f)),
    case(
        CAPTURE,
        CONFIG_ERROR,
        lambda f, _: [f"capture.policy=ckpt:{random_bytes(f)}"],
        "capture-random-bytes",
    ),
]

SCENARIOS = [
    case(
        CAPTURE,
        CONFIG_ERROR,
        lambda f, _: [scenario_dir(f, "ticks: [80\n"), "scenario=broken"],
        "scenario-unparsable",
    ),
    case(
        CAPTURE,
        CONFIG_ERROR,
        lambda f, _: [
            scenario_dir(f, f'ticks: !!python/object/apply:os.system ["touch {f / "executed"}"]\n'),
            "scenario=broken",
        ],
        "scenario-python-tag",
    ),
    case(
        CAPTURE,
        CONFIG_ERROR,
        scenario_with("queue_conflict", "ticks: 80", "ticks: -5"),
        "scenario-ticks-neg",
    ),
    case(
        CAPTURE,
        CONFIG_ERROR,
        scenario_with("employment_punctuality", "end_tick: 30", "end_tick: 100000"),
        "scenario-job-after-day-end",
    ),
]

TELEMETRY_FILES = [
    case(TELEMETRY, DATA_ERROR, lambda f, _: ["validate", str(log(f, ""))], "telemetry-empty"),
    case(
        TELEMETRY,
        DATA_ERROR,
        lambda f, _: ["validate", str(log(f, "{oops\n"))],
        "telemetry-not-json",
    ),
    case(
        TELEMETRY,
        DATA_ERROR,
        lambda f, _: ["validate", str(log(f, huge_epoch_line()))],
        "telemetry-huge-integer",
    ),
    case(
        TELEMETRY,
        DATA_ERROR,
        lambda f, _: ["validate", str(log(f, "[" * 100_000 + "]" * 100_000 + "\n"))],
        "telemetry-deep-nesting",
    ),
    case(
        TELEMETRY,
        DATA_ERROR,
        lambda f, _: ["validate", str(log(f, record_line(telemetry_version=9.9)))],
        "telemetry-wrong-version",
    ),
    case(
        TELEMETRY,
        DATA_ERROR,
        lambda f, _: ["validate", str(f / "missing.ndjson")],
        "telemetry-missing",
    ),
    case(TELEMETRY, DATA_ERROR, lambda f, _: ["watch", str(log(f, "{oops\n"))], "watch-not-json"),
    case(TELEMETRY, DATA_ERROR, lambda f, _: ["summary", str(log(f, ""))], "summary-empty"),
]

PROMOTION = [
    case(PROMOTE, PROMOTE_ERROR, lambda f, _: [str(state(f, "{not json"))], "promote-not-json"),
    case(
        PROMOTE,
        PROMOTE_ERROR,
        lambda f, _: [str(state(f, '{"pass_streak": "many"}'))],
        "promote-types",
    ),
    case(PROMOTE, PROMOTE_ERROR, lambda f, _: [str(state(f, "[1, 2]"))], "promote-a-list"),
    case(PROMOTE, PROMOTE_ERROR, lambda f, _: [str(f / "missing.json")], "promote-missing"),
]

CATALOGUE = [*SAMPLES, *MANIFESTS, *OVERRIDES, *CHECKPOINTS, *SCENARIOS, *TELEMETRY_FILES]
CATALOGUE += PROMOTION
HYDRA_APPS = (TRAIN, CAPTURE, EVALUATE)


def files_under(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*")}


def error_line(stdout: str, stderr: str) -> str:
    """The failure's one line: exactly one non-empty stderr line, and no traceback anywhere.

    The telemetry tools also write their documented ``<file>:<line>: <problem>`` finding for
    the one bad line of a case before that line; at most one such finding is allowed.
    """
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    findings = [line for line in lines if re.match(r"\S+:\d+: ", line)]
    assert len(findings) <= 1, stderr[-3000:]
    rest = [line for line in lines if line not in findings]
    assert len(rest) == 1, stderr[-3000:]
    return rest[0]


@pytest.mark.parametrize(("module", "code", "build"), CATALOGUE)
def test_bad_input(tmp_path: Path, assets: Assets, module: str, code: int, build: Build) -> None:
    args = build(tmp_path, assets)
    if module == DATA:
        args = ["validate", *args]
    if module == TRAIN:
        args = [*QUIET, *args]
    if module in HYDRA_APPS:  # the run folder must not outlive the error
        args = [f"hydra.run.dir={tmp_path / 'run'}", *args]
    before = files_under(tmp_path)
    proc = run_cli(args, cwd=tmp_path, module=module, timeout=120)
    line = error_line(proc.stdout, proc.stderr)
    assert proc.returncode == code, line
    assert files_under(tmp_path) == before, line  # no run folder, capture or stream is left
    assert not (tmp_path / "executed").exists()  # no python tag or pickle ever ran
