"""An anneal summary read back from a file, held against the guardrails (DESIGN §10). Torch-free.

The anneal runner builds its stages and summary with the guardrail functions, so they agree by
construction. A summary that comes from a file (``python -m townlet.promote SUMMARY``) may have
been written by hand or by an older runner, and the promotion gate trusts its ``status``, so it is
checked here once, before it is recorded:

- a BC stage's ``bc_passed`` is what its accuracy and threshold give (filled in when left out);
- each dataset's baselines name only the guardrail metrics;
- ``status`` is what the guardrails make of the stages (and a summary written without reasons
  gets theirs).
"""

from __future__ import annotations

from townlet.dto.anneal import AnnealStageResultDTO, AnnealSummaryDTO
from townlet.errors import DataError
from townlet.promotion.guardrails import GUARDRAIL_METRIC_KEYS, anneal_status, bc_stage_passed


def _settled_stage(
    index: int, stage: AnnealStageResultDTO, problems: list[str]
) -> AnnealStageResultDTO:
    """The stage with a BC outcome that follows from its accuracy and threshold."""
    if stage.mode != "bc" or stage.bc_accuracy is None or stage.bc_threshold is None:
        return stage
    expected = bc_stage_passed(stage.bc_accuracy, stage.bc_threshold)
    if stage.bc_passed is None:
        return stage.model_copy(update={"bc_passed": expected})
    if stage.bc_passed != expected:
        problems.append(
            f"stages.{index}.bc_passed={stage.bc_passed} — contradicts "
            f"bc_accuracy={stage.bc_accuracy} against bc_threshold={stage.bc_threshold}"
        )
    return stage


def _baseline_problems(summary: AnnealSummaryDTO) -> list[str]:
    problems: list[str] = []
    for dataset, values in summary.baselines.items():
        unknown = sorted(set(values) - set(GUARDRAIL_METRIC_KEYS))
        if unknown:
            problems.append(
                f"baselines={summary.baselines} — dataset {dataset!r} has unknown metric(s) "
                f"{', '.join(unknown)}; expected {', '.join(GUARDRAIL_METRIC_KEYS)}"
            )
    return problems


def checked_summary(summary: AnnealSummaryDTO, source: str) -> AnnealSummaryDTO:
    """``summary`` with every BC stage's outcome and its reasons settled, after checking it
    against the guardrails; otherwise a one-line DataError naming ``source`` and the first
    problem."""
    problems: list[str] = []
    stages = [_settled_stage(i, stage, problems) for i, stage in enumerate(summary.stages)]
    reasons = summary.reasons
    if not problems:  # a contradicting stage has no status to compare with
        expected, expected_reasons = anneal_status(stages)
        reasons = reasons or expected_reasons
        if summary.status != expected:
            why = f" ({', '.join(expected_reasons)})" if expected_reasons else ""
            problems.append(
                f"status={summary.status} — disagrees with its stages, which give {expected}{why}"
            )
    problems += _baseline_problems(summary)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise DataError(f"{source}: {problems[0]}{more}")
    return summary.model_copy(update={"stages": stages, "reasons": reasons})
