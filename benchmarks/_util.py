"""Shared helpers for the benchmarks: best-of-N timing and a machine description."""
from __future__ import annotations

import os
import platform
import time


def best_of(fn, repeat: int = 5, number: int = 1) -> float:
    """Best wall time of ``number`` calls of ``fn`` over ``repeat`` trials, per call [s]."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def machine() -> str:
    return (f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}").replace("  ", " ")
