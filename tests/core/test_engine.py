"""The equation engine on the Roofline and IronLaw sets (hand calculations in each test)."""
import numpy as np
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.core.equations import Equation, EquationSet
from mlsysim.core.errors import (DimensionError, DomainError, InfeasibleError, MlsysimError,
                                 OverdeterminedError, SolveError, UnderdeterminedError, UnitError,
                                 UnknownNameError, UnknownVariableError)
from mlsysim.core.sources import Source
from mlsysim.core.variables import define_var, sym

R = mlsysim.Equations.Roofline
TEST_SRC = Source("hand-written test relation", kind="assumption", note="used only by the engine tests")


def decode_knowns(**over):
    k = dict(flops=Q_(1.41e11, "FLOP"), bytes_moved=Q_(141, "GB"), peak_flops=Q_(989, "TFLOP/s"),
             compute_efficiency=1.0, overhead=Q_(0, "s"))
    k.update(over)
    return k


def test_acceptance_inverse_memory_bound():
    bw = R.solve("memory_bandwidth", latency=Q_(20, "ms"), **decode_knowns())
    # memory-bound: BW = D / T = 141e9 B / 0.020 s = 7.05e12 B/s
    assert bw.to("TB/s").magnitude == pytest.approx(7.05, rel=1e-12)
    assert bw.regime == {"latency": "memory"}
    # compute time 1.41e11 / 9.89e14 = 0.1426 ms < 20 ms: a unique answer, not a bound
    assert bw.bound == ""


def test_acceptance_infeasible_compute_floor():
    with pytest.raises(InfeasibleError) as ei:
        R.solve("memory_bandwidth", flops=Q_(1e18, "FLOP"), bytes_moved=Q_(1, "GB"),
                peak_flops=Q_(989, "TFLOP/s"), compute_efficiency=1.0, overhead=Q_(0, "s"),
                latency=Q_(1, "ms"))
    e = ei.value
    assert "compute" in str(e) and "memory_bandwidth" in str(e)
    assert e.binding == "latency=compute"
    # floor = 1e18 / 9.89e14 = 1011.12 s
    assert e.floor.to("s").magnitude == pytest.approx(1e18 / 9.89e14, rel=1e-12)


def test_acceptance_arrays_in_arrays_out():
    flops = np.geomspace(1e9, 1e15, 1_000_000)
    out = R.evaluate(flops=Q_(flops, "FLOP"), bytes_moved=Q_(1, "GB"), peak_flops=Q_(989, "TFLOP/s"),
                     memory_bandwidth=Q_(3.35, "TB/s"), compute_efficiency=0.5, overhead=Q_(0, "s"))
    lat = out.latency.to("s").magnitude
    assert lat.shape == (1_000_000,)
    # hand: compute = F / (0.5 * 989e12), memory = 1e9 / 3.35e12
    expected = np.maximum(flops / (0.5 * 989e12), 1e9 / 3.35e12)
    np.testing.assert_allclose(lat, expected, rtol=1e-12)
    reg = out.regime("latency")
    # the crossover is at F = 0.5 * 989e12 * 1e9 / 3.35e12 = 1.476e11 FLOP
    cross = 0.5 * 989e12 * 1e9 / 3.35e12
    assert set(reg[flops < cross * 0.999]) == {"memory"}
    assert set(reg[flops > cross * 1.001]) == {"compute"}
    assert out.ridge_point.to("FLOP/byte").magnitude == pytest.approx(989e12 / 3.35e12)


def test_latex_contains_every_equation():
    tex = R.latex()
    assert tex.startswith("\\begin{align}")
    for key in R.equations:
        assert f"\\label{{eq:roofline-{key.replace('_', '-')}}}" in tex
    assert r"\max" in tex and r"\mathrm{BW}" in tex
    assert R._repr_latex_().startswith("$$")


def test_all_sets_dimension_check():
    for name in mlsysim.Equations:
        mlsysim.Equations[name].check_dimensions()


def test_dimension_check_names_offending_term():
    define_var("test_speed", "byte/s", "v", "test-only variable")
    bad = EquationSet("Bad", [Equation("bad", "memory_time", sym.bytes_moved / sym.test_speed + sym.bytes_moved,
                                       source=TEST_SRC, description="adds bytes to seconds")])
    with pytest.raises(DimensionError, match="bytes_moved"):
        bad.check_dimensions()


def test_overhead_shifts_latency_and_inverse():
    # latency 20 ms with 5 ms overhead leaves 15 ms for memory: BW = 141e9 / 0.015
    bw = R.solve("memory_bandwidth", latency=Q_(20, "ms"), **decode_knowns(overhead=Q_(5, "ms")))
    assert bw.m_as("B/s") == pytest.approx(141e9 / 0.015, rel=1e-12)
    # a latency below the overhead is infeasible for any bandwidth
    with pytest.raises(InfeasibleError):
        R.solve("memory_bandwidth", latency=Q_(4, "ms"), **decode_knowns(overhead=Q_(5, "ms")))


def test_solution_that_is_a_bound_is_marked():
    # memory-bound at 43.09 ms: any efficiency above the crossover gives the same latency
    k = decode_knowns(memory_bandwidth=Q_(3.35, "TB/s"))
    k.pop("compute_efficiency")
    t_mem = 141e9 / 3.35e12
    s = R.solve("compute_efficiency", latency=Q_(t_mem, "s"), **k)
    # minimum efficiency: compute time equals memory time: eta = F / (R * t_mem)
    assert s.value.magnitude == pytest.approx(1.41e11 / (989e12 * t_mem), rel=1e-9)
    assert s.bound == "min"
    assert "minimum" in repr(s)


def test_numeric_path_agrees_with_symbolic():
    k = decode_knowns(overhead=Q_(1, "ms"))
    a = R.solve("memory_bandwidth", latency=Q_(20, "ms"), **k)
    b = R.solve("memory_bandwidth", latency=Q_(20, "ms"), method="numeric", **k)
    assert b.method == "numeric"
    assert b.m_as("B/s") == pytest.approx(a.m_as("B/s"), rel=1e-10)


def test_numeric_fallback_when_sympy_has_no_closed_form():
    define_var("test_x", "", "x", "test-only", "positive")
    define_var("test_y", "", "y", "test-only", "positive")
    import sympy as sp

    # y = x + log(x) + sin(x)/10 has no closed-form inverse in sympy
    s = EquationSet("Transcendental", [Equation("y", "test_y", sym.test_x + sp.log(sym.test_x) + sp.sin(sym.test_x) / 10 + 5,
                                                source=TEST_SRC, description="test")])
    x0 = 3.7
    y0 = x0 + np.log(x0) + np.sin(x0) / 10 + 5
    sol = s.solve("test_x", test_y=y0)
    assert sol.method == "numeric"
    assert float(sol) == pytest.approx(x0, rel=1e-9)
    with pytest.raises(SolveError):
        s.solve("test_x", test_y=y0, method="symbolic")


def test_array_inverse_with_infeasible_points():
    lat = Q_(np.array([20.0, 0.05, 30.0]), "ms")  # 0.05 ms is below the 0.1426 ms compute floor
    s = R.solve("memory_bandwidth", latency=lat, **decode_knowns())
    v = s.m_as("B/s")
    assert v[0] == pytest.approx(141e9 / 0.020) and v[2] == pytest.approx(141e9 / 0.030)
    assert np.isnan(v[1])
    assert list(s.feasible) == [True, False, True]
    assert "compute" in s.reason[1] and s.reason[0] == ""
    with pytest.raises(InfeasibleError):
        R.solve("memory_bandwidth", latency=lat, on_infeasible="raise", **decode_knowns())


def test_solve_for_derived_is_forward():
    s = R.solve("latency", memory_bandwidth=Q_(3.35, "TB/s"), **decode_knowns())
    assert s.m_as("s") == pytest.approx(141e9 / 3.35e12)


@pytest.mark.parametrize("kwargs,err,match", [
    (dict(memory_bandwidth=Q_(3.35, "TB/s"), bytes_moved=Q_(1, "s")), UnitError, "bytes_moved"),
    (dict(memory_bandwidth=3.35e12), UnitError, "memory_bandwidth.*plain number"),
    (dict(memory_bandwidth=Q_(-3.35, "TB/s")), DomainError, "memory_bandwidth must be"),
    (dict(memory_bandwidth=Q_(float("nan"), "TB/s")), DomainError, "memory_bandwidth"),
    (dict(memory_bandwidth=Q_(float("inf"), "TB/s")), DomainError, "memory_bandwidth"),
    (dict(memory_bandwidth=Q_(3.35, "TB/s"), compute_efficiency=1.5), DomainError, "compute_efficiency"),
    (dict(memory_bandwidth=Q_(3.35, "TB/s"), compute_efficiency=0.0), DomainError, "compute_efficiency"),
    (dict(memory_bandwidth=Q_(3.35, "TB/s"), overhead=Q_(-1, "ms")), DomainError, "overhead"),
    (dict(memory_bandwith=Q_(3.35, "TB/s")), UnknownVariableError, "memory_bandwidth"),
    (dict(memory_bandwidth=Q_(3.35, "TB/s"), latency=Q_(1, "s")), OverdeterminedError, "latency"),
    (dict(memory_bandwidth="3.35 TB/s"), UnitError, "string"),
    (dict(memory_bandwidth=Q_(np.array([1.0, -1.0]), "TB/s")), DomainError, "memory_bandwidth"),
])
def test_evaluate_bad_inputs(kwargs, err, match):
    k = decode_knowns()
    k.update(kwargs)
    with pytest.raises(err, match=match):
        R.evaluate(**k)


def test_errors_are_mlsysim_errors():
    for e in (UnitError, DomainError, UnknownVariableError, UnknownNameError, OverdeterminedError,
              UnderdeterminedError, InfeasibleError, DimensionError, SolveError):
        assert issubclass(e, MlsysimError)


def test_underdetermined_requests():
    k = decode_knowns()
    k.pop("flops")
    with pytest.raises(UnderdeterminedError, match="flops"):
        R.evaluate(outputs=["latency"], memory_bandwidth=Q_(3.35, "TB/s"), **k)
    # without outputs=, what the knowns determine is computed; reading the rest names the missing input
    part = R.evaluate(memory_bandwidth=Q_(3.35, "TB/s"), **k)
    assert part.memory_time.m_as("s") == pytest.approx(141e9 / 3.35e12)
    assert "latency" not in part and part.get("latency") is None
    assert set(part.not_computed) == {"compute_time", "latency", "arithmetic_intensity", "attainable_flops"}
    with pytest.raises(UnderdeterminedError, match="flops"):
        part.latency
    with pytest.raises(UnderdeterminedError, match="flops"):  # nothing computable at all: raise at once
        R.evaluate(flops=Q_(1, "FLOP"))
    # only some outputs: memory_time needs no flops
    out = R.evaluate(outputs=["memory_time"], memory_bandwidth=Q_(3.35, "TB/s"), **k)
    assert out.memory_time.m_as("s") == pytest.approx(141e9 / 3.35e12)
    with pytest.raises(UnderdeterminedError, match="target"):
        R.solve("memory_bandwidth", **decode_knowns())
    with pytest.raises(UnderdeterminedError, match="bytes_moved"):
        kk = decode_knowns()
        kk.pop("bytes_moved")
        R.solve("memory_bandwidth", latency=Q_(20, "ms"), **kk)
    with pytest.raises(OverdeterminedError):
        R.solve("memory_bandwidth", latency=Q_(30, "ms"), memory_time=Q_(20, "ms"), **decode_knowns())
    # consistent extra knowns are accepted: latency = max(0.14 ms, 20 ms) = 20 ms
    ok = R.solve("memory_bandwidth", latency=Q_(20, "ms"), memory_time=Q_(20, "ms"), **decode_knowns())
    assert ok.m_as("TB/s") == pytest.approx(7.05)
    with pytest.raises(UnknownVariableError, match="memory_bandwidth"):
        R.solve("memory_bandwith", latency=Q_(20, "ms"), **decode_knowns())
    with pytest.raises(OverdeterminedError):
        R.solve("memory_bandwidth", memory_bandwidth=Q_(1, "TB/s"), latency=Q_(20, "ms"), **decode_knowns())


def test_iron_law():
    il = mlsysim.Equations.IronLaw
    out = il.evaluate(flops=Q_(1e15, "FLOP"), peak_flops=Q_(989, "TFLOP/s"), compute_efficiency=0.5)
    assert out.compute_time.m_as("s") == pytest.approx(1e15 / (0.5 * 989e12))
    assert out.achieved_flops.m_as("TFLOP/s") == pytest.approx(494.5)
    # IronLaw's compute_time is the same Equation object the Roofline uses (one relation, one place)
    assert il.equations["compute_time"] is R.equations["compute_time"]


def test_registry_close_matches():
    with pytest.raises(UnknownNameError, match="Roofline"):
        mlsysim.Equations.get("Rooflin")
    assert mlsysim.Equations.get("roofline") is mlsysim.Equations.Roofline


def test_result_data_and_repr():
    out = R.evaluate(memory_bandwidth=Q_(3.35, "TB/s"), **decode_knowns())
    d = out.to_dict()
    assert d["latency"]["unit"] == "s" and d["regimes"]["latency"] == "memory"
    assert "latency" in repr(out) and "<table>" in out._repr_html_()


def test_latex_symbols_are_unique_across_the_nomenclature():
    """One symbol, one meaning: no two variables print the same in a chapter's symbol table."""
    from collections import defaultdict

    from mlsysim.core.variables import VARIABLES

    for name in mlsysim.Equations:
        mlsysim.Equations[name]  # build every set so that every variable is registered
    by_symbol = defaultdict(list)
    for v in VARIABLES.values():
        if not v.name.startswith("test_"):
            by_symbol[v.latex].append(v.name)
    clashes = {s: names for s, names in by_symbol.items() if len(names) > 1}
    assert not clashes


# ------------------------------------------------------------------ evaluate with intermediate knowns (#12.3)
def test_evaluate_takes_a_measured_intermediate():
    C = mlsysim.Equations.Carbon
    r = C.evaluate(power=Q_(310, "W"), num_devices=512, duration=Q_(20, "day"), pue=1.12,
                   carbon_intensity=Q_(545, "g/kWh"))
    # hand: 310 W * 512 * 480 h = 76.1856 MWh IT; * 1.12 PUE = 85.3279 MWh; * 545 g/kWh = 46.504 t
    assert r.energy.m_as("MWh") == pytest.approx(85.3279, rel=1e-5)
    assert r.it_energy.m_as("MWh") == pytest.approx(76.1856, rel=1e-6)
    assert r.carbon.m_as("t") == pytest.approx(46.504, rel=1e-4)
    assert r.bypassed == ("power",)
    assert r.power.m_as("W") == 310  # the given value, unchanged
    assert r.to_dict()["bypassed"] == ["power"]
    assert "bypassed" in repr(r)


def test_evaluate_intermediate_in_roofline_and_arrays():
    # a known memory_time (measured) replaces bytes_moved / memory_bandwidth
    k = decode_knowns()
    k.pop("bytes_moved")
    r = R.evaluate(outputs=["latency"], memory_time=Q_(np.array([10.0, 50.0]), "ms"), **k)
    # compute_time = 141e9 FLOP / (1.0 * 989e12 FLOP/s) = 0.143 ms < memory_time: latency = memory_time
    assert r.latency.m_as("ms") == pytest.approx([10.0, 50.0])
    assert r.bypassed == ("memory_time",)


def test_evaluate_given_intermediate_must_agree_with_its_inputs():
    C = mlsysim.Equations.Carbon
    base = dict(num_devices=8, duration=Q_(1, "day"), pue=1.2, carbon_intensity=Q_(400, "g/kWh"))
    # 50 W + 0.8 * (400 - 50) W = 330 W
    ok = C.evaluate(outputs=["energy"], power=Q_(330, "W"), idle_power=Q_(50, "W"), tdp=Q_(400, "W"),
                    utilization=0.8, **base)
    assert ok.energy.m_as("kWh") == pytest.approx(330 * 8 * 24 * 1.2 / 1000)
    with pytest.raises(OverdeterminedError, match="power.*330 W"):
        C.evaluate(outputs=["energy"], power=Q_(300, "W"), idle_power=Q_(50, "W"), tdp=Q_(400, "W"),
                   utilization=0.8, **base)


def test_solve_and_evaluate_agree_on_a_bypassed_relation():
    C = mlsysim.Equations.Carbon
    kw = dict(power=Q_(310, "W"), num_devices=512, duration=Q_(20, "day"), pue=1.12, carbon_intensity=Q_(545, "g/kWh"))
    ev = C.evaluate(outputs=["carbon"], **kw)
    sol = C.solve("carbon", **kw)
    assert sol.m_as("t") == pytest.approx(ev.carbon.m_as("t"), rel=1e-12)


# ------------------------------------------------------------------ one validation path (#12.5, #13)
def test_validate_is_the_one_domain_check():
    from mlsysim.core.variables import VARIABLES, validate

    assert validate("batch_size", 8) == 8.0
    assert validate("memory_bandwidth", Q_(3.35, "TB/s")) == pytest.approx(3.35e12)
    np.testing.assert_array_equal(validate("batch_size", np.array([1, 2, 64])), [1.0, 2.0, 64.0])
    for bad, msg in [(0.5, "batch_size must be a whole number >= 1; got 0.5"), (0, "whole number >= 1"),
                     (np.array([1.0, 2.5]), "non-integer"), (True, "must be a number; got True"),
                     (float("nan"), "whole number")]:
        with pytest.raises(DomainError, match=msg):
            validate("batch_size", bad)
    with pytest.raises(DomainError, match="compute_efficiency must be a finite number with 0 < x <= 1"):
        validate("compute_efficiency", 1.5)
    with pytest.raises(UnitError, match="memory_bandwidth"):
        validate("memory_bandwidth", Q_(3, "s"))
    with pytest.raises(UnitError, match="string"):
        validate("batch_size", "8")
    with pytest.raises(UnknownVariableError, match="batch_size"):
        validate("batch_sise", 8)
    # the Domain object behind it compares equal to its name and reports its bounds
    d = VARIABLES["batch_size"].domain
    assert d == "count" and d.integer and d.lower == 1 and d.text == "a whole number >= 1"
    assert VARIABLES["compute_efficiency"].domain.upper == 1


def test_fractional_microbatches_refused():
    P = mlsysim.Equations.PipelineBubble
    with pytest.raises(DomainError, match="microbatches must be a whole number"):
        P.evaluate(microbatches=0.5, pp=4, pipeline_interleave=1)
    # bubble / ideal = (p - 1) / m = 3 / 8 for 1F1B with v = 1 (Narayanan 2021); idle share 3 / (8 + 3)
    assert P.evaluate(microbatches=8, pp=4, pipeline_interleave=1).bubble_ratio.m_as("") == pytest.approx(0.375)
    assert P.evaluate(microbatches=8, pp=4, pipeline_interleave=1).bubble_fraction.m_as("") == pytest.approx(3 / 11)


def test_unknown_solve_method_is_typed_and_lists_the_allowed():
    from mlsysim.core.errors import OptionError

    with pytest.raises(OptionError, match="'auto', 'symbolic', 'numeric'.*'magic'"):
        R.solve("memory_bandwidth", method="magic", latency=Q_(20, "ms"), **decode_knowns())
    with pytest.raises(OptionError, match="on_infeasible"):
        R.solve("memory_bandwidth", on_infeasible="ignore", latency=Q_(20, "ms"), **decode_knowns())
    with pytest.raises(OptionError, match="limit"):
        R.solve("memory_bandwidth", limit="exact", latency=Q_(20, "ms"), **decode_knowns())
    assert issubclass(OptionError, MlsysimError)


COLL = dict(link_bandwidth=Q_(100, "GB/s"), link_latency=Q_(5, "us"), message_bytes=Q_(1, "GB"))


def test_count_unknown_is_rounded_with_a_note():
    C = mlsysim.Equations.Collectives
    # ring all-reduce: 2 (p-1) alpha + 2 (p-1)/p * M / B. p = 4: 6 * 5 us + 1.5 * 1 GB / 100 GB/s = 15.03 ms;
    # p = 5: 8 * 5 us + 1.6 * 10 ms = 16.04 ms. A 15.5 ms budget lies between: the exact p is fractional
    s = C.solve("num_devices", allreduce_time=Q_(15.5, "ms"), **COLL)
    assert 4 < s.continuous.m_as("") < 5
    assert s.m_as("") == 4 and "rounded to the whole number 4" in s.note and "15.03 ms" in s.note
    assert s.all.allreduce_time.m_as("ms") == pytest.approx(15.03)  # the state at the answer, not the target
    assert "rounded" in repr(s)
    up = C.solve("num_devices", allreduce_time=Q_(15.5, "ms"), limit="min", **COLL)
    assert up.m_as("") == 5 and up.all.allreduce_time.m_as("ms") == pytest.approx(16.04)
    exact = C.solve("num_devices", allreduce_time=Q_(15.5, "ms"), round_counts=False, **COLL)
    assert exact.m_as("") == pytest.approx(s.continuous.m_as(""))
    # an exact whole answer (computed as 3.9999999...) is snapped without a note
    hit = C.solve("num_devices", allreduce_time=Q_(15.03, "ms"), **COLL)
    assert hit.m_as("") == 4 and hit.note == ""


def test_count_rounding_on_arrays():
    C = mlsysim.Equations.Collectives
    s = C.solve("num_devices", allreduce_time=Q_(np.array([15.5, 15.03, 16.5]), "ms"), **COLL)
    # 15.5 ms -> 4 (15.03 ms); 15.03 ms -> 4 exactly; 16.5 ms -> 5 (16.04 ms, p = 6 gives 16.72 ms)
    np.testing.assert_array_equal(s.value.m_as(""), [4, 4, 5])
    assert "2 value(s)" in s.note


def test_carbon_device_count_is_whole():
    C = mlsysim.Equations.Carbon
    kw = dict(power=Q_(700, "W"), duration=Q_(30, "day"), pue=1.1, carbon_intensity=Q_(400, "g/kWh"))
    # 700 W * 720 h * 1.1 * 0.4 kg/kWh = 221.76 kg per device; a 43 t budget allows 193.9 devices -> 193
    s = C.solve("num_devices", carbon=Q_(43, "t"), **kw)
    assert s.continuous.m_as("") == pytest.approx(43000 / 221.76)
    assert s.m_as("") == 193 and s.all.carbon.m_as("t") == pytest.approx(193 * 0.22176)


def test_zero_target_at_the_domain_edge_is_not_called_independent():
    # carbon = intensity * energy: a zero budget needs a zero-carbon grid (0 g/kWh), and carbon does depend on it
    C = mlsysim.Equations.Carbon
    s = C.solve("carbon_intensity", carbon=Q_(0, "t"), power=Q_(700, "W"), num_devices=8, duration=Q_(1, "day"),
                pue=1.2)
    assert s.m_as("g/kWh") == 0 and s.bound == "" and "does not depend" not in repr(s)
