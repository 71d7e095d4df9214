"""Registries through which the layers above the engine plug into it (the engine never imports them).

The LaTeX renderer lives in :mod:`mlsysim.latex`, which calls :func:`register_renderer` when it is
imported; :class:`~.equation_set.EquationSet` methods such as ``worked_example`` reach it through
:func:`renderer`. A package that wants its renderers loaded on first use registers a loader
(:func:`register_loader`; ``mlsysim/__init__`` registers one that imports ``mlsysim.latex``).
"""
from __future__ import annotations

from typing import Callable

from .errors import MlsysimError

_RENDERERS: dict[str, Callable] = {}
_LOADERS: list[Callable[[], object]] = []


def register_renderer(name: str, fn: Callable) -> None:
    """Make ``fn`` the renderer called for ``name`` (e.g. ``"worked_example"``, ``"solved_form"``)."""
    _RENDERERS[name] = fn


def register_loader(fn: Callable[[], object]) -> None:
    """Call ``fn()`` (once) the first time a renderer is asked for and none is registered under that name."""
    if fn not in _LOADERS:
        _LOADERS.append(fn)


def renderer(name: str) -> Callable:
    """The renderer registered for ``name``; runs the registered loaders first if needed."""
    fn = _RENDERERS.get(name)
    while fn is None and _LOADERS:
        _LOADERS.pop(0)()
        fn = _RENDERERS.get(name)
    if fn is None:
        raise MlsysimError(f"no renderer registered for {name!r}; the mlsysim.latex package registers them when it "
                           "is imported")
    return fn
