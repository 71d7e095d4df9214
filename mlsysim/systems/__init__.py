"""Layer D, systems: network fabrics, fleets and reference clusters.

``Fabrics`` (interconnects), ``Fleet`` (nodes x devices + fabrics), ``Systems`` (reference clusters).
Scenarios (``Applications``) live in :mod:`mlsysim.systems.applications`.
"""
from __future__ import annotations

from .fabrics import TOPOLOGIES, Fabrics, NetworkFabric
from .fleet import Fleet
from .registry import Systems

__all__ = ["Fabrics", "NetworkFabric", "TOPOLOGIES", "Fleet", "Systems"]
