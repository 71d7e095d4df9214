"""Equation sets TransformerCost, KVCache, MegatronGPT and CNNCost.

Expected numbers come from papers (cited per test, mostly via shared/reference/published_cases.json)
or from hand calculations written out here.
"""
import math

import numpy as np
import pytest

from mlsysim import Equations, Q_
from mlsysim.core.equation_sets import transformer as T
from mlsysim.core.errors import DimensionError, InfeasibleError, UnitError, UnderdeterminedError

MAC = Q_(1, "MAC")  # = 2 FLOP
SETS = ["TransformerCost", "KVCache", "MegatronGPT", "CNNCost"]


@pytest.mark.parametrize("name", SETS)
def test_dimensions_and_sources(name):
    s = Equations[name]
    s.check_dimensions()
    for eq in s.equations.values():
        assert eq.source is not None and eq.description
    assert "\\label{eq:" in s.latex()


def test_mac_is_two_flops():
    assert T.FLOPS_PER_MAC.m_as("FLOP") == 2.0


# ---------------------------------------------------------------- Megatron-LM (Narayanan et al. 2021)
# Table 1 rows (published_cases.json megatron_t1_*): (params_B, heads, hidden, layers, global batch)
MEGATRON_ROWS = {
    "1.7B": (1.7, 24, 2304, 24, 512),
    "7.5B": (7.5, 32, 4096, 36, 512),
    "39.1B": (39.1, 64, 8192, 48, 1536),
    "145.6B": (145.6, 96, 12288, 80, 2304),
    "529.6B": (529.6, 128, 20480, 105, 2520),
}
S, V = 2048, 51200


@pytest.mark.parametrize("row", list(MEGATRON_ROWS))
def test_megatron_parameters_table1(row):
    pub, _a, h, l, _b = MEGATRON_ROWS[row]
    out = Equations.MegatronGPT.evaluate(outputs=["parameters"], num_layers=l, hidden_size=h, vocab_size=V, seq_len=S)
    # tolerance of the case: param_count_rel 0.03
    assert out.parameters.magnitude == pytest.approx(pub * 1e9, rel=0.03)


@pytest.mark.parametrize("row", list(MEGATRON_ROWS))
def test_megatron_flops_per_iteration_table1(row):
    _p, _a, h, l, B = MEGATRON_ROWS[row]
    out = Equations.MegatronGPT.evaluate(num_layers=l, hidden_size=h, vocab_size=V, seq_len=S, global_batch=B,
                                         training_passes=4, flops_per_mac=MAC)
    # hand calculation of the paper's formula F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h))
    want = 96 * B * S * l * h**2 * (1 + S / (6 * h) + V / (16 * l * h))
    assert out.flops_per_iteration.m_as("FLOP") == pytest.approx(want, rel=1e-12)
    assert out.hardware_flops_per_iteration.m_as("FLOP") == pytest.approx(want, rel=1e-12)
    # model FLOPs: 3 passes instead of 4 (MFU = 0.75 x HFU, case notes)
    assert out.model_flops_per_iteration.m_as("FLOP") == pytest.approx(0.75 * want, rel=1e-12)


def test_megatron_1T_flops_per_iteration_case_note():
    # published_cases.json megatron_t1 notes: 1T row -> 5.139e19 FLOPs/iter
    # (Narayanan et al. 2021 Table 1: 1T, 128 layers, h 25600, batch 3072)
    out = Equations.MegatronGPT.evaluate(num_layers=128, hidden_size=25600, vocab_size=V, seq_len=S,
                                         global_batch=3072, training_passes=4, flops_per_mac=MAC)
    assert out.flops_per_iteration.m_as("FLOP") == pytest.approx(5.139e19, rel=0.01)
    assert out.parameters.magnitude == pytest.approx(1.008e12, rel=0.01)  # "1T" = 1008B (megatron_eq4 case)


def test_megatron_training_time_eq4():
    # published_cases.json megatron_eq4_training_time: time = 8 T P / (n X); GPT-3: 34 days, 1T: 84 days
    ts = Equations.TransformerCost
    for P, Tok, n, X, days in [(175e9, 300e9, 1024, 140e12, 34), (1008e9, 450e9, 3072, 163e12, 84)]:
        F = ts.solve("training_flops", active_parameters=P, tokens=Tok, training_passes=4, flops_per_mac=MAC).value
        t_days = F.m_as("FLOP") / (n * X) / 86400
        assert t_days == pytest.approx(days, rel=0.05)


def test_megatron_equation_accessors_are_shared_objects():
    # the Parallelism set re-uses these objects instead of retyping the formula
    assert T.megatron_flops_per_iteration_equation() is T.megatron_flops_per_iteration_equation()
    s = Equations.MegatronGPT
    assert s.equations["megatron_flops_per_iteration"] is T.megatron_flops_per_iteration_equation()
    assert s.equations["megatron_parameters"] is T.megatron_parameters_equation()
    assert T.megatron_model_flops_equation().origin is T.megatron_flops_per_iteration_equation()
    assert T.megatron_hardware_flops_equation().origin is T.megatron_flops_per_iteration_equation()


def test_megatron_hidden_size_for_70B():
    # "what hidden size gives 70B parameters" with l = 80, V = 51200, s = 2048:
    # 12 l h^2 + 13 l h + (V + s) h - P = 0  ->  h = (-b + sqrt(b^2 + 4 a P)) / (2 a)
    a, b, P = 12 * 80, 13 * 80 + V + S, 70e9
    want = (-b + math.sqrt(b * b + 4 * a * P)) / (2 * a)
    sol = Equations.MegatronGPT.solve("hidden_size", parameters=P, num_layers=80, vocab_size=V, seq_len=S)
    assert float(sol.continuous.magnitude) == pytest.approx(want, rel=1e-9)
    assert 8500 < want < 8600
    # a width is a count: rounded to the whole number that keeps the parameters within 70B (floor of 8510.9)
    assert float(sol.value.magnitude) == math.floor(want) and "rounded" in sol.note


def test_general_count_reduces_to_megatron_closed_form():
    # GPT architecture (MHA, d_ff = 4h, biases, LayerNorm, tied output, learned positions): the general count is
    # the Megatron closed form 12 l h^2 + 13 l h + (V + s) h plus the final LayerNorm (2h), which it omits.
    l, h = 24, 2304
    gen = Equations.TransformerCost.evaluate(
        outputs=["parameters"], num_layers=l, hidden_size=h, num_heads=24, num_kv_heads=24, head_dim=96,
        vocab_size=V, ffn_hidden_size=4 * h, ffn_matrices=2, untied_output=0, position_table_rows=S, qkv_bias=1,
        linear_bias=1, norm_weights=2, router_experts=0, num_experts=1).parameters.magnitude
    assert gen == 12 * l * h**2 + 13 * l * h + (V + S) * h + 2 * h


# ---------------------------------------------------------------- training compute
def test_chinchilla_6ND():
    # published_cases.json chinchilla_compute: 70B params, 1.4T tokens, C = 5.76e23 FLOP (Hoffmann et al. 2022)
    sol = Equations.TransformerCost.solve("training_flops", active_parameters=70e9, tokens=1.4e12,
                                          training_passes=3, flops_per_mac=MAC)
    assert sol.value.m_as("FLOP") == pytest.approx(5.76e23, rel=0.05)
    assert sol.value.m_as("FLOP") == pytest.approx(6 * 70e9 * 1.4e12, rel=1e-12)  # hand: 6ND


def test_tokens_for_budget_inverse():
    # inverse: tokens that a 5.76e23 FLOP budget buys for 70B params, 6ND -> D = C / (6N) = 1.371e12
    sol = Equations.TransformerCost.solve("tokens", training_flops=Q_(5.76e23, "FLOP"), active_parameters=70e9,
                                          training_passes=3, flops_per_mac=MAC)
    assert float(sol.value.magnitude) == pytest.approx(5.76e23 / (6 * 70e9), rel=1e-12)


# ---------------------------------------------------------------- KV cache
def test_kv_opt13b_vllm():
    # published_cases.json vllm_kv_cache_opt13b: 2 x 5120 x 40 x 2 bytes = 819,200 bytes per token
    out = Equations.KVCache.evaluate(num_layers=40, num_kv_heads=40, head_dim=128, bytes_per_element=Q_(2, "byte"),
                                     seq_len=2048, batch_size=1)
    assert out.kv_bytes_per_token.m_as("byte") == 819_200
    assert out.kv_cache_bytes.m_as("GiB") == pytest.approx(1.6, rel=0.03)  # "1.6 GB per request at 2048"


def test_kv_arrays_broadcast():
    ctx = np.array([1024, 4096, 8192])
    out = Equations.KVCache.evaluate(num_layers=80, num_kv_heads=8, head_dim=128, bytes_per_element=Q_(2, "byte"),
                                     seq_len=ctx, batch_size=4)
    # hand: 2*80*8*128*2 = 327,680 bytes per token
    np.testing.assert_allclose(out.kv_cache_bytes.m_as("byte"), 327_680 * ctx * 4)


def test_kv_units_enforced():
    with pytest.raises(UnitError):
        Equations.KVCache.evaluate(num_layers=80, num_kv_heads=8, head_dim=128, bytes_per_element=2,
                                   seq_len=1, batch_size=1)


def test_cnn_flops_two_per_mac():
    # published_cases.json cnn_reference_costs: ResNet-50 4.09 GMACs = 8.18 GFLOPs
    out = Equations.CNNCost.evaluate(outputs=["flops"], macs=4.09e9, flops_per_mac=MAC)
    assert out.flops.m_as("FLOP") == pytest.approx(8.18e9, rel=1e-12)


def test_infeasible_parameter_target():
    # fewer parameters than the embeddings alone: no number of layers reaches it
    arch = dict(hidden_size=4096, num_heads=32, num_kv_heads=8, head_dim=128, vocab_size=128256,
                ffn_hidden_size=14336, ffn_matrices=3, untied_output=1, position_table_rows=0, qkv_bias=0,
                linear_bias=0, norm_weights=1, router_experts=0, num_experts=1)
    with pytest.raises(InfeasibleError):
        Equations.TransformerCost.solve("num_layers", parameters=1e6, **arch)


def test_solve_needs_target():
    with pytest.raises(UnderdeterminedError):
        Equations.KVCache.solve("num_layers", num_kv_heads=8, head_dim=128, bytes_per_element=Q_(2, "byte"))


def test_dimension_error_is_caught():
    from mlsysim.core.equations import Equation, EquationSet
    from mlsysim.core.sources import derived
    from mlsysim.core.variables import sym

    bad = EquationSet("Bad", [Equation("kv", "kv_bytes_per_token", 2 * sym.num_layers * sym.head_dim,
                                       source=derived("test", "deliberately wrong"), description="wrong")])
    with pytest.raises(DimensionError):
        bad.check_dimensions()


# ---------------------------------------------------------------- round trips: every variable of every set
TC_POINTS = [
    dict(num_layers=32, hidden_size=4096, num_heads=32, num_kv_heads=8, head_dim=128, vocab_size=32000,
         ffn_hidden_size=14336, ffn_matrices=3, untied_output=1, position_table_rows=4096, qkv_bias=1,
         linear_bias=1, norm_weights=2, router_experts=8, num_experts=8, experts_per_token=2, seq_len=4096,
         flops_per_mac=MAC, bytes_per_element=Q_(2, "byte"), training_passes=3, tokens=1e12),
    dict(num_layers=12, hidden_size=768, num_heads=12, num_kv_heads=12, head_dim=64, vocab_size=50257,
         ffn_hidden_size=3072, ffn_matrices=2, untied_output=1, position_table_rows=1024, qkv_bias=1,
         linear_bias=1, norm_weights=1, router_experts=4, num_experts=4, experts_per_token=1, seq_len=1024,
         flops_per_mac=MAC, bytes_per_element=Q_(4, "byte"), training_passes=4, tokens=3e11),
]
KV_POINTS = [dict(num_layers=80, num_kv_heads=8, head_dim=128, bytes_per_element=Q_(2, "byte"), seq_len=8192,
                  batch_size=16),
             dict(num_layers=40, num_kv_heads=40, head_dim=128, bytes_per_element=Q_(1, "byte"), seq_len=2048,
                  batch_size=3)]
MG_POINTS = [dict(num_layers=24, hidden_size=2304, vocab_size=51200, seq_len=2048, global_batch=512,
                  training_passes=4, flops_per_mac=MAC),
             dict(num_layers=105, hidden_size=20480, vocab_size=51200, seq_len=4096, global_batch=2520,
                  training_passes=3, flops_per_mac=MAC)]
CNN_POINTS = [dict(parameters=25557032, macs=4.09e9, peak_activation_elements=802816, flops_per_mac=MAC,
                   bytes_per_element=Q_(1, "byte")),
              dict(parameters=22604, macs=2.66e6, peak_activation_elements=8000, flops_per_mac=MAC,
                   bytes_per_element=Q_(4, "byte"))]
POINTS = {"TransformerCost": TC_POINTS, "KVCache": KV_POINTS, "MegatronGPT": MG_POINTS, "CNNCost": CNN_POINTS}


def _cases():
    for name, pts in POINTS.items():
        s = Equations[name]
        for var in s.inputs:
            for i in range(len(pts)):
                yield name, var, i


def _magnitude(q, var):
    from mlsysim.core.variables import VARIABLES

    v = VARIABLES[var]
    return q.m_as(v.pint_unit) if hasattr(q, "units") else float(q)


@pytest.mark.parametrize("name,var,i", list(_cases()))
def test_round_trip_every_input(name, var, i):
    """Forward, then solve each target that depends on ``var``: the input is recovered to 1e-9."""
    s = Equations[name]
    point = POINTS[name][i]
    assert set(point) == set(s.inputs)
    fwd = s.evaluate(**point)
    # targets that really depend on var (some cancel: N_act - N_emb in flops_per_token drops position rows)
    bumped = dict(point)
    bumped[var] = point[var] * 2
    fwd2 = s.evaluate(**bumped)
    targets = [d for d in s.derived if var in s.input_deps(d)
               and not np.isclose(_magnitude(fwd2[d], d), _magnitude(fwd[d], d), rtol=1e-12, atol=0)]
    assert targets, f"nothing in {name} depends on {var}"
    for t in targets:
        leaves = s.input_deps(t)
        knowns = {k: point[k] for k in leaves if k != var}
        knowns[t] = fwd[t]
        sol = s.solve(var, **knowns)
        got = _magnitude(sol.value, var)
        want = _magnitude(Q_(point[var]) if not hasattr(point[var], "units") else point[var], var)
        assert got == pytest.approx(want, rel=1e-9), (name, var, t)
