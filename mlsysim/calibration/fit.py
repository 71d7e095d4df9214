"""Fit mlsysim's efficiency laws to measured kernel and collective timings.

``python -m mlsysim.calibration.fit`` (from the repository root) reads ONLY measurement files:

* ``data/measurements/vidur/`` -- Vidur's operator and NCCL profiles on A100 and H100 (microsoft/vidur, commit
  7d47513363ec447a741ac5e47241580b47724fbf, MIT License; see ``data/measurements/README.md``);
* ``benchmarks/device/results/h200_2026-11-27.json`` -- the project's own H200 GEMM and copy (its decode rows
  are NOT read: they are what the calibrated model is checked against, ``mlsysim.calibration.check``);
* ``data/measurements/mlperf_tiny/kws_reference_v0.5.json`` -- one MLPerf Tiny latency (TFLM efficiency);

plus the registries' datasheet values that turn times into efficiencies (peak FLOP/s, memory bandwidth) and
the model registry's FLOPs for the MLPerf Tiny model, and writes ``mlsysim/calibration/fitted.json`` (package
data), which ``mlsysim.calibration.laws_for`` reads.
Validation cases (the published results file in ``tests/data/``) are never opened here; a test enforces it.

Every law has Hockney's form ``t = t0 + n / r_inf`` (start-up time plus size over asymptotic rate), so each fit is
a weighted linear least-squares fit of the measured kernel time ``t`` on the operation's size ``n``, weighted by
``1/t`` (it minimises the relative error). In the units of ``Equations.GemmEfficiency`` /
``Equations.MemoryEfficiency`` the asymptote is ``eta_max = r_inf / peak`` and the half-performance size is
``n_half = t0 * r_inf``. The fit quality reported is the median absolute relative error of the law's time
against the measured time, computed by evaluating the equation set itself.

Rows
----
* GEMM law: the QKV, output-projection, up- and down-projection GEMMs (``m`` tokens by the TP-sharded
  ``k x n`` weight: ``F = 2 m k n``, bytes ``2 (m k + k n + m n)`` in fp16) that the datasheet roofline calls
  compute-bound (``F / bytes >= peak / bandwidth``). The law is then checked on ALL GEMM rows as the roofline
  of the two laws, ``max(T_gemm(F), T_mem(bytes))``.
* Memory law (weight streaming): the same GEMMs at <= 8 tokens, bytes = weights plus activations.
* Elementwise laws, per kernel kind, bytes from the kernel's reads and writes (fp16); the asymptote is the
  median efficiency of the transfers of at least 128 MiB (past the L2 cache, whose re-use makes the
  20-100 MB points of these profiles exceed the HBM rate), the start-up time is fitted to the median time in
  each octave of size (the profiles' timer resolution is 1 us, so single small kernels are quantised):
  norm (RMSNorm / LayerNorm, read and write ``T h``), rope (in place on q and k), act (SiLU-and-mul reads
  ``2 f/tp`` and writes ``f/tp``; GELU reads and writes ``f/tp``), add (residual add reads two and writes one
  ``T h`` tensor; phi-2's parallel block times two adds).
* Collectives: ``t = alpha + M / B_coll`` per (fabric, collective, workers, devices per node), fitted to the
  median time in each octave of message size (2 KiB to 64 MiB or 512 MiB), so that small and large messages
  weigh the same.
* TFLM reference kernels on a Cortex-M4 (``mlsysim.hardware.tiny.TFLM_REFERENCE_EFFICIENCY``): the Iron Law
  solved for the efficiency at the one MLPerf Tiny v0.5 KWS latency in ``data/measurements/mlperf_tiny/``.
* TFLM with Espressif's ESP-NN kernels on the ESP32-S3 (``mlsysim.hardware.tiny.ESPNN_EFFICIENCY``): the same,
  at the person-detection latency of ``data/measurements/espressif/`` (MobileNetV1-0.25, 96 x 96 x 1; MACs
  counted layer by layer by ``mobilenet_v1_macs``).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
from pathlib import Path

import numpy as np

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent.parent
VIDUR = REPO / "data" / "measurements" / "vidur"
H200_JSON = REPO / "benchmarks" / "device" / "results" / "h200_2026-11-27.json"
TINY_JSON = REPO / "data" / "measurements" / "mlperf_tiny" / "kws_reference_v0.5.json"
ESPNN_JSON = REPO / "data" / "measurements" / "espressif" / "esp_tflite_micro_person_detection.json"
OUT = PACKAGE / "fitted.json"

VIDUR_COMMIT = "7d47513363ec447a741ac5e47241580b47724fbf"
VIDUR_NOTICE = ("Derived from Vidur profiling data (microsoft/vidur, data/profiling/, commit " + VIDUR_COMMIT +
                "). MIT License, Copyright (c) Microsoft Corporation. Permission is hereby granted, free of charge, "
                "to any person obtaining a copy of this software and associated documentation files, to deal in the "
                "Software without restriction, subject to the condition that the copyright notice and this "
                "permission notice be included in all copies or substantial portions of the Software; THE SOFTWARE "
                "IS PROVIDED 'AS IS', WITHOUT WARRANTY OF ANY KIND. Full text: data/measurements/vidur/LICENSE.")

#: measured device -> (Vidur folder, mlsysim Hardware key)
VIDUR_DEVICES = {"A100": "a100", "H100": "h100"}
GEMM_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")
ELEMENTWISE_KINDS = ("norm", "rope", "act", "add")
DECODE_TOKENS = 8
#: elementwise asymptotes from transfers of at least 128 MiB, 2.5x the largest L2 of the measured GPUs (H100: 50 MB)
BEYOND_CACHE = 2.0 ** 27
FP16 = 2


# ---------------------------------------------------------------- reading
def read_csv(path: Path) -> list[dict]:
    with gzip.open(path, "rt", newline="") as f:
        return list(csv.DictReader(f))


def compute_rows(device_dir: str) -> list[tuple[dict, str]]:
    """``(row, model)`` for every Vidur compute profile of one device."""
    out = []
    for path in sorted((VIDUR / "compute" / device_dir).glob("*/*/mlp.csv.gz")):
        model = f"{path.parent.parent.name}/{path.parent.name}"
        out.extend((r, model) for r in read_csv(path))
    return out


def _shape(r: dict):
    tp = int(r["num_tensor_parallel_workers"])
    h, f = int(r["n_embd"]), int(r["n_expanded_embd"])
    nh, nkv = int(r["n_head"]), int(r["n_kv_head"])
    gated = r["use_gated_mlp"] == "True"
    return int(r["num_tokens"]), tp, h, f, nh, nkv, h // nh, gated


def gemm_table(rows) -> dict:
    """Arrays over every GEMM measurement: tokens, flops, bytes, time [s], op."""
    T, F, B, t, op = [], [], [], [], []
    for r, _ in rows:
        m, tp, h, f, nh, nkv, hd, gated = _shape(r)
        kn = {"attn_pre_proj": (h, (nh + 2 * nkv) * hd // tp), "attn_post_proj": (nh * hd // tp, h),
              "mlp_up_proj": (h, (2 if gated else 1) * f // tp), "mlp_down_proj": (f // tp, h)}
        for name, (k, n) in kn.items():
            T.append(m)
            F.append(2.0 * m * k * n)
            B.append(float(FP16 * (m * k + k * n + m * n)))
            t.append(float(r[f"time_stats.{name}.median"]) * 1e-3)
            op.append(name)
    return {"tokens": np.array(T, float), "flops": np.array(F), "bytes": np.array(B), "time": np.array(t),
            "op": np.array(op)}


def elementwise_table(rows) -> dict:
    """``{kind: (bytes, time [s], tokens)}`` for the normalisation, RoPE, activation and add kernels."""
    acc = {k: ([], [], []) for k in ELEMENTWISE_KINDS}
    for r, model in rows:
        m, tp, h, f, nh, nkv, hd, gated = _shape(r)
        adds = 1 if "time_stats.post_attention_layernorm.median" in r else 2   # parallel block: two adds
        kernels = [("norm", "input_layernorm", 2 * m * h), ("norm", "post_attention_layernorm", 2 * m * h),
                   ("rope", "attn_rope", 2 * m * (nh + nkv) * hd // tp),
                   ("act", "mlp_act", m * (3 if gated else 2) * f // tp), ("add", "add", adds * 3 * m * h)]
        for kind, col, elements in kernels:
            key = f"time_stats.{col}.median"
            if key not in r:
                continue
            b, t, T = acc[kind]
            b.append(float(FP16 * elements))
            t.append(float(r[key]) * 1e-3)
            T.append(m)
    return {k: tuple(np.array(x, float) for x in v) for k, v in acc.items()}


def collective_tables() -> dict:
    """``{(fabric, collective, workers, devices_per_node): (bytes, time [s])}``."""
    out = {}
    for path in sorted((VIDUR / "network").glob("*/*.csv.gz")):
        fabric = path.parent.name
        coll = path.name.split(".")[0]
        for r in read_csv(path):
            key = (fabric, coll, int(r["num_workers"]), int(r["devices_per_node"]))
            b, t = out.setdefault(key, ([], []))
            b.append(float(r["size"]))
            t.append(float(r[f"time_stats.{coll}.median"]) * 1e-3)
    return {k: (np.array(b), np.array(t)) for k, (b, t) in out.items()}


# ---------------------------------------------------------------- fitting
def fit_affine(x: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """``(t0, slope)`` of ``t = t0 + slope * x`` minimising the relative error, with ``t0 >= 0``."""
    w = 1.0 / t
    a = np.stack([np.ones_like(x), x], axis=1) * w[:, None]
    t0, slope = np.linalg.lstsq(a, np.ones_like(t), rcond=None)[0]
    if t0 < 0:   # a negative start-up time is unphysical: refit through the origin
        t0, slope = 0.0, float(np.sum(x / t) / np.sum((x / t) ** 2))
    return float(t0), float(slope)


def _mare(pred, t) -> float:
    return float(np.median(np.abs(pred / t - 1.0)))


def _gemm_law(flops, eta_max, f_half, peak):
    from mlsysim import Q_, Equations
    r = Equations.GemmEfficiency.evaluate(gemm_flops=Q_(flops, "FLOP"), gemm_efficiency_max=eta_max,
                                          gemm_half_flops=Q_(f_half, "FLOP"), peak_flops=Q_(peak, "FLOP/s"))
    return r.gemm_time.m_as("s")


def _memory_law(nbytes, eta_max, b_half, bandwidth):
    from mlsysim import Q_, Equations
    r = Equations.MemoryEfficiency.evaluate(kernel_bytes=Q_(nbytes, "B"), memory_efficiency_max=eta_max,
                                            memory_half_bytes=Q_(b_half, "B"),
                                            memory_bandwidth=Q_(bandwidth, "B/s"))
    return r.kernel_memory_time.m_as("s")


def _collective_law(nbytes, alpha, bandwidth):
    from mlsysim import Q_, Equations
    r = Equations.CollectiveAlphaBeta.evaluate(message_bytes=Q_(nbytes, "B"), collective_latency=Q_(alpha, "s"),
                                               collective_bandwidth=Q_(bandwidth, "B/s"))
    return r.collective_time.m_as("s")


def _start_up_time(x, t, slope) -> float:
    """The ``t0 >= 0`` of ``t = t0 + slope x`` with the slope held, minimising the relative error."""
    return max(0.0, float(np.sum((t - slope * x) / t ** 2) / np.sum(1.0 / t ** 2)))


def saturating_fit(x, t, peak, law, beyond_cache: float | None = None) -> dict:
    """Fit ``t = t0 + x / (eta_max peak)``; report eta_max, the half size and the fit quality via ``law``.

    With ``beyond_cache`` (bytes), the asymptote is the median efficiency of the transfers larger than that
    (well past the last-level cache, whose re-use inflates the mid-sized points of a profiler that re-runs the
    same kernel on the same buffers), and the start-up time is then fitted with it held, to the median time in
    each octave of size."""
    asymptote_rows = None
    if beyond_cache is not None and np.sum(x >= beyond_cache) >= 10:
        big = x >= beyond_cache
        asymptote_rows = int(big.sum())
        eta_max = min(1.0, float(np.median(x[big] / (t[big] * peak))))
        slope = 1.0 / (eta_max * peak)
        xb, tb = octave_medians(x, t)     # every octave of size weighs the same (decode sizes and training sizes)
        t0 = _start_up_time(xb, tb, slope)
        capped = False
    else:
        t0, slope = fit_affine(x, t)
        eta_max = 1.0 / (slope * peak)
        capped = eta_max > 1.0
        if capped:   # above the datasheet: hold the asymptote at the datasheet and refit the start-up time alone
            eta_max, slope = 1.0, 1.0 / peak
            t0 = _start_up_time(x, t, slope)
    half = t0 / slope
    pred = law(x, eta_max, half, peak)
    xo, to = octave_medians(x, t)
    return {"eta_max": eta_max, "half": half, "t0_s": t0, "n": len(x), "median_abs_rel_err": _mare(pred, t),
            "octave_median_abs_rel_err": _mare(law(xo, eta_max, half, peak), to),
            "size_range": [float(x.min()), float(x.max())], "eta_max_capped_at_datasheet": bool(capped),
            "asymptote_from_rows_beyond_cache": asymptote_rows}


def fit_device(device: str, folder: str) -> dict:
    from mlsysim import Hardware
    hw = Hardware[device]
    peak = hw.peak_flops("fp16").m_as("FLOP/s")
    bw = hw.memory_bandwidth.m_as("B/s")
    rows = compute_rows(folder)
    g = gemm_table(rows)
    dec = g["tokens"] <= DECODE_TOKENS
    mem = saturating_fit(g["bytes"][dec], g["time"][dec], bw, _memory_law)
    compute_bound = g["flops"] / g["bytes"] >= peak / bw
    gemm = saturating_fit(g["flops"][compute_bound], g["time"][compute_bound], peak, _gemm_law)
    both = np.maximum(_gemm_law(g["flops"], gemm["eta_max"], gemm["half"], peak),
                      _memory_law(g["bytes"], mem["eta_max"], mem["half"], bw))
    gemm["rows"] = "Vidur GEMMs the datasheet roofline calls compute-bound (F/bytes >= peak/bandwidth)"
    gemm["all_rows_roofline"] = {"n": len(both), "median_abs_rel_err": _mare(both, g["time"]),
                                 "p90_abs_rel_err": float(np.quantile(np.abs(both / g["time"] - 1), 0.9))}
    mem["rows"] = f"Vidur GEMMs at <= {DECODE_TOKENS} tokens (weight streaming)"
    elem = {}
    for kind, (b, t, _) in elementwise_table(rows).items():
        elem[kind] = saturating_fit(b, t, bw, _memory_law, beyond_cache=BEYOND_CACHE)
    b_all = np.concatenate([v[0] for v in elementwise_table(rows).values()])
    t_all = np.concatenate([v[1] for v in elementwise_table(rows).values()])
    elem["all"] = saturating_fit(b_all, t_all, bw, _memory_law, beyond_cache=BEYOND_CACHE)
    return {"hardware": device, "peak_flops": peak, "memory_bandwidth": bw, "precision": "fp16",
            "data": f"vidur/compute/{folder}", "models": sorted({m for _, m in rows}),
            "gemm": gemm, "memory": mem, "elementwise": elem}


def octave_medians(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median size and time in each octave of size (Vidur samples sizes linearly: 90 % of the points lie in
    the top three octaves; the law is used from KB-sized decode messages to GB-sized gradients)."""
    k = np.floor(np.log2(x)).astype(int)
    octs = np.unique(k)
    return (np.array([np.median(x[k == o]) for o in octs]), np.array([np.median(t[k == o]) for o in octs]))


def fit_collectives() -> dict:
    out = {}
    for (fabric, coll, p, per_node), (b, t) in sorted(collective_tables().items()):
        xb, tb = octave_medians(b, t)
        alpha, slope = fit_affine(xb, tb)     # every octave of message size weighs the same
        beta = 1.0 / slope
        pred = _collective_law(b, alpha, beta)
        pred_oct = _collective_law(xb, alpha, beta)
        device = fabric.split("_")[0].upper()
        out.setdefault(device, []).append({
            "fabric": fabric.split("_", 1)[1], "collective": coll, "num_workers": p, "devices_per_node": per_node,
            "alpha_s": alpha, "bandwidth": beta, "n": len(b), "median_abs_rel_err": _mare(pred, t),
            "octaves": len(xb), "octave_median_abs_rel_err": _mare(pred_oct, tb),
            "octave_max_abs_rel_err": float(np.max(np.abs(pred_oct / tb - 1.0))),
            "size_range": [float(b.min()), float(b.max())], "data": f"vidur/network/{fabric}/{coll}.csv.gz"})
    return out


def fit_h200(h100: dict) -> dict:
    """H200: the H100's compute die (GH100) with HBM3e. Measured here: the saturated copy and one big GEMM.

    * memory ``eta_max`` = the measured copy bandwidth / datasheet (an 8 GiB copy is far past saturation); the
      start-up time ``t0`` is the H100's (same SMs, same memory controllers' latency), so the half size scales
      with the bandwidth: ``half = t0 * eta_max * BW``. The same holds for each elementwise kind, whose
      asymptote is scaled by the ratio of the H200 copy to the H100 weight-streaming asymptote.
    * GEMM: ``t0`` (so ``F_half / (eta_max peak)``) from the H100 fit; ``eta_max`` solved so that the law passes
      through the measured 8192^3 GEMM.
    """
    from mlsysim import Hardware
    m = json.loads(H200_JSON.read_text())
    hw = Hardware["H200"]
    peak = hw.peak_flops("bf16").m_as("FLOP/s")
    bw = hw.memory_bandwidth.m_as("B/s")
    copy_eta = m["copy"]["bytes_read_plus_written"] / m["copy"]["seconds"] / bw
    g = m["gemm"]
    gemm_eta_measured = g["flops"] / g["seconds"] / peak
    t0_g = h100["gemm"]["t0_s"]
    # T = t0 + F/(eta_max peak) = F/(eta_meas peak)  =>  1/eta_max = 1/eta_meas - t0 peak / F
    gemm_eta_max = 1.0 / (1.0 / gemm_eta_measured - t0_g * peak / g["flops"])
    gemm = {"eta_max": gemm_eta_max, "half": t0_g * gemm_eta_max * peak, "t0_s": t0_g, "n": 1,
            "median_abs_rel_err": 0.0,
            "rows": f"eta_max through the measured {g['n']}^3 bf16 GEMM ({gemm_eta_measured:.3f} of peak); "
                    "start-up time t0 from the H100 fit"}
    t0_m = h100["memory"]["t0_s"]
    mem = {"eta_max": copy_eta, "half": t0_m * copy_eta * bw, "t0_s": t0_m, "n": 1, "median_abs_rel_err": 0.0,
           "rows": f"eta_max = the measured {m['copy']['bytes_read_plus_written'] / 2**30:.0f} GiB copy "
                   f"({m['copy']['tb_per_s']:.2f} TB/s); start-up time t0 from the H100 weight-streaming fit"}
    scale = copy_eta / h100["memory"]["eta_max"]
    elem = {}
    for kind, e in h100["elementwise"].items():
        eta = min(1.0, e["eta_max"] * scale)
        elem[kind] = {"eta_max": eta, "half": e["t0_s"] * eta * bw, "t0_s": e["t0_s"], "n": 0,
                      "median_abs_rel_err": None,
                      "rows": "H100 fit, asymptote scaled by H200 copy / H100 weight-streaming asymptote"}
    return {"hardware": "H200", "peak_flops": peak, "memory_bandwidth": bw, "precision": "bf16",
            "data": "benchmarks/device/results/h200_2026-11-27.json (gemm, copy) + vidur/compute/h100",
            "measured": {"copy_efficiency": copy_eta, "gemm_efficiency_8192": gemm_eta_measured,
                         "torch": m["torch"]},
            "gemm": gemm, "memory": mem, "elementwise": elem}


def family_default(fits: dict) -> dict:
    """Devices without measurements: the mean of the measured GPUs' asymptotes and start-up times."""
    def mean(path):
        vals = []
        for dev in VIDUR_DEVICES:
            d = fits[dev]
            for p in path:
                d = d[p]
            vals.append(d)
        return float(np.mean(vals))
    out = {"hardware": None, "data": "mean of the A100 and H100 fits",
           "gemm": {"eta_max": mean(("gemm", "eta_max")), "t0_s": mean(("gemm", "t0_s"))},
           "memory": {"eta_max": mean(("memory", "eta_max")), "t0_s": mean(("memory", "t0_s"))},
           "elementwise": {k: {"eta_max": min(1.0, mean(("elementwise", k, "eta_max"))),
                               "t0_s": mean(("elementwise", k, "t0_s"))}
                           for k in (*ELEMENTWISE_KINDS, "all")}}
    return out


def _iron_law_efficiency(latency_ms: float, flops, hardware: str, precision: str) -> float:
    """The Iron Law solved for the compute efficiency at one measured latency, against the registry's peak."""
    from mlsysim import Q_, Equations, Hardware
    eta = Equations.IronLaw.solve("compute_efficiency", compute_time=Q_(latency_ms, "ms"), flops=flops,
                                  peak_flops=Hardware[hardware].peak_flops(precision))
    return float(eta.magnitude)


def fit_tflm() -> dict:
    """TFLM reference-kernel efficiency on the Cortex-M4: the Iron Law solved for the efficiency at ONE measured
    latency (MLPerf Tiny v0.5 KWS); the same submission's VWW latency is held out for validation."""
    from mlsysim import Models
    m = json.loads(TINY_JSON.read_text())
    flops = Models[m["model"]].flops
    eta = _iron_law_efficiency(m["latency_ms"], flops, "CortexM4", m["precision"])
    return {"efficiency": eta, "model": m["model"], "hardware": "CortexM4",
            "latency_ms": m["latency_ms"], "flops": float(flops.m_as("FLOP")),
            "data": "data/measurements/mlperf_tiny/kws_reference_v0.5.json", "source": m["source"]}


#: MobileNetV1's body (Howard et al. 2017, Table 1): (stride of the depthwise 3x3, output channels of the pointwise
#: 1x1) for the 13 depthwise-separable blocks at width 1; the first layer is a 3x3 stride-2 convolution to 32
MOBILENET_V1_BLOCKS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512),
                       (1, 512), (1, 512), (2, 1024), (1, 1024))


def mobilenet_v1_macs(width_multiplier: float, resolution: int, input_channels: int, classes: int) -> int:
    """Multiply-accumulates of one MobileNetV1 inference, layer by layer ('same' padding): the 3x3 stride-2 stem,
    13 depthwise 3x3 + pointwise 1x1 blocks, global average pooling and the classifier."""
    def ch(c):
        return int(c * width_multiplier)
    size = -(-resolution // 2)
    c = ch(32)
    macs = size * size * c * 9 * input_channels
    for stride, out in MOBILENET_V1_BLOCKS:
        size = -(-size // stride)
        macs += size * size * c * 9          # depthwise 3x3
        macs += size * size * c * ch(out)    # pointwise 1x1
        c = ch(out)
    return macs + c * classes


def fit_espnn() -> dict:
    """TFLite Micro with Espressif's ESP-NN kernels on the ESP32-S3: the Iron Law solved for the efficiency at the
    one measured person-detection latency (esp-tflite-micro README) against the registry's int8 peak."""
    from mlsysim import Q_
    m = json.loads(ESPNN_JSON.read_text())
    row = next(r for r in m["rows"] if r["chip"] == "ESP32-S3")
    macs = mobilenet_v1_macs(**m["model"]["architecture"])
    eta = _iron_law_efficiency(row["with_esp_nn_ms"], Q_(2 * macs, "FLOP"), row["hardware"], m["precision"])
    return {"efficiency": eta, "model": m["model"]["name"], "macs": macs,
            "hardware": row["hardware"], "latency_ms": row["with_esp_nn_ms"],
            "data": "data/measurements/espressif/esp_tflite_micro_person_detection.json", "source": m["source"]}


def run() -> dict:
    fits = {dev: fit_device(dev, folder) for dev, folder in VIDUR_DEVICES.items()}
    fits["H200"] = fit_h200(fits["H100"])
    colls = fit_collectives()
    for dev, lst in colls.items():
        fits[dev]["collectives"] = lst
    # H200 HGX boards use the H100's NVLink 4 / NVSwitch generation: same collective fits
    fits["H200"]["collectives"] = [dict(c, data=c["data"] + " (H100 NVLink 4 fit)") for c in colls["H100"]
                                   if c["fabric"] == "dgx"]
    return {
        "meta": {
            "script": "mlsysim/calibration/fit.py (python -m mlsysim.calibration.fit)",
            "dataset": "Vidur operator and collective profiles (Agrawal et al., MLSys 2024), microsoft/vidur "
                       f"commit {VIDUR_COMMIT}, data/profiling/ (medians; subset in data/measurements/vidur/); "
                       "mlsysim H200 device check benchmarks/device/results/h200_2026-11-27.json (gemm, copy)",
            "vidur_commit": VIDUR_COMMIT,
            "license": VIDUR_NOTICE,
            "units": "times in s, sizes in FLOP or bytes, bandwidths in bytes/s; 'half' is F_1/2 [FLOP] for gemm "
                     "and D_1/2 [bytes] for memory and elementwise laws",
        },
        "families": {**fits, "default": family_default(fits)},
        "tflm_reference": fit_tflm(),
        "espnn_s3": fit_espnn(),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    result = run()
    Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")
    for name, f in result["families"].items():
        if name == "default":
            continue
        g, m = f["gemm"], f["memory"]
        print(f"{name}: gemm eta_max {g['eta_max']:.3f} F_half {g['half'] / 1e9:.2f} GFLOP (mare "
              f"{g['median_abs_rel_err']:.3f}); memory eta_max {m['eta_max']:.3f} D_half {m['half'] / 1e6:.2f} MB "
              f"(mare {m['median_abs_rel_err']:.3f})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
