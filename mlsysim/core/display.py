"""Display units: how a quantity is printed for a reader (issue #13, "units a reader expects").

:func:`display_text` is the one place that decides it. A variable may carry its own display unit
(:attr:`mlsysim.core.variables.Var.display_unit`, e.g. ``tokens/s`` for a decode throughput); otherwise the
quantity's dimension decides:

==========================  ===========================================  ============================
dimension                   shown as                                     not as
==========================  ===========================================  ============================
emissions per energy        ``g/kWh``                                    ``mg/Wh``
mass (CO2e)                 ``kg``, or ``t`` from 1,000 kg              ``Mg``, ``Gg``
currency                    ``USD`` with thousands separators            ``kUSD``, ``MUSD``
currency per energy         ``USD/kWh``                                  ``mUSD/Wh``
volume per energy           ``L/kWh``                                    ``mL/Wh``
FLOP per byte               ``FLOP/B`` (no prefix)                       ``mFLOP/B``
time, 2 days or more        ``days`` with thousands separators           ``3.054e+04 d``
==========================  ===========================================  ============================

Anything else returns ``None`` and :func:`mlsysim.core.results.fmt_quantity` keeps its SI-prefix rule.
A display unit whose first word is a count noun (``tokens/s``, ``samples/s``, ``requests/s``) is the
pint unit with ``1`` in its place, printed with the noun.
"""
from __future__ import annotations

import math

from .units import Q_

#: count nouns a display unit may start with ("tokens/s" is "1/s" printed with "tokens")
COUNT_NOUNS = ("tokens", "samples", "requests", "items", "sequences")


def _dim(unit: str):
    return Q_(1.0, unit).dimensionality


def _number(x: float, digits: int) -> str:
    """``x`` with ``digits`` significant figures; whole numbers of 1,000 or more with thousands separators."""
    if not math.isfinite(x):
        return f"{x}"
    if abs(x) >= 1000 and abs(x) < 1e15:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _in_unit(q, unit: str, digits: int, shown: str | None = None) -> str | None:
    noun = unit.split("/", 1)[0].strip()
    pint_unit = unit
    if noun in COUNT_NOUNS:
        pint_unit = "1/" + unit.split("/", 1)[1] if "/" in unit else ""
    try:
        x = float(q.m_as(pint_unit))
    except Exception:  # noqa: BLE001 - not convertible: fall back to the default rule
        return None
    return f"{_number(x, digits)} {shown or unit}".strip()


def _by_dimension(q, digits: int) -> str | None:
    d = q.dimensionality
    if d == _dim("g/kWh"):
        return _in_unit(q, "g/kWh", digits)
    if d == _dim("USD/kWh"):
        return _in_unit(q, "USD/kWh", digits)
    if d == _dim("L/kWh"):
        return _in_unit(q, "L/kWh", digits)
    if d == _dim("FLOP/byte"):
        return _in_unit(q, "FLOP/byte", digits, shown="FLOP/B")
    if d == _dim("USD"):
        x = float(q.m_as("USD"))
        return f"{x:,.0f} USD" if abs(x) >= 1000 else f"{x:.{digits}g} USD"
    if d == _dim("kg"):
        kg = float(q.m_as("kg"))
        return f"{_number(kg / 1000, digits)} t" if abs(kg) >= 1000 else f"{kg:.{digits}g} kg"
    if d == _dim("s"):
        secs = float(q.m_as("s"))
        if abs(secs) >= 2 * 86400:
            return f"{_number(secs / 86400, digits)} days"
    return None


def display_text(q, digits: int = 4, name: str | None = None) -> str | None:
    """The reader's text for a scalar Quantity ``q`` (of the variable ``name``, if known), or ``None`` to let
    the caller's default formatting decide. Arrays, plain numbers and non-finite values return ``None``."""
    if not hasattr(q, "units"):
        return None
    try:
        m = float(q.magnitude)
    except (TypeError, ValueError):
        return None  # an array
    if not math.isfinite(m):
        return None
    if name is not None:
        from .variables import VARIABLES

        v = VARIABLES.get(name)
        unit = getattr(v, "display_unit", "") if v is not None else ""
        if unit:
            text = _in_unit(q, unit, digits)
            if text is not None:
                return text
    if q.dimensionless:
        return None
    return _by_dimension(q, digits)


def plural(count, noun: str) -> str:
    """``"1 output token"``, ``"2 output tokens"``: ``count`` (a number or its text) and the noun."""
    text = str(count)
    try:
        one = float(text.replace(",", "")) == 1
    except ValueError:
        one = False
    return f"{text} {noun}" if one else f"{text} {noun}s"


__all__ = ["COUNT_NOUNS", "display_text", "plural"]
