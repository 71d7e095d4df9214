"""Domains: the set of values a variable may take, and the one place that checks it.

Every :class:`~.variables.Var` carries a :class:`Domain` (``var.domain``). The engine checks inputs and
outputs of :meth:`EquationSet.evaluate` / :meth:`~EquationSet.solve` against it, and the layers above
(solvers, CLI, sweeps, plots) call :func:`mlsysim.core.variables.validate` (or ``Var.validate``) instead of
writing their own "whole number >= 1" checks.

A :class:`Domain` is a ``str`` subclass equal to its name (``var.domain == "count"`` keeps working) that also
knows its bounds, whether it is integer-valued, its meaning in words (:attr:`Domain.text`), and how to test
scalars and arrays (:meth:`Domain.contains`, :meth:`Domain.check`).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .errors import DomainError

#: Relative tolerance within which a computed count (e.g. 61.99999999999999) counts as a whole number.
COUNT_TOL = 1e-9
#: Floating-point slack at the closed edges of the fraction and >= 1 domains (values are not clipped).
EDGE_TOL = 1e-12


#: Elements per block of an array scan: the block stays in cache across the min, max and whole-number tests.
SCAN_BLOCK = 1 << 15


def _scan(a: np.ndarray, integer: bool):
    """(min, max, all exact whole numbers) of ``a`` in one cache-friendly pass (NaN propagates to min/max).

    ``integer=False`` skips the whole-number test (reported as True).
    """
    flat = a.reshape(-1) if a.flags.c_contiguous else a.ravel()
    n = flat.size
    if n <= SCAN_BLOCK:
        lo, hi = flat.min(), flat.max()
        return lo, hi, (not integer) or bool((flat == np.rint(flat)).all())
    buf = np.empty(SCAN_BLOCK if integer else 0, dtype=flat.dtype)
    eq = np.empty(SCAN_BLOCK if integer else 0, dtype=bool)
    lo, hi, whole = math.inf, -math.inf, True
    for i in range(0, n, SCAN_BLOCK):
        blk = flat[i:i + SCAN_BLOCK]
        bl, bh = blk.min(), blk.max()
        if bl != bl or bh != bh:
            return math.nan, math.nan, whole  # a NaN: reported as such by the caller
        lo, hi = min(lo, bl), max(hi, bh)
        if whole and integer:
            m = blk.size
            np.rint(blk, out=buf[:m])
            np.equal(blk, buf[:m], out=eq[:m])
            whole = bool(eq[:m].all())
    return lo, hi, whole


class Domain(str):
    """A named set of admissible values: ``lower`` (open or closed) to ``upper``, optionally whole numbers.

    Compares and hashes as its name, so ``var.domain in ("count", "count0")`` and ``DOMAINS[var.domain]``
    work as with a plain string.
    """

    text: str
    ok: Callable[[float], bool]
    lower: float  # type: ignore[assignment]  # shadows str.lower on purpose: the domain's lower bound
    lower_open: bool
    upper: float  # type: ignore[assignment]  # shadows str.upper: the upper bound
    integer: bool

    def __new__(cls, name: str, text: str, lower: float = -math.inf, lower_open: bool = True,
                upper: float = math.inf, integer: bool = False):
        self = super().__new__(cls, name)
        self.text = text
        self.lower = lower
        self.lower_open = lower_open
        self.upper = upper
        self.integer = integer
        self.ok = self._fast_test()
        return self

    def _fast_test(self):
        """A predicate on one Python float, specialised to this domain (the scalar hot path)."""
        inf = math.inf
        lo, hi = self.lower, self.upper
        if self.integer:
            slack_lo = self._lo_slack()
            tol = COUNT_TOL

            def ok(x):
                return slack_lo <= x < inf and (x.is_integer() or abs(x - round(x)) <= tol * max(1.0, abs(x)))
            return ok
        if hi < inf:
            top = hi * (1 + EDGE_TOL)
            return (lambda x: lo < x <= top) if self.lower_open else (lambda x: lo <= x <= top)
        if lo == -inf:
            return lambda x: -inf < x < inf
        if self.lower_open:
            return lambda x: lo < x < inf
        slack = self._lo_slack()
        return lambda x: slack <= x < inf

    @property
    def name(self) -> str:
        return str.__str__(self)

    @property
    def sympy_assumptions(self) -> dict:
        """Assumptions for the variable's sympy Symbol (``positive``, ``nonnegative`` or ``real``)."""
        if self.lower == 0 and self.lower_open or self.lower >= 1:
            return {"positive": True}
        if self.lower == 0:
            return {"nonnegative": True}
        return {"real": True}

    # -- tests ------------------------------------------------------------------------------------
    def contains(self, x, *, whole: bool | None = None):
        """Is ``x`` (a float or an array, in base units) in the domain? An array gives a boolean mask.

        ``whole=False`` skips the integer test (a continuous root before it is rounded to a count).
        """
        whole = self.integer if whole is None else whole
        if isinstance(x, np.ndarray):
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(x)
                if self.lower > -math.inf:
                    ok &= (x > self.lower) if self.lower_open else (x >= self._lo_slack())
                if self.upper < math.inf:
                    ok &= x <= self.upper * (1 + EDGE_TOL)
                if whole:
                    ok &= np.abs(x - np.round(x)) <= COUNT_TOL * np.maximum(1.0, np.abs(x))
            return ok
        x = float(x)
        if not math.isfinite(x):
            return False
        if self.lower > -math.inf and not ((x > self.lower) if self.lower_open else (x >= self._lo_slack())):
            return False
        if self.upper < math.inf and x > self.upper * (1 + EDGE_TOL):
            return False
        return not whole or abs(x - round(x)) <= COUNT_TOL * max(1.0, abs(x))

    def _lo_slack(self) -> float:
        # closed lower edges: 1 - 1e-12 for ">= 1" (computed values like 0.9999999999999999), exact 0 for ">= 0"
        if self.lower == 0:
            return 0.0
        return self.lower - (COUNT_TOL if self.integer else EDGE_TOL) * max(1.0, abs(self.lower))

    def check(self, name: str, magnitude, given=None) -> None:
        """Raise :class:`DomainError` naming ``name``, the value and this domain unless ``magnitude`` is in it.

        ``magnitude`` is a float or a numeric array (base units); ``given`` is what the caller passed (for the
        message). Arrays are scanned once for min/max, and once more for whole numbers if integer-valued.
        """
        a = magnitude
        if isinstance(a, (bool, np.bool_)):
            raise DomainError(f"{name} must be {self.text}; got the boolean {a!r}")
        if isinstance(a, np.ndarray):
            if a.dtype.kind not in "fiu":
                raise DomainError(f"{name} must be numeric; got an array of dtype {a.dtype}")
            if a.size == 0:
                raise DomainError(f"{name} is an empty array")
            lo, hi, whole = _scan(a, self.integer and a.dtype.kind == "f")
            if a.dtype.kind == "f" and not (math.isfinite(lo) and math.isfinite(hi)):
                self._fail(name, "contains NaN or infinite values")
            if self.lower > -math.inf:
                if self.lower_open and lo <= self.lower:
                    self._fail(name, f"has a value <= {self.lower:g} (min {lo:g})")
                if not self.lower_open and lo < self._lo_slack():
                    what = "a negative value" if self.lower == 0 else f"a value < {self.lower:g}"
                    self._fail(name, f"has {what} (min {lo:g})")
            if self.upper < math.inf and hi > self.upper * (1 + EDGE_TOL):
                self._fail(name, f"has a value > {self.upper:g} (max {hi:g})")
            if not whole and not bool((np.abs(a - np.round(a)) <= COUNT_TOL * np.maximum(1.0, np.abs(a))).all()):
                self._fail(name, "has non-integer values")  # (exact whole numbers pass the scan's cheap test)
            return
        if type(a) is float and self.ok(a):
            return  # the common case, without the float() round trip below
        try:
            x = float(a)
        except (TypeError, ValueError):
            raise DomainError(f"{name} must be {self.text}; got {given if given is not None else a!r}"
                              f" ({type(a).__name__})") from None
        if not self.contains(x):
            shown = given if given is not None else a
            if hasattr(shown, "units"):
                shown = f"{shown:~C}"
            raise DomainError(f"{name} must be {self.text}; got {shown}")

    def _fail(self, name, what):
        raise DomainError(f"{name} must be {self.text} everywhere; the array given {what}")

    def __repr__(self):
        return f"Domain({self.name!r}: {self.text})"

    def __reduce__(self):  # pickle/deepcopy as the registered singleton
        return (domain, (self.name,))


#: Every domain, by name.
DOMAIN: dict[str, Domain] = {d.name: d for d in (
    Domain("positive", "a finite number > 0", 0.0, True),
    Domain("nonnegative", "a finite number >= 0", 0.0, False),
    Domain("fraction", "a finite number with 0 < x <= 1", 0.0, True, 1.0),
    Domain("ge1", "a finite number >= 1", 1.0, False),
    Domain("count", "a whole number >= 1", 1.0, False, integer=True),
    Domain("count0", "a whole number >= 0", 0.0, False, integer=True),
    Domain("real", "a finite number"),
)}


def domain(name: str) -> Domain:
    """The :class:`Domain` called ``name``; raise ``ValueError`` listing the allowed ones."""
    try:
        return DOMAIN[name]
    except KeyError:
        raise ValueError(f"domain must be one of {list(DOMAIN)}; got {name!r}") from None
