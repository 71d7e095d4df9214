"""Inverse questions: :meth:`EquationSet.solve` (planning, one small symbolic inversion per step or the
expanded target, a SIGALRM time limit on sympy, numeric fallback, infeasibility explained).

:class:`InverseSolving` is a mixin of :class:`~.equation_set.EquationSet`; it uses the set's forward
evaluation (``_convert``, ``_forward``, ``_forward_lenient``, ``_derived_closure``, ``input_deps``).
"""
from __future__ import annotations

import difflib
import itertools
import math
import signal
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from .equation import Equation, _sympy
from .errors import (InfeasibleError, OptionError, OverdeterminedError, SolveError, UnderdeterminedError,
                     UnknownVariableError)
from .numeric import ACCEPT_RTOL, _in_domain, _in_domain_scalar, _numeric_root, _numeric_roots_scalar
from .results import EvalResult, Solution, fmt_quantity
from .variables import VARIABLES

#: Time allowed for one symbolic inversion before falling back to numeric root finding [s].
SYMBOLIC_TIME_LIMIT = 3.0
#: Time allowed to invert a fully expanded target (large sets) before going numeric [s]. Closed forms
#: that exist take 5-190 ms (ARCHITECTURE.md); longer means a high-degree polynomial: bracket it numerically.
EXPANDED_TIME_LIMIT = 0.5


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


class InverseSolving:
    """The inverse half of :class:`~.equation_set.EquationSet` (see the module docstring)."""

    # -- inverse --------------------------------------------------------------------------------
    def solve(self, unknown: str, *, method: str = "auto", on_infeasible: str | None = None, limit: str = "max",
              round_counts: bool = True, **knowns) -> Solution:
        """Find ``unknown`` such that the given target (a derived quantity among ``knowns``) is met.

        Exactly one derived quantity that depends on ``unknown`` must be given (the target); every
        other leaf it depends on must be known. ``method``: ``"auto"`` (symbolic inverse, cached; numeric
        root finding if sympy fails or times out), ``"symbolic"``, ``"numeric"``.

        An unreachable target raises :class:`InfeasibleError` naming the binding constraint (scalars),
        or yields NaN with a reason per element (arrays; ``on_infeasible="raise"`` raises instead).

        A count unknown (``Var.domain`` integer-valued: devices, batch size, microbatches) is rounded to
        the whole number next to the exact answer that still meets the target, read as a limit:
        ``limit="max"`` (default: the target must not be exceeded, as for a time, a memory, an energy, a
        cost) or ``limit="min"`` (it must be reached, as for a throughput). The Solution's ``note`` says
        so, and ``continuous`` keeps the exact answer; ``round_counts=False`` returns the exact answer.
        """
        if method not in ("auto", "symbolic", "numeric"):
            raise OptionError(f"{self.name}.solve: method must be one of 'auto', 'symbolic', 'numeric'; "
                              f"got {method!r}")
        if on_infeasible not in (None, "raise", "nan"):
            raise OptionError(f"{self.name}.solve: on_infeasible must be one of 'raise', 'nan'; got {on_infeasible!r}")
        if limit not in ("max", "min"):
            raise OptionError(f"{self.name}.solve: limit must be one of 'max' (the target is an upper limit), "
                              f"'min' (a lower limit); got {limit!r}")
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
        return self._solve_with_plan(plan, unknown, mags, knowns, on_infeasible, limit, round_counts)

    # -- public structure of an inversion (the explorer's compiler and the LaTeX solved forms use these) ---
    def inverse_plan(self, unknown: str, known: frozenset, method: str = "auto") -> dict:
        """How ``solve`` finds ``unknown`` from the variables ``known`` (a target among them): ``{"kind":
        "forward" | "symbolic" | "numeric", ...}`` with the regime branches (``"branches"``: ``expr``,
        ``choices``), the floors that do not depend on the unknown and the candidate inverses. Cached."""
        return self._plan(unknown, frozenset(known), method)

    def single_path(self, target: str, unknown: str, stop: frozenset = frozenset()) -> list | None:
        """``[(node, child), ...]`` from ``target`` down to ``unknown`` when the unknown reaches every node of
        the way through exactly one of its inputs (derived variables in ``stop`` are not expanded); ``None``
        when it reaches some node by several."""
        return self._single_path(target, unknown, frozenset(stop))

    def symbolic_inverse(self, target: str, unknown: str, expr, method: str = "auto"):
        """The real solutions of ``target = expr`` for ``unknown`` (sympy expressions), or ``None`` where sympy
        finds no closed form in its time limit (``method="symbolic"`` raises :class:`SolveError` instead).
        Cached per (target, unknown, expr)."""
        return self._symbolic_inverse(target, unknown, expr, method)

    def expand(self, name: str, stop: frozenset = frozenset()) -> list:
        """Every regime combination of ``name``'s definition expanded down to the inputs (or ``stop``): a list of
        branches with ``expr`` (a sympy expression) and ``choices`` (``((equation key, regime), ...)``)."""
        return self._expand(name, frozenset(stop))

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
        key = (eq, regime, child)  # the equation itself, not id(): an id is reused after garbage collection
        hit = InverseSolving._step_cache.get(key)
        if hit is not None:
            return hit
        e = eq.branches()[regime]
        sols = self._symbolic_inverse(eq.lhs.name, child, e, method)
        out = []
        if sols:
            for sol in sols:
                others = sorted(x.name for x in sol.free_symbols if x.name != eq.lhs.name)
                out.append((self._lambdify_solution(sol, [eq.lhs.name] + others), others))
        InverseSolving._step_cache[key] = (out, sols is None)
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
        if ck in InverseSolving._inverse_cache:
            sols = InverseSolving._inverse_cache[ck]
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
            # sympy returns the principal branch of the Lambert W only; on (-1/e, 0) the lower branch is a
            # second real root (e.g. goodput below and above its optimum checkpoint interval)
            sols += [s.replace(lambda e: isinstance(e, sp.LambertW) and len(e.args) == 1,
                               lambda e: sp.LambertW(e.args[0], -1))
                     for s in sols if s.has(sp.LambertW)]
            if not sols:
                sols = None
        if sols is None and method == "symbolic":
            raise SolveError(f"sympy found no closed form for {unknown} in {target} = {expr}; use method='numeric'")
        InverseSolving._inverse_cache[ck] = sols
        return sols

    def _lambdify_solution(self, expr, args):
        """A numpy callable of a closed-form inverse. A special function numpy lacks (the Lambert W of a
        transcendental inverse) takes scipy's where scipy is installed; otherwise the candidate raises
        ``ValueError`` when called, so that the numeric root finder answers instead."""
        sp = _sympy()
        symbols = [VARIABLES[a].symbol for a in args]
        fn = sp.lambdify(symbols, expr, modules="numpy", cse=True)
        names = {type(f).__name__ for f in expr.atoms(sp.Function) if not hasattr(f, "_imp_")}
        if all(n in fn.__globals__ or f"{n}(" not in (fn.__doc__ or "") for n in names):
            return fn
        try:
            import scipy.special  # noqa: F401
        except ImportError:
            def unsupported(*_a):
                raise ValueError(f"no numpy form for {expr}")
            return unsupported
        return sp.lambdify(symbols, expr, modules=["scipy", "numpy"], cse=True)

    def _solve_with_plan(self, plan, unknown, mags, knowns, on_infeasible, limit="max", round_counts=True):
        t = plan["target"]
        args = plan["args"]
        uvar = VARIABLES[unknown]
        arrays = any(isinstance(m, np.ndarray) for m in mags.values())
        if on_infeasible is None:
            on_infeasible = "nan" if arrays else "raise"
        if on_infeasible not in ("raise", "nan"):
            raise OptionError(f"{self.name}.solve: on_infeasible must be one of 'raise', 'nan'; got {on_infeasible!r}")
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
                ok &= np.isfinite(got) & (
                    np.abs(got - target_val) <= ACCEPT_RTOL * np.maximum(np.abs(target_val), 1e-300))
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
        bound = self._bound_kind(lambda u: forward_at(u)[0][t], chosen, target_val)
        continuous, note = chosen, ""
        if round_counts and uvar.domain.integer:
            chosen, note, ok, why = self._round_count(unknown, uvar, t, chosen, target_val, forward_at, limit, bound)
            if not np.all(ok):
                if not arrays or on_infeasible == "raise":
                    raise InfeasibleError(why if isinstance(why, str) else next(r for r in np.ravel(why) if r),
                                          binding=f"whole {unknown}")
                found = found & ok
                reasons = np.where(ok, reasons if reasons is not None else "", why)
            if np.any(chosen != continuous):
                vals, regs = forward_at(chosen)
        all_mag = {n: vals[n] for n in plan["order"] if n in vals}
        all_mag[t] = target_val if not note else vals[t]
        all_values = EvalResult(self, all_mag, regs, dict(knowns))
        val = uvar.quantity(chosen)
        feasible = found if arrays else True
        sol = Solution(unknown, val, all_values.regimes, feasible,
                       reasons if reasons is not None else "", all_values, method, t)
        sol.bound = bound  # of the exact answer (a rounded count is reported by the note)
        sol.alternatives = [uvar.quantity(a) for a in alternatives]
        sol.note = note
        sol.continuous = uvar.quantity(continuous)
        return sol

    @staticmethod
    def _round_count(unknown, uvar, t, x, target, forward_at, limit, bound):
        """Round a count answer ``x`` (float or array) to a neighbouring whole number that meets the target.

        Returns (whole value(s), note, ok mask/bool, reason(s) where no neighbour meets it). A value already
        whole to :data:`~.domains.COUNT_TOL` is snapped to the integer with no note. Where the target does not
        depend on the unknown above (``bound == "min"``) the next larger whole number is taken, below
        (``"max"``) the next smaller; otherwise the one whose target value stays within the limit.
        """
        from .domains import COUNT_TOL

        scalar = not isinstance(x, np.ndarray)
        xa = np.asarray(x, dtype=float)
        whole = np.abs(xa - np.round(xa)) <= COUNT_TOL * np.maximum(1.0, np.abs(xa))
        lo = np.maximum(np.floor(xa), uvar.domain.lower)
        hi = np.maximum(np.ceil(xa), uvar.domain.lower)
        tv = VARIABLES[t]

        def target_at(c):
            try:
                with np.errstate(all="ignore"):
                    return np.asarray(forward_at(c if not scalar else float(c))[0][t], dtype=float)
            except (ZeroDivisionError, OverflowError, FloatingPointError, ValueError):
                return np.full(np.shape(c), np.nan)  # a neighbour where the relation is undefined cannot meet it

        f_lo, f_hi = target_at(lo), target_at(hi)
        tgt = np.asarray(target, dtype=float)
        slack = 1e-12 * np.abs(tgt)
        if limit == "max":
            m_lo, m_hi = f_lo <= tgt + slack, f_hi <= tgt + slack
        else:
            m_lo, m_hi = f_lo >= tgt - slack, f_hi >= tgt - slack
        m_lo &= np.isfinite(f_lo)
        m_hi &= np.isfinite(f_hi)
        increasing = f_hi >= f_lo
        b = np.asarray(bound if isinstance(bound, (str, np.ndarray)) else "", dtype=object)
        # "min": any larger value meets the target too; "max": any smaller; otherwise, where both neighbours
        # meet (a flat stretch), the largest whole number if the target grows with it, else the smallest
        pick_hi = np.where(b == "min", m_hi, np.where(b == "max", ~m_lo & m_hi, m_hi & (~m_lo | increasing)))
        ok = whole | m_lo | m_hi
        out = np.where(whole, np.round(xa), np.where(pick_hi, hi, np.where(m_lo, lo, np.nan)))
        word = "at most" if limit == "max" else "at least"
        if scalar:
            out_s = float(out)
            if whole:
                return float(np.round(xa)), "", True, ""
            if not ok:
                return math.nan, "", False, (
                    f"no whole {unknown} meets {t} {word} {fmt_quantity(tv.quantity(float(tgt)))}: the exact answer "
                    f"is {float(xa):.6g}, and {int(lo)} gives {fmt_quantity(tv.quantity(float(f_lo)))}, {int(hi)} "
                    f"gives {fmt_quantity(tv.quantity(float(f_hi)))}")
            got = float(f_hi if pick_hi else f_lo)
            note = (f"{unknown} = {float(xa):.6g} meets {t} exactly; rounded to the whole number {int(out_s)}, "
                    f"which gives {t} = {fmt_quantity(tv.quantity(got))} ({word} the target, read as "
                    f"limit={limit!r})")
            return out_s, note, True, ""
        why = np.where(ok, "", f"no whole {unknown} next to the exact answer meets {t} {word} the target")
        n_round = int(np.count_nonzero(~whole & ok))
        note = (f"{n_round} value(s) of {unknown} rounded to the neighbouring whole number that keeps {t} {word} "
                f"the target (limit={limit!r}); Solution.continuous holds the exact answers") if n_round else ""
        return out, note, ok, why

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
        # probe a relative step either side; at u = 0 (a relative step would not move) an absolute one
        if not isinstance(u, np.ndarray):
            step = abs(u) * eps if u != 0 else eps
            try:
                up, dn, tg = float(f(u + step)), float(f(u - step)), float(target)
            except (ZeroDivisionError, OverflowError, FloatingPointError, ValueError, TypeError):
                return ""
            fu, fd = abs(up - tg) <= 1e-12 * abs(tg), abs(dn - tg) <= 1e-12 * abs(tg)
            return "any" if (fu and fd) else "min" if fu else "max" if fd else ""
        with np.errstate(all="ignore"):
            try:
                step = np.where(u != 0, np.abs(u) * eps, eps)
                up = np.asarray(f(u + step), dtype=float)
                dn = np.asarray(f(u - step), dtype=float)
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
                except (ZeroDivisionError, OverflowError, FloatingPointError, TypeError):
                    continue  # TypeError: a complex intermediate (a fractional power of a negative): not a root
                got = vals[t]
                if isinstance(got, complex):  # a fractional power of a negative on the way: not a root
                    continue
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

    def _binding(self, plan, mags, shape):
        """(name of the regime that bounds the target independent of the unknown, its value)."""
        best, best_v = None, None
        for br, fn in plan["floors"]:
            with np.errstate(all="ignore"):
                try:
                    v = fn(*[mags[a] for a in plan["args"]])
                    vmax = float(np.nanmax(v)) if np.ndim(v) else float(v)
                except (OverflowError, ZeroDivisionError, TypeError, ValueError):  # no real floor there
                    continue
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
                try:
                    v = np.broadcast_to(np.asarray(fn(*[mags[a] for a in plan["args"]]), dtype=float), shape)
                except (OverflowError, ZeroDivisionError, TypeError, ValueError):  # no real floor there
                    v = np.full(shape, np.nan)
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
                                    f"{bound_label[idx]}-bound {word} of {fmt_quantity(tv.quantity(b))} does not "
                                    f"depend on {unknown} (binding constraint: {bound_label[idx]})")
                    continue
            reasons[idx] = (f"no {unknown} in its domain ({VARIABLES[unknown].domain}) gives {t} = "
                            f"{fmt_quantity(tv.quantity(tgt))}")
        if shape == ():
            return reasons[()]
        return reasons


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
