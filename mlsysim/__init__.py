"""mlsysim: a physics-grounded analytical simulator of machine-learning systems.

``import mlsysim`` is cheap: registries and equation sets are built on first use.
"""
from __future__ import annotations

import importlib

from .core.units import Q_, ureg
from .core import errors
from .core.errors import MlsysimError
from .core.sources import Source
from .core.equation_sets import Equations
from .core.hooks import register_loader

# the engine renders LaTeX worked examples through renderers that mlsysim.latex registers when imported
register_loader(lambda: importlib.import_module("mlsysim.latex"))

__version__ = "0.1.0"

# name -> (module, attribute), imported on first access
_LAZY = {
    "Models": ("mlsysim.models", "Models"),
    "Hardware": ("mlsysim.hardware", "Hardware"),
    "Infra": ("mlsysim.infra", "Infra"),
    "Systems": ("mlsysim.systems", "Systems"),
    "Fabrics": ("mlsysim.systems", "Fabrics"),
    "Fleet": ("mlsysim.systems", "Fleet"),
    "Applications": ("mlsysim.systems.applications", "Applications"),
    "Scenario": ("mlsysim.systems.applications", "Scenario"),
    "TransformerWorkload": ("mlsysim.models", "TransformerWorkload"),
    "CNNWorkload": ("mlsysim.models", "CNNWorkload"),
    "SingleNodeSolver": ("mlsysim.solvers", "SingleNodeSolver"),
    "ServingSolver": ("mlsysim.solvers", "ServingSolver"),
    "DistributedSolver": ("mlsysim.solvers", "DistributedSolver"),
    "SustainabilitySolver": ("mlsysim.solvers", "SustainabilitySolver"),
    "TCOSolver": ("mlsysim.solvers", "TCOSolver"),
    "sweep": ("mlsysim.sweep", "sweep"),
}


#: submodules importable as attributes on first access (``mlsysim.latex.export(...)``)
_SUBMODULES = {"latex", "plot", "validation", "models", "hardware", "infra", "systems", "cli"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        mod = importlib.import_module(f"mlsysim.{name}")
        globals()[name] = mod
        return mod
    try:
        mod, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'mlsysim' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(mod), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = ["Q_", "ureg", "Equations", "Source", "MlsysimError", "errors", *_LAZY]
