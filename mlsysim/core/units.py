"""The one application unit registry of mlsysim.

Built from the project's own definitions file (``units.txt`` beside this module), not pint's default
registry: information (byte), compute (FLOP) and currency (USD) are real dimensions here, so
``Q_(1, "byte") + Q_(1, "")`` raises a :class:`~mlsysim.core.errors.UnitError`.

The engine computes in *base units* (second, meter, kilogram, byte, FLOP, USD): every input is
converted once on the way in (:func:`magnitude_in`) and every output is wrapped once on the way out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pint

from .errors import UnitError

_DEFINITIONS = Path(__file__).with_name("units.txt")

ureg = pint.UnitRegistry(
    filename=str(_DEFINITIONS),
    autoconvert_offset_to_baseunit=False,
    cache_folder=None,
)
ureg.formatter.default_format = "~C"
Q_ = ureg.Quantity
Quantity = ureg.Quantity
Unit = ureg.Unit
pint.set_application_registry(ureg)

DimensionalityError = pint.DimensionalityError

_unit_cache: dict[str, pint.Unit] = {}
_factor_cache: dict[tuple, float] = {}
_fast_factors: dict[tuple, float] = {}  # keyed by (UnitsContainer, UnitsContainer)


def unit(spec: str | pint.Unit) -> pint.Unit:
    """Parse a unit string once and cache the :class:`pint.Unit` (a parse costs ~45 us, a hit ~0.1 us).

    Only pint's unit parser is used; the string is never evaluated as code.
    """
    if isinstance(spec, pint.Unit):
        return spec
    try:
        return _unit_cache[spec]
    except KeyError:
        pass
    if not isinstance(spec, str):
        raise UnitError(f"unit must be a string such as 'TB/s'; got {spec!r} ({type(spec).__name__})")
    try:
        u = ureg.Unit(spec)
    except (pint.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError, TypeError,
            ValueError, SyntaxError) as exc:
        raise UnitError(f"unknown or malformed unit {spec!r}: {exc}") from None
    _unit_cache[spec] = u
    return u


def parse_quantity(text: str) -> pint.Quantity:
    """Parse a quantity string from a user (CLI, config file) such as ``"20ms"`` or ``"3.35 TB/s"``.

    Uses pint's own parser (no ``eval``/``sympify``). Raises :class:`UnitError` naming the string.
    """
    if not isinstance(text, str) or not text.strip():
        raise UnitError(f"expected a quantity such as '20 ms' or '3.35 TB/s'; got {text!r}")
    try:
        q = ureg.Quantity(text.strip())
    except Exception as exc:  # pint raises a variety of parser errors
        raise UnitError(f"cannot parse quantity {text!r}: {exc}. Write a number and a unit, e.g. '20 ms'") from None
    if not isinstance(q, pint.Quantity):
        q = ureg.Quantity(q, "")
    return q


def conversion_factor(from_units, to_unit: pint.Unit) -> float:
    """Multiplicative factor from ``from_units`` (a pint Unit or UnitsContainer) to ``to_unit``.

    Cached per pair. All mlsysim units are multiplicative (no offsets), so a factor is exact.
    Raises :class:`UnitError` when the dimensions differ.
    """
    key = (from_units, to_unit)
    try:
        return _factor_cache[key]
    except KeyError:
        pass
    src = ureg.Quantity(1.0, from_units)
    try:
        f = float(src.to(to_unit).magnitude)
    except pint.DimensionalityError:
        raise UnitError(
            f"cannot convert {ureg.Unit(from_units):~P} ({src.dimensionality}) to "
            f"{to_unit:~P} ({to_unit.dimensionality})"
        ) from None
    _factor_cache[key] = f
    return f


def base_unit_of(u: pint.Unit) -> pint.Unit:
    """The base-unit expression the engine computes in for a quantity of unit ``u``."""
    return ureg.Quantity(1.0, u).to_base_units().units  # type: ignore[return-value]  # pint's PlainUnit


def magnitude_in(value, target: pint.Unit, name: str = "value"):
    """Magnitude of ``value`` expressed in ``target`` units (a float or numpy array).

    A plain number is accepted only for dimensionless targets. Raises :class:`UnitError` that names
    ``name``, the value given and the unit expected.
    """
    if isinstance(value, pint.Quantity):
        key = (value._units, target._units)
        f = _fast_factors.get(key)
        if f is None:
            f = conversion_factor_named(value._units, target, name, value)
            _fast_factors[key] = f
        m = value._magnitude
        return m * f if f != 1.0 else m
    if target.dimensionless:
        return value
    raise UnitError(
        f"{name} needs a quantity in {target:~P} ({target.dimensionality}); got the plain number "
        f"{_short(value)}. Pass e.g. Q_({_short(value)}, '{target:~P}')"
    )


def conversion_factor_named(units, target: pint.Unit, name: str, value) -> float:
    key = (units, target)
    f = _factor_cache.get(key)
    if f is not None:
        return f
    try:
        return conversion_factor(units, target)
    except UnitError:
        given = ureg.Quantity(1.0, units)
        raise UnitError(
            f"{name} needs units of {target.dimensionality} (e.g. {target:~P}); got {_short(value)} "
            f"with dimension {given.dimensionality}"
        ) from None


def _short(value) -> str:
    if isinstance(value, np.ndarray) and value.size > 4:
        return f"array(shape={value.shape})"
    return repr(value) if not isinstance(value, pint.Quantity) else f"{value:~P}"


__all__ = ["ureg", "Q_", "Quantity", "Unit", "unit", "parse_quantity", "magnitude_in",
           "conversion_factor", "base_unit_of", "DimensionalityError"]
