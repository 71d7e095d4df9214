"""``Systems``: reference clusters (fleets) used by the textbook and the tests.

Each entry is a :class:`~mlsysim.systems.fleet.Fleet` built on first access. Clusters that describe a
published system carry that publication as ``fleet.source``; the others are representative
configurations and say so.
"""
from __future__ import annotations

from ..core.registry import Registry
from ..core.sources import assumption
from .fabrics import LLAMA3_2024, NARAYANAN_2021
from .fleet import Fleet

Systems = Registry("system")

_REFERENCE = assumption("mlsysim reference cluster",
                        "a representative configuration built from the platform defaults, not a specific "
                        "installation")


def _h100_1024():
    return Fleet("H100", num_nodes=128, devices_per_node=8, intra_node_fabric="NVLink4",
                 inter_node_fabric="InfiniBand_NDR", name="H100_1024",
                 description="128 DGX H100 nodes (1024 GPUs), NVLink 4 inside, one 400 Gb/s NDR NIC per GPU",
                 source=_REFERENCE)


def _llama3():
    return Fleet("H100", num_nodes=2048, devices_per_node=8, intra_node_fabric="NVLink4",
                 inter_node_fabric="RoCE_400G", name="Llama3_Cluster",
                 description="Meta's Llama 3 405B pre-training cluster: 16,384 H100 (80 GB HBM3, 700 W) in "
                             "2048 servers of 8 GPUs, NVLink inside, 400 Gb/s RoCE between GPUs. The paper's "
                             "1:7 oversubscription between pods of 3072 GPUs is not modelled (full bisection).",
                 source=LLAMA3_2024)


def _tpuv5p_slice():
    return Fleet("TPUv5p", num_nodes=256, devices_per_node=4, intra_node_fabric="TPU_ICI_v5p",
                 inter_node_fabric="TPU_ICI_v5p", name="TPUv5p_Pod_Slice",
                 description="a 1024-chip TPU v5p slice (256 hosts x 4 chips) on one 3D-torus ICI",
                 source=_REFERENCE)


def _research_256():
    return Fleet("A100", num_nodes=32, devices_per_node=8, intra_node_fabric="NVLink3",
                 inter_node_fabric="Ethernet_100G", name="Research_256_100GbE",
                 description="an academic cluster: 32 nodes of 8 A100 with NVLink, one 100 GbE NIC per GPU",
                 source=_REFERENCE)


def _a100_megatron():
    return Fleet("A100", num_nodes=384, devices_per_node=8, intra_node_fabric="NVLink3",
                 inter_node_fabric="InfiniBand_HDR", name="A100_Megatron",
                 description="Selene-like cluster of Narayanan et al. 2021: DGX A100 80GB nodes (NVLink 3 + "
                             "NVSwitch), 8 x 200 Gb/s HDR InfiniBand per node, fat tree; 3072 GPUs (the size of "
                             "the paper's largest run). Table 1 rows use fleet.replace(num_nodes=gpus // 8).",
                 source=NARAYANAN_2021)


for _n, _f in {"H100_1024": _h100_1024, "Llama3_Cluster": _llama3, "TPUv5p_Pod_Slice": _tpuv5p_slice,
               "Research_256_100GbE": _research_256, "A100_Megatron": _a100_megatron}.items():
    Systems.register(_n, factory=_f)
