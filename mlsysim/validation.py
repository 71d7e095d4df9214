"""Validation of mlsysim against published results (``mlsysim validate``).

The cases live in ``tests/validation/data/cases.json``: each is one published number (a paper's table, a
datasheet, a benchmark submission) with its citation, a tolerance, and *how* mlsysim computes it — which
equation set, registry entry or solver, with which inputs. :func:`run_cases` computes every case through
the library's public API and compares; :func:`main` prints the table, writes it as markdown
(``--write docs/validation.md``) or as JSON (``--json``).

Each case has a *role* (:data:`ROLES`), so that a pass count means what it says:

* ``prediction`` -- mlsysim computes the published number from other inputs (a formula, a solver);
* ``fit`` -- a coefficient of the model was fitted to this very number (the MLPerf Tiny latencies fix
  the TFLM efficiency): agreement reproduces the fit and is reported as ``FIT``, not as validation;
* ``look-up`` -- the registry stores the published value (a datasheet field): the case checks the copy,
  not a model, and is reported as ``MATCH``.

Predictions (Megatron-LM throughput, PaLM MFU, MLPerf Tiny latency) use ONE set of efficiency
assumptions, the solvers' documented defaults (:data:`mlsysim.solvers.distributed.DEFAULT_ASSUMPTIONS`,
:data:`mlsysim.hardware.tiny.TFLM_REFERENCE_EFFICIENCY`); there are no per-case fudge factors. A case that
the model misses beyond its tolerance for a known reason carries ``xfail`` (the reason) and ``why``.

Examples
--------
>>> from mlsysim.validation import run_cases                                       # doctest: +SKIP
>>> rows = run_cases()                                                             # doctest: +SKIP
>>> [r.id for r in rows if r.status == "FAIL"]                                      # doctest: +SKIP
[]
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import pathlib
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

#: default location of the case file (the repository's tests/validation/data/cases.json)
CASES_PATH = pathlib.Path(__file__).resolve().parent.parent / "tests" / "validation" / "data" / "cases.json"


#: role of a case -> what its agreement means
ROLES = {
    "prediction": "mlsysim computes the published number from other inputs (a formula or a solver)",
    "fit": "a coefficient of the model was fitted to this number: agreement reproduces the fit (FIT), it is "
           "not validation",
    "look-up": "the registry stores the published value: the case checks the copy (MATCH), not a model",
}


def role_of(case: dict) -> str:
    """``"look-up"`` for registry fields, ``"fit"`` for cases a coefficient was fitted to (``"fit"`` key, the
    reason), else ``"prediction"``."""
    if case.get("method", {}).get("kind") == "registry":
        return "look-up"
    if case.get("fit"):
        return "fit"
    return "prediction"


@dataclass
class Row:
    """One validation case and its outcome.

    ``published`` and ``predicted`` are magnitudes in ``unit`` (the unit the source publishes in).
    ``error`` is the relative error (predicted / published - 1) and ``abs_error`` the difference in
    ``unit``. ``status`` is PASS, FAIL, XFAIL (known-off, marked with ``xfail``), XPASS (marked
    known-off but within tolerance) or ERROR (the computation raised; ``message`` says what); a ``fit``
    within tolerance is FIT and a ``look-up`` that matches is MATCH (see :data:`ROLES`).
    """

    id: str
    case: str
    category: str
    quantity: str
    unit: str
    published: float
    predicted: float | None
    error: float | None
    abs_error: float | None
    tolerance: dict
    status: str
    source: str
    how: str
    why: str = ""
    xfail: str = ""
    message: str = ""
    extra: dict = field(default_factory=dict)
    role: str = "prediction"
    fit: str = ""

    @property
    def passed(self) -> bool:
        """Within tolerance."""
        return self.status in ("PASS", "XPASS", "FIT", "MATCH")

    def tolerance_text(self) -> str:
        t = self.tolerance
        if "rel" in t:
            return "exact" if t["rel"] == 0 else f"±{_fmt_pct(t['rel'])}"
        return f"±{_fmt_num(t['abs'])}{(' ' + self.unit) if self.unit else ''}"


def load_cases(path: str | os.PathLike | None = None) -> dict:
    """The case file as a dict (``cases``, ``not_modelled``, ``assumptions``).

    Parameters
    ----------
    path : path-like, optional
        Case file; default ``$MLSYSIM_CASES`` or the repository's ``tests/validation/data/cases.json``.
    """
    from .core.errors import SourceError

    p = pathlib.Path(path or os.environ.get("MLSYSIM_CASES") or CASES_PATH)
    if not p.exists():
        raise SourceError(f"validation case file {str(p)!r} not found (set MLSYSIM_CASES or pass --cases PATH)")
    return json.loads(p.read_text())


# ------------------------------------------------------------------------------------------- inputs
def _value(v: Any, env: dict):
    """A case input: number, [value, unit] -> Quantity, '$name' -> an earlier step's result."""
    from .core.units import Q_

    if isinstance(v, str) and v.startswith("$"):
        return env[v[1:]]
    if isinstance(v, list) and len(v) == 2 and isinstance(v[1], str):
        return Q_(v[0], v[1])
    return v


def _quantity_in(x, unit: str) -> float:
    """Magnitude of ``x`` (Quantity or number) in ``unit`` ('' = dimensionless)."""
    if hasattr(x, "to"):
        return float(x.to(unit or "dimensionless").magnitude)
    return float(x)


# ------------------------------------------------------------------------------------------- kinds
def _run_equations(m: dict):
    from . import Equations

    env: dict = {}
    out = None
    for step in m["steps"]:
        eqset = Equations[step["set"]]
        inputs = {k: _value(v, env) for k, v in step["inputs"].items()}
        sol = eqset.solve(step["find"], **inputs)
        out = env[step["find"]] = sol.value
    return out


def _run_registry(m: dict):
    mod = {"Hardware": "mlsysim.hardware", "Infra": "mlsysim.infra"}[m["registry"]]
    entry = getattr(importlib.import_module(mod), m["registry"]).get(m["name"])
    return entry.sourced_fields()[m["field"]].value


def _run_model(m: dict):
    from .models import Models

    v = getattr(Models.get(m["model"]), m["attr"])
    return v(*m.get("args", [])) if callable(v) else v


def _workload(spec):
    from .models import Models, TransformerWorkload

    if isinstance(spec, str):
        return Models.get(spec)
    return TransformerWorkload(**spec)


def _run_model_workload(m: dict):
    return getattr(_workload(m["model"]), m["attr"])


def _run_distributed(m: dict, flat: bool = False):
    from .solvers.distributed import DEFAULT_ASSUMPTIONS, DistributedSolver
    from .systems import Fleet, Systems

    f = m["fleet"]
    if "system" in f:
        fleet = Systems.get(f["system"])
        if "num_nodes" in f:
            fleet = fleet.replace(num_nodes=f["num_nodes"])
    else:
        fleet = Fleet(f["hardware"], num_nodes=f["num_nodes"])
    layout = dict(m["layout"])
    if flat:
        # the textbook's single-efficiency model: the same call with compute_efficiency given (its default)
        layout["compute_efficiency"] = DEFAULT_ASSUMPTIONS["compute_efficiency"].value
        # the flat model's data-parallel overlap is its own assumption (dp_overlap, default 0: none)
        layout.pop("overlap_grad_reduce", None)
    r = DistributedSolver().solve(model=_workload(m["model"]), fleet=fleet, **layout)
    return getattr(r, m["output"])


#: method kinds whose value the per-operation model computes, and how to compute the same case on the flat model
FLAT_MODEL = {"distributed": lambda m: _run_distributed(m, flat=True)}


def _assumption_value(ref):
    if isinstance(ref, str) and ref.startswith("mlsysim."):
        mod, _, name = ref.rpartition(".")
        return getattr(importlib.import_module(mod), name).value
    return ref


def _run_single_node(m: dict):
    from .solvers import SingleNodeSolver

    r = SingleNodeSolver().solve(m["model"], m["hardware"], precision=m.get("precision", "fp16"),
                                 batch_size=m.get("batch_size", 1),
                                 compute_efficiency=_assumption_value(m.get("compute_efficiency")))
    return getattr(r, m["output"])


def _run_sustainability(m: dict):
    from .solvers import SustainabilitySolver

    kw = {k: _value(m[k], {}) for k in ("hardware", "num_devices", "duration", "region", "power") if k in m}
    kw.update({k: _value(v, {}) for k, v in m.get("overrides", {}).items()})
    r = SustainabilitySolver().solve(**kw)
    return getattr(r, m["output"])


KINDS = {
    "equations": _run_equations,
    "registry": _run_registry,
    "model": _run_model,
    "model_workload": _run_model_workload,
    "distributed": _run_distributed,
    "single_node": _run_single_node,
    "sustainability": _run_sustainability,
}


def compute(case: dict):
    """mlsysim's value for one case (a Quantity or a number), by the case's ``method``."""
    from .core.errors import UnknownNameError

    kind = case["method"]["kind"]
    if kind not in KINDS:
        raise UnknownNameError(f"case {case['id']}: unknown method kind {kind!r}; known: {', '.join(KINDS)}")
    return KINDS[kind](case["method"])


def _within(pred: float, pub: float, tol: dict) -> bool:
    if "rel" in tol:
        return abs(pred - pub) <= tol["rel"] * abs(pub) + 1e-12 * max(abs(pub), 1e-300)
    return abs(pred - pub) <= tol["abs"] * (1 + 1e-12)


def run_case(case: dict) -> Row:
    """Compute one case and compare it with the published value."""
    pub = float(case["published"]["value"])
    unit = case["published"].get("unit", "")
    base = dict(id=case["id"], case=case.get("case", ""), category=case.get("category", ""),
                quantity=case.get("quantity", ""), unit=unit, published=pub, tolerance=case["tolerance"],
                source=case.get("source", ""), how=case.get("how", ""), why=case.get("why", ""),
                xfail=case.get("xfail", ""), role=role_of(case), fit=case.get("fit", ""))
    try:
        pred = _quantity_in(compute(case), unit)
    except Exception as exc:  # noqa: BLE001 - a case that cannot be computed is reported, not hidden
        return Row(**base, predicted=None, error=None, abs_error=None, status="ERROR",
                   message=f"{type(exc).__name__}: {exc}")
    err = (pred / pub - 1) if pub != 0 else math.copysign(math.inf, pred) if pred else 0.0
    ok = math.isfinite(pred) and _within(pred, pub, case["tolerance"])
    if case.get("xfail"):
        status = "XPASS" if ok else "XFAIL"
    elif not ok:
        status = "FAIL"
    else:
        status = {"fit": "FIT", "look-up": "MATCH"}.get(base["role"], "PASS")
    return Row(**base, predicted=pred, error=err, abs_error=pred - pub, status=status)


@dataclass
class BeforeAfter:
    """One prediction case on the flat single-efficiency model (before the per-operation model) and on the
    default per-operation model (after): values in the case's published unit, errors as in :class:`Row`."""

    id: str
    quantity: str
    unit: str
    published: float
    before: float
    after: float

    @property
    def error_before(self) -> float:
        return self.before / self.published - 1

    @property
    def error_after(self) -> float:
        return self.after / self.published - 1


def before_after(rows: list[Row], path: str | os.PathLike | None = None) -> list[BeforeAfter]:
    """The prediction cases the per-operation model computes, each also on the flat model (``compute_efficiency``
    given explicitly: DistributedSolver's default 0.5 for every FLOP, the model the project had before it)."""
    cases = {c["id"]: c for c in load_cases(path)["cases"]}
    out = []
    for r in rows:
        c = cases.get(r.id)
        if c is None or r.predicted is None or r.role != "prediction" or c["method"]["kind"] not in FLAT_MODEL:
            continue
        before = _quantity_in(FLAT_MODEL[c["method"]["kind"]](c["method"]), r.unit)
        out.append(BeforeAfter(r.id, r.quantity, r.unit, r.published, before, r.predicted))
    return out


def run_cases(path: str | os.PathLike | None = None, only: Sequence[str] | None = None) -> list[Row]:
    """Run every validation case.

    Parameters
    ----------
    path : path-like, optional
        Case file (default :data:`CASES_PATH`).
    only : sequence of str, optional
        Keep cases whose id contains one of these substrings.

    Returns
    -------
    list of Row
    """
    cases = load_cases(path)["cases"]
    if only:
        cases = [c for c in cases if any(s in c["id"] for s in only)]
    return [run_case(c) for c in cases]


# ------------------------------------------------------------------------------------------- output
def _fmt_num(x) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    return f"{x:.6g}"


def _fmt_pct(x) -> str:
    if x is None:
        return "-"
    return f"{x * 100:.3g}%"


def _fmt_err(r: Row) -> str:
    if r.error is None:
        return "-"
    if "abs" in r.tolerance:
        return f"{r.abs_error:+.3g}"
    return f"{r.error * 100:+.2f}%"


def render_text(rows: list[Row]) -> str:
    """A plain-text table: one line per case."""
    lines = [f"{'case':<44} {'published':>12} {'predicted':>12} {'unit':<8} {'error':>9} {'tol':>9}  status"]
    for r in rows:
        lines.append(f"{r.id[:44]:<44} {_fmt_num(r.published):>12} {_fmt_num(r.predicted):>12} {r.unit[:8]:<8} "
                     f"{_fmt_err(r):>9} {r.tolerance_text():>9}  {r.status}"
                     + (f"  ({r.message})" if r.message else "") + (f"  [{r.xfail}]" if r.xfail else ""))
    lines.append(summary(rows))
    return "\n".join(lines)


def _counts(rows: list[Row]) -> str:
    counts = {s: sum(r.status == s for r in rows)
              for s in ("PASS", "FIT", "MATCH", "FAIL", "XFAIL", "XPASS", "ERROR")}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"


def summary(rows: list[Row]) -> str:
    """Counts by role, so that the prediction pass count is not inflated by fits and look-ups."""
    parts = []
    for role, label in (("prediction", "predictions"), ("fit", "fits (not validation)"),
                        ("look-up", "registry look-ups (not validation)")):
        sub = [r for r in rows if r.role == role]
        if sub:
            parts.append(f"{len(sub)} {label}: {_counts(sub)}")
    return f"{len(rows)} cases; " + "; ".join(parts)


def _md(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[Row], data: dict | None = None) -> str:
    """The validation report as markdown (what ``--write docs/validation.md`` writes). Deterministic."""
    data = data if data is not None else load_cases()
    out = ["# Validation against published results", "",
           "Generated by `mlsysim validate --write docs/validation.md` from `tests/validation/data/cases.json`; "
           "`tests/validation/test_published.py` runs every case and checks that this page is current. "
           "Do not edit by hand.", "",
           "**Efficiency assumptions.** " + _md(data.get("assumptions", "")), "",
           f"**Summary.** {summary(rows)}. Error is predicted / published - 1 (or the difference, in the "
           f"published unit, for an absolute tolerance). XFAIL: outside the tolerance for the stated reason "
           f"(kept visible, not dropped).", "",
           "**What a case shows.** " + " ".join(f"*{k}*: {v}." for k, v in ROLES.items())
           + " Only predictions validate the model; the registry look-ups are listed in their own sections.", ""]
    cats = []
    for r in rows:
        if r.category not in cats:
            cats.append(r.category)
    for cat in cats:
        out += [f"## {cat}", "",
                "| case | quantity | published | mlsysim | unit | error | tolerance | status | how | source | why |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if r.category != cat:
                continue
            status = (r.status + (f": {r.xfail}" if r.xfail else "") + (f": {r.fit}" if r.fit else "")
                      + (f": {r.message}" if r.message else ""))
            out.append("| " + " | ".join(_md(x) for x in (
                f"`{r.id}`", r.quantity, _fmt_num(r.published), _fmt_num(r.predicted), r.unit or "1", _fmt_err(r),
                r.tolerance_text(), status, r.how, r.source, r.why)) + " |")
        out.append("")
    ba = before_after(rows)
    if ba:
        def avg_max(errs):
            a = [abs(e) for e in errs]
            return f"average {sum(a) / len(a) * 100:.1f}%, maximum {max(a) * 100:.1f}%"

        out += ["## Before and after: the per-operation model", "",
                "The cases the per-operation training model (`Equations.TrainingStep`, on the calibrated laws of "
                "`docs/fidelity.md`) computes, each also on the flat model the project had before it: the same "
                "call with `compute_efficiency` given (DistributedSolver's default, 0.5 of peak for every FLOP; "
                "the textbook's Iron Law path). Computed live, like the tables above. The H200 decode check "
                "(flat roofline against calibrated laws) is in `docs/fidelity.md`; the Llama 3 405B scenario in "
                "`docs/applications.md`.", "",
                "| case | quantity | published | flat model (before) | error | per-operation (after) | error |",
                "|---|---|---|---|---|---|---|"]
        for b in ba:
            out.append("| " + " | ".join(_md(x) for x in (
                f"`{b.id}`", b.quantity, f"{_fmt_num(b.published)} {b.unit}", _fmt_num(b.before),
                f"{b.error_before * 100:+.2f}%", _fmt_num(b.after), f"{b.error_after * 100:+.2f}%")) + " |")
        for label, pick in (("microbatch 1", lambda i: not i.endswith("_as_run")),
                            ("the artifact's microbatch sizes", lambda i: i.endswith("_as_run"))):
            meg = [b for b in ba if b.id.startswith("megatron_t1_") and pick(b.id)]
            if meg:
                out += ["", f"Megatron-LM Table 1 at {label} ({len(meg)} rows, TFLOP/s per GPU): before "
                            f"{avg_max([b.error_before for b in meg])}; after {avg_max([b.error_after for b in meg])}."]
        out.append("")
    nm = data.get("not_modelled", [])
    if nm:
        out += ["## Published cases not modelled", "", "| case | reason |", "|---|---|"]
        out += [f"| `{_md(n['case'])}` | {_md(n['reason'])} |" for n in nm]
        out.append("")
    return "\n".join(out)


def _original_order(argv: list) -> list:
    """The arguments in the order the user typed them.

    ``mlsysim.cli`` forwards ``validate``'s arguments as ``rest + unknown options``, which separates an
    option from its value (``--write X`` arrives as ``X --write``). When ``argv`` holds exactly the tokens
    that follow ``validate`` on this process's command line, those are used instead (same tokens, typed
    order). A workaround until the CLI forwards the tokens unchanged.
    """
    cmd = sys.argv[1:]
    if "validate" in cmd:
        tail = cmd[cmd.index("validate") + 1:]
        if tail != argv and sorted(tail) == sorted(argv):
            return tail
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """``mlsysim validate [--write PATH] [--json] [--only SUBSTR ...] [--cases PATH]``.

    Returns 0 when every case passes or is a marked known-off case (XFAIL), 1 when one fails or
    errors, 2 on bad arguments.
    """
    class _Parser(argparse.ArgumentParser):
        def error(self, message):  # one-line errors, status 2, like the rest of the CLI
            sys.stderr.write(f"mlsysim validate: error: {message} (see 'mlsysim validate --help')\n")
            raise SystemExit(2)

    p = _Parser(prog="mlsysim validate",
                                description="Compare mlsysim with published results (tests/validation/data/cases.json)")
    p.add_argument("--write", metavar="PATH", help="write the markdown report to PATH (e.g. docs/validation.md)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--only", nargs="+", metavar="SUBSTR", help="run only cases whose id contains one of these")
    p.add_argument("--cases", metavar="PATH", help="case file (default: tests/validation/data/cases.json)")
    argv = _original_order(list(argv) if argv is not None else sys.argv[1:])
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from .core.errors import MlsysimError

    try:
        data = load_cases(args.cases)
        rows = run_cases(args.cases, args.only)
    except MlsysimError as exc:
        sys.stderr.write(f"mlsysim: error: {exc}\n")
        return 2
    if args.write:
        pathlib.Path(args.write).write_text(render_markdown(rows, data))
    if args.json:
        print(json.dumps([dict(asdict(r), passed=r.passed) for r in rows], indent=1))
    else:
        print(render_text(rows))
        if args.write:
            print(f"wrote {args.write}")
    return 0 if all(r.status in ("PASS", "XFAIL", "XPASS") for r in rows) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
