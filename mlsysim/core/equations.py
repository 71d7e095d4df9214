"""The symbolic equation engine: :class:`Equation`, :class:`EquationSet`, results and solutions.

Every relation in mlsysim is written once, as a sympy expression between :class:`~.variables.Var`
symbols with a :class:`~.sources.Source`. From that one definition an :class:`EquationSet` can

* ``evaluate(**knowns)`` forward, on scalars or numpy arrays (lambdified kernels, units converted once
  at the boundary);
* ``solve(unknown, **knowns)`` for any of its variables (symbolic inverse derived once and cached;
  vectorised bracketed root finding where sympy gives up; infeasible targets reported, never returned
  as a wrong number);
* check its own dimensions (``check_dimensions``);
* render itself as LaTeX (``latex``).

``max()``-type relations (compute- vs memory-bound, ...) are *regime equations*: one expression per
regime, combined by ``max`` (the binding regime is the largest) or ``min``. sympy cannot invert
``Max``; the engine inverts each regime separately and keeps the candidate that is consistent.
"""
from __future__ import annotations

import difflib
import itertools
import math
import signal
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import (DomainError, InfeasibleError, MlsysimError, OverdeterminedError, SolveError,
                     UnderdeterminedError, UnitError, UnknownVariableError)
from .sources import Source, require_source
from .units import Q_, magnitude_in
from .variables import DOMAINS as DOMAINS_TEXT
from .variables import VARIABLES, Var, var

#: Time allowed for one symbolic inversion before falling back to numeric root finding [s].
SYMBOLIC_TIME_LIMIT = 3.0
#: Time allowed to invert a fully expanded target (large sets) before going numeric [s]. Closed forms
#: that exist take 5-190 ms (ARCHITECTURE.md); longer means a high-degree polynomial: bracket it numerically.
EXPANDED_TIME_LIMIT = 0.5
#: Relative tolerance used to accept a candidate inverse by substituting it back.
ACCEPT_RTOL = 1e-7


def _sympy():
    import sympy

    return sympy


class Equation:
    """One relation ``lhs = rhs`` (or ``lhs = max/min(regime expressions)``) with its source.

    Parameters
    ----------
    key : str
        Short identifier, unique within a set (used in LaTeX labels ``eq:<set>-<key>``).
    lhs : str
        Name of the variable this equation defines.
    rhs : sympy expression, optional
        Expression in variable symbols (``mlsysim.core.variables.sym``). Give ``rhs`` or ``regimes``.
    regimes : dict[str, sympy expression], optional
        One expression per regime, combined by ``combine`` (``"max"``: the largest binds; ``"min"``).
    source : Source
        Where the relation comes from (required).
    description : str
        One-line human description.
    display : str, optional
        LaTeX of the right-hand side in the author's term order (the textbook form). When given as a
        sympy expression it is checked to equal ``rhs``.
    """

    def __init__(self, key: str, lhs: str, rhs=None, *, source: Source, description: str,
                 regimes: Mapping[str, Any] | None = None, combine: str = "max", display=None,
                 origin: "Equation | None" = None):
        require_source(source, f"equation {key!r}")
        if (rhs is None) == (regimes is None):
            raise ValueError(f"equation {key!r}: give exactly one of rhs or regimes")
        if combine not in ("max", "min"):
            raise ValueError(f"equation {key!r}: combine must be 'max' or 'min'")
        self.key = key
        self.lhs = var(lhs)
        self.source = source
        self.description = description
        self.combine = combine
        self.origin = origin
        if regimes is not None:
            if len(regimes) < 2:
                raise ValueError(f"equation {key!r}: a regime equation needs at least two regimes")
            self.regimes = dict(regimes)
        else:
            self.regimes = None
        self.rhs = rhs
        self.display = display
        sp = _sympy()
        for e in self.branches().values():
            for s in e.free_symbols:
                if s.name not in VARIABLES:
                    raise UnknownVariableError(f"equation {key!r} uses an unregistered symbol {s.name!r}")
        if isinstance(display, sp.Basic):
            if sp.simplify(display - self.expression()) != 0:
                raise ValueError(f"equation {key!r}: display form {display} differs from {self.expression()}")

    # -- structure
    def branches(self) -> dict:
        """``{regime: expr}``; a plain equation has the single regime ``""``."""
        return self.regimes if self.regimes is not None else {"": self.rhs}

    @property
    def is_regime(self) -> bool:
        return self.regimes is not None

    def expression(self):
        """The right-hand side as one sympy expression (``Max``/``Min`` for regime equations)."""
        sp = _sympy()
        if self.regimes is None:
            return self.rhs
        f = sp.Max if self.combine == "max" else sp.Min
        return f(*self.regimes.values(), evaluate=False)

    @property
    def inputs(self) -> frozenset:
        """Names of the variables the right-hand side uses (computed once)."""
        out = self.__dict__.get("_inputs")
        if out is None:
            acc: set[str] = set()
            for e in self.branches().values():
                acc |= {s.name for s in e.free_symbols}
            out = self._inputs = frozenset(acc)
        return out

    def renamed(self, mapping: Mapping[str, str], key: str | None = None, description: str | None = None):
        """The same relation over other variables (e.g. roofline latency for the decode step).

        The relation is still written once: the new equation keeps ``origin`` pointing here and the
        same source.
        """
        sp = _sympy()
        subs = {var(a).symbol: var(b).symbol for a, b in mapping.items()}
        lhs = mapping.get(self.lhs.name, self.lhs.name)
        kw = dict(source=self.source, description=description or self.description,
                  combine=self.combine, origin=self.origin or self)
        if self.regimes is not None:
            return Equation(key or self.key, lhs, regimes={k: e.xreplace(subs) for k, e in self.regimes.items()}, **kw)
        disp = self.display.xreplace(subs) if isinstance(self.display, sp.Basic) else None
        return Equation(key or self.key, lhs, self.rhs.xreplace(subs), display=disp, **kw)

    def latex(self) -> str:
        """``lhs = rhs`` in LaTeX with the nomenclature's symbols."""
        sp = _sympy()
        names = latex_symbol_names()
        if isinstance(self.display, str):
            rhs = self.display
        elif self.display is not None:
            rhs = sp.latex(self.display, symbol_names=names, order="none")
        elif self.regimes is not None:
            parts = [sp.latex(e, symbol_names=names) for e in self.regimes.values()]
            rhs = (r"\max" if self.combine == "max" else r"\min") + r"\left(" + ", ".join(parts) + r"\right)"
        else:
            rhs = sp.latex(self.rhs, symbol_names=names)
        return f"{self.lhs.latex} = {rhs}"

    def __repr__(self):
        return f"Equation({self.key!r}: {self.lhs.name} = {self.expression()})"


def latex_symbol_names() -> dict:
    return {v.symbol: v.latex for v in VARIABLES.values()}


# --------------------------------------------------------------------------- dimension checking

def _dim_of_var(name: str):
    return VARIABLES[name].pint_unit.dimensionality


def expr_dimensionality(expr, where: str = ""):
    """Dimensionality of a sympy expression over Var symbols; raise DimensionError naming the term."""
    from .errors import DimensionError

    sp = _sympy()
    from pint.util import UnitsContainer

    one = UnitsContainer()
    if isinstance(expr, sp.Symbol):
        return _dim_of_var(expr.name)
    if expr.is_Number or expr.is_NumberSymbol:
        return one
    if isinstance(expr, sp.Add):
        dims = [(t, expr_dimensionality(t, where)) for t in expr.args]
        d0 = dims[0][1]
        for t, d in dims[1:]:
            if d != d0:
                raise DimensionError(f"{where}: term {t} has dimension {dict(d) or 'dimensionless'} but "
                                     f"{dims[0][0]} has {dict(d0) or 'dimensionless'}")
        return d0
    if isinstance(expr, sp.Mul):
        d = one
        for t in expr.args:
            d = d * expr_dimensionality(t, where)
        return d
    if isinstance(expr, sp.Pow):
        base, ex = expr.args
        db = expr_dimensionality(base, where)
        if db == one:
            if expr_dimensionality(ex, where) != one:
                raise DimensionError(f"{where}: exponent {ex} must be dimensionless")
            return one
        if not ex.is_Number:
            raise DimensionError(f"{where}: {expr} raises a dimensioned base to a symbolic power")
        return db ** float(ex)
    if isinstance(expr, (sp.Max, sp.Min)):
        dims = [(t, expr_dimensionality(t, where)) for t in expr.args]
        for t, d in dims[1:]:
            if d != dims[0][1]:
                raise DimensionError(f"{where}: {t} and {dims[0][0]} inside {type(expr).__name__} differ in dimension")
        return dims[0][1]
    if isinstance(expr, sp.Piecewise):
        dims = [expr_dimensionality(e, where) for e, _c in expr.args]
        if any(d != dims[0] for d in dims):
            raise DimensionError(f"{where}: branches of {expr} differ in dimension")
        return dims[0]
    if isinstance(expr, (sp.floor, sp.ceiling)):
        return expr_dimensionality(expr.args[0], where)
    if isinstance(expr, sp.Function):
        for a in expr.args:
            if expr_dimensionality(a, where) != one:
                raise DimensionError(f"{where}: argument {a} of {expr.func} must be dimensionless")
        return one
    raise DimensionError(f"{where}: cannot determine the dimension of {expr!r}")


# --------------------------------------------------------------------------- results

class EvalResult(Mapping):
    """Every quantity an :meth:`EquationSet.evaluate` call computed (and the inputs it was given).

    Access by attribute or key: ``out.latency``, ``out["latency"]``; ``out.regime("latency")`` says
    which regime binds ("compute"/"memory"), elementwise for arrays.
    """

    def __init__(self, eqset: "EquationSet", magnitudes: dict, regimes: dict, given: dict):
        self._set = eqset
        self._mag = magnitudes  # name -> base-unit magnitude (derived)
        self._regimes = regimes  # equation key -> index (int or array)
        self._given = given  # name -> Quantity as given
        self._wrapped: dict = {}

    def __getitem__(self, name):
        if name in self._wrapped:
            return self._wrapped[name]
        if name in self._mag:
            q = VARIABLES[name].quantity(self._mag[name])
            self._wrapped[name] = q
            return q
        if name in self._given:
            return self._given[name]
        raise KeyError(name)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self), n=3)
            raise AttributeError(f"{self._set.name} result has no {name!r}"
                                 + (f"; did you mean {', '.join(close)}?" if close else "")) from None

    def __iter__(self):
        return iter(list(self._mag) + [k for k in self._given if k not in self._mag])

    def __len__(self):
        return len(self._mag) + len([k for k in self._given if k not in self._mag])

    def _given_mag(self):
        return self._set._convert(self._given)

    def magnitude(self, name: str):
        """Base-unit magnitude (float or array) of a derived quantity, without wrapping."""
        return self._mag[name]

    def regime(self, name: str):
        """Binding regime of the regime equation defining ``name`` (a str, or an array of str)."""
        eq = self._set.defining(name)
        if not eq.is_regime:
            raise KeyError(f"{name} is not defined by a regime equation")
        idx = self._regimes[eq.key]
        if idx is None:
            idx = self._regimes[eq.key] = self._set._regime_index(eq, {**self._given_mag(), **self._mag})
        labels = list(eq.regimes)
        if np.ndim(idx) == 0:
            return labels[int(idx)]
        return np.asarray(labels, dtype=object)[idx]

    @property
    def regimes(self) -> dict:
        """``{variable: binding regime}`` for every regime equation evaluated."""
        return {self._set.equations[k].lhs.name: self.regime(self._set.equations[k].lhs.name)
                for k in self._regimes}

    def to_dict(self) -> dict:
        """Plain data: ``{name: {"value": magnitude, "unit": str}}`` plus ``regimes``."""
        out = {}
        for k in self:
            q = self[k]
            m = q.magnitude if hasattr(q, "magnitude") else q
            out[k] = {"value": m.tolist() if isinstance(m, np.ndarray) else m,
                      "unit": f"{q.units:~C}" if hasattr(q, "units") else ""}
        regs = self.regimes
        out["regimes"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in regs.items()}
        return out

    def __repr__(self):
        lines = [f"{self._set.name} result:"]
        for k in self._mag:
            lines.append(f"  {k:<22} {fmt_quantity(self[k])}")
        for k, r in self.regimes.items():
            if isinstance(r, np.ndarray):
                vals, counts = np.unique(r.astype(str), return_counts=True)
                r = ", ".join(f"{v}: {c}" for v, c in zip(vals, counts))
            lines.append(f"  regime of {k}: {r}")
        return "\n".join(lines)

    def _repr_html_(self):
        rows = "".join(f"<tr><td><code>{k}</code></td><td>{fmt_quantity(self[k])}</td></tr>" for k in self._mag)
        return f"<table><caption>{self._set.name}</caption>{rows}</table>"


def fmt_quantity(q, digits: int = 4) -> str:
    """Readable text for a scalar or array Quantity (SI prefix chosen for scalars; long times in h/days)."""
    if not hasattr(q, "units"):
        return repr(q)
    m = q.magnitude
    if isinstance(m, np.ndarray) and m.ndim > 0:
        return f"array{m.shape} [{np.nanmin(m):.{digits}g} .. {np.nanmax(m):.{digits}g}] {q.units:~C}"
    q = Q_(float(m), q.units)
    if q.dimensionless or not np.isfinite(q.magnitude) or q.magnitude == 0:
        x = float(q.to("").magnitude) if q.dimensionless else q.magnitude
        if q.dimensionless and np.isfinite(x) and x == round(x) and abs(x) < 1e15:
            return f"{int(round(x)):,}"
        return f"{x:.{digits}g} {'' if q.dimensionless else f'{q.units:~C}'}".strip()
    try:
        if q.check("1/[time]"):
            qc = q.to("1/s")
        elif q.check("[time]"):
            secs = q.m_as("s")
            if secs >= 2 * 86400:
                qc = q.to("day")
            elif secs >= 2 * 3600:
                qc = q.to("h")
            elif secs >= 1:
                qc = q.to("s")
            else:
                qc = q.to("s").to_compact()
        else:
            qc = q.to_compact()
    except Exception:  # to_compact cannot handle every compound unit
        qc = q
    return f"{float(qc.magnitude):.{digits}g} {qc.units:~C}".strip()


class Solution:
    """The value of an unknown found by :meth:`EquationSet.solve`.

    ``value`` is a Quantity (scalar or array; NaN where infeasible for arrays), ``regime`` names the
    binding regime(s), ``feasible``/``reason`` say where and why a target could not be met, and
    ``all`` holds every quantity of the set evaluated at the solution (when computable).
    Quantity-like helpers (``to``, ``m_as``, ``magnitude``, ``units``) delegate to ``value``.
    """

    def __init__(self, unknown: str, value, regime, feasible, reason, all_values: EvalResult | None, method: str,
                 target: str):
        self.unknown = unknown
        self.value = value
        self.regime = regime
        self.feasible = feasible
        self.reason = reason
        self.all = all_values
        self.method = method
        self.target = target

    def to(self, u):
        return self.value.to(u)

    def m_as(self, u):
        return self.value.m_as(u)

    @property
    def magnitude(self):
        return self.value.magnitude

    @property
    def units(self):
        return self.value.units

    def __float__(self):
        if not self.value.dimensionless:
            raise UnitError(f"{self.unknown} has units {self.value.units:~C}; use .m_as(unit) instead of float()")
        return float(self.value.magnitude)

    bound = ""
    #: other values of the unknown that also meet the target (e.g. the second root of a quadratic)
    alternatives: list = []

    def __repr__(self):
        reg = self.regime
        note = ""
        if isinstance(self.bound, str) and self.bound:
            note = {"min": f"; minimum: any larger {self.unknown} also meets {self.target}",
                    "max": f"; maximum: any smaller {self.unknown} also meets {self.target}",
                    "any": f"; {self.target} does not depend on {self.unknown} here"}[self.bound]
        if isinstance(reg, dict):
            reg = ", ".join(f"{k}: {v if not isinstance(v, np.ndarray) else 'array'}" for k, v in reg.items())
        if self.alternatives:
            note += "; also met by " + ", ".join(fmt_quantity(a) for a in self.alternatives)
        return f"Solution({self.unknown} = {fmt_quantity(self.value)}; regime: {reg or '-'}{note}; via {self.method})"

    __str__ = __repr__


# --------------------------------------------------------------------------- the equation set

@dataclass
class _Branch:
    expr: Any
    choices: tuple  # ((eq_key, regime_label), ...)


class _SymbolicTimeout(BaseException):
    """Raised inside sympy when a symbolic inversion runs past its time limit (a BaseException, so that
    sympy's own ``except Exception`` clauses do not swallow it)."""


class _TimeLimit:
    """Interrupt a symbolic computation after ``seconds`` (main thread on POSIX; elsewhere no limit)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.active = False

    def _handler(self, signum, frame):
        # interrupt only sympy's own code: raising inside an unrelated callback (a gc hook) would be
        # ignored there; the timer fires again 50 ms later
        if frame is not None and ("sympy" in frame.f_code.co_filename or "mpmath" in frame.f_code.co_filename):
            raise _SymbolicTimeout

    def __enter__(self):
        if (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()):
            self.old = signal.signal(signal.SIGALRM, self._handler)
            # fire after `seconds`, then every 50 ms: sympy has broad `except` clauses that could swallow
            # one interruption, so keep interrupting until the block is left
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.05)
            self.active = True
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
        return False


class EquationSet:
    """A small system of equations, each defining one variable from others.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"Roofline"``.
    equations : sequence of Equation
        Each defines a distinct variable; the definitions must not form a cycle.
    description : str
        What the set models.
    """

    def __init__(self, name: str, equations: Sequence[Equation], description: str = ""):
        self.name = name
        self.description = description
        self.equations: dict[str, Equation] = {}
        self._by_lhs: dict[str, Equation] = {}
        for eq in equations:
            if eq.key in self.equations:
                raise ValueError(f"{name}: duplicate equation key {eq.key!r}")
            if eq.lhs.name in self._by_lhs:
                raise ValueError(f"{name}: {eq.lhs.name} is defined twice ({self._by_lhs[eq.lhs.name].key}, {eq.key})")
            self.equations[eq.key] = eq
            self._by_lhs[eq.lhs.name] = eq
        self.derived = list(self._by_lhs)
        allv = set()
        for eq in self.equations.values():
            allv |= eq.inputs
        self.inputs = sorted(allv - set(self.derived))
        self.variables = self.inputs + self.derived
        self._order = self._toposort()
        self._fns: dict = {}
        self._plans: dict = {}
        self._deps_cache: dict = {}

    # -- structure ----------------------------------------------------------------------------
    def defining(self, name: str) -> Equation:
        try:
            return self._by_lhs[name]
        except KeyError:
            raise KeyError(f"{name} is not derived in {self.name}") from None

    def var(self, name: str) -> Var:
        return VARIABLES[name]

    def _toposort(self) -> list[str]:
        order, state = [], {}

        def visit(n, path):
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                raise ValueError(f"{self.name}: circular definitions {' -> '.join(path + [n])}")
            state[n] = 1
            for d in sorted(self._by_lhs[n].inputs):
                if d in self._by_lhs:
                    visit(d, path + [n])
            state[n] = 2
            order.append(n)

        for n in self.derived:
            visit(n, [])
        return order

    def input_deps(self, name: str, stop: frozenset = frozenset()) -> frozenset:
        """Leaf variables ``name`` depends on, expanding derived variables not in ``stop``."""
        key = (name, stop)
        if key in self._deps_cache:
            return self._deps_cache[key]
        if name not in self._by_lhs or name in stop:
            out = frozenset([name])
        else:
            acc = set()
            for d in self._by_lhs[name].inputs:
                acc |= self.input_deps(d, stop)
            out = frozenset(acc)
        self._deps_cache[key] = out
        return out

    def check_dimensions(self) -> None:
        """Raise :class:`DimensionError` naming the equation and term that is inconsistent."""
        from .errors import DimensionError

        for eq in self.equations.values():
            want = eq.lhs.pint_unit.dimensionality
            for reg, e in eq.branches().items():
                where = f"{self.name}.{eq.key}" + (f" [{reg}]" if reg else "")
                got = expr_dimensionality(e, where)
                if got != want:
                    raise DimensionError(f"{where}: right-hand side {e} has dimension {dict(got) or 'dimensionless'}"
                                         f" but {eq.lhs.name} is {dict(want) or 'dimensionless'}")

    # -- compiled kernels -----------------------------------------------------------------------
    def _kernel(self, eq: Equation, regime: str):
        k = (eq.key, regime)
        fn = self._fns.get(k)
        if fn is None:
            sp = _sympy()
            e = eq.branches()[regime]
            args = sorted(s.name for s in e.free_symbols)
            f = sp.lambdify([VARIABLES[a].symbol for a in args], e, modules="numpy", cse=True)
            fn = self._fns[k] = (f, args)
        return fn

    # -- input handling -------------------------------------------------------------------------
    def _convert(self, knowns: Mapping[str, Any]) -> dict:
        mags = {}
        for name, value in knowns.items():
            if name not in VARIABLES or name not in self.variables:
                close = difflib.get_close_matches(name, self.variables, n=4)
                raise UnknownVariableError(
                    f"{self.name} has no variable {name!r}" + (f"; did you mean {', '.join(close)}?" if close else
                                                               f"; its variables are {', '.join(self.variables)}"))
            v = VARIABLES[name]
            if isinstance(value, (list, tuple)):
                raise UnitError(f"{name}: pass a numpy array (inside a Quantity) rather than a {type(value).__name__}")
            if isinstance(value, str):
                raise UnitError(f"{name}: got the string {value!r}; pass Q_(value, unit) "
                                f"(parse user strings with mlsysim.core.units.parse_quantity)")
            m = magnitude_in(value, v.base_unit, name)
            if isinstance(m, np.ndarray) and m.ndim == 0:
                m = m.item()
            if not isinstance(m, np.ndarray):
                if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, float, np.integer, np.floating)):
                    raise DomainError(f"{name} must be a number; got {value!r} ({type(value).__name__})")
                m = float(m)
            elif m.dtype.kind in "iu":
                m = m.astype(float)
            v.check(m, value)
            mags[name] = m
        return mags

    # -- forward evaluation ---------------------------------------------------------------------
    def evaluate(self, outputs: Iterable[str] | None = None, **knowns) -> EvalResult:
        """Compute every derived quantity (or only ``outputs``) from the inputs given.

        Inputs are pint Quantities (plain numbers for dimensionless variables); numpy arrays broadcast.
        Giving a derived quantity raises :class:`OverdeterminedError` (use :meth:`solve` to find an
        input from a target); missing inputs raise :class:`UnderdeterminedError` naming them.
        """
        mags = self._convert(knowns)
        given_derived = [k for k in mags if k in self._by_lhs]
        if given_derived:
            raise OverdeterminedError(
                f"{', '.join(given_derived)} {'is' if len(given_derived) == 1 else 'are'} computed by {self.name}; "
                f"evaluate() takes only inputs ({', '.join(self.inputs)}). To find an input that meets a target, "
                f"use solve(unknown, {given_derived[0]}=...)")
        want = list(outputs) if outputs is not None else list(self.derived)
        for w in want:
            if w not in self._by_lhs:
                raise UnknownVariableError(f"{self.name} does not derive {w!r}; it derives {', '.join(self.derived)}")
        missing = {}
        for w in want:
            miss = sorted(self.input_deps(w) - set(mags))
            if miss:
                missing[w] = miss
        if missing:
            allmiss = sorted({m for ms in missing.values() for m in ms})
            raise UnderdeterminedError(
                f"{self.name}.evaluate is missing input(s) {', '.join(allmiss)} "
                f"(needed for {', '.join(missing)}); or pass outputs=[...] to compute only some quantities")
        needed = set()
        for w in want:
            needed |= self._derived_closure(w)
        vals, regs = self._forward(mags, [n for n in self._order if n in needed])
        result = {n: vals[n] for n in self._order if n in needed}
        given_q = {k: knowns[k] for k in knowns}
        return EvalResult(self, result, regs, given_q)

    def _derived_closure(self, name: str, stop=frozenset()) -> frozenset:
        """Derived variables ``name`` is computed from (itself included), not expanding ``stop`` (memoised)."""
        key = ("__closure__", name, frozenset(stop))
        hit = self._deps_cache.get(key)
        if hit is not None:
            return hit
        out = set()
        if name in self._by_lhs and name not in stop:
            out.add(name)
            for d in self._by_lhs[name].inputs:
                out |= self._derived_closure(d, stop)
        out = frozenset(out)
        self._deps_cache[key] = out
        return out

    def _forward(self, mags: dict, order: list[str]):
        """Evaluate ``order`` (derived names, topologically sorted) from base magnitudes in ``mags``."""
        vals = dict(mags)
        regs = {}
        with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
            try:
                for n in order:
                    eq = self._by_lhs[n]
                    if not eq.is_regime:
                        f, args = self._kernel(eq, "")
                        v = f(*[vals[a] for a in args])
                    else:
                        outs = []
                        for r in eq.regimes:
                            f, args = self._kernel(eq, r)
                            outs.append(f(*[vals[a] for a in args]))
                        if any(isinstance(o, np.ndarray) for o in outs):
                            # arrays: the binding regime is recomputed only if asked (EvalResult.regime)
                            v = _combine_values(outs, eq.combine)
                            regs[eq.key] = None
                        else:
                            v, regs[eq.key] = _combine(outs, eq.combine)
                    self._check_output(eq, v)
                    vals[n] = v
            except (FloatingPointError, ZeroDivisionError, OverflowError) as exc:
                raise DomainError(f"{self.name}: evaluating {n} ({self._by_lhs[n].key}) gave a non-finite "
                                  f"result ({exc}); check the inputs' magnitudes") from None
        return vals, regs

    def _check_output(self, eq: Equation, v):
        """A derived value must be finite and in its variable's domain: inconsistent inputs (e.g. more
        local ranks than ranks) or magnitudes beyond float range raise instead of returning nonsense."""
        d = eq.lhs.domain
        if not isinstance(v, np.ndarray):
            if not math.isfinite(v):
                raise DomainError(f"{self.name}: {eq.lhs.name} ({eq.key}) came out {v}; the inputs' magnitudes "
                                  f"are beyond floating-point range")
            try:
                eq.lhs.check(float(v))
            except DomainError:
                raise DomainError(f"{self.name}: {eq.lhs.name} ({eq.key}) came out {float(v):g}, outside its domain "
                                  f"({DOMAINS_TEXT[d]}): the inputs are inconsistent with each other") from None
            return
        if self._maybe_negative(eq):
            lo = v.min()
            if d in ("positive", "count", "fraction", "ge1") and lo <= 0 or d in ("nonnegative", "count0") and lo < 0:
                raise DomainError(f"{self.name}: {eq.lhs.name} ({eq.key}) has values outside its domain "
                                  f"({DOMAINS_TEXT[d]}; min {lo:g}): the inputs are inconsistent with each other")

    def _maybe_negative(self, eq: Equation) -> bool:
        """Can this equation's right-hand side be <= 0 for in-domain inputs? (sympy assumptions; cached)."""
        key = ("__maybe_negative__", eq.key)
        hit = self._fns.get(key)
        if hit is None:
            hit = self._fns[key] = any(not (e.is_positive or (eq.lhs.domain in ("nonnegative", "count0")
                                                            and e.is_nonnegative))
                                       for e in eq.branches().values())
        return hit

    # -- inverse --------------------------------------------------------------------------------
    def solve(self, unknown: str, *, method: str = "auto", on_infeasible: str | None = None, **knowns) -> Solution:
        """Find ``unknown`` such that the given target (a derived quantity among ``knowns``) is met.

        Exactly one derived quantity that depends on ``unknown`` must be given (the target); every
        other leaf it depends on must be known. ``method``: ``"auto"`` (symbolic inverse, cached; numeric
        root finding if sympy fails or times out), ``"symbolic"``, ``"numeric"``.

        An unreachable target raises :class:`InfeasibleError` naming the binding constraint (scalars),
        or yields NaN with a reason per element (arrays; ``on_infeasible="raise"`` raises instead).
        """
        if method not in ("auto", "symbolic", "numeric"):
            raise ValueError(f"method must be 'auto', 'symbolic' or 'numeric'; got {method!r}")
        if not isinstance(unknown, str) or unknown not in self.variables:
            close = difflib.get_close_matches(str(unknown), self.variables, n=4)
            raise UnknownVariableError(f"{self.name} has no variable {unknown!r} to solve for"
                                       + (f"; did you mean {', '.join(close)}?" if close else
                                          f"; its variables are {', '.join(self.variables)}"))
        if unknown in knowns:
            raise OverdeterminedError(f"{unknown} is the unknown; do not also pass it as a known")
        mags = self._convert(knowns)
        plan = self._plan(unknown, frozenset(mags), method)
        if plan["kind"] == "forward":
            order = [n for n in self._order if n in plan["closure"]]
            vals, regs = self._forward(mags, order)
            val = VARIABLES[unknown].quantity(vals[unknown])
            all_values = EvalResult(self, {n: vals[n] for n in order}, regs, dict(knowns))
            return Solution(unknown, val, all_values.regimes, True, "", all_values, "forward", unknown)
        return self._solve_with_plan(plan, unknown, mags, knowns, on_infeasible)

    def _plan(self, unknown: str, known: frozenset, method: str) -> dict:
        key = (unknown, known, method)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        # forward: the unknown is derived and computable from the knowns
        if unknown in self._by_lhs and self.input_deps(unknown, known) <= known:
            extra = sorted(k for k in known if k in self._by_lhs and k in self._derived_closure(unknown, known))
            plan = {"kind": "forward", "closure": self._derived_closure(unknown, known - {unknown}) - set(known)}
            if extra:
                plan["closure"] = self._derived_closure(unknown, known)
            self._plans[key] = plan
            return plan
        stop_for = lambda t: (known - {t}) | {unknown}  # noqa: E731
        targets = [t for t in known if t in self._by_lhs and unknown in self.input_deps(t, stop_for(t))]
        if not targets:
            dependents = [d for d in self.derived if unknown in self.input_deps(d)]
            raise UnderdeterminedError(
                f"to solve for {unknown}, give a target value for a quantity that depends on it"
                + (f" (one of {', '.join(dependents)})" if dependents else
                   f"; nothing in {self.name} depends on {unknown}"))
        if len(targets) > 1:
            raise OverdeterminedError(
                f"several targets depend on {unknown}: {', '.join(sorted(targets))}; give only one of them")
        t = targets[0]
        stop = stop_for(t)
        leaves = self.input_deps(t, stop)
        missing = sorted(leaves - known - {unknown})
        if missing:
            raise UnderdeterminedError(f"to solve {t} = target for {unknown}, also give {', '.join(missing)}")
        extra_derived = sorted(k for k in known if k in self._by_lhs and k != t)
        closure_order = [n for n in self._order if n in self._derived_closure(t, stop - {t} | {unknown})]
        branches = self._expand(t, stop)
        args = sorted(leaves - {unknown})
        candidates = []
        floors = []
        numeric = method == "numeric"
        # "expanded" (used by the LaTeX solved forms) inverts the fully expanded target so that the
        # candidates are sympy expressions; "auto"/"symbolic" first try one small inversion per step
        chain = None if (numeric or method == "expanded") else self._chain_candidates(t, unknown, stop, args, method)
        if chain is not None:
            candidates = chain
            floors = [br for br in branches if unknown not in {s.name for s in br.expr.free_symbols}]
        elif not numeric:
            for br in branches:
                if unknown not in {s.name for s in br.expr.free_symbols}:
                    floors.append(br)
                    continue
                sols = self._symbolic_inverse(t, unknown, br.expr, method)
                if sols is None:
                    numeric = True
                    candidates = []
                    break
                for s in sols:
                    candidates.append((br, s, self._lambdify_solution(s, args + [t])))
        else:
            floors = [br for br in branches if unknown not in {s.name for s in br.expr.free_symbols}]
        floor_fns = [(br, self._lambdify_solution(br.expr, args)) for br in floors]
        plan = {"kind": "numeric" if numeric else "symbolic", "target": t, "args": args,
                "candidates": candidates, "floors": floor_fns, "order": closure_order,
                "extra_derived": extra_derived, "branches": branches, "stop": stop}
        self._plans[key] = plan
        return plan

    # -- inversion along a single dependency path -----------------------------------------------------
    def _single_path(self, t: str, unknown: str, stop) -> list | None:
        """``[(node, child), ...]`` from ``t`` down to ``unknown`` when the unknown reaches every node of
        the way through exactly one of its inputs; ``None`` when it reaches some node by several."""
        path, node = [], t
        while node != unknown:
            eq = self._by_lhs[node]
            kids = [c for c in eq.inputs
                    if c == unknown or (c in self._by_lhs and c not in stop and unknown in self.input_deps(c, stop))]
            if len(kids) != 1:
                return None
            path.append((node, kids[0]))
            node = kids[0]
        return path

    _step_cache: dict = {}

    def _step_inverse(self, eq: Equation, regime: str, child: str, method: str):
        """Solutions of ``lhs = branch`` for ``child`` as (lambdified fn(lhs, *others), other names)."""
        key = (id(eq), regime, child)
        hit = EquationSet._step_cache.get(key)
        if hit is not None:
            return hit
        e = eq.branches()[regime]
        sols = self._symbolic_inverse(eq.lhs.name, child, e, method)
        out = []
        if sols:
            for sol in sols:
                others = sorted(x.name for x in sol.free_symbols if x.name != eq.lhs.name)
                out.append((self._lambdify_solution(sol, [eq.lhs.name] + others), others))
        EquationSet._step_cache[key] = (out, sols is None)
        return out, sols is None

    def _chain_candidates(self, t, unknown, stop, args, method):
        """Candidate inverses composed from one small inversion per equation along a single path.

        Each step inverts one equation (one regime branch) for the input through which the unknown
        reaches it; the other inputs of that branch do not depend on the unknown and are computed
        forward from the knowns. Much faster than inverting the fully expanded target for large sets.
        Returns ``None`` (use the expanded form) when the path is not single or a step has no closed form.
        """
        path = self._single_path(t, unknown, stop)
        if path is None:
            return None
        options = []
        sib_needed: set = set()
        for node, child in path:
            eq = self._by_lhs[node]
            opts = []
            for reg, e in eq.branches().items():
                if child not in {x.name for x in e.free_symbols}:
                    continue  # a regime that does not depend on the unknown: a floor, no candidate
                fns, failed = self._step_inverse(eq, reg, child, method)
                if failed:
                    return None
                for fn, others in fns:
                    opts.append((reg if eq.is_regime else None, eq.key, fn, others))
                    for o in others:
                        if o in self._by_lhs and o not in stop:
                            sib_needed |= self._derived_closure(o, stop)
            if not opts:
                return None
            options.append(opts)
        sib_order = [n for n in self._order if n in sib_needed]
        cands = []
        for combo in itertools.product(*options):
            choices = tuple((k, r) for r, k, _f, _o in combo if r is not None)
            steps = [(f, o) for _r, _k, f, o in combo]
            cands.append((_Branch(None, choices), None, _compose(self, steps, args, sib_order)))
        return cands

    def _expand(self, name: str, stop) -> list[_Branch]:
        """All regime combinations of ``name``'s definition expanded down to ``stop``/leaves."""
        eq = self._by_lhs[name]
        out = []
        for reg, e in eq.branches().items():
            subs_opts = []
            for s in sorted(e.free_symbols, key=lambda s: s.name):
                if s.name in self._by_lhs and s.name not in stop:
                    subs_opts.append([(s, b) for b in self._expand(s.name, stop)])
            for combo in itertools.product(*subs_opts):
                expr = e.xreplace({s: b.expr for s, b in combo}) if combo else e
                choices = ((eq.key, reg),) if eq.is_regime else ()
                for _s, b in combo:
                    choices += b.choices
                out.append(_Branch(expr, choices))
        return out

    _inverse_cache: dict = {}

    def _symbolic_inverse(self, target: str, unknown: str, expr, method: str):
        """Solutions of ``target = expr`` for ``unknown`` (list of exprs) or ``None`` to go numeric."""
        sp = _sympy()
        ck = (target, unknown, expr)
        if ck in EquationSet._inverse_cache:
            sols = EquationSet._inverse_cache[ck]
            if sols is None and method == "symbolic":
                raise SolveError(f"sympy found no closed form for {unknown} in {target} = {expr}; use method='numeric'")
            return sols
        u = VARIABLES[unknown].symbol
        tsym = VARIABLES[target].symbol
        try:
            with _TimeLimit(SYMBOLIC_TIME_LIMIT if len(expr.free_symbols) <= 6 else EXPANDED_TIME_LIMIT):
                sols = sp.solve(sp.Eq(tsym, expr), u, dict=False)
        except (NotImplementedError, _SymbolicTimeout, TypeError, ValueError, RecursionError, ZeroDivisionError,
                AttributeError):
            sols = None
        if sols is not None:
            sols = [s for s in sols if not s.has(sp.I) and s.is_real is not False]
            if not sols:
                sols = None
        if sols is None and method == "symbolic":
            raise SolveError(f"sympy found no closed form for {unknown} in {target} = {expr}; use method='numeric'")
        EquationSet._inverse_cache[ck] = sols
        return sols

    def _lambdify_solution(self, expr, args):
        sp = _sympy()
        return sp.lambdify([VARIABLES[a].symbol for a in args], expr, modules="numpy", cse=True)

    def _solve_with_plan(self, plan, unknown, mags, knowns, on_infeasible):
        t = plan["target"]
        args = plan["args"]
        uvar = VARIABLES[unknown]
        arrays = any(isinstance(m, np.ndarray) for m in mags.values())
        if on_infeasible is None:
            on_infeasible = "nan" if arrays else "raise"
        if on_infeasible not in ("raise", "nan"):
            raise ValueError("on_infeasible must be 'raise' or 'nan'")
        shape = np.broadcast_shapes(*[np.shape(m) for m in mags.values()]) if arrays else ()
        target_val = mags[t]

        def forward_at(u):
            local = dict(mags)
            local[unknown] = u
            local.pop(t)
            with np.errstate(all="ignore"):
                vals, regs = self._forward_lenient(local, plan["order"])
            return vals, regs

        if plan["kind"] == "symbolic" and not arrays:
            chosen, found, scalar_vals, alternatives = self._scalar_candidates(plan, unknown, uvar, mags, target_val, t)
            method = "symbolic"
            if not found:
                # no closed-form candidate survived substitution (a lost branch, a regime sympy merged):
                # bracket the root numerically before calling the target infeasible
                chosen, found, alternatives = _numeric_roots_scalar(lambda u: forward_at(u)[0][t], target_val, uvar)
                method = "numeric"
        elif plan["kind"] == "symbolic":
            chosen = np.full(shape, np.nan)
            found = np.zeros(shape, dtype=bool)
            argvals = [mags[a] for a in args]
            for br, _s, fn in plan["candidates"]:
                with np.errstate(all="ignore"):
                    try:
                        u = np.broadcast_to(np.asarray(fn(*argvals, target_val), dtype=complex), shape)
                    except (ZeroDivisionError, OverflowError, TypeError, ValueError):
                        continue
                real_ok = np.abs(u.imag) <= 1e-12 * np.maximum(np.abs(u.real), 1e-300)
                ur = np.where(real_ok, u.real, np.nan)
                ok = real_ok & np.isfinite(ur) & _in_domain(uvar, ur)
                if not ok.any():
                    continue
                vals, _ = forward_at(np.where(ok, ur, 1.0))
                got = vals[t]
                ok &= np.isfinite(got) & (np.abs(got - target_val) <= ACCEPT_RTOL * np.maximum(np.abs(target_val), 1e-300))
                take = ok & ~found
                chosen = np.where(take, ur, chosen)
                found |= take
            method = "symbolic"
        elif not arrays:
            chosen, found, alternatives = _numeric_roots_scalar(lambda u: forward_at(u)[0][t], target_val, uvar)
            method = "numeric"
        else:
            chosen, found = _numeric_root(lambda u: forward_at(u)[0][t], target_val, uvar, shape)
            method = "numeric"

        if arrays:
            alternatives = []
        reasons = None
        if not np.all(found):
            if not arrays:
                self._raise_if_independent(forward_at, unknown, uvar, t, target_val)
            reasons = self._explain(plan, unknown, t, mags, shape, found)
            if on_infeasible == "raise" or not arrays:
                msg = reasons if isinstance(reasons, str) else next(r for r in np.ravel(reasons) if r)
                binding, floor = self._binding(plan, mags, shape)
                raise InfeasibleError(msg, binding=binding, floor=floor)
        if not arrays:
            chosen = float(chosen)
        if arrays or method != "symbolic":
            vals, regs = forward_at(chosen)
        else:
            vals, regs = scalar_vals
        # every other derived value given must agree with the solution (over-determination check)
        known_now = frozenset(mags) | {unknown}
        for d in plan["extra_derived"]:
            stop = known_now - {d}
            if not self.input_deps(d, stop) <= stop:
                continue
            local = dict(mags)
            local.pop(d)
            local[unknown] = chosen
            order = [n for n in self._order if n in self._derived_closure(d, stop)]
            with np.errstate(all="ignore"):
                implied = self._forward_lenient(local, order)[0][d]
            if not np.allclose(implied, mags[d], rtol=1e-6, equal_nan=True):
                dv = VARIABLES[d]
                raise OverdeterminedError(
                    f"{d} = {fmt_quantity(dv.quantity(mags[d]))} was given, but with {unknown} solved from {t} the "
                    f"other inputs imply {d} = {fmt_quantity(dv.quantity(np.asarray(implied)))}; give only one target")
        all_mag = {n: vals[n] for n in plan["order"] if n in vals}
        all_mag[t] = target_val
        all_values = EvalResult(self, all_mag, regs, dict(knowns))
        val = uvar.quantity(chosen)
        feasible = found if arrays else True
        sol = Solution(unknown, val, all_values.regimes, feasible,
                       reasons if reasons is not None else "", all_values, method, t)
        sol.bound = self._bound_kind(lambda u: forward_at(u)[0][t], chosen, target_val)
        sol.alternatives = [uvar.quantity(a) for a in alternatives]
        return sol

    @staticmethod
    def _raise_if_independent(forward_at, unknown, uvar, t, target_val):
        """A target that no value of the unknown changes is under-determined, not infeasible."""
        probes = {"fraction": (0.25, 0.75), "ge1": (1.5, 3.0)}.get(uvar.domain, (0.5, 2.0))
        try:
            with np.errstate(all="ignore"):
                a, b = (float(forward_at(p)[0][t]) for p in probes)
        except (ZeroDivisionError, OverflowError, FloatingPointError, ValueError, TypeError):
            return
        if a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b)):
            tv = VARIABLES[t]
            same = abs(a - target_val) <= 1e-9 * abs(target_val)
            raise UnderdeterminedError(
                f"{t} does not depend on {unknown} at these inputs (it is {fmt_quantity(tv.quantity(a))} for any "
                f"{unknown}); " + ("every value meets the target" if same else "no value can change it to the target"))

    @staticmethod
    def _bound_kind(f, u, target):
        """Is the solution unique, or a bound? ``"min"``: any larger value also meets the target (the
        target does not depend on the unknown above it, e.g. efficiency in a memory-bound regime);
        ``"max"``: any smaller value does; ``"any"``: the target does not depend on it here; ``""``: unique.
        """
        eps = 1e-6
        if not isinstance(u, np.ndarray):
            try:
                up, dn, tg = float(f(u * (1 + eps))), float(f(u * (1 - eps))), float(target)
            except (ZeroDivisionError, OverflowError, FloatingPointError, ValueError, TypeError):
                return ""
            fu, fd = abs(up - tg) <= 1e-12 * abs(tg), abs(dn - tg) <= 1e-12 * abs(tg)
            return "any" if (fu and fd) else "min" if fu else "max" if fd else ""
        with np.errstate(all="ignore"):
            try:
                up = np.asarray(f(u * (1 + eps)), dtype=float)
                dn = np.asarray(f(u * (1 - eps)), dtype=float)
            except (ZeroDivisionError, OverflowError, FloatingPointError, ValueError):
                return ""
        tgt = np.asarray(target, dtype=float)
        flat_up = np.abs(up - tgt) <= 1e-12 * np.abs(tgt)
        flat_dn = np.abs(dn - tgt) <= 1e-12 * np.abs(tgt)
        kind = np.where(flat_up & flat_dn, "any", np.where(flat_up, "min", np.where(flat_dn, "max", "")))
        return str(kind) if kind.ndim == 0 else kind.astype(object)

    def _scalar_candidates(self, plan, unknown, uvar, mags, target_val, t):
        """Scalar fast path: try each symbolic candidate, keep the first that reproduces the target."""
        argvals = [mags[a] for a in plan["args"]]
        base = dict(mags)
        del base[t]
        tol = ACCEPT_RTOL * abs(target_val)
        first, alternatives = None, []
        with np.errstate(all="ignore"):
            for _br, _s, fn in plan["candidates"]:
                try:
                    u = fn(*argvals, target_val)
                except (ZeroDivisionError, OverflowError, ValueError, TypeError, FloatingPointError):
                    continue
                if isinstance(u, (complex, np.complexfloating)):
                    if abs(u.imag) > 1e-12 * max(abs(u.real), 1e-300):
                        continue
                    u = u.real
                try:
                    u = float(u)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(u) and u < 0 and uvar.domain in ("nonnegative", "count0"):
                    u = 0.0  # a root at the domain's edge computed as -1e-17: test 0 itself (accepted only if exact)
                if not math.isfinite(u) or not _in_domain_scalar(uvar.domain, u):
                    continue
                base[unknown] = u
                try:
                    vals, regs = self._forward_lenient(base, plan["order"])
                except (ZeroDivisionError, OverflowError, FloatingPointError):
                    continue
                got = vals[t]
                if math.isfinite(got) and abs(got - target_val) <= tol:
                    if first is None:
                        first = (u, (vals, regs))
                    elif abs(u - first[0]) > 1e-9 * max(abs(u), abs(first[0])):
                        alternatives.append(u)
        if first is not None:
            if uvar.domain in ("count", "count0") and first[0] != round(first[0]):
                # a count: prefer a whole-number root when the relation has several (e.g. a quadratic)
                whole = [a for a in alternatives if abs(a - round(a)) <= 1e-9 * max(1.0, abs(a))]
                if whole:
                    alternatives = [first[0]] + [a for a in alternatives if a != whole[0]]
                    base[unknown] = whole[0]
                    return whole[0], True, self._forward_lenient(base, plan["order"]), alternatives
            return first[0], True, first[1], alternatives
        return math.nan, False, None, []

    def _regime_index(self, eq: Equation, vals: dict):
        outs = []
        for r in eq.regimes:
            f, args = self._kernel(eq, r)
            outs.append(f(*[vals[a] for a in args]))
        return _combine(outs, eq.combine)[1]

    def _steps(self, order):
        """Compiled evaluation steps for ``order``: (name, eq key, combine, [(kernel, arg names)])."""
        key = tuple(order)
        st = self._fns.get(("__steps__", key))
        if st is None:
            st = []
            for n in order:
                eq = self._by_lhs[n]
                st.append((n, eq.key if eq.is_regime else None, eq.combine,
                           [self._kernel(eq, r) for r in eq.branches()]))
            self._fns[("__steps__", key)] = st
        return st

    def _forward_lenient(self, mags, order):
        vals = dict(mags)
        regs = {}
        for n, rkey, comb, kernels in self._steps(order):
            if n in vals:
                continue
            if rkey is None:
                f, a = kernels[0]
                vals[n] = f(*[vals[x] for x in a])
            else:
                vals[n], regs[rkey] = _combine([f(*[vals[x] for x in a]) for f, a in kernels], comb)
        return vals, regs

    def _binding(self, plan, mags, shape):
        """(name of the regime that bounds the target independent of the unknown, its value)."""
        best, best_v = None, None
        for br, fn in plan["floors"]:
            with np.errstate(all="ignore"):
                v = fn(*[mags[a] for a in plan["args"]])
            vmax = float(np.nanmax(v)) if np.ndim(v) else float(v)
            if best_v is None or vmax > best_v:
                best, best_v = br, vmax
        if best is None:
            return None, None
        label = ", ".join(f"{k}={r}" for k, r in best.choices) or "fixed"
        return label, VARIABLES[plan["target"]].quantity(best_v)

    def _explain(self, plan, unknown, t, mags, shape, found):
        """Reason(s) why the target cannot be met, naming the binding constraint."""
        tv = VARIABLES[t]
        target = np.broadcast_to(np.asarray(mags[t], dtype=float), shape)
        reasons = np.full(shape, "", dtype=object)
        eq = self._by_lhs[t]
        comb = eq.combine if eq.is_regime else "max"
        bound = None
        bound_label = None
        for br, fn in plan["floors"]:
            with np.errstate(all="ignore"):
                v = np.broadcast_to(np.asarray(fn(*[mags[a] for a in plan["args"]]), dtype=float), shape)
            label = ", ".join(r for _k, r in br.choices) or "fixed part"
            if bound is None:
                bound, bound_label = v.copy(), np.full(shape, label, dtype=object)
            else:
                better = v > bound if comb == "max" else v < bound
                bound = np.where(better, v, bound)
                bound_label = np.where(better, label, bound_label)
        for idx in zip(*np.nonzero(~np.asarray(found).reshape(shape))) if shape else [()]:
            if shape == () and found:
                break
            tgt = float(target[idx])
            if bound is not None:
                b = float(bound[idx])
                if (comb == "max" and tgt < b) or (comb == "min" and tgt > b):
                    word = "floor" if comb == "max" else "ceiling"
                    reasons[idx] = (f"{t} = {fmt_quantity(tv.quantity(tgt))} is unreachable by any {unknown}: the "
                                    f"{bound_label[idx]}-bound {word} of {fmt_quantity(tv.quantity(b))} does not depend "
                                    f"on {unknown} (binding constraint: {bound_label[idx]})")
                    continue
            reasons[idx] = (f"no {unknown} in its domain ({VARIABLES[unknown].domain}) gives {t} = "
                            f"{fmt_quantity(tv.quantity(tgt))}")
        if shape == ():
            return reasons[()]
        return reasons

    # -- rendering ----------------------------------------------------------------------------------
    def latex(self) -> str:
        """The set as a LaTeX ``align`` block, one labelled line per equation."""
        lines = []
        for eq in self.equations.values():
            lines.append(f"  {eq.latex()} \\label{{eq:{_label(self.name)}-{_label(eq.key)}}}")
        return "\\begin{align}\n" + " \\\\\n".join(lines) + "\n\\end{align}"

    def _repr_latex_(self):
        return "$$" + self.latex().replace("\\begin{align}", "\\begin{aligned}").replace(
            "\\end{align}", "\\end{aligned}").replace("\\label", "\\tag*{}\\quad\\text") + "$$"

    def __repr__(self):
        eqs = "\n".join(f"  {eq.key}: {eq.lhs.name} = {eq.expression()}" for eq in self.equations.values())
        return f"EquationSet {self.name!r} (inputs: {', '.join(self.inputs)})\n{eqs}"

    # ---- LaTeX worked examples and solved forms (added for mlsysim.latex; they only delegate there) ----
    def worked_example(self, outputs=None, **knowns):
        """``formula = numbers substituted = result`` as LaTeX (see :func:`mlsysim.latex.worked_example`)."""
        from ..latex.render import worked_example

        return worked_example(self, outputs, **knowns)

    def solve_latex(self, unknown: str, target: str, given=None):
        """Closed-form inverse of ``target`` for ``unknown`` with regime conditions, as a LaTeX ``cases``
        (see :func:`mlsysim.latex.solved_form`)."""
        from ..latex.render import solved_form

        return solved_form(self, unknown, target, given)
    # ---- end of mlsysim.latex additions ----


def _compose(eqset, steps, args, sib_order):
    """fn(*leaf values in ``args`` order, target) applying the step inverses from the target down."""
    def fn(*vals):
        env = dict(zip(args, vals[:-1]))
        if sib_order:
            env = eqset._forward_lenient(env, sib_order)[0]
        cur = vals[-1]
        for f, others in steps:
            cur = f(cur, *[env[o] for o in others])
        return cur
    return fn


def _label(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s.lower())


def _combine_values(outs, how):
    f = np.maximum if how == "max" else np.minimum
    val = f(outs[0], outs[1])
    for o in outs[2:]:
        val = f(val, o)
    return val


def _combine(outs, how):
    """Combine regime values elementwise; return (value, index of the binding regime)."""
    if len(outs) == 2 and not any(isinstance(o, np.ndarray) for o in outs):
        a, b = outs
        if how == "max":
            return (b, 1) if b > a else (a, 0)
        return (b, 1) if b < a else (a, 0)
    if not any(isinstance(o, np.ndarray) for o in outs):
        idx = max(range(len(outs)), key=lambda i: outs[i]) if how == "max" else min(range(len(outs)), key=lambda i: outs[i])
        return outs[idx], idx
    if len(outs) == 2:
        a, b = outs
        sel = (b > a) if how == "max" else (b < a)
        val = np.maximum(a, b) if how == "max" else np.minimum(a, b)
        return val, sel.astype(np.intp)
    stack = np.stack(np.broadcast_arrays(*outs))
    idx = stack.argmax(axis=0) if how == "max" else stack.argmin(axis=0)
    return np.take_along_axis(stack, idx[None], 0)[0], idx


def _in_domain_scalar(d: str, x: float) -> bool:
    if d == "positive":
        return x > 0
    if d == "count":
        return x >= 1 - 1e-9
    if d in ("nonnegative", "count0"):
        return x >= 0
    if d == "fraction":
        return 0 < x <= 1 + 1e-12
    if d == "ge1":
        return x >= 1 - 1e-12
    return True


def _in_domain(v: Var, x):
    d = v.domain
    x = np.asarray(x)
    with np.errstate(invalid="ignore"):
        if d == "positive":
            return x > 0
        if d == "count":
            return x >= 1 - 1e-9
        if d in ("nonnegative", "count0"):
            return x >= 0
        if d == "fraction":
            return (x > 0) & (x <= 1 + 1e-12)
        if d == "ge1":
            return x >= 1 - 1e-12
        return np.isfinite(x)


def _numeric_root(f, target, uvar: Var, shape):
    """Vectorised bracketed root finding of ``f(u) = target`` over ``uvar``'s domain.

    A log-spaced scan brackets the first sign change, then bisection in log space narrows it to
    machine precision. Returns (values with NaN where no root, found mask).
    """
    target = np.broadcast_to(np.asarray(target, dtype=float), shape)
    grid = _grid_for(uvar)
    prev_u = None
    prev_r = None
    lo_b = np.full(shape, np.nan)
    hi_b = np.full(shape, np.nan)
    found = np.zeros(shape, dtype=bool)
    with np.errstate(all="ignore"):
        for g in grid:
            u = np.full(shape, g)
            try:
                r = np.broadcast_to(np.asarray(f(u), dtype=float), shape) - target
            except (ZeroDivisionError, OverflowError, FloatingPointError):
                r = np.full(shape, np.nan)
            if prev_r is not None:
                change = ~found & np.isfinite(r) & np.isfinite(prev_r) & ((np.sign(r) != np.sign(prev_r)) | (r == 0))
                lo_b = np.where(change, prev_u, lo_b)
                hi_b = np.where(change, u, hi_b)
                found |= change
            prev_u, prev_r = u, r
            if found.all():
                break
        if not found.any():
            return np.full(shape, np.nan) if shape else np.nan, found
        a = np.where(found, lo_b, 1.0)
        b = np.where(found, hi_b, 1.0)
        ra = np.broadcast_to(np.asarray(f(a), dtype=float), shape) - target
        for _ in range(200):
            m = np.where(a > 0, np.sqrt(a * b), 0.5 * (a + b))
            rm = np.broadcast_to(np.asarray(f(m), dtype=float), shape) - target
            left = np.sign(rm) == np.sign(ra)
            a = np.where(left, m, a)
            ra = np.where(left, rm, ra)
            b = np.where(left, b, m)
            if np.all(np.abs(b - a) <= 1e-15 * np.abs(b)):
                break
        root = np.where(found, 0.5 * (a + b), np.nan)
    return root, found


def _grid_for(uvar: Var):
    if uvar.domain == "fraction":
        return np.geomspace(1e-12, 1.0, 121)
    lo = 1.0 if uvar.domain in ("ge1", "count") else 1e-40
    grid = np.geomspace(lo, 1e40, 321)
    if uvar.domain in ("nonnegative", "count0"):
        grid = np.concatenate([[0.0], grid])
    return grid


def _numeric_roots_scalar(f, target: float, uvar: Var):
    """Every root of ``f(u) = target`` that a log-spaced scan brackets, refined by bisection.

    Returns (smallest root or NaN, found, [other roots]) so that a non-monotonic relation reports
    all the values of the unknown that meet the target, not only the first one found.
    """
    def resid(u):
        try:
            with np.errstate(all="ignore"):
                return float(f(u)) - target
        except (ZeroDivisionError, OverflowError, FloatingPointError, ValueError):
            return math.nan

    roots = []
    grid = _grid_for(uvar)
    tol = ACCEPT_RTOL * abs(target)
    prev_u, prev_r = None, None
    for g in grid:
        g = float(g)
        r = resid(g)
        if math.isfinite(r) and (r == 0 or (prev_u is None and abs(r) <= tol)):
            # the target is met exactly at a grid point, or within tolerance at the domain's edge (the first
            # point, e.g. a count of 1): a root, unless the previous point already met it (a plateau)
            if prev_r is None or prev_r != 0:
                roots.append(g)
        elif prev_r is not None and math.isfinite(r) and math.isfinite(prev_r) and prev_r != 0:
            if (r > 0) != (prev_r > 0):
                a, b, ra = prev_u, g, prev_r
                for _ in range(200):
                    m = math.sqrt(a * b) if a > 0 else 0.5 * (a + b)
                    rm = resid(m)
                    if not math.isfinite(rm):
                        break
                    if (rm > 0) == (ra > 0):
                        a, ra = m, rm
                    else:
                        b = m
                    if abs(b - a) <= 1e-15 * abs(b):
                        break
                roots.append(0.5 * (a + b))
        prev_u, prev_r = g, r
    roots = [x for x in roots if abs(resid(x)) <= max(tol, 1e-300)]
    if not roots:
        return math.nan, False, []
    return roots[0], True, roots[1:]


def _ensure_float(x):
    return float(x) if not isinstance(x, np.ndarray) else x
