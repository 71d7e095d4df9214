"""Serving benchmark: a 1e6-point ``ServingSolver`` sweep vs the same formulas written by hand in numpy.

Run: ``python benchmarks/bench_serving.py`` (prints a table; not a pass/fail test).

The grid is Llama-3-8B on one H100 at fp16: 100 batch sizes (1..256) x 100 context lengths
(128..32768) x 100 memory bandwidths (2..5 TB/s), flattened to 1e6 points and given to one
``ServingSolver().solve`` call as numpy arrays. The baseline is a hand-written numpy version of the
relations of ``Equations.Serving`` (``mlsysim/core/equation_sets/serving.py`` and ``transformer.py``),
computing the same outputs in base units (byte, FLOP, s). Before timing, the benchmark checks that both
agree to a relative 1e-9 on every output.

1. ``ServingSolver().solve`` on 1e6 points (every derived output touched, plus ``fits``) vs hand numpy
   (target <= 2x), best of N in this process.
2. ``mlsysim.sweep(ServingSolver, ...)`` over the same 100 x 100 x 100 grid (the Cartesian product is
   built by the sweep), for reference.
"""
from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _util import best_of, machine  # noqa: E402

import mlsysim  # noqa: E402
from mlsysim import Q_  # noqa: E402
from mlsysim.solvers import ServingSolver  # noqa: E402

#: points per axis; the grid has AXIS**3 = 1e6 points
AXIS = 100
N = AXIS ** 3
REPEAT = 5
RTOL = 1e-9


def axes():
    """The three 1-D axes: batch size [1], context [tokens], memory bandwidth [TB/s]."""
    batch = np.round(np.linspace(1, 256, AXIS))
    seq = np.round(np.geomspace(128, 32768, AXIS))
    bw = np.linspace(2.0, 5.0, AXIS)
    return batch, seq, bw


def grid():
    """The 1e6-point grid, flattened (C order: bandwidth varies fastest)."""
    b, s, w = np.meshgrid(*axes(), indexing="ij")
    return b.ravel(), s.ravel(), w.ravel()


def hand_serving(batch, seq, bw_Bps, c):
    """The relations of ``Equations.Serving`` written out by hand in numpy (base units: byte, FLOP, s).

    ``c`` holds the scalar constants: architecture, precision, device and the solver's default
    assumptions. Prompt tokens default to the context and output tokens to 1, as in ``ServingSolver``.
    """
    L, h, nh, nkv, dh, V = c["L"], c["h"], c["nh"], c["nkv"], c["dh"], c["V"]
    be, P, Nact, Nemb = c["be"], c["P"], c["Nact"], c["Nemb"]
    n, eta, peak, ovh, a = c["n"], c["eta"], c["peak"], c["ovh"], c["a"]
    lbw, alpha, n_ar, n_out = c["lbw"], c["alpha"], c["n_ar"], c["n_out"]
    B, s, prompt = batch, seq, seq
    mac = 2.0  # FLOP per multiply-accumulate
    o = {}
    o["weight_bytes"] = P * be
    o["kv_bytes_per_token"] = 2 * L * nkv * dh * be
    o["kv_cache_bytes"] = o["kv_bytes_per_token"] * s * B
    base_fpt = Nact - Nemb + V * h  # per-token MACs that do not depend on the context
    o["flops_per_token"] = mac * (base_fpt + L * s * nh * dh)
    # decode: one token for each of B sequences at context s
    o["decode_flops"] = B * o["flops_per_token"] / n
    o["decode_bytes"] = (o["weight_bytes"] + o["kv_cache_bytes"] + B * a) / n
    o["decode_message_bytes"] = B * h * be
    o["decode_allreduce_time"] = 2 * (n - 1) / n * o["decode_message_bytes"] / lbw + 2 * (n - 1) * alpha
    o["decode_overhead"] = ovh + n_ar * L * o["decode_allreduce_time"]
    o["decode_compute_time"] = o["decode_flops"] / (eta * peak)
    o["decode_memory_time"] = o["decode_bytes"] / bw_Bps
    o["tpot"] = o["decode_overhead"] + np.maximum(o["decode_compute_time"], o["decode_memory_time"])
    o["decode_throughput"] = B / o["tpot"]
    # prefill of the prompt: attention over the causal mean context (P + 1) / 2
    o["prefill_context"] = (prompt + 1) / 2
    o["prefill_flops_per_token"] = mac * (base_fpt + L * o["prefill_context"] * nh * dh)
    o["prefill_flops"] = B * prompt * o["prefill_flops_per_token"] / n
    o["prefill_bytes"] = (o["weight_bytes"] + B * prompt * (o["kv_bytes_per_token"] + a)) / n
    o["prefill_message_bytes"] = B * prompt * h * be
    o["prefill_allreduce_time"] = 2 * (n - 1) / n * o["prefill_message_bytes"] / lbw + 2 * (n - 1) * alpha
    o["prefill_overhead"] = ovh + n_ar * L * o["prefill_allreduce_time"]
    o["prefill_compute_time"] = o["prefill_flops"] / (eta * peak)
    o["prefill_memory_time"] = o["prefill_bytes"] / bw_Bps
    o["ttft"] = o["prefill_overhead"] + np.maximum(o["prefill_compute_time"], o["prefill_memory_time"])
    o["memory_required"] = (o["weight_bytes"] + o["kv_cache_bytes"]) / n
    o["request_latency"] = o["ttft"] + n_out * o["tpot"]
    o["fits"] = o["memory_required"] <= c["capacity"]
    return o


def constants(model, hw, precision="fp16"):
    """Scalar inputs of the hand version, read from the registries (architecture, datasheet) and
    from the solver's documented defaults (``mlsysim.core.defaults``), in base units."""
    arch = model.architecture()
    from mlsysim.core import defaults as D
    from mlsysim.core.precision import bytes_per_element

    return dict(
        L=arch["num_layers"], h=arch["hidden_size"], nh=arch["num_heads"], nkv=arch["num_kv_heads"],
        dh=arch["head_dim"], V=arch["vocab_size"], be=bytes_per_element(precision).m_as("byte"),
        P=model.parameters, Nact=model.active_parameters, Nemb=model.embedding_parameters,
        n=1.0,  # ServingSolver default: one device
        eta=D.COMPUTE_EFFICIENCY.value, peak=hw.peak_flops(precision).m_as("FLOP/s"),
        ovh=D.OVERHEAD.value.m_as("s"), a=D.ACTIVATION_TRAFFIC.value.m_as("byte"),
        # the registry's interconnect bandwidth counts both directions; a ring uses one
        lbw=hw.get("interconnect_bandwidth").m_as("B/s") / 2, alpha=D.TP_LINK_LATENCY.value.m_as("s"),
        n_ar=float(D.TP_ALLREDUCES_PER_LAYER.value), n_out=1.0,
        capacity=hw.get("memory_capacity").m_as("byte"))


def check_agreement(res, hand):
    """Every output of the solver equals the hand version to RTOL (raises AssertionError if not)."""
    ev = res.evaluation
    checked = 0
    for name, ref in hand.items():
        if name == "fits":
            got = np.asarray(res.fits)
            assert np.array_equal(got, ref), "fits differs"
        else:
            got = np.broadcast_to(ev.magnitude(name), np.shape(ref) if np.ndim(ref) else ())
            assert np.allclose(got, ref, rtol=RTOL, atol=0), \
                f"{name}: max rel. diff {np.max(np.abs(got / ref - 1)):.3g}"
        checked += 1
    return checked


def serving_sweep(repeat=REPEAT):
    model, hw = mlsysim.Models.Llama3_8B, mlsysim.Hardware.H100
    batch, seq, bw = grid()
    bw_q = Q_(bw, "TB/s")
    bw_Bps = bw_q.m_as("B/s")
    c = constants(model, hw)
    solver = ServingSolver()
    eq = solver.equations

    def lib():
        r = solver.solve(model, hw, batch_size=batch, seq_len=seq, memory_bandwidth=bw_q, precision="fp16")
        ev = r.evaluation.compute()  # every output in one fused call (array results are lazy per field)
        for k in eq.derived:  # touch every output as a user would (wrapping happens once per output)
            ev[k]
        r.fits
        return r

    def hand():
        return hand_serving(batch, seq, bw_Bps, c)

    res = lib()  # warm: lambdify once
    ref = hand()
    missing = set(eq.derived) - set(ref)
    assert not missing, f"hand version lacks {sorted(missing)}"
    n_checked = check_agreement(res, ref)
    # one point by hand, written out: batch 1, context 128, 2 TB/s: memory-bound decode, tpot = (W + KV) / bw
    W = c["P"] * 2
    kv = 2 * 32 * 8 * 128 * 2 * 128 * 1
    assert abs(res.evaluation.magnitude("tpot")[0] / ((W + kv) / 2e12) - 1) < 1e-12
    t_lib = best_of(lib, repeat=repeat)
    t_hand = best_of(hand, repeat=repeat)
    return t_lib, t_hand, n_checked


def sweep_api(repeat=3):
    """``mlsysim.sweep`` over the same 100 x 100 x 100 grid (it builds the product itself)."""
    batch, seq, bw = axes()
    kw = dict(model=mlsysim.Models.Llama3_8B, hardware=mlsysim.Hardware.H100, batch_size=batch, seq_len=seq,
              memory_bandwidth=Q_(bw, "TB/s"), precision="fp16")

    def run():
        return mlsysim.sweep(ServingSolver, as_frame=False, progress=False, **kw)

    table = run()
    rows = len(table)
    return best_of(run, repeat=repeat), rows


def main():
    print(f"machine: {machine()}")
    t_lib, t_hand, n_checked = serving_sweep()
    print(f"serving solve, {N:.0e} points (Llama-3-8B / H100, batch x context x bandwidth): mlsysim "
          f"{t_lib*1e3:.1f} ms, hand numpy {t_hand*1e3:.1f} ms, ratio {t_lib/t_hand:.2f}x (target <= 2x); "
          f"{n_checked} outputs agree to {RTOL:g}")
    out = {"serving_ratio": t_lib / t_hand, "serving_ms": t_lib * 1e3, "serving_hand_ms": t_hand * 1e3,
           "serving_points_per_s": N / t_lib}
    try:
        t_sweep, rows = sweep_api()
        print(f"mlsysim.sweep(ServingSolver, 100 x 100 x 100): {t_sweep*1e3:.1f} ms for {rows:,} rows, "
              f"{t_sweep/t_hand:.2f}x hand numpy")
        out.update(sweep_ms=t_sweep * 1e3, sweep_ratio=t_sweep / t_hand)
    except mlsysim.MlsysimError as e:  # pragma: no cover - reported, not fatal
        print(f"mlsysim.sweep: not timed ({type(e).__name__}: {e})")
    return out


if __name__ == "__main__":
    main()
