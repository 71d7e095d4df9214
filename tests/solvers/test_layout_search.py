"""The layout search (mlsysim/solvers/layout_search.py): enumeration counted by hand, rejection reasons,
re-solve equality with DistributedSolver.solve, the cp/ep axes, the flat model, bad input."""
import numpy as np
import pytest

from mlsysim import Fleet, Hardware, Models
from mlsysim.core.errors import DomainError, UnknownNameError
from mlsysim.models import TransformerWorkload
from mlsysim.solvers import layout_search as ls
from mlsysim.solvers.distributed import DistributedSolver

S = DistributedSolver()
NODE4 = Fleet(hardware=Hardware.H100, num_nodes=1, devices_per_node=4)
FLEET_16K = Fleet(hardware=Hardware.H100, num_nodes=2048, devices_per_node=8)


def tiny():
    # 4 layers, 8 heads (tp 1, 2, 4 divide them), 2048 tokens: a few MB of weights, fits anywhere
    return TransformerWorkload(name="tiny", num_layers=4, hidden_size=512, num_heads=8, vocab_size=1024,
                               seq_len=2048, learned_positions=True, bias="all", norm="layernorm")


def _tiny_search(**kw):
    args = dict(model=tiny(), fleet=NODE4, global_batch=8, cps=(1, 2), pps=(1, 2, 3), micro_batch_sizes=(1, 2),
                interleaves=(1, 2), recompute_modes=("selective",), zero_stages=(0,), sequence_parallel=(False,),
                offloads=[()])
    return S.search(**{**args, **kw})


def test_small_fleet_enumeration_counted_by_hand():
    t = _tiny_search()
    # grid: tp in {1, 2, 4, 8} (divisors of the 4-device node and twice it) x cp {1, 2} x pp {1, 2, 3} x ep {1}
    # = 24 (tp, cp, pp) rows, each with micro-batch {1, 2} x interleave {1, 2} = 4 layouts: 96 layouts.
    assert t.enumerated == 96
    # topology: tp = 8 on a 4-device node: 2 cp x 3 pp = 6 rows x 4 = 24 layouts.
    # divisibility, tp*cp*pp must divide 4 devices: pp = 3 never does (tp 1, 2, 4 x cp 1, 2 = 6 rows); with
    # pp in {1, 2}: (2,2,2) = 8, (4,1,2) = 8, (4,2,1) = 8, (4,2,2) = 16 do not: 4 rows; 10 rows x 4 = 40 layouts.
    # schedule: interleave 2 with pp = 1 on the 5 valid pp = 1 rows, 2 micro-batch sizes each: 10 layouts.
    # (pp = 2 splits 4 layers 2 + 2, so interleave 2 fits; global_batch 8 over dp * mbs <= 8 always divides;
    # the microbatches 8 / (dp mbs) are a multiple of pp = 2 in every pp = 2 row: dp mbs <= 4 there.)
    assert t.rejected.counts == {"topology": 24, "divisibility": 40, "layers": 0, "schedule": 10, "memory": 0}
    assert t.evaluated == 96 - 24 - 40 - 10 == 22 and len(t) == 22
    # the 8 valid (tp, cp, pp) by hand; pp = 2 rows take interleave 1 and 2, pp = 1 rows interleave 1
    valid = [(1, 1, 1), (1, 1, 2), (1, 2, 1), (1, 2, 2), (2, 1, 1), (2, 1, 2), (2, 2, 1), (4, 1, 1)]
    expected = {(tp, cp, pp, 4 // (tp * cp * pp), b, v) for tp, cp, pp in valid for b in (1, 2)
                for v in ((1, 2) if pp == 2 else (1,))}
    got = {(r["tp"], r["cp"], r["pp"], r["dp"], r["micro_batch_size"], r["pipeline_interleave"]) for r in t}
    assert got == expected
    times = [r["step_time"] for r in t]
    assert times == sorted(times)
    # every rejected layout is listed with its reason; the counts add up
    rows = t.rejected.rows(limit=None)
    assert len(rows) == len(t.rejected) == 74
    assert sum(r["category"] == "topology" for r in rows) == 24
    assert t.rejected.by_reason["divisibility: tp*cp*pp does not divide the devices"] == 40


def test_topology_rejection_tp_across_nodes():
    t = _tiny_search(fleet=Fleet(hardware=Hardware.H100, num_nodes=2, devices_per_node=8), model=Models.Llama3_8B,
                     global_batch=16, pps=(1,), cps=(1,), interleaves=(1,))
    why = t.rejected.why(tp=16)
    assert why["category"] == "topology" and "larger than a node (8 devices)" in why["reason"]
    assert t.rejected.counts["topology"] == 2           # tp = 16, two micro-batch sizes
    assert all(r["tp"] <= 8 for r in t)
    # with cross-node tensor parallelism allowed, tp = 16 (a multiple of the node) is evaluated
    t2 = _tiny_search(fleet=Fleet(hardware=Hardware.H100, num_nodes=2, devices_per_node=8), model=Models.Llama3_8B,
                      global_batch=16, pps=(1,), cps=(1,), interleaves=(1,), allow_cross_node_tp=True)
    assert t2.rejected.counts["topology"] == 0 and t2.rejected.why(tp=16) is None
    assert any(r["tp"] == 16 for r in t2)


def test_memory_rejection_405b_without_model_parallelism():
    t = S.search(model=Models.Llama3_405B, fleet=Fleet(hardware=Hardware.H100, num_nodes=1, devices_per_node=8),
                 global_batch=8, seq_len=8192, tps=(1,), cps=(1,), pps=(1,), micro_batch_sizes=(1,), interleaves=(1,),
                 offloads=[()])
    # 405.85e9 parameters x 2 bytes = 811.7 GB of bf16 weights; even ZeRO-3 over dp = 8 leaves 101.5 GB per device,
    # more than the 80 GiB = 85.9 GB of an H100: every layout (3 recompute x 4 ZeRO stages = 12) is over memory
    assert len(t) == 0 and t.evaluated == 12 and t.rejected.counts["memory"] == 12
    why = t.rejected.why(tp=1, pp=1, zero_stage=3, recompute="full")
    assert why["category"] == "memory" and why["memory_per_device"] > 811.7 / 8
    assert why["memory_utilization"] > 101.5 / 85.9 and "x the device's 85.9 GB" in why["reason"]
    with pytest.raises(DomainError, match="no layout fits"):
        t.best


def test_best_resolves_to_the_same_step_time_405b_16k():
    t = S.search(model=Models.Llama3_405B, fleet=FLEET_16K, global_batch=2048, seq_len=8192, top=3)
    assert len(t) > 1000 and t.enumerated > t.evaluated > len(t)
    best = t.best
    assert best.step_time.m_as("s") == pytest.approx(t[0]["step_time"], rel=1e-9)
    rng = np.random.default_rng(18)
    for i in [0, 1, 2, 17, *rng.integers(0, len(t), 4)]:
        r = S.solve(model=Models.Llama3_405B, fleet=FLEET_16K, global_batch=2048, seq_len=8192, **t.layout(int(i)))
        assert r.step_time.m_as("s") == pytest.approx(t[int(i)]["step_time"], rel=1e-9)
        assert r.memory_per_device.m_as("GB") == pytest.approx(t[int(i)]["memory_per_device"], rel=1e-9)
        assert r.mfu.m_as("") == pytest.approx(t[int(i)]["mfu"], rel=1e-9)
        assert r.fits
        bd = t.breakdown(int(i))
        assert bd == pytest.approx({k: v.m_as("s") for k, v in r.breakdown().items()}, rel=1e-9)
        assert sum(bd.values()) == pytest.approx(t[int(i)]["step_time"], rel=1e-9)
    assert "breakdown" in t[2] and "breakdown" not in t[3]     # computed with the search for the top 3 only
    # the 16,384 devices: every row multiplies out
    assert all(r["tp"] * r["cp"] * r["pp"] * r["dp"] == 16384 for r in t[:50])


def test_vectorised_binding_matches_the_solver_binding():
    t = S.search(model=Models.Mixtral_8x7B, fleet=Fleet(hardware=Hardware.H100, num_nodes=8, devices_per_node=8),
                 global_batch=512, seq_len=4096, pps=(1, 2, 4, 8), top=0)
    rng = np.random.default_rng(7)
    for i in rng.integers(0, len(t), 6):
        lay = t.layout(int(i))
        scalar = S.bind(**t._context, **lay).knowns      # the solver's own binding of that layout
        vec = ls._scalar_knowns(t._knowns, int(t._order[int(i)]))
        assert set(vec) == set(scalar)
        for name, v in scalar.items():
            a = v.to_base_units().magnitude if hasattr(v, "units") else v
            b = vec[name].to_base_units().magnitude if hasattr(vec[name], "units") else vec[name]
            assert float(b) == pytest.approx(float(a), rel=1e-14, abs=0), (name, lay)


def test_cp_and_ep_axes_only_where_they_apply():
    moe = S.search(model=Models.Mixtral_8x7B, fleet=Fleet(hardware=Hardware.H100, num_nodes=8, devices_per_node=8),
                   global_batch=512, seq_len=4096, pps=(1, 2, 4), top=0, offloads=[()])
    eps = {r["ep"] for r in moe}
    cps = {r["cp"] for r in moe}
    assert eps <= {1, 2, 4, 8} and max(eps) > 1 and max(cps) > 1
    assert moe.rejected.by_reason.get("divisibility: ep does not divide dp*cp", 0) > 0
    # ep = 8 needs dp * cp divisible by 8: tp 8 x pp 4 leaves dp = 2, cp = 1: rejected
    assert moe.rejected.why(tp=8, pp=4, cp=1, ep=8)["reason"] == "ep = 8 does not divide dp * cp = 2"
    dense = _tiny_search()
    assert {r["ep"] for r in dense} == {1} and {r["cp"] for r in dense} == {1, 2}
    with pytest.raises(DomainError, match="mixture-of-experts"):
        _tiny_search(eps=(2,))


def test_flat_model_search_even_stages():
    t = _tiny_search(compute_efficiency=0.5, cps=None, pps=(1, 2, 3))
    assert t.model_kind == "flat" and {r["cp"] for r in t} == {1}
    # the flat model needs pp to divide the 4 layers: pp = 3 is rejected for that first
    assert t.rejected.why(tp=1, pp=3)["reason"] == "pp = 3 does not divide the 4 layers (the flat model needs " \
                                                  "even stages)"
    r = t.best
    assert r.model_kind == "flat" and r.step_time.m_as("s") == pytest.approx(t[0]["step_time"], rel=1e-9)
    with pytest.raises(DomainError, match="per-operation"):
        _tiny_search(compute_efficiency=0.5)            # cps=(1, 2): context parallelism needs the per-op model


def test_bad_input():
    with pytest.raises(UnknownNameError, match="objective"):
        _tiny_search(objective="speed")
    with pytest.raises(DomainError, match="top"):
        _tiny_search(top=-1)
    with pytest.raises(DomainError, match="pps"):
        _tiny_search(pps=())
    with pytest.raises(DomainError, match="tps"):
        _tiny_search(tps=(0, 2))
    with pytest.raises(UnknownNameError, match="recompute"):
        _tiny_search(recompute_modes=("partial",))
    with pytest.raises(DomainError, match="no valid layout.*topology"):
        _tiny_search(tps=(8,))
    with pytest.raises(UnknownNameError, match="category"):
        _tiny_search().rejected.rows(category="power")


def test_objectives_rank_their_way_and_table_reports():
    t = _tiny_search(objective="memory_per_device")
    mem = [r["memory_per_device"] for r in t]
    assert mem == sorted(mem)
    t = _tiny_search(objective="mfu")
    mfu = [r["mfu"] for r in t]
    assert mfu == sorted(mfu, reverse=True)
    d = t.to_dict(top=2)
    assert d["enumerated"] == 96 and d["fitting"] == 22 and len(d["rows"]) == 2
    assert d["rejected"]["counts"]["topology"] == 24
    assert "22 fitting layouts of 22 evaluated (96 enumerated)" in repr(t)


def test_offload_axis_and_host_memory_rejection():
    fleet = Fleet(hardware=Hardware.H100, num_nodes=2, devices_per_node=8)
    t = S.search(model=Models.Llama3_405B, fleet=fleet, global_batch=8, seq_len=8192, tps=(8,), cps=(1,), pps=(2,),
                 micro_batch_sizes=(1,), interleaves=(1,), recompute_modes=("full",), zero_stages=(0,),
                 sequence_parallel=(True,), top=2)
    # the H100 has a sourced host link and host memory: every subset of the three kinds is tried
    assert t.enumerated == 8 and set(t.rejected._ctx["offloads"]) == {
        (), ("optimizer",), ("activations",), ("weights",), ("optimizer", "activations"), ("optimizer", "weights"),
        ("activations", "weights"), ("optimizer", "activations", "weights")}
    # tp 8 x pp 2 puts 405,853,388,800 / 16 = 25,365,836,800 parameters on each device. Offloading the optimizer and
    # the weights (ZeRO 0) keeps on the host 12 B (fp32 master + two moments) + 2 B (bf16 weights) + 4 B (fp32
    # gradients sent down) = 18 B per parameter: 456.6 GB per device, 3,652.7 GB for the node's 8 devices, 1.83x
    # the 2 TB host memory of a DGX H100
    why = t.rejected.why(offload=("optimizer", "weights"))
    assert why["category"] == "memory" and "host memory" in why["reason"]
    assert why["host_memory_per_node"] == pytest.approx(8 * 25_365_836_800 * 18 / 1e9, rel=1e-9)
    assert why["host_memory_utilization"] == pytest.approx(8 * 25_365_836_800 * 18 / 2e12, rel=1e-9)
    assert t.rejected.by_reason["memory: host memory"] >= 1
    r = S.solve(model=Models.Llama3_405B, fleet=fleet, global_batch=8, seq_len=8192, tp=8, pp=2,
                recompute="full", zero_stage=0, sequence_parallel=True, offload=("optimizer", "weights"))
    assert r.binding_memory == "host memory"
    # with the optimizer alone offloaded the bf16 weights and gradients stay: 4 B x 25,365,836,800 = 101.5 GB > 85.9 GB
    why = t.rejected.why(offload=("optimizer",))
    assert why["reason"].startswith("needs") and why["memory_per_device"] > 4 * 25_365_836_800 / 1e9
    assert len(t) == 0 and t.rejected.counts["memory"] == 8


def test_offload_rows_resolve_to_the_same_step_time():
    t = S.search(model=Models.Llama3_405B, fleet=FLEET_16K, global_batch=2048, seq_len=8192, tps=(8,), cps=(1,),
                 pps=(16,), micro_batch_sizes=(1,), interleaves=(1,), recompute_modes=("full",), zero_stages=(1,),
                 sequence_parallel=(True,), top=8)
    assert len(t) == 8 and {r["offload"] for r in t} == set(t.rejected._ctx["offloads"])
    for i in range(len(t)):
        lay = t.layout(i)
        r = S.solve(model=Models.Llama3_405B, fleet=FLEET_16K, global_batch=2048, seq_len=8192, **lay)
        assert r.fits and r.step_time.m_as("s") == pytest.approx(t[i]["step_time"], rel=1e-9)
        assert r.layout["offload"] == lay["offload"]
        assert t.breakdown(i) == pytest.approx({k: v.m_as("s") for k, v in r.breakdown().items()}, rel=1e-9)


def test_offload_options_and_devices_without_a_host():
    t = _tiny_search(offloads=["none", "optimizer+activations"])
    assert {r["offload"] for r in t} == {(), ("optimizer", "activations")} and t.enumerated == 2 * 96
    b200 = Fleet(hardware=Hardware.B200, num_nodes=1, devices_per_node=4)
    t = _tiny_search(fleet=b200)        # no sourced host link: nothing to offload, the axis is [()]
    assert {r["offload"] for r in t} == {()}
    with pytest.raises(DomainError, match="host link"):
        _tiny_search(fleet=b200, offloads=["optimizer"])
    with pytest.raises(UnknownNameError, match="kind of offload"):
        _tiny_search(offloads=["gradients"])
