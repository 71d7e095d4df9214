"""Check the calibrated laws against the project's H200 decode measurements (nothing is fitted to those rows).

``python -m mlsysim.calibration.check`` prints, for the 9 decode rows of
``benchmarks/device/results/h200_2026-11-27.json`` (CUDA-graph times), the per-operation prediction of the
calibrated laws next to the measured time, and the flat model's prediction (``ServingSolver`` with the
single ``compute_efficiency`` given explicitly, i.e. the textbook's roofline at the datasheet bandwidth) for
comparison.

The operation list is the one the benchmark runs (``benchmarks/device/gpu_check.py``, ``Llama8BShape.step``):
an embedding gather, then per layer a QKV GEMM, one attention kernel reading the KV cache of ``context``
tokens, the output-projection GEMM and a residual add, the gate/up GEMM, SiLU, the gating multiply, the down
GEMM and a residual add; then the LM head. The benchmark has no normalisation or RoPE kernels, so neither does
this list (a real Llama decode step has two RMSNorms and a RoPE per layer in addition).

Each operation's time comes from ``CalibratedLaws`` (that is, from ``Equations.GemmEfficiency`` and
``Equations.MemoryEfficiency``): a GEMM takes the larger of its GEMM-law and weight-streaming-law times; the
attention kernel streams the KV cache (weight-streaming law); the elementwise kernels use their kind's law.
``decode_breakdown`` is reusable by a solver for any transformer (pass ``norms=True`` for a real model).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.units import Q_
from . import CalibratedLaws, laws_for

H200_JSON = Path(__file__).resolve().parent.parent.parent / "benchmarks" / "device" / "results" / "h200_2026-11-27.json"
DEVICES = {"NVIDIA H200": "H200", "NVIDIA H100 80GB HBM3": "H100"}


def decode_operations(model, batch: int, context: int, bytes_per_element: float = 2.0, tp: int = 1,
                      norms: bool = False) -> list[dict]:
    """The kernels of one decode step of ``model`` at ``batch`` sequences and ``context`` tokens, per device.

    Each entry: ``name``, ``law`` ("gemm" | "stream" | elementwise kind), ``count`` (kernels per step),
    ``flops`` [FLOP] and ``bytes`` [byte] of ONE kernel."""
    h, L, nh, nkv, d = model.hidden_size, model.num_layers, model.num_heads, model.num_kv_heads, model.head_dim
    f, V, e = model.ffn_hidden_size, model.vocab_size, bytes_per_element
    gate = 2 if model.gated_ffn else 1
    B = batch

    def gemm(name, k, n, count=L):
        return {"name": name, "law": "gemm", "count": count, "flops": 2.0 * B * k * n,
                "bytes": e * (B * k + k * n + B * n)}

    ops = [{"name": "embedding", "law": "all", "count": 1, "flops": 0.0, "bytes": e * 2 * B * h}]
    if norms:
        ops.append({"name": "norm", "law": "norm", "count": 2 * L + 1, "flops": 0.0, "bytes": e * 2 * B * h})
        ops.append({"name": "rope", "law": "rope", "count": L, "flops": 0.0,
                    "bytes": e * 2 * B * (nh + nkv) * d / tp})
    ops += [
        gemm("qkv", h, (nh + 2 * nkv) * d / tp),
        {"name": "attention", "law": "stream", "count": L, "flops": 4.0 * B * nh / tp * context * d,
         "bytes": e * (2 * B * nkv / tp * context * d + 2 * B * nh / tp * d)},
        gemm("out_proj", nh * d / tp, h),
        {"name": "residual_add", "law": "add", "count": 2 * L, "flops": 0.0, "bytes": e * 3 * B * h},
        gemm("gate_up", h, gate * f / tp),
    ]
    if model.gated_ffn:
        ops += [{"name": "silu", "law": "act", "count": L, "flops": 0.0, "bytes": e * 2 * B * f / tp},
                {"name": "gate_mul", "law": "add", "count": L, "flops": 0.0, "bytes": e * 3 * B * f / tp}]
    else:
        ops.append({"name": "activation", "law": "act", "count": L, "flops": 0.0, "bytes": e * 2 * B * f / tp})
    ops += [gemm("down", f / tp, h), gemm("lm_head", h, V / tp, count=1)]
    return ops


def decode_breakdown(laws: CalibratedLaws, model, batch: int, context: int, **kw) -> dict:
    """``{operation: time [s] per step}`` on the calibrated laws; the parts add up to the step time."""
    out = {}
    for op in decode_operations(model, batch, context, **kw):
        nbytes = Q_(op["bytes"], "B")
        if op["law"] == "gemm":
            t = laws.gemm_time(Q_(op["flops"], "FLOP"), nbytes)
        elif op["law"] == "stream":
            t = laws.memory_time(nbytes)
        else:
            t = laws.elementwise_time(nbytes, op["law"])
        out[op["name"]] = out.get(op["name"], 0.0) + op["count"] * float(t.m_as("s"))
    return out


def decode_check(path: str | Path = H200_JSON) -> dict:
    """Predicted (calibrated laws; flat ServingSolver) vs measured CUDA-graph decode times of a device check."""
    from ..core.defaults import COMPUTE_EFFICIENCY
    from ..models import Models
    from ..solvers import ServingSolver

    m = json.loads(Path(path).read_text())
    device = DEVICES.get(m["device"], "H200")
    laws = laws_for(device, "bf16")
    model = Models.Llama3_8B
    flat = ServingSolver()
    rows = []
    for r in m["decode"]["rows"]:
        parts = decode_breakdown(laws, model, r["batch"], r["context"])
        pred = sum(parts.values())
        old = flat.solve(model, device, seq_len=r["context"], batch_size=r["batch"], precision="bf16",
                         compute_efficiency=COMPUTE_EFFICIENCY.value).tpot.m_as("s")
        rows.append({"batch": r["batch"], "context": r["context"], "measured_s": r["graph_s"], "predicted_s": pred,
                     "ratio": pred / r["graph_s"], "flat_predicted_s": old, "flat_ratio": old / r["graph_s"],
                     "breakdown": parts})
    ratios = [x["ratio"] for x in rows]
    flat_ratios = [x["flat_ratio"] for x in rows]
    return {"device": device, "laws": laws, "rows": rows, "ratio_range": (min(ratios), max(ratios)),
            "flat_ratio_range": (min(flat_ratios), max(flat_ratios))}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    res = decode_check(argv[0] if argv else H200_JSON)
    print(f"{res['device']}: {res['laws'].basis}")
    print(f"{'batch':>5} {'context':>7} {'measured':>9} {'calibrated':>10} {'ratio':>6} {'flat':>9} {'ratio':>6}")
    for r in res["rows"]:
        print(f"{r['batch']:>5} {r['context']:>7} {r['measured_s'] * 1e3:>7.3f}ms {r['predicted_s'] * 1e3:>8.3f}ms "
              f"{r['ratio']:>6.3f} {r['flat_predicted_s'] * 1e3:>7.3f}ms {r['flat_ratio']:>6.3f}")
    lo, hi = res["ratio_range"]
    flo, fhi = res["flat_ratio_range"]
    print(f"predicted/measured: calibrated {lo:.3f}-{hi:.3f}; flat {flo:.3f}-{fhi:.3f}")


if __name__ == "__main__":
    main()
