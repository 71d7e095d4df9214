"""Variables: the nomenclature as data.

One name, one meaning, one unit, one LaTeX symbol (``shared/design/NOMENCLATURE.md``). Equation sets,
solver arguments, result fields and CLI flags use these names. A :class:`Var` also carries a *domain*
that every input is checked against (positive, non-negative, a fraction in (0, 1], >= 1, a count).
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import DomainError, UnknownVariableError
from .units import Q_, base_unit_of, conversion_factor, unit

#: Relative tolerance within which a computed count (e.g. 61.99999999999999) counts as a whole number.
COUNT_TOL = 1e-9
#: Floating-point slack at the closed edges of the fraction and >= 1 domains (values are not clipped).
EDGE_TOL = 1e-12

#: Allowed domains and their meaning (used in error messages).
DOMAINS = {
    "positive": "a finite number > 0",
    "nonnegative": "a finite number >= 0",
    "fraction": "a finite number with 0 < x <= 1",
    "ge1": "a finite number >= 1",
    "count": "a whole number >= 1",
    "count0": "a whole number >= 0",
    "real": "a finite number",
}


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
        One of :data:`DOMAINS`.
    """

    name: str
    unit: str
    latex: str
    description: str
    domain: str = "positive"
    _symbol: object = field(default=None, repr=False)

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"Var name must be an identifier; got {self.name!r}")
        if self.domain not in DOMAINS:
            raise ValueError(f"Var {self.name}: domain must be one of {list(DOMAINS)}; got {self.domain!r}")
        self.pint_unit = unit(self.unit)
        self.base_unit = base_unit_of(self.pint_unit)
        # factor from base-unit magnitude to reporting-unit magnitude
        self.from_base = conversion_factor(self.base_unit, self.pint_unit)

    @property
    def symbol(self):
        """The sympy Symbol of this variable (created lazily; sympy is imported on first use)."""
        if self._symbol is None:
            import sympy

            kw = {"positive": True} if self.domain in ("positive", "fraction", "ge1", "count") else (
                {"nonnegative": True} if self.domain in ("nonnegative", "count0") else {"real": True})
            self._symbol = sympy.Symbol(self.name, **kw)
        return self._symbol

    @property
    def dimensionless(self) -> bool:
        return bool(self.pint_unit.dimensionless)

    def check(self, magnitude, given=None):
        """Check a base-unit magnitude (float or array) against the domain; raise :class:`DomainError`."""
        a = magnitude
        if isinstance(a, (bool, np.bool_)):
            raise DomainError(f"{self.name} must be {DOMAINS[self.domain]}; got the boolean {a!r}")
        if isinstance(a, np.ndarray):
            if a.dtype.kind not in "fiu":
                raise DomainError(f"{self.name} must be numeric; got an array of dtype {a.dtype}")
            if a.size == 0:
                raise DomainError(f"{self.name} is an empty array")
            d = self.domain
            lo, hi = a.min(), a.max()  # NaN propagates through min/max: two reductions, no temporaries
            if a.dtype.kind == "f" and not (math.isfinite(lo) and math.isfinite(hi)):
                self._fail(a, given, "contains NaN or infinite values")
            if d in ("positive", "count", "fraction") and lo <= 0:
                self._fail(a, given, f"has a value <= 0 (min {lo:g})")
            if d in ("nonnegative", "count0") and lo < 0:
                self._fail(a, given, f"has a negative value (min {lo:g})")
            if d == "fraction" and hi > 1 + EDGE_TOL:
                self._fail(a, given, f"has a value > 1 (max {hi:g})")
            if d == "ge1" and lo < 1 - EDGE_TOL:
                self._fail(a, given, f"has a value < 1 (min {lo:g})")
            if d in ("count", "count0") and a.dtype.kind == "f" and not bool(
                    (np.abs(a - np.round(a)) <= COUNT_TOL * np.maximum(1.0, np.abs(a))).all()):
                self._fail(a, given, "has non-integer values")
            return
        if type(a) is float:
            d = self.domain
            if d == "positive" and 0.0 < a < math.inf:
                return
            if d == "fraction" and 0.0 < a <= 1.0 + EDGE_TOL:
                return
            if d == "nonnegative" and 0.0 <= a < math.inf:
                return
        try:
            x = float(a)
        except (TypeError, ValueError):
            raise DomainError(f"{self.name} must be {DOMAINS[self.domain]}; got {given if given is not None else a!r}"
                              f" ({type(a).__name__})") from None
        d = self.domain
        bad = (not np.isfinite(x)
               or (d in ("positive", "count") and x <= 0)
               or (d in ("nonnegative", "count0") and x < 0)
               or (d == "fraction" and not (0 < x <= 1 + EDGE_TOL))
               or (d == "ge1" and x < 1 - EDGE_TOL)
               or (d in ("count", "count0") and abs(x - round(x)) > COUNT_TOL * max(1.0, abs(x))))
        if bad:
            shown = given if given is not None else a
            if hasattr(shown, "units"):
                shown = f"{shown:~C}"
            raise DomainError(f"{self.name} must be {DOMAINS[self.domain]}; got {shown}")

    def _fail(self, a, given, what):
        raise DomainError(f"{self.name} must be {DOMAINS[self.domain]} everywhere; the array given {what}")

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
        return f"Var({self.name!r}, unit={self.unit!r}, domain={self.domain!r})"


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
