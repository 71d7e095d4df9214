"""Issue #13, serving items: each expected number is a hand calculation written in the test.

Datasheet values used by hand: H100 SXM 3.35 TB/s, 80 GB, 989.4 TFLOP/s fp16 dense, 700 W TDP;
H200 4.8 TB/s, 141 GB.
"""
import io
from contextlib import redirect_stderr

import pytest

from mlsysim import Q_, Hardware, Models
from mlsysim.cli import main as cli_main
from mlsysim.core.errors import DomainError, InfeasibleError, MlsysimError
from mlsysim.solvers import ServingSolver, SingleNodeSolver

H100_BW, H100_PEAK16 = 3.35e12, 989.4e12

# ---- Mixtral-8x7B by hand (config: L=32, h=4096, 32 heads, 8 KV heads, d=128, ffn 14336 SwiGLU, 8 experts,
# 2 per token, V=32000 untied, RMSNorm, no biases)
ML, MH, MV = 32, 4096, 32000
M_ATTN = 2 * MH * 128 * (32 + 8)                 # 41,943,040: q, o (h x 4096) and k, v (h x 1024)
M_EXPERT = 3 * MH * 14336                        # 176,160,768: gate, up, down
M_LAYER_FIXED = M_ATTN + 8 * MH + 2 * MH         # attention + router (h x 8) + two norms
M_EMB = 2 * MV * MH + MH                         # embedding + output head + final norm
M_TOTAL = ML * (M_LAYER_FIXED + 8 * M_EXPERT) + M_EMB      # 46,702,792,704
M_KV_TOKEN = 2 * ML * 8 * 128 * 2                # 131,072 B per token (fp16)


def test_mixtral_hand_counts():
    assert M_TOTAL == 46_702_792_704
    assert Models.Mixtral_8x7B.parameters == pytest.approx(M_TOTAL, rel=1e-12)


def test_moe_decode_reads_only_routed_experts_batch_1():
    r = ServingSolver().solve(Models.Mixtral_8x7B, Hardware.H100, seq_len=2048, batch_size=1, precision="fp16",
                              compute_efficiency=0.7)   # given: the flat roofline, whose time is bytes / bandwidth
    # batch 1: 8 (1 - (1 - 2/8)^1) = 2 distinct experts per layer are read, not 8
    read = M_TOTAL - ML * (8 - 2) * M_EXPERT                 # 12,879,925,248 = the active parameters
    assert read == 12_879_925_248
    step_bytes = read * 2 + M_KV_TOKEN * 2048                # 26.03 GB
    assert r.decode_bytes.m_as("B") == pytest.approx(step_bytes, rel=1e-9)
    assert r.tpot.m_as("ms") == pytest.approx(step_bytes / H100_BW * 1e3, rel=1e-9)   # 7.770 ms (was 27.96)
    assert 7.7 < r.tpot.m_as("ms") < 7.85


def test_moe_decode_batch_4_expected_distinct_experts():
    r = ServingSolver().solve(Models.Mixtral_8x7B, Hardware.H100, seq_len=1024, batch_size=4, precision="fp16")
    distinct = 8 * (1 - (1 - 2 / 8) ** 4)                     # 5.46875 expected distinct experts per layer
    read = M_TOTAL - ML * (8 - distinct) * M_EXPERT
    step_bytes = read * 2 + M_KV_TOKEN * 1024 * 4
    assert r.decode_bytes.m_as("B") == pytest.approx(step_bytes, rel=1e-9)
    # the memory a replica needs still holds every expert
    assert r.memory_required.m_as("B") == pytest.approx(M_TOTAL * 2 + M_KV_TOKEN * 1024 * 4, rel=1e-9)


def test_dense_decode_unchanged_by_the_expert_term():
    r = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=2048, batch_size=3, precision="fp16")
    n8 = 8_030_261_248
    assert r.decode_bytes.m_as("B") == pytest.approx(n8 * 2 + 131072 * 2048 * 3, rel=1e-12)


# ---- attention FLOPs: QK^T and AV both counted
N8, V8, H8, L8 = 8_030_261_248, 128256, 4096, 32


def test_decode_attention_counts_qk_and_av():
    r = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=2048, batch_size=1, precision="fp16")
    # per token: 2 x non-embedding params + 2 V h (de-embedding) + 2 matmuls (QK^T, AV) x 2 FLOP x L s n_h d_head
    want = 2 * (N8 - 2 * V8 * H8) + 2 * V8 * H8 + 4 * L8 * 2048 * H8
    assert r.decode_flops.m_as("FLOP") == pytest.approx(want, rel=1e-12)


def test_prefill_attention_full_matrix_by_default_and_causal_switch():
    P = 32768
    kw = dict(seq_len=P + 1, prompt_tokens=P, output_tokens=1, batch_size=1, precision="fp16",
              compute_efficiency=0.5)
    s = ServingSolver()
    full = s.solve(Models.Llama3_8B, Hardware.H100, **kw)
    # default: the kernel computes the whole s x s score matrix (Megatron-LM's 4 L s h per token, Narayanan 2021)
    per_token = 2 * (N8 - 2 * V8 * H8) + 2 * V8 * H8 + 4 * L8 * P * H8
    assert full.ttft.m_as("s") == pytest.approx(P * per_token / (0.5 * H100_PEAK16), rel=1e-9)
    causal = s.solve(Models.Llama3_8B, Hardware.H100, attention_causal_skip=1, **kw)
    # FlashAttention's causal path: token i attends i tokens, mean (P + 1) / 2
    per_token_c = 2 * (N8 - 2 * V8 * H8) + 2 * V8 * H8 + 4 * L8 * (P + 1) / 2 * H8
    assert causal.ttft.m_as("s") == pytest.approx(P * per_token_c / (0.5 * H100_PEAK16), rel=1e-9)
    names = {a.name: a for a in full.assumptions}
    assert names["attention_causal_skip"].value == 0


# ---- inverse counts that respect the structure
def test_num_devices_inverse_rounds_to_a_valid_layout():
    r = ServingSolver().solve_for("num_devices", model=Models.Llama3_70B, hardware=Hardware.H100, seq_len=8192,
                                  tpot=Q_(10, "ms"), compute_efficiency=0.7)   # the (flat) model
    # continuous answer ~4.9 devices; 5, 6, 7 divide neither 64 heads nor 8 KV heads: 8 is the next layout
    assert r.magnitude == 8
    assert "head" in r.note
    # the forward solver accepts the answer
    fwd = ServingSolver().solve(Models.Llama3_70B, Hardware.H100, seq_len=8192, num_devices=8, compute_efficiency=0.7)
    assert fwd.tpot.m_as("ms") <= 10


# ---- KV-cache precision
def test_kv_precision_independent_of_weights():
    r = ServingSolver().solve(Models.Llama3_70B, Hardware.H200, seq_len=8192, batch_size=1, precision="fp8",
                              kv_precision="fp16")
    # 2 (K, V) x 80 layers x 8 KV heads x 128 head_dim x 2 B x 8192 tokens = 2,684,354,560 B
    assert r.kv_cache_bytes.m_as("B") == 2 * 80 * 8 * 128 * 2 * 8192 == 2_684_354_560
    names = {a.name: a for a in r.assumptions}
    assert names["kv_precision"].value == "fp16"
    d = ServingSolver().solve(Models.Llama3_70B, Hardware.H200, seq_len=8192, precision="fp8")
    dn = {a.name: a for a in d.assumptions}
    assert dn["kv_precision"].value == "fp8" and dn["kv_precision"].source.kind == "assumption"
    assert d.kv_cache_bytes.m_as("B") == 2 * 80 * 8 * 128 * 1 * 8192
    sn = SingleNodeSolver().solve(Models.Llama3_70B, Hardware.H200, seq_len=8192, precision="fp8",
                                  kv_precision="fp16")
    assert sn.evaluation["kv_cache_bytes"].m_as("B") == 2_684_354_560


def test_cli_kv_precision(capsys):
    assert cli_main(["serve", "--model", "Llama3_70B", "--hardware", "H200", "--seq-len", "8192", "--precision",
                     "fp8", "--kv-precision", "fp16"]) == 0
    assert "2.684 GB" in capsys.readouterr().out


# ---- nonsense inputs
def test_prompt_longer_than_context_is_refused():
    with pytest.raises(DomainError, match="prompt_tokens"):
        ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=100, prompt_tokens=1000, output_tokens=100)
    # without seq_len the context is derived: prompt + output
    r = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, prompt_tokens=1000, output_tokens=100)
    assert r.kv_cache_bytes.m_as("B") == 131072 * 1100


def test_context_beyond_the_model_is_warned():
    r = ServingSolver().solve_for("seq_len", model=Models.Llama3_8B, hardware=Hardware.H100, batch_size=1,
                                  memory_required=Q_(80, "GB"))
    # (80e9 - 2 x 8,030,261,248) / 131,072 = 487,819 tokens: far beyond Llama-3-8B's 8,192
    assert r.magnitude == int((80e9 - 2 * N8) / 131072) == 487_819
    assert any("8192" in w and "maximum context" in w for w in r.warnings)
    f = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=16384)
    assert any("maximum context" in w for w in f.warnings)
    assert not ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=8192).warnings


# ---- node with power for a transformer; negative quantities on the CLI
def test_node_power_for_transformer():
    r = SingleNodeSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=2048, power=Q_(500, "W"),
                                 compute_efficiency=0.7)
    step = (N8 * 2 + 131072 * 2048) / H100_BW            # memory-bound decode step
    assert r.energy.m_as("J") == pytest.approx(500 * step, rel=1e-9)
    d = SingleNodeSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=2048, compute_efficiency=0.7)
    assert d.energy.m_as("J") == pytest.approx(700 * step, rel=1e-9)      # TDP by default, as for ResNet-50


def test_cli_node_power_for_transformer(capsys):
    assert cli_main(["node", "--model", "Llama3_8B", "--hardware", "H100", "--seq-len", "2048", "--power",
                     "500W"]) == 0
    assert "energy/step" in capsys.readouterr().out


def test_cli_negative_target_is_a_domain_error():
    err = io.StringIO()
    with redirect_stderr(err):
        rc = cli_main(["solve", "serving", "--for", "memory_bandwidth", "--model", "Llama3_8B", "--hardware", "H100",
                       "--seq-len", "1024", "--tpot", "-20ms"])
    assert rc == 2
    msg = err.getvalue()
    assert "expected one argument" not in msg and "tpot" in msg


# ---- name what binds
@pytest.mark.parametrize("unknown,kw,binding", [
    ("memory_bandwidth", dict(model="Llama3_8B", seq_len=1024, overhead=Q_(5, "ms"), tpot=Q_(2, "ms")), "overhead"),
    ("batch_size", dict(model="Llama3_8B", seq_len=1024, overhead=Q_(5, "ms"), tpot=Q_(2, "ms")), "overhead"),
    ("batch_size", dict(model="Llama3_70B", seq_len=1024, memory_required=Q_(80, "GB")), "memory"),
    ("seq_len", dict(model="Llama3_70B", batch_size=1, tpot=Q_(1, "ms")), "memory"),
    ("num_devices", dict(model="Llama3_70B", seq_len=8192, tpot=Q_(1, "ms")), "communication"),
    ("compute_efficiency", dict(model="Llama3_8B", seq_len=8192, ttft=Q_(1, "us")), "compute"),
    ("peak_flops", dict(model="Llama3_8B", seq_len=8192, tpot=Q_(1, "ms")), "memory"),
])
def test_infeasible_inverse_names_what_binds(unknown, kw, binding):
    # each floor by hand: overhead 5 ms > 2 ms (the engine blamed "compute" for it); 70B fp16 weights 141 GB >
    # 80 GB; 70B weights at 3.35 TB/s = 42 ms > 1 ms; at the best layout (8 devices) the 2 x 80 ring all-reduces of
    # 7 hops x 1 us each = 2.24 ms alone exceed 1 ms; at compute_efficiency = 1 the 8192-token prefill of 8B is
    # 8192 x ~19.5 GFLOP / 989.4 TFLOP/s = 160 ms > 1 us; 8B weights 16 GB / 3.35 TB/s = 4.8 ms > 1 ms
    with pytest.raises(InfeasibleError) as e:
        ServingSolver().solve_for(unknown, hardware="H100", **kw)
    assert e.value.binding == binding
    assert binding in str(e.value)


# ---- speculative decoding in the solver (issue #12 item 6, #17 item 7)
def test_speculative_tpot_is_time_per_accepted_token():
    s = ServingSolver()
    plain = s.solve(Models.Llama3_70B, Hardware.H200, seq_len=4096, batch_size=1, precision="fp8",
                    compute_efficiency=0.7)
    r = s.solve(Models.Llama3_70B, Hardware.H200, seq_len=4096, batch_size=1, precision="fp8", compute_efficiency=0.7,
                draft_model=Models.Llama3_8B, draft_tokens=4, acceptance_rate=0.8)
    # draft (Llama-3-8B fp8): weights 8,030,261,248 B + KV 65,536 B/token x 4096 at 4.8 TB/s = 1.7289 ms
    draft = (N8 + 65536 * 4096) / 4.8e12
    # verification: the 70B step with 5 tokens per sequence is still memory-bound: same bytes as one decode step
    n70 = 70_553_706_496
    verify = (n70 + 2 * 80 * 8 * 128 * 4096) / 4.8e12                  # 14.837 ms
    tau = (1 - 0.8 ** 5) / (1 - 0.8)                                   # 3.3616 tokens per step
    assert r.tpot.m_as("s") == pytest.approx((4 * draft + verify) / tau, rel=1e-9)   # 6.471 ms
    assert r.tpot < plain.tpot / 2
    assert r.tokens_per_second.m_as("1/s") == pytest.approx(tau / (4 * draft + verify), rel=1e-9)
    # both models are resident
    assert r.memory_required.m_as("B") == pytest.approx(n70 + 2 * 80 * 8 * 128 * 4096 + N8 + 65536 * 4096, rel=1e-9)
    with pytest.raises(MlsysimError, match="acceptance_rate"):
        s.solve(Models.Llama3_70B, Hardware.H200, seq_len=4096, draft_model=Models.Llama3_8B, draft_tokens=4)


# ---- prefix caching (issue #17 item 4)
def test_prefix_hit_rate_halves_prefill():
    s = ServingSolver()
    kw = dict(seq_len=8192, prompt_tokens=8000, output_tokens=100, batch_size=1, precision="fp16",
              compute_efficiency=0.7)
    cold = s.solve(Models.Llama3_8B, Hardware.H100, **kw)
    warm = s.solve(Models.Llama3_8B, Hardware.H100, prefix_hit_rate=0.5, **kw)
    # default kernel (full score rows): each of the 8000 tokens costs
    # 2 (N - 2Vh) + 2Vh + 4 L 8000 n_h d; with half the prompt cached, 4000 tokens attend the same 8000 columns
    per_token = 2 * (N8 - 2 * V8 * H8) + 2 * V8 * H8 + 4 * L8 * 8000 * H8
    assert cold.ttft.m_as("s") == pytest.approx(8000 * per_token / (0.7 * H100_PEAK16), rel=1e-9)
    assert warm.ttft.m_as("s") == pytest.approx(4000 * per_token / (0.7 * H100_PEAK16), rel=1e-9)   # half
    # FlashAttention's causal path: the 4000 uncached tokens at positions 4001..8000 attend 6000.5 on average
    causal = s.solve(Models.Llama3_8B, Hardware.H100, prefix_hit_rate=0.5, attention_causal_skip=1, **kw)
    per_token_c = 2 * (N8 - 2 * V8 * H8) + 2 * V8 * H8 + 4 * L8 * (8000 - (4000 - 1) / 2) * H8
    assert causal.ttft.m_as("s") == pytest.approx(4000 * per_token_c / (0.7 * H100_PEAK16), rel=1e-9)


def test_shared_prefix_kv_counted_once_per_replica():
    r = ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=8192, prompt_tokens=8000, output_tokens=100,
                              batch_size=4, precision="fp16", prefix_hit_rate=0.5)
    # 4 sequences of 8192 tokens share a 4000-token prefix: 4 x 8192 - 3 x 4000 = 20,768 tokens of KV held
    assert r.memory_required.m_as("B") == pytest.approx(N8 * 2 + 131072 * 20768, rel=1e-12)
    # each sequence's decode still reads its whole context
    assert r.decode_bytes.m_as("B") == pytest.approx(N8 * 2 + 131072 * 8192 * 4, rel=1e-12)
    with pytest.raises(DomainError, match="prefix_hit_rate"):
        ServingSolver().solve(Models.Llama3_8B, Hardware.H100, seq_len=8192, prefix_hit_rate=1.5)


def test_cli_prefix_hit_rate(capsys):
    assert cli_main(["serve", "--model", "Llama3_8B", "--hardware", "H100", "--seq-len", "8192", "--prompt-tokens",
                     "8000", "--output-tokens", "100", "--prefix-hit-rate", "0.5", "--json"]) == 0
    import json
    d = json.loads(capsys.readouterr().out)
    assert d["prefill_tokens"]["value"] == pytest.approx(4000)


# ---- on the one Solver base (issue #12)
def test_serving_and_single_node_on_the_base():
    from mlsysim.core.equations import Solution
    from mlsysim.core.errors import OverdeterminedError, UnderdeterminedError
    from mlsysim.solvers.base import Binding, Solver

    assert issubclass(ServingSolver, Solver) and issubclass(SingleNodeSolver, Solver)
    b = ServingSolver().bind(model="Llama3_70B", hardware="H200", precision="fp8", seq_len=2048)
    assert isinstance(b, Binding)
    assert b.knowns["kv_bytes_per_element"].m_as("B") == 1 and b.knowns["seq_len"] == 2048
    assert b.assumptions["gemm_efficiency_max"].source.kind == "fit"        # the per-operation default
    assert "compute_efficiency" not in b.assumptions
    assert ServingSolver().bind(model="Llama3_8B", hardware="H100", seq_len=128,
                                compute_efficiency=0.6).assumptions["compute_efficiency"].value == 0.6
    assert b.label("hardware") == "H200"
    r = ServingSolver().solve_for("batch_size", model="Llama3_8B", hardware="H100", seq_len=4096, tpot=Q_(30, "ms"))
    assert isinstance(r, Solution)
    with pytest.raises(UnderdeterminedError):
        ServingSolver().solve_for("batch_size", model="Llama3_8B", hardware="H100", seq_len=4096)
    with pytest.raises(OverdeterminedError):
        ServingSolver().solve_for("batch_size", model="Llama3_8B", hardware="H100", seq_len=4096, tpot=Q_(30, "ms"),
                                  ttft=Q_(1, "s"))


# ---- per-operation serving on the calibrated laws (issue #15 item 3)
def test_per_operation_gemm_by_hand_on_the_laws():
    from mlsysim.calibration import laws_for

    laws = laws_for("H200", "bf16")
    r = ServingSolver().solve(Models.Llama3_8B, Hardware.H200, seq_len=1024, batch_size=1, precision="bf16")
    # the QKV GEMM of one layer, batch 1: 1 x 4096 by 4096 x (32 + 2 x 8) x 128 = 6144
    F = 2 * 4096 * 6144                                   # FLOPs
    D = 2 * (4096 + 4096 * 6144 + 6144)                   # bytes: input, weights, output (bf16)
    R, BW = Hardware.H200.peak_flops("bf16").m_as("FLOP/s"), 4.8e12
    eg, Fh = laws.gemm_eta_max.value, laws.gemm_f_half.value.m_as("FLOP")
    em, Dh = laws.mem_eta_max.value, laws.mem_b_half.value.m_as("B")
    # Hockney: T = F / (eta_max F / (F + F_half) R) = (F + F_half) / (eta_max R); likewise for the bytes
    want = max((F + Fh) / (eg * R), (D + Dh) / (em * BW))
    assert r.operations["decode_qkv_time"].m_as("s") == pytest.approx(want, rel=1e-12)
    assert r.breakdown()["qkv"].m_as("s") == pytest.approx(32 * want, rel=1e-12)
    names = {a.name: a for a in r.assumptions}
    assert names["gemm_efficiency_max"].source.kind == "fit" and "compute_efficiency" not in names


@pytest.mark.parametrize("kw", [dict(), dict(compute_efficiency=0.7), dict(num_devices=8),
                                dict(draft_model=Models.Llama3_8B, draft_tokens=4, acceptance_rate=0.8)])
def test_breakdown_adds_up_to_tpot_and_ttft(kw):
    r = ServingSolver().solve(Models.Llama3_70B, Hardware.H200, seq_len=4096, batch_size=4, precision="fp8",
                              prompt_tokens=2000, output_tokens=100, **kw)
    parts = r.breakdown()
    assert sum(v.m_as("s") for v in parts.values()) == pytest.approx(r.tpot.m_as("s"), rel=1e-9)
    pre = r.breakdown("prefill")
    assert sum(v.m_as("s") for v in pre.values()) == pytest.approx(r.ttft.m_as("s"), rel=1e-9)


def test_h200_decode_within_12_percent_of_the_measurements():
    import json
    from pathlib import Path

    # the project's own CUDA-graph decode timings (benchmarks/device/gpu_check.py); no law is fitted to these rows
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "device" / "results" / "h200_2026-11-27.json"
    rows = json.loads(path.read_text())["decode"]["rows"]
    assert len(rows) == 9
    s = ServingSolver()
    ratios = [s.solve(Models.Llama3_8B, Hardware.H200, seq_len=r["context"], batch_size=r["batch"],
                      precision="bf16").tpot.m_as("s") / r["graph_s"] for r in rows]
    assert all(0.88 <= x <= 1.12 for x in ratios), ratios
    # the flat single-efficiency roofline (compute_efficiency given) was 0.73-0.86 on the same rows
    flat = [s.solve(Models.Llama3_8B, Hardware.H200, seq_len=r["context"], batch_size=r["batch"], precision="bf16",
                    compute_efficiency=0.7).tpot.m_as("s") / r["graph_s"] for r in rows]
    assert max(flat) < 0.88


def test_num_devices_on_the_per_operation_model_scans_valid_layouts():
    r = ServingSolver().solve_for("num_devices", model=Models.Llama3_70B, hardware=Hardware.H100, seq_len=8192,
                                  tpot=Q_(15, "ms"))
    # only 1, 2, 4, 8 split 64 heads and 8 KV heads inside an 8-GPU node; each is tried with its own all-reduce law
    assert r.magnitude == 8 and "tried 1:" in r.note and "; 4:" in r.note
    assert r.result.tpot.m_as("ms") <= 15
    fwd4 = ServingSolver().solve(Models.Llama3_70B, Hardware.H100, seq_len=8192, num_devices=4)
    assert fwd4.tpot.m_as("ms") > 15
