"""The generated site without a browser: provenance of every compiled function, no relation in the
hand-written runtime, nothing fetched from the network, MathML, and errors for bad arguments."""
from __future__ import annotations

import re
from xml.dom.minidom import parseString

import pytest

from mlsysim.cli import main
from mlsysim.core.equation_sets import Equations
from mlsysim.core.errors import DomainError, UnknownNameError
from mlsysim.core.variables import VARIABLES
from mlsysim.explore import PROVENANCE, build, write_files
from mlsysim.explore.compile import js_expression

SETS = ["Roofline", "Serving"]  # as built by the `built` fixture (conftest.py)

FUNC = re.compile(r"^F\['([^']+)'\] = function \(x\) \{ return (.*); \};$")


@pytest.fixture(scope="module")
def site(tmp_path_factory, built):
    out = tmp_path_factory.mktemp("site")
    write_files(out, built)
    js = (out / "explorer.js").read_text(encoding="utf-8")
    return {"built": built, "out": out, "js": js}


def _sections(js: str):
    compiled, rest = js.split("})(window.MLSYSIM.F);", 1)
    runtime = rest.split("/* ---- runtime (generic: no relation is written in it) ---- */", 1)[1]
    return compiled, runtime


def test_every_compiled_function_carries_its_provenance(site):
    compiled, _ = _sections(site["js"])
    lines = compiled.splitlines()
    found = {}
    for i, line in enumerate(lines):
        if "function (x)" not in line:
            continue
        m = FUNC.match(line)
        assert m, f"a function in the compiled section is not in the compiled form: {line[:120]}"
        prev = lines[i - 1]
        assert prev.startswith(f"// {PROVENANCE} "), f"no provenance comment above {m.group(1)}"
        assert "| sympy: " in prev and "| source: " in prev, prev
        found[m.group(1)] = (m.group(2), prev)
    # every regime branch of every equation of every set is there, printed by sympy from the engine's
    # own expression (the one EquationSet lambdifies), with that expression and source in its comment
    for s in SETS:
        for eq in Equations[s].equations.values():
            for reg, expr in eq.branches().items():
                fid = f"{s}/{eq.key}/{reg}"
                assert fid in found, fid
                code, comment = found[fid]
                assert code == js_expression(expr)
                assert f"sympy: {' '.join(str(expr).split())} |" in comment
                assert str(eq.source).split()[0] in comment
    # every function the data refers to exists and nothing else was emitted
    refs = set()
    for s, spec in site["built"]["data"]["sets"].items():
        for eq in spec["equations"].values():
            refs |= set(eq["fns"])
        for plan in spec["inverses"].values():
            refs |= {c["fn"] for c in plan["candidates"]} | {f["fn"] for f in plan["floors"]}
    assert refs == set(found)
    inverse = [f for f in found if "/inverse/" in f]
    assert len(inverse) > 100  # closed-form inverses compiled for both sets


def test_runtime_has_no_relation_and_no_network(site):
    compiled, runtime = _sections(site["js"])
    # the runtime names no variable: it cannot compute any quantity from another by itself
    for name in site["built"]["data"]["variables"]:
        assert not re.search(rf"\b{re.escape(name)}\b", runtime), f"the runtime mentions {name}"
    assert not re.search(rf"^\s*// {PROVENANCE}", runtime, re.M)
    assert not re.search(r"F\[['\"]", runtime)  # it calls compiled functions only through the data's ids
    assert "function (x) { return x." not in runtime
    for bad in ("fetch(", "XMLHttpRequest", "WebSocket", "importScripts", "import(", "eval(", "new Function"):
        assert bad not in site["js"], bad
    index = (site["out"] / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', index)
    assert sorted(refs) == ["explorer.css", "explorer.js"]
    css = (site["out"] / "explorer.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css


def test_equations_are_presentation_mathml(site):
    for s in SETS:
        for eq in site["built"]["data"]["sets"][s]["equations"].values():
            doc = parseString(eq["mathml"])
            root = doc.documentElement
            assert root.tagName == "math" and root.getAttribute("display") == "block"
            row = [n for n in root.firstChild.childNodes if n.nodeType == n.ELEMENT_NODE]
            assert row[1].tagName == "mo" and row[1].firstChild.data == "="  # lhs = rhs
    roof = site["built"]["data"]["sets"]["Roofline"]["equations"]
    # T_comp = O / (eta R_peak): a fraction, with the nomenclature's symbols
    m = roof["compute_time"]["mathml"]
    assert "<mfrac>" in m and "<mi>O</mi>" in m and "\u03b7" in m and "<mtext>peak</mtext>" in m
    assert "<mi>max</mi>" in roof["latency"]["mathml"] and "<mi>min</mi>" in roof["attainable_flops"]["mathml"]


def test_inputs_have_units_ranges_and_registry_defaults(site):
    data = site["built"]["data"]
    serving = {s["name"]: s for s in data["panels"]["Serving"]["inputs"]}
    # Llama-3-70B on an H200 at fp16: 80 layers, 4.8 TB/s, 989 TFLOP/s dense fp16 (datasheets)
    assert serving["num_layers"]["value"] == 80
    assert serving["memory_bandwidth"]["unit"] == "TB/s" and serving["memory_bandwidth"]["value"] == 4.8
    assert serving["peak_flops"]["unit"] == "TFLOP/s" and serving["peak_flops"]["value"] == 989
    assert "H200" in serving["memory_bandwidth"]["source"]
    for s in serving.values():
        assert s["lo"] <= s["value"] <= s["hi"], s
        assert s["to_base"] * s["from_base"] == pytest.approx(1.0, rel=1e-12)
    assert serving["compute_efficiency"]["hi"] == 1.0  # a fraction's range ends at 1
    assert set(data["panels"]["Roofline"]["inputs"][0]) >= {"name", "unit", "value", "lo", "hi", "source"}
    # pickers depend on what each value depends on: bandwidth on the hardware only, peak on hardware x precision
    tables = data["pickers"]["tables"]["Serving"]
    assert tables["memory_bandwidth"]["by"] == ["hardware"]
    assert tables["peak_flops"]["by"] == ["hardware", "precision"]
    assert tables["num_layers"]["by"] == ["model"]


def test_bad_arguments_raise_typed_errors(tmp_path, capsys):
    with pytest.raises(UnknownNameError, match="Rooflin"):
        build(["Rooflin"])
    with pytest.raises(DomainError, match="training scenario"):
        build(["IronLaw"], "Frontier")
    assert main(["explore", "--out", str(tmp_path / "x"), "--set", "Nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Nope" in err


def test_cli_writes_the_site(tmp_path, capsys):
    assert main(["explore", "--out", str(tmp_path / "site"), "--set", "IronLaw"]) == 0
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "site" / "explorer.js").exists()
    js = (tmp_path / "site" / "explorer.js").read_text(encoding="utf-8")
    assert js.count(f"// {PROVENANCE} ") == len(re.findall(r"^F\['", js, re.M)) >= sum(
        len(e.branches()) for e in Equations["IronLaw"].equations.values())
    assert "index.html" in capsys.readouterr().out
    assert all(v in VARIABLES for v in Equations["IronLaw"].variables)


def test_display_units_and_symbols():
    from mlsysim.explore.compile import display_unit, symbol_mathml, unit_factors

    # 4.8e12 B/s is 4.8 TB/s; 30.1e-3 s is 30.1 ms; 989e12 FLOP/s is 989 TFLOP/s; a count keeps no unit
    assert display_unit("memory_bandwidth", 4.8e12) == "TB/s"
    assert display_unit("latency", 30.1e-3) == "ms"
    assert display_unit("peak_flops", 989e12) == "TFLOP/s"
    assert display_unit("num_layers", 80.0) == ""
    # TB/s -> B/s is 1e12 (decimal prefix), ms -> s is 1e-3
    assert unit_factors("memory_bandwidth", "TB/s") == pytest.approx((1e12, 1e-12), rel=1e-15)
    assert unit_factors("latency", "ms") == pytest.approx((1e-3, 1e3), rel=1e-15)
    # I^* (ridge point): a superscript star; s-bar_pre (prefill context): an accent over s
    assert "<msup><mi>I</mi><mo>*</mo></msup>" in symbol_mathml("ridge_point")
    Equations["Serving"]  # defines prefill_context
    assert '<mover accent="true"><mi>s</mi>' in symbol_mathml("prefill_context")
    assert '<mi mathvariant="normal">BW</mi>' in symbol_mathml("memory_bandwidth")
