"""Network fabrics: the links a collective runs over, each value with its Source.

Conventions
-----------
* ``link_bandwidth`` is **per device, in each direction** [byte/s]: the rate at which one accelerator
  can send (and, at the same time, receive). Vendors quote NVLink as the total of both directions
  (A100: 600 GB/s = 300 GB/s each way); NICs are quoted per direction (InfiniBand NDR: 400 Gb/s =
  50 GB/s each way). The alpha-beta collective models (``Equations.Collectives``) take this
  per-direction figure. Each value's source note states the conversion.
* ``link_latency`` is the per-step startup cost alpha of one message [s] as seen by a collective
  library (wire, switch and software). Datasheets give switch port-to-port latencies of a few hundred
  nanoseconds, far below what a collective step costs, so these values are named **assumptions**.
* ``topology``: ``nvswitch`` (all-to-all switch inside a node), ``fat_tree`` (folded Clos),
  ``torus`` (direct 3D torus), ``ring``.
* ``oversubscription`` (>= 1): ratio of downlink to uplink capacity above the leaf switch (1 = full
  bisection bandwidth). Only inter-node traffic is divided by it.

TPU v5p's 3D torus
------------------
Google quotes 1,200 GB/s of bidirectional ICI bandwidth per v5p chip: 6 links (one to each torus
neighbour) x 2 directions x 100 GB/s. The ring collectives of ``Equations.Collectives`` take the rate at
which one device sends, so the figure depends on how many torus axes the collective spans:

* ``TPU_ICI_v5p`` (the default of a v5p fleet): a collective over all three axes (XLA runs the rings of the
  three axes at once, each on its share of the data), all 6 links: 600 GB/s per direction;
* ``TPU_ICI_v5p_Axis``: a ring along one axis, which uses that axis's 2 links: 200 GB/s per direction.

The collective model uses whichever fabric the fleet names; give ``intra_node_fabric="TPU_ICI_v5p_Axis"``
for tensor- or pipeline-parallel groups laid along one axis.
"""
from __future__ import annotations

import dataclasses

from ..core.errors import DomainError, UnitError
from ..core.references import DUBEY_2024, NVIDIA_A100_ARCH_2020, cite
from ..core.registry import Registry
from ..core.sources import Source, Sourced, assumption, derived
from ..core.specs import SourcedSpec, sv
from ..core.units import Q_
from ..hardware.google import TPU_V5P_DOCS
from ..hardware.nvidia import DGX_H100_GUIDE, H100_PCIE_DATASHEET, NARAYANAN_2021

TOPOLOGIES = ("nvswitch", "fat_tree", "torus", "ring")


def _with_note(src: Source, note: str) -> Source:
    return dataclasses.replace(src, note=note)


class NetworkFabric(SourcedSpec):
    """One interconnect technology, every value sourced.

    Parameters
    ----------
    key : str
        Registry name, e.g. ``"InfiniBand_NDR"``.
    name : str
        Human-readable name.
    link_bandwidth : Sourced
        Per-device bandwidth, each direction [byte/s].
    link_latency : Sourced
        Per-step startup latency alpha [s].
    topology : Sourced
        One of :data:`TOPOLOGIES` (a plain string).
    oversubscription : Sourced
        Oversubscription ratio above the leaf switch [1], >= 1.
    scope : str
        ``"intra_node"`` or ``"inter_node"`` (a label: where the fabric is normally used).

    Raises
    ------
    SourceError
        A value comes without a Source, or a field is missing.
    UnitError
        A bandwidth or latency has the wrong dimension.
    DomainError
        A value is out of range (non-positive bandwidth, negative latency, oversubscription < 1,
        unknown topology).
    """

    FIELDS = {
        "link_bandwidth": "per-device bandwidth, each direction [byte/s]",
        "link_latency": "per-step startup latency alpha [s]",
        "topology": f"topology label, one of {', '.join(TOPOLOGIES)}",
        "oversubscription": "oversubscription ratio above the leaf switch (>= 1)",
    }

    def __init__(self, key: str, name: str, *, scope: str = "inter_node", **fields):
        super().__init__(key, name, **fields)
        if scope not in ("intra_node", "inter_node"):
            raise DomainError(f"{key}: scope must be 'intra_node' or 'inter_node'; got {scope!r}")
        self.scope = scope
        bw = self.link_bandwidth
        if not hasattr(bw, "units") or bw.dimensionality != Q_(1, "byte/s").dimensionality:
            raise UnitError(f"{key}: link_bandwidth must be a bandwidth in byte/s (e.g. Q_(50, 'GB/s')); got {bw!r}")
        if not float(bw.m_as("byte/s")) > 0:
            raise DomainError(f"{key}: link_bandwidth must be > 0; got {bw:~P}")
        lat = self.link_latency
        if not hasattr(lat, "units") or lat.dimensionality != Q_(1, "s").dimensionality:
            raise UnitError(f"{key}: link_latency must be a time (e.g. Q_(2, 'us')); got {lat!r}")
        if float(lat.m_as("s")) < 0:
            raise DomainError(f"{key}: link_latency must be >= 0; got {lat:~P}")
        if self.topology not in TOPOLOGIES:
            raise DomainError(f"{key}: topology must be one of {', '.join(TOPOLOGIES)}; got {self.topology!r}")
        r = self.oversubscription
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not r >= 1:
            raise DomainError(f"{key}: oversubscription must be a number >= 1 (1 = full bisection); got {r!r}")

    def replace(self, **overrides) -> "NetworkFabric":
        """A copy with some values overridden by the caller (their source says so).

        ``fabric.replace(oversubscription=2)``, ``fabric.replace(link_bandwidth=Q_(25, "GB/s"))``.
        """
        fields = dict(self._values)
        for f, v in overrides.items():
            if f not in self.FIELDS:
                from ..core.errors import UnknownVariableError

                raise UnknownVariableError(f"NetworkFabric has no field {f!r}; fields: {', '.join(self.FIELDS)}")
            if isinstance(v, Sourced):
                fields[f] = v
                continue
            old = self._values.get(f)
            src = Source("value given by the caller", kind="assumption",
                         note=f"{f}: overrides {old.value if old else 'nothing'} of {self.key}")
            fields[f] = Sourced(v, src)
        return NetworkFabric(self.key, self.name, scope=self.scope, **fields)

    def __repr__(self):
        return (f"<NetworkFabric {self.key}: {self.link_bandwidth.to('GB/s'):.4g~P} per direction, "
                f"alpha {self.link_latency.to('us'):.3g~P}, {self.topology}, {self.oversubscription}:1>")


# ------------------------------------------------------------------------------------------ sources
A100_WHITEPAPER = cite(NVIDIA_A100_ARCH_2020, "third-generation NVLink: 12 links, 600 GB/s total per GPU; NVSwitch")
H100_WHITEPAPER = Source(
    "NVIDIA, 'NVIDIA H100 Tensor Core GPU Architecture' whitepaper v1.04", kind="datasheet", year=2022,
    locator="fourth-generation NVLink: 18 links, 900 GB/s total per GPU; third-generation NVSwitch",
    url="https://www.nvidia.com/en-us/data-center/h100/")
B200_DATASHEET = Source(
    "NVIDIA, 'NVIDIA HGX B200' datasheet (Blackwell)", kind="datasheet", year=2024,
    locator="fifth-generation NVLink: 1.8 TB/s total per GPU", url="https://www.nvidia.com/en-us/data-center/hgx/")
LLAMA3_2024 = cite(
    DUBEY_2024, "Sec. 3.3.1 (network: RoCE and InfiniBand fabrics at 400 Gbps between GPUs; three-layer Clos)")
TPU_V4_DOCS = Source(
    "Google Cloud, 'TPU v4' documentation (key specifications of a v4 Pod)", kind="datasheet", year=2023,
    locator="all-reduce bandwidth per Pod 1.1 PB/s, 4096 chips, 3D mesh/torus",
    url="https://cloud.google.com/tpu/docs/v4")
SCALING_BOOK_2025 = Source(
    "J. Austin et al. (Google DeepMind), 'How to Scale Your Model', part 2 'How to Think About TPUs'",
    kind="report", year=2025,
    locator="ICI section: TPU v4 and v5p chips link to their 6 nearest neighbours (3D torus); table of ICI "
            "bandwidth per link, v5p 9e10 bytes/s one way (commit 0819a7d, 2025-02-18)",
    url="https://jax-ml.github.io/scaling-book/tpus/")
IEEE_8023BA = Source(
    "IEEE Std 802.3ba-2010, 40 Gb/s and 100 Gb/s Ethernet", kind="standard", year=2010,
    locator="Clause 80 (100GBASE-R: 100 Gb/s per direction)")

_ALPHA_NVLINK = assumption(
    "mlsysim link-latency assumption (NVLink/NVSwitch)",
    "1 us per collective step inside an NVSwitch node: NCCL's small-message all-reduce on 8 GPUs takes on the "
    "order of 10-20 us for 2(p-1) = 14 ring steps; switch port latency alone is far smaller")
_ALPHA_IB = assumption(
    "mlsysim link-latency assumption (InfiniBand / RoCE)",
    "5 us per collective step across nodes (NIC, one or more switch hops and the collective library's "
    "protocol); an order-of-magnitude value, not a measurement")
_ALPHA_ETH = assumption(
    "mlsysim link-latency assumption (commodity Ethernet)",
    "10 us per collective step over commodity 100 GbE (TCP or RoCE without tuned collectives); an "
    "order-of-magnitude value, not a measurement")
_ALPHA_ICI = assumption(
    "mlsysim link-latency assumption (TPU ICI)",
    "1 us per collective step between neighbouring TPU chips on the inter-chip interconnect; an "
    "order-of-magnitude value, not a measurement")
_NONBLOCKING_SWITCH = assumption(
    "non-blocking switch", "an NVSwitch (or a direct torus link) gives every device its full link bandwidth "
    "at once: no oversubscription")
_FULL_BISECTION = assumption(
    "full-bisection fabric", "a fat tree built with full bisection bandwidth (the usual design for training "
    "clusters); override with fleet.with_oversubscription(r)")


def _nvlink3():
    return NetworkFabric(
        "NVLink3", "NVLink 3 + NVSwitch (DGX/HGX A100)", scope="intra_node",
        link_bandwidth=sv(300, "GB/s", _with_note(A100_WHITEPAPER, "600 GB/s total of both directions per GPU "
                                                                   "-> 300 GB/s each way")),
        link_latency=sv(1, "us", _ALPHA_NVLINK),
        topology=sv("nvswitch", None, A100_WHITEPAPER),
        oversubscription=sv(1, None, _NONBLOCKING_SWITCH))


def _nvlink4():
    return NetworkFabric(
        "NVLink4", "NVLink 4 + NVSwitch (DGX/HGX H100)", scope="intra_node",
        link_bandwidth=sv(450, "GB/s", _with_note(H100_WHITEPAPER, "900 GB/s total of both directions per GPU "
                                                                   "-> 450 GB/s each way")),
        link_latency=sv(1, "us", _ALPHA_NVLINK),
        topology=sv("nvswitch", None, H100_WHITEPAPER),
        oversubscription=sv(1, None, _NONBLOCKING_SWITCH))


def _nvlink5():
    return NetworkFabric(
        "NVLink5", "NVLink 5 + NVSwitch (HGX B200)", scope="intra_node",
        link_bandwidth=sv(900, "GB/s", _with_note(B200_DATASHEET, "1.8 TB/s total of both directions per GPU "
                                                                  "-> 900 GB/s each way")),
        link_latency=sv(1, "us", _ALPHA_NVLINK),
        topology=sv("nvswitch", None, B200_DATASHEET),
        oversubscription=sv(1, None, _NONBLOCKING_SWITCH))


def _ib_ndr():
    return NetworkFabric(
        "InfiniBand_NDR", "InfiniBand NDR 400 Gb/s, one NIC per GPU",
        link_bandwidth=sv(400, "Gbit/s", _with_note(DGX_H100_GUIDE, "400 Gb/s per port, each direction "
                                                                    "= 50 GB/s")),
        link_latency=sv(5, "us", _ALPHA_IB),
        topology=sv("fat_tree", None, _FULL_BISECTION),
        oversubscription=sv(1, None, _FULL_BISECTION))


def _ib_hdr():
    return NetworkFabric(
        "InfiniBand_HDR", "InfiniBand HDR 200 Gb/s, one NIC per GPU",
        link_bandwidth=sv(200, "Gbit/s", _with_note(NARAYANAN_2021, "200 Gb/s per port, each direction "
                                                                    "= 25 GB/s")),
        link_latency=sv(5, "us", _ALPHA_IB),
        topology=sv("fat_tree", None, NARAYANAN_2021),
        oversubscription=sv(1, None, _FULL_BISECTION))


def _roce_400():
    return NetworkFabric(
        "RoCE_400G", "RDMA over Converged Ethernet, 400 Gb/s per GPU",
        link_bandwidth=sv(400, "Gbit/s", _with_note(LLAMA3_2024, "400 Gb/s per GPU, each direction = 50 GB/s")),
        link_latency=sv(5, "us", _ALPHA_IB),
        topology=sv("fat_tree", None, LLAMA3_2024),
        oversubscription=sv(1, None, _FULL_BISECTION))


def _ici_v4():
    return NetworkFabric(
        "TPU_ICI_v4", "TPU v4 inter-chip interconnect (3D torus)", scope="intra_node",
        link_bandwidth=sv(1.1e15 / 4096, "byte/s", derived(
            TPU_V4_DOCS.short(), "all-reduce bandwidth per Pod 1.1 PB/s divided by 4096 chips = 268.6 GB/s per "
                                 "chip, taken as the per-device collective bandwidth")),
        link_latency=sv(1, "us", _ALPHA_ICI),
        topology=sv("torus", None, TPU_V4_DOCS),
        oversubscription=sv(1, None, _NONBLOCKING_SWITCH))


_V5P_LINK = ("1,200 GB/s bidirectional per chip (Google) over 6 torus links (Austin et al. 2025) = 100 GB/s "
             "per link per direction (the scaling book's own table rounds it to 90 GB/s)")


def _ici_v5p():
    return NetworkFabric(
        "TPU_ICI_v5p", "TPU v5p inter-chip interconnect (3D torus), collective over all three axes",
        scope="intra_node",
        link_bandwidth=sv(600, "GB/s", derived(
            TPU_V5P_DOCS.short(), f"{_V5P_LINK}; a collective over all three torus axes sends on all 6 links: "
                                  "6 x 100 GB/s = 600 GB/s per direction (= 1,200 GB/s / 2)")),
        link_latency=sv(1, "us", _ALPHA_ICI),
        topology=sv("torus", None, TPU_V5P_DOCS),
        oversubscription=sv(1, None, _NONBLOCKING_SWITCH))


def _ici_v5p_axis():
    return NetworkFabric(
        "TPU_ICI_v5p_Axis", "TPU v5p inter-chip interconnect, ring along one torus axis", scope="intra_node",
        link_bandwidth=sv(200, "GB/s", derived(
            SCALING_BOOK_2025.short(), f"{_V5P_LINK}; a ring along one axis sends on that axis's 2 links: "
                                       "2 x 100 GB/s = 200 GB/s per direction")),
        link_latency=sv(1, "us", _ALPHA_ICI),
        topology=sv("ring", None, SCALING_BOOK_2025),
        oversubscription=sv(1, None, _NONBLOCKING_SWITCH))


def _nvlink_bridge_h100():
    return NetworkFabric(
        "NVLink_Bridge_H100", "NVLink bridge between two H100 PCIe cards", scope="intra_node",
        link_bandwidth=sv(300, "GB/s", _with_note(H100_PCIE_DATASHEET, "NVLink 600 GB/s total of both directions "
                                                                       "between the two bridged cards -> 300 GB/s "
                                                                       "each way")),
        link_latency=sv(1, "us", _ALPHA_NVLINK),
        topology=sv("ring", None, _with_note(H100_PCIE_DATASHEET, "a 2-way bridge: two cards, one point-to-point "
                                                                  "link (a ring of two)")),
        oversubscription=sv(1, None, _with_note(H100_PCIE_DATASHEET, "a direct link, no switch")))


def _eth_100():
    return NetworkFabric(
        "Ethernet_100G", "100 Gigabit Ethernet, one NIC per GPU",
        link_bandwidth=sv(100, "Gbit/s", _with_note(IEEE_8023BA, "100 Gb/s each direction = 12.5 GB/s")),
        link_latency=sv(10, "us", _ALPHA_ETH),
        topology=sv("fat_tree", None, _FULL_BISECTION),
        oversubscription=sv(1, None, _FULL_BISECTION))


Fabrics = Registry("network fabric")
for _name, _factory in {"NVLink3": _nvlink3, "NVLink4": _nvlink4, "NVLink5": _nvlink5,
                        "InfiniBand_NDR": _ib_ndr, "InfiniBand_HDR": _ib_hdr, "RoCE_400G": _roce_400,
                        "TPU_ICI_v4": _ici_v4, "TPU_ICI_v5p": _ici_v5p, "TPU_ICI_v5p_Axis": _ici_v5p_axis,
                        "NVLink_Bridge_H100": _nvlink_bridge_h100, "Ethernet_100G": _eth_100}.items():
    Fabrics.register(_name, factory=_factory)
