"""Collective communication: alpha-beta (latency-bandwidth) cost models.

Four sets are registered:

``Equations.Collectives``
    Flat collectives among ``num_devices`` ranks over links of per-device bandwidth ``link_bandwidth``
    (B, bytes per second in each direction) and per-step startup latency ``link_latency`` (alpha).
``Equations.BusBandwidth``
    nccl-tests' algorithm and bus bandwidth of an all-reduce (kept apart from ``Collectives`` so that a
    collective over one rank costs 0 s there instead of dividing by that zero time).
``Equations.TreeAllReduce``
    the pipelined two-tree all-reduce (large-message limit, two ranks or more).
``Equations.HierarchicalCollectives``
    The two-level all-reduce used across nodes (intra-node reduce-scatter, inter-node all-reduce of
    one shard, intra-node all-gather), with the achievable fraction of link bandwidth and the fabric's
    oversubscription.

Notes
-----
Hockney's point-to-point model (Hockney 1994), one message of M bytes:

.. math:: T_{\\text{p2p}} = \\alpha + M / B

Ring (bandwidth-optimal) all-reduce of M bytes over p ranks, as a reduce-scatter followed by an
all-gather, each of p-1 steps moving M/p bytes (Patarasuk & Yuan 2009; Thakur, Rabenseifner & Gropp
2005, Sec. 4, computation term gamma neglected):

.. math:: T_{\\text{AR}} = 2 (p-1) \\alpha + \\frac{2 (p-1)}{p} \\frac{M}{B}, \\qquad
          T_{\\text{RS}} = T_{\\text{AG}} = (p-1) \\alpha + \\frac{p-1}{p} \\frac{M}{B}

Tree all-reduce: the pipelined two-tree algorithm (Sanders, Speck & Traff 2009; used by NCCL as its
"double binary tree") reduces then broadcasts along two complementary binary trees at full bandwidth;
in the large-message, fully-pipelined limit each phase costs one traversal of the tree depth plus
one transfer of the message:

.. math:: T_{\\text{tree}} = 2 \\log_2(p)\\, \\alpha + 2 M / B

All-to-all by pairwise exchange, p-1 steps each sending M/p bytes (Thakur et al. 2005, Sec. 4.5):

.. math:: T_{\\text{A2A}} = (p-1) \\alpha + \\frac{p-1}{p} \\frac{M}{B}

Bus bandwidth (NVIDIA nccl-tests convention, ``published_cases.json`` case ``nccl_busbw_definitions``):
algorithm bandwidth M/T times 2(p-1)/p for all-reduce, which equals the link bandwidth B when the
ring runs at link speed and alpha is negligible.

Hierarchical all-reduce across n nodes of g ranks each (Jia et al. 2018; Thakur et al. 2005's
reduce-scatter/all-gather decomposition applied per level): reduce-scatter inside the node, all-reduce
of the M/g shard across nodes (every local rank in parallel, each over its own NIC), all-gather inside
the node. The inter-node bandwidth is the achievable fraction eta_link of the NIC bandwidth, divided by
the oversubscription ratio r of the fabric above the leaf switch:

.. math:: B_{\\text{inter,eff}} = \\eta_{\\text{link}} B_{\\text{inter}} / r, \\qquad
          T_{\\text{hier}} = T_{\\text{RS}}(g, B_{\\text{intra,eff}}) + T_{\\text{AR}}(n, M/g, B_{\\text{inter,eff}})
          + T_{\\text{AG}}(g, B_{\\text{intra,eff}})

Every relation is written once here; the ``Parallelism`` set re-uses these Equation objects through
``Equation.renamed`` (tensor-parallel and data-parallel all-reduces, pipeline point-to-point sends).
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..sources import derived
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations




# ---------------------------------------------------------------- nomenclature
_var("message_bytes", "byte", "M", "payload of one collective (the full buffer each rank contributes)")
_var("link_bandwidth", "GB/s", r"B_{\text{link}}",
     "per-device bandwidth of the link the collective uses, each direction")
_var("link_latency", "us", r"\alpha", "per-step startup latency of a message (alpha)", "nonnegative")
_var("allreduce_time", "s", r"T_{\text{AR}}", "time of one ring all-reduce", "nonnegative")
_var("reduce_scatter_time", "s", r"T_{\text{RS}}", "time of one ring reduce-scatter", "nonnegative")
_var("allgather_time", "s", r"T_{\text{AG}}", "time of one ring all-gather", "nonnegative")
_var("tree_allreduce_time", "s", r"T_{\text{tree}}", "time of one pipelined two-tree all-reduce", "nonnegative")
_var("alltoall_time", "s", r"T_{\text{A2A}}", "time of one pairwise-exchange all-to-all", "nonnegative")
_var("p2p_time", "s", r"T_{\text{p2p}}", "time of one point-to-point message")
_var("algorithm_bandwidth", "GB/s", r"B_{\text{alg}}", "message size over all-reduce time (nccl-tests algbw)")
_var("bus_bandwidth", "GB/s", r"B_{\text{bus}}", "algorithm bandwidth times 2(p-1)/p (nccl-tests busbw)",
     "nonnegative")
# hierarchical
_var("devices_per_node", "", "g", "ranks of the collective on each node", "count")
_var("num_nodes", "", "n", "nodes the collective spans", "count")
_var("intra_node_bandwidth", "GB/s", r"B_{\text{intra}}", "per-device intra-node link bandwidth, each direction")
_var("intra_node_latency", "us", r"\alpha_{\text{intra}}", "intra-node per-step latency", "nonnegative")
_var("inter_node_bandwidth", "GB/s", r"B_{\text{inter}}",
     "per-device inter-node (NIC) bandwidth, each direction, below the leaf switch")
_var("inter_node_latency", "us", r"\alpha_{\text{inter}}", "inter-node per-step latency", "nonnegative")
_var("oversubscription", "", "r", "fabric oversubscription ratio above the leaf switch", "ge1")
_var("link_efficiency", "", r"\eta_{\text{link}}", "achievable fraction of a link's bandwidth", "fraction")
_var("achieved_bandwidth", "GB/s", r"B_{\text{ach}}", "achievable bandwidth: link_efficiency * link_bandwidth")
_var("intra_node_effective_bandwidth", "GB/s", r"B_{\text{intra,eff}}", "achievable intra-node bandwidth")
_var("inter_node_achieved_bandwidth", "GB/s", r"B_{\text{inter,ach}}",
     "achievable inter-node NIC bandwidth before oversubscription")
_var("inter_node_effective_bandwidth", "GB/s", r"B_{\text{inter,eff}}",
     "achievable inter-node bandwidth after oversubscription")
_var("node_message_bytes", "byte", r"M_{\text{node}}", "shard each local rank all-reduces across nodes: M / g")
_var("intra_reduce_scatter_time", "s", r"T_{\text{RS,intra}}", "intra-node reduce-scatter time", "nonnegative")
_var("inter_allreduce_time", "s", r"T_{\text{AR,inter}}", "inter-node all-reduce time of one shard",
     "nonnegative")
_var("intra_allgather_time", "s", r"T_{\text{AG,intra}}", "intra-node all-gather time", "nonnegative")
_var("hierarchical_allreduce_time", "s", r"T_{\text{hier}}", "time of one two-level all-reduce", "nonnegative")

# ---------------------------------------------------------------- sources
HOCKNEY_1994 = cite(refs.HOCKNEY_1994, "Sec. 2 (t = t0 + n / r_inf, the latency-bandwidth model)")
THAKUR_2005 = cite(refs.THAKUR_2005,
                   "Sec. 4 (cost model alpha + n beta; reduce-scatter, all-gather, all-to-all, all-reduce)")
PATARASUK_YUAN_2009 = cite(refs.PATARASUK_YUAN_2009, "Sec. 3-4 (ring all-reduce: 2(p-1) steps of M/p bytes)")
SANDERS_2009 = cite(refs.SANDERS_2009, "Sec. 2-3 (pipelined two-tree reduction and broadcast)")
NCCL_TESTS_BUSBW = derived(
    "NVIDIA nccl-tests, doc/PERFORMANCE.md (bus bandwidth)",
    "busbw = algbw * 2(n-1)/n for all-reduce, so that busbw equals the per-link bandwidth of a ring at link "
    "speed; see published_cases.json case nccl_busbw_definitions; "
    "https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md")
JIA_2018 = cite(refs.JIA_2018,
                "hierarchical all-reduce (intra-node reduce, inter-node all-reduce, intra-node broadcast)")
HIERARCHICAL = derived(
    "mlsysim two-level all-reduce",
    "intra-node ring reduce-scatter, inter-node ring all-reduce of the M/g shard by every local rank in "
    "parallel (one NIC per rank), intra-node ring all-gather: the ring relations of Patarasuk & Yuan 2009 / "
    "Thakur et al. 2005 applied per level, as in the hierarchical all-reduce of Jia et al. 2018")
EFFICIENCY = derived(
    "achievable link bandwidth",
    "the collective runs at a fixed fraction link_efficiency of the nominal link bandwidth (protocol, "
    "packetisation and synchronisation overheads); the fraction is a named Assumption of the solver")
OVERSUBSCRIPTION = derived(
    "oversubscribed fabric",
    "a leaf switch with r times more downlink than uplink capacity gives each device 1/r of its NIC bandwidth "
    "when all devices send across the spine at once (the worst case of a data-parallel all-reduce)")


# ---------------------------------------------------------------- equations, built once
_FLAT = None
_HIER = None


def collective_equations() -> dict:
    """The flat alpha-beta relations, ``{key: Equation}`` (built once, on first use)."""
    global _FLAT
    if _FLAT is None:
        p, M, B, a = sym.num_devices, sym.message_bytes, sym.link_bandwidth, sym.link_latency
        eqs = [
            Equation("allreduce", "allreduce_time", 2 * (p - 1) / p * M / B + 2 * (p - 1) * a,
                     source=PATARASUK_YUAN_2009, description="ring all-reduce: reduce-scatter then all-gather",
                     display=(r"\frac{2(n_{\text{dev}}-1)}{n_{\text{dev}}}\frac{M}{B_{\text{link}}}"
                              r" + 2(n_{\text{dev}}-1)\,\alpha")),
            Equation("reduce_scatter", "reduce_scatter_time", (p - 1) / p * M / B + (p - 1) * a,
                     source=THAKUR_2005, description="ring reduce-scatter: p-1 steps of M/p bytes",
                     display=(r"\frac{n_{\text{dev}}-1}{n_{\text{dev}}}\frac{M}{B_{\text{link}}}"
                              r" + (n_{\text{dev}}-1)\,\alpha")),
            Equation("allgather", "allgather_time", (p - 1) / p * M / B + (p - 1) * a,
                     source=THAKUR_2005, description="ring all-gather: p-1 steps of M/p bytes",
                     display=(r"\frac{n_{\text{dev}}-1}{n_{\text{dev}}}\frac{M}{B_{\text{link}}}"
                              r" + (n_{\text{dev}}-1)\,\alpha")),
            Equation("alltoall", "alltoall_time", (p - 1) / p * M / B + (p - 1) * a,
                     source=THAKUR_2005, description="pairwise-exchange all-to-all: p-1 steps of M/p bytes",
                     display=(r"\frac{n_{\text{dev}}-1}{n_{\text{dev}}}\frac{M}{B_{\text{link}}}"
                              r" + (n_{\text{dev}}-1)\,\alpha")),
            Equation("p2p", "p2p_time", a + M / B, source=HOCKNEY_1994,
                     description="one point-to-point message", display=r"\alpha + \frac{M}{B_{\text{link}}}"),
        ]
        _FLAT = {e.key: e for e in eqs}
    return _FLAT


def tree_allreduce_equation() -> Equation:
    """The pipelined two-tree all-reduce in its large-message limit (two ranks or more)."""
    import sympy as sp

    p, M, B, a = sym.num_devices, sym.message_bytes, sym.link_bandwidth, sym.link_latency
    return Equation("tree_allreduce", "tree_allreduce_time", 2 * sp.log(p, 2) * a + 2 * M / B,
                    source=SANDERS_2009, description="pipelined two-tree all-reduce (reduce + broadcast)",
                    display=r"2\log_2(n_{\text{dev}})\,\alpha + 2\frac{M}{B_{\text{link}}}")


def bus_bandwidth_equations() -> list:
    """nccl-tests' algorithm and bus bandwidth of a ring all-reduce (defined for two ranks or more)."""
    p, M = sym.num_devices, sym.message_bytes
    return [collective_equations()["allreduce"],
            Equation("algbw", "algorithm_bandwidth", M / sym.allreduce_time, source=NCCL_TESTS_BUSBW,
                     description="all-reduce algorithm bandwidth (nccl-tests algbw)"),
            Equation("busbw", "bus_bandwidth", sym.algorithm_bandwidth * 2 * (p - 1) / p, source=NCCL_TESTS_BUSBW,
                     description="all-reduce bus bandwidth (nccl-tests busbw)")]


def bandwidth_equations() -> dict:
    """Achievable and effective bandwidths: ``achieved`` (generic), ``intra``, ``inter_ach``, ``inter_eff``."""
    return _hier()["bandwidth"]


def hierarchical_core_equations() -> list:
    """The four relations of the two-level all-reduce (shard, intra RS, inter AR, intra AG) and the total."""
    return list(_hier()["core"])


def _hier():
    global _HIER
    if _HIER is None:
        flat = collective_equations()
        achieved = Equation("achieved_bandwidth", "achieved_bandwidth", sym.link_efficiency * sym.link_bandwidth,
                            source=EFFICIENCY, description="achievable fraction of a link's bandwidth")
        intra = achieved.renamed({"link_bandwidth": "intra_node_bandwidth",
                                  "achieved_bandwidth": "intra_node_effective_bandwidth"},
                                 key="intra_node_effective_bandwidth",
                                 description="achievable intra-node bandwidth")
        inter_ach = achieved.renamed({"link_bandwidth": "inter_node_bandwidth",
                                      "achieved_bandwidth": "inter_node_achieved_bandwidth"},
                                     key="inter_node_achieved_bandwidth",
                                     description="achievable inter-node NIC bandwidth")
        inter_eff = Equation("inter_node_effective_bandwidth", "inter_node_effective_bandwidth",
                             sym.inter_node_achieved_bandwidth / sym.oversubscription, source=OVERSUBSCRIPTION,
                             description="inter-node bandwidth each device gets through an oversubscribed fabric",
                             display=r"B_{\text{inter,ach}} / r")
        shard = Equation("node_message_bytes", "node_message_bytes", sym.message_bytes / sym.devices_per_node,
                         source=HIERARCHICAL, description="shard each local rank all-reduces across nodes")
        rs = flat["reduce_scatter"].renamed(
            {"num_devices": "devices_per_node", "link_bandwidth": "intra_node_effective_bandwidth",
             "link_latency": "intra_node_latency", "reduce_scatter_time": "intra_reduce_scatter_time"},
            key="intra_reduce_scatter", description="intra-node reduce-scatter of the full buffer")
        ar = flat["allreduce"].renamed(
            {"num_devices": "num_nodes", "message_bytes": "node_message_bytes",
             "link_bandwidth": "inter_node_effective_bandwidth", "link_latency": "inter_node_latency",
             "allreduce_time": "inter_allreduce_time"},
            key="inter_allreduce", description="inter-node all-reduce of one shard")
        ag = flat["allgather"].renamed(
            {"num_devices": "devices_per_node", "link_bandwidth": "intra_node_effective_bandwidth",
             "link_latency": "intra_node_latency", "allgather_time": "intra_allgather_time"},
            key="intra_allgather", description="intra-node all-gather of the reduced shards")
        total = Equation("hierarchical_allreduce", "hierarchical_allreduce_time",
                         sym.intra_reduce_scatter_time + sym.inter_allreduce_time + sym.intra_allgather_time,
                         source=HIERARCHICAL, description="two-level all-reduce time")
        _HIER = {"bandwidth": {"achieved": achieved, "intra": intra, "inter_ach": inter_ach, "inter_eff": inter_eff},
                 "core": (shard, rs, ar, ag, total)}
    return _HIER


def build_collectives() -> EquationSet:
    return EquationSet("Collectives", list(collective_equations().values()),
                       description="alpha-beta cost of flat collectives (ring, tree, all-to-all, point-to-point)")


def build_tree_allreduce() -> EquationSet:
    return EquationSet("TreeAllReduce", [tree_allreduce_equation()],
                       description="pipelined two-tree all-reduce, large-message limit (num_devices >= 2: its "
                                   "2 M/B term assumes there is a tree to traverse)")


def build_bus_bandwidth() -> EquationSet:
    return EquationSet("BusBandwidth", bus_bandwidth_equations(),
                       description="nccl-tests algorithm and bus bandwidth of a ring all-reduce (num_devices >= 2: "
                                   "one rank moves nothing, so its bandwidth is undefined)")


def build_hierarchical() -> EquationSet:
    bw = bandwidth_equations()
    return EquationSet("HierarchicalCollectives",
                       [bw["intra"], bw["inter_ach"], bw["inter_eff"], *hierarchical_core_equations()],
                       description="two-level all-reduce across nodes with link efficiency and oversubscription")


Equations.register("Collectives", factory=build_collectives)
Equations.register("HierarchicalCollectives", factory=build_hierarchical)
Equations.register("BusBandwidth", factory=build_bus_bandwidth)
Equations.register("TreeAllReduce", factory=build_tree_allreduce)
