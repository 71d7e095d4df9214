"""Measure, on a real GPU, the two quantities mlsysim predicts most often (needs PyTorch + CUDA).

Not part of the test suite; run on a machine with an NVIDIA GPU:
``python benchmarks/device/gpu_check.py --out measured.json``. Then
``python benchmarks/device/compare.py measured.json`` (on any machine, with mlsysim installed) prints
mlsysim's predictions for the same shapes side by side with the measurements.

1. A large bf16 matrix product (8192^3): achieved FLOP/s -> the compute efficiency of a big GEMM.
2. A device-to-device copy: achieved memory bandwidth.
3. Decode steps of a Llama-3-8B-shaped model with random bf16 weights (32 layers, h=4096, 32 heads,
   8 KV heads, d=128, SwiGLU 14336, vocab 128256): per-token time at batch 1..64 and context 1024..8192,
   captured in a CUDA graph (no launch overhead) and also eagerly (with launch overhead).
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F


def timed(fn, warmup=3, iters=10):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / iters


def gemm(n=8192):
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    t = timed(lambda: a @ b, iters=20)
    return {"n": n, "seconds": t, "flops": 2 * n ** 3, "tflops_per_s": 2 * n ** 3 / t / 1e12}


def copy_bw(nbytes=8 * 2 ** 30):
    x = torch.empty(nbytes // 2, device="cuda", dtype=torch.bfloat16)
    y = torch.empty_like(x)
    t = timed(lambda: y.copy_(x), iters=10)
    return {"bytes_read_plus_written": 2 * nbytes, "seconds": t, "tb_per_s": 2 * nbytes / t / 1e12}


class Llama8BShape:
    L, H, NH, NKV, D, F, V = 32, 4096, 32, 8, 128, 14336, 128256

    def __init__(self, max_batch, max_ctx):
        dt, dev = torch.bfloat16, "cuda"
        s = self
        self.layers = []
        for _ in range(s.L):
            self.layers.append(dict(
                qkv=torch.randn(s.H, (s.NH + 2 * s.NKV) * s.D, device=dev, dtype=dt) * 0.01,
                o=torch.randn(s.NH * s.D, s.H, device=dev, dtype=dt) * 0.01,
                gu=torch.randn(s.H, 2 * s.F, device=dev, dtype=dt) * 0.01,
                down=torch.randn(s.F, s.H, device=dev, dtype=dt) * 0.01,
                k=torch.randn(max_batch, s.NKV, max_ctx, s.D, device=dev, dtype=dt),
                v=torch.randn(max_batch, s.NKV, max_ctx, s.D, device=dev, dtype=dt),
            ))
        self.embed = torch.randn(s.V, s.H, device=dev, dtype=dt) * 0.01
        self.head = torch.randn(s.H, s.V, device=dev, dtype=dt) * 0.01
        self.weight_bytes = sum(t.numel() * 2 for ly in self.layers for n, t in ly.items() if n not in ("k", "v")) \
            + self.embed.numel() * 2 + self.head.numel() * 2

    def step(self, tokens, batch, ctx):
        s = self
        x = self.embed[tokens]                                  # [B, H]
        for ly in self.layers:
            qkv = x @ ly["qkv"]
            q = qkv[:, : s.NH * s.D].view(batch, s.NH, 1, s.D)
            k = ly["k"][:batch, :, :ctx]
            v = ly["v"][:batch, :, :ctx]
            a = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)   # reads the KV cache of ctx tokens
            x = x + a.reshape(batch, s.NH * s.D) @ ly["o"]
            g, u = (x @ ly["gu"]).chunk(2, dim=-1)
            x = x + (F.silu(g) * u) @ ly["down"]
        return x @ self.head


def decode(batches=(1, 8, 32), contexts=(1024, 4096, 8192)):
    model = Llama8BShape(max(batches), max(contexts))
    rows = []
    for b in batches:
        for c in contexts:
            tokens = torch.randint(0, model.V, (b,), device="cuda")
            fn = lambda: model.step(tokens, b, c)  # noqa: E731
            eager = timed(fn, warmup=2, iters=5)
            g = torch.cuda.CUDAGraph()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                fn()
            torch.cuda.current_stream().wait_stream(s)
            with torch.cuda.graph(g):
                fn()
            graph = timed(g.replay, warmup=3, iters=20)
            rows.append({"batch": b, "context": c, "eager_s": eager, "graph_s": graph})
            print(f"decode batch {b:3d} ctx {c:5d}: graph {graph*1e3:7.3f} ms, eager {eager*1e3:7.3f} ms", flush=True)
            del g
    return {"weight_bytes": model.weight_bytes, "rows": rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="measured.json")
    args = ap.parse_args()
    t0 = time.time()
    info = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    info["gemm"] = gemm()
    print("gemm", info["gemm"], flush=True)
    info["copy"] = copy_bw()
    print("copy", info["copy"], flush=True)
    info["decode"] = decode()
    info["wall_s"] = time.time() - t0
    with open(args.out, "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps({k: v for k, v in info.items() if k != "decode"}, indent=1))


if __name__ == "__main__":
    main()
