"""Run every benchmark and print one summary table with the machine description.

Run: ``python benchmarks/run_all.py`` (about two minutes on 2 cores; not a pass/fail test). Each
benchmark prints its own lines first; the summary follows. Figures are ratios against baselines run
side by side in the same process (or, for imports and mlsysim 0.3.0, in fresh interpreters).
"""
from __future__ import annotations

import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _util import machine  # noqa: E402

import bench_distributed  # noqa: E402
import bench_engine  # noqa: E402
import bench_serving  # noqa: E402
import bench_vs_published  # noqa: E402


def distributed():
    """The layout searches of ``bench_distributed``'s script entry point, as a dict."""
    import mlsysim

    out = {}
    cold, warm, table = bench_distributed.bench("Llama3_405B", "Llama3_Cluster", global_batch=2048, seq_len=8192)
    out.update(layouts_405b_cold_s=cold, layouts_405b_warm_s=warm, layouts_405b=table.evaluated)
    _, warm_gpt3, t3 = bench_distributed.bench("GPT3", mlsysim.Systems.A100_Megatron, global_batch=1536)
    out.update(layouts_gpt3_warm_s=warm_gpt3, layouts_gpt3=t3.evaluated)
    _, warm_70b, t70 = bench_distributed.bench("Llama3_70B", mlsysim.Systems.H100_1024, global_batch=1024,
                                               seq_len=8192)
    out.update(layouts_70b_warm_s=warm_70b, layouts_70b=t70.evaluated)
    return out


def _row(name, value, target):
    return f"| {name:<58} | {value:>22} | {target:<14} |"


def summary(r: dict) -> list[str]:
    rows = [_row("figure", "measured", "target"), "|" + "-" * 60 + "|" + "-" * 24 + "|" + "-" * 16 + "|"]
    e, s, d, p = r["engine"], r["serving"], r["distributed"], r["published"]
    rows.append(_row("Roofline evaluate, 1e6 points / hand numpy", f"{e['roofline_ratio']:.2f}x", "<= 1.5x"))
    rows.append(_row("Roofline solve (warm, scalar)", f"{e['warm_solve_us']:.1f} us", "< 100 us"))
    rows.append(_row("cold import mlsysim", f"{e['import_s']:.3f} s", "< 0.8 s"))
    rows.append(_row("ServingSolver.solve, 1e6 points / hand numpy", f"{s['serving_ratio']:.2f}x", "<= 2x"))
    rows.append(_row("  ServingSolver.solve, 1e6 points", f"{s['serving_ms']:.1f} ms", "-"))
    if "sweep_ms" in s:
        rows.append(_row("mlsysim.sweep(ServingSolver), 1e6 points / hand numpy", f"{s['sweep_ratio']:.2f}x", "-"))
    rows.append(_row(f"layout search Llama-3-405B, {d['layouts_405b']:,} layouts, first call",
                     f"{d['layouts_405b_cold_s']:.3f} s", "< 2 s"))
    rows.append(_row("  same, warm", f"{d['layouts_405b_warm_s']*1e3:.1f} ms", "-"))
    rows.append(_row(f"layout search GPT-3 / A100_Megatron, {d['layouts_gpt3']:,} layouts, warm",
                     f"{d['layouts_gpt3_warm_s']*1e3:.1f} ms", "-"))
    rows.append(_row(f"layout search Llama-3-70B / H100_1024, {d['layouts_70b']:,} layouts, warm",
                     f"{d['layouts_70b_warm_s']*1e3:.1f} ms", "-"))
    if "published_points_per_s" in p:
        v = p["published_version"]
        rows.append(_row(f"mlsysim {v} ServingModel.solve per point", f"{p['published_points_per_s']:,.0f} pts/s",
                         "baseline"))
        rows.append(_row("this ServingSolver.solve per point / 0.3.0", f"{p['per_point_speedup']:.2f}x", "-"))
        rows.append(_row("this ServingSolver.solve vectorised / 0.3.0 per point",
                         f"{p['vectorised_speedup']:,.0f}x", "-"))
    else:
        rows.append(_row("vs mlsysim 0.3.0", str(p.get("published", "skipped")), "-"))
    return rows


def main():
    t0 = time.perf_counter()
    results = {}
    for name, fn in (("engine", bench_engine.main), ("serving", bench_serving.main), ("distributed", distributed),
                     ("published", bench_vs_published.main)):
        print(f"\n## {name}")
        t = time.perf_counter()
        results[name] = fn()
        print(f"({name}: {time.perf_counter() - t:.1f} s)")
    print(f"\n## summary\nmachine: {machine()}\n")
    print("\n".join(summary(results)))
    print(f"\n(all benchmarks: {time.perf_counter() - t0:.1f} s)")
    return results


if __name__ == "__main__":
    main()
