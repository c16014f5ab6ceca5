"""Guardrails (DESIGN §10), each case computed by hand in its comment."""

from __future__ import annotations

import math
from typing import Any

import pytest

from townlet.dto.anneal import AnnealStageResultDTO
from townlet.errors import ConfigError
from townlet.promotion.guardrails import (
    BaselineTracker,
    anneal_status,
    bc_stage_passed,
    ppo_stage_flags,
)

BASE = {"loss_total": 2.0, "queue_conflict_events": 100.0, "queue_conflict_intensity_sum": 40.0}


def bc(cycle: int, accuracy: float, threshold: float = 0.9) -> AnnealStageResultDTO:
    return AnnealStageResultDTO(
        cycle=cycle,
        mode="bc",
        epochs=1,
        dataset="d",
        bc_weight=1.0,
        bc_accuracy=accuracy,
        bc_threshold=threshold,
        bc_passed=bc_stage_passed(accuracy, threshold),
    )


def ppo(cycle: int, **flags: Any) -> AnnealStageResultDTO:
    return AnnealStageResultDTO(
        cycle=cycle, mode="ppo", epochs=2, dataset="d", bc_weight=0.0, **flags
    )


@pytest.mark.parametrize(
    ("accuracy", "threshold", "expected"),
    [(0.95, 0.9, True), (0.9, 0.9, True), (0.8999, 0.9, False), (math.nan, 0.9, False)],
)
def test_bc_stage_passes_at_or_above_threshold(
    accuracy: float, threshold: float, expected: bool
) -> None:
    assert bc_stage_passed(accuracy, threshold) is expected


@pytest.mark.parametrize(
    ("loss", "flagged"),
    [
        (2.2, False),  # |2.2 - 2| / 2 = 0.10: at the tolerance, not above it
        (2.21, True),  # 0.21 / 2 = 0.105 > 0.10
        (1.8, False),  # |1.8 - 2| / 2 = 0.10
        (1.79, True),  # 0.21 / 2 = 0.105: a drop counts as much as a rise
        (math.inf, True),  # divergence is flagged, never "within tolerance"
    ],
)
def test_loss_flag_is_relative_change_above_tolerance(loss: float, flagged: bool) -> None:
    flags = ppo_stage_flags(loss, 100.0, 40.0, BASE)
    assert flags == {"loss_flag": flagged, "queue_flag": False, "intensity_flag": False}


def test_loss_flag_with_negative_baseline_uses_its_magnitude() -> None:
    # |-0.56 - (-0.5)| / |-0.5| = 0.12 > 0.10; |-0.54 + 0.5| / 0.5 = 0.08
    assert ppo_stage_flags(-0.56, None, None, {"loss_total": -0.5})["loss_flag"]
    assert not ppo_stage_flags(-0.54, None, None, {"loss_total": -0.5})["loss_flag"]


def test_zero_loss_baseline_falls_back_to_absolute_change() -> None:
    # Relative change is undefined at 0: |loss - 0| is compared with the tolerance itself.
    assert not ppo_stage_flags(0.05, None, None, {"loss_total": 0.0})["loss_flag"]
    assert not ppo_stage_flags(-0.1, None, None, {"loss_total": 0.0})["loss_flag"]
    assert ppo_stage_flags(0.11, None, None, {"loss_total": 0.0})["loss_flag"]


@pytest.mark.parametrize(
    ("events", "intensity", "queue_flag", "intensity_flag"),
    [
        (85.0, 34.0, False, False),  # floors: 0.85 * 100 = 85 and 0.85 * 40 = 34, not below
        (84.9, 34.0, True, False),
        (85.0, 33.9, False, True),
        (200.0, 80.0, False, False),  # more conflicts than the baseline is never flagged
    ],
)
def test_queue_and_intensity_flag_below_floor(
    events: float, intensity: float, queue_flag: bool, intensity_flag: bool
) -> None:
    flags = ppo_stage_flags(2.0, events, intensity, BASE)
    assert flags == {"loss_flag": False, "queue_flag": queue_flag, "intensity_flag": intensity_flag}


def test_custom_tolerances() -> None:
    # loss: 0.3 / 2 = 0.15 > 0.05; queue floor (1 - 0.5) * 100 = 50 > 49
    flags = ppo_stage_flags(2.3, 49.0, 40.0, BASE, loss_tolerance=0.05, queue_tolerance=0.5)
    assert flags == {"loss_flag": True, "queue_flag": True, "intensity_flag": False}


def test_no_baseline_no_flags_and_missing_metrics_are_not_compared() -> None:
    assert not any(ppo_stage_flags(50.0, 0.0, 0.0, None).values())
    assert not any(ppo_stage_flags(None, None, None, BASE).values())
    # A zero queue baseline gives a zero floor that no count falls below.
    assert not ppo_stage_flags(2.0, 0.0, 0.0, {"queue_conflict_events": 0.0})["queue_flag"]


@pytest.mark.parametrize(("loss_tol", "queue_tol"), [(-0.1, 0.15), (0.1, 1.5), (math.nan, 0.1)])
def test_bad_tolerances_are_config_errors(loss_tol: float, queue_tol: float) -> None:
    with pytest.raises(ConfigError, match="tolerance"):
        ppo_stage_flags(1.0, 1.0, 1.0, BASE, loss_tolerance=loss_tol, queue_tolerance=queue_tol)


def test_status_pass_when_bc_passed_and_nothing_flagged() -> None:
    assert anneal_status([bc(0, 0.95), ppo(1), ppo(2)]) == ("PASS", [])


def test_status_fail_names_each_failed_bc_cycle_and_beats_hold() -> None:
    stages = [bc(0, 0.5), ppo(1, loss_flag=True), bc(2, 0.89)]
    assert anneal_status(stages) == ("FAIL", ["bc_stage_failed_cycle_0", "bc_stage_failed_cycle_2"])


def test_status_hold_lists_flags_in_stage_order() -> None:
    stages = [bc(0, 0.95), ppo(1, queue_flag=True), ppo(3, loss_flag=True, intensity_flag=True)]
    assert anneal_status(stages) == (
        "HOLD",
        ["queue_flag_cycle_1", "loss_flag_cycle_3", "intensity_flag_cycle_3"],
    )


def test_status_of_empty_schedule_is_hold() -> None:
    assert anneal_status([]) == ("HOLD", ["no_stages_run"])


def test_tracker_baseline_is_previous_ppo_stage_on_same_dataset() -> None:
    tracker = BaselineTracker()
    first = tracker.observe("replay", 2.0, 100.0, 40.0)
    assert first.baseline is None and not any(first.flags.values())  # first stage sets it

    other = tracker.observe("capture", 9.0, 1.0, 1.0)  # another dataset: its own baseline
    assert other.baseline is None

    second = tracker.observe("replay", 2.3, 80.0, 40.0)  # 0.3/2 = 0.15 > 0.1; 80 < 85
    assert second.baseline == BASE
    assert second.flags == {"loss_flag": True, "queue_flag": True, "intensity_flag": False}

    third = tracker.observe("replay", 2.3, 80.0, 40.0)  # compared with the 2nd stage: equal
    assert third.baseline == {
        "loss_total": 2.3,
        "queue_conflict_events": 80.0,
        "queue_conflict_intensity_sum": 40.0,
    }
    assert not any(third.flags.values())
    assert set(tracker.as_dict()) == {"replay", "capture"}


def test_tracker_keeps_older_value_for_missing_or_nan_metrics() -> None:
    tracker = BaselineTracker({"d": BASE})
    tracker.update("d", math.nan, None, 30.0)
    assert tracker.get("d") == {**BASE, "queue_conflict_intensity_sum": 30.0}
    tracker.update("empty", None, None, None)
    assert tracker.get("empty") is None  # nothing measured: still no baseline


def test_stage_check_fills_the_stage_dto() -> None:
    tracker = BaselineTracker({"d": BASE})
    check = tracker.observe("d", 2.5, 100.0, 40.0)  # 0.5 / 2 = 0.25 > 0.1
    stage = ppo(4, loss_total=2.5, **check.dto_fields())
    assert (stage.loss_baseline, stage.queue_baseline, stage.intensity_baseline) == (2.0, 100, 40)
    assert stage.loss_flag and not stage.queue_flag
    assert anneal_status([stage]) == ("HOLD", ["loss_flag_cycle_4"])
