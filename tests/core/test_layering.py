"""The engine (mlsysim/core) imports no layer above it: not at module level, not inside a function, not
through importlib with a literal module name (issue #12.2)."""
import ast
import pathlib

import pytest

CORE = pathlib.Path(__file__).resolve().parents[2] / "mlsysim" / "core"
UPPER = ("models", "hardware", "infra", "systems", "solvers", "latex", "cli", "plot", "sweep", "validation")
#: the one documented exception: the compatibility alias that forwards to mlsysim.solvers on attribute access
ALIAS = CORE / "solver.py"


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(CORE.parent.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: pathlib.Path):
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    mod = _module_name(path)
    pkg = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[:len(pkg) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield node.lineno, name
            for a in node.names:  # "from .. import latex"
                yield node.lineno, f"{name}.{a.name}"
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def _is_upper(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 2 and parts[0] == "mlsysim" and parts[1] in UPPER


def test_walker_sees_relative_and_function_level_imports(tmp_path):
    # the walker itself must be able to fail: a function-level relative import of latex is caught
    probe = CORE / "equation_set.py"
    names = {n for _l, n in _imports(probe)}
    assert "mlsysim.core.inverse" in names  # relative import resolved against the package
    fake = ast.parse("def f():\n    from ..latex.render import solved_form\n")
    assert any(isinstance(n, ast.ImportFrom) and n.level == 2 for n in ast.walk(fake))
    bad = CORE / "_probe_layering.py"
    try:
        bad.write_text("def f():\n    from ..latex.render import solved_form\n    import importlib\n"
                       "    importlib.import_module('mlsysim.solvers')\n")
        found = [n for _l, n in _imports(bad) if _is_upper(n)]
        assert "mlsysim.latex.render" in found and "mlsysim.solvers" in found
    finally:
        bad.unlink()


@pytest.mark.parametrize("path", sorted(p for p in CORE.rglob("*.py") if p != ALIAS), ids=lambda p: str(p.relative_to(CORE)))
def test_engine_imports_no_upper_layer(path):
    bad = [f"line {ln}: {name}" for ln, name in _imports(path) if _is_upper(name)]
    assert not bad, f"{path.relative_to(CORE.parent.parent)} imports a layer above the engine: {bad}"


def test_alias_is_lazy():
    # the compatibility alias names mlsysim.solvers only inside __getattr__, never at module level
    tree = ast.parse(ALIAS.read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all(not _is_upper(a.name) for n in top if isinstance(n, ast.Import) for a in n.names)
    assert all(not _is_upper(n.module or "") for n in top if isinstance(n, ast.ImportFrom))


def test_worked_example_reaches_latex_through_the_registry():
    # mlsysim.latex is imported on first use, through the loader mlsysim/__init__ registered, not by the engine
    import subprocess
    import sys

    code = ("import sys, mlsysim; from mlsysim import Q_; assert 'mlsysim.latex' not in sys.modules; "
            "ex = mlsysim.Equations.Roofline.worked_example(flops=Q_(2e12, 'FLOP'), peak_flops=Q_(1e15, 'FLOP/s'), "
            "compute_efficiency=0.5, bytes_moved=Q_(1e9, 'B'), memory_bandwidth=Q_(3e12, 'B/s'), "
            "overhead=Q_(0, 's')); assert 'mlsysim.latex' in sys.modules; print(str(ex))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # 2e12 FLOP / (0.5 * 1e15 FLOP/s) = 4 ms, substituted and printed by the renderer
    assert r"\SI{4}{\milli\second}" in out


def test_missing_renderer_is_a_typed_error():
    from mlsysim.core import hooks
    from mlsysim.core.errors import MlsysimError

    with pytest.raises(MlsysimError, match="no renderer registered for 'nonexistent'"):
        hooks.renderer("nonexistent")


#: layers above the engine that read equation sets' structure (the browser explorer's compiler, the LaTeX
#: renderer): they use the engine's public API only (order, derived_closure, magnitudes, inverse_plan, single_path,
#: symbolic_inverse, expand)
STRUCTURE_READERS = ("explore", "latex")
#: what those layers call equation sets and engine results by
ENGINE_OBJECTS = {"eqset", "es", "out", "res", "sol"}


def _private_engine_reads(path: pathlib.Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in ENGINE_OBJECTS):
            yield f"line {node.lineno}: {node.value.id}.{node.attr}"


def test_private_engine_reads_are_detected():
    probe = CORE.parent / "latex" / "_probe_private.py"
    try:
        probe.write_text("def f(eqset, out):\n    return eqset._single_path('a', 'b', ()), out._mag\n")
        assert sorted(_private_engine_reads(probe)) == ["line 2: eqset._single_path", "line 2: out._mag"]
    finally:
        probe.unlink()


@pytest.mark.parametrize("layer", STRUCTURE_READERS)
def test_upper_layers_read_equation_sets_through_the_public_api(layer):
    bad = [f"{p.relative_to(CORE.parent.parent)} {hit}" for p in sorted((CORE.parent / layer).rglob("*.py"))
           for hit in _private_engine_reads(p)]
    assert not bad, f"private engine reads outside the engine: {bad}"


def test_public_structure_api_by_hand():
    """The public API on a set whose structure is written out here: Roofline's latency = max(compute, memory) +
    overhead (two regimes), compute_time = flops / (efficiency x peak)."""
    import mlsysim

    R = mlsysim.Equations.Roofline
    order = R.order
    assert order.index("compute_time") < order.index("latency") and set(order) == set(R.derived)
    assert {"compute_time", "memory_time", "latency"} <= R.derived_closure("latency")
    assert R.derived_closure("latency", frozenset({"compute_time", "memory_time"})) == frozenset({"latency"})
    # latency reaches flops through compute_time only: a single path of two steps
    assert R.single_path("latency", "flops") == [("latency", "compute_time"), ("compute_time", "flops")]
    # compute_time = flops / (eta R): flops = compute_time eta R (one closed form)
    eq = R.defining("compute_time")
    sols = R.symbolic_inverse("compute_time", "flops", eq.rhs)
    assert len(sols) == 1 and {s.name for s in sols[0].free_symbols} == {"compute_time", "compute_efficiency",
                                                                          "peak_flops"}
    # latency expanded to its inputs: one branch per regime (compute-bound, memory-bound)
    assert len(R.expand("latency")) == 2
    assert R.magnitudes({"flops": mlsysim.Q_(1, "GFLOP")}) == {"flops": pytest.approx(1e9)}
    plan = R.inverse_plan("flops", frozenset(set(R.inputs) - {"flops"} | {"latency"}))
    assert plan["kind"] in ("symbolic", "numeric") and plan["target"] == "latency"
