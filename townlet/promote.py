"""``python -m townlet.promote STATE_OR_SUMMARY``: the promotion gate (DESIGN §10). Torch-free.

Given a promotion state file it reports the decision; given an anneal summary (``result.json``
holding an ``AnnealSummaryDTO``, recognised by its content) it first records the summary into the
state file (``--state``, default ``promotion_state.json`` beside the summary) unless
``--dry-run``. Exit codes: 0 PROMOTE, 1 HOLD, 2 FAIL. Errors (unreadable or corrupt files, bad
usage) also exit 2, because 1 already means HOLD; they are told apart from FAIL by printing
nothing on stdout and one ``python -m townlet.promote: error: …`` line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from townlet.dto.anneal import AnnealSummaryDTO
from townlet.errors import DataError, TownletError
from townlet.promotion.checks import checked_summary
from townlet.promotion.state import (
    PromotionDecision,
    PromotionState,
    decide,
    load_state,
    parse_state,
    read_json_object,
    save_state,
    validate_file_data,
)

PROG = "python -m townlet.promote"
DEFAULT_STATE_NAME = "promotion_state.json"
ERROR_EXIT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Report the promotion decision of a promotion state file, or record an anneal "
            "summary (result.json) into the state first. Exit codes: 0 PROMOTE, 1 HOLD, "
            "2 FAIL; errors also exit 2 with one line on stderr and nothing on stdout."
        ),
    )
    parser.add_argument("path", metavar="STATE_OR_SUMMARY", type=Path, help="JSON file to read")
    parser.add_argument(
        "--state",
        type=Path,
        help=f"state file a summary is recorded into (default: {DEFAULT_STATE_NAME} beside it)",
    )
    parser.add_argument("--format", choices=("human", "json"), default="human")
    parser.add_argument(
        "--dry-run", action="store_true", help="report what recording would give; write nothing"
    )
    return parser


def classify(data: dict[str, Any], path: Path) -> Literal["summary", "state"]:
    """Which of the two inputs a parsed JSON object is, judged by its keys."""
    if data.get("result") == "anneal" or "stages" in data:
        return "summary"
    if {"pass_streak", "required_passes", "history"} & data.keys():
        return "state"
    if data.get("result") == "ppo" or data.get("mode") == "bc":
        kind = "a PPO" if data.get("result") == "ppo" else "a BC"
        raise DataError(f"{path}: {kind} result; only anneal summaries feed promotion")
    raise DataError(
        f"{path}: neither an anneal summary (no 'stages') nor a promotion state (no 'pass_streak')"
    )


def parse_summary(data: dict[str, Any], path: Path) -> AnnealSummaryDTO:
    """The summary in ``data``, checked against the guardrails (one-line DataError if not)."""
    what = "anneal summary"
    summary = validate_file_data(AnnealSummaryDTO, data, what, path)
    return checked_summary(summary, f"{what} {path}")


def _note(message: str) -> None:
    # Notes go to stderr so stdout carries only the decision (one JSON object with --format json).
    print(f"{PROG}: {message}", file=sys.stderr)


def record_summary(summary: AnnealSummaryDTO, state_path: Path, *, dry_run: bool) -> PromotionState:
    """The state after recording ``summary`` once; saved unless ``dry_run``."""
    state = load_state(state_path)
    if state.is_recorded(summary.run_dir):
        # The anneal runner may already have recorded this run into the same file; counting a
        # PASS twice would let one run open the gate.
        _note(f"{summary.run_dir} is already recorded in {state_path}; not counted again")
        return state
    state.record(summary.status, summary.reasons, summary.run_dir, summary.checkpoint)
    if dry_run:
        _note(f"dry run: {state_path} not written (would record {summary.status})")
    else:
        save_state(state_path, state)
        _note(f"recorded {summary.status} of {summary.run_dir} into {state_path}")
    return state


def render(decision: PromotionDecision, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(decision.model_dump(mode="json"))
    lines = [decision.decision, *(f"reason: {reason}" for reason in decision.reasons)]
    if decision.candidate is not None:
        checkpoint = decision.candidate.checkpoint or "no checkpoint recorded"
        status = decision.candidate.status
        lines.append(f"candidate ({status}): {decision.candidate.run_dir} ({checkpoint})")
    return "\n".join(lines)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    target: Path = args.path
    data = read_json_object(target, "file")
    if classify(data, target) == "state":
        if args.state is not None and args.state.resolve() != target.resolve():
            parser.error("--state names the file a summary is recorded into; got a state file")
        state = parse_state(data, target)
    else:
        summary = parse_summary(data, target)
        state_path = args.state if args.state is not None else target.parent / DEFAULT_STATE_NAME
        state = record_summary(summary, state_path, dry_run=args.dry_run)
    decision = decide(state)
    print(render(decision, args.format))
    return decision.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors: argparse prints them and exits 2
    try:
        return run(args, parser)
    except TownletError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return ERROR_EXIT
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # never a traceback (DESIGN §12) unless asked for
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"{PROG}: error: internal error: {type(err).__name__}: {err}", file=sys.stderr)
        return ERROR_EXIT


if __name__ == "__main__":
    sys.exit(main())
