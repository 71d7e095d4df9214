"""AMD Instinct accelerators (AMD data sheets)."""
from __future__ import annotations

from ..core.sources import Source
from ..core.specs import sv
from .spec import HardwareSpec, with_note

MI300X_DATASHEET = Source(
    "AMD, 'AMD Instinct MI300X Accelerator' data sheet", kind="datasheet", year=2023,
    locator="specifications table (OAM module)",
    url="https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html",
    note="recorded as unverified in published_cases.json (hw_mi300x)")


def mi300x() -> HardwareSpec:
    s = MI300X_DATASHEET
    return HardwareSpec(
        "MI300X", "AMD Instinct MI300X (OAM, 192GB)", vendor="AMD", year=2023, category="cloud",
        memory_type="HBM3", interconnect_name="Infinity Fabric",
        peak_flops={
            "fp64": sv(163.4, "TFLOP/s", with_note(s, "FP64 matrix; the vector FP64 rate is 81.7 TFLOP/s")),
            "fp32": sv(163.4, "TFLOP/s", with_note(s, "FP32 matrix (the vector rate is the same)")),
            "bf16": sv(1307.4, "TFLOP/s", s),
            "fp16": sv(1307.4, "TFLOP/s", s),
            "fp8": sv(2614.9, "TFLOP/s", s),
        },
        memory_bandwidth=sv(5.3, "TB/s", s),
        memory_capacity=sv(192, "GB", s),
        tdp=sv(750, "W", s),
        interconnect_bandwidth=sv(896, "GB/s", with_note(
            s, "aggregate peak Infinity Fabric bandwidth of the 7 links of one GPU, both directions")),
        description="CDNA 3 accelerator with 304 compute units and 192 GB of HBM3.",
    )


ENTRIES = {"MI300X": mi300x}
