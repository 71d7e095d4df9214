"""Numeric precisions and their storage size.

``bytes_per_element("bf16") == Q_(2, "byte")``. Unknown precisions raise a clear error listing the
known ones.
"""
from __future__ import annotations

import difflib

from .errors import UnknownNameError
from .sources import Source
from .units import Q_

IEEE_754 = Source("IEEE Standard for Floating-Point Arithmetic, IEEE Std 754-2019", kind="standard", year=2019,
                  locator="Table 3.5 (binary16/32/64 storage widths)")
OCP_FP8 = Source("OCP 8-bit Floating Point Specification (OFP8), Open Compute Project", kind="standard",
                 year=2023, locator="Sec. 4 (E4M3/E5M2: 8 bits)")
BFLOAT16 = Source("Intel, 'BFLOAT16 - Hardware Numerics Definition', doc 338302-001US", kind="standard",
                  year=2018, locator="Sec. 2 (16-bit format)")
NVIDIA_TF32 = Source("NVIDIA A100 Tensor Core GPU Architecture whitepaper", kind="datasheet", year=2020,
                     locator="p. 26: TF32 operates on FP32 storage", url="https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/nvidia-ampere-architecture-whitepaper.pdf")
OCP_MX = Source("OCP Microscaling Formats (MX) Specification v1.0, Open Compute Project", kind="standard",
                year=2023, locator="Sec. 5 (FP4 E2M1 elements: 4 bits)")
INT_STORAGE = Source("Jacob et al., 'Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only "
                     "Inference', CVPR", kind="paper", year=2018, locator="Sec. 2 (8-bit integer storage)")

#: precision -> (bytes per stored element, source)
PRECISIONS: dict[str, tuple[float, Source]] = {
    "fp64": (8.0, IEEE_754),
    "fp32": (4.0, IEEE_754),
    "tf32": (4.0, NVIDIA_TF32),
    "bf16": (2.0, BFLOAT16),
    "fp16": (2.0, IEEE_754),
    "fp8": (1.0, OCP_FP8),
    "int8": (1.0, INT_STORAGE),
    "int4": (0.5, INT_STORAGE),
    "fp4": (0.5, OCP_MX),
}


def normalize_precision(precision: str) -> str:
    """Canonical precision name (case-insensitive); unknown names raise with close matches."""
    if not isinstance(precision, str):
        raise UnknownNameError(f"precision must be a string such as 'bf16'; got {precision!r}")
    p = precision.strip().lower()
    if p in PRECISIONS:
        return p
    close = difflib.get_close_matches(p, list(PRECISIONS), n=3)
    raise UnknownNameError(f"unknown precision {precision!r}; known precisions: {', '.join(PRECISIONS)}"
                           + (f" (did you mean {', '.join(close)}?)" if close else ""))


def bytes_per_element(precision: str):
    """Storage size of one number at ``precision`` as a Quantity in bytes."""
    return Q_(PRECISIONS[normalize_precision(precision)][0], "byte")
