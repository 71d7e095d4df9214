"""Equations.TrainingStep: the per-operation training step, checked against hand calculations with inputs
written in the test (not taken from the solver)."""
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.solvers.distributed import stage_layers

T = mlsysim.Equations.TrainingStep

# GPT-3-like layer on 8-way tensor parallelism: b = 1, s = 2048, h = 12288, 96 heads of 128, MHA, MLP 4h, bf16
SHAPE = dict(micro_batch_size=1, seq_len=2048, cp=1, hidden_size=12288, num_heads=96, num_kv_heads=96, head_dim=128,
             ffn_hidden_size=49152, ffn_matrices=2, tp=8, attention_causal_skip=0, num_layers=96,
             flops_per_mac=Q_(2, "FLOP"), experts_per_token=1, capacity_factor=1.0)
LAW = dict(gemm_efficiency_max=0.7, gemm_half_flops=Q_(2e9, "FLOP"), peak_flops=Q_(312e12, "FLOP/s"))


def test_dimensions():
    T.check_dimensions()


def test_gemm_shapes_by_hand():
    out = T.evaluate(outputs=["qkv_flops", "score_flops", "proj_flops", "fc1_flops", "fc2_flops"], **SHAPE)
    n = 2048  # tokens of the microbatch
    # QKV: 2 n h (a + 2k) d / t = 2 * 2048 * 12288 * 288 * 128 / 8 = 2.3193e11 = 3 x (2 n h^2 / t)
    assert out.qkv_flops.m_as("FLOP") == pytest.approx(3 * 2 * n * 12288 ** 2 / 8, rel=1e-12)
    # one attention matmul: 2 n s a d / t = 2 * 2048 * 2048 * 12288 / 8
    assert out.score_flops.m_as("FLOP") == pytest.approx(2 * n * 2048 * 12288 / 8, rel=1e-12)
    assert out.proj_flops.m_as("FLOP") == pytest.approx(2 * n * 12288 ** 2 / 8, rel=1e-12)
    # MLP: up 2 n h 4h / t, down the same
    assert out.fc1_flops.m_as("FLOP") == pytest.approx(2 * n * 12288 * 49152 / 8, rel=1e-12)
    assert out.fc2_flops.m_as("FLOP") == pytest.approx(2 * n * 12288 * 49152 / 8, rel=1e-12)
    # the layer's forward total is Megatron's 24 b s h^2 + 4 b s^2 h, split 8 ways
    total = sum(out[k].m_as("FLOP") for k in ("qkv_flops", "proj_flops", "fc1_flops", "fc2_flops")) \
        + 2 * out.score_flops.m_as("FLOP")
    assert total == pytest.approx((24 * n * 12288 ** 2 + 4 * n * 2048 * 12288) / 8, rel=1e-12)


def test_layer_gemm_time_on_the_saturating_law_by_hand():
    # each GEMM: T = F / (eta R) with eta = 0.7 F / (F + 2e9), i.e. T = (F + 2e9) / (0.7 * 312e12)
    out = T.evaluate(outputs=["layer_gemm_time", "qkv_gemm_efficiency"], **SHAPE, **LAW)
    n = 2048
    flops = [3 * 2 * n * 12288 ** 2 / 8, 2 * n * 2048 * 12288 / 8, 2 * n * 2048 * 12288 / 8, 2 * n * 12288 ** 2 / 8,
             2 * n * 12288 * 49152 / 8, 2 * n * 12288 * 49152 / 8]
    hand = sum((f + 2e9) / (0.7 * 312e12) for f in flops)          # six GEMMs (QK^T and AV are two)
    assert out.layer_gemm_time.m_as("s") == pytest.approx(hand, rel=1e-12)
    # QKV: F = 2.319e11 FLOP -> eta = 0.7 * 2.319e11 / 2.339e11 = 0.694
    assert float(out.qkv_gemm_efficiency) == pytest.approx(0.7 * flops[0] / (flops[0] + 2e9), rel=1e-12)


def test_tp_backward_hides_under_the_weight_gradient_gemms():
    # 2 forward all-reduces exposed; 2 backward ones hidden up to the weight-gradient GEMMs' time T_G
    k = dict(tp_forward_collectives=2, tp_backward_collectives=2, tp_overlap=1.0,
             tp_collective_latency=Q_(20, "us"), tp_collective_bandwidth=Q_(100, "GB/s"), bytes_per_element=Q_(2, "B"),
             **SHAPE, **LAW)
    out = T.evaluate(outputs=["tp_exposed_layer_time", "tp_collective_time", "layer_gemm_time"], **k)
    # one all-reduce of b s h 2 bytes = 50.33 MB: 20 us + 50.33e6 / 100e9 = 523.3 us
    t1 = 20e-6 + 2048 * 12288 * 2 / 100e9
    assert out.tp_collective_time.m_as("s") == pytest.approx(t1, rel=1e-12)
    # the backward pair (1.05 ms) is shorter than T_G, so only the forward pair is exposed
    assert 2 * t1 < out.layer_gemm_time.m_as("s")
    assert out.tp_exposed_layer_time.m_as("s") == pytest.approx(2 * t1, rel=1e-12)
    # no overlap allowed: all four exposed
    out0 = T.evaluate(outputs=["tp_exposed_layer_time"], **dict(k, tp_overlap=0.0))
    assert out0.tp_exposed_layer_time.m_as("s") == pytest.approx(4 * t1, rel=1e-12)


def test_uneven_stages():
    # Llama 3 405B: 126 layers on 16 stages -> 7 (first, with the embedding), 8 x 14, 7 (last, with the head)
    assert stage_layers(126, 16) == dict(first_stage_layers=7, middle_stage_layers=8, last_stage_layers=7,
                                         stage_layers=8, single_stage=0)
    # 48 on 5: ceil 10, two short -> 9, 10, 10, 10, 9
    assert stage_layers(48, 5)["first_stage_layers"] == 9 and stage_layers(48, 5)["last_stage_layers"] == 9
    # 9 on 2: ceil 5, one short -> the last stage (LM head) gets 4
    assert stage_layers(9, 2) == dict(first_stage_layers=5, middle_stage_layers=0, last_stage_layers=4,
                                      stage_layers=5, single_stage=0)
    assert stage_layers(32, 1)["single_stage"] == 1


def test_slowest_stage_sets_the_pace():
    # T_L = 10 ms per layer, embedding 1 ms, head 30 ms: stages 7 + emb = 71 ms, 8 x 10 = 80 ms, 7 + head = 100 ms
    k = dict(first_stage_layers=7, middle_stage_layers=8, last_stage_layers=7, single_stage=0,
             layer_time=Q_(10, "ms"), embedding_kernel_time=Q_(1, "ms"), head_stage_time=Q_(30, "ms"))
    e = T.equations["stage_pace_time"]
    out = mlsysim.core.equations.EquationSet("pace", [e]).evaluate(**k)
    assert out.stage_pace_time.m_as("ms") == pytest.approx(100.0, rel=1e-12)
    assert out.regime("stage_pace_time") == "last_stage"


def test_attention_flops_are_the_transformer_relation_not_a_copy():
    from mlsysim.core.equation_sets import transformer as tf

    # TrainingStep's attention-FLOPs equation is transformer.py's, renamed onto the attended context: same origin
    # object, and its expression is the origin's with seq_len -> attention_context (nothing retyped)
    e = T.equations["attention_flops_per_token"]
    src = tf.attention_flops_per_token_equation()
    assert e.origin is src
    from mlsysim.core.variables import sym
    assert e.rhs == src.rhs.xreplace({sym.seq_len: sym.attention_context})
    # the attended context is the very Equation object of transformer.py (shared with serving's prefill)
    assert T.equations["attention_context"] is tf.attention_context_equation()
    # ... and the set's score FLOPs are built from it (no own attention_context input any more)
    assert "attention_context" not in T.inputs and "attention_causal_skip" in T.inputs


def test_causal_skip_halves_the_attention_matmuls_by_hand():
    k = {kk: v for kk, v in SHAPE.items() if kk != "attention_causal_skip"}
    full = T.evaluate(outputs=["score_flops", "attention_context"], attention_causal_skip=0, **k)
    skip = T.evaluate(outputs=["score_flops", "attention_context"], attention_causal_skip=1, **k)
    # full matrix: every token attends s = 2048 keys; QK^T = 2 b s s a d / t = 2 * 2048 * 2048 * 12288 / 8
    assert float(full.attention_context) == 2048
    assert full.score_flops.m_as("FLOP") == pytest.approx(2 * 2048 * 2048 * 12288 / 8, rel=1e-12)
    # masked half skipped: token i attends i keys, mean (s + 1)/2 = 1024.5; QK^T = 2 * 2048 * 1024.5 * 12288 / 8
    assert float(skip.attention_context) == 1024.5
    assert skip.score_flops.m_as("FLOP") == pytest.approx(2 * 2048 * 1024.5 * 12288 / 8, rel=1e-12)
    # i.e. (s + 1) / (2 s) of the full count: half, plus the diagonal
    assert skip.score_flops.m_as("FLOP") / full.score_flops.m_as("FLOP") == pytest.approx(2049 / 4096, rel=1e-12)


def test_kernel_bytes_forward_and_backward_by_hand():
    """Each kernel's forward and backward bytes from its access pattern (KERNEL_BACKWARD, SOFTMAX_CAUSAL), for the
    GPT-3-like layer of SHAPE (bf16, dropout on with 1-byte masks, no sequence parallelism), written out here."""
    k = dict(SHAPE, bytes_per_element=Q_(2, "B"), sp_shards=1, dropout_on=1, dropout_mask_bytes=Q_(1, "B"),
             softmax_causal_read=1)
    names = [f"{kk}_{p}kernel_bytes" for kk in ("norm", "residual", "act", "softmax") for p in ("", "backward_")]
    out = T.evaluate(outputs=names + ["softmax_read_fraction"], **k)
    n = 2048 * 12288                                   # s b h elements of the residual stream
    # norm: read x, write y (2 x 2 bytes); backward: read dy and x, write dx (3 x 2)
    assert out.norm_kernel_bytes.m_as("B") == 4 * n == 100_663_296
    assert out.norm_backward_kernel_bytes.m_as("B") == 6 * n
    # dropout + residual add: read two, write one, write a 1-byte mask (7 bytes per element); backward: the residual
    # stream's two gradients summed (read two, write one) and dropout's dy * mask (read dy and mask, write): 11
    assert out.residual_kernel_bytes.m_as("B") == 7 * n
    assert out.residual_backward_kernel_bytes.m_as("B") == 11 * n
    # GeLU over s b f / t = 2048 * 49152 / 8 elements: read 1, write 1; backward read dy and x, write dx
    e = 2048 * 49152 / 8
    assert out.act_kernel_bytes.m_as("B") == pytest.approx(4 * e, rel=1e-12)
    assert out.act_backward_kernel_bytes.m_as("B") == pytest.approx(6 * e, rel=1e-12)
    # scores a s s b / t = 96 * 2048^2 / 8 elements; the causal softmax reads row i's first i elements:
    # s (s + 1) / 2 of s^2, rho = 2049 / 4096
    sc = 96 * 2048 * 2048 / 8
    rho = 2049 / 4096
    assert float(out.softmax_read_fraction) == pytest.approx(rho, rel=1e-12)
    # forward: softmax reads rho and writes 1 element (2 bytes each), dropout reads 1, writes 1 and a 1-byte mask
    assert out.softmax_kernel_bytes.m_as("B") == pytest.approx((2 * (1 + rho) + 5) * sc, rel=1e-12)
    # backward: dropout reads dy and the mask, writes dx (5 bytes); softmax reads dy and y over rho, writes dx
    assert out.softmax_backward_kernel_bytes.m_as("B") == pytest.approx((2 * (1 + 2 * rho) + 5) * sc, rel=1e-12)
    # a softmax that reads whole rows (softmax_causal_read = 0): 9 and 11 bytes per score element
    full = T.evaluate(outputs=["softmax_kernel_bytes", "softmax_backward_kernel_bytes"],
                      **dict(k, softmax_causal_read=0))
    assert full.softmax_kernel_bytes.m_as("B") == pytest.approx(9 * sc, rel=1e-12)
    assert full.softmax_backward_kernel_bytes.m_as("B") == pytest.approx(11 * sc, rel=1e-12)
    # without dropout: no mask, no dropout kernels (residual: 3 and 3 elements; softmax: 1 + rho and 1 + 2 rho)
    nod = T.evaluate(outputs=["residual_kernel_bytes", "residual_backward_kernel_bytes", "softmax_kernel_bytes",
                              "softmax_backward_kernel_bytes"], **dict(k, dropout_on=0))
    assert nod.residual_kernel_bytes.m_as("B") == 6 * n and nod.residual_backward_kernel_bytes.m_as("B") == 6 * n
    assert nod.softmax_kernel_bytes.m_as("B") == pytest.approx(2 * (1 + rho) * sc, rel=1e-12)
    assert nod.softmax_backward_kernel_bytes.m_as("B") == pytest.approx(2 * (1 + 2 * rho) * sc, rel=1e-12)
    # a score matrix already cut to the unmasked part (attention_causal_skip = 1): the softmax reads all of it
    cut = T.evaluate(outputs=["softmax_read_fraction"], **dict(k, attention_causal_skip=1))
    assert float(cut.softmax_read_fraction) == pytest.approx(1.0, rel=1e-12)


def test_backward_kernels_enter_the_layer_and_the_dp_window():
    """layer_time = 3 T_G + T_K + T_K,b + ..., and the DP overlap window is the first stage's backward: n_1 (2 T_G +
    T_K,b); by hand from given component times."""
    base = dict(layer_gemm_time=Q_(10, "ms"), layer_kernel_time=Q_(2, "ms"), layer_backward_kernel_time=Q_(3, "ms"),
                tp_exposed_layer_time=Q_(0, "ms"), recompute_layer_time=Q_(0, "ms"), cp_layer_time=Q_(0, "ms"),
                ep_layer_time=Q_(0, "ms"), first_stage_layers=4)
    out = T.evaluate(outputs=["layer_time", "dp_overlap_window"], **base)
    assert out.layer_time.m_as("ms") == pytest.approx(30 + 2 + 3, rel=1e-12)
    assert out.dp_overlap_window.m_as("ms") == pytest.approx(4 * (20 + 3), rel=1e-12)
