"""Collectives: alpha-beta models, hand calculations written out in each test."""
import math

import numpy as np
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.core.errors import DomainError, InfeasibleError, UnitError, UnknownVariableError

C = mlsysim.Equations.Collectives
H = mlsysim.Equations.HierarchicalCollectives

BASE = dict(message_bytes=Q_(1, "GB"), link_bandwidth=Q_(50, "GB/s"), link_latency=Q_(500, "ns"), num_devices=8)


def test_dimensions_consistent():
    C.check_dimensions()
    H.check_dimensions()


def test_ring_allreduce_hand_calculation():
    # T = 2(p-1)/p * M/B + 2(p-1) alpha = 2*7/8 * 1e9/50e9 + 14 * 500e-9 = 0.035 + 0.000007 = 0.035007 s
    t = C.evaluate(outputs=["allreduce_time"], **BASE).allreduce_time
    assert t.to("s").magnitude == pytest.approx(0.035007, rel=1e-12)


def test_reduce_scatter_allgather_alltoall_p2p_tree():
    out = C.evaluate(**BASE)
    # (p-1)/p M/B + (p-1) alpha = 7/8 * 0.02 + 7 * 5e-7 = 0.0175 + 3.5e-6
    for name in ("reduce_scatter_time", "allgather_time", "alltoall_time"):
        assert out[name].to("s").magnitude == pytest.approx(0.0175035, rel=1e-12)
    # alpha + M/B = 5e-7 + 0.02
    assert out.p2p_time.to("s").magnitude == pytest.approx(0.0200005, rel=1e-12)
    # 2 log2(8) alpha + 2 M/B = 6 * 5e-7 + 0.04
    assert mlsysim.Equations.TreeAllReduce.evaluate(**BASE).tree_allreduce_time.to("s").magnitude == pytest.approx(0.040003, rel=1e-12)


def test_bus_bandwidth_equals_link_bandwidth_without_latency():
    # nccl-tests: busbw = algbw * 2(n-1)/n; with alpha = 0 the ring runs at link speed, busbw = B
    out = mlsysim.Equations.BusBandwidth.evaluate(**dict(BASE, link_latency=Q_(0, "s")))
    assert out.bus_bandwidth.to("GB/s").magnitude == pytest.approx(50.0, rel=1e-12)
    # algbw = M / T = 1e9 / 0.035 = 28.571 GB/s
    assert out.algorithm_bandwidth.to("GB/s").magnitude == pytest.approx(1 / 0.035, rel=1e-12)


def test_one_device_collectives_cost_nothing():
    # one rank: p - 1 = 0 steps, so ring all-reduce, reduce-scatter, all-gather and all-to-all take 0 s;
    # a point-to-point message still pays alpha + M/B = 5e-7 + 0.02 s
    out = C.evaluate(**dict(BASE, num_devices=1))
    for name in ("allreduce_time", "reduce_scatter_time", "allgather_time", "alltoall_time"):
        assert out[name].to("s").magnitude == 0.0, name
    assert out.p2p_time.to("s").magnitude == pytest.approx(0.0200005, rel=1e-12)


def test_bus_bandwidth_of_one_rank_is_refused():
    with pytest.raises(DomainError):
        mlsysim.Equations.BusBandwidth.evaluate(**dict(BASE, num_devices=1))


def test_solve_link_bandwidth_for_100ms_allreduce():
    k = {k: v for k, v in BASE.items() if k != "link_bandwidth"}
    bw = C.solve("link_bandwidth", allreduce_time=Q_(100, "ms"), **k)
    # B = 2(p-1)/p M / (T - 2(p-1) alpha) = 1.75e9 / (0.1 - 7e-6) B/s
    assert bw.to("GB/s").magnitude == pytest.approx(1.75 / (0.1 - 7e-6), rel=1e-9)


def test_solve_num_devices_takes_the_physical_root():
    k = {k: v for k, v in BASE.items() if k != "num_devices"}
    sol = C.solve("num_devices", allreduce_time=Q_(0.035007, "s"), **k)
    # clearing denominators: 2 alpha p^2 + (2M/B - 2 alpha - T) p - 2M/B = 0; the product of the roots is
    # -M/(B alpha) < 0, so exactly one root is positive: p = 8 (the other is negative, unphysical)
    assert float(sol) == pytest.approx(8.0, rel=1e-9)
    a, mb, t = 5e-7, 1e9 / 50e9, 0.035007
    roots = np.roots([2 * a, 2 * mb - 2 * a - t, -2 * mb])
    assert sorted(roots)[0] < 0 < sorted(roots)[1]
    assert sorted(roots)[1] == pytest.approx(8.0, rel=1e-9)


def test_largest_p_within_a_time_budget():
    k = {k: v for k, v in BASE.items() if k != "num_devices"}
    budget = 0.0352
    p = float(C.solve("num_devices", allreduce_time=Q_(budget, "s"), **k))
    # the ring time grows with p (dT/dp = 2M/(B p^2) + 2 alpha > 0), so floor(p) meets the budget, floor(p)+1 not
    def ring(n):
        return 2 * (n - 1) / n * 0.02 + 2 * (n - 1) * 5e-7
    assert ring(math.floor(p)) <= budget < ring(math.floor(p) + 1)


@pytest.mark.parametrize("unknown", ["message_bytes", "link_bandwidth", "link_latency", "num_devices"])
def test_inverse_round_trip(unknown):
    t = C.evaluate(outputs=["allreduce_time"], **BASE).allreduce_time
    k = {kk: v for kk, v in BASE.items() if kk != unknown}
    sol = C.solve(unknown, allreduce_time=t, **k)
    expected = BASE[unknown]
    got = sol.value.to(expected.units).magnitude if hasattr(expected, "units") else float(sol)
    want = expected.magnitude if hasattr(expected, "units") else expected
    assert got == pytest.approx(want, rel=1e-9)


def test_infeasible_budget_below_latency_floor():
    # 2(p-1) alpha = 14 * 500 ns = 7 us: no bandwidth gives a 5 us all-reduce
    k = {k: v for k, v in BASE.items() if k != "link_bandwidth"}
    with pytest.raises(InfeasibleError):
        C.solve("link_bandwidth", allreduce_time=Q_(5, "us"), **k)


def test_arrays_broadcast():
    p = np.array([2, 4, 8, 16])
    out = C.evaluate(outputs=["allreduce_time"], **dict(BASE, num_devices=p))
    expected = 2 * (p - 1) / p * 0.02 + 2 * (p - 1) * 5e-7
    np.testing.assert_allclose(out.allreduce_time.to("s").magnitude, expected, rtol=1e-12)


HIER = dict(message_bytes=Q_(1, "GB"), devices_per_node=8, num_nodes=4, intra_node_bandwidth=Q_(300, "GB/s"),
            intra_node_latency=Q_(1, "us"), inter_node_bandwidth=Q_(25, "GB/s"), inter_node_latency=Q_(5, "us"),
            oversubscription=1.0, link_efficiency=0.8)


def test_hierarchical_allreduce_hand_calculation():
    out = H.evaluate(**HIER)
    rs = 7 / 8 * 1e9 / (0.8 * 300e9) + 7 * 1e-6          # intra reduce-scatter
    ar = 2 * 3 / 4 * (1e9 / 8) / (0.8 * 25e9) + 6 * 5e-6   # inter all-reduce of the M/8 shard over 4 nodes
    assert out.intra_reduce_scatter_time.to("s").magnitude == pytest.approx(rs, rel=1e-12)
    assert out.inter_allreduce_time.to("s").magnitude == pytest.approx(ar, rel=1e-12)
    assert out.hierarchical_allreduce_time.to("s").magnitude == pytest.approx(2 * rs + ar, rel=1e-12)


def test_oversubscription_doubles_the_inter_node_bandwidth_term():
    one = H.evaluate(**HIER)
    two = H.evaluate(**dict(HIER, oversubscription=2.0))
    lat = 6 * 5e-6
    bw1 = one.inter_allreduce_time.to("s").magnitude - lat
    bw2 = two.inter_allreduce_time.to("s").magnitude - lat
    assert bw2 == pytest.approx(2 * bw1, rel=1e-12)
    # the intra-node share is untouched
    assert two.intra_reduce_scatter_time == one.intra_reduce_scatter_time


def test_single_node_has_no_inter_node_share():
    out = H.evaluate(**dict(HIER, num_nodes=1))
    assert out.inter_allreduce_time.to("s").magnitude == 0.0


def test_bad_inputs_raise_documented_errors():
    with pytest.raises(DomainError, match="link_bandwidth"):
        C.evaluate(**dict(BASE, link_bandwidth=Q_(-1, "GB/s")))
    with pytest.raises(UnitError):
        C.evaluate(**dict(BASE, message_bytes=1e9))
    with pytest.raises(UnknownVariableError):
        C.evaluate(**dict(BASE, bandwidth=Q_(1, "GB/s")))
    with pytest.raises(DomainError, match="oversubscription"):
        H.evaluate(**dict(HIER, oversubscription=0.5))


# ------------------------------------------------------------------------------ Fleet.collective_time
def _dgx_h100(nodes=2):
    return mlsysim.Fleet(hardware="H100", num_nodes=nodes, devices_per_node=8)   # NVLink4 + InfiniBand NDR


def test_fleet_collective_of_one_device_is_free():
    f = _dgx_h100()
    for c in ("all_reduce", "all_gather", "reduce_scatter", "all_to_all"):
        assert f.collective_time(c, Q_(1, "GB"), num_devices=1).to("s").magnitude == 0.0


def test_fleet_two_level_all_reduce_by_hand():
    # 16 H100 = 2 DGX nodes, M = 256 MB, link efficiency 0.8:
    # intra reduce-scatter over 8: 7/8 M / (0.8 * 450 GB/s) + 7 * 1 us = 0.6222 ms + 7 us
    # inter all-reduce of M/8 over 2 nodes: 2 * 1/2 * 32 MB / (0.8 * 50 GB/s) + 2 * 5 us = 0.8 ms + 10 us
    # intra all-gather = intra reduce-scatter
    M = 256e6
    rs = 7 / 8 * M / 360e9 + 7e-6
    ar = (M / 8) / 40e9 + 10e-6
    f = _dgx_h100()
    t = f.collective_time("all_reduce", Q_(M, "B")).to("s").magnitude
    assert t == pytest.approx(2 * rs + ar, rel=1e-12)
    # all-gather / reduce-scatter: one half of each level
    assert f.collective_time("all_gather", Q_(M, "B")).to("s").magnitude == pytest.approx(rs + ar / 2, rel=1e-12)
    assert f.collective_time("reduce_scatter", Q_(M, "B")).to("s").magnitude == pytest.approx(rs + ar / 2, rel=1e-12)


def test_fleet_intra_node_collectives_by_hand_and_bounds():
    f = _dgx_h100()
    M = 256e6
    # pairwise all-to-all among 8: 7/8 M / (0.8 * 450 GB/s) + 7 * 1 us
    t = f.collective_time("all_to_all", Q_(M, "B"), num_devices=8).to("s").magnitude
    assert t == pytest.approx(7 / 8 * M / 360e9 + 7e-6, rel=1e-12)
    # the calibrated NCCL all-reduce cannot beat the ring at NVLink 4's full 450 GB/s per direction
    ar = f.collective_time("all_reduce", Q_(M, "B"), num_devices=8).to("s").magnitude
    assert ar > 2 * 7 / 8 * M / 450e9
    # a point-to-point message across nodes: 5 us + M / (0.8 * 50 GB/s)
    p2p = f.collective_time("send_recv", Q_(M, "B"), num_devices=16).to("s").magnitude
    assert p2p == pytest.approx(5e-6 + M / 40e9, rel=1e-12)
    # RoCE 400G exists as a fabric (400 Gb/s per port = 50 GB/s)
    assert mlsysim.Fabrics.RoCE_400G.link_bandwidth.to("GB/s").magnitude == pytest.approx(50.0)


def test_fleet_collective_refuses_bad_input():
    f = _dgx_h100()
    with pytest.raises(mlsysim.MlsysimError, match="collective"):
        f.collective_time("broadcast", Q_(1, "GB"))
    with pytest.raises(DomainError, match="message_bytes"):
        f.collective_time("all_reduce", 1e9)
    with pytest.raises(DomainError, match="exceeds"):
        f.collective_time("all_reduce", Q_(1, "GB"), num_devices=17)
