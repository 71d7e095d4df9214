"""No module-level import cycle among mlsysim modules (issue #12.2).

The graph is built from the source with ``ast`` (nothing is imported): an edge ``a -> b`` for every import
of an mlsysim module ``b`` that ``a`` executes at import time (module body, if/try blocks at module level,
class bodies; not function bodies, which run later, and not ``if TYPE_CHECKING:``). The layer rule for
the engine is tested in ``test_layering.py``.
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mlsysim"


def _module_name(path: Path, root: Path = PACKAGE) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    """Absolute name of the module a ``from ... import`` names."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _module_level(body: list) -> list:
    """Statements executed at import: the module body, descending into if/try blocks (not into defs or
    classes' methods, and not into ``if TYPE_CHECKING:``)."""
    out = []
    for n in body:
        out.append(n)
        if isinstance(n, ast.If):
            if not _is_type_checking(n):
                out.extend(_module_level(n.body))
            out.extend(_module_level(n.orelse))
        elif isinstance(n, ast.Try):
            out.extend(_module_level(n.body + n.orelse + n.finalbody + [s for h in n.handlers for s in h.body]))
        elif isinstance(n, ast.ClassDef):
            out.extend(_module_level([s for s in n.body if not isinstance(s, (ast.FunctionDef,
                                                                             ast.AsyncFunctionDef))]))
    return out


def _imports(path: Path, module_level_only: bool, root: Path = PACKAGE):
    """Absolute names of mlsysim modules (or module.attribute candidates) imported by ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module, is_pkg = _module_name(path, root), _is_package(path)
    nodes = _module_level(tree.body) if module_level_only else list(ast.walk(tree))
    out = []
    for n in nodes:
        if isinstance(n, ast.Import):
            out.extend((a.name, n.lineno) for a in n.names)
        elif isinstance(n, ast.ImportFrom):
            target = _resolve(module, is_pkg, n)
            out.append((target, n.lineno))
            out.extend((f"{target}.{a.name}", n.lineno) for a in n.names)
        elif isinstance(n, ast.Call) and not module_level_only:
            # importlib.import_module("mlsysim.x") with a literal argument
            f = n.func
            if (isinstance(f, ast.Attribute) and f.attr == "import_module" and n.args
                    and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)):
                out.append((n.args[0].value, n.lineno))
    return [(name, line) for name, line in out if name == "mlsysim" or name.startswith("mlsysim.")]


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _modules() -> dict:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}




def _modules() -> dict:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_graph_sees_the_package_and_its_imports():
    g = _graph()
    assert len(g) >= 40
    # mlsysim/solvers/tco.py imports .sustainability at module level; a function-level import is not an edge
    assert "mlsysim.solvers.sustainability" in g["mlsysim.solvers.tco"]
    assert "mlsysim.hardware" not in g["mlsysim.solvers.sustainability"]


def test_module_level_imports_are_told_from_function_level_ones(tmp_path):
    probe = tmp_path / "mlsysim" / "pkg" / "mod.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from . import a\ntry:\n    from ..b import c\nexcept ImportError:\n    pass\n"
                     "def f():\n    from ..d import e\n")
    top = {t for t, _ in _imports(probe, module_level_only=True, root=tmp_path / "mlsysim")}
    every = {t for t, _ in _imports(probe, module_level_only=False, root=tmp_path / "mlsysim")}
    assert {"mlsysim.pkg", "mlsysim.pkg.a", "mlsysim.b", "mlsysim.b.c"} <= top
    assert "mlsysim.d" not in top and "mlsysim.d" in every


def _graph() -> dict:
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        deps = set()
        for target, _ in _imports(path, module_level_only=True):
            # "from .x import y": y may be a submodule (mlsysim.x.y) or an attribute of mlsysim.x
            if target in mods:
                deps.add(target)
        deps.discard(name)
        graph[name] = deps
    return graph


def _cycle(graph: dict):
    """One import cycle as a list of module names, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            # importing mlsysim.a.b executes the package mlsysim.a first; a package importing its own
            # submodule is not a cycle of its own (the submodule's import of the package resolves to the
            # partially initialised package only if the package's __init__ depends back on it, caught below)
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if state.get(d) is None:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if state.get(n) is None:
            found = visit(n)
            if found:
                return found
    return None


def _without_parent_package_edges(graph: dict) -> dict:
    """Drop edges from a module to its own parent packages: Python initialises a parent package before the
    submodule anyway, so ``from . import x`` inside ``pkg/y.py`` (a sibling import through the package) is
    an edge to the sibling, which _imports already records as ``pkg.x``."""
    out = {}
    for n, deps in graph.items():
        parents = {".".join(n.split(".")[:i]) for i in range(1, len(n.split(".")))}
        out[n] = {d for d in deps if d not in parents}
    return out


def test_no_module_level_import_cycle():
    cycle = _cycle(_without_parent_package_edges(_graph()))
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
