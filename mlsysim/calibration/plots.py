"""Figures of each fitted law against its measurements (``python -m mlsysim.calibration.plots``, needs matplotlib).

Writes ``docs/img/fit_gemm.png``, ``fit_memory.png``, ``fit_elementwise.png``, ``fit_collectives.png`` and
``h200_decode.png``. The measured points are read by the same functions as the fit (``fit.py``); the curves are
the laws evaluated through ``mlsysim.calibration.laws_for`` (the equation sets).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..core.units import Q_
from . import fit, fitted_table, laws_for
from .check import decode_check

OUT = fit.REPO / "docs" / "img"
COLORS = {"A100": "tab:blue", "H100": "tab:orange", "H200": "tab:green"}


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _subsample(n, k=4000, seed=0):
    idx = np.arange(n)
    if n <= k:
        return idx
    return np.random.default_rng(seed).choice(idx, size=k, replace=False)


def plot_gemm(out: Path):
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, (dev, folder) in zip(axes, fit.VIDUR_DEVICES.items()):
        laws = laws_for(dev, "fp16")
        peak = laws.peak_flops.m_as("FLOP/s")
        g = fit.gemm_table(fit.compute_rows(folder))
        eta = g["flops"] / (g["time"] * peak)
        cb = g["flops"] / g["bytes"] >= peak / laws.memory_bandwidth.m_as("B/s")
        i = _subsample(len(eta))
        ax.scatter(g["flops"][i][~cb[i]], eta[i][~cb[i]], s=3, alpha=0.25, color="0.6",
                   label="memory-bound GEMMs (not fitted)")
        ax.scatter(g["flops"][i][cb[i]], eta[i][cb[i]], s=3, alpha=0.3, color=COLORS[dev],
                   label="compute-bound GEMMs (fitted)")
        F = np.logspace(7, 13.5, 200)
        t = laws.gemm_time(Q_(F, "FLOP")).m_as("s")
        ax.plot(F, F / (t * peak), color="k", lw=2,
                label=rf"$\eta_{{\max}}$={laws.gemm_eta_max.value:.3f}, "
                      rf"$F_{{1/2}}$={laws.gemm_f_half.value.m_as('GFLOP'):.2f} GFLOP")
        f = fitted_table()["families"][dev]["gemm"]
        ax.set_title(f"{dev} (Vidur, fp16): median |err| {f['median_abs_rel_err']:.1%} on fitted rows, "
                     f"{f['all_rows_roofline']['median_abs_rel_err']:.1%} on all", fontsize=9)
        ax.set_xscale("log")
        ax.set_xlabel("GEMM FLOPs F")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    # the project's one H200 GEMM
    h = laws_for("H200")
    m = fit.json.loads(fit.H200_JSON.read_text())["gemm"]
    axes[1].scatter([m["flops"]], [m["tflops_per_s"] * 1e12 / h.peak_flops.m_as("FLOP/s")], marker="*", s=150,
                    color=COLORS["H200"], edgecolor="k", zorder=5, label="H200 8192^3 bf16 (project, 2026)")
    axes[1].legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("achieved / dense datasheet peak")
    axes[0].set_ylim(0, 1)
    fig.suptitle(r"GEMM efficiency law $\eta(F) = \eta_{\max} F / (F + F_{1/2})$", fontsize=11)
    fig.tight_layout()
    fig.savefig(out / "fit_gemm.png", dpi=110)
    plt.close(fig)


def plot_memory(out: Path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.4))
    B = np.logspace(5.5, 10.5, 200)
    for dev, folder in fit.VIDUR_DEVICES.items():
        laws = laws_for(dev, "fp16")
        bw = laws.memory_bandwidth.m_as("B/s")
        g = fit.gemm_table(fit.compute_rows(folder))
        d = g["tokens"] <= fit.DECODE_TOKENS
        ax.scatter(g["bytes"][d], g["bytes"][d] / (g["time"][d] * bw), s=5, alpha=0.35, color=COLORS[dev],
                   label=f"{dev} GEMMs at <= {fit.DECODE_TOKENS} tokens (Vidur)")
        t = laws.memory_time(Q_(B, "B")).m_as("s")
        ax.plot(B, B / (t * bw), color=COLORS[dev], lw=2,
                label=rf"{dev} law: $\eta_{{\max}}$={laws.mem_eta_max.value:.3f}, "
                      rf"$D_{{1/2}}$={laws.mem_b_half.value.m_as('MB'):.1f} MB")
    h = laws_for("H200")
    bw = h.memory_bandwidth.m_as("B/s")
    c = fit.json.loads(fit.H200_JSON.read_text())["copy"]
    ax.scatter([c["bytes_read_plus_written"]], [c["tb_per_s"] * 1e12 / bw], marker="*", s=150,
               color=COLORS["H200"], edgecolor="k", zorder=5, label="H200 8 GiB copy (project, 2026)")
    t = h.memory_time(Q_(B, "B")).m_as("s")
    ax.plot(B, B / (t * bw), color=COLORS["H200"], lw=2, ls="--",
            label=rf"H200 law: $\eta_{{\max}}$ from the copy, $t_0$ from H100 "
                  rf"($D_{{1/2}}$={h.mem_b_half.value.m_as('MB'):.1f} MB)")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("bytes moved by the kernel D")
    ax.set_ylabel("achieved / datasheet bandwidth")
    ax.set_title(r"Weight-streaming law $\eta_{mem}(D) = \eta_{\max} D / (D + D_{1/2})$", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "fit_memory.png", dpi=110)
    plt.close(fig)


def plot_elementwise(out: Path):
    plt = _plt()
    kinds = fit.ELEMENTWISE_KINDS
    fig, axes = plt.subplots(1, len(kinds), figsize=(14, 3.8), sharey=True)
    B = np.logspace(3.5, 9.5, 200)
    for dev, folder in fit.VIDUR_DEVICES.items():
        laws = laws_for(dev, "fp16")
        bw = laws.memory_bandwidth.m_as("B/s")
        tab = fit.elementwise_table(fit.compute_rows(folder))
        for ax, kind in zip(axes, kinds):
            b, t, _ = tab[kind]
            i = _subsample(len(b), 2500)
            ax.scatter(b[i], b[i] / (t[i] * bw), s=3, alpha=0.25, color=COLORS[dev])
            tl = laws.elementwise_time(Q_(B, "B"), kind).m_as("s")
            f = fitted_table()["families"][dev]["elementwise"][kind]
            ax.plot(B, B / (tl * bw), color=COLORS[dev], lw=2,
                    label=rf"{dev}: $\eta_{{\max}}$={f['eta_max']:.2f}, $t_0$={f['t0_s'] * 1e6:.1f} us, "
                          f"|err| {f['median_abs_rel_err']:.0%}")
    for ax, kind in zip(axes, kinds):
        ax.set_xscale("log")
        ax.set_title(kind, fontsize=10)
        ax.set_xlabel("bytes D")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="upper left")
    axes[0].set_ylabel("achieved / datasheet bandwidth")
    axes[0].set_ylim(0, 1.1)
    fig.suptitle("Elementwise and normalisation kernels (Vidur A100 blue, H100 orange): the same saturating law "
                 "per kind", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "fit_elementwise.png", dpi=110)
    plt.close(fig)


def plot_collectives(out: Path):
    plt = _plt()
    tabs = fit.collective_tables()
    panels = [("h100_dgx", "all_reduce"), ("a100_dgx", "all_reduce"), ("h100_dgx", "send_recv"),
              ("a100_dgx", "send_recv")]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for ax, (fabric, coll) in zip(axes, panels):
        dev = fabric.split("_")[0].upper()
        laws = laws_for(dev)
        keys = sorted(k for k in tabs if k[0] == fabric and k[1] == coll)
        for j, key in enumerate(keys):
            b, t = tabs[key]
            color = f"C{j}"
            xb, tb = fit.octave_medians(b, t)
            ax.scatter(b, t * 1e6, s=2, alpha=0.2, color=color)
            ax.scatter(xb, tb * 1e6, s=18, color=color, edgecolor="k", lw=0.4)
            c = laws.collective(coll, key[2], key[3], fabric.split("_", 1)[1])
            M = np.logspace(np.log10(b.min()), np.log10(b.max()), 100)
            tl = laws.collective_time(coll, Q_(M, "B"), key[2], key[3], fabric.split("_", 1)[1]).m_as("us")
            ax.plot(M, tl, color=color, lw=1.5,
                    label=f"{key[2]} GPUs, {key[3]}/node: a={c.alpha.value.m_as('us'):.0f} us, "
                          f"B={c.bandwidth.value.m_as('GB/s'):.0f} GB/s")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("message bytes M")
        ax.set_title(f"{dev} {fabric.split('_', 1)[1]} {coll}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="upper left")
    axes[0].set_ylabel("time [us]")
    fig.suptitle(r"NCCL collectives (Vidur): $T = \alpha + M / B_{coll}$ fitted to octave medians (large dots)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "fit_collectives.png", dpi=110)
    plt.close(fig)


def plot_decode(out: Path):
    plt = _plt()
    res = decode_check()
    rows = res["rows"]
    fig, ax = plt.subplots(figsize=(6, 5))
    meas = np.array([r["measured_s"] for r in rows]) * 1e3
    ax.scatter(meas, [r["predicted_s"] * 1e3 for r in rows], color="tab:green", zorder=3,
               label=f"calibrated per-operation laws ({res['ratio_range'][0]:.2f}-{res['ratio_range'][1]:.2f})")
    ax.scatter(meas, [r["flat_predicted_s"] * 1e3 for r in rows], color="tab:red", marker="x", zorder=3,
               label=f"flat roofline, datasheet bandwidth ({res['flat_ratio_range'][0]:.2f}-"
                     f"{res['flat_ratio_range'][1]:.2f})")
    lim = [3, 14]
    ax.plot(lim, lim, color="k", lw=1)
    ax.fill_between(lim, [0.88 * v for v in lim], [1.12 * v for v in lim], color="0.85", label="0.88-1.12")
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel("measured decode step on H200, CUDA graph [ms]")
    ax.set_ylabel("predicted [ms]")
    ax.set_title("Llama-3-8B-shaped decode, bf16, batch 1-32, context 1K-8K\n(nothing fitted to these 9 rows)",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "h200_decode.png", dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else OUT
    out.mkdir(parents=True, exist_ok=True)
    for f in (plot_gemm, plot_memory, plot_elementwise, plot_collectives, plot_decode):
        f(out)
        print("wrote", f.__name__)


if __name__ == "__main__":
    main()
