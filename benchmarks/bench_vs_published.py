"""Speed against the published ``mlsysim==0.3.0`` package (PyPI), on the serving sweep of ``bench_serving``.

Run: ``python benchmarks/bench_vs_published.py`` (prints a table; not a pass/fail test).

``mlsysim`` 0.3.0 lives in its own virtual environment (it has the same import name), made once with::

    python3 -m venv /tmp/mlsysim030 && /tmp/mlsysim030/bin/pip install mlsysim==0.3.0

and found through the environment variable ``MLSYSIM030_PYTHON`` (a python executable) or at
``/tmp/mlsysim030/bin/python``; without it the benchmark prints "skipped".

The comparable 0.3.0 call is ``mlsysim.engine.solvers.serving.ServingModel().solve(model, hardware, seq_len,
batch_size, precision, efficiency)`` (Llama-3-8B on an H100, fp16, efficiency 0.7 as our default). It takes
scalars only and has no bandwidth argument, so each of the 100 bandwidths becomes a copy of the
hardware node (``model_copy``), built before the clock starts. It is called once per point on
``POINTS`` points of the 1e6-point grid (an even subsample), timed inside its own process (import
excluded), best of ``REPEAT``.

Ours, in this process: the same points through ``ServingSolver().solve`` called once per point, and the
whole 1e6-point grid in one vectorised call (from ``bench_serving``). The two packages do not model the
same thing (0.3.0: decode = memory time + a per-layer framework tax, prefill = compute time + a dispatch
tax, attention over the final context; ours: the roofline max of compute and memory for both phases,
prefill attention over the causal mean context), so this compares speed; one point's values are printed
for information.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _util import best_of, machine  # noqa: E402

import bench_serving  # noqa: E402
import mlsysim  # noqa: E402
from mlsysim import Q_  # noqa: E402
from mlsysim.solvers import ServingSolver  # noqa: E402

POINTS = 2000
REPEAT = 3
DEFAULT_PYTHON = "/tmp/mlsysim030/bin/python"

#: runs inside the 0.3.0 environment; reads {"batch", "seq", "bw_tbps", "repeat"} on stdin, prints JSON
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import mlsysim
t_import = time.perf_counter() - t0
from mlsysim.core.units import Q_
from mlsysim.engine.solvers.serving import ServingModel
job = json.load(sys.stdin)
model = mlsysim.Models.Language.Llama3_8B
base = mlsysim.Hardware.Cloud.H100
# no bandwidth argument in 0.3.0: one hardware copy per bandwidth, built before timing
nodes = {bw: base.model_copy(update={"memory": base.memory.model_copy(update={"bandwidth": Q_(bw, "TB/s")})})
         for bw in sorted(set(job["bw_tbps"]))}
pts = [(int(b), int(s), nodes[w]) for b, s, w in zip(job["batch"], job["seq"], job["bw_tbps"])]
solver = ServingModel()
def run():
    out = []
    for b, s, hw in pts:
        r = solver.solve(model, hw, seq_len=s, batch_size=b, precision="fp16", efficiency=0.7)
        out.append((r.itl, r.ttft))
    return out
res = run()
best = float("inf")
for _ in range(job["repeat"]):
    t0 = time.perf_counter()
    run()
    best = min(best, time.perf_counter() - t0)
i = job["sample"]
print(json.dumps({"version": mlsysim.__version__, "import_s": t_import, "seconds": best, "points": len(pts),
                  "sample": {"itl_ms": res[i][0].m_as("ms"), "ttft_ms": res[i][1].m_as("ms")}}))
"""


def published_python():
    """Path of a python that imports mlsysim 0.3.0, or None."""
    exe = os.environ.get("MLSYSIM030_PYTHON") or DEFAULT_PYTHON
    return exe if os.path.exists(exe) else None


def points():
    """``POINTS`` points spread evenly over the flattened 1e6-point grid of ``bench_serving``."""
    batch, seq, bw = bench_serving.grid()
    idx = np.linspace(0, batch.size - 1, POINTS).round().astype(int)
    return batch[idx], seq[idx], bw[idx]


def run_published(exe, batch, seq, bw, sample):
    job = {"batch": batch.tolist(), "seq": seq.tolist(), "bw_tbps": bw.tolist(), "repeat": REPEAT,
           "sample": sample}
    # -I: isolated mode, so neither this checkout (the working directory) nor PYTHONPATH shadows the
    # installed 0.3.0 package, which has the same import name
    p = subprocess.run([exe, "-I", "-c", CHILD], input=json.dumps(job), capture_output=True, text=True,
                       timeout=300, cwd=tempfile.gettempdir())
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def ours_per_point(batch, seq, bw, sample):
    model, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    solver = ServingSolver()
    pts = [(int(b), int(s), Q_(float(w), "TB/s")) for b, s, w in zip(batch, seq, bw)]

    def run():
        out = []
        for b, s, w in pts:
            r = solver.solve(model, hw, batch_size=b, seq_len=s, memory_bandwidth=w, precision="fp16")
            out.append((r.tpot, r.ttft))
        return out

    res = run()  # warm
    t = best_of(run, repeat=REPEAT)
    return t, {"tpot_ms": res[sample][0].m_as("ms"), "ttft_ms": res[sample][1].m_as("ms")}


def main():
    print(f"machine: {machine()}")
    exe = published_python()
    if exe is None:
        print(f"vs mlsysim 0.3.0: skipped (no {DEFAULT_PYTHON}; set MLSYSIM030_PYTHON or run "
              f"'python3 -m venv /tmp/mlsysim030 && /tmp/mlsysim030/bin/pip install mlsysim==0.3.0')")
        return {"published": "skipped"}
    batch, seq, bw = points()
    sample = POINTS // 2
    try:
        pub = run_published(exe, batch, seq, bw, sample)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
        print(f"vs mlsysim 0.3.0: skipped ({exe} could not run ServingModel.solve: {e})")
        return {"published": f"skipped: {e}"}
    pub_rate = pub["points"] / pub["seconds"]
    t_pp, ours_sample = ours_per_point(batch, seq, bw, sample)
    pp_rate = POINTS / t_pp
    t_vec, t_hand, _ = bench_serving.serving_sweep(repeat=REPEAT)
    vec_rate = bench_serving.N / t_vec
    print(f"mlsysim {pub['version']} ServingModel.solve, per point, {pub['points']} points: {pub['seconds']:.3f} s "
          f"= {pub_rate:,.0f} points/s (its import: {pub['import_s']:.2f} s, not timed)")
    print(f"mlsysim (this) ServingSolver.solve, per point, {POINTS} points: {t_pp:.3f} s = {pp_rate:,.0f} points/s "
          f"= {pp_rate / pub_rate:.2f}x 0.3.0")
    print(f"mlsysim (this) ServingSolver.solve, vectorised, {bench_serving.N:.0e} points: {t_vec*1e3:.1f} ms = "
          f"{vec_rate:,.0f} points/s = {vec_rate / pub_rate:,.0f}x 0.3.0 per point")
    b, s, w = int(batch[sample]), int(seq[sample]), float(bw[sample])
    print(f"  one point for information (batch {b}, context {s}, {w:.3f} TB/s; different models, see docstring): "
          f"0.3.0 itl {pub['sample']['itl_ms']:.3f} ms, ttft {pub['sample']['ttft_ms']:.1f} ms; "
          f"this tpot {ours_sample['tpot_ms']:.3f} ms, ttft {ours_sample['ttft_ms']:.1f} ms")
    return {"published_version": pub["version"], "published_points_per_s": pub_rate,
            "ours_per_point_points_per_s": pp_rate, "ours_vectorised_points_per_s": vec_rate,
            "per_point_speedup": pp_rate / pub_rate, "vectorised_speedup": vec_rate / pub_rate}


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"(benchmark wall time {time.perf_counter() - t0:.1f} s)")
