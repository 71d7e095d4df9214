"""Edge accelerators: NVIDIA Jetson modules (technical brief, datasheets) and Tesla's FSD chip (IEEE Micro).

NVIDIA quotes Jetson "AI TOPS" as INT8 with 2:4 structured sparsity; the dense rate is half, as the
Orin Nano datasheet shows for its 4 GB module (20 TOPS sparse, 10 TOPS dense). Dense rates are stored as
``peak_flops``; the marketing figures as ``sparse_peak_flops``.
"""
from __future__ import annotations

from ..core.sources import Source, assumption, derived
from ..core.specs import sv
from .spec import HardwareSpec, with_note

AGX_ORIN_BRIEF = Source(
    "NVIDIA, 'Jetson AGX Orin Series Technical Brief' v1.2", kind="datasheet", year=2022,
    locator="module specifications, Jetson AGX Orin 64GB column",
    url="https://www.nvidia.com/en-us/autonomous-machines/embedded-systems/jetson-orin/",
    note="recorded as unverified in published_cases.json (hw_jetson_agx_orin)")
ORIN_NANO_SUPER_DATASHEET = Source(
    "NVIDIA, 'Jetson Orin Nano Super Developer Kit' datasheet (Dec 2024)", kind="datasheet", year=2024,
    locator="specifications (JetPack 6.1 'Super' clocks, 25 W mode)",
    url="https://www.nvidia.com/en-us/autonomous-machines/embedded-systems/jetson-orin/nano-super-developer-kit/")
ORIN_NANO_DATASHEET = Source(
    "NVIDIA, 'Jetson Orin Nano Series' module datasheet", kind="datasheet", year=2023,
    locator="module specifications, Jetson Orin Nano 8GB (original clocks, 15 W)",
    url="https://www.nvidia.com/en-us/autonomous-machines/embedded-systems/jetson-orin/")
TALPES_2020 = Source(
    "E. Talpes et al., 'Compute Solution for Tesla's Full Self-Driving Computer', IEEE Micro 40(2) "
    "(Hot Chips 31)", kind="paper", year=2020, locator="NNA section: 2 NPUs per chip, 96x96 MAC arrays, 2 GHz",
    url="doi:10.1109/MM.2020.2975764")

_SPARSE_NOTE = "'AI TOPS' as marketed: INT8 with 2:4 structured sparsity"


def _dense_half(src: Source, sparse: str) -> Source:
    return derived(src.short(), f"dense INT8 = half of the {sparse} INT8 TOPS quoted with 2:4 sparsity "
                                f"(the same datasheet family gives 20 sparse / 10 dense for Orin Nano 4GB)")


def jetson_agx_orin() -> HardwareSpec:
    s = AGX_ORIN_BRIEF
    return HardwareSpec(
        "Jetson", "NVIDIA Jetson AGX Orin 64GB", vendor="NVIDIA", year=2022, category="edge",
        memory_type="LPDDR5",
        peak_flops={"int8": sv(137.5, "TOPS", derived(
            s.short(),
            "dense INT8 = half of the brief's 275 TOPS, which it prints only with 2:4 sparsity. It is the "
            "module total: GPU 170 + 2 DLAs 105 sparse TOPS, i.e. 85 dense TOPS on the GPU and 52.5 on the "
            "DLAs; a model run on the GPU alone can use at most 85 TOPS (replace(peak_flops={'int8': "
            "Q_(85, 'TOPS')}) for a GPU-only study)"))},
        sparse_peak_flops={"int8": sv(275, "TOPS", with_note(s, _SPARSE_NOTE))},
        memory_bandwidth=sv(204.8, "GB/s", s),
        memory_capacity=sv(64, "GiB", with_note(s, "LPDDR5 dies are built in powers of two: the brief's "
                                                  "'64GB' is 64 GiB")),
        tdp=sv(60, "W", with_note(s, "maximum of the 15-60 W configurable power range")),
        unit_price=sv(1999, "USD", assumption(
            "Jetson AGX Orin Developer Kit price",
            "USD 1,999 developer-kit (module + carrier board) price as recorded in published_cases.json "
            "(hw_jetson_agx_orin, marked unverified); the module alone is sold separately")),
        description="Ampere GPU (2048 CUDA cores, 64 Tensor Cores) + 2 DLAs, 12-core Arm CPU.",
    )


def jetson_orin_nano() -> HardwareSpec:
    s = ORIN_NANO_SUPER_DATASHEET
    return HardwareSpec(
        "JetsonOrinNano", "NVIDIA Jetson Orin Nano 8GB (Super, JetPack 6.1 clocks)", vendor="NVIDIA", year=2024,
        category="edge", memory_type="LPDDR5 (128-bit)",
        peak_flops={"int8": sv(33.5, "TOPS", _dense_half(s, "67"))},
        sparse_peak_flops={"int8": sv(67, "TOPS", with_note(s, _SPARSE_NOTE))},
        memory_bandwidth=sv(102, "GB/s", s),
        memory_capacity=sv(8, "GiB", with_note(s, "LPDDR5 dies are built in powers of two: '8GB' is 8 GiB")),
        tdp=sv(25, "W", with_note(s, "maximum power mode")),
        clock=sv(1020, "MHz", with_note(s, "GPU clock")),
        unit_price=sv(249, "USD", with_note(s, "developer kit (module + carrier board) price")),
        description="Ampere GPU (1024 CUDA cores, 32 Tensor Cores), 6-core Arm CPU; 'Super' clocks.",
    )


def jetson_orin_nano_original() -> HardwareSpec:
    s = ORIN_NANO_DATASHEET
    return HardwareSpec(
        "JetsonOrinNano_Original", "NVIDIA Jetson Orin Nano 8GB (original clocks)", vendor="NVIDIA", year=2023,
        category="edge", memory_type="LPDDR5 (128-bit)",
        peak_flops={"int8": sv(20, "TOPS", _dense_half(s, "40"))},
        sparse_peak_flops={"int8": sv(40, "TOPS", with_note(s, _SPARSE_NOTE))},
        memory_bandwidth=sv(68, "GB/s", s),
        memory_capacity=sv(8, "GiB", with_note(s, "LPDDR5 dies are built in powers of two: '8GB' is 8 GiB")),
        tdp=sv(15, "W", with_note(s, "maximum power mode")),
        clock=sv(625, "MHz", with_note(s, "GPU clock")),
        description="The Orin Nano 8GB module at its 2023 launch clocks (15 W).",
    )


def tesla_fsd() -> HardwareSpec:
    s = TALPES_2020
    return HardwareSpec(
        "TeslaFSD", "Tesla FSD computer (HW3), one FSD chip", vendor="Tesla", year=2019, category="edge",
        peak_flops={"int8": sv(72, "TOPS", with_note(
            s, "per chip (2 chips, 144 TOPS, per board); 2 NPUs x 96 x 96 MACs x 2 GHz x 2 OP/MAC = 73.7 TOPS"))},
        tdp=sv(40, "W", with_note(s, "upper bound: the paper gives under 40 W per chip")),
        clock=sv(2.0, "GHz", with_note(s, "NPU clock")),
        description="Samsung 14 nm, 260 mm^2; two 96x96 INT8 MAC-array NPUs per chip, 2300 frames/s per board.",
    )


ENTRIES = {
    "Jetson": jetson_agx_orin,
    "JetsonOrinNano": jetson_orin_nano,
    "JetsonOrinNano_Original": jetson_orin_nano_original,
    "TeslaFSD": tesla_fsd,
}
