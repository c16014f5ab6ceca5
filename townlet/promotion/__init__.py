"""Anneal guardrails and the promotion state (DESIGN §10). Pure Python, torch-free.

The CLI is ``python -m townlet.promote`` (also ``python -m townlet.promotion``).
"""

from townlet.dto.anneal import AnnealStatus
from townlet.promotion.checks import checked_summary
from townlet.promotion.guardrails import (
    GUARDRAIL_METRIC_KEYS,
    BaselineTracker,
    StageCheck,
    anneal_status,
    bc_stage_passed,
    drop_flagged,
    loss_flagged,
    ppo_stage_flags,
)
from townlet.promotion.state import (
    EXIT_CODES,
    Decision,
    PromotionCandidate,
    PromotionDecision,
    PromotionOutcome,
    PromotionState,
    decide,
    load_state,
    save_state,
    update_state,
)

__all__ = [
    "EXIT_CODES",
    "GUARDRAIL_METRIC_KEYS",
    "AnnealStatus",
    "BaselineTracker",
    "Decision",
    "PromotionCandidate",
    "PromotionDecision",
    "PromotionOutcome",
    "PromotionState",
    "StageCheck",
    "anneal_status",
    "bc_stage_passed",
    "checked_summary",
    "decide",
    "drop_flagged",
    "load_state",
    "loss_flagged",
    "ppo_stage_flags",
    "save_state",
    "update_state",
]
