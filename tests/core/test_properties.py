"""Property-based tests (hypothesis, >= 200 examples each): monotonicity of the solvers, declared units of
every equation set's outputs, and agreement of the array and scalar evaluation paths.

Expected relations are physical (more bandwidth cannot slow a memory-bound step, ...), not values computed
by the code under test.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import Q_
from mlsysim.solvers.distributed import DistributedSolver
from mlsysim.solvers import ServingSolver, SustainabilitySolver
from mlsysim.core.variables import VARIABLES
from mlsysim.systems import Systems
from test_roundtrip import _POINT_BUILDERS

N = 200
SETTINGS = settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SETS = list(mlsysim.Equations)
SERVING = ServingSolver()
RTOL = 1e-12


def _value(name, draw):
    """A physical value of ``name`` in base units (a float), drawn within its domain."""
    d = VARIABLES[name].domain
    if d in ("count", "count0"):
        return float(draw(st.integers(1 if d == "count" else 0, 64) if d == "count0" else st.integers(2, 64)))
    if d == "fraction":
        return draw(st.floats(0.05, 1.0))
    if d == "ge1":
        return draw(st.floats(1.0, 4.0))
    return 10 ** draw(st.floats(-2.0, 2.0))


def _draw_point(eqset, draw):
    """A point of ``eqset``'s inputs: sets whose inputs are tied by a layout (tp * pp * dp = devices, local
    ranks <= ranks) start from real layouts (``test_roundtrip._layout_point``), the others draw each input
    in its own domain."""
    if eqset.name in _POINT_BUILDERS:
        def u(kind, lo, hi):
            return draw(st.integers(lo, hi)) if kind == "int" else draw(st.floats(lo, hi))

        point = _POINT_BUILDERS[eqset.name](eqset, u)
        return {n: x for n, x in point.items() if n in eqset.inputs}
    return {n: _value(n, draw) for n in eqset.inputs}


#: fewest examples (of N) that must evaluate for a set's property to count as tested: half of them for the sets
#: drawn from real layouts; at least one for the others (independent random draws often leave a relation's
#: domain, but a property that never ran would be a test that cannot fail)
MIN_RAN = {name: N // 2 for name in ("Parallelism", "PipelineBubble", "ZeROMemory", "ActivationMemory",
                                     "TrainingStep")}


def _assert_enough_ran(set_name, ran):
    need = MIN_RAN.get(set_name, 1)
    assert ran >= need, f"{set_name}: only {ran} of {N} drawn points could be evaluated (need {need})"


def _q(name, x):
    v = VARIABLES[name]
    return x if v.dimensionless else Q_(x, v.base_unit)


# ------------------------------------------------------------------------------ monotonicity
@SETTINGS
@given(bw=st.floats(100, 20_000), factor=st.floats(1.0, 10.0), batch=st.integers(1, 64),
       seq=st.integers(1, 8192), model=st.sampled_from(["Llama3_8B", "Llama3_70B", "Mixtral_8x7B", "GPT3"]))
def test_more_bandwidth_never_slows_decode(bw, factor, batch, seq, model):
    a = SERVING.solve(model, "H100", batch_size=batch, seq_len=seq, memory_bandwidth=Q_(bw, "GB/s"))
    b = SERVING.solve(model, "H100", batch_size=batch, seq_len=seq, memory_bandwidth=Q_(bw * factor, "GB/s"))
    assert b.tpot.m_as("s") <= a.tpot.m_as("s") * (1 + RTOL)
    assert b.ttft.m_as("s") <= a.ttft.m_as("s") * (1 + RTOL)


@SETTINGS
@given(b1=st.integers(1, 512), db=st.integers(0, 512), seq=st.integers(1, 32768),
       model=st.sampled_from(["Llama3_8B", "Llama3_70B", "Llama2_70B", "OPT_13B", "GPT2"]),
       precision=st.sampled_from(["fp16", "fp8", "int4"]))
def test_larger_batch_never_lowers_kv_bytes(b1, db, seq, model, precision):
    kv = mlsysim.Equations.KVCache
    m = mlsysim.Models[model]
    k = m.knowns_for(kv, bytes_per_element=mlsysim.core.precision.bytes_per_element(precision), seq_len=seq,
                     batch_size=np.array([b1, b1 + db]))
    out = kv.evaluate(**{n: v for n, v in k.items() if n in kv.inputs}).magnitude("kv_cache_bytes")
    assert out[1] >= out[0] > 0


@SETTINGS
@given(pue=st.floats(1.0, 3.0), dp=st.floats(0.0, 2.0), days=st.floats(0.01, 1000),
       n=st.integers(1, 10_000), region=st.sampled_from(["Quebec", "Poland", "US_Avg", "Taiwan", "World_Avg"]),
       hw=st.sampled_from(["H100", "A100", "TPUv4", "B200"]))
def test_higher_pue_never_lowers_carbon(pue, dp, days, n, region, hw):
    s = SustainabilitySolver()
    a = s.solve(hardware=hw, num_devices=n, duration=Q_(days, "day"), region=region, pue=pue)
    b = s.solve(hardware=hw, num_devices=n, duration=Q_(days, "day"), region=region, pue=pue + dp)
    assert b.carbon.m_as("kg") >= a.carbon.m_as("kg") * (1 - RTOL)
    assert b.energy.m_as("J") >= a.energy.m_as("J") * (1 - RTOL)


@SETTINGS
@given(eta=st.floats(0.01, 1.0), deta=st.floats(0.0, 1.0), flops=st.floats(1e6, 1e18),
       bytes_=st.floats(1e3, 1e12), peak=st.floats(1e9, 1e16), bw=st.floats(1e8, 1e13), ovh=st.floats(0, 1e-3))
def test_more_compute_efficiency_never_slows_the_roofline(eta, deta, flops, bytes_, peak, bw, ovh):
    eta2 = min(1.0, eta + deta)
    r = mlsysim.Equations.Roofline
    kw = dict(flops=Q_(flops, "FLOP"), bytes_moved=Q_(bytes_, "byte"), peak_flops=Q_(peak, "FLOP/s"),
              memory_bandwidth=Q_(bw, "byte/s"), overhead=Q_(ovh, "s"))
    a = r.evaluate(outputs=["latency"], compute_efficiency=eta, **kw).magnitude("latency")
    b = r.evaluate(outputs=["latency"], compute_efficiency=eta2, **kw).magnitude("latency")
    assert b <= a * (1 + RTOL)


@SETTINGS
@given(nodes=st.integers(1, 512), extra=st.integers(0, 512),
       system=st.sampled_from(["A100_Megatron", "H100_1024", "Research_256_100GbE", "TPUv5p_Pod_Slice"]))
def test_more_devices_never_shrink_fleet_memory(nodes, extra, system):
    f = Systems[system]
    a, b = f.replace(num_nodes=nodes), f.replace(num_nodes=nodes + extra)
    # a fleet is nodes x devices per node, whatever the nodes: adding `extra` nodes adds extra x g devices
    g = f.devices_per_node
    assert a.num_devices == nodes * g
    assert b.num_devices - a.num_devices == extra * g
    assert a.hardware is b.hardware and b.intra_node_fabric is a.intra_node_fabric


@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dp1=st.sampled_from([1, 2, 4, 8]), mult=st.sampled_from([1, 2, 4]), tp=st.sampled_from([1, 2, 4, 8]),
       zero=st.sampled_from([0, 1, 2, 3]), mb=st.sampled_from([1, 2]))
def test_more_data_parallel_devices_never_shrink_total_memory(dp1, mult, tp, zero, mb):
    """DistributedSolver: adding replicas keeps per-device memory <= before (ZeRO shards more) and the
    fleet's total memory in use never shrinks (each replica keeps at least its own activations and its
    share of the states; without ZeRO every state is replicated)."""
    B = 64 * mb
    res = []
    for dp in (dp1, dp1 * mult):
        # one tensor-parallel group per node, dp nodes: every drawn layout is a valid fleet
        fleet = mlsysim.Fleet(hardware="A100", num_nodes=dp, devices_per_node=tp, intra_node_fabric="NVLink3",
                              inter_node_fabric="InfiniBand_HDR")
        r = DistributedSolver().solve(model="GPT3", fleet=fleet, tp=tp, pp=1, dp=dp, global_batch=B,
                                      micro_batch_size=mb, zero_stage=zero)
        res.append((tp * dp, r.memory_per_device.m_as("byte")))
    (n1, m1), (n2, m2) = res
    assert n2 * m2 >= n1 * m1 * (1 - 1e-9)
    assert n2 * m2 > 0 and m2 <= m1 * (1 + 1e-9)
    if mult > 1 and zero == 0:
        # no sharding and one microbatch in flight either way: per-device memory is unchanged
        assert m2 == pytest.approx(m1, rel=1e-12)


# ------------------------------------------------------------------------------ units of every output
@pytest.mark.parametrize("set_name", SETS)
def test_every_output_has_its_declared_units(set_name):
    eqset = mlsysim.Equations[set_name]

    ran = []

    @SETTINGS
    @given(st.data())
    def run(data):
        vals = _draw_point(eqset, data.draw)
        try:
            out = eqset.evaluate(**{n: _q(n, x) for n, x in vals.items()})
        except mlsysim.MlsysimError:
            return  # a random point outside a relation's domain is not a units question
        ran.append(1)
        for name in eqset.derived:
            q = out[name]
            want = VARIABLES[name].pint_unit.dimensionality
            got = q.dimensionality if hasattr(q, "dimensionality") else Q_(1, "").dimensionality
            assert got == want, (set_name, name, got, want)

    run()
    _assert_enough_ran(set_name, len(ran))


# ------------------------------------------------------------------------------ array == scalar
@pytest.mark.parametrize("set_name", SETS)
def test_array_path_equals_scalar_path(set_name):
    eqset = mlsysim.Equations[set_name]

    ran = []

    @SETTINGS
    @given(st.data())
    def run(data):
        points = [_draw_point(eqset, data.draw) for _ in range(5)]
        scal = []
        for p in points:
            try:
                scal.append(eqset.evaluate(**{n: _q(n, x) for n, x in p.items()}))
            except mlsysim.MlsysimError:
                return  # one point outside the domain: the array call would refuse the whole batch
        arr = eqset.evaluate(**{n: _q(n, np.array([p[n] for p in points])) for n in eqset.inputs})
        for name in eqset.derived:
            a = np.broadcast_to(arr.magnitude(name), (5,))
            s = np.array([r.magnitude(name) for r in scal])
            # atol: a quantity that is exactly 0 on one path may come out as float round-off (~1e-19 in base
            # units, e.g. (p - 1)/p M/B at p = 1 in a re-associated array kernel) on the other
            np.testing.assert_allclose(a, s, rtol=1e-12, atol=1e-18, err_msg=f"{set_name}.{name}")
        ran.append(1)

    run()
    _assert_enough_ran(set_name, len(ran))
