"""Parallelism equations: bubble, ZeRO, activation memory, Megatron FLOPs (published values or hand calculations)."""
import json
import pathlib

import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.core.equation_sets.parallelism import ACTIVATION_COEFFICIENTS
from mlsysim.core.errors import DomainError, UnderdeterminedError

CASES = {c["id"]: c for c in json.loads((pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "published_cases.json").read_text())}


def test_sets_are_dimensionally_consistent():
    for name in ("Parallelism", "PipelineBubble", "ZeROMemory", "ActivationMemory"):
        mlsysim.Equations[name].check_dimensions()


def test_pipeline_bubble_published_examples():
    B = mlsysim.Equations.PipelineBubble
    # Narayanan et al. 2021 Sec. 2.2: bubble / ideal = (p-1)/m = 7/32 = 0.21875; interleaved (p-1)/(v m) = 7/128
    assert float(B.evaluate(pp=8, microbatches=32, pipeline_interleave=1).bubble_ratio) == pytest.approx(0.21875)
    assert float(B.evaluate(pp=8, microbatches=32, pipeline_interleave=4).bubble_ratio) == pytest.approx(0.0546875)
    assert float(B.evaluate(pp=1, microbatches=8, pipeline_interleave=1).bubble_fraction) == 0.0


def test_bubble_fraction_is_a_true_fraction():
    B = mlsysim.Equations.PipelineBubble
    # p = 8, m = 1: the schedule is 8 slots long and the device works in 1 of them (ideal 1 slot, bubble 7):
    # bubble / ideal = 7 (the ratio), bubble / (ideal + bubble) = 7/8 (the idle fraction)
    out = B.evaluate(pp=8, microbatches=1, pipeline_interleave=1)
    assert float(out.bubble_ratio) == pytest.approx(7.0, rel=1e-12)
    assert float(out.bubble_fraction) == pytest.approx(0.875, rel=1e-12)
    # p = 8, m = 32: 7 idle slots out of 32 + 7 = 39
    out = B.evaluate(pp=8, microbatches=32, pipeline_interleave=1)
    assert float(out.bubble_fraction) == pytest.approx(7 / 39, rel=1e-12)


def test_bubble_inverse_microbatches():
    B = mlsysim.Equations.PipelineBubble
    # (p-1)/m = 0.05 with p = 8 -> m = 140
    assert float(B.solve("microbatches", bubble_ratio=0.05, pp=8, pipeline_interleave=1)) == pytest.approx(140)
    # idle fraction 7/(m + 7) = 0.05 -> m = 7 * 0.95 / 0.05 = 133
    assert float(B.solve("microbatches", bubble_fraction=0.05, pp=8, pipeline_interleave=1)) == pytest.approx(133)


def test_fractional_microbatches_are_refused():
    with pytest.raises(DomainError, match="microbatches"):
        mlsysim.Equations.PipelineBubble.evaluate(pp=4, microbatches=0.5, pipeline_interleave=1)


@pytest.mark.parametrize("stage,shards,expected_gb", [
    (0, (1, 1, 1), 120.0), (1, (1, 1, 64), 31.4), (2, (1, 64, 64), 16.6), (3, (64, 64, 64), 1.9)])
def test_zero_model_states_7p5B_on_64(stage, shards, expected_gb):
    # Rajbhandari et al. 2020 Fig. 1: Psi = 7.5e9, Nd = 64, K = 12 -> 120 / 31.4 / 16.6 / 1.9 GB
    # hand: 16 Psi = 120e9; 4 Psi + 12 Psi/64 = 31.41e9; 2 Psi + 14 Psi/64 = 16.64e9; 16 Psi/64 = 1.875e9
    Z = mlsysim.Equations.ZeROMemory
    ps, gs, os_ = shards
    out = Z.evaluate(parameters=7.5e9, tp=1, pp=1, bytes_per_element=Q_(2, "byte"),
                     optimizer_bytes_per_param=Q_(12, "byte"), param_shards=ps, grad_shards=gs, optimizer_shards=os_)
    assert out.model_state_bytes.to("GB").magnitude == pytest.approx(expected_gb, rel=0.03)
    hand = {0: 120.0, 1: 7.5 * (4 + 12 / 64), 2: 7.5 * (2 + 14 / 64), 3: 7.5 * 16 / 64}[stage]
    assert out.model_state_bytes.to("GB").magnitude == pytest.approx(hand, rel=1e-12)


S, BATCH, H, A = 2048, 1, 12288, 96  # GPT-3 175B shapes (Brown et al. 2020: 96 layers, h = 12288, 96 heads)


def _act(mode, t, sp):
    c = ACTIVATION_COEFFICIENTS[mode]
    out = mlsysim.Equations.ActivationMemory.evaluate(
        seq_len=S, micro_batch_size=BATCH, hidden_size=H, num_heads=A, tp=t, sp_shards=t if sp else 1,
        act_replicated_coeff=Q_(c[0], "byte"), act_sharded_coeff=Q_(c[1], "byte"),
        act_attention_coeff=Q_(c[2], "byte"))
    return out.activation_bytes_per_layer.to("byte").magnitude


def test_korthikanti_activation_memory_cases():
    sbh = S * BATCH * H
    # Eq. 1, no parallelism: s b h (34 + 5 a s / h)
    assert _act("none", 1, False) == pytest.approx(sbh * (34 + 5 * A * S / H), rel=1e-12)
    # Eq. 2, tensor parallel t = 8: s b h (10 + 24/t + 5 a s/(h t))
    assert _act("none", 8, False) == pytest.approx(sbh * (10 + 24 / 8 + 5 * A * S / (H * 8)), rel=1e-12)
    # Eq. 3, tensor + sequence parallel: s b h (34/t + 5 a s/(h t))
    assert _act("none", 8, True) == pytest.approx(sbh * (34 / 8 + 5 * A * S / (H * 8)), rel=1e-12)
    # Eq. 4, + selective recomputation: 34 s b h / t
    assert _act("selective", 8, True) == pytest.approx(34 * sbh / 8, rel=1e-12)
    # full recomputation keeps the layer input only: 2 s b h (sharded with SP)
    assert _act("full", 8, False) == pytest.approx(2 * sbh, rel=1e-12)
    # numbers: 175B, t = 8, SP + selective = 34 * 2048 * 12288 / 8 = 106.95 MB per layer
    assert _act("selective", 8, True) / 1e6 == pytest.approx(106.954752, rel=1e-9)


def _megatron_knowns(row):
    i = CASES[row]["inputs"]
    return dict(global_batch=i["global_batch"], seq_len=i["seq_len"], num_layers=i["layers"], hidden_size=i["hidden"],
                vocab_size=i["vocab"], flops_per_mac=Q_(1, "MAC"), training_passes=4)


@pytest.mark.skipif(not CASES, reason="published_cases.json not available")
@pytest.mark.parametrize("row", ["megatron_t1_1p7B", "megatron_t1_7p5B", "megatron_t1_39p1B", "megatron_t1_145p6B",
                                 "megatron_t1_529p6B"])
def test_megatron_flops_per_iteration(row):
    P = mlsysim.Equations.Parallelism
    k = _megatron_knowns(row)
    F = P.evaluate(outputs=["flops_per_iteration"], **k).flops_per_iteration.to("FLOP").magnitude
    i = CASES[row]["inputs"]
    B, s, l, h, V = i["global_batch"], i["seq_len"], i["layers"], i["hidden"], i["vocab"]
    hand = 96 * B * s * l * h ** 2 * (1 + s / (6 * h) + V / (16 * l * h))  # Narayanan et al. 2021 Sec. 5.1
    assert F == pytest.approx(hand, rel=0.01)
    # cross-check with the paper: aggregate PFLOP/s = F / iteration time; with the published per-GPU rate X,
    # iteration time = F / (n X) is positive and the aggregate equals n X (Table 1, within rounding)
    pub = CASES[row]["published"]
    assert pub["aggregate_pflops"] * 1e15 == pytest.approx(i["gpus"] * pub["achieved_tflops_per_gpu"] * 1e12, rel=0.01)


def test_evaluate_reports_missing_inputs():
    with pytest.raises(UnderdeterminedError, match="peak_flops"):
        mlsysim.Equations.Parallelism.evaluate(outputs=["compute_time"], **_megatron_knowns_plain())


def _megatron_knowns_plain():
    return dict(global_batch=512, seq_len=2048, num_layers=24, hidden_size=2304, vocab_size=51200,
                flops_per_mac=Q_(1, "MAC"), training_passes=4, num_devices=32, compute_efficiency=0.5)


def test_compute_time_is_iron_law_of_the_per_device_share():
    k = dict(_megatron_knowns_plain(), peak_flops=Q_(312, "TFLOP/s"))
    out = mlsysim.Equations.Parallelism.evaluate(outputs=["compute_time"], **k)
    F = 96 * 512 * 2048 * 24 * 2304 ** 2 * (1 + 2048 / (6 * 2304) + 51200 / (16 * 24 * 2304))
    assert out.compute_time.to("s").magnitude == pytest.approx(F / 32 / (0.5 * 312e12), rel=1e-12)


def test_domain_errors():
    with pytest.raises(DomainError):
        mlsysim.Equations.PipelineBubble.evaluate(pp=0, microbatches=4, pipeline_interleave=1)
    with pytest.raises(DomainError):
        mlsysim.Equations.PipelineBubble.evaluate(pp=2.5, microbatches=4, pipeline_interleave=1)
