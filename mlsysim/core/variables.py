"""Variables: the nomenclature as data.

One name, one meaning, one unit, one LaTeX symbol (``shared/design/NOMENCLATURE.md``). Equation sets,
solver arguments, result fields and CLI flags use these names. A :class:`Var` also carries a *domain*
that every input is checked against (positive, non-negative, a fraction in (0, 1], >= 1, a count).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .domains import COUNT_TOL, DOMAIN, EDGE_TOL, Domain  # noqa: F401  (COUNT_TOL, EDGE_TOL re-exported)
from .errors import DomainError, UnitError, UnknownVariableError
from .units import Q_, base_unit_of, conversion_factor, magnitude_in, unit

#: Display units of variables whose dimension alone does not say how a reader expects them
#: (:mod:`mlsysim.core.display` handles g/kWh, t, USD, FLOP/B and days by dimension).
DISPLAY_UNITS = {
    "decode_throughput": "tokens/s",
    "tokens_per_second": "tokens/s",
}

#: Allowed domains and their meaning (used in error messages); the checks live in :mod:`.domains`.
DOMAINS = {name: d.text for name, d in DOMAIN.items()}


@dataclass(eq=False)
class Var:
    """A named physical quantity.

    Parameters
    ----------
    name : str
        Canonical name (a Python identifier), e.g. ``memory_bandwidth``.
    unit : str
        Unit the variable is reported in, e.g. ``"byte/s"``; ``""`` for plain numbers.
    latex : str
        LaTeX symbol, e.g. ``r"\\mathrm{BW}"``.
    description : str
        One-line meaning.
    domain : str
        One of :data:`DOMAINS`; stored as its :class:`~.domains.Domain` (which compares equal to the name).
    """

    name: str
    unit: str
    latex: str
    description: str
    domain: Any = "positive"  # a name of DOMAINS; stored as its Domain (a str subclass)
    _symbol: object = field(default=None, repr=False)
    #: unit results are shown in (``"g/kWh"``, ``"tokens/s"``; see :mod:`mlsysim.core.display`); "" lets the
    #: quantity's dimension decide
    display_unit: str = field(default="", repr=False)

    def __post_init__(self):
        if not self.display_unit:
            self.display_unit = DISPLAY_UNITS.get(self.name, "")
        if not self.name.isidentifier():
            raise ValueError(f"Var name must be an identifier; got {self.name!r}")
        if self.domain not in DOMAINS:
            raise ValueError(f"Var {self.name}: domain must be one of {list(DOMAINS)}; got {self.domain!r}")
        self.domain = DOMAIN[self.domain]
        self.pint_unit = unit(self.unit)
        self.base_unit = base_unit_of(self.pint_unit)
        # factor from base-unit magnitude to reporting-unit magnitude
        self.from_base = conversion_factor(self.base_unit, self.pint_unit)
        #: a plain number in base units: a float is taken as it is (the validate hot path)
        self._plain = bool(self.pint_unit.dimensionless) and self.from_base == 1.0 and self.base_unit == self.pint_unit

    @property
    def symbol(self):
        """The sympy Symbol of this variable (created lazily; sympy is imported on first use)."""
        if self._symbol is None:
            import sympy

            self._symbol = sympy.Symbol(self.name, **self.domain.sympy_assumptions)
        return self._symbol

    @property
    def dimensionless(self) -> bool:
        return bool(self.pint_unit.dimensionless)

    def check(self, magnitude, given=None):
        """Check a base-unit magnitude (float or array) against the domain; raise :class:`DomainError`."""
        self.domain.check(self.name, magnitude, given)

    def validate(self, value):
        """Check a value as a user gives it and return its base-unit magnitude (float or float array).

        ``value``: a pint Quantity (any unit of the right dimension), or a plain number / numpy array for a
        dimensionless variable. Raises :class:`UnitError` (wrong dimension, a unit missing, a string or
        list) or :class:`DomainError` (outside the domain: a fractional or zero count, an efficiency above
        1, a negative time, NaN, ...) naming the variable and the value. This is the one validation path:
        the engine's ``evaluate``/``solve``, the solvers, the CLI, sweeps and plots all call it.
        """
        # hot path: a Python float/int, or a Quantity holding one, in the domain
        t = type(value)
        if t is float or t is int:
            if self._plain:
                m = float(value)
                if self.domain.ok(m):
                    return m
        else:
            mag = getattr(value, "_magnitude", None)
            if type(mag) is float or type(mag) is int:
                m = magnitude_in(value, self.base_unit, self.name)
                if type(m) is not float:
                    m = float(m)
                if self.domain.ok(m):
                    return m
        if isinstance(value, (list, tuple)):
            raise UnitError(f"{self.name}: pass a numpy array (inside a Quantity) rather than a {type(value).__name__}")
        if isinstance(value, str):
            raise UnitError(f"{self.name}: got the string {value!r}; pass Q_(value, unit) "
                            f"(parse user strings with mlsysim.core.units.parse_quantity)")
        m = magnitude_in(value, self.base_unit, self.name)
        if isinstance(m, np.ndarray) and m.ndim == 0:
            m = m.item()
        if not isinstance(m, np.ndarray):
            if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, float, np.integer, np.floating)):
                raise DomainError(f"{self.name} must be a number; got {value!r} ({type(value).__name__})")
            m = float(m)
        elif m.dtype.kind in "iu":
            m = m.astype(float)
        self.check(m, value)
        return m

    def quantity(self, base_magnitude):
        """Wrap a base-unit magnitude as a Quantity in this variable's reporting unit."""
        if self.from_base == 1.0:
            return Q_(base_magnitude, self.pint_unit)
        with np.errstate(over="ignore"):
            m = base_magnitude * self.from_base
        if not np.all(np.isfinite(m)) and np.all(np.isfinite(base_magnitude)):
            # the reporting unit would overflow a float (e.g. 1e308 s in microseconds): report in base units
            return Q_(base_magnitude, self.base_unit)
        return Q_(m, self.pint_unit)

    def __repr__(self):
        return f"Var({self.name!r}, unit={self.unit!r}, domain={str(self.domain)!r})"


def check_count(name: str, value, *, minimum: int = 1, owner: str = "", allow_none: bool = False,
                arrays: bool = False):
    """The one count validator: ``value`` as an ``int`` (or an int array if ``arrays``) when it is a whole
    number >= ``minimum``; otherwise :class:`DomainError` (or :class:`UnitError` for a dimensioned
    Quantity) naming ``name``, the value given and what is expected.

    Accepts ints, integral floats (``8.0``), numpy integers and dimensionless Quantities; refuses
    booleans, strings, NaN/inf and fractions (a count is never silently rounded).
    """
    where = f"{owner}: " if owner else ""
    expected = f"a whole number >= {minimum}"
    if value is None:
        if allow_none:
            return None
        raise DomainError(f"{where}{name} must be {expected}; got None")
    given = value
    if hasattr(value, "units") and hasattr(value, "dimensionless"):
        if not value.dimensionless:
            from .errors import UnitError

            raise UnitError(f"{where}{name} is a plain count; got {value!r} with units {value.units:~C}")
        value = value.to("").magnitude
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise DomainError(f"{where}{name} must be {expected}; got {given!r} ({type(given).__name__})")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DomainError(f"{where}{name} must be {expected}; got {given!r} ({type(given).__name__})") from None
    if arr.ndim > 0 and not arrays:
        raise DomainError(f"{where}{name} must be {expected} (one value); got {given!r}")
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < minimum) or np.any(arr != np.round(arr)):
        raise DomainError(f"{where}{name} must be {expected}; got {given!r}")
    return arr.astype(int) if arr.ndim > 0 else int(arr)


#: The registry of every variable, by canonical name.
VARIABLES: dict[str, Var] = {}


def define_var(name: str, unit: str, latex: str, description: str, domain: str = "positive") -> Var:
    """Register a variable (idempotent for an identical definition; a conflicting one raises)."""
    existing = VARIABLES.get(name)
    if existing is not None:
        if (existing.unit, existing.latex, existing.domain) != (unit, latex, domain):
            raise ValueError(f"variable {name!r} is already defined differently: {existing!r}")
        return existing
    v = Var(name, unit, latex, description, domain)
    VARIABLES[name] = v
    return v


def ensure_var(name: str, unit: str, latex: str, description: str, domain: str = "positive") -> Var:
    """Define a variable that several topic modules use, or check that the existing definition agrees.

    Topic modules call this for every name they use, so that each module states its own variables;
    the first definition registers it, and a later one that disagrees on unit, symbol or domain raises
    (one name, one meaning, one unit, one symbol).
    """
    existing = VARIABLES.get(name)
    if existing is None:
        return define_var(name, unit, latex, description, domain)
    if unit_of(existing) != unit_of_str(unit) or existing.domain != domain or existing.latex != latex:
        raise ValueError(f"variable {name!r} is defined twice differently: {existing!r} (symbol {existing.latex!r}) "
                         f"vs unit {unit!r}, symbol {latex!r}, domain {domain!r}")
    return existing


def unit_of(v: Var):
    return v.pint_unit


def unit_of_str(u: str):
    return unit(u)


def var(name: str) -> Var:
    """Look a variable up by name; unknown names raise :class:`UnknownVariableError` with close matches."""
    try:
        return VARIABLES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(VARIABLES), n=4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownVariableError(f"no variable named {name!r}{hint}") from None


def validate(name: str, value):
    """Check ``value`` for the variable ``name`` against its unit and domain; return the base magnitude.

    ``validate("batch_size", 8)`` -> 8.0; ``validate("batch_size", 0.5)`` raises :class:`DomainError`
    ("batch_size must be a whole number >= 1; got 0.5"). See :meth:`Var.validate`.
    """
    return var(name).validate(value)


class _Symbols:
    """``sym.flops`` is the sympy Symbol of the variable ``flops``."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return var(name).symbol


sym = _Symbols()

# ---------------------------------------------------------------- the canonical nomenclature
_D = define_var
# Roofline and Iron Law
_D("flops", "FLOP", "O", "work of one step or inference")
_D("bytes_moved", "byte", "D", "memory traffic of that step")
_D("peak_flops", "FLOP/s", r"R_{\text{peak}}", "device peak compute at the precision used")
_D("memory_bandwidth", "byte/s", r"\mathrm{BW}", "device memory bandwidth")
_D("compute_efficiency", "", r"\eta", "achieved / peak compute", "fraction")
_D("arithmetic_intensity", "FLOP/byte", "I", "flops / bytes_moved")
_D("ridge_point", "FLOP/byte", "I^{*}", "peak_flops / memory_bandwidth")
_D("compute_time", "s", r"T_{\text{comp}}", "time the step's arithmetic takes at the achieved rate")
_D("memory_time", "s", r"T_{\text{mem}}", "time the step's memory traffic takes at full bandwidth")
_D("overhead", "s", r"T_{\text{ovh}}", "fixed per-step cost (launch, dispatch)", "nonnegative")
_D("latency", "s", "T", "time of the step")
_D("throughput", "1/s", "X", "items (samples, tokens) per second")
_D("attainable_flops", "FLOP/s", r"R_{\text{att}}", "roofline-attainable compute rate")
_D("achieved_flops", "FLOP/s", r"R_{\text{ach}}", "compute rate achieved: compute_efficiency * peak_flops")
# Shared by the collectives, parallelism, serving and carbon sets
_D("num_devices", "", r"n_{\text{dev}}", "accelerators in the job", "count")
