"""Pinned trajectories, rule by rule: each frozen scenario, scripted (1 town) and with random
actions mixed in (3 towns), stepped 120 ticks; every state array, town event, reward term and
observation channel is summed over the trajectory and pinned under the rule that writes it.

A change of behaviour fails the test named after the rule it touched (``[town-mixed-queues]``)
and lists the quantities that moved. Each quantity is pinned by two numbers, its plain sum and
a sum weighted by position (so a swap of agents or objects is seen too), compared to 1e-9
relative: a reordering of float operations passes, any change of outcome does not.

The scenarios are frozen copies (``pinned_scenarios/``), so tuning ``conf/scenario`` does not
move the pins. After an intended change of behaviour, re-record and say why in the commit:

    python tests/unit/sim/test_rule_pins.py        # rewrites rule_pins.json
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from townlet.sim import ACTION_NAMES, FEATURE_NAMES, MAP_CHANNELS, TownVecEnv, load_scenario

HERE = Path(__file__).parent
PIN_FILE = HERE / "rule_pins.json"
SCENARIOS = HERE / "pinned_scenarios"
STEPS = 120
MODES = {"scripted": 1, "mixed": 3}  # mode -> towns

# Which rule writes each state array (DESIGN §9); every array of the state must be listed.
STATE_RULES: dict[str, tuple[str, ...]] = {
    "movement": ("x", "y"),
    "needs": ("needs", "alive"),
    "affordances": ("run_aff", "run_obj", "run_src", "run_elapsed", "run_duration"),
    "queues": (
        "hold_obj", "hold_since", "queue_obj", "queue_seq", "queue_tick", "pending_option",
        "cooldown_until", "stall", "seq",
    ),
    "actions": ("last_action", "last_success"),
    "relationships": ("rivalry", "trust", "familiarity", "tie_rivalry", "last_chat_tick"),
    "employment": (
        "shift_state", "shift_day", "shift_present", "shift_on_time", "shift_arrived",
        "shift_arrived_on_time", "shift_late_flag", "shift_absent_flag", "shift_help",
        "shift_took", "shift_done", "lateness_counter", "wages_withheld", "attendance",
        "attendance_total",
    ),
    "economy": ("wallet", "stock"),
    "perturbations": ("power_until", "water_until"),
    "kpi": ("kpi_tally", "day_ok", "kpi_open"),
    "episodes": ("tick", "episode", "seed", "key", "ctx_reset"),
}  # fmt: skip
# Town events by the rule that emits them; kpi_* events belong to the KPI accounting.
EVENT_RULES: dict[str, tuple[str, ...]] = {
    "queues": ("queue_conflict", "ghost_step", "handover"),
    "affordances": ("shared_meal", "shower_complete", "sleep_complete", "meal_"),
    "employment": ("late_help", "shift_takeover"),
    "relationships": ("chat_",),
    "perturbations": ("utility_outage",),
    "needs": ("faint", "eviction"),
    "kpi": ("kpi_",),
}


def _rule_of_event(key: str) -> str:
    for rule, prefixes in EVENT_RULES.items():
        if key.startswith(prefixes):
            return rule
    raise KeyError(f"event {key!r} has no rule in EVENT_RULES")


class _Sums:
    """Per rule, per quantity: running (sum, position-weighted sum) in float64."""

    def __init__(self) -> None:
        self.sums: dict[str, dict[str, list[float]]] = {}

    def add(self, rule: str, name: str, value: Any) -> None:
        flat = np.asarray(value).astype(np.float64).reshape(-1)
        weights = 1.0 + np.arange(flat.size) % 7
        slot = self.sums.setdefault(rule, {}).setdefault(name, [0.0, 0.0])
        slot[0] += float(flat.sum())
        slot[1] += float(flat @ weights)

    def add_observation(self, obs: dict[str, np.ndarray] | None, prefix: str = "") -> None:
        if obs is None:
            return
        for i, name in enumerate(FEATURE_NAMES):
            self.add("observations", f"{prefix}features.{name}", obs["features"][..., i])
        for i, name in enumerate(MAP_CHANNELS):
            self.add("observations", f"{prefix}map.{name}", obs["map"][:, :, i])
        for i, name in enumerate(ACTION_NAMES):
            self.add("observations", f"{prefix}action_mask.{name}", obs["action_mask"][..., i])


def _scenario(name: str) -> Any:
    if name != "town_short":
        return SCENARIOS / f"{name}.yaml"
    town = load_scenario(SCENARIOS / "town.yaml").model_dump()
    town["ticks"] = 100  # auto-resets within the 120 ticks
    town["perturbations"]["outage_chance"] = 0.05
    town["name"] = "town_short"
    return town


CASES = sorted(p.stem for p in SCENARIOS.glob("*.yaml")) + ["town_short"]


@cache
def trajectory_sums(name: str, mode: str) -> dict[str, dict[str, list[float]]]:
    """The per-rule sums of one scenario's trajectory (the pinned quantities)."""
    env = TownVecEnv(_scenario(name), num_towns=MODES[mode], seed=3)
    rng = np.random.default_rng(7)
    sums = _Sums()
    sums.add_observation(env.reset())
    for _ in range(STEPS):
        actions = env.scripted_actions()
        if mode == "mixed":
            swap = rng.random(actions.shape) < 0.3
            actions = np.where(swap, rng.integers(0, len(ACTION_NAMES), actions.shape), actions)
        obs, rewards, terminated, truncated, info = env.step(actions)
        sums.add_observation(obs)
        sums.add_observation(info["final_observation"], prefix="final_")
        sums.add("rewards", "reward", rewards)
        for term, value in info["reward_terms"].items():
            sums.add("rewards", term, value)
        for key, value in info["events"].items():
            sums.add(_rule_of_event(key), f"event.{key}", value)
        if info["kpi_days"] is not None:
            sums.add("kpi", "kpi_days", info["kpi_days"])
        for key in ("terminated", "truncated"):
            sums.add("episodes", key, terminated if key == "terminated" else truncated)
        for key in ("active", "town_done", "tick", "episode"):
            sums.add("episodes", f"info.{key}", info[key])
        arrays = env.get_state()["arrays"]
        for rule, names in STATE_RULES.items():
            for field in names:
                sums.add(rule, f"state.{field}", arrays.pop(field))
        assert not arrays, f"state arrays without a rule in STATE_RULES: {sorted(arrays)}"
    return sums.sums


PINS: dict[str, dict[str, dict[str, list[float]]]] = (
    json.loads(PIN_FILE.read_text()) if PIN_FILE.is_file() else {}
)
RULES = sorted({*STATE_RULES, *EVENT_RULES, "rewards", "observations"})


def test_every_case_and_rule_is_pinned() -> None:
    assert sorted(PINS) == sorted(f"{name}/{mode}" for name in CASES for mode in MODES)
    for case, rules in PINS.items():
        assert sorted(rules) == RULES, case


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name", CASES)
def test_rule_matches_pin(name: str, mode: str, rule: str) -> None:
    expected = PINS[f"{name}/{mode}"][rule]
    actual = trajectory_sums(name, mode)[rule]
    moved = [
        f"{quantity}: {actual.get(quantity)} (pinned {pinned})"
        for quantity, pinned in sorted(expected.items())
        if quantity not in actual
        or not all(
            math.isclose(a, p, rel_tol=1e-9, abs_tol=1e-9)
            for a, p in zip(actual[quantity], pinned, strict=True)
        )
    ]
    moved += [f"{quantity}: new, not pinned" for quantity in sorted(set(actual) - set(expected))]
    assert not moved, f"rule {rule!r} changed in {name} ({mode}):\n  " + "\n  ".join(moved)


def record() -> None:
    """Recompute every pin and rewrite ``rule_pins.json``."""
    pins = {f"{n}/{m}": trajectory_sums(n, m) for n in CASES for m in MODES}
    PIN_FILE.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(pins)} cases to {PIN_FILE}")


if __name__ == "__main__":
    record()
