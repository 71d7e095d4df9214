"""NVIDIA datacentre GPUs, grouped by the datasheet or whitepaper each value comes from.

Dense rates are the datasheets' figures without the "*with sparsity" footnote; the 2:4 structured
sparsity figures (exactly twice the dense ones) go to ``sparse_peak_flops`` and are never used by default.
Figures follow ``shared/reference/published_cases.json`` (cases ``hw_*``), where they are verified.
"""
from __future__ import annotations

from ..core import references as refs
from ..core.references import cite
from ..core.sources import Source, assumption, derived
from ..core.specs import sv
from .spec import HardwareSpec, with_note

# ---------------------------------------------------------------------------------------------- sources
A100_DATASHEET = Source(
    "NVIDIA, 'NVIDIA A100 Tensor Core GPU' datasheet (1758950-r4)", kind="datasheet", year=2021,
    locator="specifications table, A100 80GB SXM column",
    url="https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
        "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf")
_H100_WHITEPAPER_URL = "https://resources.nvidia.com/en-us-tensor-core/gtc22-whitepaper-hopper"
H100_WHITEPAPER = Source(
    "NVIDIA, 'NVIDIA H100 Tensor Core GPU Architecture' whitepaper v1.04", kind="datasheet", year=2022,
    locator="Table 1 (p. 20) and Table 3 (p. 39-40), H100 SXM5 column", url=_H100_WHITEPAPER_URL)
H100_PCIE_WHITEPAPER = Source(
    "NVIDIA, 'NVIDIA H100 Tensor Core GPU Architecture' whitepaper v1.04", kind="datasheet", year=2022,
    locator="Table 1 (p. 20) and Table 3 (p. 39-40), H100 PCIe column", url=_H100_WHITEPAPER_URL)
H100_PCIE_DATASHEET = Source(
    "NVIDIA, 'NVIDIA H100 Tensor Core GPU' datasheet", kind="datasheet", year=2023,
    locator="specifications table, H100 PCIe column: interconnect 'NVLink: 600GB/s' (2-way NVLink bridge "
            "joining a pair of cards), 'PCIe Gen5: 128GB/s'",
    url="https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet")
DGX_H100_GUIDE = Source(
    "NVIDIA, 'NVIDIA DGX H100/H200 User Guide' (introduction: hardware overview)", kind="datasheet", year=2024,
    locator="8 x H100 (or H200) SXM GPUs joined by NVLink 4 through 4 NVSwitch chips; cluster network "
            "8 x single-port ConnectX-7, 400 Gb/s InfiniBand NDR, one per GPU",
    url="https://docs.nvidia.com/dgx/dgxh100-user-guide/")
DGX_H100_DATASHEET = Source(
    "NVIDIA, 'NVIDIA DGX H100' datasheet", kind="datasheet", year=2023,
    locator="system specifications: 'System Memory 2TB'; 8 x H100 SXM5, 2 x Intel Xeon Platinum 8480C",
    url="https://www.nvidia.com/en-us/data-center/dgx-h100/")
DGX_H200_DATASHEET = Source(
    "NVIDIA, 'NVIDIA DGX H200' datasheet", kind="datasheet", year=2024,
    locator="system specifications: 'System Memory 2TB'; 8 x H200 SXM, 2 x Intel Xeon Platinum 8480C",
    url="https://www.nvidia.com/en-us/data-center/dgx-h200/")
DGX_A100_DATASHEET = Source(
    "NVIDIA, 'NVIDIA DGX A100' datasheet", kind="datasheet", year=2020,
    locator="system specifications, DGX A100 640GB column: 'System Memory 2TB' (1 TB in the 320GB system); "
            "8 x A100 80GB SXM4, 2 x AMD EPYC 7742",
    url="https://www.nvidia.com/en-us/data-center/dgx-a100/")
DGX_B200_DATASHEET = Source(
    "NVIDIA, 'NVIDIA DGX B200' datasheet", kind="datasheet", year=2024,
    locator="8 x B200 GPUs, NVLink 5 through 2 NVSwitch chips; networking 8 x single-port ConnectX-7 VPI, "
            "up to 400 Gb/s InfiniBand/Ethernet",
    url="https://www.nvidia.com/en-us/data-center/dgx-b200/")
NARAYANAN_2021 = cite(
    refs.NARAYANAN_2021, "Sec. 5 (Selene: 8 x 80 GB A100 per DGX A100 node, NVLink and NVSwitch inside the node, "
            "8 x 200 Gb/s HDR InfiniBand per node, fat-tree)")
H200_DATASHEET = Source(
    "NVIDIA, 'NVIDIA H200 Tensor Core GPU' product page and datasheet", kind="datasheet", year=2023,
    locator="specifications table, H200 SXM column", url="https://www.nvidia.com/en-us/data-center/h200/")
B200_DATASHEET = Source(
    "NVIDIA, 'NVIDIA HGX B200' and 'GB200 NVL72' datasheets (Blackwell)", kind="datasheet", year=2024,
    locator="specifications tables, per-GPU figures of the HGX B200 (1000 W) configuration",
    url="https://www.nvidia.com/en-us/data-center/hgx/")
V100_DATASHEET = Source(
    "NVIDIA, 'NVIDIA Tesla V100 GPU Accelerator' datasheet", kind="datasheet", year=2018,
    locator="specifications table, V100 SXM2 column",
    url="https://www.nvidia.com/en-us/data-center/v100/")
PATTERSON_2021 = cite(refs.PATTERSON_2021, "Table 4, footnote 12 (V100 and TPU v3 peak rates and power)")
T4_DATASHEET = Source(
    "NVIDIA, 'NVIDIA T4 Tensor Core GPU for AI Inference' datasheet", kind="datasheet", year=2019,
    locator="specifications table", url="https://www.nvidia.com/en-us/data-center/tesla-t4/")

_NVLINK_BIDIR = "total of both directions, per GPU (half of it in each direction)"
_GIB = ("NVIDIA's 'GB' for HBM is binary (the stacks are built in powers of two): {n} GiB = {gb} GB; "
        "nvidia-smi reports {smi} MiB ({smi_gib} GiB) usable, the rest reserved by the driver/ECC")


def _binary(src: Source, n: int, smi: int | None = None) -> Source:
    gb = f"{n * 2**30 / 1e9:.1f}"
    if smi is None:
        text = (f"NVIDIA's 'GB' for HBM/GDDR is binary (memory chips are built in powers of two): {n} GiB = "
                f"{gb} GB")
    else:
        text = _GIB.format(n=n, gb=gb, smi=f"{smi:,}", smi_gib=f"{smi / 1024:.1f}")
    return with_note(src, text)


def _node(src: Source, what: str) -> Source:
    return with_note(src, f"reference node: {what}")
_PCIE_BIDIR = "x16 link, total of both directions"
#: PCIe x16 link rates of the datasheets, both directions together [GB/s]: one number per generation, used for
#: ``pcie_bandwidth`` (as quoted) and ``host_link_bandwidth`` (each direction: half of it)
_PCIE_X16_BIDIR_GBPS = {3: 32, 4: 64, 5: 128}


def _host_link(src: Source, gen: int) -> Source:
    total = _PCIE_X16_BIDIR_GBPS[gen]
    return with_note(src, f"PCIe Gen{gen} x16 host link, each direction: the datasheet's {total} GB/s is both "
                          f"directions together, so {total // 2} GB/s one way (the link offload crosses)")


def _host_memory(src: Source, node: str) -> Source:
    return with_note(src, f"host memory of the reference node ({node}), shared by its 8 GPUs; the datasheet's "
                          "'2TB' read as decimal (DDR DIMMs are binary-sized, so the node has at least this)")


def _half_of_sparse(src: Source, figure: str) -> Source:
    return derived(src.short(), f"dense rate = half of the datasheet's 2:4-sparsity figure {figure}")


# ---------------------------------------------------------------------------------------------- devices
def a100() -> HardwareSpec:
    s = A100_DATASHEET
    return HardwareSpec(
        "A100", "NVIDIA A100 SXM4 80GB", vendor="NVIDIA", year=2020, category="cloud",
        memory_type="HBM2e", interconnect_name="NVLink 3",
        peak_flops={
            "fp64": sv(19.5, "TFLOP/s", with_note(s, "FP64 Tensor Core; the vector FP64 rate is 9.7 TFLOP/s")),
            "fp32": sv(19.5, "TFLOP/s", s),
            "tf32": sv(156, "TFLOP/s", s),
            "bf16": sv(312, "TFLOP/s", s),
            "fp16": sv(312, "TFLOP/s", s),
            "int8": sv(624, "TOPS", s),
        },
        sparse_peak_flops={
            "tf32": sv(312, "TFLOP/s", s),
            "bf16": sv(624, "TFLOP/s", s),
            "int8": sv(1248, "TOPS", s),
        },
        memory_bandwidth=sv(2039, "GB/s", s),
        memory_capacity=sv(80, "GiB", _binary(s, 80, 81920)),
        tdp=sv(400, "W", s),
        interconnect_bandwidth=sv(600, "GB/s", with_note(s, f"NVLink 3: {_NVLINK_BIDIR}")),
        pcie_bandwidth=sv(_PCIE_X16_BIDIR_GBPS[4], "GB/s", with_note(s, f"PCIe Gen4 {_PCIE_BIDIR}")),
        host_link_bandwidth=sv(_PCIE_X16_BIDIR_GBPS[4] / 2, "GB/s", _host_link(s, 4)),
        host_memory_capacity=sv(2, "TB", _host_memory(DGX_A100_DATASHEET, "DGX A100 640GB")),
        unit_price=sv(24875, "USD", assumption(
            "NVIDIA DGX A100 (8 x A100 40GB) launch price USD 199,000 (May 2020), as reported by the trade "
            "press (gadgetmix)",
            "USD 199,000 / 8 GPUs = USD 24,875 per GPU of the May-2020 DGX A100, whose GPUs were the 40 GB "
            "SXM4; no price is published for this 80 GB SXM4 part, so the 40 GB system's per-GPU price is "
            "used for it. It includes the host CPUs, NVSwitches, networking and storage")),
        devices_per_node=sv(8, None, _node(NARAYANAN_2021, "DGX A100, 8 GPUs")),
        intra_node_fabric=sv("NVLink3", None, _node(NARAYANAN_2021, "NVLink 3 + NVSwitch inside a DGX A100")),
        inter_node_fabric=sv("InfiniBand_HDR", None, _node(NARAYANAN_2021, "8 x 200 Gb/s HDR InfiniBand per "
                                                                           "DGX A100 node (Selene)")),
        description="Ampere datacentre GPU; the peak used by Megatron-LM (312 TFLOP/s bf16).",
    )


def h100() -> HardwareSpec:
    s = H100_WHITEPAPER
    return HardwareSpec(
        "H100", "NVIDIA H100 SXM5 80GB", vendor="NVIDIA", year=2022, category="cloud",
        memory_type="HBM3", interconnect_name="NVLink 4",
        peak_flops={
            "fp64": sv(67, "TFLOP/s", with_note(s, "FP64 Tensor Core; the vector FP64 rate is 34 TFLOP/s")),
            "fp32": sv(67, "TFLOP/s", s),
            "tf32": sv(494.7, "TFLOP/s", s),
            "bf16": sv(989.4, "TFLOP/s", s),
            "fp16": sv(989.4, "TFLOP/s", s),
            "fp8": sv(1978.9, "TFLOP/s", s),
            "int8": sv(1978.9, "TOPS", s),
        },
        sparse_peak_flops={
            "bf16": sv(1978.9, "TFLOP/s", s),
            "fp8": sv(3958, "TFLOP/s", s),
        },
        memory_bandwidth=sv(3.35, "TB/s", s),
        memory_capacity=sv(80, "GiB", _binary(s, 80, 81559)),
        tdp=sv(700, "W", s),
        interconnect_bandwidth=sv(900, "GB/s", with_note(s, f"NVLink 4 (18 links): {_NVLINK_BIDIR}")),
        pcie_bandwidth=sv(_PCIE_X16_BIDIR_GBPS[5], "GB/s", with_note(s, f"PCIe Gen5 {_PCIE_BIDIR}")),
        host_link_bandwidth=sv(_PCIE_X16_BIDIR_GBPS[5] / 2, "GB/s", _host_link(s, 5)),
        host_memory_capacity=sv(2, "TB", _host_memory(DGX_H100_DATASHEET, "DGX H100")),
        unit_price=sv(30000, "USD", assumption(
            "H100 SXM purchase price (no list price published)",
            "NVIDIA publishes no list price; a round figure inside the USD 25,000-40,000 range widely "
            "reported by the 2023-2024 trade press. Override with Hardware.H100.replace(unit_price=...)")),
        devices_per_node=sv(8, None, _node(DGX_H100_GUIDE, "DGX H100, 8 GPUs")),
        intra_node_fabric=sv("NVLink4", None, _node(DGX_H100_GUIDE, "NVLink 4 + NVSwitch inside a DGX H100")),
        inter_node_fabric=sv("InfiniBand_NDR", None, _node(DGX_H100_GUIDE, "one 400 Gb/s NDR ConnectX-7 per GPU")),
        description="Hopper datacentre GPU, SXM5 form factor (DGX/HGX H100).",
    )


def h100_pcie() -> HardwareSpec:
    s = H100_PCIE_WHITEPAPER
    return HardwareSpec(
        "H100_PCIe", "NVIDIA H100 PCIe 80GB", vendor="NVIDIA", year=2022, category="cloud",
        memory_type="HBM2e", interconnect_name="NVLink bridge",
        peak_flops={
            "bf16": sv(756, "TFLOP/s", s),
            "fp16": sv(756, "TFLOP/s", with_note(s, "FP16 Tensor Core (FP32 accumulate): the same rate as BF16")),
            "fp8": sv(1513, "TFLOP/s", s),
            "int8": sv(1513, "TOPS", with_note(s, "INT8 Tensor Core: the same rate as FP8")),
        },
        sparse_peak_flops={
            "bf16": sv(1513, "TFLOP/s", s),
            "fp16": sv(1513, "TFLOP/s", s),
        },
        memory_bandwidth=sv(2000, "GB/s", s),
        memory_capacity=sv(80, "GiB", _binary(s, 80)),
        tdp=sv(350, "W", s),
        interconnect_bandwidth=sv(600, "GB/s", with_note(H100_PCIE_DATASHEET, "NVLink bridge between two cards: "
                                                                             f"{_NVLINK_BIDIR}")),
        pcie_bandwidth=sv(128, "GB/s", with_note(s, f"PCIe Gen5 {_PCIE_BIDIR}")),
        devices_per_node=sv(2, None, _node(H100_PCIE_DATASHEET, "a pair of cards joined by the 2-way NVLink "
                                                                "bridge (PCIe servers hold more cards, but only "
                                                                "pairs share NVLink)")),
        intra_node_fabric=sv("NVLink_Bridge_H100", None, _node(H100_PCIE_DATASHEET, "the NVLink bridge, 600 GB/s "
                                                                                   "both directions")),
        description="Hopper GPU on a PCIe card: fewer SMs and lower clocks and power than the SXM5 part. "
                    "Two cards pair through an NVLink bridge; no inter-node fabric is implied by the card.",
    )


def h200() -> HardwareSpec:
    s = H200_DATASHEET
    return HardwareSpec(
        "H200", "NVIDIA H200 SXM 141GB", vendor="NVIDIA", year=2023, category="cloud",
        memory_type="HBM3e", interconnect_name="NVLink 4",
        peak_flops={
            "fp64": sv(67, "TFLOP/s", with_note(s, "FP64 Tensor Core; the vector FP64 rate is 34 TFLOP/s")),
            "fp32": sv(67, "TFLOP/s", s),
            "bf16": sv(989, "TFLOP/s", _half_of_sparse(s, "1,979 TFLOP/s")),
            "fp16": sv(989, "TFLOP/s", _half_of_sparse(s, "1,979 TFLOP/s")),
            "fp8": sv(1979, "TFLOP/s", _half_of_sparse(s, "3,958 TFLOP/s")),
            "int8": sv(1979, "TOPS", _half_of_sparse(s, "3,958 TOPS")),
        },
        sparse_peak_flops={
            "bf16": sv(1979, "TFLOP/s", with_note(s, "printed 'with sparsity'")),
            "fp16": sv(1979, "TFLOP/s", with_note(s, "printed 'with sparsity'")),
            "fp8": sv(3958, "TFLOP/s", with_note(s, "printed 'with sparsity'")),
            "int8": sv(3958, "TOPS", with_note(s, "printed 'with sparsity'")),
        },
        memory_bandwidth=sv(4.8, "TB/s", s),
        memory_capacity=sv(141, "GiB", _binary(s, 141, 143771)),
        tdp=sv(700, "W", with_note(s, "configurable up to 700 W")),
        interconnect_bandwidth=sv(900, "GB/s", with_note(s, f"NVLink 4: {_NVLINK_BIDIR}")),
        pcie_bandwidth=sv(_PCIE_X16_BIDIR_GBPS[5], "GB/s", with_note(s, f"PCIe Gen5 {_PCIE_BIDIR}")),
        host_link_bandwidth=sv(_PCIE_X16_BIDIR_GBPS[5] / 2, "GB/s", _host_link(s, 5)),
        host_memory_capacity=sv(2, "TB", _host_memory(DGX_H200_DATASHEET, "DGX H200")),
        devices_per_node=sv(8, None, _node(DGX_H100_GUIDE, "DGX/HGX H200, 8 GPUs")),
        intra_node_fabric=sv("NVLink4", None, _node(DGX_H100_GUIDE, "NVLink 4 + NVSwitch inside a DGX H200")),
        inter_node_fabric=sv("InfiniBand_NDR", None, _node(DGX_H100_GUIDE, "one 400 Gb/s NDR ConnectX-7 per GPU")),
        description="The H100's GH100 compute with 141 GiB of HBM3e at 4.8 TB/s.",
    )


def b200() -> HardwareSpec:
    s = B200_DATASHEET
    return HardwareSpec(
        "B200", "NVIDIA B200 (HGX B200, 1000 W)", vendor="NVIDIA", year=2024, category="cloud",
        memory_type="HBM3e", interconnect_name="NVLink 5",
        peak_flops={
            "fp64": sv(40, "TFLOP/s", s),
            "tf32": sv(1.1, "PFLOP/s", s),
            "bf16": sv(2.25, "PFLOP/s", s),
            "fp16": sv(2.25, "PFLOP/s", with_note(s, "FP16 and BF16 share one figure")),
            "fp8": sv(4.5, "PFLOP/s", s),
            "fp4": sv(9, "PFLOP/s", s),
        },
        sparse_peak_flops={
            "fp8": sv(9, "PFLOP/s", s),
        },
        memory_bandwidth=sv(8.0, "TB/s", s),
        memory_capacity=sv(180, "GiB", with_note(s, "usable HBM3e of an HGX/DGX B200 GPU (1,440 GB for 8 GPUs; "
                                                   "192 GiB physical, 8 stacks x 24 GiB). "
                                                   + _binary(s, 180, 183359).note)),
        tdp=sv(1000, "W", s),
        interconnect_bandwidth=sv(1.8, "TB/s", with_note(s, f"NVLink 5: {_NVLINK_BIDIR}")),
        devices_per_node=sv(8, None, _node(DGX_B200_DATASHEET, "DGX/HGX B200, 8 GPUs")),
        intra_node_fabric=sv("NVLink5", None, _node(DGX_B200_DATASHEET, "NVLink 5 + NVSwitch inside a DGX B200")),
        inter_node_fabric=sv("InfiniBand_NDR", None, _node(DGX_B200_DATASHEET, "one 400 Gb/s ConnectX-7 per GPU")),
        description="Blackwell GPU in the air-cooled HGX B200 configuration (the GB200 part runs at "
                    "1200 W: 2.5 PFLOP/s bf16, 5 PFLOP/s fp8 dense).",
    )


def v100() -> HardwareSpec:
    s = V100_DATASHEET
    return HardwareSpec(
        "V100", "NVIDIA Tesla V100 SXM2 32GB", vendor="NVIDIA", year=2018, category="cloud",
        memory_type="HBM2", interconnect_name="NVLink 2",
        peak_flops={
            "fp64": sv(7.8, "TFLOP/s", s),
            "fp32": sv(15.7, "TFLOP/s", s),
            "fp16": sv(125, "TFLOP/s", with_note(PATTERSON_2021, "Tensor Core mixed precision (fp16 "
                                                "multiply, fp32 accumulate); same figure in the V100 datasheet")),
        },
        memory_bandwidth=sv(900, "GB/s", s),
        memory_capacity=sv(32, "GiB", with_note(s, "the 2018 32 GB version (the 2017 launch part had 16 GB); "
                                                  "NVIDIA's 'GB' for HBM2 is binary: 32 GiB = 34.4 GB")),
        tdp=sv(300, "W", s),
        interconnect_bandwidth=sv(300, "GB/s", with_note(s, f"NVLink 2 (6 links): {_NVLINK_BIDIR}")),
        pcie_bandwidth=sv(32, "GB/s", with_note(s, f"PCIe Gen3 {_PCIE_BIDIR}")),
        description="Volta GPU; the reference accelerator of Strubell 2019 and Patterson 2021.",
    )


def t4() -> HardwareSpec:
    s = T4_DATASHEET
    return HardwareSpec(
        "T4", "NVIDIA T4 16GB (PCIe, 70 W)", vendor="NVIDIA", year=2018, category="cloud",
        memory_type="GDDR6", interconnect_name="PCIe Gen3",
        peak_flops={
            "fp32": sv(8.1, "TFLOP/s", s),
            "fp16": sv(65, "TFLOP/s", with_note(s, "Tensor Core mixed precision (FP16/FP32)")),
            "int8": sv(130, "TOPS", s),
            "int4": sv(260, "TOPS", s),
        },
        memory_bandwidth=sv(300, "GB/s", with_note(s, "the datasheet's specifications table: 300 GB/s (256-bit "
                                                      "GDDR6); the product page's '320+ GB/s' is a marketing "
                                                      "rounding of the memory clock")),
        memory_capacity=sv(16, "GiB", _binary(s, 16)),
        tdp=sv(70, "W", s),
        pcie_bandwidth=sv(32, "GB/s", with_note(s, f"PCIe Gen3 {_PCIE_BIDIR}")),
        description="Turing inference GPU; no structured-sparsity mode.",
    )


#: registry name -> factory, in registration order
ENTRIES = {
    "H100": h100,
    "H100_PCIe": h100_pcie,
    "H200": h200,
    "A100": a100,
    "B200": b200,
    "V100": v100,
    "T4": t4,
}
