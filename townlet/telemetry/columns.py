"""A named number column of a text report: the key it reads, its label and its decimals.

``watch`` prints its fields as ``label=value`` and ``python -m townlet.evaluate`` prints a table
with one column per metric; both show a number fixed-point with the column's decimals, and a
missing one as a placeholder. Torch-free.
"""

from __future__ import annotations

from typing import NamedTuple

from townlet.telemetry.streams import fmt


class MetricColumn(NamedTuple):
    """One reported number: ``key`` in the record or summary, shown as ``label``."""

    key: str
    label: str
    decimals: int

    def text(self, value: float | None, missing: str = "n/a") -> str:
        """``value`` with this column's decimals, or ``missing`` when there is none."""
        return missing if value is None else fmt(value, self.decimals)
