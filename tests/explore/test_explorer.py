"""The explorer in a real browser: headless Chromium loads the generated page from file://, with the
network disabled, sets inputs through the page's own controls and reads what the page shows.

Expected values come from the Python engine (``EquationSet.evaluate`` / ``solve``) and the scenario's
own ``evaluate()``; the page computes with JavaScript printed by sympy. Comparing the two is the test.
Without Chromium these tests skip, unless ``MLSYSIM_REQUIRE_BROWSER=1`` (CI) makes them fail.
"""
from __future__ import annotations

import html
import json
import math
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlsysim.core.equation_sets import Equations
from mlsysim.core.errors import InfeasibleError, MlsysimError, UnderdeterminedError
from mlsysim.core.units import Q_
from mlsysim.core.variables import VARIABLES
from mlsysim.explore import write_files

SETS = ["Roofline", "Serving"]  # as built by the `built` fixture (conftest.py)
SCENARIO = "Chatbot"
POINTS = 140  # random forward points per set (>= 100 valid ones compared)
RTOL = 1e-9
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         # network off: every host resolves to nothing and every proxy connection fails
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"]


def _chromium():
    for c in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(c)
        if p:
            return p
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def _need_browser():
    exe = _chromium()
    if exe is None:
        if os.environ.get("MLSYSIM_REQUIRE_BROWSER") == "1":
            pytest.fail("MLSYSIM_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH (set MLSYSIM_REQUIRE_BROWSER=1 to make this a failure)")
    return exe


def _dump_dom(exe, page: Path, profile: Path) -> str:
    cmd = [exe, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


# ------------------------------------------------------------------------------------- cases

def _random_inputs(panel: dict, rng: random.Random) -> dict:
    vals = {}
    for s in panel["inputs"]:
        lo, hi = s["lo"], s["hi"]
        if s["scale"] == "log":
            x = math.exp(rng.uniform(math.log(max(lo, 1e-300)), math.log(hi)))
        else:
            x = rng.uniform(lo, hi)
        if s["integer"]:
            x = float(max(round(x), 1 if s["domain"] == "count" else 0))
        else:
            x = float(f"{x:.12g}")
            if s["domain"] == "fraction":
                x = min(max(x, 0.01), 1.0)
        vals[s["name"]] = x
    return vals


def _knowns(values: dict, units: dict, skip=()) -> dict:
    out = {}
    for n, v in values.items():
        if n in skip:
            continue
        out[n] = v if VARIABLES[n].dimensionless and not units[n] else Q_(v, units[n])
    return out


def _py_forward(set_name, values, units):
    try:
        r = Equations[set_name].evaluate(**_knowns(values, units))
    except MlsysimError as exc:
        return {"error": str(exc)}
    out = {"values": {}, "regimes": {}}
    for n in Equations[set_name].derived:
        q = r[n]
        out["values"][n] = float(q.to(units[n]).magnitude) if units[n] else float(q.to("").magnitude)
        eq = Equations[set_name].defining(n)
        out["regimes"][n] = r.regime(n) if eq.is_regime else ""
    return out


def _mag(q, unit):
    return float(q.to(unit).magnitude) if unit else float(q.to("").magnitude)


def _inverse_cases(built, rng):
    """(case for the page, expected from EquationSet.solve) for a sample of (unknown, target) pairs."""
    data = built["data"]
    units = data["units"]
    cases, expected = [], []
    for set_name, per_set in (("Roofline", None), ("Serving", 26)):
        plans = data["sets"][set_name]["inverses"]
        keys = sorted(plans)
        symbolic = [k for k in keys if plans[k]["kind"] == "symbolic"]
        numeric = [k for k in keys if plans[k]["kind"] == "numeric"]
        if per_set is None:
            chosen = keys
        else:
            chosen = rng.sample(symbolic, per_set - 4) + rng.sample(numeric, 4)
        panel = data["panels"][set_name]
        defaults = {s["name"]: s["value"] for s in panel["inputs"]}
        for i, key in enumerate(chosen):
            u, t = key.split("|")
            values = dict(defaults) if i % 2 == 0 else _random_inputs(panel, rng)
            fwd = _py_forward(set_name, values, units)
            if "error" in fwd:
                values = dict(defaults)
                fwd = _py_forward(set_name, values, units)
            scale = [1.0, 1.7, 0.6, 1e-6][i % 4]  # 1e-6: usually below a floor -> infeasible
            target = float(f"{fwd['values'][t] * scale:.12g}")
            knowns = _knowns(values, units, skip={u})
            knowns[t] = Q_(target, units[t]) if units[t] else target
            try:
                sol = Equations[set_name].solve(u, **knowns)
                cont = getattr(sol, "continuous", sol.value)  # a count is rounded; continuous: the exact root
                exp = {"state": "solved", "value": _mag(sol.value, units[u]), "continuous": _mag(cont, units[u]),
                       "method": sol.method}
            except InfeasibleError as exc:
                exp = {"state": "infeasible", "binding": exc.binding, "message": str(exc)}
            except UnderdeterminedError as exc:
                exp = {"state": "independent", "message": str(exc)}
            cases.append({"set": set_name, "unknown": u, "target": t, "value": target,
                          "inputs": {k: v for k, v in values.items()}})
            expected.append(exp)
    return cases, expected


def _scorecard_cases():
    return [({}, {}),
            ({"batch_size": 64}, {"batch_size": 64}),
            ({"batch_size": 256, "tpot_target": 10}, {"batch_size": 256, "targets": {"tpot": Q_(10, "ms")}}),
            ({"utilization": 0.3, "fleet_size": 12}, {"duty_cycle": 0.3, "fleet_size": 12}),
            ({"batch_size": 2000}, {"batch_size": 2000})]


PICKS = [{"model": "Llama3_8B", "hardware": "H100", "precision": "fp8"},
         {"model": "Mixtral_8x7B", "hardware": "MI300X", "precision": "bf16"}]
#: the V100 publishes no fp8 peak (its datasheet lists fp64, fp32, fp16): the page keeps the value and says so
NO_FP8 = {"model": "Llama3_8B", "hardware": "V100", "precision": "fp8"}


@pytest.fixture(scope="module")
def page(tmp_path_factory, built):
    exe = _need_browser()
    rng = random.Random(20)
    data = built["data"]
    units = data["units"]
    forward, fexp = [], []
    for s in SETS:
        for _ in range(POINTS):
            vals = _random_inputs(data["panels"][s], rng)
            forward.append({"set": s, "inputs": vals})
            fexp.append(_py_forward(s, vals, units))
    inverse, iexp = _inverse_cases(built, rng)
    sc_cases = _scorecard_cases()
    # the scorecard inputs are in their display units: convert the ttft/tpot targets given in ms
    sc_inputs = data["scenario"]["inputs"]
    page_sc = []
    for page_in, _py in sc_cases:
        d = {}
        for k, v in page_in.items():
            spec = next(s for s in sc_inputs if s["name"] == k)
            d[k] = float(Q_(v, "ms").to(spec["unit"]).magnitude) if k.endswith("_target") else v
        page_sc.append({"inputs": d})
    cases = {"forward": forward, "inverse": inverse, "scorecard": page_sc,
             "pickers": [{"set": "Serving", "choice": c} for c in (*PICKS, NO_FP8)]}
    out = tmp_path_factory.mktemp("site")
    write_files(out, built, selftest_cases=cases)
    dom = _dump_dom(exe, out / "selftest.html", tmp_path_factory.mktemp("profile"))
    m = re.search(r'<pre id="selftest-results">(.*?)</pre>', dom, re.S)
    assert m, "the self-test harness wrote no results: " + dom[-1500:]
    res = json.loads(html.unescape(m.group(1)))
    assert not res["errors"], res["errors"]
    return {"built": built, "res": res, "fexp": fexp, "forward": forward, "inverse": inverse, "iexp": iexp,
            "sc_cases": sc_cases, "dir": out, "exe": exe}


def _close(a, b, rtol=RTOL):
    return abs(a - b) <= rtol * max(abs(a), abs(b)) or a == b


def test_forward_outputs_equal_python_at_random_points(page):
    res, fexp, fwd = page["res"]["forward"], page["fexp"], page["forward"]
    assert len(res) == len(fexp) == POINTS * len(SETS)
    compared = {s: 0 for s in SETS}
    for case, got, exp in zip(fwd, res, fexp):
        if "error" in exp:
            assert got["error"], f"{case}: Python raised {exp['error']!r} but the page showed no error"
            continue
        assert not got["error"], f"{case}: page error {got['error']!r}"
        for n, v in exp["values"].items():
            js = float(got["values"][n])
            assert _close(js, v), f"{case['set']}.{n}: page {js!r} vs Python {v!r} at {case['inputs']}"
            assert got["regimes"][n] == exp["regimes"][n], (case["set"], n, got["regimes"][n], exp["regimes"][n])
        compared[case["set"]] += 1
    # most random points are valid inputs: at least 100 compared per set
    assert all(c >= 100 for c in compared.values()), compared


def test_inverse_mode_reproduces_equationset_solve(page):
    res, iexp, cases = page["res"]["inverse"], page["iexp"], page["inverse"]
    assert len(res) == len(iexp) >= 40
    states = set()
    methods = set()
    for case, got, exp in zip(cases, res, iexp):
        where = f"{case['set']}: {case['unknown']} for {case['target']} = {case['value']}"
        assert got["selected"], where
        states.add(exp["state"])
        if exp["state"] == "solved":
            assert got["state"] == "solved", f"{where}: page says {got['text']!r}"
            assert _close(float(got["value"]), exp["value"]), f"{where}: page {got['value']} vs Python {exp['value']}"
            assert _close(float(got["continuous"]), exp["continuous"]), (where, got["continuous"], exp["continuous"])
            methods.add(got["method"])
        elif exp["state"] == "infeasible":
            assert got["state"] == "infeasible", f"{where}: page says {got['text']!r}; Python: {exp['message']}"
            # the constraint the engine names in InfeasibleError.binding ("key=regime, ..."), and its reason
            assert got["binding"] == (exp["binding"] or ""), (where, got["binding"], exp["binding"])
            assert exp["message"].split(" = ")[0] in got["text"]
            if "floor of" in exp["message"]:
                assert "floor of" in got["text"] and "binding constraint" in got["text"], (where, got["text"])
        else:
            assert got["state"] == "infeasible" and "does not depend" in got["text"], (where, got["text"])
    assert {"solved", "infeasible"} <= states
    assert any(m.startswith("closed form") for m in methods) and any(m.startswith("numeric") for m in methods)


def test_scorecard_levels_update_live_and_match_scenario_evaluate(page):
    from mlsysim.systems.applications import Applications

    res = page["res"]["scorecard"]
    base = Applications.get(SCENARIO)
    for (page_in, py_kw), got in zip(page["sc_cases"], res):
        ev = base.replace(**py_kw).evaluate() if py_kw else base.evaluate()
        by_name = {r["name"]: r for r in got["results"]}
        for c in ev.checks:
            if c.name not in by_name:
                continue
            r = by_name[c.name]
            var = VARIABLES[{"memory": "memory_required"}.get(c.name, c.name)]
            py = float(c.value.to(var.base_unit).magnitude)
            assert _close(r["base"], py), (page_in, c.name, r["base"], py)
            assert r["status"] == c.status, (page_in, c.name, r["status"], c.status)
        assert {"memory", "ttft", "tpot", "energy", "carbon", "tco"} <= set(by_name)
        assert got["verdict"] == ("PASS" if ev.passed else "FAIL"), (page_in, got["text"])
    # the levels do move: a large batch fails a target that the default passes
    assert res[0]["verdict"] == "PASS" and "FAIL" in {r["verdict"] for r in res[1:]}


def test_pickers_fill_inputs_from_the_registry_with_sources(page):
    from mlsysim.hardware import Hardware
    from mlsysim.solvers import ServingSolver

    units = page["built"]["data"]["units"]
    for pick, got in zip(PICKS, page["res"]["pickers"]):
        kw = dict(model=pick["model"], hardware=pick["hardware"], precision=pick["precision"], batch_size=8,
                  prompt_tokens=1024, output_tokens=256)
        s = ServingSolver()
        try:
            knowns = s.bind(**kw).knowns
        except (AttributeError, NotImplementedError):  # before the public bind(): the private one
            knowns = s._bind(**kw)[0]
        for n in ("num_layers", "hidden_size", "peak_flops", "memory_bandwidth", "bytes_per_element", "parameters"):
            v = knowns[n]
            py = float(v.to(units[n]).magnitude) if hasattr(v, "units") else float(v)
            assert _close(float(got["values"][n]), py, 1e-5), (pick, n, got["values"][n], py)
        hw = Hardware.get(pick["hardware"])
        assert str(hw.source_of("memory_bandwidth")) in got["sources"]["memory_bandwidth"]
        assert str(hw.source_of(f"peak_flops:{pick['precision']}")) in got["sources"]["peak_flops"]
        assert got["note"] == ""
    last, no_fp8 = page["res"]["pickers"][-2:]
    assert "peak_flops" in no_fp8["note"] and "no registry value" in no_fp8["note"]
    assert no_fp8["values"]["peak_flops"] == last["values"]["peak_flops"]  # kept, not guessed
    assert no_fp8["values"]["num_layers"] == "32"  # what the choice does determine is still filled


def test_equations_render_as_mathml_and_plots_are_drawn(page):
    res = page["res"]
    for s in SETS:
        m = res["mathml"][s]
        n = len(Equations[s].equations)
        assert m["count"] == n and m["mathml_elements"] == n and m["rendered"] == n, (s, m)
        assert m["fractions"] > 0
    plots = {p["title"]: p for p in res["plots"]}
    assert any(t.startswith("Roofline") for t in plots) and any(t.startswith("Serving") for t in plots)
    assert all(p["paths"] >= 1 and p["points"] >= 1 for p in plots.values()), plots


def test_index_html_loads_offline_without_errors(page, tmp_path):
    built = page["built"]
    write_files(tmp_path, built)
    dom = _dump_dom(page["exe"], tmp_path / "index.html", tmp_path / "profile")
    assert 'id="panel-Roofline"' in dom and 'id="panel-Serving"' in dom and 'id="scorecard"' in dom
    assert 'data-verdict="PASS"' in dom
    assert dom.count("<math") >= sum(len(Equations[s].equations) for s in SETS)
