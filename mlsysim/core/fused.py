"""Fused forward kernels: one compiled function per request (issue #16).

For a request (the outputs asked for, the derived quantities given instead of computed, and which inputs
are arrays with which dtypes) :func:`build` composes the dependency chain of the outputs into expressions
over the inputs, and splits the work in two stages:

* the **scalar stage**: every derived quantity that depends on scalar inputs only, plus every scalar-only
  subexpression of the array outputs (hoisted out of them), as one ``math``-module function of Python
  floats (no numpy dispatch). When every input is a scalar this stage is the whole kernel (the scalar fast
  path) and it returns every quantity of the chain, as the per-equation path did.
* the **array stage**: the requested outputs that depend on an array, as one numpy function (sympy's
  common-subexpression elimination over all of them; ``max``/``min`` regimes as ``np.maximum`` /
  ``np.minimum`` inside the same function). Intermediates are not materialised unless asked for, or
  unless their domain check needs them (see :meth:`~.equation_set.EquationSet._maybe_negative`).

Kernels are cached on the equation set by that signature. Regime labels are not computed here (only on
request, by :meth:`EvalResult.regime`).

The optional ``numexpr`` backend (``pip install 'mlsysim[fast]'``) evaluates the array stage's expressions
with numexpr's multi-threaded virtual machine; :data:`BACKEND` selects it (``"numpy"`` by default).
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .equation import _sympy
from .errors import DomainError, MlsysimError, OptionError
from .variables import VARIABLES

#: Array backend of the fused kernels: ``"numpy"`` (default) or ``"numexpr"`` (if installed). Set with
#: :func:`set_backend`. numexpr is used only for arrays of at least :data:`NUMEXPR_MIN_SIZE` elements.
BACKEND = "numpy"
#: Below this many elements numpy is faster than numexpr's thread start-up (measured, docs/performance.md).
NUMEXPR_MIN_SIZE = 100_000
#: Form of the array stage: ``"auto"`` (the one with fewer array operations), ``"inline"`` or ``"chain"``.
FORM = "auto"
#: ``"auto"`` compiles the chain form, without trying the inline one, when a requested output composed down to
#: the inputs has more expression-tree nodes than this: expanding and collecting it would take sympy minutes
#: (TrainingStep's step time: ~7,400 nodes; ServingOperations' request latency: ~940)
INLINE_MAX_NODES = 3000


def set_backend(name: str) -> None:
    """Choose the array backend: ``"numpy"`` or ``"numexpr"`` (raises if numexpr is not installed)."""
    global BACKEND
    if name not in ("numpy", "numexpr"):
        raise OptionError(f"backend must be one of 'numpy', 'numexpr'; got {name!r}")
    if name == "numexpr":
        try:
            import numexpr  # noqa: F401
        except ImportError:
            raise OptionError("backend 'numexpr' needs the numexpr package: pip install 'mlsysim[fast]'") from None
    BACKEND = name


@functools.lru_cache(maxsize=None)
def _regime_functions():
    """sympy Functions that stand for the regime combination without evaluating (printed by name)."""
    sp = _sympy()

    class _rmax(sp.Function):
        nargs = 2

    class _rmin(sp.Function):
        nargs = 2

    return sp, _rmax, _rmin


@functools.lru_cache(maxsize=None)
def _spow_function():
    """The sympy Function that stands for ``base ** exponent`` with a scalar base and an array exponent."""
    sp = _sympy()

    class _spow(sp.Function):
        nargs = 2

    return _spow


def _scalar_base_power(base, x):
    """``base ** x`` for a scalar ``base`` and an array ``x``, with numpy's values (``np.power``), without a
    power per element where IEEE 754 fixes the answer: ``(+0) ** x = +0`` for every ``x > 0`` and
    ``1 ** x = 1`` for every ``x`` (a dense model's expert-miss probability is 0: its experts read
    ``E (1 - 0 ** (B q))`` is 1 at every batch size). Anything else (a zero exponent, NaN, another base) is
    ``np.power``."""
    if isinstance(x, np.ndarray) and x.size and not isinstance(base, np.ndarray):
        if base == 0.0 and math.copysign(1.0, base) > 0:
            if x.min() > 0:  # False for a NaN
                return np.zeros(x.shape)
        elif base == 1.0:
            return np.ones(x.shape)
    return np.power(base, x)


def _scalar_pows(sp, e, asyms):
    """``e`` with each power of an array-free base to an array exponent written ``_spow(base, exponent)``."""
    spow = _spow_function()

    def walk(node):
        if node.is_Atom or not (node.free_symbols & asyms):
            return node
        args = [walk(a) for a in node.args]
        if isinstance(node, sp.Pow) and not (args[0].free_symbols & asyms):
            return spow(*args)
        return node.func(*args)

    return walk(e)


def regime_expression(eq):
    """The right-hand side of ``eq``, regimes combined by a binary max/min that lambdify maps to numpy."""
    sp, rmax, rmin = _regime_functions()
    if not eq.is_regime:
        return eq.rhs
    f = rmax if eq.combine == "max" else rmin
    parts = list(eq.regimes.values())
    out = parts[0]
    for p in parts[1:]:
        out = f(out, p)
    return out


_NUMPY_NS = {"_rmax": np.maximum, "_rmin": np.minimum, "_spow": _scalar_base_power}
_MATH_NS = {"_rmax": max, "_rmin": min}


class Kernel:
    """A compiled request: call :meth:`run` with base-unit magnitudes of the inputs.

    ``scalar_names``: quantities the scalar stage returns (derived quantities and hoisted ``_h`` values);
    ``array_names``: derived quantities the array stage returns.
    """

    __slots__ = ("array_args", "array_fn", "array_names", "derived_scalar", "numexpr_fns", "order", "scalar_args",
                 "pure_scalar", "scalar_checks", "scalar_fn", "scalar_names")

    def __init__(self) -> None:
        self.scalar_args: list[str] = []
        self.scalar_names: list[str] = []
        self.scalar_fn: Any = None
        self.array_args: list[str] = []
        self.array_names: list[str] = []
        self.array_fn: Any = None
        self.numexpr_fns: Any = None
        self.derived_scalar: list[str] = []
        #: the derived scalars grouped by domain: ``(names, Domain)``; Domain None: checked one by one (counts)
        self.scalar_checks: list = []
        #: True when :meth:`run` returns exactly the quantities of :attr:`order`, in that order (scalars only)
        self.pure_scalar = False
        self.order: list[str] = []

    def check_scalars(self, eqset, vals: dict) -> None:
        """Check every derived scalar in ``vals`` against its domain, in place, as :func:`check_scalar` does.

        Quantities are checked a domain at a time: when all of a group are floats, their exact sum is finite
        (so none is NaN or infinite) and the group's smallest and largest values are in the domain (an
        interval), every value is; any other group (an int, a complex, a count, a value outside) goes
        through :func:`check_scalar` one by one, which converts or raises with the quantity's name."""
        for names, dom in self.scalar_checks:
            vs = [vals[n] for n in names]
            if dom is not None:
                try:
                    if set(map(type, vs)) == _FLOAT and math.isfinite(math.fsum(vs)) \
                            and dom.ok(min(vs)) and dom.ok(max(vs)):
                        continue
                except (TypeError, ValueError, OverflowError):
                    pass
            for n, v in zip(names, vs):
                vals[n] = check_scalar(eqset, n, v)

    def run(self, mags: dict) -> dict:
        """``{name: value}`` for every derived quantity this kernel returns (scalars and arrays)."""
        out: dict[str, Any] = {}
        if self.scalar_fn is not None:
            try:
                vals = self.scalar_fn(*[mags[a] for a in self.scalar_args])
            except MlsysimError:
                raise  # a relation's own typed error (e.g. an unstable queue): as raised
            except (ZeroDivisionError, OverflowError, ValueError) as exc:
                raise _NonFinite(str(exc)) from None
            env = dict(zip(self.scalar_names, vals))
            out.update(env)
        else:
            env = {}
        if self.array_fn is not None or self.numexpr_fns is not None:
            args = [mags[a] if a in mags else env[a] for a in self.array_args]
            size = max((np.size(a) for a in args if isinstance(a, np.ndarray)), default=0)
            with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
                try:
                    if self.numexpr_fns is not None and BACKEND == "numexpr" and size >= NUMEXPR_MIN_SIZE:
                        res = self._run_numexpr(args)
                    else:
                        res = self.array_fn(*args)
                except MlsysimError:
                    raise
                except (FloatingPointError, ZeroDivisionError, OverflowError) as exc:
                    raise _NonFinite(str(exc)) from None
            if len(self.array_names) == 1 and not isinstance(res, (tuple, list)):
                res = (res,)
            out.update(zip(self.array_names, res))
        return out

    def _run_numexpr(self, args):
        import numexpr

        local = dict(zip(self.array_args, args))
        res = []
        for name, expr in self.numexpr_fns:
            v = numexpr.evaluate(expr, local_dict=local)
            if not np.all(np.isfinite(v)):  # numexpr does not honour np.errstate
                raise _NonFinite(f"{name} is not finite")
            local[name] = v
            res.append(v)
        return [r for (n, _e), r in zip(self.numexpr_fns, res) if n in self.array_names]


_FLOAT = {float}


class _NonFinite(Exception):
    """A kernel met a division by zero, an overflow or a math domain error (turned into DomainError)."""


def build(eqset, outputs: tuple, stop: frozenset, arrays: frozenset, checked) -> Kernel:
    """Compile the kernel for ``outputs`` of ``eqset`` (see the module docstring).

    ``stop``: derived quantities given as knowns (their relations bypassed). ``arrays``: names of the
    inputs that are arrays. ``checked(name)``: whether the derived quantity ``name`` must be returned
    for its domain check even when not requested (array stage only; the scalar stage returns all).
    """
    sp, _rmax, _rmin = _regime_functions()
    closure: set = set()
    for w in outputs:
        closure |= eqset._derived_closure(w, stop)
    order = [n for n in eqset._order if n in closure]
    sym = {n: VARIABLES[n].symbol for n in eqset.variables}
    # which derived quantities depend on an array input
    on_array: set = set()
    for n in order:
        if any(d in arrays or d in on_array for d in eqset._by_lhs[n].inputs):
            on_array.add(n)
    scalar_derived = [n for n in order if n not in on_array]
    array_derived = [n for n in order if n in on_array]


    # array stage: expressions over array leaves, scalar leaves and scalar-stage quantities
    want_arr = [n for n in array_derived if n in outputs or checked(n)]
    arr_syms = {sym[a] for a in arrays}

    def hoister(asyms, hoisted):
        def hoist(e):
            if not (e.free_symbols & asyms):
                if e.is_Atom:
                    return e
                h = hoisted.get(e)
                if h is None:
                    h = hoisted[e] = sp.Symbol(f"_mlsysim_h{len(hoisted)}", real=True)
                return h
            if e.is_Atom:
                return e
            if isinstance(e, (sp.Add, sp.Mul)):
                sc = [a for a in e.args if not (a.free_symbols & asyms)]
                ar = [hoist(a) for a in e.args if a.free_symbols & asyms]
                if sc:
                    ar.append(hoist(e.func(*sc)))
                return e.func(*ar, evaluate=False)
            return e.func(*[hoist(a) for a in e.args])
        return hoist

    # two forms of the array stage; the one with fewer array operations is compiled:
    # * inline: each output composed down to the inputs, expanded and collected (best for one or few outputs);
    # * chain: one assignment per array quantity of the chain, over its direct inputs (best for many outputs,
    #   which share intermediates that the expanded forms would each recompute)
    arr_expr: dict = {}
    for n in array_derived:
        e = regime_expression(eqset._by_lhs[n])
        arr_expr[n] = e.xreplace({sym[d]: arr_expr[d] for d in eqset._by_lhs[n].inputs if d in arr_expr})
    chain_syms = arr_syms | {sym[n] for n in array_derived}
    hoisted_chain: dict = {}
    hc = hoister(chain_syms, hoisted_chain)
    chain = [(sym[n], hc(_linearise(sp, regime_expression(eqset._by_lhs[n]), chain_syms, _rmax, _rmin)))
             for n in array_derived]
    # a composed output too large to expand and collect in reasonable time (the algebra grows faster than the
    # tree): the chain form, whose relations are each linearised on their own
    use_chain = FORM == "chain" or (FORM == "auto" and any(_larger_than(sp, arr_expr[n], INLINE_MAX_NODES)
                                                           for n in want_arr))
    hoisted_inline: dict = {}
    inline: list = []
    if not use_chain:
        hi = hoister(arr_syms, hoisted_inline)
        inline = [hi(_linearise(sp, arr_expr[n], arr_syms, _rmax, _rmin)) for n in want_arr]
    if FORM == "auto" and not use_chain and len(want_arr) > 1:
        reps, red = sp.cse(inline)
        cost_inline = sum(sp.count_ops(x) for _, x in reps) + sum(sp.count_ops(x) for x in red)
        cost_chain = sum(sp.count_ops(x) for _, x in chain)
        use_chain = cost_chain < cost_inline
    hoisted = hoisted_chain if use_chain else hoisted_inline
    # powers of a scalar to an array exponent: one test of the base instead of a power per element where the
    # answer is fixed (see _scalar_base_power)
    if use_chain:
        chain = [(x, _scalar_pows(sp, e, chain_syms)) for x, e in chain]
    else:
        inline = [_scalar_pows(sp, e, arr_syms) for e in inline]

    k = Kernel()
    k.order = order
    # scalar stage: one assignment per scalar quantity of the chain, each its own relation over its direct
    # inputs (the same floating-point operations as evaluating the relations one by one), then the hoisted
    # subexpressions of the array stage over those
    assigns = [(sym[n], regime_expression(eqset._by_lhs[n])) for n in scalar_derived]
    h_items = list(hoisted.items())
    s_names = list(scalar_derived) + [h.name for _e, h in h_items]
    s_outs = [sym[n] for n in scalar_derived] + [h for _e, h in h_items]
    if s_outs:
        inner = {x.name for x, _ in assigns}
        leaves = sorted(({s.name for _, e in assigns for s in e.free_symbols}
                         | {s.name for e, _h in h_items for s in e.free_symbols}) - inner)
        k.scalar_args = leaves
        k.scalar_names = s_names
        plan_s = (assigns + [(h, e) for e, h in h_items], s_outs)
        k.scalar_fn = sp.lambdify([sym[a] for a in leaves], s_outs,
                                  modules=[{**_MATH_NS, **_implemented(sp, plan_s[0])}, "math"],
                                  cse=lambda _exprs: plan_s)
    k.derived_scalar = scalar_derived
    groups: dict = {}
    for n in scalar_derived:
        dom = eqset._by_lhs[n].lhs.domain
        groups.setdefault(None if dom.integer else dom, []).append(n)
    k.scalar_checks = [(tuple(ns), dom) for dom, ns in groups.items()]
    k.pure_scalar = not want_arr and not hoisted and list(scalar_derived) == list(order)
    k.array_names = want_arr
    if not want_arr:
        return k
    modules = [_NUMPY_NS, "numpy"]
    if use_chain:
        inner = {x.name for x, _ in chain}
        leaves = sorted({s.name for _, e in chain for s in e.free_symbols} - inner)
        outs = [sym[w] for w in want_arr]
        plan = (chain, outs)
        k.array_fn = sp.lambdify([sym.get(a) or sp.Symbol(a, real=True) for a in leaves], outs,
                                 modules=[{**_NUMPY_NS, **_implemented(sp, chain)}, "numpy"],
                                 cse=lambda _exprs: plan)
        program = [(x.name, e) for x, e in chain]
    else:
        leaves = sorted({s.name for e in inline for s in e.free_symbols})
        k.array_fn = sp.lambdify([sym.get(a) or sp.Symbol(a, real=True) for a in leaves],
                                 inline if len(inline) > 1 else inline[0], modules=modules, cse=True)
        program = list(zip(want_arr, inline))
    k.array_args = leaves
    if BACKEND == "numexpr":
        k.numexpr_fns = _numexpr_program(sp, [e for _, e in program], [n for n, _ in program])
    return k


def _larger_than(sp, e, limit: int) -> bool:
    """Does the expression tree of ``e`` have more than ``limit`` nodes? (stops counting at the limit)"""
    for i, _node in enumerate(sp.preorder_traversal(e)):
        if i >= limit:
            return True
    return False


def _implemented(sp, assigns) -> dict:
    """``{name: implementation}`` of the sympy functions with a numeric ``_imp_`` (e.g. Erlang C) used in
    ``assigns``: lambdify finds them only in the expressions it is given, not in a precomputed plan."""
    ns = {}
    for _x, e in assigns:
        for f in e.atoms(sp.Function):
            imp = getattr(type(f), "_imp_", None)
            if imp is not None:
                ns[type(f).__name__] = imp
    return ns


def _linearise(sp, e, arr_syms, rmax, rmin):
    """Fewer array operations, same value: expand and collect the terms of ``e`` by the array symbols (so
    ``a*B + b*B + c`` becomes ``(a + b)*B + c``, one multiply and one add once the scalars are hoisted), and
    take a term common to every regime out of a max/min (``max(x + o, y + o) = o + max(x, y)``, exact in
    floating point because rounding is monotone)."""
    syms = sorted(arr_syms & e.free_symbols, key=lambda s: s.name)
    if not syms:
        return e

    def lin(node):
        if node.is_Atom or not (node.free_symbols & arr_syms):
            return node
        args = [lin(a) for a in node.args]
        if isinstance(node, (rmax, rmin)):
            terms = [set(sp.Add.make_args(a)) for a in args]
            common = set.intersection(*terms)
            if common:
                rest = [sp.Add(*[t for t in sp.Add.make_args(a) if t not in common]) for a in args]
                return sp.collect(sp.Add(*common, node.func(*rest)), syms)
            return node.func(*args)
        node = node.func(*args)
        if isinstance(node, sp.Mul):
            # a positive scalar factor into the max/min (c max(x, y) = max(c x, c y), exact for c > 0 because
            # rounding is monotone): it joins the scalar coefficients of x and y, one array multiply fewer
            fs = [a for a in node.args if isinstance(a, (rmax, rmin))]
            if len(fs) == 1:
                c = sp.Mul(*[a for a in node.args if a is not fs[0]])
                if not (c.free_symbols & arr_syms) and c.is_positive:
                    return lin(fs[0].func(*[_expand(sp, c * a) for a in fs[0].args]))
        return sp.collect(node, syms) if isinstance(node, sp.Add) else node

    try:
        return lin(_expand(sp, e))
    except Exception:  # noqa: BLE001 - an expression sympy cannot expand or collect: keep it as written
        return e


def _expand(sp, e):
    """Products of sums multiplied out (powers, logarithms and multinomials left as written)."""
    return sp.expand(e, deep=True, power_base=False, power_exp=False, log=False, multinomial=False)


def _numexpr_program(sp, exprs, names):
    """numexpr expression strings, one per output (max/min as ``where``), or None if not printable."""
    try:
        from sympy.printing.lambdarepr import NumExprPrinter
    except ImportError:  # pragma: no cover
        return None

    class _Printer(NumExprPrinter):
        def _print__rmax(self, e):
            a, b = (self._print(x) for x in e.args)
            return f"where({a} > {b}, {a}, {b})"

        def _print__spow(self, e):
            a, b = (self._print(x) for x in e.args)
            return f"(({a}) ** ({b}))"

        def _print__rmin(self, e):
            a, b = (self._print(x) for x in e.args)
            return f"where({a} < {b}, {a}, {b})"

    pr = _Printer()
    out = []
    for n, e in zip(names, exprs):
        try:
            s = pr._print(e)  # the expression itself (doprint wraps it in a numexpr.evaluate call)
        except Exception:  # noqa: BLE001 - any printing failure: keep numpy for this kernel
            return None
        out.append((n, s))
    return out


def check_scalar(eqset, name: str, v) -> float:
    """A scalar derived value must be a finite real in its domain (same messages as the per-equation path)."""
    eq = eqset._by_lhs[name]
    if isinstance(v, complex):
        raise DomainError(f"{eqset.name}: {name} ({eq.key}) came out complex ({v}); the inputs are inconsistent "
                          f"with each other")
    if type(v) is not float:
        v = float(v)
    if not math.isfinite(v):
        raise DomainError(f"{eqset.name}: {name} ({eq.key}) came out {v}; the inputs' magnitudes are beyond "
                          f"floating-point range")
    dom = eq.lhs.domain
    if not dom.ok(v):
        raise DomainError(f"{eqset.name}: {name} ({eq.key}) came out {v:g}, outside its domain ({dom.text}): "
                          f"the inputs are inconsistent with each other")
    return v
