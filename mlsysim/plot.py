"""Plots of mlsysim results (the optional extra ``mlsysim[plot]``: matplotlib).

Every function draws on a new :class:`matplotlib.figure.Figure` (or on ``ax`` when given) and returns
the Figure. Figures are created without ``pyplot``, so they are safe under any backend (Agg included),
keep no global state, and render in Jupyter when returned as a cell's value; save them with
``fig.savefig("out.png")``. matplotlib is imported inside each function: ``import mlsysim.plot`` is cheap.

Every number drawn comes from an equation set or a solver; nothing here retypes a relation.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from .core.errors import DomainError, MlsysimError, UnderdeterminedError
from .core.units import Q_
from .core.variables import check_count

#: Colour of each binding regime in every plot.
REGIME_COLORS = {"compute": "tab:red", "memory": "tab:blue"}
#: Colour of each part of a distributed training step.
BREAKDOWN_COLORS = {"compute_time": "tab:green", "tp_comm_time": "tab:purple", "pp_comm_time": "tab:brown",
                    "bubble_time": "tab:gray", "dp_exposed_time": "tab:orange"}


class PlotDependencyError(MlsysimError, ImportError):
    """matplotlib is not installed (``pip install 'mlsysim[plot]'``)."""


def _figure(ax=None, figsize=(7.0, 4.5)):
    """``(fig, ax)``: a new pyplot-free Figure, or ``ax``'s own."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotDependencyError("plotting needs matplotlib: pip install 'mlsysim[plot]'") from None
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _hardware(hardware):
    from .hardware import Hardware

    return Hardware.get(hardware) if isinstance(hardware, str) else hardware


def _model(model):
    from .models import Models

    return Models.get(model) if isinstance(model, str) else model


def _as_list(x) -> list:
    if x is None:
        return []
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        return [x]
    return list(x)


def _counts(name: str, values) -> np.ndarray:
    a = np.asarray(_as_list(values) if not isinstance(values, np.ndarray) else values)
    if a.size == 0:
        raise DomainError(f"{name} is empty; give at least one value")
    return np.atleast_1d(check_count(name, a, arrays=True)).astype(float)


# --------------------------------------------------------------------------------------- roofline
def roofline(hardware, models: Any = (), *, precision: str = "fp16", batch_sizes: Sequence[int] = (1,),
             seq_len: int | None = None, compute_efficiency: float | None = None, ax=None):
    """Roofline of one device with the workloads' points, coloured by the regime that binds.

    Draws the peak roof ``min(R_peak, I BW)`` (dashed), the achieved roof ``min(eta R_peak, I BW)``
    (solid, eta the solver's ``compute_efficiency``), the ridge point ``I* = R_peak / BW`` (dotted
    vertical line) and one point per (model, batch size): the step's arithmetic intensity and the
    attainable rate there, coloured by the bottleneck ``SingleNodeSolver`` reports. Roofs, ridge and
    points are all evaluated by ``Equations.Roofline``; intensities and regimes come from the solver.

    Parameters
    ----------
    hardware : Hardware entry or str
        The device (e.g. ``"H100"``).
    models : model, str or list of them
        Workloads (``Models`` entries or names); a decoder LLM is placed at its decode step.
    precision : str
        Numeric precision (peak and bytes per element) (``"fp16"``).
    batch_sizes : sequence of int
        Batch sizes to place for each model [1].
    seq_len : int, optional
        Context of a decoder's decode step [tokens] (default: the model's).
    compute_efficiency : float, optional
        Achieved / peak compute [1] (default: the solver's assumption).
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        x: arithmetic intensity [FLOP/byte] (log); y: attainable performance [TFLOP/s] (log).
    """
    from .core.equation_sets import Equations
    from .solvers import SingleNodeSolver

    fig, ax = _figure(ax)
    hw = _hardware(hardware)
    batches = _counts("batch_sizes", batch_sizes)
    roof = Equations.Roofline
    solver = SingleNodeSolver()
    points = []  # (model name, intensity [FLOP/B], attainable [FLOP/s], regimes, batches)
    peak = bw = eta = None
    for m in _as_list(models):
        m = _model(m)
        kw = {"compute_efficiency": compute_efficiency} if compute_efficiency is not None else {}
        if seq_len is not None:
            kw["seq_len"] = seq_len
        res = solver.solve(m, hw, batch_size=batches, precision=precision, **kw)
        decoder = hasattr(m, "kv_bytes_per_token") and getattr(m, "kind", "decoder") == "decoder"
        flops = res.decode_flops if decoder else res.flops
        moved = res.decode_bytes if decoder else res.bytes_moved
        peak, bw, eta = res.ctx["peak_flops"], res.ctx["memory_bandwidth"], float(res.compute_efficiency)
        at = roof.evaluate(outputs=["arithmetic_intensity", "attainable_flops"], flops=flops, bytes_moved=moved,
                           peak_flops=peak, memory_bandwidth=bw, compute_efficiency=eta)
        points.append((m.name, at.magnitude("arithmetic_intensity"), at.magnitude("attainable_flops"),
                       np.atleast_1d(res.bottleneck), batches))
    if peak is None:  # no workload: the device alone, at the solver's defaults
        from .core import defaults as D
        from .core.precision import normalize_precision

        peak = hw.peak_flops(normalize_precision(precision))
        bw = hw.get("memory_bandwidth")
        if bw is None:
            raise UnderdeterminedError(f"{hw.key} has no published memory_bandwidth: no roofline to draw")
        eta = float(compute_efficiency if compute_efficiency is not None else D.COMPUTE_EFFICIENCY.value)
    one_byte = Q_(1.0, "byte")
    ridge = float(roof.evaluate(outputs=["ridge_point"], peak_flops=peak, memory_bandwidth=bw).ridge_point
                  .m_as("FLOP/byte"))
    xs = [ridge] + [float(v) for p in points for v in np.atleast_1d(p[1])]
    lo, hi = min(xs) / 10.0, max(xs) * 10.0
    grid = np.geomspace(lo, hi, 400)

    def roof_at(efficiency):
        r = roof.evaluate(outputs=["attainable_flops"], flops=Q_(grid, "FLOP"), bytes_moved=one_byte,
                          peak_flops=peak, memory_bandwidth=bw, compute_efficiency=efficiency)
        return r["attainable_flops"].m_as("TFLOP/s")

    ax.plot(grid, roof_at(1.0), color="black", linestyle="--", linewidth=1.0, label="peak roof")
    ax.plot(grid, roof_at(eta), color="black", linewidth=2.0, label=f"achieved roof (efficiency {eta:g})")
    ax.axvline(ridge, color="gray", linestyle=":", linewidth=1.2, label=f"ridge point {ridge:.4g} FLOP/B")
    markers = "os^Dvp*hX"
    for i, (name, inten, att, regs, b) in enumerate(points):
        inten, att = np.atleast_1d(inten), np.atleast_1d(att) / 1e12
        for regime, color in REGIME_COLORS.items():
            sel = regs == regime
            if np.any(sel):
                ax.scatter(inten[sel], att[sel], color=color, marker=markers[i % len(markers)], zorder=3,
                           label=f"{name} ({regime}-bound)")
        if len(b) > 1:
            for x, y, bb in zip(inten, att, b):
                ax.annotate(f"B={int(bb)}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity [FLOP/byte]")
    ax.set_ylabel("attainable performance [TFLOP/s]")
    ax.set_title(f"Roofline: {getattr(hw, 'name', hw)} ({precision})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


# --------------------------------------------------------------------------------------- serving
def serving_latency(model, hardware, *, batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
                    seq_lens: Sequence[int] = (1024, 8192, 32768), precision: str = "fp16", num_devices: int = 1,
                    ax=None):
    """Time per output token against batch size, one line per context; points that do not fit are marked.

    One vectorised :func:`mlsysim.sweep` of ``ServingSolver`` over the (batch size x context) grid.
    Points whose weights + KV cache exceed the device memory are drawn as hollow crosses on a dashed line.

    Parameters
    ----------
    model : model or str
        A decoder LLM (``Models`` entry or name).
    hardware : Hardware entry or str
        The device.
    batch_sizes : sequence of int
        Sequences decoded together [1].
    seq_lens : sequence of int
        Contexts of the decode step [tokens].
    precision : str
        Numeric precision (``"fp16"``).
    num_devices : int
        Tensor-parallel devices in one node [1].
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        x: batch size [1] (log2); y: time per output token [ms] (log).
    """
    from .solvers import ServingSolver
    from .sweep import sweep

    fig, ax = _figure(ax)
    m, hw = _model(model), _hardware(hardware)
    b = _counts("batch_sizes", batch_sizes)
    s = _counts("seq_lens", seq_lens)
    t = sweep(ServingSolver(), model=m, hardware=hw, precision=precision, num_devices=num_devices, batch_size=b,
              seq_len=s, outputs=["tpot", "memory_required", "fits"], as_frame=False, progress=False)
    tpot = t["tpot"].m_as("ms").reshape(len(b), len(s))
    fits = np.asarray(t["fits"], dtype=bool).reshape(len(b), len(s))
    cap = hw.get("memory_capacity")
    for j, ctx in enumerate(s):
        y = tpot[:, j]
        line, = ax.plot(b, y, linestyle="--", linewidth=1.0, alpha=0.6)
        color = line.get_color()
        ok = fits[:, j]
        ax.plot(np.where(ok, b, np.nan), np.where(ok, y, np.nan), color=color, marker="o", linewidth=2.0,
                label=f"context {int(ctx):,}")
        if np.any(~ok):
            ax.scatter(b[~ok], y[~ok], marker="x", color=color, zorder=3,
                       label=f"context {int(ctx):,}: does not fit")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size [sequences]")
    ax.set_ylabel("time per output token [ms]")
    cap_text = f", {cap.m_as('GB'):.4g} GB" if cap is not None else ""
    ax.set_title(f"Decode latency: {m.name} on {num_devices} x {hw.key}{cap_text} ({precision})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return fig


# --------------------------------------------------------------------------------------- parallelism
def parallelism_breakdown(results, labels: Sequence[str] | None = None, *, top: int = 5, unit: str = "s", ax=None):
    """Stacked bars of a training step's parts (compute, TP, PP, bubble, exposed DP) for each layout.

    Parameters
    ----------
    results : DistributedResult, list of them, or LayoutTable
        From ``DistributedSolver.solve`` / ``search`` (a table contributes its ``top`` best layouts).
    labels : sequence of str, optional
        One label per bar (default: the layout, ``tp/pp/dp``).
    top : int
        Layouts taken from a LayoutTable [1].
    unit : str
        Time unit of the bars (``"s"``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One stacked bar per result; bar heights are ``breakdown()`` [unit], summing to ``step_time``.
    """
    fig, ax = _figure(ax)
    if hasattr(results, "rows") and hasattr(results, "result"):  # LayoutTable
        if len(results) == 0:
            raise DomainError("the LayoutTable has no fitting layout to plot")
        results = [results.result(i) for i in range(min(int(top), len(results)))]
    results = _as_list(results)
    if not results:
        raise UnderdeterminedError("parallelism_breakdown needs at least one DistributedResult")
    for r in results:
        if not callable(getattr(r, "breakdown", None)):
            raise DomainError(f"parallelism_breakdown takes DistributedSolver results; got {type(r).__name__}")
    if labels is None:
        labels = _layout_labels([r.layout for r in results])
    elif len(labels) != len(results):
        raise DomainError(f"labels: {len(labels)} labels for {len(results)} results")
    parts = list(results[0].breakdown())
    x = np.arange(len(results))
    bottom = np.zeros(len(results))
    for p in parts:
        h = np.array([float(r.breakdown()[p].m_as(unit)) for r in results])
        ax.bar(x, h, bottom=bottom, label=p.replace("_", " "), color=BREAKDOWN_COLORS.get(p))
        bottom += h
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"time per step [{unit}]")
    ax.set_xlabel("layout")
    model = getattr(results[0].model, "name", "")
    ax.set_title(f"Step time breakdown{': ' + model if model else ''}")
    ax.legend(fontsize=7)
    return fig


_LAYOUT_SHORT = {"micro_batch_size": "mbs", "zero_stage": "zero", "recompute": "recompute",
                 "pipeline_interleave": "v", "sequence_parallel": "sp"}


def _layout_labels(layouts: list) -> list[str]:
    """``tp8 pp2 dp1024``, plus the other layout settings that differ between the bars."""
    varying = [k for k in _LAYOUT_SHORT if len({str(lay.get(k)) for lay in layouts}) > 1]
    out = []
    for lay in layouts:
        parts = [f"tp{lay['tp']} pp{lay['pp']} dp{lay['dp']}"]
        parts += [f"{_LAYOUT_SHORT[k]}={lay.get(k)}" for k in varying]
        out.append("\n".join([parts[0], " ".join(parts[1:])]) if len(parts) > 1 else parts[0])
    return out


# --------------------------------------------------------------------------------------- carbon
_METRIC_UNITS = {"carbon": "t", "total_carbon": "t", "energy": "MWh", "it_energy": "MWh", "water": "kL",
                 "total_water": "kL"}


def carbon_by_region(comparison=None, *, regions: Sequence[Any] | None = None, metric: str = "carbon", ax=None,
                     **job):
    """Bars of a job's emissions (or energy, water) in each grid region.

    Parameters
    ----------
    comparison : RegionComparison, optional
        From ``SustainabilitySolver().compare(...)``; or give ``regions`` and the job instead.
    regions : sequence of GridRegion or str, optional
        Regions to compare (with ``**job``: ``hardware``, ``num_devices``, ``duration`` [time], ``power``
        [W], ``pue`` ..., as ``SustainabilitySolver.compare`` takes them).
    metric : str
        ``"carbon"`` [t CO2e], ``"total_carbon"`` [t], ``"energy"`` [MWh], ``"water"`` [kL] ...
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One bar per region, annotated with the grid's carbon intensity [g/kWh].
    """
    from .solvers import SustainabilitySolver

    if comparison is None:
        if regions is None:
            raise UnderdeterminedError("carbon_by_region needs a RegionComparison or regions=[...] and the job "
                                       "(hardware=, duration=, ...)")
        comparison = SustainabilitySolver().compare(list(regions), **job)
    elif regions is not None or job:
        raise DomainError("carbon_by_region: give a RegionComparison or regions= with the job, not both")
    if metric not in _METRIC_UNITS:
        raise DomainError(f"metric must be one of {', '.join(_METRIC_UNITS)}; got {metric!r}")
    fig, ax = _figure(ax)
    unit = _METRIC_UNITS[metric]
    names, heights, intensities = [], [], []
    for name, r in comparison:
        v = getattr(r, metric)
        if v is None:
            raise UnderdeterminedError(f"{name}: {metric} is not computable from what was given")
        names.append(str(name))
        heights.append(float(v.m_as(unit)))
        ci = r.knowns.get("carbon_intensity")
        intensities.append(float(ci.m_as("g/kWh")) if ci is not None else np.nan)
    x = np.arange(len(names))
    bars = ax.bar(x, heights, color="tab:green")
    for bar, ci in zip(bars, intensities):
        if np.isfinite(ci):
            ax.annotate(f"{ci:.3g} g/kWh", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    ax.set_xticks(x, names, rotation=20, ha="right", fontsize=8)
    what = {"carbon": "operational emissions", "total_carbon": "total emissions"}.get(metric, metric.replace("_", " "))
    ax.set_ylabel(f"{what} [{unit}{' CO2e' if 'carbon' in metric else ''}]")
    ax.set_xlabel("grid region")
    ax.set_title(f"{what.capitalize()} by region")
    return fig


__all__ = ["roofline", "serving_latency", "parallelism_breakdown", "carbon_by_region", "PlotDependencyError",
           "REGIME_COLORS"]


# --------------------------------------------------------------------------------------- serving capacity
def serving_capacity(model, hardware, *, arrival_rate, concurrency: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128),
                     p99_slo=None, seq_len: int = 4096, prompt_tokens: int | None = None,
                     output_tokens: int | None = None, precision: str = "fp16", ax=None):
    """Throughput against p99 request latency of one replica as its concurrency grows, with the SLO marked.

    Every number comes from :func:`mlsysim.solvers.capacity.capacity_curve` (the serving model,
    ``Equations.ContinuousBatching`` and ``Equations.Queueing``).

    Parameters
    ----------
    model, hardware : registry entries or names
    arrival_rate : Quantity
        Requests per second offered to the replica [1/s].
    concurrency : sequence of int
        Sequences in flight [1].
    p99_slo : Quantity, optional
        The p99 latency target [s], drawn as a vertical line.

    Returns
    -------
    matplotlib.figure.Figure
        x: p99 request latency [s] (log); y: output tokens per second.
    """
    from .solvers import ServingSolver
    from .solvers.capacity import capacity_curve

    fig, ax = _figure(ax)
    m, hw = _model(model), _hardware(hardware)
    c = _counts("concurrency", concurrency)
    curve = capacity_curve(ServingSolver(), concurrency=c, arrival_rate=arrival_rate, model=m, hardware=hw,
                           seq_len=seq_len, prompt_tokens=prompt_tokens, output_tokens=output_tokens,
                           precision=precision)
    x = curve["p99_latency"].m_as("s")
    y = curve["throughput"].m_as("1/s")
    ok = ~curve["unstable"] & curve["fits"]
    ax.plot(x[ok], y[ok], marker="o", color="tab:blue", label="p99 latency (stable, fits)")
    for xi, yi, bi in zip(x[ok], y[ok], c[ok]):
        ax.annotate(f"{int(bi)}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
    if p99_slo is not None:
        ax.axvline(p99_slo.m_as("s"), color="tab:red", linestyle="--", label=f"p99 SLO {p99_slo.m_as('s'):g} s")
    ax.set_xscale("log")
    ax.set_xlabel("p99 request latency [s]")
    ax.set_ylabel("throughput [output tokens/s]")
    ax.set_title(f"Serving capacity: {m.name} on {hw.key} at {arrival_rate.m_as('1/s'):g} requests/s ({precision});"
                 " labels: concurrency", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return fig
