"""Named, sourced, overridable assumptions (efficiencies, overlaps, overheads).

No hidden heuristics: a solver's every assumed coefficient is an :class:`Assumption` with a default,
a unit and a Source of kind ``"assumption"`` (or a paper that measured it). Results list the
assumptions they used; callers override any of them by keyword.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .sources import Source, require_source


@dataclass(frozen=True)
class Assumption:
    """An assumed coefficient: ``name`` (a nomenclature variable), default ``value``, ``source``."""

    name: str
    value: Any
    source: Source
    description: str = ""

    def __post_init__(self):
        require_source(self.source, f"assumption {self.name!r}")

    def with_value(self, value) -> "Assumption":
        """The same assumption overridden by the caller (its source says so)."""
        return replace(self, value=value, source=Source("value given by the caller", kind="assumption",
                                                        note=f"overrides the default of {self.value!r}"))

    def __str__(self):
        return f"{self.name} = {self.value} ({self.source})"
