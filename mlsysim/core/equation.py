"""One relation: :class:`Equation` (sympy expression between :class:`~.variables.Var` symbols, with its
:class:`~.sources.Source`), and the dimension check of an expression (:func:`expr_dimensionality`).

``max()``-type relations (compute- vs memory-bound, ...) are *regime equations*: one expression per
regime, combined by ``max`` (the binding regime is the largest) or ``min``.
"""
from __future__ import annotations

from typing import Any, Mapping

from .errors import DefinitionError, UnknownVariableError
from .sources import Source, require_source
from .variables import VARIABLES, var


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
            raise DefinitionError(f"equation {key!r}: give exactly one of rhs or regimes")
        if combine not in ("max", "min"):
            raise DefinitionError(f"equation {key!r}: combine must be 'max' or 'min'")
        self.key = key
        self.lhs = var(lhs)
        self.source = source
        self.description = description
        self.combine = combine
        self.origin = origin
        if regimes is not None:
            if len(regimes) < 2:
                raise DefinitionError(f"equation {key!r}: a regime equation needs at least two regimes")
            self.regimes: Any = dict(regimes)
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
                raise DefinitionError(f"equation {key!r}: display form {display} differs from {self.expression()}")

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
        kw: dict[str, Any] = dict(source=self.source, description=description or self.description,
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



def _label(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s.lower())
