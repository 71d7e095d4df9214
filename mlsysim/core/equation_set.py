"""A small system of equations: :class:`EquationSet` (structure, compiled kernels, input conversion and
checks, forward :meth:`~EquationSet.evaluate`, LaTeX of the set). The inverse (:meth:`~EquationSet.solve`)
lives in :mod:`.inverse`.
"""
from __future__ import annotations

import difflib
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import fused as _fused
from .equation import Equation, _label, _sympy, expr_dimensionality
from .errors import DefinitionError, DomainError, OverdeterminedError, UnderdeterminedError, UnknownVariableError
from .hooks import renderer
from .inverse import InverseSolving
from .results import EvalResult, fmt_quantity
from .variables import VARIABLES, Var


class EquationSet(InverseSolving):
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

    def __init__(self, name: str, equations: Sequence[Equation], description: str = "",
                 headline: Sequence[str] | None = None):
        self.name = name
        self.description = description
        self.equations: dict[str, Equation] = {}
        self._by_lhs: dict[str, Equation] = {}
        for eq in equations:
            if eq.key in self.equations:
                raise DefinitionError(f"{name}: duplicate equation key {eq.key!r}")
            if eq.lhs.name in self._by_lhs:
                raise DefinitionError(f"{name}: {eq.lhs.name} is defined twice "
                                      f"({self._by_lhs[eq.lhs.name].key}, {eq.key})")
            self.equations[eq.key] = eq
            self._by_lhs[eq.lhs.name] = eq
        self.derived = list(self._by_lhs)
        allv = set()
        for eq in self.equations.values():
            allv |= eq.inputs
        self.inputs = sorted(allv - set(self.derived))
        self.variables = self.inputs + self.derived
        self._order = self._toposort()
        used = set().union(*[eq.inputs for eq in self.equations.values()]) if self.equations else set()
        #: the outputs a sweep reports by default: given, or every quantity nothing else in the set is
        #: computed from, plus every regime (max/min) quantity (e.g. Serving: tpot, ttft, request_latency ...)
        self.headline = list(headline) if headline is not None else [
            d for d in self.derived if d not in used or self._by_lhs[d].is_regime]
        for h in self.headline:
            if h not in self._by_lhs:
                raise DefinitionError(f"{name}: headline output {h!r} is not derived by the set")
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

    @property
    def order(self) -> tuple[str, ...]:
        """The derived variables in evaluation order (each after everything it is computed from)."""
        return tuple(self._order)

    def derived_closure(self, name: str, stop: frozenset = frozenset()) -> frozenset:
        """The derived variables ``name`` is computed from, itself included, not expanding those in ``stop``."""
        return self._derived_closure(name, frozenset(stop))

    def magnitudes(self, knowns: Mapping[str, Any]) -> dict:
        """``{name: base-unit magnitude}`` of ``knowns``, each checked against its variable's unit and domain
        (:class:`UnknownVariableError` for a name the set does not have; the variable's own errors otherwise)."""
        return self._convert(knowns)

    def _toposort(self) -> list[str]:
        order, state = [], {}

        def visit(n, path):
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                raise DefinitionError(f"{self.name}: circular definitions {' -> '.join(path + [n])}")
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
                if e == 0:
                    continue  # zero has every dimension (e.g. the "no wait" regime of a delay)
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
            m = VARIABLES[name].validate(value)
            mags[name] = m
        return mags

    # -- forward evaluation ---------------------------------------------------------------------
    def evaluate(self, outputs: Iterable[str] | None = None, **knowns) -> EvalResult:
        """Compute every derived quantity (or only ``outputs``) from the knowns given.

        Inputs are pint Quantities (plain numbers for dimensionless variables); numpy arrays broadcast.
        A known value of a derived quantity (a measured ``power``, a known ``bytes_moved``) replaces its
        defining relation, as in :meth:`solve`: quantities downstream are computed from the given value,
        and :attr:`EvalResult.bypassed` lists the relations so bypassed. When every input of a bypassed
        relation is also given, the given value must agree with it (else :class:`OverdeterminedError`).
        Missing inputs raise :class:`UnderdeterminedError` naming them: at once for the ``outputs`` asked
        for; without ``outputs``, every quantity the knowns determine is computed and reading one they do
        not determine raises (:attr:`EvalResult.not_computed` lists them with the inputs each lacks). To
        find an *input* that meets a target, use :meth:`solve`.
        """
        return self._evaluate_magnitudes(outputs, self._convert(knowns), knowns)

    def _evaluate_magnitudes(self, outputs, mags: dict, knowns: Mapping[str, Any], lazy: bool = False,
                             array_inputs: frozenset | None = None) -> EvalResult:
        """:meth:`evaluate` on magnitudes already validated (``Var.validate``, base units) of ``knowns``.

        For callers that validated their inputs once and keep the magnitudes (a solver's registry binding):
        every name must be a variable of this set. ``lazy``: with array inputs and no ``outputs``, compute
        every quantity that depends on an array on first access (its domain check then runs at that access),
        not only those that cannot leave their domain; scalar-only quantities are still computed now.
        ``array_inputs``: the names in ``mags`` that hold arrays, when the caller has them.
        """
        if array_inputs is None:
            array_inputs = frozenset(k for k, v in mags.items() if isinstance(v, np.ndarray))
        key = ("__request__", None if outputs is None else tuple(outputs), frozenset(mags), array_inputs, lazy)
        plan = self._fns.get(key)
        if plan is None:
            plan = self._fns[key] = self._request(outputs, frozenset(mags), array_inputs, lazy)
        given_derived, eager, lazy, missing, regs, bypassed = plan
        if given_derived:
            self._check_given_derived(mags, given_derived)
        result, _order = self._fused(eager, given_derived, mags, array_inputs)
        res = EvalResult(self, result, dict(regs), dict(knowns), bypassed=bypassed, not_computed=missing)
        if lazy:
            res._defer(lazy, lambda names: self._fused(tuple(names), given_derived, mags)[0])
        return res

    def _request(self, outputs, known: frozenset, array_inputs: frozenset, all_lazy: bool = False):
        """What an evaluate call with these known names computes (cached per signature): (given derived,
        outputs computed now, outputs computed on access, not computable {name: missing}, regime keys,
        bypassed relation keys). Raises the errors of :meth:`evaluate` for unknown or missing names."""
        given_derived = frozenset(k for k in known if k in self._by_lhs)
        want = list(outputs) if outputs is not None else [d for d in self.derived if d not in given_derived]
        for w in want:
            if w not in self._by_lhs:
                raise UnknownVariableError(f"{self.name} does not derive {w!r}; it derives {', '.join(self.derived)}")
        want = [w for w in want if w not in given_derived]
        missing = {}
        for w in want:
            miss = sorted(self.input_deps(w, given_derived) - known)
            if miss:
                missing[w] = miss
        if missing and (outputs is not None or len(missing) == len(want)):
            allmiss = sorted({m for ms in missing.values() for m in ms})
            raise UnderdeterminedError(
                f"{self.name}.evaluate is missing input(s) {', '.join(allmiss)} "
                f"(needed for {', '.join(missing)}); or pass outputs=[...] to compute only some quantities")
        # no outputs named: compute what the knowns determine; the rest raise UnderdeterminedError on access
        want = [w for w in want if w not in missing]
        lazy = []
        if outputs is None and array_inputs and len(want) > 1:
            # arrays and no outputs named (a solver's full evaluation): compute now what depends on scalars only
            # and what must be checked (may leave its domain); the rest on first access, one fused kernel each
            lazy = [w for w in want if self.input_deps(w, given_derived) & array_inputs
                    and (all_lazy or not self._maybe_negative(self._by_lhs[w]))]
        eager = tuple(w for w in want if w not in lazy)
        closure: set = set()
        for w in want:
            closure |= self._derived_closure(w, given_derived)
        regs = {self._by_lhs[n].key: None for n in self._order if n in closure and self._by_lhs[n].is_regime}
        bypassed = tuple(self._by_lhs[n].key for n in self._order if n in given_derived)
        return given_derived, eager, tuple(n for n in self._order if n in lazy), missing, regs, bypassed

    def _fused(self, want: tuple, stop: frozenset, mags: dict, arrays: frozenset | None = None):
        """Run the fused kernel for ``want`` (see :mod:`.fused`); return ({name: value}, closure order).

        Every value returned is checked: scalars fully against their domain, arrays by a lower-bound scan
        only where the relation can leave the domain (a sum of positive terms is not re-scanned).
        ``arrays``: the names in ``mags`` that hold arrays, when the caller has them.
        """
        if arrays is None:
            arrays = frozenset(k for k, v in mags.items() if isinstance(v, np.ndarray))
        key = ("__fused__", want, stop, tuple(sorted((k, mags[k].dtype.str) for k in arrays)), _fused.BACKEND)
        kernel = self._fns.get(key)
        if kernel is None:
            kernel = self._fns[key] = _fused.build(self, want, stop, arrays,
                                                   lambda n: self._maybe_negative(self._by_lhs[n]))
        try:
            vals = kernel.run(mags)
        except _fused._NonFinite as exc:
            raise DomainError(f"{self.name}: evaluating {', '.join(want)} gave a non-finite result ({exc}); check "
                              f"the inputs' magnitudes") from None
        kernel.check_scalars(self, vals)
        if kernel.pure_scalar:
            return vals, kernel.order
        for n in kernel.array_names:
            self._check_output(self._by_lhs[n], vals[n])
        return {n: vals[n] for n in kernel.order if n in vals}, kernel.order

    def _check_given_derived(self, mags: dict, given_derived: frozenset) -> None:
        """A given derived value whose relation's inputs are all known too must agree with that relation."""
        for g in (n for n in self._order if n in given_derived):
            stop = given_derived - {g}
            if not self.input_deps(g, stop) <= set(mags):
                continue  # not computable from the other knowns: the given value simply replaces the relation
            order = [n for n in self._order if n in self._derived_closure(g, stop)]
            local = {k: v for k, v in mags.items() if k != g}
            with np.errstate(all="ignore"):
                implied = self._forward_lenient(local, order)[0][g]
            if not np.allclose(implied, mags[g], rtol=1e-6, atol=0.0, equal_nan=True):
                gv = VARIABLES[g]
                eq = self._by_lhs[g]
                used = sorted(self.input_deps(g, stop))
                raise OverdeterminedError(
                    f"{g} = {fmt_quantity(gv.quantity(mags[g]))} was given, but {self.name}.{eq.key} computes "
                    f"{g} = {fmt_quantity(gv.quantity(np.asarray(implied)))} from the other knowns "
                    f"({', '.join(used)}); give {g} or those inputs, not both")

    def _derived_closure(self, name: str, stop=frozenset()) -> frozenset:
        """Derived variables ``name`` is computed from (itself included), not expanding ``stop`` (memoised)."""
        key = ("__closure__", name, frozenset(stop))
        hit = self._deps_cache.get(key)
        if hit is not None:
            return hit
        acc: set[str] = set()
        if name in self._by_lhs and name not in stop:
            acc.add(name)
            for d in self._by_lhs[name].inputs:
                acc |= self._derived_closure(d, stop)
        out = frozenset(acc)
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
        dom = eq.lhs.domain
        if not isinstance(v, np.ndarray):
            if not math.isfinite(v):
                raise DomainError(f"{self.name}: {eq.lhs.name} ({eq.key}) came out {v}; the inputs' magnitudes "
                                  f"are beyond floating-point range")
            if not dom.contains(float(v)):
                raise DomainError(f"{self.name}: {eq.lhs.name} ({eq.key}) came out {float(v):g}, outside its domain "
                                  f"({dom.text}): the inputs are inconsistent with each other")
            return
        if self._maybe_negative(eq):
            lo = v.min()
            if dom.lower > -math.inf and (lo <= dom.lower if dom.lower_open else lo < dom._lo_slack()):
                raise DomainError(f"{self.name}: {eq.lhs.name} ({eq.key}) has values outside its domain "
                                  f"({dom.text}; min {lo:g}): the inputs are inconsistent with each other")

    def _maybe_negative(self, eq: Equation) -> bool:
        """Can this equation's right-hand side be <= 0 for in-domain inputs? (sympy assumptions; cached)."""
        key = ("__maybe_negative__", eq.key)
        hit = self._fns.get(key)
        if hit is None:
            sp = _sympy()
            # use the inputs' lower bounds too: a count n >= 1 is written 1 + m with m >= 0, so that sympy
            # proves e.g. latency * (2 n - 2) >= 0 and the output needs no scan
            shift = {}
            for name in eq.inputs:
                d = VARIABLES[name].domain
                if d.lower >= 1 and not d.lower_open:
                    shift[VARIABLES[name].symbol] = d.lower + sp.Dummy(f"{name}_excess", nonnegative=True)
            hit = self._fns[key] = any(not (e.is_positive or (eq.lhs.domain in ("nonnegative", "count0")
                                                            and e.is_nonnegative))
                                       and not (ee.is_positive or (eq.lhs.domain in ("nonnegative", "count0")
                                                                   and ee.is_nonnegative))
                                       for e in eq.branches().values()
                                       for ee in [e.xreplace(shift) if shift else e])
        return hit


    def _regime_index(self, eq: Equation, vals: dict):
        missing = [a for a in eq.inputs if a not in vals]
        if missing:  # an intermediate the fused kernel did not materialise: compute it now (labels on request)
            base = {k: v for k, v in vals.items() if k in self.inputs or k in self._by_lhs}
            stop = frozenset(k for k in base if k in self._by_lhs)
            got, _ = self._fused(tuple(m for m in self._order if m in missing), stop, base)
            vals = {**vals, **got}
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

    # -- LaTeX worked examples and solved forms: rendered by mlsysim.latex, reached through the renderer
    #    registry (mlsysim.core.hooks) that mlsysim.latex fills on import; the engine never imports it
    def worked_example(self, outputs=None, **knowns):
        """``formula = numbers substituted = result`` as LaTeX (see :func:`mlsysim.latex.worked_example`)."""
        return renderer("worked_example")(self, outputs, **knowns)

    def solve_latex(self, unknown: str, target: str, given=None):
        """Closed-form inverse of ``target`` for ``unknown`` with regime conditions, as a LaTeX ``cases``
        (see :func:`mlsysim.latex.solved_form`)."""
        return renderer("solved_form")(self, unknown, target, given)


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
        pick = max if how == "max" else min
        idx = pick(range(len(outs)), key=lambda i: outs[i])
        return outs[idx], idx
    if len(outs) == 2:
        a, b = outs
        sel = (b > a) if how == "max" else (b < a)
        val = np.maximum(a, b) if how == "max" else np.minimum(a, b)
        return val, sel.astype(np.intp)
    stack = np.stack(np.broadcast_arrays(*outs))
    idx = stack.argmax(axis=0) if how == "max" else stack.argmin(axis=0)
    return np.take_along_axis(stack, idx[None], 0)[0], idx
