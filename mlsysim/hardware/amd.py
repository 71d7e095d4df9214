"""AMD Instinct accelerators (AMD data sheet and ROCm documentation; secondary sources where AMD's own
table could not be checked)."""
from __future__ import annotations

from ..core.sources import Source, secondary
from ..core.specs import sv
from .spec import HardwareSpec, with_note

MI300X_DATASHEET = Source(
    "AMD, 'AMD Instinct MI300X Accelerator' data sheet", kind="datasheet", year=2023,
    locator="specifications table (OAM module)",
    url="https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html",
    note="recorded as unverified in published_cases.json (hw_mi300x)")
ROCM_GPU_SPECS = Source(
    "AMD, ROCm documentation, 'AMD GPU specifications' (reference/gpu-specs)", kind="datasheet", year=2024,
    locator="AMD Instinct GPUs table, MI300X row: CDNA3, gfx942, VRAM (GiB) 192, 304 compute units",
    url="https://rocm.docs.amd.com/en/latest/reference/gpu-specs.html")
MLPERF_INF_V41_AMD = secondary(
    "MLCommons, MLPerf Inference v4.1 results, AMD system description '8xMI300X_2xEPYC-9374F.json'", 2024,
    "the only document at hand that states the 750 W board power is the accelerator name in this system "
    "description ('AMD Instinct MI300X-NPS1-SPX-192GB-750W'); AMD's data-sheet table could not be checked",
    locator="closed/AMD/systems/8xMI300X_2xEPYC-9374F.json, accelerator_model_name",
    url="https://github.com/mlcommons/inference_results_v4.1")
MI300X_IF_SUMMARY = secondary(
    "Third-party summaries of the MI300X data sheet (published_cases.json hw_mi300x: 'Infinity Fabric 896 "
    "GB/s aggregate')", 2024,
    "AMD's data sheet lists 128 GB/s peak bandwidth per Infinity Fabric link; 7 GPU-to-GPU links x 128 GB/s = "
    "896 GB/s is the summaries' arithmetic, not a figure checked against an AMD table (AMD's own pages also "
    "count an 8th, host, link)")


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
        memory_capacity=sv(192, "GiB", with_note(ROCM_GPU_SPECS, "AMD's table gives VRAM in GiB: 192 GiB = 206.2 GB "
                                                                 "(8 HBM3 stacks of 24 GiB)")),
        tdp=sv(750, "W", MLPERF_INF_V41_AMD),
        interconnect_bandwidth=sv(896, "GB/s", MI300X_IF_SUMMARY),
        description="CDNA 3 accelerator with 304 compute units and 192 GiB of HBM3.",
    )


ENTRIES = {"MI300X": mi300x}
