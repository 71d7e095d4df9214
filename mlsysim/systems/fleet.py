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

    # ------------------------------------------------------------------ collectives
    COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv")

    def collective_time(self, collective: str, message_bytes, num_devices: int | None = None,
                        link_efficiency: float | None = None, precision: str = "bf16"):
        """Time of one collective of ``message_bytes`` among ``num_devices`` of this fleet's devices [s].

        Parameters
        ----------
        collective : {"all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv"}
            The operation; ``message_bytes`` is the full buffer each rank contributes (for ``send_recv``, the
            message sent).
        message_bytes : Quantity
            Payload [byte].
        num_devices : int, optional
            Ranks taking part (default: the whole fleet), packed onto as few nodes as possible.
        link_efficiency : float, optional
            Achievable fraction of a link's nominal bandwidth where no fitted law applies
            (``mlsysim.core.defaults.LINK_EFFICIENCY``, 0.8).

        Notes
        -----
        Inside one node, all-reduce and send/recv use the device's calibrated alpha-beta laws (NCCL
        measurements, ``mlsysim.calibration.laws_for(...).collective``: ``Equations.CollectiveAlphaBeta``).
        Other collectives, and every collective that crosses nodes, use the alpha-beta relations on the
        fleet's fabrics at ``link_efficiency``: inside a node ``Equations.Collectives`` (ring reduce-scatter /
        all-gather, pairwise all-to-all); across nodes ``Equations.HierarchicalCollectives`` for all-reduce
        (its reduce-scatter and all-gather halves for those two), and the pairwise all-to-all and the
        point-to-point message over each device's own NIC, divided by the fabric's oversubscription (an upper
        bound for all-to-all: the intra-node share of its traffic is priced at NIC speed too).
        """
        from ..calibration import laws_for
        from ..core.defaults import LINK_EFFICIENCY
        from ..core.equation_sets import Equations
        from ..core.units import Q_

        if collective not in self.COLLECTIVES:
            raise UnknownNameError(f"collective must be one of {', '.join(self.COLLECTIVES)}; got {collective!r}")
        if not hasattr(message_bytes, "units"):
            raise DomainError(f"message_bytes must be a Quantity in bytes, e.g. Q_(1, 'GB'); got {message_bytes!r}")
        n = self.num_devices if num_devices is None else _count("num_devices", num_devices)
        if n > self.num_devices:
            raise DomainError(f"num_devices = {n} exceeds the fleet's {self.num_devices} devices ({self.name})")
        eta = LINK_EFFICIENCY.value if link_efficiency is None else link_efficiency
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0 < eta <= 1:
            raise DomainError(f"link_efficiency must be a fraction with 0 < x <= 1; got {eta!r}")
        if n == 1 and collective != "send_recv":
            return Q_(0.0, "s")
        g = self.devices_per_node
        intra, inter = self.intra_node_fabric, self.inter_node_fabric
        if n <= g and collective in ("all_reduce", "send_recv"):
            laws = laws_for(self.hardware, precision)
            return laws.collective_time(collective, message_bytes, num_workers=max(n, 2), devices_per_node=max(n, 2))
        if collective in ("all_reduce", "all_gather", "reduce_scatter"):
            t = Equations.HierarchicalCollectives.evaluate(
                outputs=["hierarchical_allreduce_time"], message_bytes=message_bytes, devices_per_node=g,
                num_nodes=-(-n // g), intra_node_bandwidth=intra.link_bandwidth, intra_node_latency=intra.link_latency,
                inter_node_bandwidth=inter.link_bandwidth, inter_node_latency=inter.link_latency,
                oversubscription=float(inter.oversubscription), link_efficiency=eta).hierarchical_allreduce_time
            # a ring all-reduce is a reduce-scatter then an all-gather of equal cost at each level (Thakur et al.
            # 2005, Sec. 4), so the two-level reduce-scatter and all-gather each take half the two-level all-reduce
            return t if collective == "all_reduce" else t / 2
        fabric = intra if n <= g else inter
        bw = fabric.link_bandwidth * eta / (1 if n <= g else float(inter.oversubscription))
        out = {"all_gather": "allgather_time", "reduce_scatter": "reduce_scatter_time", "all_to_all": "alltoall_time",
               "send_recv": "p2p_time"}[collective]
        return Equations.Collectives.evaluate(outputs=[out], num_devices=n, message_bytes=message_bytes,
                                              link_bandwidth=bw, link_latency=fabric.link_latency)[out]

    def to_dict(self) -> dict:
        return {"name": self.name, "hardware": self.hardware.key, "num_nodes": self.num_nodes,
                "devices_per_node": self.devices_per_node, "num_devices": self.num_devices,
                "intra_node_fabric": self.intra_node_fabric.key, "inter_node_fabric": self.inter_node_fabric.key,
                "oversubscription": self.oversubscription}

    def __repr__(self):
        return (f"<Fleet {self.name}: {self.num_devices} x {self.hardware.key} ({self.num_nodes} nodes x "
                f"{self.devices_per_node}), intra {self.intra_node_fabric.key}, inter {self.inter_node_fabric.key}"
                f" {self.oversubscription:g}:1>")
