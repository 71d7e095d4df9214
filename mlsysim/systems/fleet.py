"""Fleets: nodes of accelerators joined by an intra-node and an inter-node fabric.

A :class:`Fleet` is ``num_nodes`` nodes of ``devices_per_node`` identical devices. Inside a node the
devices share the ``intra_node_fabric`` (NVLink + NVSwitch, an NVLink bridge, TPU ICI); across nodes each
device has its own NIC on the ``inter_node_fabric`` (InfiniBand, RoCE, Ethernet), whose
``oversubscription`` divides the bandwidth of traffic leaving a leaf switch.

Defaults come from the hardware entry's sourced node-topology fields (``devices_per_node``,
``intra_node_fabric``, ``inter_node_fabric``; see ``mlsysim.hardware.spec.NODE_FIELDS``): the reference node
the device ships in (DGX A100, DGX H100/H200, DGX B200, a bridged pair of H100 PCIe cards, a TPU host),
each with its Source. A device without them (V100, T4, MI300X...) needs the three arguments given.
Override any of them.
"""
from __future__ import annotations

from ..core.errors import DomainError, UnknownNameError
from ..core.variables import check_count
from .fabrics import Fabrics, NetworkFabric

#: the hardware entry's node-topology fields a Fleet reads its defaults from
NODE_DEFAULT_FIELDS = ("devices_per_node", "intra_node_fabric", "inter_node_fabric")


def _resolve_hardware(hw):
    if isinstance(hw, str):
        from ..hardware import Hardware

        return Hardware.get(hw)
    if not hasattr(hw, "peak_flops") or not hasattr(hw, "key"):
        raise DomainError(f"Fleet hardware must be a Hardware entry or its name (e.g. 'H100'); got {hw!r}")
    return hw


def _resolve_fabric(f, which: str) -> NetworkFabric:
    if isinstance(f, NetworkFabric):
        return f
    if isinstance(f, str):
        return Fabrics.get(f)
    raise DomainError(f"Fleet {which} must be a NetworkFabric or a Fabrics name (e.g. 'InfiniBand_NDR'); "
                      f"got {f!r}")


def _node_default(hardware, field: str, given):
    """``given`` if not None, else the hardware entry's sourced node field; raise naming what is missing."""
    if given is not None:
        return given
    value = hardware.get(field) if hasattr(hardware, "get") else None
    if value is None:
        raise DomainError(f"Fleet: {hardware.key} has no sourced {field} (no reference node is registered for "
                          f"it); give {field}=" + ("..." if field == "devices_per_node" else
                                                   f"one of the Fabrics names ({', '.join(Fabrics.names())})"))
    return value


def _count(name, value):
    return check_count(name, value, owner="Fleet")


class Fleet:
    """A cluster: ``num_nodes`` x ``devices_per_node`` devices and the fabrics that join them.

    Parameters
    ----------
    hardware : HardwareSpec or str
        The accelerator (a ``Hardware`` entry or its registry name).
    num_nodes : int
        Number of nodes [1].
    devices_per_node : int, optional
        Accelerators per node [1]; default: the hardware entry's sourced ``devices_per_node``.
    intra_node_fabric, inter_node_fabric : NetworkFabric or str, optional
        Fabrics (or ``Fabrics`` names); defaults: the hardware entry's sourced ``intra_node_fabric`` /
        ``inter_node_fabric``. The inter-node fabric's ``link_bandwidth`` is per device (one NIC per device).
    datacenter : object or str, optional
        Where the fleet runs (an ``Infra`` entry or its name); used by sustainability/TCO solvers.
    name : str, optional
        Display name.
    source : Source, optional
        Where the cluster's description comes from (reference clusters of the ``Systems`` registry).

    Raises
    ------
    DomainError
        Counts that are not whole numbers >= 1, or a node value neither given nor sourced on the hardware.
    UnknownNameError
        Unknown hardware or fabric names (close matches listed).
    """

    def __init__(self, hardware, num_nodes, devices_per_node=None, intra_node_fabric=None,
                 inter_node_fabric=None, datacenter=None, name=None, description: str = "", source=None):
        self.hardware = _resolve_hardware(hardware)
        devices_per_node = _node_default(self.hardware, "devices_per_node", devices_per_node)
        intra_node_fabric = _node_default(self.hardware, "intra_node_fabric", intra_node_fabric)
        inter_node_fabric = _node_default(self.hardware, "inter_node_fabric", inter_node_fabric)
        self.num_nodes = _count("num_nodes", num_nodes)
        self.devices_per_node = _count("devices_per_node", devices_per_node)
        self.intra_node_fabric = _resolve_fabric(intra_node_fabric, "intra_node_fabric")
        self.inter_node_fabric = _resolve_fabric(inter_node_fabric, "inter_node_fabric")
        self._datacenter = datacenter
        self.name = name or f"{self.num_nodes} x {self.devices_per_node} {self.hardware.key}"
        self.description = description
        self.source = source

    # ------------------------------------------------------------------ derived
    @property
    def num_devices(self) -> int:
        """Accelerators in the fleet: num_nodes * devices_per_node [1]."""
        return self.num_nodes * self.devices_per_node

    @property
    def oversubscription(self):
        """Oversubscription of the inter-node fabric [1]."""
        return self.inter_node_fabric.oversubscription

    @property
    def datacenter(self):
        """The datacentre (resolved from ``Infra`` by name on first access), or None."""
        dc = self._datacenter
        if isinstance(dc, str):
            try:
                from ..infra import Infra

                dc = Infra.get(dc)
                self._datacenter = dc
            except (ImportError, AttributeError):
                pass
        return dc

    # ------------------------------------------------------------------ copies
    def replace(self, **overrides) -> "Fleet":
        """A copy with some constructor arguments replaced (``fleet.replace(num_nodes=4)``)."""
        allowed = ("hardware", "num_nodes", "devices_per_node", "intra_node_fabric", "inter_node_fabric",
                   "datacenter", "name", "description", "source")
        for k in overrides:
            if k not in allowed:
                raise UnknownNameError(f"Fleet.replace: unknown argument {k!r}; allowed: {', '.join(allowed)}")
        kw = dict(hardware=self.hardware, num_nodes=self.num_nodes, devices_per_node=self.devices_per_node,
                  intra_node_fabric=self.intra_node_fabric, inter_node_fabric=self.inter_node_fabric,
                  datacenter=self._datacenter, name=None, description=self.description,
                  source=self.source)
        if not any(k in overrides for k in ("num_nodes", "devices_per_node", "hardware")):
            kw["name"] = self.name
        kw.update(overrides)
        return Fleet(**kw)

    def with_oversubscription(self, ratio) -> "Fleet":
        """The same fleet with the inter-node fabric oversubscribed ``ratio``:1 above the leaf [1, >= 1]."""
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio >= 1:
            raise DomainError(f"oversubscription must be a number >= 1 (1 = full bisection); got {ratio!r}")
        return self.replace(inter_node_fabric=self.inter_node_fabric.replace(oversubscription=ratio),
                            name=f"{self.name} ({ratio:g}:1 oversubscribed)")

    def to_dict(self) -> dict:
        return {"name": self.name, "hardware": self.hardware.key, "num_nodes": self.num_nodes,
                "devices_per_node": self.devices_per_node, "num_devices": self.num_devices,
                "intra_node_fabric": self.intra_node_fabric.key, "inter_node_fabric": self.inter_node_fabric.key,
                "oversubscription": self.oversubscription}

    def __repr__(self):
        return (f"<Fleet {self.name}: {self.num_devices} x {self.hardware.key} ({self.num_nodes} nodes x "
                f"{self.devices_per_node}), intra {self.intra_node_fabric.key}, inter {self.inter_node_fabric.key}"
                f" {self.oversubscription:g}:1>")
