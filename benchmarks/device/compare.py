"""Compare mlsysim's predictions with measurements taken by ``gpu_check.py`` on a real GPU.

``python benchmarks/device/compare.py benchmarks/device/results/h200_2026-11-27.json``
prints predicted vs measured for a bf16 GEMM, a device copy and Llama-3-8B-shaped decode steps.
The predictions use the registry's datasheet values and mlsysim's default assumptions; nothing is
fitted to the measurement.
"""
from __future__ import annotations

import json
import sys

from mlsysim import Equations, Hardware, Models, Q_
from mlsysim.solvers import ServingSolver

DEVICES = {"NVIDIA H200": "H200", "NVIDIA H100 80GB HBM3": "H100"}


def main(path):
    m = json.load(open(path))
    hw = Hardware[DEVICES.get(m["device"], "H200")]
    print(f"device: {m['device']} (mlsysim entry {hw.key}); torch {m['torch']}")
    g = m["gemm"]
    pred = Equations.Roofline.evaluate(
        flops=Q_(g["flops"], "FLOP"), bytes_moved=Q_(3 * g["n"] ** 2 * 2, "B"), peak_flops=hw.peak_flops("bf16"),
        memory_bandwidth=hw.memory_bandwidth, compute_efficiency=0.7, overhead=Q_(0, "s"))
    print(f"bf16 GEMM {g['n']}^3: predicted {pred.latency.m_as('ms'):.3f} ms at the default compute_efficiency 0.7; "
          f"measured {g['seconds']*1e3:.3f} ms = {g['tflops_per_s']:.0f} TFLOP/s = "
          f"{g['tflops_per_s']*1e12/hw.peak_flops('bf16').m_as('FLOP/s'):.3f} of the dense datasheet peak")
    c = m["copy"]
    print(f"device copy: measured {c['tb_per_s']:.2f} TB/s = "
          f"{c['tb_per_s']*1e12/hw.memory_bandwidth.m_as('B/s'):.3f} of the datasheet {hw.memory_bandwidth:~C}")
    print(f"decode, Llama-3-8B shape, bf16 (weights measured {m['decode']['weight_bytes']/1e9:.2f} GB, "
          f"mlsysim {Models.Llama3_8B.weight_bytes('bf16').m_as('GB'):.2f} GB):")
    print(f"{'batch':>5} {'context':>7} {'predicted':>10} {'graph':>9} {'pred/graph':>10} {'eager':>9}")
    s = ServingSolver()
    for row in m["decode"]["rows"]:
        r = s.solve(Models.Llama3_8B, hw, seq_len=row["context"], batch_size=row["batch"], precision="bf16")
        p = r.tpot.m_as("ms")
        print(f"{row['batch']:>5} {row['context']:>7} {p:>9.3f}ms {row['graph_s']*1e3:>8.3f}ms "
              f"{p / (row['graph_s']*1e3):>10.3f} {row['eager_s']*1e3:>8.3f}ms")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/device/results/h200_2026-11-27.json")
