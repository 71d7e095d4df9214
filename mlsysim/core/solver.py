"""Compatibility alias: the solvers moved to :mod:`mlsysim.solvers` (layer E).

The original textbook code imports ``from mlsysim.core.solver import ...``; this module keeps that working.
It is the one place under ``mlsysim/core`` that names a layer above the engine, and it does so lazily,
so importing the engine never imports the solvers.
"""
from __future__ import annotations

import importlib

# names resolved lazily by __getattr__ below (hence F822)
__all__ = ["SingleNodeSolver", "ServingSolver", "DistributedSolver", "SustainabilitySolver", "TCOSolver",  # noqa: F822
           "ServingResult", "SingleNodeResult", "InverseResult", "DistributedResult"]  # noqa: F822


def __getattr__(name):
    if name in __all__:
        return getattr(importlib.import_module("mlsysim.solvers"), name)
    raise AttributeError(f"module 'mlsysim.core.solver' has no attribute {name!r}")
