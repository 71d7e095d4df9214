"""DistributedSolver: Megatron-LM Table 1, layouts, search, inverse questions."""
import json
import pathlib

import numpy as np
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.solvers.distributed import DEFAULT_ASSUMPTIONS, DistributedSolver, placement
from mlsysim.core.errors import (DomainError, MlsysimError, OverdeterminedError, UnderdeterminedError,
                                 UnknownNameError, UnknownVariableError)
from mlsysim.models import TransformerWorkload
from mlsysim.systems import Systems

PATH = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "published_cases.json"
CASES = {c["id"]: c for c in json.loads(PATH.read_text())}
ROWS = ["megatron_t1_1p7B", "megatron_t1_7p5B", "megatron_t1_39p1B", "megatron_t1_145p6B", "megatron_t1_529p6B"]
S = DistributedSolver()


def gpt(layers, hidden, heads, vocab=51200, seq=2048):
    return TransformerWorkload(name=f"GPT l{layers} h{hidden}", num_layers=layers, hidden_size=hidden,
                               num_heads=heads, vocab_size=vocab, seq_len=seq, learned_positions=True, bias="all",
                               norm="layernorm")


#: the validation catalogue, which holds each Table 1 row's run configuration (one place: the layouts of NVIDIA/
#: Megatron-LM examples/sc21, the paper's artifact)
VALIDATION = {c["id"]: c for c in json.loads(
    (PATH.parents[1] / "validation" / "data" / "cases.json").read_text())["cases"]}


def megatron_row(row, as_run=False):
    """A Table 1 row on the default per-operation model: TP/PP/DP, batch and model as published; the framework
    settings of the paper's artifact (examples/sc21: fp16, PyTorch DDP for PP = 1 and Megatron's local DDP, not
    overlapped, for PP > 1; the interleave it sets), full recomputation, no ZeRO; microbatch 1 (issue 15's
    acceptance), or the artifact's own microbatch with ``as_run``."""
    i = CASES[row]["inputs"]
    layout = VALIDATION[f"{row}_throughput" + ("_as_run" if as_run else "")]["method"]["layout"]
    assert (layout["tp"], layout["pp"], layout["dp"], layout["global_batch"]) == (
        i["tensor_parallel"], i["pipeline_parallel"], i["data_parallel"], i["global_batch"])
    assert layout["recompute"] == "full" and layout["zero_stage"] == 0 and layout["precision"] == "fp16"
    assert as_run or layout["micro_batch_size"] == 1
    fleet = Systems.A100_Megatron.replace(num_nodes=i["gpus"] // 8)
    return S.solve(model=gpt(i["layers"], i["hidden"], i["attention_heads"], i["vocab"], i["seq_len"]), fleet=fleet,
                   **layout)


#: issue 15's acceptance (5% average, 10% maximum) on the per-operation model with the calibrated laws of main
#: (nothing tuned to these rows), at microbatch 1 with the artifact's framework settings: errors -0.6, -8.0, -1.2,
#: +3.1, +2.6 % (average 3.1 %); at the artifact's microbatch sizes +2.6, -0.3, -4.2, +0.6, +2.6 % (average 2.1 %)
MISSES_10: set = set()


def _pred_over_pub(row, as_run=False):
    return megatron_row(row, as_run).device_flops_rate.to("TFLOP/s").magnitude / CASES[row]["published"][
        "achieved_tflops_per_gpu"]


@pytest.mark.skipif(not CASES, reason="published_cases.json not available")
@pytest.mark.parametrize("row", ROWS)
def test_megatron_table1_throughput_within_15_percent(row):
    r = megatron_row(row)
    pub = CASES[row]["published"]["achieved_tflops_per_gpu"]
    pred = r.device_flops_rate.to("TFLOP/s").magnitude
    print(f"{row}: predicted {pred:.1f} TFLOP/s per GPU vs {pub} published ({pred / pub - 1:+.1%})")
    assert pred == pytest.approx(pub, rel=CASES[row]["tolerance"]["tflops_per_gpu_rel_if_predicted"])
    assert r.fits
    assert r.model_kind == "per_operation"
    # HFU / MFU = hardware FLOPs (Megatron's 96 B s l h^2 (1 + s/6h + V/16lh): 4 passes of the layers, 3 of the
    # LM head) over model FLOPs (3 passes of every GEMM: 72 B s l h^2 + 12 B s^2 l h + 6 B s h V)
    i = CASES[row]["inputs"]
    B, s, l, h, V = i["global_batch"], i["seq_len"], i["layers"], i["hidden"], i["vocab"]
    hw = 96 * B * s * l * h ** 2 + 16 * B * s ** 2 * l * h + 6 * B * s * h * V
    model = 72 * B * s * l * h ** 2 + 12 * B * s ** 2 * l * h + 6 * B * s * h * V
    assert float(r.hfu) / float(r.mfu) == pytest.approx(hw / model, rel=1e-12)


@pytest.mark.skipif(not CASES, reason="published_cases.json not available")
@pytest.mark.parametrize("as_run", [False, True], ids=["microbatch1", "as_run"])
@pytest.mark.parametrize("row", [pytest.param(r, marks=pytest.mark.xfail(strict=True, reason="issue 15"))
                                 if r in MISSES_10 else r for r in ROWS])
def test_megatron_table1_throughput_within_10_percent(row, as_run):
    """Issue 15 acceptance: every row within 10 % (at microbatch 1, and at the artifact's microbatch sizes)."""
    assert abs(_pred_over_pub(row, as_run) - 1) <= 0.10


@pytest.mark.skipif(not CASES, reason="published_cases.json not available")
@pytest.mark.parametrize("as_run", [False, True], ids=["microbatch1", "as_run"])
def test_megatron_table1_average_error(as_run):
    """Issue 15 acceptance: one assumption set for the five rows; average |error| within 5%."""
    errs = [abs(_pred_over_pub(row, as_run) - 1) for row in ROWS]
    assert sum(errs) / len(errs) <= 0.05, errs


def test_megatron_artifact_layouts_are_the_scripts():
    """The run configuration read from the validation catalogue is examples/sc21's, typed here from
    run_table_1.sh (--micro-batch-size, --DDP-impl, --num-layers-per-virtual-pipeline-stage) and CONFIG.sh (--fp16)."""
    script = {"megatron_t1_1p7B": (16, "torch", None), "megatron_t1_7p5B": (16, "torch", None),
              "megatron_t1_39p1B": (4, "local", None), "megatron_t1_145p6B": (2, "local", 5),
              "megatron_t1_529p6B": (1, "local", 1)}
    for row, (mbs, ddp, per_virtual) in script.items():
        i = CASES[row]["inputs"]
        v = 1 if per_virtual is None else i["layers"] // i["pipeline_parallel"] // per_virtual
        for suffix, mb in (("", 1), ("_as_run", mbs)):
            lay = VALIDATION[f"{row}_throughput{suffix}"]["method"]["layout"]
            assert (lay["micro_batch_size"], lay["overlap_grad_reduce"], lay["pipeline_interleave"],
                    lay["precision"]) == (mb, ddp == "torch", v, "fp16"), row


def test_local_ddp_exposes_the_whole_gradient_reduction():
    """overlap_grad_reduce=False (Megatron-LM 2021's local DDP): the exposed DP time is all of the reduction; with
    the default bucketed overlap, max(T_DP / n_bucket, T_DP - T_win); nothing else in the step changes."""
    kw = dict(model=gpt(24, 2304, 24), fleet=Systems.A100_Megatron.replace(num_nodes=4), tp=1, pp=1, dp=32,
              global_batch=512, micro_batch_size=1, recompute="full", zero_stage=0)
    on = S.solve(**kw).to_dict()
    off = S.solve(overlap_grad_reduce=False, **kw).to_dict()
    knowns = S.bind(**kw).knowns
    t_dp, n_b = on["dp_comm_time"]["value"], knowns["dp_buckets"]
    # the window: the last microbatch's backward on the first stage
    win = mlsysim.Equations.TrainingStep.evaluate(outputs=["dp_overlap_window"], **knowns).dp_overlap_window.m_as("s")
    assert n_b > 1 and t_dp > win > 0
    assert on["dp_exposed_time"]["value"] == pytest.approx(max(t_dp / n_b, t_dp - win), rel=1e-12)
    assert off["dp_exposed_time"]["value"] == pytest.approx(t_dp, rel=1e-12)
    assert off["dp_comm_time"]["value"] == pytest.approx(t_dp, rel=1e-12)
    assert off["step_time"]["value"] - on["step_time"]["value"] == pytest.approx(
        t_dp - on["dp_exposed_time"]["value"], rel=1e-9)
    with pytest.raises(DomainError, match="overlap_grad_reduce"):
        S.solve(overlap_grad_reduce=1, **kw)
    with pytest.raises(DomainError, match="dp_overlap"):
        S.solve(overlap_grad_reduce=False, compute_efficiency=0.5, **kw)


def test_gradient_bytes_follow_the_training_precision():
    """Megatron-LM reduces fp32 gradients when training in bf16 and the fp16 gradients themselves in fp16: the DP
    message is params_per_device x 4 or x 2 bytes (1.7B GPT, TP = PP = 1); an explicit override wins."""
    kw = dict(model=gpt(24, 2304, 24), fleet=Systems.A100_Megatron.replace(num_nodes=4), tp=1, pp=1, dp=32,
              global_batch=512, micro_batch_size=1, recompute="full", zero_stage=0)
    params = S.bind(**kw).knowns["parameters"]
    bf16 = S.bind(precision="bf16", **kw)
    fp16 = S.bind(precision="fp16", **kw)
    assert bf16.knowns["grad_bytes_per_element"].m_as("byte") == 4
    assert fp16.knowns["grad_bytes_per_element"].m_as("byte") == 2
    assert "fp16 gradients" in str(fp16.assumptions["grad_bytes_per_element"].source)
    r = mlsysim.Equations.TrainingStep.evaluate(outputs=["dp_message_bytes"], **fp16.knowns)
    assert r.dp_message_bytes.m_as("byte") == pytest.approx(params * 2, rel=1e-12)
    fp32_acc = DistributedSolver(grad_bytes_per_element=Q_(4, "byte")).bind(precision="fp16", **kw)
    assert fp32_acc.knowns["grad_bytes_per_element"].m_as("byte") == 4


def test_single_device_step_is_the_iron_law_by_hand():
    """One A100 (no communication): step = F / (eta R_peak) with Megatron's FLOP count, written out here."""
    fleet = mlsysim.Fleet(hardware="A100", num_nodes=1, devices_per_node=1, intra_node_fabric="NVLink3",
                          inter_node_fabric="InfiniBand_HDR")
    r = S.solve(model=gpt(24, 2304, 24), fleet=fleet, tp=1, pp=1, dp=1, global_batch=8, recompute="full",
                zero_stage=0, compute_efficiency=0.5)
    # F = 96 B s L h^2 (1 + s/(6h) + V/(16 L h)), B = 8, s = 2048, L = 24, h = 2304, V = 51200
    #   = 96 * 8 * 2048 * 24 * 2304^2 * (1 + 0.148148 + 0.057870) = 2.00388e14 * 1.206019 = 2.41669e14 FLOP
    F = 96 * 8 * 2048 * 24 * 2304 ** 2 * (1 + 2048 / (6 * 2304) + 51200 / (16 * 24 * 2304))
    assert F == pytest.approx(2.41669e14, rel=1e-5)
    # T = F / (0.5 * 312e12) = 1.549162 s
    assert r.step_time.to("s").magnitude == pytest.approx(F / (0.5 * 312e12), rel=1e-12)
    assert r.step_time.to("s").magnitude == pytest.approx(1.549162, rel=1e-5)
    # MFU counts 3 passes of the 4 done under full recomputation: 0.5 * 3/4 = 0.375; HFU = 0.5
    assert float(r.mfu) == pytest.approx(0.375, rel=1e-12)
    assert float(r.hfu) == pytest.approx(0.5, rel=1e-12)
    assert float(r.bubble_fraction) == 0.0
    assert sum(q.to("s").magnitude for q in r.breakdown().values()) == pytest.approx(1.549162, rel=1e-5)


def test_two_stage_pipeline_by_hand():
    """pp = 2 on one node of 2 A100s over NVLink 3: compute, p2p sends and the bubble, written out."""
    fleet = mlsysim.Fleet(hardware="A100", num_nodes=1, devices_per_node=2, intra_node_fabric="NVLink3",
                          inter_node_fabric="InfiniBand_HDR")
    r = S.solve(model=gpt(24, 2304, 24), fleet=fleet, tp=1, pp=2, dp=1, global_batch=8, recompute="full",
                zero_stage=0, compute_efficiency=0.5, link_efficiency=0.8)
    F = 96 * 8 * 2048 * 24 * 2304 ** 2 * (1 + 2048 / (6 * 2304) + 51200 / (16 * 24 * 2304))
    comp = F / 2 / (0.5 * 312e12)                     # each device does half: 0.774581 s
    # m = 8 microbatches; bubble = (p-1)/m = 1/8 of the stage's work; idle share of the schedule 1/9
    bubble = comp / 8
    # one send: alpha + b s h 2 bytes / (0.8 * 300 GB/s) (NVLink 3: 300 GB/s each way, alpha from the registry)
    alpha = 1e-6  # NVLink 3 per-message latency in the Fabrics registry: 1 us
    send = alpha + 2048 * 2304 * 2 / (0.8 * 300e9)
    pp_comm = 2 * 8 * (1 / 2) * send                 # 2 v m (p-1)/p sends
    assert r.compute_time.to("s").magnitude == pytest.approx(comp, rel=1e-12)
    assert float(r.bubble_ratio) == pytest.approx(1 / 8, rel=1e-12)
    assert float(r.bubble_fraction) == pytest.approx(1 / 9, rel=1e-12)
    assert r.step_time.to("s").magnitude == pytest.approx(comp + bubble + pp_comm, rel=1e-12)


def test_tp_groups_may_not_straddle_nodes():
    # 48 heads allow tp = 3, but 3 does not divide the 8 GPUs of a DGX node: groups 3-5 and 6-8 would span
    # two nodes while the model prices them on NVLink
    model = gpt(24, 3072, 48)
    with pytest.raises(DomainError, match="straddle"):
        S.solve(model=model, fleet=Systems.A100_Megatron.replace(num_nodes=3), tp=3, pp=1, dp=8, global_batch=64)


def test_time_to_train_and_tokens_per_second():
    r = megatron_row("megatron_t1_39p1B")
    tps = 1536 * 2048 / r.step_time.to("s").magnitude
    assert r.tokens_per_second.to("1/s").magnitude == pytest.approx(tps, rel=1e-12)
    assert r.time_to_train(300e9).to("s").magnitude == pytest.approx(300e9 / tps, rel=1e-12)


def test_result_reports_assumptions_and_serialises():
    r = megatron_row("megatron_t1_7p5B")
    names = {a.name for a in r.assumptions}
    # the per-operation model: the calibrated laws (fitted, kind "fit") and its own assumptions
    assert {"gemm_efficiency_max", "gemm_half_flops", "tp_overlap", "grad_bytes_per_element",
            "link_efficiency"} <= names
    assert "compute_efficiency" not in names
    # every assumption is an explicit one (with its reasoning), a fit, or a published convention (the causal-skip
    # switch's default: Megatron-LM's full-matrix count, cited with its section)
    assert all(a.source.kind in ("assumption", "fit") and (a.source.note or a.source.kind == "fit")
               or a.source.kind == "paper" and a.source.locator for a in r.assumptions)
    d = r.to_dict()
    assert d["layout"]["tp"] == 4 and "step_time" in d and d["fits"] is True
    assert "step_time" in repr(r) and "gemm_efficiency_max" in repr(r)


def test_overrides_change_the_result_and_are_recorded():
    base = S.solve(model=gpt(24, 2304, 24), fleet=Systems.A100_Megatron.replace(num_nodes=4), tp=1, pp=1, dp=32,
                   global_batch=512, recompute="full", compute_efficiency=0.5)
    slow = S.solve(model=gpt(24, 2304, 24), fleet=Systems.A100_Megatron.replace(num_nodes=4), tp=1, pp=1, dp=32,
                   global_batch=512, recompute="full", compute_efficiency=0.25)
    # compute time scales as 1/eta: halving eta doubles it
    assert slow.compute_time.to("s").magnitude == pytest.approx(2 * base.compute_time.to("s").magnitude, rel=1e-12)
    ce = [a for a in slow.assumptions if a.name == "compute_efficiency"][0]
    assert ce.value == 0.25 and ce.source.citation == "value given by the caller"


def test_oversubscription_doubles_inter_node_share_of_dp_allreduce():
    model = gpt(48, 8192, 64)
    fleet = Systems.A100_Megatron.replace(num_nodes=16)
    kw = dict(model=model, tp=8, pp=1, dp=16, global_batch=512, recompute="full", zero_stage=0, compute_efficiency=0.5)
    one = S.solve(fleet=fleet, **kw)
    two = S.solve(fleet=fleet.with_oversubscription(2), **kw)
    # tp = 8 fills a node, so each DP group has one rank per node: the all-reduce is all inter-node,
    # T = 2(n-1) alpha + bandwidth term; 2:1 oversubscription doubles the bandwidth term only
    lat = 2 * 15 * 5e-6
    t1 = one.dp_comm_time.to("s").magnitude
    t2 = two.dp_comm_time.to("s").magnitude
    assert t2 - lat == pytest.approx(2 * (t1 - lat), rel=1e-12)
    # hand: M = P/8 * 2 bytes; 2 * 15/16 * M / (0.8 * 25e9) + lat
    M = model.parameters / 8 * 2
    assert t1 == pytest.approx(2 * 15 / 16 * M / (0.8 * 25e9) + lat, rel=1e-12)


def test_placement_rule():
    p = placement(np.array([1, 2, 8, 16]), np.array([1, 2, 1, 1]), np.array([32, 8, 4, 2]), 8)
    np.testing.assert_array_equal(p["tp_local"], [1, 2, 8, 8])
    np.testing.assert_array_equal(p["tp_nodes"], [1, 1, 1, 2])
    np.testing.assert_array_equal(p["dp_local"], [8, 2, 1, 1])
    np.testing.assert_array_equal(p["pp_intra"], [True, True, True, False])


@pytest.mark.parametrize("kw,match", [
    (dict(tp=8, pp=2, dp=3), "does not match"),
    (dict(tp=5, pp=1, dp=64 * 8 // 5), None),
    (dict(tp=8, pp=5, dp=64 // 5), None),
    (dict(tp=2, pp=2, dp=128, global_batch=100), "must divide global_batch"),
    (dict(tp=16, pp=1, dp=32), "larger than a node"),
    (dict(tp=8, pp=1, dp=64, recompute="some"), "recompute"),
    (dict(tp=8, pp=1, dp=64, zero_stage=4), "zero_stage"),
    (dict(tp=8, pp=1, dp=64, compute_efficiency=1.5), "compute_efficiency"),
    (dict(tp=8, pp=1, dp=64, precision="fp12"), "precision"),
])
def test_invalid_layouts(kw, match):
    args = dict(model=gpt(48, 8192, 64), fleet=Systems.A100_Megatron.replace(num_nodes=64), global_batch=512)
    args.update(kw)
    with pytest.raises(MlsysimError) as ei:
        S.solve(**args)
    if match:
        assert match in str(ei.value)


def test_specific_layout_messages():
    args = dict(model=gpt(48, 8192, 64), fleet=Systems.A100_Megatron.replace(num_nodes=64), global_batch=512)
    with pytest.raises(DomainError, match="64 attention heads"):
        S.solve(tp=3, pp=1, dp=None, **dict(args, fleet=Systems.A100_Megatron.replace(num_nodes=3)))
    with pytest.raises(DomainError, match="48 layers"):
        S.solve(tp=8, pp=32, dp=2, compute_efficiency=0.5, **args)   # the flat model needs even stages
    with pytest.raises(DomainError, match="exceeds the model's 48 layers"):
        S.solve(tp=1, pp=64, dp=8, **args)
    with pytest.raises(UnknownNameError):
        S.solve(tp=8, pp=1, dp=64, **dict(args, recompute="partial"))
    # cross-node tensor parallelism is allowed on request
    r = S.solve(tp=16, pp=1, dp=32, allow_cross_node_tp=True, **args)
    assert r.layout["tp"] == 16 and r.tp_exposed_step_time.to("s").magnitude > 0


def test_search_returns_ranked_valid_layouts():
    fleet = Systems.A100_Megatron.replace(num_nodes=8)
    model = gpt(48, 8192, 64)
    table = S.search(model=model, fleet=fleet, global_batch=512)
    assert len(table) > 0 and table.evaluated >= len(table)
    times = [r["step_time"] for r in table]
    assert times == sorted(times)
    for r in table:   # the per-operation model: context parallelism and uneven stages are searched too
        assert r["tp"] * r["cp"] * r["pp"] * r["dp"] == 64
        assert model.num_heads % r["tp"] == 0 and r["pp"] <= model.num_layers
        assert 512 % (r["dp"] * r["micro_batch_size"]) == 0
        assert r["memory_per_device"] <= 80 * 2**30 / 1e9     # 80 GiB = 85.9 GB
    best = table.best
    assert best.step_time.to("s").magnitude == pytest.approx(times[0], rel=1e-12)
    assert best.fits
    d = table.to_dict()
    assert d["fitting"] == len(table) and d["rows"][0]["step_time"] == times[0]
    by_mfu = S.search(model=model, fleet=fleet, global_batch=512, objective="mfu")
    mfus = [r["mfu"] for r in by_mfu]
    assert mfus == sorted(mfus, reverse=True)
    with pytest.raises(UnknownNameError):
        S.search(model=model, fleet=fleet, global_batch=512, objective="speed")


def test_search_matches_scalar_solve():
    fleet = Systems.A100_Megatron.replace(num_nodes=8)
    table = S.search(model=gpt(48, 8192, 64), fleet=fleet, global_batch=512)
    row = table[len(table) // 2]
    r = table.result(len(table) // 2)
    assert r.step_time.to("s").magnitude == pytest.approx(row["step_time"], rel=1e-12)
    assert r.memory_per_device.to("GB").magnitude == pytest.approx(row["memory_per_device"], rel=1e-12)


def _layout():
    return dict(model=gpt(48, 8192, 64), fleet=Systems.A100_Megatron.replace(num_nodes=64), tp=8, pp=2, dp=32,
                global_batch=1536, recompute="full", zero_stage=1, compute_efficiency=0.5)


def test_solve_for_link_bandwidth_round_trip():
    r = S.solve(**_layout())
    sol = S.solve_for("link_bandwidth", step_time=r.step_time, **_layout())
    assert sol.value.to("GB/s").magnitude == pytest.approx(25.0, rel=1e-9)


def test_solve_for_compute_efficiency_round_trip():
    r = S.solve(**_layout())
    sol = S.solve_for("compute_efficiency", step_time=r.step_time, **_layout())
    assert float(sol) == pytest.approx(0.5, rel=1e-9)
    # the per-operation model has no single efficiency to solve for
    with pytest.raises(UnknownVariableError):
        S.solve_for("compute_efficiency", step_time=r.step_time, **dict(_layout(), compute_efficiency=None))


def test_solve_for_num_devices_from_time_to_train():
    r = S.solve(**_layout())
    target = r.time_to_train(1e11)
    sol = S.solve_for("num_devices", time_to_train=target, training_tokens=1e11, **_layout())
    assert float(sol) == pytest.approx(512, rel=1e-9)


def test_solve_for_errors():
    with pytest.raises(UnknownVariableError):
        S.solve_for("warp_speed", step_time=Q_(1, "s"), **_layout())
    # the Solver base's convention: no target is an underdetermined question
    with pytest.raises(UnderdeterminedError):
        S.solve_for("link_bandwidth", **_layout())
    with pytest.raises(OverdeterminedError):
        S.solve_for("link_bandwidth", step_time=Q_(1, "s"), mfu=0.4, **_layout())


def test_solve_for_on_the_per_operation_model():
    lay = dict(_layout(), compute_efficiency=None)
    r = S.solve(**lay)
    assert r.model_kind == "per_operation"
    sol = S.solve_for("link_bandwidth", step_time=r.step_time, **lay)
    # A100_Megatron: InfiniBand HDR, 200 Gb/s = 25 GB/s per device
    assert sol.value.to("GB/s").magnitude == pytest.approx(25.0, rel=1e-6)


def test_solver_base_binding():
    from mlsysim.solvers.base import Solver

    assert isinstance(S, Solver)
    b = S.bind(**dict(_layout(), compute_efficiency=None))
    assert b.entries["equation_set"] == "TrainingStep" and b.knowns["tp"] == 8
    assert b.assumptions["gemm_efficiency_max"].source.kind == "fit"
    assert "tp_overlap" in DistributedSolver.accepted_arguments()


# ------------------------------------------------------------------ issue 18: context and expert parallelism
def test_issue18_acceptance_calls_run_and_break_down():
    D = DistributedSolver()
    f = mlsysim.Fleet(hardware=mlsysim.Hardware.H100, num_nodes=2048, devices_per_node=8)
    M = mlsysim.Models
    for kw in (dict(tp=8, pp=16, dp=128, global_batch=2048, seq_len=8192),          # uneven stages: 126 / 16
               dict(tp=8, pp=16, dp=8, cp=16, global_batch=128, seq_len=131072)):
        r = D.solve(model=M.Llama3_405B, fleet=f, micro_batch_size=1, precision="bf16", **kw)
        parts = r.breakdown()
        assert sum(q.to("s").magnitude for q in parts.values()) == pytest.approx(r.step_time.to("s").magnitude,
                                                                                 rel=1e-9)
        assert (parts["cp_comm_step_time"].to("s").magnitude > 0) == ("cp" in kw)
    r = D.solve(model=M.Mixtral_8x7B, fleet=mlsysim.Fleet(hardware=mlsysim.Hardware.H100, num_nodes=8,
                                                          devices_per_node=8),
                tp=1, pp=1, dp=64, ep=8, global_batch=512, seq_len=4096, micro_batch_size=1, precision="bf16")
    assert r.breakdown()["ep_alltoall_step_time"].to("s").magnitude > 0


def test_expert_parallel_memory_by_hand():
    # Mixtral 8x7B, ep = 8 over dp = 64, ZeRO-1, selective recompute, no SP, micro-batch 1, seq 4096:
    # one expert = 3 x 4096 x 14336 = 176,160,768 parameters; each device keeps 1 of the 8 experts of 32 layers:
    # P_dev = P - 32 x 8 x 176,160,768 x (1 - 1/8)
    D = DistributedSolver()
    m = mlsysim.Models.Mixtral_8x7B
    fleet = mlsysim.Fleet(hardware="H100", num_nodes=8, devices_per_node=8)
    r = D.solve(model=m, fleet=fleet, tp=1, pp=1, dp=64, ep=8, global_batch=512, seq_len=4096)
    n_exp = 3 * 4096 * 14336
    p_dev = m.parameters - 32 * 8 * n_exp * 7 / 8
    states = p_dev * (2 + 2 + 12 / 64)                 # bf16 weights, grads, Adam states over 64 ranks
    # Korthikanti: (10 + 24) s b h per layer, one microbatch; plus the routed copies: k c_cap - 1 = 2 x 1.25 - 1 =
    # 1.5 extra copies per token of the MLP input (h) and its 3 x 14336 intermediates, 2 bytes each
    acts = 32 * (34 * 4096 * 4096 + 1.5 * 2 * 4096 * (4096 + 3 * 14336))
    assert r.model_state_bytes.to("B").magnitude == pytest.approx(states, rel=1e-9)
    assert r.memory_per_device.to("B").magnitude == pytest.approx(states + acts, rel=1e-9)


def test_context_parallel_memory_and_traffic_by_hand():
    # Llama 3 8B on 2 x 8 H100: tp = 1, cp = 8, dp = 2, seq 32768, full recompute
    D = DistributedSolver()
    fleet = mlsysim.Fleet(hardware="H100", num_nodes=2, devices_per_node=8)
    r = D.solve(model="Llama3_8B", fleet=fleet, tp=1, cp=8, pp=1, dp=2, global_batch=16, seq_len=32768,
                recompute="full", zero_stage=1, attention_kernel="flash", dropout=False)
    # activations: full recompute keeps 2 s_loc b h per layer, s_loc = 32768 / 8 = 4096, h = 4096, 32 layers
    acts = 32 * 2 * 4096 * 4096
    assert r.activation_memory.to("B").magnitude == pytest.approx(acts, rel=1e-9)
    # K/V all-gather per layer: 2 x 32768 tokens x 8 KV heads x 128 x 2 bytes = 134,217,728 B over 8 ranks of
    # NVLink 4 at 0.8 x 450 GB/s: 7/8 M / 360e9 + 7 x 1 us; 3 per layer with full recompute (fwd, recompute, bwd)
    ag = 7 / 8 * 134_217_728 / 360e9 + 7e-6
    assert r.cp_comm_step_time.to("s").magnitude == pytest.approx(3 * ag * 32 * 8, rel=1e-9)   # 8 microbatches
    with pytest.raises(DomainError, match="cp = 3 must divide"):
        D.solve(model="Llama3_8B", fleet=fleet.replace(num_nodes=3), tp=1, cp=3, pp=1, dp=8, global_batch=16,
                seq_len=32768)


def test_cp_ep_refused_where_they_do_not_apply():
    D = DistributedSolver()
    fleet = mlsysim.Fleet(hardware="H100", num_nodes=1, devices_per_node=8)
    with pytest.raises(DomainError, match="mixture-of-experts"):
        D.solve(model="Llama3_8B", fleet=fleet, tp=1, pp=1, dp=8, ep=2, global_batch=16)
    with pytest.raises(DomainError, match="per-operation"):
        D.solve(model="Llama3_8B", fleet=fleet, tp=1, pp=1, dp=4, cp=2, global_batch=16, compute_efficiency=0.5)


def test_compute_efficiency_selects_the_flat_model():
    lay = dict(model=gpt(24, 2304, 24), fleet=Systems.A100_Megatron.replace(num_nodes=4), tp=1, pp=1, dp=32,
               global_batch=512, recompute="full")
    assert S.solve(**lay).model_kind == "per_operation"
    assert S.solve(compute_efficiency=0.5, **lay).model_kind == "flat"
    flat = DistributedSolver(compute_efficiency=0.5)
    r = flat.solve(**lay)
    assert r.model_kind == "flat" and set(r.breakdown()) == {"compute_time", "tp_comm_time", "pp_comm_time",
                                                             "bubble_time", "dp_exposed_time"}


def test_num_devices_inverse_rounds_to_a_valid_layout():
    lay = dict(_layout(), compute_efficiency=None)
    r = S.solve(**lay)
    sol = S.solve_for("num_devices", time_to_train=r.time_to_train(1e11) * 1.3, training_tokens=1e11, **lay)
    # the continuous answer (~387) is no layout: devices come in replicas of tp * pp = 16 whose count divides the
    # 1,536 sequences; 384 (dp 24) is too slow, 400-496 give dp 25-31, none of which divides 1,536; so dp = 32
    assert float(sol.value.m_as("")) == 512
    assert "nearest whole number the layout allows" in sol.note


# ------------------------------------------------------------------ issue 13: one attention relation, one default
def test_attention_causal_skip_is_the_serving_default_and_overridable():
    from mlsysim.core import defaults

    fleet = mlsysim.Fleet(hardware="H100", num_nodes=1, devices_per_node=8)
    lay = dict(model="Llama3_8B", fleet=fleet, tp=8, pp=1, dp=1, global_batch=8, seq_len=8192)
    b = S.bind(**lay)
    # the same Assumption the serving solver takes its default from (0: the full score matrix)
    assert b.assumptions["attention_causal_skip"] is defaults.ATTENTION_CAUSAL_SKIP
    assert b.knowns["attention_causal_skip"] == 0
    full = S.solve(**lay)
    skip = S.solve(attention_causal_skip=1, **lay)
    # Llama 3 8B: 32 heads of 128 over tp 8, s = 8192, b = 1: QK^T = 2 x 8192 x 8192 x 4096 / 8 = 6.872e10 FLOP at
    # the full matrix; with the masked half skipped, 2 x 8192 x 4096.5 x 4096 / 8 = 3.436e10 FLOP
    k = dict(full._knowns)
    T = mlsysim.Equations.TrainingStep
    assert T.evaluate(outputs=["score_flops"], **k).score_flops.m_as("FLOP") == pytest.approx(
        2 * 8192 * 8192 * 4096 / 8, rel=1e-12)
    assert T.evaluate(outputs=["score_flops"], **dict(k, attention_causal_skip=1)).score_flops.m_as(
        "FLOP") == pytest.approx(2 * 8192 * 4096.5 * 4096 / 8, rel=1e-12)
    assert skip.step_time < full.step_time
    with pytest.raises(DomainError, match="attention_causal_skip"):
        S.solve(attention_causal_skip=2, **lay)


# ------------------------------------------------------------------ issue 18: offload (ZeRO-Offload, ZeRO-Infinity)
def _offload_layout(**kw):
    # Llama 3 8B on one DGX H100 (8 x H100, 2 TB host memory, PCIe Gen5 x16: 64 GB/s each direction): tp = pp = 1,
    # dp = 8, ZeRO-1, full recompute (2 s b h bytes per layer kept), seq 4096, 64 sequences: m = 8 microbatches
    fleet = mlsysim.Fleet(hardware="H100", num_nodes=1, devices_per_node=8)
    return S.solve(**dict(dict(model="Llama3_8B", fleet=fleet, tp=1, pp=1, dp=8, global_batch=64, seq_len=4096,
                               zero_stage=1, recompute="full", attention_kernel="flash", dropout=False), **kw))


def test_offload_memory_per_device_by_hand():
    P = mlsysim.Models.Llama3_8B.parameters        # the model's parameter count (an input, from its architecture)
    acts_layer = 2 * 4096 * 4096                   # full recompute keeps the layer input: 2 bytes x s b h
    none = _offload_layout()
    # no offload: bf16 weights (2) + bf16 grads (2) + Adam states over 8 ranks (12/8), 32 layers x 1 microbatch in
    # flight (pp = 1)
    assert none.memory_per_device.to("B").magnitude == pytest.approx(P * (2 + 2 + 12 / 8) + 32 * acts_layer,
                                                                     rel=1e-9)
    # optimizer offloaded: the 12/8 bytes per parameter leave the device; the host holds them and the fp32 gradient
    # shard (4/8): 2 bytes per parameter per device, 8 devices per node
    opt = _offload_layout(offload="optimizer")
    assert opt.memory_per_device.to("B").magnitude == pytest.approx(P * (2 + 2) + 32 * acts_layer, rel=1e-9)
    assert opt.host_memory_per_node.to("B").magnitude == pytest.approx(8 * P * (12 / 8 + 4 / 8), rel=1e-9)
    # all three: weights (2) on the host too, the device keeps the grads (2), two layers of weights (2 x 2 P / 32)
    # and two layers of activations; the host adds the weights and all 32 layers' activations
    full = _offload_layout(offload=("optimizer", "activations", "weights"))
    dev = P * 2 + 2 * 2 * P / 32 + 2 * acts_layer
    assert full.memory_per_device.to("B").magnitude == pytest.approx(dev, rel=1e-9)
    host = P * (12 / 8 + 4 / 8 + 2) + 32 * acts_layer
    assert full.host_bytes_per_device.to("B").magnitude == pytest.approx(host, rel=1e-9)
    assert full.fits and full.binding_memory is None


def test_offload_transfers_and_host_adam_by_hand():
    P = mlsysim.Models.Llama3_8B.parameters
    B = 64e9                                       # PCIe Gen5 x16, each direction
    r = _offload_layout(offload="optimizer")
    # the host's Adam over the device's shard P / 8 at the assumed 1e9 parameters/s
    assert r.optimizer_time.to("s").magnitude == pytest.approx(P / 8 / 1e9, rel=1e-9)
    # the fp32 gradient shard (4 P / 8 B = 4.0 GB: 63 ms) hides under the last microbatch's backward (32 layers of
    # an 8B model: far longer); the bf16 parameters come back after the host step, exposed: 2 P / 8 B / 64 GB/s
    assert r.offload_optimizer_step_time.to("s").magnitude == pytest.approx(2 * P / 8 / B, rel=1e-9)
    # no overlap allowed: the activations (8 microbatches x 32 layers x 2 s b h bytes, one direction) and the weights
    # (8 microbatches x 3 passes (forward, recompute, backward) x 2 P bytes) are fully exposed
    slow = DistributedSolver(offload_overlap=0.0)
    fleet = mlsysim.Fleet(hardware="H100", num_nodes=1, devices_per_node=8)
    r = slow.solve(model="Llama3_8B", fleet=fleet, tp=1, pp=1, dp=8, global_batch=64, seq_len=4096, zero_stage=1,
                   recompute="full", attention_kernel="flash", dropout=False, offload="activations,weights")
    assert r.offload_activations_step_time.to("s").magnitude == pytest.approx(8 * 32 * 2 * 4096 * 4096 / B,
                                                                               rel=1e-9)
    assert r.offload_weights_step_time.to("s").magnitude == pytest.approx(8 * 3 * 2 * P / B, rel=1e-9)
    for res in (r, _offload_layout(offload=("optimizer", "activations", "weights"))):
        parts = res.breakdown()
        assert sum(q.to("s").magnitude for q in parts.values()) == pytest.approx(res.step_time.to("s").magnitude,
                                                                                 rel=1e-9)
    # with full overlap, what the link cannot carry within the layers' compute is exposed, and nothing else: the
    # two streams' exposed time is their link time beyond the compute window, or zero
    r1 = _offload_layout(offload="activations,weights")
    link = 8 * 32 * 2 * 4096 * 4096 / B + 8 * 3 * 2 * P / B
    window = (r1.gemm_step_time + r1.kernel_step_time).to("s").magnitude
    exposed = (r1.offload_activations_step_time + r1.offload_weights_step_time).to("s").magnitude
    assert exposed == pytest.approx(max(0.0, link - window), rel=1e-9, abs=1e-12)


def test_offload_host_memory_overflow_and_errors():
    # Llama 3 70B on one DGX H100, ZeRO-2, everything offloaded: the device keeps its gradient shard (2/8 bytes per
    # parameter: 17.6 GB) and two layers' buffers; per device the host holds 12/8 + 4/8 + 2 = 4 bytes per
    # parameter, 8 x 4 x 70.6e9 = 2.26 TB > the node's 2 TB: the layout does not fit, and host memory is what binds
    fleet = mlsysim.Fleet(hardware="H100", num_nodes=1, devices_per_node=8)
    r = S.solve(model="Llama3_70B", fleet=fleet, tp=1, pp=1, dp=8, global_batch=8, seq_len=4096, zero_stage=2,
                recompute="full", offload=("optimizer", "activations", "weights"))
    P = mlsysim.Models.Llama3_70B.parameters
    assert r.host_memory_per_node.to("B").magnitude >= 8 * 4 * P > 2e12
    assert not r.fits and r.binding_memory == "host memory" and r.to_dict()["binding_memory"] == "host memory"
    with pytest.raises(UnknownNameError, match="'optimiser'.*optimizer, activations, weights"):
        _offload_layout(offload=("optimiser",))
    # no sourced host link or host memory: a typed error, not a guess
    b200 = mlsysim.Fleet(hardware="B200", num_nodes=1, devices_per_node=8)
    with pytest.raises(mlsysim.core.errors.MissingValueError, match="host_link_bandwidth"):
        S.solve(model="Llama3_8B", fleet=b200, tp=1, pp=1, dp=8, global_batch=64, offload="optimizer")
    with pytest.raises(DomainError, match="per-operation"):
        _offload_layout(offload="optimizer", compute_efficiency=0.5)


# ------------------------------------------------------------------ issue 18: secondary terms
def test_zero_data_parallel_traffic_by_hand():
    T = mlsysim.Equations.TrainingStep
    f = mlsysim.core.equations.EquationSet("zero", [T.equations["dp_comm_factor"]])

    def factor(gather_grads, param_gathers, be, bg):
        return float(f.evaluate(dp_grad_allgather=gather_grads, dp_param_allgathers=param_gathers,
                                bytes_per_element=Q_(be, "B"), grad_bytes_per_element=Q_(bg, "B")).dp_comm_factor)
    # all-reduce = reduce-scatter + all-gather of gradients: 1
    assert factor(1, 0, 2, 4) == 1.0
    # ZeRO-1/2 at equal precision: reduce-scatter of gradients + all-gather of parameters = an all-reduce (2 Psi)
    assert factor(0, 1, 2, 2) == 1.0
    # ZeRO-3 at equal precision: 3 Psi / 2 Psi = 1.5 (Rajbhandari et al. 2020, Sec. 7.2.2)
    assert factor(0, 2, 2, 2) == 1.5
    # Megatron-LM's distributed optimizer: fp32 gradients reduce-scattered (4), bf16 parameters gathered (2):
    # (4 + 2) / (4 + 4) = 0.75 of an fp32 all-reduce; ZeRO-3: (4 + 2 + 2) / 8 = 1
    assert factor(0, 1, 2, 4) == 0.75 and factor(0, 2, 2, 4) == 1.0
    # the solver: same layout, ZeRO-1 moves 0.75 of ZeRO-0's data-parallel bytes (same all-reduce time otherwise)
    fleet = mlsysim.Fleet(hardware="H100", num_nodes=2, devices_per_node=8)
    lay = dict(model="Llama3_8B", fleet=fleet, tp=8, pp=1, dp=2, global_batch=16, seq_len=4096)
    z0, z1 = S.solve(zero_stage=0, **lay), S.solve(zero_stage=1, **lay)
    assert (z1.dp_comm_time / z0.dp_comm_time).m_as("") == pytest.approx(0.75, rel=1e-12)


def test_interleaved_schedule_activation_memory_by_hand():
    # Llama 3 8B on one DGX H100: pp = 4 (8 layers a stage), dp = 2, 64 sequences: m = 32 microbatches, full
    # recompute (2 s b h bytes a layer, s = h = 4096). Plain 1F1B: the first stage holds p = 4 microbatches;
    # interleaved with v = 2: 4 (1 + 3 / (4 x 2)) = 5.5 (Korthikanti et al. 2022, Sec. 4.2.3)
    fleet = mlsysim.Fleet(hardware="H100", num_nodes=1, devices_per_node=8)
    lay = dict(model="Llama3_8B", fleet=fleet, tp=1, pp=4, dp=2, global_batch=64, seq_len=4096, recompute="full")
    layer = 2 * 4096 * 4096
    assert S.solve(**lay).activation_memory.to("B").magnitude == pytest.approx(layer * 8 * 4, rel=1e-12)
    r = S.solve(pipeline_interleave=2, **lay)
    assert r.activation_memory.to("B").magnitude == pytest.approx(layer * 8 * 5.5, rel=1e-12)


def test_moe_activation_memory_is_zero_for_dense_and_full_recompute():
    T = mlsysim.Equations.TrainingStep
    f = mlsysim.core.equations.EquationSet("moe", [T.equations["expert_activation_bytes_per_layer"]])
    k = dict(local_seq_len=4096, micro_batch_size=1, bytes_per_element=Q_(2, "B"), hidden_size=4096,
             ffn_hidden_size=14336, ffn_matrices=3, tp=2, sp_shards=1, experts_per_token=2, capacity_factor=1.25,
             moe_mlp=1)
    # 1.5 extra copies x 4096 tokens x 2 B x (4096 + 3 x 14336 / 2) = 1.5 x 8192 x 25600 = 314,572,800 B
    assert f.evaluate(recompute_full=0, **k).expert_activation_bytes_per_layer.m_as("B") == pytest.approx(
        1.5 * 4096 * 2 * (4096 + 3 * 14336 / 2), rel=1e-12)
    assert f.evaluate(recompute_full=1, **k).expert_activation_bytes_per_layer.m_as("B") == 0
    dense = dict(k, experts_per_token=1, capacity_factor=1.0, moe_mlp=0)
    assert f.evaluate(recompute_full=0, **dense).expert_activation_bytes_per_layer.m_as("B") == 0


def test_offload_and_schedule_inputs_vectorise_for_the_search():
    import numpy as np
    from mlsysim.solvers.distributed import host_inputs, offload_flags, schedule_inputs

    assert offload_flags("optimizer,weights") == dict(offload_optimizer=1, offload_activations=0, offload_weights=1)
    assert offload_flags(None) == dict(offload_optimizer=0, offload_activations=0, offload_weights=0)
    assert schedule_inputs(3, 1) == dict(dp_grad_allgather=0, dp_param_allgathers=2, interleaved_schedule=0)
    arr = schedule_inputs(np.array([0, 1, 2, 3]), np.array([1, 2, 1, 4]))
    assert list(arr["dp_param_allgathers"]) == [0, 1, 1, 2] and list(arr["interleaved_schedule"]) == [0, 1, 0, 1]
    # one layout, the three offload switches as arrays (0 and 1): each element is the scalar solve's answer
    base = _offload_layout()
    runs = [_offload_layout(offload=o) for o in (None, "optimizer", "activations", "weights")]
    flags = {f"offload_{kind}": np.array([float(f"offload_{kind}" == n) for n in
                                          ("none", "offload_optimizer", "offload_activations", "offload_weights")])
             for kind in ("optimizer", "activations", "weights")}
    hk, _ = host_inputs(base.fleet, flags)
    out = mlsysim.Equations.TrainingStep.evaluate(outputs=["step_time", "memory_per_device"],
                                                  **dict(base._knowns, **hk))
    for i, r in enumerate(runs):
        assert out.step_time.m_as("s")[i] == pytest.approx(r.step_time.m_as("s"), rel=1e-12)
        assert out.memory_per_device.m_as("B")[i] == pytest.approx(r.memory_per_device.m_as("B"), rel=1e-12)


def test_one_layer_per_stage_solves_and_refuses_interleave():
    """pp equal to the layer count: every stage holds one layer; solve works (it crashed on an empty min) and an
    interleave of 2 is refused (a one-layer stage cannot hold two model chunks)."""
    model = gpt(8, 1024, 16)
    fleet = mlsysim.Fleet(hardware="A100", num_nodes=1, devices_per_node=8, intra_node_fabric="NVLink3",
                          inter_node_fabric="InfiniBand_HDR")
    r = S.solve(model=model, fleet=fleet, tp=1, pp=8, dp=1, global_batch=16, micro_batch_size=1, seq_len=1024)
    assert r.step_time.m_as("s") > 0 and r.layout["pp"] == 8
    with pytest.raises(DomainError, match="smallest"):
        S.solve(model=model, fleet=fleet, tp=1, pp=8, dp=1, global_batch=16, micro_batch_size=1, seq_len=1024,
                pipeline_interleave=2)
    # 126 layers on 16 stages: the smallest holds floor(126 / 16) = 7 layers, so v = 7 passes the check, 8 does not
    f405 = mlsysim.Fleet(hardware="H100", num_nodes=16, devices_per_node=8)
    with pytest.raises(DomainError, match="smallest"):
        S.solve(model="Llama3_405B", fleet=f405, tp=8, pp=16, dp=1, global_batch=16, seq_len=8192,
                pipeline_interleave=8)
