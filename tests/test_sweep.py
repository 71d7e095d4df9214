"""mlsysim.sweep: vectorised design-space sweeps over equation sets and solvers.

Expected numbers are hand calculations written out here, with device figures from the NVIDIA H100
whitepaper v1.04 (published_cases.json ``hw_h100_sxm``: 989.4 TFLOP/s dense bf16/fp16, 3.35 TB/s, 80 GB)
and the Llama 3 8B architecture (Meta model card / config.json: 32 layers, 8 KV heads, head_dim 128).
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import mlsysim
from mlsysim import Equations, Q_
from mlsysim.core.errors import (DomainError, MlsysimError, UnderdeterminedError, UnitError,
                                 UnknownNameError, UnknownVariableError)
from mlsysim.sweep import MissingDependencyError, SweepTable, sweep

H100_PEAK = Q_(989.4, "TFLOP/s")
H100_BW = Q_(3.35, "TB/s")
FIXED = dict(peak_flops=H100_PEAK, memory_bandwidth=H100_BW, compute_efficiency=0.7, overhead=Q_(0, "s"))


def roofline_table(**kw):
    return sweep("Roofline", flops=Q_(np.array([1e9, 1e12]), "FLOP"), bytes_moved=Q_(np.array([1e9, 1e6, 1e3]), "byte"),
                 **{"as_frame": False, "regimes": True, **FIXED, **kw})


# ------------------------------------------------------------------------------ grid and values
def test_roofline_grid_matches_hand_calculation():
    t = roofline_table(outputs=["latency", "ridge_point", "arithmetic_intensity"])
    assert isinstance(t, SweepTable)
    assert len(t) == 2 * 3 and t.shape[0] == 6
    # C order: the last axis varies fastest
    assert t["flops"].m_as("FLOP").tolist() == [1e9, 1e9, 1e9, 1e12, 1e12, 1e12]
    assert t["bytes_moved"].m_as("byte").tolist() == [1e9, 1e6, 1e3] * 2
    # point 3: F = 1e12 FLOP, D = 1e9 B
    #   compute = 1e12 / (0.7 * 989.4e12) = 1.443876e-3 s ; memory = 1e9 / 3.35e12 = 2.985075e-4 s
    lat = t["latency"].m_as("s")
    assert lat[3] == pytest.approx(1e12 / (0.7 * 989.4e12), rel=1e-12)
    assert t["regime_latency"][3] == "compute"
    # point 0: F = 1e9, D = 1e9: memory 2.985e-4 s > compute 1.444e-6 s
    assert lat[0] == pytest.approx(1e9 / 3.35e12, rel=1e-12)
    assert t["regime_latency"][0] == "memory"
    # ridge point 989.4 / 3.35 = 295.34 FLOP/byte at every point (does not depend on the axes)
    assert np.allclose(t["ridge_point"].m_as("FLOP/byte"), 989.4 / 3.35, rtol=1e-12)
    assert t["arithmetic_intensity"].m_as("FLOP/byte")[5] == pytest.approx(1e12 / 1e3)


def test_units_and_axes_recorded():
    t = sweep("Roofline", flops=Q_(np.array([1.0, 2.0]), "TFLOP"), bytes_moved=Q_(1, "GB"), as_frame=False, **FIXED)
    assert t.units["flops"] == "TFLOP"  # axes keep the unit given
    assert t.units["latency"] == "s" and t.units["attainable_flops"] == "FLOP/s"
    assert t.attrs["axes"] == ["flops"] and t.attrs["target"] == "Roofline"
    assert t.attrs["fixed"]["memory_bandwidth"] == "3.35 TB/s"
    # 2 TFLOP at 0.7 * 989.4 TFLOP/s = 2.888e-3 s (compute-bound: memory 1e9/3.35e12 = 2.985e-4 s)
    assert t["latency"].m_as("ms")[1] == pytest.approx(2.0 / (0.7 * 989.4) * 1e3)


def test_ranges_linear_log_and_whole_number_snap():
    t = sweep("KVCache", num_layers=32, num_kv_heads=8, head_dim=128, bytes_per_element=Q_(2, "byte"),
              seq_len=(1, 64, 7, "log"), batch_size=(1, 4, 4), as_frame=False)
    assert len(t) == 7 * 4
    seq = np.unique(t["seq_len"])
    assert seq.tolist() == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]  # geomspace noise snapped to whole numbers
    assert np.unique(t["batch_size"]).tolist() == [1.0, 2.0, 3.0, 4.0]
    # kv bytes per token = 2 * 32 layers * 8 heads * 128 * 2 B = 131072 B; cache = that * seq * batch
    kv = t["kv_cache_bytes"].m_as("byte")
    assert np.allclose(kv, 131072 * t["seq_len"] * t["batch_size"], rtol=1e-12)
    q = sweep("Roofline", flops=Q_(1e12, "FLOP"), bytes_moved=(Q_(1, "GB"), Q_(3000, "MB"), 3), as_frame=False,
              **FIXED)
    assert q["bytes_moved"].m_as("GB").tolist() == pytest.approx([1.0, 2.0, 3.0])


def test_serving_solver_sweep_fits_and_kv_by_hand():
    t = sweep(mlsysim.ServingSolver, model="Llama3_8B", hardware="H100", batch_size=[1, 32, 72],
              seq_len=[1024, 8192], as_frame=False, outputs=["kv_cache_bytes", "tpot", "fits"], regimes=True)
    assert len(t) == 6
    # memory = weights 8.03e9 * 2 B (16.06 GB) + 131072 B/token * seq * batch; H100 holds 80 GiB = 85.9 GB.
    # seq 8192: 16.06e9 + B * 1.0737e9 <= 85.9e9  <=>  B <= 65.0: batch 72 does not fit; everything else does
    fits = dict(zip(zip(t["batch_size"].tolist(), t["seq_len"].tolist()), t["fits"].tolist()))
    assert fits == {(1, 1024): True, (1, 8192): True, (32, 1024): True, (32, 8192): True, (72, 1024): True,
                    (72, 8192): False}
    assert t["kv_cache_bytes"].m_as("byte")[5] == pytest.approx(131072 * 8192 * 72)
    assert set(t["regime_tpot"]) <= {"compute", "memory"}
    # the sweep is the solver, vectorised: the same number as a scalar solve
    one = mlsysim.ServingSolver().solve("Llama3_8B", "H100", batch_size=32, seq_len=8192)
    assert t["tpot"].m_as("s")[3] == pytest.approx(one.tpot.m_as("s"), rel=1e-12)


def test_categorical_axis_for_solvers():
    t = sweep(mlsysim.ServingSolver(), model="Llama3_8B", hardware=["H100", "H200"], batch_size=[72],
              seq_len=[8192], as_frame=False)
    assert t["hardware"].tolist() == ["H100", "H200"]
    # 93.4 GB needed: above the H100's 80 GiB (85.9 GB), within the H200's 141 GiB (151.4 GB)
    assert t["fits"].tolist() == [False, True]
    assert t["memory_required"].m_as("GB")[0] == pytest.approx((8030261248 * 2 + 131072 * 8192 * 72) / 1e9)


def test_outputs_restricts_columns():
    t = roofline_table(outputs=["latency"])
    assert t.columns == ["flops", "bytes_moved", "latency", "regime_latency"]


# ------------------------------------------------------------------------------ vectorised, chunked
def test_one_vectorised_call_per_chunk(monkeypatch):
    eq = Equations.Roofline
    calls = []
    real = type(eq).evaluate

    def counting(self, *a, **k):
        calls.append(np.size(k["flops"].magnitude))
        return real(self, *a, **k)

    monkeypatch.setattr(type(eq), "evaluate", counting)
    flops = Q_(np.geomspace(1e9, 1e13, 10), "FLOP")
    whole = sweep(eq, flops=flops, bytes_moved=Q_(np.geomspace(1e6, 1e9, 3), "byte"), as_frame=False, **FIXED)
    assert calls == [10]  # 30 points, one call: the 10 flops and 3 bytes_moved broadcast as a 10 x 3 grid
    calls.clear()
    parts = sweep(eq, flops=flops, bytes_moved=Q_(np.geomspace(1e6, 1e9, 3), "byte"), as_frame=False, chunk_size=7,
                  progress=False, **FIXED)
    assert calls == [7, 7, 7, 7, 2]
    for c in whole.columns:
        assert np.array_equal(np.asarray(whole.magnitude(c)), np.asarray(parts.magnitude(c)))


def test_progress_reported_per_chunk(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the built-in counter
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    sweep("Roofline", flops=Q_(np.geomspace(1e9, 1e13, 10), "FLOP"), bytes_moved=Q_(1, "GB"), as_frame=False,
          chunk_size=4, **FIXED)
    err = capsys.readouterr().err
    assert "chunk 3/3" in err and "10/10 points" in err
    sweep("Roofline", flops=Q_(np.geomspace(1e9, 1e13, 10), "FLOP"), bytes_moved=Q_(1, "GB"), as_frame=False,
          **FIXED)
    assert capsys.readouterr().err == ""  # one chunk: no progress by default


def test_module_is_callable_after_submodule_import():
    import mlsysim.sweep as mod

    t = mod(Equations.Roofline, flops=Q_(np.array([1e9, 2e9]), "FLOP"), bytes_moved=Q_(1, "GB"), as_frame=False,
            **FIXED)
    assert len(t) == 2
    assert len(mlsysim.sweep("Roofline", flops=Q_(np.array([1e9]), "FLOP"), bytes_moved=Q_(1, "GB"),
                             as_frame=False, **FIXED)) == 1


# ------------------------------------------------------------------------------ tables
def test_sweeptable_dict_and_html():
    t = roofline_table()
    d = t.to_dict()
    assert d["latency"]["unit"] == "s" and len(d["latency"]["value"]) == 6
    assert d["regime_latency"]["value"][3] == "compute"
    html = t._repr_html_()
    assert "<table" in html and "latency [s]" in html and "6 points" in html
    assert "latency [s]" in repr(t)
    big = sweep("Roofline", flops=Q_(np.geomspace(1e9, 1e13, 40), "FLOP"), bytes_moved=Q_(1, "GB"), as_frame=False,
                **FIXED)
    assert big._repr_html_().count("<tr>") == 1 + 10 + 1  # header, head+tail rows, the gap
    with pytest.raises(UnknownVariableError, match="did you mean latency"):
        t["latncy"]


def test_dataframe_when_pandas_installed():
    pd = pytest.importorskip("pandas")
    df = sweep("Roofline", flops=Q_(np.array([1e9, 1e12]), "FLOP"), bytes_moved=Q_(1, "GB"), regimes=True, **FIXED)
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    assert df.attrs["units"]["latency"] == "s" and df.attrs["units"]["flops"] == "FLOP"
    assert df["latency"].iloc[1] == pytest.approx(1e12 / (0.7 * 989.4e12))
    assert list(df["regime_latency"]) == ["memory", "compute"]


def test_as_frame_without_pandas_raises(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match="pandas"):
        roofline_table(as_frame=True)
    t = sweep("Roofline", flops=Q_(np.array([1e9]), "FLOP"), bytes_moved=Q_(1, "GB"), **FIXED)
    assert isinstance(t, SweepTable)  # default falls back to a SweepTable
    assert issubclass(MissingDependencyError, MlsysimError)


# ------------------------------------------------------------------------------ dask
def test_dask_axis_is_lazy_and_matches_numpy(monkeypatch):
    da = pytest.importorskip("dask.array")
    flops = np.geomspace(1e9, 1e13, 9)
    lazy = sweep("Roofline", flops=Q_(da.from_array(flops, chunks=3), "FLOP"),
                 bytes_moved=Q_(np.array([1e6, 1e9]), "byte"), chunk_size=5, progress=False, **FIXED)
    assert isinstance(lazy, SweepTable) and lazy.lazy and len(lazy) == 18
    assert "lazy" in repr(lazy)
    eq = Equations.Roofline
    calls = []
    real = type(eq).evaluate
    monkeypatch.setattr(type(eq), "evaluate", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    done = lazy.compute()
    assert not done.lazy and len(calls) == 4  # 18 points in chunks of 5: one call per chunk, all columns at once
    eager = sweep("Roofline", flops=Q_(flops, "FLOP"), bytes_moved=Q_(np.array([1e6, 1e9]), "byte"),
                  as_frame=False, **FIXED)
    for c in eager.columns:
        assert np.array_equal(np.asarray(done.magnitude(c)), np.asarray(eager.magnitude(c)))
    # hand check of one point: F = 1e13, D = 1e6 B -> compute-bound, 1e13 / (0.7 * 989.4e12) s
    assert done["latency"].m_as("s")[-2] == pytest.approx(1e13 / (0.7 * 989.4e12))


def test_dask_bad_input_fails_at_sweep_time():
    da = pytest.importorskip("dask.array")
    with pytest.raises(DomainError, match="compute_efficiency"):
        sweep("Roofline", flops=Q_(da.from_array(np.array([1e9, 1e10]), chunks=1), "FLOP"), bytes_moved=Q_(1, "GB"),
              **{**FIXED, "compute_efficiency": 1.5})


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw, err, words", [
    ({"flops": np.array([1e9, 1e10])}, UnitError, ["flops", "FLOP"]),  # no units on a dimensioned axis
    ({"flops": Q_(np.array([1e9, 1e10]), "s")}, UnitError, ["flops", "[time]"]),
    ({"flops": Q_(np.array([]), "FLOP")}, DomainError, ["flops", "empty"]),
    ({"flops": Q_(np.ones((2, 2)), "FLOP")}, DomainError, ["flops", "1-D"]),
    ({"flops": (Q_(1, "FLOP"), Q_(1, "s"), 3)}, UnitError, ["flops", "mismatched"]),
    ({"flops": (Q_(1, "FLOP"), 10, 3)}, UnitError, ["flops", "both"]),
    ({"flops": (Q_(1, "FLOP"), Q_(10, "FLOP"))}, DomainError, ["flops", "(start, stop, num)"]),
    ({"flops": (Q_(1, "FLOP"), Q_(10, "FLOP"), 0)}, DomainError, ["flops", ">= 1"]),
    ({"flops": (Q_(0, "FLOP"), Q_(10, "FLOP"), 3, "log")}, DomainError, ["flops", "positive"]),
    ({"flops": (Q_(1, "FLOP"), Q_(10, "FLOP"), 3, "cubic")}, DomainError, ["flops", "'lin' or 'log'"]),
    ({"flops": [Q_(1, "FLOP"), 2.0]}, UnitError, ["flops", "mix"]),
    ({"flops": [Q_(1, "FLOP"), Q_(2, "s")]}, UnitError, ["flops", "mismatched"]),
    ({"flop": Q_(np.array([1.0]), "FLOP")}, UnknownVariableError, ["flop", "did you mean"]),
])
def test_bad_axes_raise_clear_errors(kw, err, words):
    base = {"flops": Q_(1e12, "FLOP"), "bytes_moved": Q_(1, "GB"), **FIXED}
    base.update(kw)
    if "flop" in kw:
        base.pop("flops")
    with pytest.raises(err) as exc:
        sweep("Roofline", as_frame=False, **base)
    for w in words:
        assert w in str(exc.value)


def test_more_bad_input():
    with pytest.raises(DomainError, match="batch_size is a count"):
        sweep("KVCache", num_layers=32, num_kv_heads=8, head_dim=128, bytes_per_element=Q_(2, "byte"), seq_len=1024,
              batch_size=(1, 8, 4))  # 1, 3.33, 5.67, 8
    with pytest.raises(UnderdeterminedError, match="overhead"):
        sweep("Roofline", flops=Q_(np.array([1e9]), "FLOP"), bytes_moved=Q_(1, "GB"), peak_flops=H100_PEAK,
              memory_bandwidth=H100_BW, compute_efficiency=0.7)
    with pytest.raises(UnknownNameError, match="Roofline"):
        sweep("Rooflin", flops=Q_(1, "FLOP"))
    with pytest.raises(DomainError, match="equation set"):
        sweep(42, flops=Q_(1, "FLOP"))
    with pytest.raises(DomainError, match="chunk_size"):
        roofline_table(chunk_size=0)
    with pytest.raises(DomainError, match="compute_efficiency"):
        roofline_table(compute_efficiency=np.array([0.5, 1.2]))
    with pytest.raises(DomainError, match="numbers or Quantities"):
        sweep("Roofline", flops=["a", "b"], bytes_moved=Q_(1, "GB"), **FIXED)
    with pytest.raises(UnknownVariableError, match="batchsize"):
        sweep(mlsysim.ServingSolver, model="Llama3_8B", hardware="H100", seq_len=1024, batchsize=[1, 2])
    with pytest.raises(UnknownNameError, match="H10"):
        sweep(mlsysim.ServingSolver, model="Llama3_8B", hardware="H10", seq_len=1024, batch_size=[1, 2])


def test_distributed_solver_points_to_search():
    with pytest.raises(DomainError, match="search"):
        sweep(mlsysim.DistributedSolver, model="Llama3_8B", fleet="A100_Megatron", tp=[1, 2, 4, 8],
              global_batch=64)


# ------------------------------------------------------------------------------ notebook reprs
def test_notebook_reprs():
    eq = Equations.Roofline
    assert "T_{\\text{ovh}}" in eq._repr_latex_()
    q = Q_(3.35, "TB/s")
    assert "TB" in q._repr_html_() and "TB" in q._repr_latex_()
    assert "<table" in eq.evaluate(**{**FIXED, "flops": Q_(1, "TFLOP"), "bytes_moved": Q_(1, "GB")})._repr_html_()


def test_default_columns_are_the_headline_outputs_only():
    # Roofline's headline: latency, ridge_point, attainable_flops (nothing else is computed from them; latency
    # and attainable_flops are max/min regimes); compute_time, memory_time, arithmetic_intensity are not columns
    t = sweep("Roofline", flops=Q_(np.array([1e9, 1e12]), "FLOP"), bytes_moved=Q_(1, "GB"), as_frame=False, **FIXED)
    assert t.columns == ["flops", "latency", "ridge_point", "attainable_flops"]
    assert not any(c.startswith("regime_") for c in t.columns)  # labels only when asked (regimes=True)
    s = sweep(mlsysim.ServingSolver, model="Llama3_8B", hardware="H100", batch_size=[1, 8], seq_len=1024,
              as_frame=False)
    assert {"tpot", "ttft", "request_latency", "memory_required", "decode_throughput", "fits"} <= set(s.columns)
    assert "kv_cache_bytes" not in s.columns
