"""Phone and laptop SoCs: Apple (newsroom announcements) and Qualcomm (product brief).

Vendors of mobile SoCs publish few numbers: Apple gives Neural Engine TOPS and, for Macs, memory
bandwidth and capacity; it publishes neither the iPhone's RAM nor its memory bandwidth, and Qualcomm
gives no TOPS figure for the Snapdragon 8 Gen 3. Those values are recorded as ``assumption`` sources
that say where the estimate comes from; override them with ``replace(...)``.
"""
from __future__ import annotations

from ..core.sources import Source, assumption, derived, secondary
from ..core.specs import sv
from .spec import HardwareSpec, with_note

M3_NE_PRESS = secondary(
    "Press coverage of Apple's M4 announcement (e.g. Gizchina, 'Apple M4 vs Apple M3'; codingmall "
    "knowledge base, 'How does the Neural Engine in the M4 chip compare'), May 2024", 2024,
    "Apple's M3 newsroom release gives no TOPS figure (only 'up to 60 percent faster than in the M1 family'); "
    "the M3-family Neural Engine's 18 TOPS appears in press comparisons with the M4's 38 TOPS. Apple states "
    "no precision: it is stored under 'fp16' only because published_cases.json reads it so, an assumption",
    locator="M4 (38 TOPS) vs M3 (18 TOPS) Neural Engine comparison")
APPLE_M3_NEWSROOM = Source(
    "Apple Newsroom, 'Apple unveils M3, M3 Pro, and M3 Max, the most advanced chips for a personal "
    "computer' (Oct 30 2023)", kind="datasheet", year=2023, locator="M3 Max section",
    url="https://www.apple.com/newsroom/")
APPLE_A17_NEWSROOM = Source(
    "Apple Newsroom, 'Apple unveils iPhone 15 Pro and iPhone 15 Pro Max' (Sep 12 2023)", kind="datasheet",
    year=2023, locator="A17 Pro section (Neural Engine)", url="https://www.apple.com/newsroom/")
QUALCOMM_8G3_BRIEF = Source(
    "Qualcomm, 'Snapdragon 8 Gen 3 Mobile Platform' product brief (Snapdragon Summit 2023)", kind="datasheet",
    year=2023, locator="memory: LPDDR5X up to 4800 MHz, up to 24 GB",
    note="recorded as unverified in published_cases.json (hw_snapdragon_8_gen3)")

_APPLE_PRECISION = ("Apple does not state the precision of its TOPS figures; published_cases.json "
                    "(hw_apple_m3_max_a17pro) reads the A17 Pro figure as INT8 and the M3 figure as FP16 "
                    "(unverified), so compare the two with care")
_DRAM_GIB = "LPDDR dies are built in powers of two, so the vendor's 'GB' is binary: stored in GiB"


def iphone() -> HardwareSpec:
    s = APPLE_A17_NEWSROOM
    return HardwareSpec(
        "iPhone", "Apple iPhone 15 Pro (A17 Pro)", vendor="Apple", year=2023, category="mobile",
        memory_type="LPDDR5",
        peak_flops={"int8": sv(35, "TOPS", secondary(
            s.citation, 2023,
            "the 35 trillion operations per second are Apple's (16-core Neural Engine); Apple states no "
            "precision, and the INT8 reading comes from third-party analyses (published_cases.json "
            "hw_apple_m3_max_a17pro, unverified), so compare it with the M3 Max's figure with care",
            locator=s.locator, url=s.url))},
        memory_capacity=sv(8, "GiB", assumption(
            "iPhone 15 Pro RAM (not published by Apple)",
            "8 GB of LPDDR5 as reported by third-party teardowns of the iPhone 15 Pro; Apple publishes no "
            f"RAM size. {_DRAM_GIB}")),
        memory_bandwidth=sv(51.2, "GB/s", assumption(
            "A17 Pro memory bandwidth (not published by Apple)",
            "LPDDR5-6400 (memory type per third-party teardowns) on a 64-bit bus: 6400 MT/s x 8 B = "
            "51.2 GB/s; Apple publishes no figure")),
        description="A17 Pro phone SoC (TSMC N3B), 6-core CPU, 6-core GPU, 16-core Neural Engine.",
    )


def macbook_m3_max() -> HardwareSpec:
    s = APPLE_M3_NEWSROOM
    return HardwareSpec(
        "MacBookM3Max", "Apple MacBook Pro (M3 Max, 16-core CPU, 40-core GPU, 128GB)", vendor="Apple", year=2023,
        category="workstation", memory_type="unified LPDDR5",
        peak_flops={"fp16": sv(18, "TOPS", M3_NE_PRESS)},
        memory_bandwidth=sv(400, "GB/s", with_note(s, "16-core CPU / 40-core GPU configuration (the "
                                                      "14-core CPU / 30-core GPU part has 300 GB/s)")),
        memory_capacity=sv(128, "GiB", with_note(s, f"maximum unified memory configuration; {_DRAM_GIB}")),
        description="Laptop SoC (TSMC N3B) with unified memory shared by CPU, GPU and Neural Engine.",
    )


def snapdragon() -> HardwareSpec:
    s = QUALCOMM_8G3_BRIEF
    return HardwareSpec(
        "Snapdragon", "Qualcomm Snapdragon 8 Gen 3", vendor="Qualcomm", year=2023, category="mobile",
        memory_type="LPDDR5X",
        peak_flops={"int8": sv(45, "TOPS", assumption(
            "Snapdragon 8 Gen 3 Hexagon NPU INT8 TOPS (third-party figure, runlocalai.co)",
            "UNSUPPORTED: Qualcomm publishes no TOPS figure for the Snapdragon 8 Gen 3; 45 TOPS is the NPU "
            "figure Qualcomm gives for the Snapdragon X Elite (a laptop SoC), attached to this phone SoC by a "
            "third party (published_cases.json hw_snapdragon_8_gen3, unofficial and unverified). A result "
            "that rests on it must say so, or use a measured token rate"))},
        memory_bandwidth=sv(76.8, "GB/s", derived(
            QUALCOMM_8G3_BRIEF.short(),
            "LPDDR5X at 4800 MHz = 9600 MT/s on a 64-bit (4 x 16-bit) bus: 9600e6 x 8 B = 76.8 GB/s")),
        memory_capacity=sv(24, "GiB", with_note(s, f"the most memory the SoC supports; phones ship with less; "
                                                  f"{_DRAM_GIB}")),
        description="Phone SoC (TSMC 4 nm), Kryo CPU (1x X4 3.3 GHz), Adreno 750 GPU, Hexagon NPU.",
    )


ENTRIES = {
    "iPhone": iphone,
    "Snapdragon": snapdragon,
    "MacBookM3Max": macbook_m3_max,
}
