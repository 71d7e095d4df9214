"""The solvers (Layer E): thin façades that bind registry objects to equation sets.

* :class:`SingleNodeSolver` — roofline / Iron Law time of one inference step on one device.
* :class:`ServingSolver` — LLM prefill (ttft), decode (tpot), KV cache, memory, tensor parallelism.
* :class:`DistributedSolver` — 3D parallelism, collectives, oversubscription.
* :class:`SustainabilitySolver` and :class:`TCOSolver` — energy, carbon, water and cost.

Each has ``solve(...)`` (forward) and ``solve_for(unknown, ..., target=...)`` (inverse). They are built on
one base class, :class:`mlsysim.solvers.base.Solver` (public ``bind()`` -> :class:`~mlsysim.solvers.base.Binding`,
the same ``solve_for`` contract and errors, generated argument lists); its module docstring says how a
solver adopts it. Shared layout checks live in :mod:`mlsysim.solvers.checks`.
"""
from __future__ import annotations

from .serving import InverseResult, ServingResult, ServingSolver
from .single_node import SingleNodeResult, SingleNodeSolver
from .sustainability import SustainabilitySolver
from .tco import TCOSolver


def __getattr__(name):
    if name in ("DistributedSolver", "DistributedResult"):
        from . import distributed

        return getattr(distributed, name)
    raise AttributeError(name)


__all__ = ["SingleNodeSolver", "ServingSolver", "DistributedSolver", "SustainabilitySolver", "TCOSolver",
           "ServingResult", "SingleNodeResult", "InverseResult"]
