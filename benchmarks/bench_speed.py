"""Issue #16's table, measured as written: five ratios in one run (alternated trials, medians).

Run: ``python benchmarks/bench_speed.py [--rounds N] [--json out.json]`` (about a minute on 2 cores; not a
pass/fail test, it prints the table and whether each goal is met).

Rows (mlsysim call; baseline; goal):

* ``import``: ``import mlsysim`` in a fresh interpreter; published mlsysim 0.3.0, the same; >= 4x faster.
* ``scalar``: ``ServingSolver().solve(Llama3_70B, H100, seq_len=4096, batch_size=1, precision="fp8")``, the
  solver's default path (the per-operation model, ``Equations.ServingOperations``); 0.3.0's
  ``ServingModel().solve`` with the same arguments; >= 4x faster.
* ``evaluate``: ``Equations.Serving.evaluate(outputs=["tpot"], batch_size=<1e6 array>, ...)`` (the flat
  roofline set); hand numpy of that set's tpot (:func:`hand_flat_tpot`); <= 1.3x.
* ``solver``: ``ServingSolver().solve(..., batch_size=<1e6 array>).tpot`` on the default path (per
  operation); hand numpy of the per-operation tpot (:func:`hand_ops_tpot`); <= 1.5x.
* ``solver_flat`` (information): the same with ``compute_efficiency=`` given (the flat roofline path);
  :func:`hand_flat_tpot`.
* ``sweep``: ``mlsysim.sweep(ServingSolver, outputs=["tpot"])`` on a 100^3 grid (batch x context x
  bandwidth), the default path; :func:`hand_ops_tpot` on the same grid (broadcast axes); <= 1.5x.

For the evaluate and solver rows a second, **folded** hand version is also timed for information: the same
tpot of a dense model with every scalar coefficient folded by hand (flat: ``c0 + max(c1*B, c2*B + c3)``;
per operation: ``c0 + c1*T + five max(a1*T + a0, b1*T + b0)``), the fewest array operations; it drops the
experts-read term (one expert: ``E (1 - 0^(B q)) = 1``) that the relations, the transcription and mlsysim
all compute, so its ratio shows the distance to that floor.

How it is measured:

* **Alternated, medians.** Each round runs the mlsysim call and its baseline back to back (the order
  alternating from round to round), after an untimed warm-up; the figure is the median over rounds of
  each side and their ratio. The machine may be shared: alternation and medians make a ratio robust to
  load that drifts, not to load that spikes inside one call; the spread is printed.
* **Hand numpy computes exactly the outputs requested** (tpot only), transcribing the current relations
  (``mlsysim/core/equation_sets/serving.py``) as a person would write them: scalar parts as Python floats,
  array parts as numpy expressions in base units (B, FLOP, s): for the flat set the experts read, the
  decode weights, FLOPs with the attention FLOPs, KV cache, the tensor-parallel all-reduce; per operation
  every GEMM's FLOPs, bytes, Hockney efficiency and time, the attention, the small kernels and the
  all-reduces. Its constants are the solver's own binding (registry values, default assumptions and
  calibrated laws as floats); its inputs are plain float arrays (no validation), the fastest case for it.
* **Correctness first.** Before timing, each mlsysim result is asserted equal to its hand version to a
  relative 1e-9, and one point to a hand calculation.
* **mlsysim 0.3.0** runs in its own virtual environment (``python3 -m venv /tmp/mlsysim030 &&
  /tmp/mlsysim030/bin/pip install mlsysim==0.3.0``, or ``MLSYSIM030_PYTHON``), in isolated mode so that this
  checkout does not shadow it; without it the two rows that need it print "skipped". Its scalar solve is
  timed inside its own process (its import excluded), one fresh process per round.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _util import machine  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import mlsysim  # noqa: E402
from mlsysim import Q_  # noqa: E402
from mlsysim.solvers import ServingSolver  # noqa: E402

DEFAULT_PYTHON = "/tmp/mlsysim030/bin/python"
RTOL = 1e-9
N = 10 ** 6
SCALAR_CALLS = 300

IMPORT_CHILD = "import time; t = time.perf_counter(); import mlsysim; print(time.perf_counter() - t)"

#: runs inside the 0.3.0 environment: per-call time of ServingModel.solve (import excluded)
SCALAR_CHILD_030 = r"""
import sys, time
import mlsysim
from mlsysim.engine.solvers.serving import ServingModel
m, h = mlsysim.Models.Language.Llama3_70B, mlsysim.Hardware.Cloud.H100
s = ServingModel()
s.solve(m, h, seq_len=4096, batch_size=1, precision="fp8")
n = int(sys.argv[1])
t = time.perf_counter()
for _ in range(n):
    s.solve(m, h, seq_len=4096, batch_size=1, precision="fp8")
print((time.perf_counter() - t) / n)
"""


def published_python():
    exe = os.environ.get("MLSYSIM030_PYTHON") or DEFAULT_PYTHON
    return exe if os.path.exists(exe) else None


def run_child(args, env=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tempfile.gettempdir(), env=env)
    if p.returncode != 0:
        raise RuntimeError((p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1])
    return float(p.stdout.strip().splitlines()[-1])


def alternate(ours, theirs, rounds):
    """Median seconds of ``ours()`` and ``theirs()`` over ``rounds`` alternated rounds, plus the spread."""
    a, b = [], []
    for i in range(rounds):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            if which == 0:
                a.append(ours())
            else:
                b.append(theirs())
    return statistics.median(a), statistics.median(b), (min(a), max(a)), (min(b), max(b))


def timed(fn):
    def run():
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    return run


# ------------------------------------------------------------------------------------------ the formulas
def constants(model, hw, precision, **kw):
    """Scalars of the relations from the solver's own binding (registry values and default assumptions), as
    base-unit floats. ``kw``: solver arguments (``compute_efficiency=`` selects the flat roofline)."""
    knowns = ServingSolver()._bind(model, hw, seq_len=4096, batch_size=1, precision=precision, **kw)[0]
    c = {}
    for k, v in knowns.items():
        var = mlsysim.core.variables.VARIABLES[k]
        c[k] = float(v.to(var.base_unit).magnitude) if hasattr(v, "units") else float(v)
    return c, knowns


def hand_flat_tpot(B, s, bw, c):
    """tpot of ``Equations.Serving`` (the flat roofline) by hand, in base units (B, FLOP, s).

    ``B``, ``s``, ``bw``: batch size, context, memory bandwidth (arrays or floats, broadcastable).
    Relations transcribed: experts_read, decode_weight_bytes, flops_per_token (with the attention FLOPs),
    decode_flops, kv_cache_bytes, decode_bytes, the ring all-reduce of the decode activations,
    decode_overhead, and tpot = decode_overhead + max(compute time, memory time).
    """
    n, L, h, b = c["num_devices"], c["num_layers"], c["hidden_size"], c["bytes_per_element"]
    q, E, k = c["decode_tokens"], c["num_experts"], c["experts_per_token"]
    # scalars (Python floats)
    kv_per_token = 2 * L * c["num_kv_heads"] * c["head_dim"] * c["kv_bytes_per_element"]
    base_flops = c["flops_per_mac"] * (c["active_parameters"] - c["embedding_parameters"]
                                       + c["vocab_size"] * h)
    attn_flops_per_ctx = 2 * c["flops_per_mac"] * L * c["num_heads"] * c["head_dim"]  # x s: attention FLOPs
    miss = 1 - k / E                                                    # expert_miss_probability
    rate = c["compute_efficiency"] * c["peak_flops"]
    # arrays
    experts_read = E * (1 - miss ** (B * q))
    weight_bytes = (c["active_parameters"] + L * (experts_read - k) * c["expert_parameters"]) * b
    flops = B * q * (base_flops + attn_flops_per_ctx * s) / n            # decode_flops
    nbytes = (weight_bytes + kv_per_token * s * B + B * c["activation_traffic_bytes"]) / n
    message = B * q * h * b
    allreduce = 2 * (n - 1) / n * message / c["link_bandwidth"] + 2 * (n - 1) * c["link_latency"]
    overhead = c["overhead"] + c["tp_allreduces_per_forward"] * L * allreduce
    return overhead + np.maximum(flops / rate, nbytes / bw)


#: the small memory-bound kernels of a decode step: (law kind, bytes per token of the step / b, times per step)
def _small_kernels(c):
    n, L, h = c["num_devices"], c["num_layers"], c["hidden_size"]
    k, dff, d = c["experts_per_token"], c["ffn_hidden_size"], c["head_dim"]
    return [("norm", 2 * 2 * h, L),                                        # two norms per layer
            ("rope", 2 * (c["num_heads"] + c["num_kv_heads"]) * d / n, L),
            ("add", 2 * 3 * h, L),                                         # two residual adds per layer
            ("act", 2 * k * dff / n, L),                                   # the activation
            ("add", 3 * k * dff / n, (c["ffn_matrices"] - 2) * L),         # the gating multiply (gated MLP)
            ("all", 2 * h, 1),                                             # the embedding gather
            ("norm", 2 * h, 1)]                                            # the final norm


def hand_ops_tpot(B, s, bw, c):
    """tpot of ``Equations.ServingOperations`` (the per-operation default) by hand, in base units.

    Each operation of a decode step transcribed as the relations state it: the GEMMs (qkv, out_proj, ffn_in,
    ffn_out per layer, lm_head once) with their FLOPs and bytes, the Hockney efficiency laws
    ``eta = eta_max x / (x + x_half)`` and time ``max(F / (eta_gemm peak), D / (eta_mem BW))``; the attention
    (the KV cache streamed on the memory law); the small kernels on their kinds' laws; the tensor-parallel
    all-reduces on the alpha-beta law; tpot = overhead + the sum, each times its count per step.
    ``B``, ``s``, ``bw``: batch size, context, memory bandwidth (arrays or floats, broadcastable).
    """
    n, L, h, b = c["num_devices"], c["num_layers"], c["hidden_size"], c["bytes_per_element"]
    q, E, k = c["decode_tokens"], c["num_experts"], c["experts_per_token"]
    nh, nkv, d = c["num_heads"], c["num_kv_heads"], c["head_dim"]
    dff, fpm, peak = c["ffn_hidden_size"], c["flops_per_mac"], c["peak_flops"]
    ge, gh = c["gemm_efficiency_max"], c["gemm_half_flops"]
    me, mh = c["memory_efficiency_max"], c["memory_half_bytes"]
    miss = max(0.0, 1 - k / E)                                          # expert_miss_probability
    T = B * q                                                           # decode_step_tokens
    experts_read = E * (1 - miss ** T)

    def gemm(tokens, kk, nn, matrices):
        F = fpm * tokens * kk * nn
        D = b * (tokens * kk + matrices * kk * nn + tokens * nn)
        t_gemm = F / (ge * F / (F + gh) * peak)
        t_mem = D / (me * D / (D + mh) * bw)
        return np.maximum(t_gemm, t_mem)

    def memory(D, eta_max, half):
        return D / (eta_max * D / (D + half) * bw)

    layer = (gemm(T, h, (nh + 2 * nkv) * d / n, 1)                      # qkv
             + gemm(T, nh * d / n, h, 1)                                # out_proj
             + gemm(T * k, h, (c["ffn_matrices"] - 1) * dff / n, experts_read)   # ffn_in (gate + up)
             + gemm(T * k, dff / n, h, experts_read)                    # ffn_out
             + memory(c["kv_bytes_per_element"] * 2 * B * nkv / n * s * d + b * 2 * T * nh / n * d, me, mh))
    total = c["overhead"] + L * layer + gemm(T, h, c["vocab_size"] / n, 1)  # + lm_head, once
    for kind, per_token, count in _small_kernels(c):
        total = total + count * memory(b * per_token * T, c[f"{kind}_efficiency_max"], c[f"{kind}_half_bytes"])
    coll = c["collective_latency"] + T * h * b / c["collective_bandwidth"]
    return total + c["tp_collectives_per_layer"] * L * coll


def folded_flat_tpot(c, s, bw):
    """The flat tpot for a dense model (one expert: experts_read = 1), every scalar coefficient folded by hand:
    ``c0 + max(c1 B, c2 B + c3)``, the fewest array operations (information only)."""
    n, L, h, b = c["num_devices"], c["num_layers"], c["hidden_size"], c["bytes_per_element"]
    assert c["num_experts"] == 1
    kv_per_token = 2 * L * c["num_kv_heads"] * c["head_dim"] * c["kv_bytes_per_element"]
    base = c["flops_per_mac"] * (c["active_parameters"] - c["embedding_parameters"] + c["vocab_size"] * h)
    ar = c["tp_allreduces_per_forward"] * L * 2 * (n - 1) / n * c["decode_tokens"] * h * b / c["link_bandwidth"]
    c0 = c["overhead"] + c["tp_allreduces_per_forward"] * L * 2 * (n - 1) * c["link_latency"]
    c1 = c["decode_tokens"] * (base + 2 * c["flops_per_mac"] * L * c["num_heads"] * c["head_dim"] * s) / (
        n * c["compute_efficiency"] * c["peak_flops"]) + ar
    c2 = (kv_per_token * s + c["activation_traffic_bytes"]) / (n * bw) + ar
    c3 = c["active_parameters"] * b / (n * bw)
    return lambda B: c0 + np.maximum(c1 * B, c2 * B + c3)


def folded_ops_tpot(c, s, bw):
    """The per-operation tpot for a dense model (experts_read = 1), every scalar coefficient folded by hand:
    each GEMM's two laws are linear in the tokens T (``(F + F_half) / (eta_max peak)`` and ``(D + D_half) /
    (eta_max BW)``), so tpot = ``c0 + c1 T + sum over the five GEMMs of max(a1 T + a0, b1 T + b0)`` (per-layer
    GEMMs with L folded in), the fewest array operations (information only)."""
    n, L, h, b = c["num_devices"], c["num_layers"], c["hidden_size"], c["bytes_per_element"]
    assert c["num_experts"] == 1 and c["experts_per_token"] == 1
    nh, nkv, d, dff = c["num_heads"], c["num_kv_heads"], c["head_dim"], c["ffn_hidden_size"]
    ge, gh, me, mh = c["gemm_efficiency_max"], c["gemm_half_flops"], c["memory_efficiency_max"], c["memory_half_bytes"]
    peak, fpm, q = c["peak_flops"], c["flops_per_mac"], c["decode_tokens"]
    gemms = []  # (count, a1, a0, b1, b0) in T
    for count, kk, nn in ((L, h, (nh + 2 * nkv) * d / n), (L, nh * d / n, h), (L, h, (c["ffn_matrices"] - 1) * dff / n),
                          (L, dff / n, h), (1, h, c["vocab_size"] / n)):
        gemms.append((count * fpm * kk * nn / (ge * peak), count * gh / (ge * peak),
                      count * b * (kk + nn) / (me * bw), count * (b * kk * nn + mh) / (me * bw)))
    # memory-bound kernels and the all-reduces: linear in T (the attention's KV stream: linear in B = T / q)
    c1 = L * (b * 2 * nh / n * d + c["kv_bytes_per_element"] * 2 * nkv / n * s * d / q) / (me * bw)
    c0 = c["overhead"] + L * mh / (me * bw)
    for kind, per_token, count in _small_kernels(c):
        c1 += count * b * per_token / (c[f"{kind}_efficiency_max"] * bw)
        c0 += count * c[f"{kind}_half_bytes"] / (c[f"{kind}_efficiency_max"] * bw)
    n_coll = c["tp_collectives_per_layer"] * L
    c1 += n_coll * h * b / c["collective_bandwidth"]
    c0 += n_coll * c["collective_latency"]

    def tpot(B):
        T = B * q
        out = c0 + c1 * T
        for a1, a0, b1, b0 in gemms:
            out = out + np.maximum(a1 * T + a0, b1 * T + b0)
        return out
    return tpot


def assert_close(got, want, what):
    got = np.asarray(got, dtype=float)
    want = np.broadcast_to(np.asarray(want, dtype=float), got.shape)
    rel = np.max(np.abs(got / want - 1))
    assert rel <= RTOL, f"{what}: max rel. diff {rel:.3g} > {RTOL:g}"


# ------------------------------------------------------------------------------------------ rows
def row_import(rounds, exe):
    env = dict(os.environ, PYTHONPATH=REPO)
    ours = lambda: run_child([sys.executable, "-c", IMPORT_CHILD], env)  # noqa: E731
    theirs = lambda: run_child([exe, "-I", "-c", IMPORT_CHILD])  # noqa: E731
    a, b, sa, sb = alternate(ours, theirs, rounds)
    return dict(ours_s=a, base_s=b, ratio=b / a, spread=(sa, sb), goal=">= 4x faster", ok=b / a >= 4)


#: compute_efficiency of the flat-roofline rows (given: it selects Equations.Serving in the solver)
FLAT_ETA = 0.7


def row_scalar(rounds, exe):
    solver = ServingSolver()
    m, hw = mlsysim.Models.Llama3_70B, mlsysim.Hardware.H100
    # the call: the per-operation default (Equations.ServingOperations); checked against hand_ops_tpot
    r = solver.solve(m, hw, seq_len=4096, batch_size=1, precision="fp8")
    c, _ = constants(m, hw, "fp8")
    assert_close(r.tpot.m_as("s"), hand_ops_tpot(1.0, 4096.0, c["memory_bandwidth"], c), "scalar tpot")

    def ours():
        t = time.perf_counter()
        for _ in range(SCALAR_CALLS):
            solver.solve(m, hw, seq_len=4096, batch_size=1, precision="fp8")
        return (time.perf_counter() - t) / SCALAR_CALLS

    theirs = lambda: run_child([exe, "-I", "-c", SCALAR_CHILD_030, str(SCALAR_CALLS)])  # noqa: E731
    a, b, sa, sb = alternate(ours, theirs, rounds)
    return dict(ours_s=a, base_s=b, ratio=b / a, spread=(sa, sb), goal=">= 4x faster", ok=b / a >= 4,
                baseline="0.3.0 ServingModel.solve")


def row_evaluate(rounds):
    m, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    c, knowns = constants(m, hw, "fp16", compute_efficiency=FLAT_ETA)
    S = mlsysim.Equations.Serving
    knowns = {k: v for k, v in knowns.items() if k in S.input_deps("tpot")}
    batch = np.round(np.linspace(1, 256, N))
    knowns["batch_size"] = batch
    lib = lambda: S.evaluate(outputs=["tpot"], **knowns).magnitude("tpot")  # noqa: E731
    hand = lambda: hand_flat_tpot(batch, c["seq_len"], c["memory_bandwidth"], c)  # noqa: E731
    assert_close(lib(), hand(), "evaluate tpot")
    # one point by hand: batch 1, 4096 tokens, memory-bound (Llama-3 8B: 32 layers, 8 KV heads of 128, fp16):
    # tpot = overhead + (active weights + KV cache + activations) / bandwidth
    kv = 2 * 32 * 8 * 128 * 2 * 4096
    one = (c["active_parameters"] * 2 + kv + c["activation_traffic_bytes"]) / c["memory_bandwidth"] + c["overhead"]
    assert abs(lib()[0] / one - 1) < 1e-12
    fold = folded_flat_tpot(c, c["seq_len"], c["memory_bandwidth"])
    assert_close(fold(batch), hand(), "folded tpot")
    a, b, sa, sb = alternate(timed(lib), timed(hand), rounds)
    fa, f, _sa, _sb = alternate(timed(lib), timed(lambda: fold(batch)), rounds)  # its own alternated rounds
    return dict(ours_s=a, base_s=b, ratio=a / b, spread=(sa, sb), goal="<= 1.3x", ok=a / b <= 1.3, folded_s=f,
                folded_ratio=fa / f,
                baseline="hand numpy of Equations.Serving tpot (flat roofline)")


def row_solver(rounds):
    """The solver's default path (per operation) against the per-operation tpot by hand."""
    m, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    c, _ = constants(m, hw, "fp16")
    batch = np.round(np.linspace(1, 256, N))
    solver = ServingSolver()
    lib = lambda: solver.solve(m, hw, seq_len=4096, batch_size=batch, precision="fp16").tpot.magnitude  # noqa: E731
    hand = lambda: hand_ops_tpot(batch, 4096.0, c["memory_bandwidth"], c)  # noqa: E731
    res = solver.solve(m, hw, seq_len=4096, batch_size=batch, precision="fp16")
    assert res.operations is not None  # the per-operation default
    assert_close(res.tpot.m_as("s"), hand(), "solver tpot")
    fold = folded_ops_tpot(c, 4096.0, c["memory_bandwidth"])
    assert_close(fold(batch), hand(), "folded per-operation tpot")
    a, b, sa, sb = alternate(timed(lib), timed(hand), rounds)
    fa, f, _sa, _sb = alternate(timed(lib), timed(lambda: fold(batch)), rounds)  # its own alternated rounds
    return dict(ours_s=a, base_s=b, ratio=a / b, spread=(sa, sb), goal="<= 1.5x", ok=a / b <= 1.5, folded_s=f,
                folded_ratio=fa / f,
                baseline="hand numpy of Equations.ServingOperations tpot (per-operation default)")


def row_solver_flat(rounds):
    """Information: the solver's flat path (compute_efficiency= given) against the flat tpot by hand."""
    m, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    c, _ = constants(m, hw, "fp16", compute_efficiency=FLAT_ETA)
    batch = np.round(np.linspace(1, 256, N))
    solver = ServingSolver()
    kw = dict(seq_len=4096, batch_size=batch, precision="fp16", compute_efficiency=FLAT_ETA)
    lib = lambda: solver.solve(m, hw, **kw).tpot.magnitude  # noqa: E731
    hand = lambda: hand_flat_tpot(batch, 4096.0, c["memory_bandwidth"], c)  # noqa: E731
    res = solver.solve(m, hw, **kw)
    assert res.operations is None  # the flat roofline
    assert_close(res.tpot.m_as("s"), hand(), "solver flat tpot")
    a, b, sa, sb = alternate(timed(lib), timed(hand), rounds)
    return dict(ours_s=a, base_s=b, ratio=a / b, spread=(sa, sb), goal="information", ok=True,
                baseline="hand numpy of Equations.Serving tpot (flat roofline)")


def row_sweep(rounds):
    """mlsysim.sweep on the solver's default path against the per-operation tpot by hand, broadcast axes."""
    m, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    c, _ = constants(m, hw, "fp16")
    axis = 100
    batch = np.round(np.linspace(1, 256, axis))
    seq = np.round(np.geomspace(128, 32768, axis))
    bw = np.linspace(2.0, 5.0, axis) * 1e12  # B/s
    kw = dict(model=m, hardware=hw, batch_size=batch, seq_len=seq, memory_bandwidth=Q_(bw, "B/s"),
              precision="fp16", outputs=["tpot"], as_frame=False, progress=False)
    lib = lambda: mlsysim.sweep(ServingSolver, **kw)  # noqa: E731

    def hand():
        return hand_ops_tpot(batch[:, None, None], seq[None, :, None], bw[None, None, :], c).ravel()

    t = lib()
    assert_close(t.magnitude("tpot"), hand(), "sweep tpot")
    a, b, sa, sb = alternate(timed(lib), timed(hand), rounds)
    return dict(ours_s=a, base_s=b, ratio=a / b, spread=(sa, sb), goal="<= 1.5x", ok=a / b <= 1.5,
                baseline="hand numpy of Equations.ServingOperations tpot (per-operation default)")


def row_numexpr(rounds):
    """Information: the fused kernel of five Serving outputs on 1e6 points, numpy vs the numexpr backend."""
    from mlsysim.core import fused

    try:
        import numexpr
    except ImportError:
        return {"skipped": "numexpr not installed (pip install 'mlsysim[fast]')"}
    m, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    _, knowns = constants(m, hw, "fp16", compute_efficiency=FLAT_ETA)
    knowns = {k: v for k, v in knowns.items() if k in mlsysim.Equations.Serving.inputs}
    knowns["batch_size"] = np.round(np.linspace(1, 256, N))
    knowns["seq_len"] = np.round(np.geomspace(128, 32768, N))
    outs = ["tpot", "ttft", "request_latency", "memory_required", "decode_throughput"]
    S = mlsysim.Equations.Serving

    def run(backend):
        fused.set_backend(backend)
        try:
            r = S.evaluate(outputs=outs, **knowns)
            return [r.magnitude(o) for o in outs]
        finally:
            fused.set_backend("numpy")

    for a, b in zip(run("numexpr"), run("numpy")):
        assert_close(a, b, "numexpr vs numpy")
    a, b, sa, sb = alternate(timed(lambda: run("numexpr")), timed(lambda: run("numpy")), rounds)
    return dict(ours_s=a, base_s=b, ratio=a / b, spread=(sa, sb), goal="information", ok=True,
                threads=numexpr.detect_number_of_cores())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default=None)
    ap.add_argument("--rows", default=None, help="comma-separated subset of the rows (default: all)")
    args = ap.parse_args(argv)
    exe = published_python()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at start; "
          f"date {time.strftime('%Y-%m-%d %H:%M')}")
    rows = {}
    rows_to_run = (("import", row_import, True), ("scalar", row_scalar, True), ("evaluate", row_evaluate, False),
                   ("solver", row_solver, False), ("solver_flat", row_solver_flat, False), ("sweep", row_sweep, False),
                   ("numexpr", row_numexpr, False))
    only = set(args.rows.split(",")) if args.rows else None
    for name, fn, needs in rows_to_run:
        if only is not None and name not in only:
            continue
        if needs and exe is None:
            rows[name] = {"skipped": f"no {DEFAULT_PYTHON} (see the module docstring)"}
            print(f"{name}: skipped ({rows[name]['skipped']})")
            continue
        t0 = time.perf_counter()
        rows[name] = fn(args.rounds, exe) if needs else fn(args.rounds)
        r = rows[name]
        if "skipped" in r:
            print(f"{name}: skipped ({r['skipped']})")
            continue
        unit = 1e3 if r["ours_s"] > 1e-3 else 1e6
        u = "ms" if unit == 1e3 else "us"
        (oa, ob), (ba, bb) = r["spread"]
        print(f"{name:<9} mlsysim {r['ours_s'] * unit:9.2f} {u}  baseline {r['base_s'] * unit:9.2f} {u}  "
              f"ratio {r['ratio']:6.2f}x  goal {r['goal']:<13} {'met' if r['ok'] else 'NOT met'}  "
              f"({time.perf_counter() - t0:.0f} s; ranges ours {oa * unit:.2f}-{ob * unit:.2f}, "
              f"baseline {ba * unit:.2f}-{bb * unit:.2f} {u})")
        if "baseline" in r:
            print(f"{'':<9} baseline: {r['baseline']}")
        if "folded_s" in r:
            print(f"{'':<9} folded hand numpy {r['folded_s'] * unit:9.2f} {u}: mlsysim / folded "
                  f"{r['folded_ratio']:.2f}x (information; alternated with mlsysim in its own rounds)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "rows": rows}, f, indent=1, default=str)
    return rows


if __name__ == "__main__":
    main()
