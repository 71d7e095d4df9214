"""Tests read nothing outside the repository (issue #13: a clean clone with no shared/ folder must pass).

Two checks: no test source names an absolute path or the ``shared/`` folder as a file to read (static, by
AST), and the session-wide recorder in ``tests/conftest.py`` catches an open() outside the repository.
"""
import ast
import io
import pathlib

import sys

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
SHARED = "../" + "shared"  # the steering folder beside a checkout (spelled in two pieces: this file is the checker)


def _root_conftest(config=None):
    """``tests/conftest.py`` as pytest loaded it (``import conftest`` may name another folder's conftest)."""
    modules = list(config.pluginmanager.get_plugins()) if config is not None else []
    for module in modules + list(sys.modules.values()):
        f = getattr(module, "__file__", None)
        if f and pathlib.Path(f).resolve() == TESTS / "conftest.py":
            return module
    raise AssertionError("tests/conftest.py was not loaded")
ROOTS = ("/work", "/home", "/root", "/Users", "/mnt", "/data", "/srv", "/opt")


def _string_constants(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    doc_nodes = set()  # docstrings, and the pieces of f-strings (they are joined to a computed prefix)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            doc_nodes.update(id(v) for v in node.values)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                doc_nodes.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in doc_nodes:
            yield node.lineno, node.value


def test_no_test_names_a_path_outside_the_repository():
    bad = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name in ("test_repository_only.py", "conftest.py"):  # the checkers name what they allow
            continue
        for line, s in _string_constants(path):
            if s.startswith(ROOTS) or SHARED in s or "shared/reference" in s or s.startswith("~/"):
                bad.append(f"{path.relative_to(TESTS.parent)}:{line}: {s!r}")
    assert not bad, "tests must read the repository's own copies (tests/data):\n" + "\n".join(bad)


def test_the_recorder_catches_an_outside_open(tmp_path, pytestconfig):
    outside = "/nonexistent-mlsysim-probe/published_cases.json"
    before = len(_root_conftest(pytestconfig).OUTSIDE_OPENS)
    with pytest.raises(FileNotFoundError):
        open(outside)
    with pytest.raises(FileNotFoundError):
        pathlib.Path(outside).read_text()
    with pytest.raises(FileNotFoundError):
        io.open(outside)
    caught = _root_conftest(pytestconfig).OUTSIDE_OPENS[before:]
    del _root_conftest(pytestconfig).OUTSIDE_OPENS[before:]  # the probe itself must not fail the session
    assert caught == [outside] * 3
    # the repository, and a temporary directory, are fine
    (tmp_path / "x.txt").write_text("ok")
    open(_root_conftest(pytestconfig).REPO_ROOT / "pyproject.toml").close()
    assert _root_conftest(pytestconfig).OUTSIDE_OPENS[before:] == []
