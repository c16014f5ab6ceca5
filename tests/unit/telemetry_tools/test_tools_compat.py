"""``validate`` agrees with the older system's validator (DESIGN §7.5) on real and generated files.

The expectations are written out by hand from the old rules, not computed by record_problems:

- every non-blank line is a JSON object, and a file holds at least one record;
- ``telemetry_version`` is a finite number; 1.1 selects the v1.1 rules, 1.0 the v1.0 rules;
- always required, finite numbers: the 15 base keys, the 4 health keys (``clip_fraction_max,
  clip_triggered_minibatches, adv_zero_std_batches, adv_min_std``) and the 4 ``conflict.*`` keys;
- v1.1 also requires 11 finite numbers (``epoch_duration_sec`` … ``queue_conflict_intensity_sum``)
  and ``data_mode`` as a string; a v1.0 record must carry none of those 11 (``data_mode`` may stay);
- once ``baseline_sample_count, baseline_reward_mean, baseline_reward_sum,
  baseline_reward_sum_mean`` are all present, they and ``baseline_log_prob_mean`` (if present)
  are finite numbers; an incomplete set is not checked;
- other keys may hold anything.

``--allow-legacy`` only lets the four health keys be absent (checked when present).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from telemetry_tool_helpers import call, record

HEALTH = {"clip_fraction_max", "clip_triggered_minibatches", "adv_zero_std_batches", "adv_min_std"}
V11_NUMERIC = (
    "epoch_duration_sec", "cycle_id", "batch_entropy_mean", "batch_entropy_std", "grad_norm_max",
    "kl_divergence_max", "reward_advantage_corr", "rollout_ticks", "log_stream_offset",
    "queue_conflict_events", "queue_conflict_intensity_sum",
)  # fmt: skip
LINE = "(line)"  # a problem with the line itself, not with a key


def _v10() -> dict[str, Any]:
    old = {k: v for k, v in record(1).items() if k not in V11_NUMERIC}
    return {**old, "telemetry_version": 1.0}


def _without(*keys: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
    rec = dict(base if base is not None else record(1))
    for key in keys:
        del rec[key]
    return rec


def _with(base: dict[str, Any] | None = None, /, **values: Any) -> dict[str, Any]:
    return {**(base if base is not None else record(1)), **values}


CORE = {"baseline_sample_count": 3.0, "baseline_reward_mean": -0.2, "baseline_reward_sum": -36.0}
CORE_4 = {**CORE, "baseline_reward_sum_mean": -12.0}

# name -> (lines of the file, keys named in strict mode, keys named with --allow-legacy);
# an empty set means "valid" (exit 0), anything else "invalid" (exit 1) naming exactly those keys.
Case = tuple[Callable[[], list[Any]], set[str], set[str]]
GENERATED: dict[str, Case] = {
    "townlet record": (lambda: [record(1), record(2)], set(), set()),
    "missing loss_total": (lambda: [_without("loss_total")], {"loss_total"}, {"loss_total"}),
    "lr as a string": (lambda: [_with(lr="3e-4")], {"lr"}, {"lr"}),
    "NaN kl_divergence": (
        lambda: [_with(kl_divergence=float("nan"))],
        {"kl_divergence"},
        {"kl_divergence"},
    ),
    "Infinity grad_norm_max": (
        lambda: [_with(grad_norm_max=float("inf"))],
        {"grad_norm_max"},
        {"grad_norm_max"},
    ),
    "missing conflict key": (
        lambda: [_without("conflict.rivalry_max_max_avg")],
        {"conflict.rivalry_max_max_avg"},
        {"conflict.rivalry_max_max_avg"},
    ),
    "missing telemetry_version": (
        lambda: [_without("telemetry_version")],
        {"telemetry_version"},
        {"telemetry_version"},
    ),
    "v1.0 record": (lambda: [_v10()], set(), set()),
    "v1.0 record keeping data_mode": (lambda: [_with(_v10(), data_mode="replay")], set(), set()),
    "v1.0 record carrying cycle_id": (
        lambda: [_with(_v10(), cycle_id=0.0)],
        {"cycle_id"},
        {"cycle_id"},
    ),
    "numeric data_mode": (lambda: [_with(data_mode=1.0)], {"data_mode"}, {"data_mode"}),
    "v1.1 without data_mode": (lambda: [_without("data_mode")], {"data_mode"}, {"data_mode"}),
    "an array line": (lambda: [record(1), [1.0, 2.0]], {LINE}, {LINE}),
    "invalid JSON line": (lambda: ['{"epoch": 1.0, "updates":'], {LINE}, {LINE}),
    "empty file": (lambda: [], {LINE}, {LINE}),
    "pre-health v1.1 record": (lambda: [_without(*sorted(HEALTH))], HEALTH, set()),
    "bad health key under legacy": (
        lambda: [_with(_without("adv_min_std"), clip_fraction_max="0.2")],
        {"adv_min_std", "clip_fraction_max"},
        {"clip_fraction_max"},
    ),
    "full baseline set, NaN log-prob": (
        lambda: [_with(**CORE_4, baseline_log_prob_mean=float("nan"))],
        {"baseline_log_prob_mean"},
        {"baseline_log_prob_mean"},
    ),
    "incomplete baseline set": (
        lambda: [_with(**{**CORE, "baseline_reward_sum": "n/a"})],
        set(),
        set(),
    ),
    "extra keys of any type": (
        lambda: [_with(run_id="abc", notes={"a": [1, None]}, custom=float("nan"))],
        set(),
        set(),
    ),
}

UPSTREAM: dict[str, tuple[set[str], set[str]]] = {
    "ppo_conflict_telemetry_v1_1.jsonl": (HEALTH, set()),
    "ppo_epoch_log_v1_0.jsonl": (HEALTH, set()),
    "ppo_soak_queue_conflict.jsonl": (HEALTH, set()),
}


def _named_keys(stderr: list[str], path: Path) -> set[str]:
    """Keys named by ``<file>:<line>: <key>: <problem>`` lines; LINE for line-level problems."""
    named: set[str] = set()
    for line in stderr:
        if line.startswith(f"{path}:") and line[len(str(path)) + 1 :].split(":")[0].isdigit():
            rest = line[len(str(path)) + 1 :].split(": ", 1)[1]
            named.add(LINE if rest.startswith("not a JSON object") else rest.split(": ")[0])
        elif line.startswith(f"{path}: empty file"):
            named.add(LINE)
    return named


def _verdict(path: Path, legacy: bool) -> tuple[int, set[str]]:
    result = call("validate", *(["--allow-legacy"] if legacy else []), path)
    return result.code, _named_keys(result.err_lines, path)


def test_the_table_is_a_dozen_bad_files_and_more() -> None:
    bad = [name for name, (_, strict, _) in GENERATED.items() if strict]
    assert len(bad) >= 12


@pytest.mark.parametrize("name", sorted(GENERATED))
@pytest.mark.parametrize("legacy", [False, True], ids=["strict", "allow-legacy"])
def test_generated_file_verdicts(tmp_path: Path, name: str, legacy: bool) -> None:
    lines, strict_keys, legacy_keys = GENERATED[name]
    path = tmp_path / "case.ndjson"
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines())
    path.write_text(text)
    expected = legacy_keys if legacy else strict_keys
    assert _verdict(path, legacy) == (1 if expected else 0, expected)


@pytest.mark.parametrize("name", sorted(UPSTREAM))
@pytest.mark.parametrize("legacy", [False, True], ids=["strict", "allow-legacy"])
def test_upstream_file_verdicts(upstream_samples: Path, name: str, legacy: bool) -> None:
    strict_keys, legacy_keys = UPSTREAM[name]
    expected = legacy_keys if legacy else strict_keys
    path = upstream_samples / "telemetry" / name
    assert _verdict(path, legacy) == (1 if expected else 0, expected)


def test_every_upstream_file_is_in_the_table(upstream_samples: Path) -> None:
    assert sorted(p.name for p in (upstream_samples / "telemetry").iterdir()) == sorted(UPSTREAM)


@pytest.mark.parametrize(
    ("values", "key"),
    [({"telemetry_version": 1.2}, "telemetry_version"), ({"lr": True}, "lr")],
    ids=["unknown version", "boolean number"],
)
def test_documented_divergences_are_stricter(
    tmp_path: Path, values: dict[str, Any], key: str
) -> None:
    """The old validator read any version >= 1.1 as 1.1 and took booleans for numbers; townlet
    rejects both (docs/telemetry.md, "Compatibility"). Nothing the old system accepts from its
    own writer is affected: it only ever wrote 1.0/1.1 and floats."""
    path = tmp_path / "strict.ndjson"
    path.write_text(json.dumps(_with(**values)) + "\n")
    assert _verdict(path, legacy=False) == (1, {key})
