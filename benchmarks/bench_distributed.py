"""Benchmark: vectorised layout search of the DistributedSolver (prints figures).

Run: ``python benchmarks/bench_distributed.py``. Target: every layout of Llama-3-405B on 16,384 GPUs
in under 2 s.
"""
from __future__ import annotations

import time

import mlsysim
from mlsysim.solvers.distributed import DistributedSolver


def bench(model, fleet, global_batch, seq_len=None, repeat=5):
    solver = DistributedSolver()
    t0 = time.perf_counter()
    table = solver.search(model=model, fleet=fleet, global_batch=global_batch, seq_len=seq_len)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        table = solver.search(model=model, fleet=fleet, global_batch=global_batch, seq_len=seq_len)
        warm.append(time.perf_counter() - t0)
    w = min(warm)
    print(f"{getattr(model, 'name', model)} on {getattr(fleet, 'name', fleet)}: {table.evaluated} layouts evaluated, {len(table)} fit; "
          f"first call {cold:.3f} s (incl. building kernels), warm {w * 1e3:.1f} ms "
          f"= {table.evaluated / w:,.0f} layouts/s")
    if len(table):
        b = table[0]
        print(f"  best: tp={b['tp']} cp={b.get('cp', 1)} pp={b['pp']} dp={b['dp']} ep={b.get('ep', 1)} mbs={b['micro_batch_size']} zero={b['zero_stage']} "
              f"recompute={b['recompute']} sp={b['sequence_parallel']} v={b['pipeline_interleave']}: "
              f"step {b['step_time']:.3f} s, MFU {b['mfu']:.3f}, {b['memory_per_device']:.1f} GB")
    return cold, w, table


if __name__ == "__main__":
    cold, warm, _ = bench("Llama3_405B", "Llama3_Cluster", global_batch=2048, seq_len=8192)
    print(f"Llama-3-405B / 16,384 GPUs: {'PASS' if cold < 2.0 else 'FAIL'} (< 2 s target, cold {cold:.3f} s)")
    bench("GPT3", mlsysim.Systems.A100_Megatron, global_batch=1536)
    bench("Llama3_70B", mlsysim.Systems.H100_1024, global_batch=1024, seq_len=8192)
