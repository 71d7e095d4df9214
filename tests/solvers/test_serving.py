"""SingleNodeSolver and ServingSolver: hand calculations written out in each test.

Datasheet values used by hand: H100 SXM 3.35 TB/s, 80 GiB, 989.4 TFLOP/s bf16/fp16 dense, 1978.9 fp8 dense;
H200 4.8 TB/s, 141 GiB (NVIDIA datasheets, in tests/data/published_cases.json; NVIDIA's "GB" of HBM is binary).
"""
import numpy as np
import pytest

from mlsysim import Hardware, Models, Q_
from mlsysim.core.errors import DomainError, InfeasibleError, MlsysimError, UnknownNameError
from mlsysim.solvers import ServingSolver, SingleNodeSolver

# ---- Llama-3-70B parameter count by hand (config: L=80, h=8192, 64 heads, 8 KV heads, d=128, ffn 28672,
# vocab 128256, untied output, RMSNorm, no biases):
L, H, NH, NKV, D, F, V = 80, 8192, 64, 8, 128, 28672, 128256
ATTN = H * NH * D * 2 + H * NKV * D * 2          # q, o and k, v projections
MLP = 3 * H * F                                  # SwiGLU: gate, up, down
PER_LAYER = ATTN + MLP + 2 * H                   # + two RMSNorm weight vectors
N70 = L * PER_LAYER + 2 * V * H + H              # + embedding + output head + final norm
KV_PER_TOKEN_FP8 = 2 * L * NKV * D * 1           # keys and values, 1 byte each
H200_BW = 4.8e12


def test_llama3_70b_parameters_by_hand():
    assert N70 == 70_553_706_496
    assert Models.Llama3_70B.parameters == pytest.approx(N70, rel=1e-12)


def test_decode_llama3_70b_fp8_on_h200():
    # compute_efficiency given: the flat single-efficiency roofline (the per-operation laws are the default)
    r = ServingSolver().solve(Models.Llama3_70B, Hardware.H200, seq_len=8192, batch_size=1, precision="fp8",
                              compute_efficiency=0.7)
    # decode reads every weight (1 byte each in fp8) and the KV cache of 8192 tokens once per step
    bytes_step = N70 * 1 + KV_PER_TOKEN_FP8 * 8192
    assert r.tpot.m_as("s") == pytest.approx(bytes_step / H200_BW, rel=1e-9)   # ~14.98 ms
    assert 14.5e-3 < r.tpot.m_as("s") < 15.5e-3
    assert r.bottleneck == "memory"
    assert r.kv_cache_bytes.m_as("B") == KV_PER_TOKEN_FP8 * 8192
    assert r.fits and r.memory_required.m_as("GB") == pytest.approx(bytes_step / 1e9)
    # throughput: one token per sequence per step
    assert r.tokens_per_second.m_as("1/s") == pytest.approx(1 / (bytes_step / H200_BW), rel=1e-9)


def test_fp16_llama3_70b_fits_one_h200_until_the_kv_cache_grows():
    # The H200's "141GB" is 141 GiB = 141 x 2^30 = 151.4 GB (nvidia-smi: 143,771 MiB), not 141e9 B.
    cap = 141 * 2**30
    weights = N70 * 2                         # 141.1 GB
    kv = 2 * L * NKV * D * 2 * 8192           # 2.68 GB per sequence of 8192 tokens
    r = ServingSolver().solve(Models.Llama3_70B, Hardware.H200, seq_len=8192, batch_size=1, precision="fp16")
    assert r.memory_required.m_as("B") == pytest.approx(weights + kv)
    assert weights + kv < cap and r.fits      # 143.8 GB < 151.4 GB
    r = ServingSolver().solve(Models.Llama3_70B, Hardware.H200, seq_len=8192, batch_size=4, precision="fp16")
    assert weights + 4 * kv > cap             # 141.1 + 10.7 = 151.85 GB > 151.4 GB
    assert not r.fits
    assert "does NOT fit" in r.memory_message()


def test_prefill_is_compute_bound_and_uses_causal_context():
    r = ServingSolver().solve(Models.Llama3_70B, Hardware.H200, seq_len=8192, prompt_tokens=2048, output_tokens=128,
                              batch_size=1, precision="fp8", compute_efficiency=0.5)
    # forward FLOPs per token: 2 x (non-embedding params + V h) + the attention matmuls QK^T and AV, 2 x 2 L s n_h d,
    # over the full s = 2048 score matrix (default: the kernel computes it whole, as Megatron-LM counts)
    non_emb = N70 - 2 * V * H
    per_token = 2 * (non_emb + V * H) + 4 * L * 2048 * NH * D
    flops = 2048 * per_token
    assert r.ttft.m_as("s") == pytest.approx(flops / (0.5 * 1979e12), rel=1e-9)
    assert r.prefill_bottleneck == "compute"
    # request latency = ttft + 128 x tpot (tpot at the final context 8192: an upper bound)
    assert r.request_latency.m_as("s") == pytest.approx(r.ttft.m_as("s") + 128 * r.tpot.m_as("s"), rel=1e-12)


def test_kv_growth_linear_in_context_and_batch():
    s = ServingSolver()
    a = s.solve(Models.Llama3_8B, Hardware.H100, seq_len=1024, batch_size=2, precision="fp16")
    b = s.solve(Models.Llama3_8B, Hardware.H100, seq_len=2048, batch_size=2, precision="fp16")
    c = s.solve(Models.Llama3_8B, Hardware.H100, seq_len=1024, batch_size=4, precision="fp16")
    # Llama-3-8B: 32 layers, 8 KV heads of 128: 2 x 32 x 8 x 128 x 2 B = 131,072 B per token
    assert a.kv_cache_bytes.m_as("B") == 131072 * 1024 * 2
    assert b.kv_cache_bytes.m_as("B") == 2 * a.kv_cache_bytes.m_as("B")
    assert c.kv_cache_bytes.m_as("B") == 2 * a.kv_cache_bytes.m_as("B")
    growth = a.kv_growth(np.array([1, 10, 100]))
    np.testing.assert_allclose(growth.m_as("B"), 131072 * 2 * np.array([1, 10, 100]))


def test_resnet50_batch_regimes_on_h100():
    n = SingleNodeSolver()
    r1 = n.solve(Models.ResNet50, Hardware.H100, batch_size=1, precision="fp16")
    r256 = n.solve(Models.ResNet50, Hardware.H100, batch_size=256, precision="fp16")
    # ResNet-50: 25,557,032 parameters and 4.09e9 MACs (torchvision). fp16 weights 51.1 MB.
    # batch 1: intensity = 2 x 4.09e9 / (2 x 25,557,032) = 160 FLOP/B < ridge 989.4e12 / 3.35e12 = 295
    assert r1.arithmetic_intensity.m_as("FLOP/B") == pytest.approx(4.09e9 / 25_557_032, rel=1e-9)
    assert r1.bottleneck == "memory"
    assert r1.latency.m_as("s") == pytest.approx(2 * 25_557_032 / 3.35e12, rel=1e-9)
    # batch 256: intensity x256 >> ridge: compute-bound, time = 256 x 8.18e9 / (0.7 x 989.4e12)
    assert r256.bottleneck == "compute"
    assert r256.latency.m_as("s") == pytest.approx(256 * 2 * 4.09e9 / (0.7 * 989.4e12), rel=1e-9)
    assert r256.throughput.m_as("1/s") == pytest.approx(256 / r256.latency.m_as("s"))
    # energy = TDP (700 W, the default assumption) x latency
    assert r256.energy.m_as("J") == pytest.approx(700 * r256.latency.m_as("s"))


def test_tiny_model_on_esp32():
    r = SingleNodeSolver().solve(Models.MobileNetV1_VWW, Hardware.ESP32, batch_size=1, precision="int8",
                                 compute_efficiency=0.056)
    # 7.5e6 MACs = 1.5e7 OP at 0.056 x 15.36 GOP/s = 17.4 ms; weights 210,850 B at 1.92 GB/s = 0.11 ms
    assert r.latency.m_as("ms") == pytest.approx(1.5e7 / (0.056 * 15.36e9) * 1e3, rel=1e-9)
    assert r.bottleneck == "compute"
    # fits in 512 KiB SRAM: 210,850 B weights + 36,864 B largest activation
    assert r.fits
    assert r.memory_required.m_as("B") == 210_850 + 36_864


def test_single_node_decode_by_hand():
    # SingleNodeSolver calls ServingSolver for a decoder, so it is checked against a hand calculation, not against it:
    # weights 8,030,261,248 x 2 B + KV 131,072 B/token x 2048 x 4 = 17,134,264,320 B at 3.35 TB/s = 5.1147 ms
    a = SingleNodeSolver().solve(Models.Llama3_8B, Hardware.H100, batch_size=4, precision="bf16", seq_len=2048,
                                 compute_efficiency=0.7)
    step_bytes = 8_030_261_248 * 2 + 131072 * 2048 * 4
    assert step_bytes == 17_134_264_320
    assert a.latency.m_as("s") == pytest.approx(step_bytes / 3.35e12, rel=1e-12)
    assert a.bottleneck == "memory"


def test_issue_inverse_examples():
    # the flat roofline (compute_efficiency given), whose inverse is the hand calculation below
    s = ServingSolver()
    flat = dict(compute_efficiency=0.7)
    fp8 = s.solve_for("memory_bandwidth", model=Models.Llama3_70B, hardware=Hardware.H100, seq_len=8192,
                      batch_size=1, precision="fp8", tpot=Q_(20, "ms"), **flat)
    bytes_fp8 = N70 + KV_PER_TOKEN_FP8 * 8192            # 71.9 GB per step
    assert fp8.m_as("B/s") == pytest.approx(bytes_fp8 / 0.020, rel=1e-9)   # ~3.6 TB/s
    assert fp8.fits and not fp8.warnings
    fp16 = s.solve_for("memory_bandwidth", model=Models.Llama3_70B, hardware=Hardware.H100, seq_len=8192,
                       batch_size=1, precision="fp16", tpot=Q_(20, "ms"), **flat)
    assert fp16.m_as("TB/s") == pytest.approx(2 * bytes_fp8 / 0.020 / 1e12, rel=1e-9)   # ~7.2 TB/s
    assert not fp16.fits
    # 80 GiB = 80 x 2^30 B = 85.9 GB
    assert any("143.8 GB does NOT fit" in w and "85.9 GB" in w for w in fp16.warnings)

    # largest batch for Llama-3-8B at 4096 tokens, fp16, tpot 30 ms on H100:
    # weights 8,030,261,248 x 2 B; KV 131,072 B/token x 4096 = 536,870,912 B per sequence
    w8 = Models.Llama3_8B.parameters * 2
    kv_seq = 131072 * 4096
    b_time = (0.030 * 3.35e12 - w8) / kv_seq          # 157.3: what the time target alone allows
    b_mem = (80 * 2**30 - w8) / kv_seq                 # 130.1: what fits in 80 GiB (85.9 GB)
    bs = s.solve_for("batch_size", model=Models.Llama3_8B, hardware=Hardware.H100, seq_len=4096,
                     precision="fp16", tpot=Q_(30, "ms"), **flat)
    assert bs.magnitude == int(b_mem) == 130
    assert bs.binding == "memory" and int(bs.time_limited_value.magnitude) == int(b_time) == 157

    # longest context for Llama-3-70B, batch 8, fp8, on H200: (141 GiB - N70) / (8 x 163,840 B)
    sl = s.solve_for("seq_len", model=Models.Llama3_70B, hardware=Hardware.H200, batch_size=8, precision="fp8",
                     memory_required=Hardware.H200.memory_capacity)
    assert sl.magnitude == int((141 * 2**30 - N70) / (8 * KV_PER_TOKEN_FP8))


def test_infeasible_tpot_names_compute_floor():
    # batch 512 of Llama-3-70B fp8 on an H100: decode FLOPs ~ 512 x 1.5e11 = 7.7e13 at 0.7 x 1979e12
    # -> a compute floor of ~55 ms; no bandwidth gives 20 ms
    with pytest.raises(InfeasibleError) as e:
        ServingSolver().solve_for("memory_bandwidth", model=Models.Llama3_70B, hardware=Hardware.H100, seq_len=1024,
                                  batch_size=512, precision="fp8", tpot=Q_(20, "ms"))
    assert "compute" in str(e.value) and e.value.binding


def test_inverse_round_trip_through_the_solver():
    s = ServingSolver()
    kw = dict(model=Models.Llama3_8B, hardware=Hardware.H100, seq_len=4096, batch_size=16, precision="bf16")
    fwd = s.solve(**kw)                                  # the per-operation default
    inv = s.solve_for("memory_bandwidth", tpot=fwd.tpot, **kw)
    assert inv.m_as("B/s") == pytest.approx(3.35e12, rel=1e-9)
    flat = s.solve(**kw, compute_efficiency=0.7)         # the flat roofline
    inv_c = s.solve_for("compute_efficiency", ttft=flat.ttft, **kw)
    assert float(inv_c.magnitude) == pytest.approx(0.7, rel=1e-9)


def test_tensor_parallel_split():
    s = ServingSolver()
    flat = dict(compute_efficiency=0.7)   # the flat roofline with the fabric's ring all-reduce
    one = s.solve(Models.Llama3_70B, Hardware.H100, seq_len=8192, batch_size=1, precision="fp16", num_devices=1, **flat)
    eight = s.solve(Models.Llama3_70B, Hardware.H100, seq_len=8192, batch_size=1, precision="fp16", num_devices=8,
                    **flat)
    assert eight.memory_required.m_as("B") == pytest.approx(one.memory_required.m_as("B") / 8)
    assert eight.fits and not one.fits
    # decode: 2 all-reduces per layer of 1 x 8192 x 2 B over NVLink (900 GB/s total -> 450 GB/s per direction):
    # ring: 2 x 7/8 x 16384 B / 450e9 + 2 x 7 x 1 us
    ar = 2 * 7 / 8 * 16384 / 450e9 + 2 * 7 * 1e-6
    assert eight.decode_allreduce_time.m_as("s") == pytest.approx(ar, rel=1e-9)
    mem_time = one.decode_bytes.m_as("B") / 8 / 3.35e12
    assert eight.tpot.m_as("s") == pytest.approx(mem_time + 2 * 80 * ar, rel=1e-9)
    with pytest.raises(DomainError, match="heads"):
        s.solve(Models.Llama3_70B, Hardware.H100, seq_len=8192, num_devices=3)
    with pytest.raises(DomainError, match="node"):
        s.solve(Models.Llama3_70B, Hardware.H100, seq_len=8192, num_devices=16)


def test_arrays_in_arrays_out():
    batch = np.arange(1, 65)
    r = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=2048, batch_size=batch, precision="bf16")
    t = r.tpot.m_as("s")
    assert t.shape == (64,)
    assert np.all(np.diff(t) > 0)                   # more KV per step: never faster
    fits = r.fits
    assert fits.shape == (64,) and fits.all()


@pytest.mark.parametrize("kwargs,err,match", [
    (dict(batch_size=0), DomainError, "batch_size"),
    (dict(batch_size=-3), DomainError, "batch_size"),
    (dict(batch_size=1.5), DomainError, "batch_size"),
    (dict(precision="fp9"), UnknownNameError, "precision"),
    (dict(seq_len=0), DomainError, "seq_len"),
    (dict(compute_efficiency=1.2), DomainError, "compute_efficiency"),
    (dict(overhead=Q_(-1, "ms")), DomainError, "overhead"),
    (dict(overhead=5), MlsysimError, "overhead"),
    (dict(bacth_size=4), MlsysimError, "batch_size"),
])
def test_bad_inputs(kwargs, err, match):
    kw = dict(seq_len=1024)
    kw.update(kwargs)
    with pytest.raises(err, match=match):
        ServingSolver().solve(Models.Llama3_8B, Hardware.H100, **kw)


def test_precision_the_device_lacks():
    with pytest.raises(UnknownNameError, match="supports"):
        SingleNodeSolver().solve(Models.MobileNetV1_VWW, Hardware.ESP32, precision="fp16")


def test_unknown_names():
    with pytest.raises(UnknownNameError, match="Llama3_70B"):
        ServingSolver().solve("Llama3_70", "H100", seq_len=128)
    r = ServingSolver().solve("Llama3_8B", "h100", seq_len=128)
    assert r.fits


def test_assumptions_listed_and_overridable():
    r = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=128, compute_efficiency=0.5)
    names = {a.name: a for a in r.assumptions}
    assert names["compute_efficiency"].value == 0.5
    assert "caller" in names["compute_efficiency"].source.citation
    assert names["overhead"].source.kind == "assumption"
    d = r.to_dict()
    assert d["tpot"]["unit"] == "s" and d["fits"] is True


# ---- the registry binding is computed once per (model, hardware, precision) (issue #16 item 4): it must never
# hand back a stale value. Each check below compares a cached call with a call after the caches are emptied, or
# with the arithmetic of the change (overhead adds to tpot once per step: tpot = overhead + sum of operations).
def _fresh(*args, **kwargs):
    from mlsysim.solvers import serving

    serving._REGISTRY.clear()
    serving._VALIDATED.clear()
    return ServingSolver().solve(*args, **kwargs)


def test_registry_binding_cache_follows_overrides(monkeypatch):
    from mlsysim.core import defaults

    kw = dict(seq_len=4096, batch_size=1, precision="fp8")
    base = ServingSolver().solve(Models.Llama3_70B, Hardware.H100, **kw).tpot.m_as("s")
    # an override by keyword: + 1 ms on every decode step; the default comes back on the next call
    more = ServingSolver().solve(Models.Llama3_70B, Hardware.H100, overhead=Q_(1, "ms"), **kw).tpot.m_as("s")
    assert more - base == pytest.approx(1e-3, rel=1e-9)
    assert ServingSolver().solve(Models.Llama3_70B, Hardware.H100, **kw).tpot.m_as("s") == base
    # a default Assumption replaced by the caller (the module's own object): taken on the next call
    monkeypatch.setattr(defaults, "OVERHEAD", defaults.OVERHEAD.with_value(Q_(2, "ms")))
    assert ServingSolver().solve(Models.Llama3_70B, Hardware.H100, **kw).tpot.m_as("s") == pytest.approx(
        base + 2e-3, rel=1e-9)
    monkeypatch.undo()
    assert ServingSolver().solve(Models.Llama3_70B, Hardware.H100, **kw).tpot.m_as("s") == base


def test_registry_binding_cache_follows_new_entries():
    kw = dict(seq_len=4096, batch_size=1, precision="fp8")
    slow = Hardware.H100.replace(memory_bandwidth=Q_(1.675, "TB/s"))  # half the datasheet's 3.35 TB/s
    small = Models.Llama3_70B.replace(num_layers=40)
    for m, hw in ((Models.Llama3_70B, Hardware.H100), (Models.Llama3_70B, slow), (small, Hardware.H100)):
        cached = [ServingSolver().solve(m, hw, **kw) for _ in range(2)][-1]
        fresh = _fresh(m, hw, **kw)
        for name in ("tpot", "ttft", "memory_required", "request_latency"):
            assert getattr(cached, name).m_as(fresh.evaluation[name].units) == getattr(fresh, name).magnitude
    ref = ServingSolver().solve(Models.Llama3_70B, Hardware.H100, **kw)
    # batch 1 decode is memory-bound: half the bandwidth takes longer; half the layers reads half the weights
    assert ServingSolver().solve(Models.Llama3_70B, slow, **kw).tpot > ref.tpot
    assert ServingSolver().solve(small, Hardware.H100, **kw).memory_required < ref.memory_required


@pytest.mark.parametrize("kwargs, err", [
    (dict(batch_size=0), DomainError), (dict(batch_size=np.array([1.0, 0.0])), DomainError),
    (dict(batch_size=2.5), DomainError), (dict(memory_bandwidth=Q_(-1, "TB/s")), DomainError),
    (dict(overhead=Q_(-1, "ms")), DomainError), (dict(prefix_hit_rate=1.0), DomainError),
    (dict(attention_causal_skip=1.5), DomainError)])
def test_checks_still_run_after_cached_calls(kwargs, err):
    kw = dict(seq_len=4096, batch_size=1, precision="fp8")
    for _ in range(2):  # the binding and the validated scalars are cached by now
        ServingSolver().solve(Models.Llama3_70B, Hardware.H100, **kw)
    with pytest.raises(err):
        ServingSolver().solve(Models.Llama3_70B, Hardware.H100, **{**kw, **kwargs})


def test_per_operation_array_results_compute_one_field_on_access():
    r = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=4096, batch_size=np.arange(1.0, 9.0),
                              precision="fp16")
    ops, flat = r.operations, r.evaluation._base
    assert {"tpot", "ttft", "decode_throughput", "request_latency"} <= set(ops._pending)
    assert "memory_required" in flat._pending
    r.tpot
    assert "tpot" not in ops._pending and "ttft" in ops._pending and "memory_required" in flat._pending
    # the array's first point is the scalar solve's (batch 1)
    one = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=4096, batch_size=1, precision="fp16")
    assert r.tpot.m_as("s")[0] == pytest.approx(one.tpot.m_as("s"), rel=1e-12)


def test_binding_sources_say_who_gave_each_request_value():
    """The caller's request is labelled as given, the solver's defaults as its defaults; registry values keep
    their registry source (seq_len is the request's context, not the model's maximum context)."""
    b = ServingSolver().bind(model="Llama3_8B", hardware="H100", prompt_tokens=1000, output_tokens=24, batch_size=4,
                             memory_bandwidth=Q_(3, "TB/s"))
    assert b.knowns["seq_len"] == 1024
    assert "prompt_tokens + output_tokens" in str(b.sources["seq_len"]) and "Llama 3" not in str(b.sources["seq_len"])
    for k in ("prompt_tokens", "batch_size", "memory_bandwidth"):
        assert b.sources[k].citation == "value given by the caller", k
    assert "one device" in str(b.sources["num_devices"])
    assert "H100" in str(b.sources["peak_flops"]) and "Llama 3" in str(b.sources["hidden_size"])


def test_single_node_breakdown_sums_to_latency():
    """Issue 15: every result has breakdown(), and its parts add up to the total. A CNN on the Inference set
    (latency = max(compute, memory) + overhead), written out: ResNet-50 at batch 8 on an H100 is compute-bound, so
    the parts are the overhead (0 s by default) and F / (eta R_peak)."""
    r = SingleNodeSolver().solve("ResNet50", "H100", batch_size=8)
    b = r.breakdown()
    assert set(b) == {"overhead", "roofline"} and r.bottleneck == "compute"
    assert b["overhead"].m_as("s") == 0
    assert b["roofline"].m_as("s") == pytest.approx(max(r.compute_time.m_as("s"), r.memory_time.m_as("s")), rel=1e-12)
    assert sum(v.m_as("s") for v in b.values()) == pytest.approx(r.latency.m_as("s"), rel=1e-9)
    # arrays (a batch sweep): element by element
    ra = SingleNodeSolver().solve("ResNet50", "H100", batch_size=np.array([1, 8, 64]))
    tot = sum(v.m_as("s") for v in ra.breakdown().values())
    assert np.allclose(tot, ra.latency.m_as("s"), rtol=1e-9, atol=0)
    # a decoder transformer's step is a decode step: the per-operation parts (and the flat model's parts with
    # compute_efficiency given) add up to its latency
    for kw in ({}, {"compute_efficiency": 0.5}):
        rt = SingleNodeSolver().solve("Llama3_8B", "H100", batch_size=1, **kw)
        parts = rt.breakdown()
        assert ("qkv" in parts) == (not kw)
        assert sum(v.m_as("s") for v in parts.values()) == pytest.approx(rt.latency.m_as("s"), rel=1e-9)
