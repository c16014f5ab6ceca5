"""The promotion state file (DESIGN §10): pass streak, candidate and history. Torch-free.

A PASS extends the streak, HOLD and FAIL reset it; the candidate (the latest passing run) is
ready once the streak reaches ``required_passes``. The file is JSON and is only ever replaced
whole (temp file in the same folder, fsync, ``os.replace``), so a crash mid-write leaves the
previous state, never a partial file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from townlet.atomic import atomic_write_text
from townlet.config.validate import format_validation_error
from townlet.dto.anneal import AnnealStatus
from townlet.errors import DataError

FileModel = TypeVar("FileModel", bound=BaseModel)

Decision = Literal["PROMOTE", "HOLD", "FAIL"]
# Exit codes of ``python -m townlet.promote``; errors exit 2 as well (see townlet.promote).
EXIT_CODES: dict[Decision, int] = {"PROMOTE": 0, "HOLD": 1, "FAIL": 2}


class PromotionOutcome(BaseModel):
    """One recorded anneal outcome."""

    model_config = ConfigDict(extra="forbid")

    status: AnnealStatus = Field(description="the anneal summary's status")
    reasons: list[str] = Field(default_factory=list, description="the summary's reasons")
    run_dir: str = Field(description="the run that produced it")
    checkpoint: str | None = Field(None, description="that run's final weights")
    timestamp: AwareDatetime = Field(description="when it was recorded")
    pass_streak: int = Field(ge=0, description="the streak right after recording it")


class PromotionCandidate(BaseModel):
    """The latest passing run, promoted once the streak reaches the target."""

    model_config = ConfigDict(extra="forbid")

    run_dir: str = Field(description="the passing run")
    checkpoint: str | None = Field(None, description="its final weights")
    status: Literal["pending", "ready"] = Field(description="ready once the streak is long enough")
    recorded_at: AwareDatetime = Field(description="when its PASS was recorded")


class PromotionState(BaseModel):
    """The whole state file. ``candidate_ready`` is always derived, never trusted from disk."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = Field(1, description="version of this file's layout")
    pass_streak: int = Field(0, ge=0, description="consecutive PASS outcomes, newest last")
    required_passes: int = Field(2, ge=1, description="PASS outcomes in a row needed to promote")
    candidate: PromotionCandidate | None = Field(None, description="the latest passing run")
    candidate_ready: bool = Field(False, description="pass_streak >= required_passes")
    history: list[PromotionOutcome] = Field(default_factory=list, description="oldest first")

    @model_validator(mode="after")
    def _derive_readiness(self) -> Self:
        # Re-derived on every load: an operator who raises required_passes in the file gets the
        # stricter gate, and a hand-written "candidate_ready": true cannot force a promotion.
        self._sync_candidate()
        return self

    def _sync_candidate(self) -> None:
        self.candidate_ready = (
            self.candidate is not None and self.pass_streak >= self.required_passes
        )
        if self.candidate is not None:
            self.candidate.status = "ready" if self.candidate_ready else "pending"

    @property
    def last_outcome(self) -> PromotionOutcome | None:
        return self.history[-1] if self.history else None

    def is_recorded(self, run_dir: str) -> bool:
        """Whether an outcome of ``run_dir`` is already in the history.

        Callers record each run once: counting one PASS twice would open the gate on one run.
        """
        return any(outcome.run_dir == run_dir for outcome in self.history)

    def record(
        self,
        summary_status: AnnealStatus,
        reasons: list[str],
        run_dir: str,
        checkpoint: str | None = None,
        *,
        now: datetime | None = None,
    ) -> PromotionOutcome:
        """Add one anneal outcome (in place) and return it; ``now`` defaults to the UTC clock."""
        stamp = now or datetime.now(UTC)
        streak = self.pass_streak + 1 if summary_status == "PASS" else 0
        try:
            outcome = PromotionOutcome(
                status=summary_status,
                reasons=list(reasons),
                run_dir=run_dir,
                checkpoint=checkpoint,
                timestamp=stamp,
                pass_streak=streak,
            )
        except ValidationError as err:
            raise DataError(
                f"cannot record outcome: {format_validation_error(err, PromotionOutcome)}"
            ) from None
        self.pass_streak = streak
        self.candidate = (
            PromotionCandidate(
                run_dir=run_dir, checkpoint=checkpoint, status="pending", recorded_at=stamp
            )
            if summary_status == "PASS"
            else None  # HOLD and FAIL end the candidacy; the history keeps the old candidate
        )
        self.history.append(outcome)
        self._sync_candidate()
        return outcome


class PromotionDecision(BaseModel):
    """What ``python -m townlet.promote`` reports for a state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Decision
    exit_code: int
    pass_streak: int
    required_passes: int
    candidate_ready: bool
    reasons: list[str]
    candidate: PromotionCandidate | None = None


def decide(state: PromotionState) -> PromotionDecision:
    """PROMOTE when the candidate is ready; FAIL when the last outcome failed; else HOLD.

    Reasons: the last outcome's own reasons when it was HOLD or FAIL, then the streak as
    ``pass_streak_<n>_of_<required>`` (PROMOTE and HOLD), or ``no_recorded_outcomes``.
    """
    last = state.last_outcome
    streak = f"pass_streak_{state.pass_streak}_of_{state.required_passes}"
    if last is not None and last.status == "FAIL":
        decision: Decision = "FAIL"
        reasons = list(last.reasons) or ["anneal_failed"]
    elif state.candidate_ready:
        decision, reasons = "PROMOTE", [streak]
    elif last is None:
        decision, reasons = "HOLD", ["no_recorded_outcomes", streak]
    else:
        # After a HOLD its flags explain the reset streak; after a PASS only the streak matters.
        decision = "HOLD"
        reasons = [*(last.reasons if last.status == "HOLD" else []), streak]
    return PromotionDecision(
        decision=decision,
        exit_code=EXIT_CODES[decision],
        pass_streak=state.pass_streak,
        required_passes=state.required_passes,
        candidate_ready=state.candidate_ready,
        reasons=reasons,
        candidate=state.candidate,
    )


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``, or a one-line DataError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{what} {path}: not UTF-8 text") from None
    except OSError as err:
        raise DataError(f"{what} {path}: cannot read: {err.strerror or err}") from None
    if not text.strip():
        raise DataError(f"{what} {path}: is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{what} {path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{what} {path}: expected a JSON object, found {type(data).__name__}")
    return data


def validate_file_data(
    model: type[FileModel], data: dict[str, Any], what: str, path: Path
) -> FileModel:
    """``data`` read from ``path`` as a ``model``; a bad value is a one-line DataError naming
    ``what`` and the file."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise DataError(f"{what} {path}: {format_validation_error(err, model)}") from None


def parse_state(data: dict[str, Any], path: Path) -> PromotionState:
    """Validate a parsed state file; a bad value is a one-line DataError naming the file."""
    return validate_file_data(PromotionState, data, "promotion state", path)


def load_state(path: str | os.PathLike[str]) -> PromotionState:
    """The state at ``path``; a missing file is a fresh state (nothing recorded yet)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return PromotionState()
    return parse_state(read_json_object(path, "promotion state"), path)


def save_state(path: str | os.PathLike[str], state: PromotionState) -> None:
    """Replace the file at ``path`` with ``state`` atomically (one-line DataError on failure).

    The temp file lives in the target's folder because ``os.replace`` is only atomic within one
    file system; it is fsynced before the rename so the new name never points at missing data.
    """
    path = Path(path)
    payload = state.model_dump_json(indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, payload)
    except OSError as err:
        raise DataError(
            f"promotion state {path}: cannot write: {err.strerror or err}; the previous file, "
            "if any, is unchanged"
        ) from None


def update_state(
    path: str | os.PathLike[str],
    summary_status: AnnealStatus,
    reasons: list[str],
    run_dir: str,
    checkpoint: str | None = None,
) -> PromotionState:
    """Load, record one run's outcome (once per ``run_dir``) and save; returns the new state.

    The anneal runner calls this to fill ``promotion_pass_streak`` and
    ``promotion_candidate_ready`` in its summary. A run already in the history is not counted
    again, so the runner and a later ``python -m townlet.promote SUMMARY`` can share one file.
    """
    state = load_state(path)
    if not state.is_recorded(run_dir):
        state.record(summary_status, reasons, run_dir, checkpoint)
        save_state(path, state)
    return state
