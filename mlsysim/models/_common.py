"""Helpers shared by the workload classes: argument checks and precision handling."""
from __future__ import annotations

import numbers

from ..core.errors import DomainError, UnitError
from ..core.precision import bytes_per_element
from ..core.sources import Source, assumption
from ..core.variables import check_count  # noqa: F401  (the one count validator; re-exported for the models)

#: Source given to a model the caller describes without one.
CALLER_ARCHITECTURE = assumption("architecture given by the caller",
                                 "the caller described this model; mlsysim did not check it against a publication")


def _plain(value):
    """A dimensionless pint Quantity as its magnitude; anything else unchanged."""
    if hasattr(value, "units") and hasattr(value, "dimensionless") and value.dimensionless:
        m = value.m_as("")
        return m.item() if hasattr(m, "item") else m
    return value


def check_positive(arg: str, value, *, owner: str = "") -> float:
    """Return ``value`` as a float if it is a finite number > 0; else raise DomainError naming ``arg``."""
    where = f"{owner}: " if owner else ""
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DomainError(f"{where}{arg} must be a finite number > 0; got {value!r} ({type(value).__name__})")
    v = float(value)
    if not (v > 0 and v != float("inf")):
        raise DomainError(f"{where}{arg} must be a finite number > 0; got {value!r}")
    return v


def check_source(source, owner: str) -> Source:
    if source is None:
        return CALLER_ARCHITECTURE
    if not isinstance(source, Source):
        from ..core.errors import SourceError

        raise SourceError(f"{owner}: source must be a mlsysim Source; got {source!r}")
    return source


def element_bytes(precision):
    """Bytes per element for a precision name (``"bf16"``) or a Quantity in bytes."""
    if hasattr(precision, "units"):
        try:
            q = precision.to("byte")
        except Exception:
            raise UnitError(f"precision given as a quantity must be bytes per element; got {precision!r}") from None
        if not float(q.magnitude) > 0:
            raise DomainError(f"bytes per element must be > 0; got {precision!r}")
        return q
    return bytes_per_element(precision)


def fmt_count(x: float) -> str:
    """Compact human count: 70.55B, 124.4M, 22.6K."""
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= div:
            return f"{x / div:.4g}{suffix}"
    return f"{x:.4g}"

