"""The symbolic equation engine (compatibility module: every name is re-exported from where it now lives).

Every relation in mlsysim is written once, as a sympy expression between :class:`~.variables.Var`
symbols with a :class:`~.sources.Source`. From that one definition an :class:`EquationSet` can

* ``evaluate(**knowns)`` forward, on scalars or numpy arrays (lambdified kernels, units converted once
  at the boundary);
* ``solve(unknown, **knowns)`` for any of its variables (symbolic inverse derived once and cached;
  vectorised bracketed root finding where sympy gives up; infeasible targets reported, never returned
  as a wrong number);
* check its own dimensions (``check_dimensions``);
* render itself as LaTeX (``latex``).

The engine is split by job:

* :mod:`.equation`: :class:`Equation`, :func:`expr_dimensionality`;
* :mod:`.equation_set`: :class:`EquationSet` (structure, kernels, ``evaluate``);
* :mod:`.inverse`: ``solve`` (planning, symbolic inverse, time limit);
* :mod:`.numeric`: numeric roots and domain tests;
* :mod:`.results`: :class:`EvalResult`, :class:`Solution`, :func:`fmt_quantity`;
* :mod:`.hooks`: the renderer registry that :mod:`mlsysim.latex` fills.
"""
from __future__ import annotations

from .equation import Equation, _dim_of_var, _label, _sympy, expr_dimensionality, latex_symbol_names
from .equation_set import EquationSet, _combine, _combine_values
from .inverse import (EXPANDED_TIME_LIMIT, SYMBOLIC_TIME_LIMIT, InverseSolving, _Branch, _compose, _SymbolicTimeout,
                      _TimeLimit)
from .numeric import (ACCEPT_RTOL, _ensure_float, _grid_for, _in_domain, _in_domain_scalar, _numeric_root,
                      _numeric_roots_scalar)
from .results import EvalResult, Solution, fmt_quantity
from .variables import DOMAINS as DOMAINS_TEXT
from .variables import VARIABLES, Var, var

__all__ = ["Equation", "EquationSet", "EvalResult", "Solution", "fmt_quantity", "expr_dimensionality",
           "latex_symbol_names", "Var", "VARIABLES", "var", "DOMAINS_TEXT", "InverseSolving",
           "SYMBOLIC_TIME_LIMIT", "EXPANDED_TIME_LIMIT", "ACCEPT_RTOL",
           # private helpers kept importable from here for code written against the single module
           "_dim_of_var", "_label", "_sympy", "_combine", "_combine_values", "_Branch", "_compose", "_SymbolicTimeout",
           "_TimeLimit", "_ensure_float", "_grid_for", "_in_domain", "_in_domain_scalar", "_numeric_root",
           "_numeric_roots_scalar"]
