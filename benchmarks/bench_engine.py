"""Engine benchmarks (issue: foundation). Ratios against baselines run side by side in this process.

Run: ``python benchmarks/bench_engine.py`` (prints a table; not a pass/fail test).

1. 1e6-point Roofline ``evaluate`` vs the same formulas written by hand in numpy (target <= 1.5x).
2. warm scalar ``solve`` (inverse already derived) (target < 100 us).
3. cold ``import mlsysim`` vs ``import numpy, sympy, pint, jinja2`` (target < 0.8 s), in fresh interpreters.
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _util import best_of, machine  # noqa: E402

import mlsysim  # noqa: E402
from mlsysim import Q_  # noqa: E402

N = 1_000_000


def roofline_sweep():
    R = mlsysim.Equations.Roofline
    flops = np.geomspace(1e9, 1e15, N)
    kn = dict(flops=Q_(flops, "FLOP"), bytes_moved=Q_(1, "GB"), peak_flops=Q_(989, "TFLOP/s"),
              memory_bandwidth=Q_(3.35, "TB/s"), compute_efficiency=0.5, overhead=Q_(0, "s"))

    def lib():
        out = R.evaluate(**kn)
        # touch every output as a user would (wrapping happens once per output)
        for k in R.derived:
            out[k]

    def hand():
        f = flops
        b, p, bw, eta, ovh = 1e9, 989e12, 3.35e12, 0.5, 0.0
        ct = f / (eta * p)
        mt = b / bw
        lat = ovh + np.maximum(ct, mt)
        regime = ct >= mt
        ai = f / b
        ridge = p / bw
        att = np.minimum(eta * p, ai * bw)
        return lat, regime, ai, ridge, att

    lib()  # warm: lambdify once
    t_lib = best_of(lib, repeat=7)
    t_hand = best_of(hand, repeat=7)
    return t_lib, t_hand


def warm_solve():
    R = mlsysim.Equations.Roofline
    kn = dict(flops=Q_(1.41e11, "FLOP"), bytes_moved=Q_(141, "GB"), peak_flops=Q_(989, "TFLOP/s"),
              compute_efficiency=1.0, overhead=Q_(0, "s"), latency=Q_(20, "ms"))
    t0 = time.perf_counter()
    R.solve("memory_bandwidth", **kn)
    cold = time.perf_counter() - t0
    warm = best_of(lambda: R.solve("memory_bandwidth", **kn), repeat=5, number=2000)
    return cold, warm


def import_times():
    def run(code):
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            best = min(best, time.perf_counter() - t0)
        return best

    base = run("import numpy, sympy, pint, jinja2")
    ours = run("import mlsysim")
    empty = run("pass")
    return ours, base, empty


def main():
    print(f"machine: {machine()}")
    t_lib, t_hand = roofline_sweep()
    print(f"roofline evaluate, {N:.0e} points: mlsysim {t_lib*1e3:.1f} ms, hand numpy {t_hand*1e3:.1f} ms, "
          f"ratio {t_lib/t_hand:.2f}x (target <= 1.5x)")
    cold, warm = warm_solve()
    print(f"solve memory_bandwidth: cold (symbolic inverse derived) {cold*1e3:.1f} ms, warm {warm*1e6:.1f} us "
          f"(target < 100 us)")
    ours, base, empty = import_times()
    print(f"cold import: mlsysim {ours:.3f} s, numpy+sympy+pint+jinja2 {base:.3f} s, empty interpreter {empty:.3f} s "
          f"(target < 0.8 s)")
    return {"roofline_ratio": t_lib / t_hand, "warm_solve_us": warm * 1e6, "import_s": ours}


if __name__ == "__main__":
    main()
