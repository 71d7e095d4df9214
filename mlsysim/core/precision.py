"""Numeric precisions and their storage size.

``bytes_per_element("bf16") == Q_(2, "byte")``. Unknown precisions raise a clear error listing the
known ones.
"""
from __future__ import annotations

import difflib

from .errors import UnknownNameError
from . import references as refs
from .references import cite
from .sources import Source
from .units import Q_

IEEE_754 = cite(refs.IEEE_754_2019, "Table 3.5 (binary16/32/64 storage widths)")
OCP_FP8 = cite(refs.OCP_FP8_2023, "Sec. 4 (E4M3/E5M2: 8 bits)")
BFLOAT16 = cite(refs.INTEL_BF16_2018, "Sec. 2 (16-bit format)")
NVIDIA_TF32 = cite(refs.NVIDIA_A100_ARCH_2020, "p. 26: TF32 operates on FP32 storage")
OCP_MX = cite(refs.OCP_MX_2023, "Sec. 5 (FP4 E2M1 elements: 4 bits)")
INT_STORAGE = cite(refs.JACOB_2018, "Sec. 2 (8-bit integer storage)")

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
