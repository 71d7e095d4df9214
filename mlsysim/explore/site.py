"""Write the explorer: ``index.html``, ``explorer.js`` (data, compiled relations, runtime) and ``explorer.css``.

The page needs no server, no CDN and no build step: open ``index.html`` from ``file://`` with the
network off. Every formula in ``explorer.js`` is compiled from the sympy equation sets
(:mod:`mlsysim.explore.compile`); the runtime section is generic code.
"""
from __future__ import annotations

import html
import json
import math
from importlib import resources
from pathlib import Path

from ..core.errors import DomainError, MlsysimError, UnknownNameError
from ..core.equation_sets import Equations
from ..core.domains import COUNT_TOL, DOMAIN, EDGE_TOL
from ..core.equations import ACCEPT_RTOL
from ..core.variables import VARIABLES
from . import bindings as B
from .compile import PROVENANCE, Compiler, display_unit, unit_factors
from .sets import forward_spec, inverse_specs, variable_spec

#: plots drawn under a panel when the set has the variables they need (display only: every value in
#: them is computed by compiled functions)
PLOTS = {
    "Roofline": [{"kind": "override", "x": "arithmetic_intensity", "y": "attainable_flops", "ref": "ridge_point",
                  "title": "Roofline (log-log): attainable compute vs arithmetic intensity, with the workload"}],
    "Inference": [{"kind": "sweep", "x": "batch_size", "ys": ["latency"], "lo": 1, "hi": 1024,
                   "title": "Step latency vs batch size"}],
    "Serving": [{"kind": "sweep", "x": "batch_size", "ys": ["tpot"], "lo": 1, "hi": 1024,
                 "title": "Serving: time per output token vs batch size (marker colour: binding regime)"}],
}
#: the checks of a serving scenario's scorecard: (check name) -> (equation set, variable)
SCORECARD_VARS = {"memory": ("Serving", "memory_required"), "ttft": ("Serving", "ttft"), "tpot": ("Serving", "tpot"),
                  "request_latency": ("Serving", "request_latency"), "power": ("Carbon", "power"),
                  "energy": ("Carbon", "energy"), "carbon": ("Carbon", "carbon"), "tco": ("TCO", "tco")}
#: the inverse question a panel opens with (unknown, target), when the set has both
INVERSE_DEFAULTS = {"Roofline": ("memory_bandwidth", "latency", 0.5), "Serving": ("batch_size", "tpot", 1.5),
                    "Inference": ("batch_size", "latency", 1.5)}
LEVEL_TITLES = {1: "Feasibility", 2: "Performance", 3: "Macro/Economics"}
DEFAULT_SETS = ("Roofline", "Serving")


def _generic_default(name: str) -> float:
    d = VARIABLES[name].domain
    # one of everything: counts of 1 keep structural relations (dp = n / (tp pp)) whole numbers
    base = {"fraction": 0.5, "ge1": 1.2}.get(d, 1.0)
    return base / VARIABLES[name].from_base  # one reporting unit


_TIME = VARIABLES["latency"].pint_unit.dimensionality


class _Units:
    """Display unit of every variable (chosen once, from the first value seen) and its factors."""

    def __init__(self):
        self.units: dict[str, str] = {}
        self.from_base: dict[str, float] = {}
        self.to_base: dict[str, float] = {}

    def of(self, name: str, base_value: float | None) -> str:
        if name not in self.units:
            u = display_unit(name, base_value)
            if base_value == 0 and VARIABLES[name].pint_unit.dimensionality == _TIME:
                u = "us"  # a zero time (no overhead): microseconds are the scale a reader moves it on
            to_b, from_b = unit_factors(name, u)
            self.units[name] = u
            self.from_base[f"{name}|{u}"] = from_b
            self.to_base[f"{name}|{u}"] = to_b
        return self.units[name]

    def factors(self, name: str, u: str | None = None):
        """(to base, from base) of ``name`` in its display unit, or in another unit ``u`` (registered)."""
        u = u or self.units[name]
        if f"{name}|{u}" not in self.from_base:
            self.to_base[f"{name}|{u}"], self.from_base[f"{name}|{u}"] = unit_factors(name, u)
        return self.to_base[f"{name}|{u}"], self.from_base[f"{name}|{u}"]


#: inputs whose physical range is narrower than their domain: switches and fractions in [0, 1] whose default is
#: 0, and experts per token, which never exceed the experts (Mixtral routes 2 of 8): (lo, hi) in reporting units
PHYSICAL_RANGES = {"prefix_hit_rate": (0.0, 0.95), "attention_causal_skip": (0.0, 1.0),
                   "experts_per_token": (1.0, 2.0), "num_experts": (1.0, 64.0)}


def _input_spec(name: str, base: float, source: str, units: _Units, unit_text: str | None = None) -> dict:
    v = VARIABLES[name]
    u = unit_text or units.of(name, base)
    to_b, from_b = units.factors(name, u)
    x = base * from_b
    d = v.domain
    shown = float(f"{x:.15g}" if v.dimensionless else f"{x:.6g}")  # a datasheet-like number in the box
    spec = {"name": name, "unit": u, "to_base": to_b, "from_base": from_b, "value": shown,
            "domain": d, "source": source, "integer": d in ("count", "count0")}
    if d == "fraction":
        spec.update(lo=0.01, hi=1.0, scale="linear")
    elif d == "ge1":
        spec.update(lo=1.0, hi=max(2 * x, 4.0), scale="linear")
    elif d in ("count", "count0"):
        spec.update(lo=1.0, hi=float(max(64, 2 ** math.ceil(math.log2(max(x, 1) * 64)))), scale="log")
    elif x > 0:
        spec.update(lo=x / 100, hi=x * 100, scale="log")
    else:
        spec.update(lo=0.0, hi=100.0, scale="linear")
    if name in PHYSICAL_RANGES:
        lo, hi = PHYSICAL_RANGES[name]
        spec.update(lo=lo, hi=hi, scale="linear")
    return spec


def _panel(name: str, pick: dict, units: _Units) -> dict:
    eqset = Equations[name]
    table = pick["tables"].get(name, {})
    d = pick["defaults"]
    inputs, knowns = [], {}
    for n in eqset.inputs:
        t = table.get(n)
        key = "|".join(d[f] for f in t["by"]) if t else None
        if t and key in t["values"]:
            base, sid = t["values"][key]
            src = pick["sources"][sid]
        else:
            base, src = _generic_default(n), "explorer default (no registry binding for this input): edit it"
        inputs.append(_input_spec(n, base, src, units))
        knowns[n] = VARIABLES[n].quantity(base) if not VARIABLES[n].dimensionless else base * VARIABLES[n].from_base
    try:
        out = eqset.evaluate(**knowns)
        for n in eqset.derived:
            units.of(n, float(out.magnitude(n)))
    except MlsysimError:
        for n in eqset.derived:
            units.of(n, None)
    plots = [p for p in PLOTS.get(name, [])
             if all(v in eqset.variables for v in [p["x"], *p.get("ys", []), *([p["y"]] if "y" in p else [])])]
    inv = INVERSE_DEFAULTS.get(name)
    return {"inputs": inputs, "plots": plots, "inverse_default": list(inv) if inv else None}


def _scenario(name: str, units: _Units) -> dict:
    from ..systems.applications import Applications

    try:
        sc = Applications.get(name)
    except MlsysimError:
        raise UnknownNameError(f"explore --scenario: no scenario {name!r}; scenarios: "
                               f"{', '.join(Applications.names())}") from None
    if sc.mode != "serving":
        serving = [n for n in Applications.names() if Applications.get(n).mode == "serving"]
        raise DomainError(f"explore --scenario {name}: the live scorecard supports serving scenarios "
                          f"({', '.join(serving)}); {name} is a {sc.mode} scenario")
    ev = sc.evaluate()
    serving = ev.results["serving"].evaluation
    knowns = {"Serving": {n: _base(n, serving[n]) for n in Equations["Serving"].inputs}}
    for role, set_name in (("sustainability", "Carbon"), ("tco", "TCO")):
        r = ev.results.get(role)
        if r is not None:
            knowns[set_name] = {n: _base(n, v) for n, v in r.knowns.items() if n in Equations[set_name].inputs}
    for s, kn in knowns.items():
        for n, b in kn.items():
            units.of(n, b)
    checks, inputs = [], []
    for c in ev.checks:
        if c.name not in SCORECARD_VARS or SCORECARD_VARS[c.name][0] not in knowns or c.value is None:
            # not computable live (e.g. a TCO without a unit price): shown as Python reported it
            checks.append({"level": c.level, "name": c.name, "label": c.label, "static": c.message,
                           "status": c.status})
            continue
        set_name, var = SCORECARD_VARS[c.name]
        value = _base(var, c.value)
        # a line reads in its target's own unit (80 GiB, 500 ms), as the target was written
        u = f"{c.target.units:~}" if getattr(c.target, "units", None) is not None else units.of(var, value)
        units.factors(var, u)
        spec = {"level": c.level, "name": c.name, "label": c.label, "set": set_name, "var": var, "unit": u,
                "limit": None, "limit_input": None, "source": str(c.source) if c.source is not None else ""}
        if c.target is not None:
            limit = _base(var, c.target)
            if c.name in sc.targets:  # a target the reader may move
                inp = _input_spec(var, limit, spec["source"], units, u)
                inp["name"] = f"{c.name}_target"
                inp["label"] = f"target {c.label}"
                inp["checks_as"] = var
                inp["targets"] = [["limit", c.name]]
                inputs.append(inp)
                spec["limit_input"] = c.name
            else:
                spec["limit"] = limit
        checks.append(spec)
    live = [("batch_size", "batch size", [["Serving", "batch_size"]], sc.batch_size),
            ("utilization", "duty cycle", [[s, "utilization"] for s in ("Carbon", "TCO") if s in knowns],
             sc.duty_cycle),
            ("num_devices", "deployed devices", [[s, "num_devices"] for s in ("Carbon", "TCO") if s in knowns],
             sc.fleet_size)]
    for var, label, targets, value in live:
        if not targets:
            continue
        inp = _input_spec(var, float(value), f"scenario {sc.name}: {label}", units)
        inp.update(label=label, checks_as=var, targets=targets)
        inp["name"] = var if var != "num_devices" else "fleet_size"
        inputs.insert(0 if var == "batch_size" else len(inputs), inp)
    desc = (f"{sc.model.name} on {sc.hardware.key}, {sc.precision}, {sc.mode}; {sc.description}. "
            f"Python's scorecard at generation time: {'PASS' if ev.passed else 'FAIL'}.")
    return {"key": name, "title": sc.name, "description": desc, "knowns": knowns, "checks": checks,
            "inputs": inputs, "level_titles": LEVEL_TITLES}


def _domains() -> dict:
    """Every variable domain's bounds (``Domain``), for the page's domain checks (``null`` = unbounded)."""
    def bound(x):
        return None if math.isinf(x) else x
    return {name: {"text": d.text, "lower": bound(d.lower), "lower_open": d.lower_open, "upper": bound(d.upper),
                   "integer": d.integer} for name, d in DOMAIN.items()}


def _base(name: str, value) -> float:
    return B._base(name, value)


def build(sets=DEFAULT_SETS, scenario: str | None = None) -> dict:
    """The page's data and compiled functions: ``{"data": dict, "compiled": Compiler}``."""
    sets = list(dict.fromkeys(sets or DEFAULT_SETS))
    for s in sets:
        if s not in Equations.names():
            import difflib

            close = difflib.get_close_matches(s, Equations.names(), n=3)
            raise UnknownNameError(f"explore --set: no equation set {s!r}"
                                   + (f"; did you mean {', '.join(close)}?" if close else
                                      f"; sets: {', '.join(Equations.names())}"))
    comp = Compiler()
    units = _Units()
    compiled_sets = list(sets) + ([x for x in ("Serving", "Carbon", "TCO") if x not in sets] if scenario else [])
    bound = [s for s in compiled_sets if s in B.BINDERS]
    choices = B.picker_choices() if bound else {"model": [], "hardware": [], "precision": []}
    pick = B.binding_tables(bound, choices) if bound else {"tables": {}, "sources": [], "choices": choices,
                                                            "labels": {}, "defaults": {}}
    # tables of sets without a panel only serve the scorecard: the pickers fill panels only
    pick["tables"] = {k: v for k, v in pick["tables"].items() if k in sets}
    data = {"sets": {}, "panels": {}, "panel_order": sets, "pickers": pick, "domains": _domains(),
            "count_tol": COUNT_TOL, "edge_tol": EDGE_TOL, "accept_rtol": ACCEPT_RTOL}
    for s in compiled_sets:
        eqset = Equations[s]
        spec = forward_spec(eqset, comp)
        spec["inverses"] = inverse_specs(eqset, comp) if s in sets else {}
        data["sets"][s] = spec
    for s in sets:
        data["panels"][s] = _panel(s, pick, units)
    data["scenario"] = _scenario(scenario, units) if scenario else None
    used = set()
    for s in compiled_sets:
        used |= set(Equations[s].variables)
    for n in used:
        units.of(n, None)
    data["variables"] = {n: variable_spec(n) for n in sorted(used)}
    data["units"] = units.units
    data["from_base"] = units.from_base
    data["to_base"] = units.to_base
    return {"data": data, "compiled": comp}


def _static(name: str) -> str:
    return resources.files("mlsysim.explore").joinpath("static", name).read_text(encoding="utf-8")


def javascript(built: dict) -> str:
    data = json.dumps(built["data"], separators=(",", ":"), allow_nan=False)
    return "\n".join([
        "/* mlsysim explorer: generated by `mlsysim explore`. Do not edit: regenerate. */",
        "window.MLSYSIM = { F: {}, data: null };",
        "(function (F) {",
        "\"use strict\";",
        f"/* ---- compiled relations: each printed by sympy's JavaScript printer from an equation set; the "
        f"comment above each function ({PROVENANCE}) names the set, equation, regime, expression and source ---- */",
        built["compiled"].js(),
        "})(window.MLSYSIM.F);",
        "/* ---- data: variables, units (factors computed by pint), registry bindings with sources ---- */",
        f"window.MLSYSIM.data = {data};",
        "/* ---- runtime (generic: no relation is written in it) ---- */",
        _static("runtime.js"),
    ])


def index_html(built: dict, title: str = "mlsysim explorer", extra_scripts=()) -> str:
    d = built["data"]
    sets = ", ".join(d["panel_order"])
    scen = f" &middot; scenario {html.escape(d['scenario']['title'])}" if d["scenario"] else ""
    scripts = "".join(f'<script src="{html.escape(s)}"></script>\n' for s in ("explorer.js", *extra_scripts))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="explorer.css">
</head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<p class="lede">Equation sets {html.escape(sets)}{scen}. Every number on this page is computed in your browser by
JavaScript compiled from mlsysim's sympy equations; hover over an input to see where its value comes from.</p>
<div id="pickers" class="pickers"></div>
</header>
<main>
<div id="scenario"></div>
<div id="panels"></div>
</main>
<noscript><p>This page computes with JavaScript; enable it to use the explorer.</p></noscript>
<footer><p>Generated by <code>mlsysim explore</code>. Works offline from <code>file://</code>.</p></footer>
{scripts}</body>
</html>
"""


def write_site(out, sets=DEFAULT_SETS, scenario: str | None = None, *, selftest_cases: dict | None = None) -> Path:
    """Write the site to ``out`` and return the path of ``index.html``.

    ``selftest_cases`` (tests only) also writes ``selftest.html``, which loads the same page plus a
    harness that sets inputs, reads outputs and records them in the DOM for ``chromium --dump-dom``.
    """
    return write_files(out, build(sets, scenario), selftest_cases=selftest_cases)


def write_files(out, built: dict, *, selftest_cases: dict | None = None) -> Path:
    """Write a site from :func:`build`'s result (see :func:`write_site`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "explorer.js").write_text(javascript(built), encoding="utf-8")
    (out / "explorer.css").write_text(_static("explorer.css"), encoding="utf-8")
    index = out / "index.html"
    index.write_text(index_html(built), encoding="utf-8")
    if selftest_cases is not None:
        cases = json.dumps(selftest_cases, separators=(",", ":"), allow_nan=False)
        (out / "cases.js").write_text(f"window.MLSYSIM_CASES = {cases};\n", encoding="utf-8")
        (out / "selftest.js").write_text(_static("selftest.js"), encoding="utf-8")
        (out / "selftest.html").write_text(
            index_html(built, "mlsysim explorer self-test", ("cases.js", "selftest.js")), encoding="utf-8")
    return index
