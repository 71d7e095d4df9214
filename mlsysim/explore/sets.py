"""The browser-side description of one equation set: its forward functions and its inverse plans.

Forward: one compiled function per regime branch of every equation (``Equation.branches()``, the
expression the engine lambdifies), combined in the page by the equation's ``combine`` (max/min) with
the engine's tie rule, in the engine's topological order.

Inverse, for every (unknown input, derived target) pair: where the engine inverts along a single
dependency path (its chain inversion), each step's closed form comes from the engine's cached
symbolic inverse (``EquationSet.symbolic_inverse``) and the steps are composed symbolically in the
engine's candidate order; the composed expression is compiled. Elsewhere the page brackets a root
numerically over the unknown's domain (the engine's scan grid), as the engine does when sympy gives
up. Branches of the target that do not depend on the unknown (its floors) are compiled too, so that an
infeasible target names its binding constraint.
"""
from __future__ import annotations

import itertools

from ..core.equations import VARIABLES
from .compile import Compiler, mathml, symbol_mathml


def _names(expr) -> set:
    return {s.name for s in expr.free_symbols}


def forward_spec(eqset, comp: Compiler) -> dict:
    eqs = {}
    for eq in eqset.equations.values():
        fns = []
        for reg, e in eq.branches().items():
            what = f"{eqset.name}.{eq.key}" + (f" [{reg}]" if reg else "") + f": {eq.lhs.name} ="
            fns.append(comp.add(f"{eqset.name}/{eq.key}/{reg}", e, what, eq.source))
        eqs[eq.lhs.name] = {
            "key": eq.key, "lhs": eq.lhs.name, "combine": eq.combine if eq.is_regime else None,
            "regimes": list(eq.regimes) if eq.is_regime else None, "fns": fns,
            "args": sorted(eq.inputs), "description": eq.description, "source": str(eq.source),
            "mathml": mathml(eq),
        }
    return {"name": eqset.name, "description": eqset.description, "inputs": list(eqset.inputs),
            "derived": list(eqset.derived), "order": list(eqset.order), "equations": eqs}


def _chain(eqset, t: str, u: str, stop: frozenset):
    """Composed closed-form candidates along the single path from ``t`` to ``u``, or None.

    Mirrors ``EquationSet._chain_candidates``: one inversion per equation on the path (per regime
    branch that contains the child), candidates in ``itertools.product`` order of the steps' options.
    Returns (candidates [(expr, choices)], sibling derived names in evaluation order).
    """
    path = eqset.single_path(t, u, stop)
    if path is None:
        return None
    options = []
    sib_needed: set = set()
    for node, child in path:
        eq = eqset.defining(node)
        opts = []
        for reg, e in eq.branches().items():
            if child not in _names(e):
                continue
            sols = eqset.symbolic_inverse(eq.lhs.name, child, e, "auto")
            if sols is None:
                return None
            for sol in sols:
                others = sorted(n for n in _names(sol) if n != eq.lhs.name)
                opts.append((reg if eq.is_regime else None, eq.key, eq.lhs.name, sol))
                for o in others:
                    if o in eqset.derived and o not in stop:
                        sib_needed |= eqset.derived_closure(o, stop)
        if not opts:
            return None
        options.append(opts)
    cands = []
    for combo in itertools.product(*options):
        cur = VARIABLES[t].symbol
        for _reg, _key, lhs, sol in combo:
            cur = sol.xreplace({VARIABLES[lhs].symbol: cur})
        choices = [[k, r] for r, k, _l, _s in combo if r is not None]
        cands.append((cur, choices, [k for _r, k, _l, _s in combo]))
    return cands, [n for n in eqset.order if n in sib_needed]


def inverse_specs(eqset, comp: Compiler) -> dict:
    plans = {}
    for u in eqset.inputs:
        for t in eqset.derived:
            known = frozenset((set(eqset.inputs) - {u}) | {t})
            stop = (known - {t}) | {u}
            if u not in eqset.input_deps(t, stop):
                continue
            branches = eqset.expand(t, stop)
            floors = []
            for i, br in enumerate(branches):
                if u in _names(br.expr):
                    continue
                label = ", ".join(r for _k, r in br.choices)
                fid = comp.add(f"{eqset.name}/floor/{t}/{u}/{i}", br.expr,
                               f"{eqset.name} floor of {t} independent of {u} [{label or 'fixed part'}]: {t} =",
                               eqset.defining(t).source)
                # label: the regimes (the reason's wording); binding: "key=regime" (InfeasibleError.binding)
                floors.append({"fn": fid, "label": label,
                               "binding": ", ".join(f"{k}={r}" for k, r in br.choices) or "fixed"})
            chain = _chain(eqset, t, u, stop)
            plan = {"unknown": u, "target": t, "floors": floors,
                    "combine": eqset.defining(t).combine if eqset.defining(t).is_regime else "max"}
            if chain is None:
                plan.update(kind="numeric", candidates=[], siblings=[])
            else:
                cands, sibs = chain
                out = []
                for j, (expr, choices, keys) in enumerate(cands):
                    regs = ", ".join(f"{k}={r}" for k, r in choices) or "single branch"
                    fid = comp.add(f"{eqset.name}/inverse/{u}/{t}/{j}", expr,
                                   f"{eqset.name} inverse: {u} from {t} via {' -> '.join(keys)} [{regs}]: {u} =",
                                   "; ".join(sorted({str(eqset.equations[k].source) for k in keys})))
                    out.append({"fn": fid, "choices": choices})
                plan.update(kind="symbolic", candidates=out, siblings=sibs)
            plans[f"{u}|{t}"] = plan
    return plans


def variable_spec(name: str) -> dict:
    v = VARIABLES[name]
    return {"name": name, "unit": v.unit, "domain": v.domain, "description": v.description,
            "symbol": symbol_mathml(name), "dimensionless": bool(v.dimensionless),
            "from_base": v.from_base}
