"""The charter targets (DESIGN §13) and the comparison table ``python -m townlet.evaluate`` prints.

Pure Python over :meth:`EpisodeReport.summary` dicts. A KPI missing from a summary (no agent-day
completed, e.g. an episode shorter than a day) shows as ``-`` and meets no target.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from townlet.telemetry.columns import MetricColumn


@dataclass(frozen=True)
class Target:
    """One charter target: ``summary[key] <op> bound``."""

    key: str
    label: str  # as the charter writes it
    meets: Callable[[float, float], bool]
    bound: float


CHARTER_TARGETS: tuple[Target, ...] = (
    Target("kpi.self_sufficiency", "K1 ≥ 0.70", operator.ge, 0.70),
    Target("kpi.lateness_rate", "lateness < 0.15", operator.lt, 0.15),
    Target("kpi.tie_share", "ties ≥ 0.60", operator.ge, 0.60),
    Target("kpi.conflict_escalation", "escalation < 0.20", operator.lt, 0.20),
    Target("faints_per_agent_day", "0 faints", operator.le, 0.0),
)

# The comparison table's columns after the policy column, headed by their labels.
COLUMNS: tuple[MetricColumn, ...] = (
    MetricColumn("kpi.self_sufficiency", "K1 self-sufficiency", 3),
    MetricColumn("kpi.lateness_rate", "lateness", 3),
    MetricColumn("kpi.attendance", "attendance", 3),
    MetricColumn("kpi.tie_share", "tie share", 3),
    MetricColumn("kpi.conflict_escalation", "escalation", 3),
    MetricColumn("faints_per_agent_day", "faints/agent-day", 3),
    MetricColumn("conflicts_per_agent_day", "conflicts/agent-day", 3),
    MetricColumn("episode_return", "return", 2),
)


def targets_met(summary: Mapping[str, float]) -> dict[str, bool]:
    """Per charter target, keyed by the summary key it reads: whether the summary meets it."""
    return {
        target.key: target.key in summary and target.meets(summary[target.key], target.bound)
        for target in CHARTER_TARGETS
    }


def format_table(rows: Mapping[str, Mapping[str, float]]) -> str:
    """One row per policy name, the columns of :data:`COLUMNS`, right-aligned."""
    name_width = max(len("policy"), *(len(name) for name in rows))
    header = ["policy".ljust(name_width), *(column.label for column in COLUMNS)]
    lines = ["  ".join(header)]
    for name, summary in rows.items():
        cells = [name.ljust(name_width)]
        for column in COLUMNS:
            cells.append(column.text(summary.get(column.key), "-").rjust(len(column.label)))
        lines.append("  ".join(cells))
    return "\n".join(lines)


def targets_line(name: str, summary: Mapping[str, float]) -> str:
    """Which charter targets ``name`` meets, with the measured values."""
    met = targets_met(summary)
    parts = []
    for target in CHARTER_TARGETS:
        value = summary.get(target.key)
        shown = "-" if value is None else f"{value:.3f}"
        parts.append(f"{target.label}: {shown} {'met' if met[target.key] else 'MISSED'}")
    return f"charter targets met by {name}: {sum(met.values())} of {len(met)} ({'; '.join(parts)})"
