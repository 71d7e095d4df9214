"""The registry of every equation set, ``mlsysim.Equations``.

Sets are built lazily on first access (no sympy work at import time). Each topic module registers
factories with ``Equations.register(name, factory=...)``.
"""
from __future__ import annotations

import importlib
import importlib.util

from ..registry import Registry

Equations = Registry("equation set")

#: topic modules, in dependency order
TOPICS = [
    "roofline",
    "transformer",
    "serving",
    "collectives",
    "parallelism",
    "carbon",
    "tco",
    "efficiency",
    "queueing",
    "checkpointing",
    "batching",
    "speculative",
    "training_step",
    "multinode",
]


def _register_all():
    for t in TOPICS:
        name = f"{__name__}.{t}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


_register_all()
