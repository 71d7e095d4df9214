"""mlsysim.plot: figures render (Agg, PNG) and show the numbers the solvers compute.

Hand figures: H100 SXM5 989.4 TFLOP/s dense fp16, 3.35 TB/s, 80 GB (NVIDIA H100 whitepaper v1.04,
published_cases.json ``hw_h100_sxm``); Llama 3 8B: 8.03e9 parameters, 32 layers, 8 KV heads, head_dim 128
(Meta model card / config.json); grid intensities Quebec 20 g/kWh (``grid_quebec``) and Poland 662 g/kWh
(``grid_poland``).
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import mlsysim  # noqa: E402
from mlsysim import Q_, plot  # noqa: E402
from mlsysim.core.errors import DomainError, MlsysimError, UnderdeterminedError  # noqa: E402
from mlsysim.solvers import DistributedSolver, SingleNodeSolver  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def save_png(fig, tmp_path, name="fig.png"):
    p = tmp_path / name
    fig.savefig(p)
    assert p.exists() and p.read_bytes()[:8] == PNG
    return p


def points(ax):
    """All scatter offsets on the axes, with each collection's label."""
    out = []
    for c in ax.collections:
        off = c.get_offsets()
        out += [(float(x), float(y), c.get_label()) for x, y in np.asarray(off)]
    return out


# ------------------------------------------------------------------------------------- roofline
def test_roofline_axes_ridge_and_points(tmp_path):
    fig = plot.roofline("H100", ["Llama3_70B", "ResNet50"], batch_sizes=[1, 8, 64])
    save_png(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "arithmetic intensity [FLOP/byte]"
    assert ax.get_ylabel() == "attainable performance [TFLOP/s]"
    # the ridge drawn is the solver's: 989.4 TFLOP/s / 3.35 TB/s = 295.34 FLOP/byte
    ridge = [ln for ln in ax.lines if ln.get_label().startswith("ridge point")]
    assert len(ridge) == 1
    x_ridge = ridge[0].get_xdata()[0]
    solver_ridge = SingleNodeSolver().solve("Llama3_70B", "H100").ridge_point.m_as("FLOP/byte")
    assert x_ridge == pytest.approx(solver_ridge, rel=1e-12)
    assert x_ridge == pytest.approx(989.4 / 3.35, rel=1e-9)
    # roofs: peak 989.4 TFLOP/s, achieved 0.7 * 989.4 = 692.58 TFLOP/s (the solver's default efficiency)
    roofs = {ln.get_label(): ln for ln in ax.lines}
    assert max(roofs["peak roof"].get_ydata()) == pytest.approx(989.4)
    assert max(roofs["achieved roof (efficiency 0.7)"].get_ydata()) == pytest.approx(0.7 * 989.4)
    # 2 models x 3 batch sizes
    pts = points(ax)
    assert len(pts) == 6
    for x, y, label in pts:
        # each point sits on the achieved roof: min(0.7 * 989.4, I * 3.35) TFLOP/s
        assert y == pytest.approx(min(0.7 * 989.4, x * 3.35), rel=1e-9)
        regime = "compute" if x * 3.35 > 0.7 * 989.4 else "memory"
        assert f"({regime}-bound)" in label
    # a decode step at batch 1 reads every 2-byte weight for ~2 FLOP per parameter: intensity ~1 FLOP/byte
    llama = sorted(x for x, _, label in pts if label.startswith("Llama"))
    assert 0.5 < llama[0] < 2.0
    colors = {c.get_label(): c.get_facecolor()[0] for c in ax.collections}
    assert any("memory-bound" in k for k in colors) and any("compute-bound" in k for k in colors)


def test_roofline_regimes_match_solver_bottleneck():
    fig = plot.roofline("H100", "ResNet50", batch_sizes=[1, 256])
    res = SingleNodeSolver().solve("ResNet50", "H100", batch_size=np.array([1.0, 256.0]))
    pts = points(fig.axes[0])
    intens = res.arithmetic_intensity.m_as("FLOP/byte")
    assert sorted(x for x, _, _ in pts) == pytest.approx(sorted(intens), rel=1e-12)
    for i, regime in zip(intens, res.bottleneck):
        label = [lab for x, _, lab in pts if x == pytest.approx(float(i), rel=1e-12)][0]
        assert f"({regime}-bound)" in label


def test_roofline_device_only_and_on_given_axes(tmp_path):
    from matplotlib.figure import Figure

    base = Figure()
    ax = base.add_subplot()
    fig = plot.roofline("H200", ax=ax)
    assert fig is base
    assert not points(ax)
    ridge = [ln for ln in ax.lines if ln.get_label().startswith("ridge point")][0]
    # H200: 989 TFLOP/s (registry 989.4) / 4.8 TB/s (published_cases hw_h200_sxm)
    assert ridge.get_xdata()[0] == pytest.approx(989.4 / 4.8, rel=2e-3)
    save_png(fig, tmp_path)


# ------------------------------------------------------------------------------------- serving
def test_serving_latency_marks_points_that_do_not_fit(tmp_path):
    batches = [1, 8, 32, 72, 128]
    fig = plot.serving_latency("Llama3_8B", "H100", batch_sizes=batches, seq_lens=[1024, 8192])
    save_png(fig, tmp_path)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "batch size [sequences]" and ax.get_ylabel() == "time per output token [ms]"
    solid = [ln for ln in ax.lines if ln.get_label().startswith("context")]
    assert [ln.get_label() for ln in solid] == ["context 1,024", "context 8,192"]
    assert list(solid[0].get_xdata()) == batches
    # memory = 16.06 GB of weights + 131072 B/token * context * batch <= 80 GiB = 85.9 GB:
    # context 1024 fits up to batch 520 (all fit); context 8192 up to 65 -> 72 and 128 do not fit
    crosses = [c for c in ax.collections if "does not fit" in c.get_label()]
    assert len(crosses) == 1 and crosses[0].get_label() == "context 8,192: does not fit"
    assert sorted(np.asarray(crosses[0].get_offsets())[:, 0].tolist()) == [72.0, 128.0]
    # tpot in ms: the solver's number
    tpot = mlsysim.ServingSolver().solve("Llama3_8B", "H100", batch_size=8, seq_len=1024).tpot.m_as("ms")
    assert solid[0].get_ydata()[1] == pytest.approx(tpot, rel=1e-12)


# ------------------------------------------------------------------------------------- parallelism
def test_parallelism_breakdown_bars_sum_to_step_time(tmp_path):
    S = DistributedSolver()
    fleet = mlsysim.Systems.A100_Megatron.replace(num_nodes=2)
    rs = [S.solve(model="GPT2", fleet=fleet, tp=tp, pp=1, global_batch=64) for tp in (1, 2)]
    fig = plot.parallelism_breakdown(rs)
    save_png(fig, tmp_path)
    ax = fig.axes[0]
    # two bars of the per-operation model's fourteen parts (GEMMs, kernels, exposed TP, recompute, CP traffic,
    # expert all-to-alls, stage imbalance, bubble, pipeline sends, exposed DP, optimizer, and the three offload
    # transfers: optimizer state, activations, weights)
    assert len(ax.patches) == 2 * 14
    assert ax.get_ylabel() == "time per step [s]"
    tops = {}
    for p in ax.patches:
        x = round(p.get_x() + p.get_width() / 2)
        tops[x] = max(tops.get(x, 0.0), p.get_y() + p.get_height())
    for i, r in enumerate(rs):
        assert tops[i] == pytest.approx(r.step_time.m_as("s"), rel=1e-9)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["tp1 pp1 dp16", "tp2 pp1 dp8"]


def test_parallelism_breakdown_from_layout_table():
    table = DistributedSolver().search(model="GPT2", fleet=mlsysim.Systems.A100_Megatron.replace(num_nodes=2),
                                       global_batch=64)
    fig = plot.parallelism_breakdown(table, top=3)
    from mlsysim.solvers.distributed import OPS_PARTS   # the search runs the per-operation model, as solve does

    assert len(fig.axes[0].patches) == 3 * len(OPS_PARTS)
    with pytest.raises(DomainError, match="DistributedSolver"):
        plot.parallelism_breakdown([object()])
    with pytest.raises(DomainError, match="labels"):
        plot.parallelism_breakdown(table, labels=["a"], top=2)


# ------------------------------------------------------------------------------------- carbon
def test_carbon_by_region_bars_by_hand(tmp_path):
    fig = plot.carbon_by_region(regions=["Quebec", "Poland"], hardware="H100", num_devices=8,
                                duration=Q_(30, "day"), power=Q_(700, "W"), pue=1.1)
    save_png(fig, tmp_path)
    ax = fig.axes[0]
    # energy = 700 W * 8 * 720 h * 1.1 = 4435.2 kWh; carbon = energy * intensity
    heights = [p.get_height() for p in ax.patches]
    # Quebec: Hydro-Quebec's 360 t CO2/TWh = 0.36 g/kWh; Poland: Ember 662 g/kWh
    assert heights == pytest.approx([4435.2 * 0.36 / 1e6, 4435.2 * 662 / 1e6], rel=1e-9)  # t CO2e
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Quebec", "Poland"]
    assert ax.get_ylabel() == "operational emissions [t CO2e]"
    assert [t.get_text() for t in ax.texts] == ["0.36 g/kWh", "662 g/kWh"]      # 3 significant digits


def test_carbon_by_region_from_comparison_and_errors():
    cmp = mlsysim.SustainabilitySolver().compare(["Quebec", "Poland"], hardware="H100", duration=Q_(1, "h"),
                                                 power=Q_(700, "W"), pue=1.0)
    fig = plot.carbon_by_region(cmp, metric="energy")
    # 700 W * 1 h = 0.7 kWh = 7e-4 MWh in each region
    assert [p.get_height() for p in fig.axes[0].patches] == pytest.approx([7e-4, 7e-4])
    with pytest.raises(UnderdeterminedError, match="regions"):
        plot.carbon_by_region()
    with pytest.raises(DomainError, match="metric"):
        plot.carbon_by_region(cmp, metric="co2")
    with pytest.raises(DomainError, match="not both"):
        plot.carbon_by_region(cmp, regions=["Quebec"])


# ------------------------------------------------------------------------------------- errors
def test_bad_input_and_missing_matplotlib(monkeypatch):
    with pytest.raises(DomainError, match="batch_sizes"):
        plot.serving_latency("Llama3_8B", "H100", batch_sizes=[])
    with pytest.raises(DomainError, match="seq_lens"):
        plot.serving_latency("Llama3_8B", "H100", seq_lens=[0, 1024])
    with pytest.raises(MlsysimError, match="Llama3_70X"):
        plot.roofline("H100", "Llama3_70X")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(plot.PlotDependencyError, match=r"mlsysim\[plot\]") as exc:
        plot.roofline("H100")
    assert isinstance(exc.value, ImportError) and isinstance(exc.value, MlsysimError)
