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
    "Google Cloud, 'TPU v5e' (Cloud TPU documentation)", kind="datasheet", year=2025,
    locator="system architecture: specifications table (peak compute per chip bf16 197 TFLOPs, Int8 393 TOPs; "
            "HBM capacity per chip 16 GiB; HBM bandwidth per chip 819 GBps; bidirectional ICI bandwidth per "
            "chip 400 GBps; 4 ICI ports per chip; 8 chips per host)",
    url="https://cloud.google.com/tpu/docs/v5e")
TPU_V5P_DOCS = Source(
    "Google Cloud, 'TPU v5p' (Cloud TPU documentation)", kind="datasheet", year=2025,
    locator="system architecture: specifications table (peak compute per chip bf16 459 TFLOPs; HBM capacity "
            "per chip 95 GiB (96 GiB physical); HBM bandwidth per chip 2765 GBps; bidirectional ICI bandwidth "
            "per chip 1200 GBps; 3D torus; 4 chips per host (2x2x1))",
    url="https://cloud.google.com/tpu/docs/v5p")


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
        devices_per_node=sv(4, None, with_note(s, "reference node: one TPU v4 host (VM) drives 4 chips")),
        intra_node_fabric=sv("TPU_ICI_v4", None, with_note(s, "reference node: chips of a host are ICI "
                                                              "neighbours in the pod's 3D torus")),
        inter_node_fabric=sv("TPU_ICI_v4", None, with_note(s, "reference node: the whole slice is one ICI "
                                                              "torus, so traffic between hosts also rides ICI")),
        description="4096-chip pods, 1.1 exaFLOP/s peak per pod.",
    )


def tpu_v5e() -> HardwareSpec:
    s = TPU_V5E_DOCS
    return HardwareSpec(
        "TPUv5e", "Google TPU v5e (chip)", vendor="Google", year=2023, category="cloud",
        interconnect_name="ICI (2D torus)",
        peak_flops={
            "bf16": sv(197, "TFLOP/s", s),
            "int8": sv(393, "TOPS", with_note(s, "the current page gives 393 TOPs (earlier versions: 394)")),
        },
        memory_bandwidth=sv(819, "GB/s", with_note(s, "819 GBps (decimal); one interim version of the page "
                                                      "printed '800 GiBps' (= 859 GB/s), inconsistent with the "
                                                      "819 GBps of the versions before and after it")),
        memory_capacity=sv(16, "GiB", with_note(s, "the current page gives 16 GiB (earlier versions: '16 GB')")),
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
        memory_capacity=sv(95, "GiB", with_note(s, "user-allocatable HBM: 96 GiB physical, 1 GiB reserved by the "
                                                   "TPU system and libtpu; 95 GiB = 102.0 GB")),
        interconnect_bandwidth=sv(1200, "GB/s", with_note(s, "bidirectional ICI bandwidth per chip (total of both "
                                                             "directions, as NVLink is quoted): 6 links (3D torus "
                                                             "neighbours) x 2 directions x 100 GB/s. An earlier "
                                                             "version of the page gave '4800 Gbps' (= 600 GB/s)")),
        devices_per_node=sv(4, None, with_note(s, "reference node: one v5p host (VM) drives 4 chips (2x2x1)")),
        intra_node_fabric=sv("TPU_ICI_v5p", None, with_note(s, "reference node: chips of a host are ICI "
                                                               "neighbours in the slice's 3D torus")),
        inter_node_fabric=sv("TPU_ICI_v5p", None, with_note(s, "reference node: the whole slice is one ICI "
                                                               "torus, so traffic between hosts also rides ICI")),
        description="Performance TPU; 8960-chip pods in a 3D torus.",
    )


ENTRIES = {
    "TPUv3": tpu_v3,
    "TPUv4": tpu_v4,
    "TPUv5e": tpu_v5e,
    "TPUv5p": tpu_v5p,
}
