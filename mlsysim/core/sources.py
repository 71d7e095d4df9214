"""Sources: every registry value and every equation carries its citation.

As astropy refuses a ``Constant`` without a reference, mlsysim refuses a value or an equation without
a :class:`Source`. Assumed coefficients (efficiencies, overlaps) are still sourced, with kind
``"assumption"`` and the reasoning in ``note``.

Trust levels
------------
A Source's ``kind`` says how far a value can be trusted. :data:`PRIMARY_KINDS` are documents that state
the value themselves (a vendor datasheet, a paper, an official report, a standard, a published
benchmark or measurement); every other kind (``derived``, ``secondary``, ``assumption`` and any kind added
later, such as fitted parameters) is *not primary*: :func:`is_primary` is False for it, and registries
list such values with ``unverified_fields()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import SourceError

KINDS: tuple[str, ...] = ("datasheet", "paper", "report", "standard", "benchmark", "derived", "assumption",
         # press articles, third-party reproductions or summaries of a value the primary source does not
         # itself state (or that could not be checked against it)
         "secondary",
         # a published measurement, or one of ours with its date (``year`` required; ``locator`` says when/how)
         "measurement",
         )

#: kinds whose document states the value itself; every other kind is "not primary"
PRIMARY_KINDS = ("datasheet", "paper", "report", "standard", "benchmark", "measurement")

#: kinds that must explain themselves in ``note``
_NOTE_KINDS = ("derived", "assumption", "secondary")

KINDS = KINDS + ("fit",)  # a parameter fitted to measurements by a script in the repository (mlsysim.calibration)


@dataclass(frozen=True)
class Source:
    """A citation.

    Parameters
    ----------
    citation : str
        Human-readable reference: authors or publisher, title.
    kind : str
        One of :data:`KINDS`: ``datasheet``, ``paper``, ``report``, ``standard``, ``benchmark``,
        ``measurement`` (primary: :data:`PRIMARY_KINDS`), ``derived``, ``assumption``, ``secondary``.
    year : int, optional
        Year of publication (required for every kind but ``derived`` and ``assumption``).
    locator : str, optional
        Where in the document: table, page, equation number.
    url : str, optional
        A URL or document identifier (arXiv id, DOI). Never fetched at run time.
    note : str, optional
        Reasoning for ``derived``/``assumption``/``secondary`` kinds (what the value was derived from, why it
        is assumed, what primary source is missing).
    """

    citation: str
    kind: str
    year: int | None = None
    locator: str = ""
    url: str = ""
    note: str = ""

    def __post_init__(self):
        if not isinstance(self.citation, str) or len(self.citation.strip()) < 3:
            raise SourceError(f"Source.citation must be a non-empty citation text; got {self.citation!r}")
        if self.kind not in KINDS:
            raise SourceError(f"Source.kind must be one of {KINDS}; got {self.kind!r}")
        if self.kind in _NOTE_KINDS:
            if not self.note.strip():
                raise SourceError(
                    f"a Source of kind {self.kind!r} must say how/why in `note` (citation {self.citation!r})")
        elif self.year is None:
            raise SourceError(f"Source {self.citation!r} of kind {self.kind!r} needs a year")
        if self.year is not None and not (1900 <= int(self.year) <= 2100):
            raise SourceError(f"Source.year out of range: {self.year!r}")

    def short(self) -> str:
        """One-line form: citation (year), locator."""
        s = self.citation
        if self.year:
            s += f" ({self.year})"
        if self.locator:
            s += f", {self.locator}"
        return s

    def __str__(self) -> str:
        s = self.short()
        if self.kind in _NOTE_KINDS:
            s += f" [{self.kind}: {self.note}]"
        return s

    @property
    def is_primary(self) -> bool:
        """True when the cited document states the value itself (``kind`` in :data:`PRIMARY_KINDS`)."""
        return self.kind in PRIMARY_KINDS


def is_primary(source: Source) -> bool:
    """True when ``source`` is of a primary kind (:data:`PRIMARY_KINDS`); False for derived, secondary,
    assumed or fitted values."""
    return source.kind in PRIMARY_KINDS


def assumption(citation: str, note: str) -> Source:
    """Shorthand for a ``Source`` of kind ``assumption``."""
    return Source(citation=citation, kind="assumption", note=note)


def secondary(citation: str, year: int, note: str, locator: str = "", url: str = "") -> Source:
    """Shorthand for a ``Source`` of kind ``secondary`` (press, third-party summary); ``note`` says what
    primary source is missing or why the value could not be checked against it."""
    return Source(citation=citation, kind="secondary", year=year, locator=locator, url=url, note=note)


def derived(citation: str, note: str) -> Source:
    """Shorthand for a ``Source`` of kind ``derived`` (say what it was derived from in ``note``)."""
    return Source(citation=citation, kind="derived", note=note)


def require_source(source: Any, what: str) -> Source:
    """Return ``source`` if it is a :class:`Source`, else raise :class:`SourceError` naming ``what``."""
    if not isinstance(source, Source):
        raise SourceError(f"{what} cannot be created without a Source (got {source!r})")
    return source


@dataclass(frozen=True)
class Sourced:
    """A value (usually a pint Quantity) with the :class:`Source` it comes from."""

    value: Any
    source: Source
    note: str = field(default="")

    def __post_init__(self):
        require_source(self.source, f"value {self.value!r}")
