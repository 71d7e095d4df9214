"""Google TPUs (Google Cloud TPU documentation, and Patterson et al. 2021 for TPU v3)."""
from __future__ import annotations

from ..core.sources import Source
from ..core.specs import sv
from .nvidia import PATTERSON_2021
from .spec import HardwareSpec, with_note

TPU_V4_DOCS = Source(
    "Google Cloud, 'TPU v4' (Cloud TPU documentation)", kind="datasheet", year=2023,
    locator="system architecture: chip specifications", url="https://cloud.google.com/tpu/docs/v4")
TPU_V5E_DOCS = Source(
    "Google Cloud, 'TPU v5e' (Cloud TPU documentation)", kind="datasheet", year=2023,
    locator="system architecture: chip specifications", url="https://cloud.google.com/tpu/docs/v5e")
TPU_V5P_DOCS = Source(
    "Google Cloud, 'TPU v5p' (Cloud TPU documentation)", kind="datasheet", year=2023,
    locator="system architecture: chip specifications", url="https://cloud.google.com/tpu/docs/v5p")


def tpu_v3() -> HardwareSpec:
    s = PATTERSON_2021
    return HardwareSpec(
        "TPUv3", "Google TPU v3 (chip)", vendor="Google", year=2018, category="cloud",
        memory_type="HBM", interconnect_name="ICI",
        peak_flops={"bf16": sv(123, "TFLOP/s", s)},
        tdp=sv(450, "W", s),
        description="Reference peak and power used by Patterson et al. 2021 for T5, Meena and GShard.",
    )


def tpu_v4() -> HardwareSpec:
    s = TPU_V4_DOCS
    return HardwareSpec(
        "TPUv4", "Google TPU v4 (chip)", vendor="Google", year=2021, category="cloud",
        memory_type="HBM2", interconnect_name="ICI (3D torus, optical circuit switches)",
        peak_flops={
            "bf16": sv(275, "TFLOP/s", s),
            "int8": sv(275, "TOPS", with_note(s, "the same 275 peak is quoted for bf16 and int8")),
        },
        memory_bandwidth=sv(1200, "GB/s", s),
        memory_capacity=sv(32, "GiB", s),
        tdp=sv(192, "W", with_note(s, "Google publishes no TDP; this is the maximum measured chip power "
                                      "(min/mean/max 90/170/192 W)")),
        description="4096-chip pods, 1.1 exaFLOP/s peak per pod.",
    )


def tpu_v5e() -> HardwareSpec:
    s = TPU_V5E_DOCS
    return HardwareSpec(
        "TPUv5e", "Google TPU v5e (chip)", vendor="Google", year=2023, category="cloud",
        interconnect_name="ICI (2D torus)",
        peak_flops={
            "bf16": sv(197, "TFLOP/s", s),
            "int8": sv(394, "TOPS", s),
        },
        memory_bandwidth=sv(819, "GB/s", s),
        memory_capacity=sv(16, "GB", s),
        interconnect_bandwidth=sv(400, "GB/s", with_note(s, "inter-chip interconnect per chip, total of "
                                                            "both directions")),
        description="Cost-optimised TPU; 256-chip pods in a 2D torus.",
    )


def tpu_v5p() -> HardwareSpec:
    s = TPU_V5P_DOCS
    return HardwareSpec(
        "TPUv5p", "Google TPU v5p (chip)", vendor="Google", year=2023, category="cloud",
        interconnect_name="ICI (3D torus)",
        peak_flops={
            "bf16": sv(459, "TFLOP/s", s),
            "int8": sv(918, "TOPS", s),
        },
        memory_bandwidth=sv(2765, "GB/s", s),
        memory_capacity=sv(95, "GB", s),
        interconnect_bandwidth=sv(4800, "Gbit/s", with_note(s, "inter-chip interconnect per chip as Google "
                                                               "quotes it, 4800 Gbps = 600 GB/s")),
        description="Performance TPU; 8960-chip pods in a 3D torus.",
    )


ENTRIES = {
    "TPUv3": tpu_v3,
    "TPUv4": tpu_v4,
    "TPUv5e": tpu_v5e,
    "TPUv5p": tpu_v5p,
}
