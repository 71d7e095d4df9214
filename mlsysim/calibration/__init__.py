"""Calibrated efficiency laws per device family: the fitted parameters of ``Equations.GemmEfficiency``,
``Equations.MemoryEfficiency`` and ``Equations.CollectiveAlphaBeta`` as named, sourced Assumptions.

API (for solvers and users)
---------------------------
::

    from mlsysim.calibration import laws_for
    laws = laws_for("H100")                 # a Hardware key or a HardwareSpec; precision="bf16" by default

    laws.family, laws.is_family_default     # "H100", False; a device without measurements: "default", True
    laws.basis                              # one sentence: what was measured for this device, what was borrowed

    # GEMM law  eta_gemm(F) = eta_max F / (F + F_half),  T = F / (eta_gemm R_peak)
    laws.gemm_eta_max                       # Assumption("gemm_efficiency_max", 0.70, Source(kind="fit"))
    laws.gemm_f_half                        # Assumption("gemm_half_flops", Q_(6.3e9, "FLOP"), ...)
    # memory-bound law (weight streaming)  eta_mem(D) = eta_max D / (D + D_half),  T = D / (eta_mem BW)
    laws.mem_eta_max, laws.mem_b_half       # "memory_efficiency_max", "memory_half_bytes" [byte]
    # elementwise kernels, per kind "norm" | "rope" | "act" | "add" | "all" (pooled): the same memory law
    laws.elementwise_eta_max("norm"), laws.elementwise_b_half("norm")
    # collectives: alpha-beta fitted to NCCL curves, T = alpha + M / B_coll
    c = laws.collective("all_reduce", num_workers=8)      # or "send_recv"; devices_per_node=, fabric="dgx"
    c.alpha, c.bandwidth                    # Assumptions "collective_latency" [s], "collective_bandwidth" [B/s]
    c.exact                                 # False when the nearest measured configuration was used
    # the same all-reduce read as a ring (for Equations.Collectives / HierarchicalCollectives):
    eta_link, alpha_step = laws.ring_equivalent(8, Fabrics.NVLink4.bandwidth)   # Assumptions

    # evaluation, drawn from the equation sets (pint Quantities in and out, numpy arrays broadcast):
    laws.gemm_time(flops, bytes_moved=None) # max(GEMM law, memory law) when bytes_moved is given
    laws.memory_time(kernel_bytes)          # weight-streaming law
    laws.elementwise_time(kernel_bytes, kind="all")
    laws.collective_time("all_reduce", message_bytes, num_workers=8)
    laws.assumptions()                      # every Assumption above, for a result's assumption list

Solvers that build their own equation sets re-use the Equation objects of
``mlsysim.core.equation_sets.efficiency.efficiency_equations()`` (``.renamed(...)`` per operation) and feed
them these Assumptions' values.

Where the numbers come from
---------------------------
``fitted.json`` (package data) is written by ``python -m mlsysim.calibration.fit``, which reads only measurement
files: Vidur's A100/H100 operator and NCCL profiles (MIT License, Copyright (c) Microsoft Corporation; notice in
``fitted.json["meta"]["license"]``) and the project's own H200 GEMM and copy. Validation cases are never read.
A half size is stored as a start-up time ``t0`` too (Hockney: ``n_half = t0 r_inf``); it is applied to a
device's own peak at the precision asked for, ``F_half = t0 eta_max R_peak(precision)``, which reproduces the
fitted half size at the measured precision (fp16/bf16) and transfers it to other precisions and to devices
without measurements (family ``default``: the mean of the A100 and H100 fits).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from ..core.assumptions import Assumption
from ..core.errors import MlsysimError
from ..core.sources import Source
from ..core.units import Q_

VIDUR_URL = "https://github.com/microsoft/vidur/tree/7d47513363ec447a741ac5e47241580b47724fbf/data/profiling"
SCRIPT = "mlsysim/calibration/fit.py (python -m mlsysim.calibration.fit)"
ELEMENTWISE_KINDS = ("norm", "rope", "act", "add", "all")
COLLECTIVES = ("all_reduce", "send_recv")


class CalibrationError(MlsysimError, ValueError):
    """A calibration lookup was asked for something the fitted table does not hold."""


@lru_cache(maxsize=1)
def fitted_table() -> dict:
    """The fitted parameters as written by ``mlsysim.calibration.fit`` (``fitted.json``)."""
    return json.loads(resources.files(__package__).joinpath("fitted.json").read_text())


def _fit_source(family: str, what: str, entry: dict, data: str) -> Source:
    err = entry.get("median_abs_rel_err")
    quality = f"; median abs relative error of the law vs the {entry['n']} timings: {err:.3f}" if err else ""
    rows = f" ({entry['rows']})" if entry.get("rows") else ""
    return Source(
        f"mlsysim calibration: {what} of {family}, fitted to {data}", kind="fit", year=2024,
        locator=f"mlsysim/calibration/fitted.json families.{family}", url=VIDUR_URL,
        note=(f"fitted by {SCRIPT}{rows}{quality}. Dataset: Vidur profiling data (Agrawal et al., MLSys 2024), "
              "microsoft/vidur commit 7d47513363ec447a741ac5e47241580b47724fbf, MIT License (c) Microsoft "
              "Corporation; H200 values also from benchmarks/device/results/h200_2026-11-27.json"))


def _default_source(what: str, device: str) -> Source:
    return Source(
        f"mlsysim calibration family default: {what}", kind="fit", year=2024,
        locator="mlsysim/calibration/fitted.json families.default", url=VIDUR_URL,
        note=(f"{device} has no kernel measurements: the mean of the A100 and H100 fits of {SCRIPT} (Vidur "
              "profiling data, commit 7d47513363ec447a741ac5e47241580b47724fbf, MIT License), applied to the "
              "device's own datasheet peak; the result is a family default, not a measurement of this device"))


@dataclass(frozen=True)
class CollectiveFit:
    """One fitted collective: ``T = alpha + M / bandwidth`` for a measured configuration."""

    collective: str
    fabric: str
    num_workers: int
    devices_per_node: int
    alpha: Assumption
    bandwidth: Assumption
    exact: bool
    median_abs_rel_err: float | None = None


@dataclass(frozen=True)
class CalibratedLaws:
    """The calibrated laws of one device (see the module docstring for the API)."""

    device: str
    family: str
    precision: str
    is_family_default: bool
    basis: str
    gemm_eta_max: Assumption
    gemm_f_half: Assumption
    mem_eta_max: Assumption
    mem_b_half: Assumption
    elementwise: dict = field(repr=False)          # kind -> (eta_max Assumption, half Assumption)
    collectives: tuple = field(repr=False)         # CollectiveFit, as measured (or borrowed)
    peak_flops: Any = field(repr=False, default=None)
    memory_bandwidth: Any = field(repr=False, default=None)

    # ---------------------------------------------------------------- lookups
    def elementwise_eta_max(self, kind: str = "all") -> Assumption:
        return self._elem(kind)[0]

    def elementwise_b_half(self, kind: str = "all") -> Assumption:
        return self._elem(kind)[1]

    def _elem(self, kind):
        if kind not in self.elementwise:
            raise CalibrationError(f"elementwise kind must be one of {ELEMENTWISE_KINDS}; got {kind!r}")
        return self.elementwise[kind]

    def collective(self, collective: str, num_workers: int, devices_per_node: int | None = None,
                   fabric: str = "dgx") -> CollectiveFit:
        """The fitted alpha-beta law of ``collective`` among ``num_workers`` ranks (``devices_per_node`` of them
        per node, default: all on one node when they fit in 8). The exact measured configuration when there is
        one (``.exact``), else the nearest in worker count with the same intra/inter-node character."""
        if collective not in COLLECTIVES:
            raise CalibrationError(f"collective must be one of {COLLECTIVES}; got {collective!r}")
        if not isinstance(num_workers, int) or num_workers < 2:
            raise CalibrationError(f"num_workers must be a whole number >= 2; got {num_workers!r}")
        if devices_per_node is None:
            devices_per_node = min(num_workers, 8)
        cands = [c for c in self.collectives if c.collective == collective and c.fabric == fabric]
        if not cands:
            cands = [c for c in self.collectives if c.collective == collective]
        if not cands:
            raise CalibrationError(f"no measured {collective} for {self.device} (family {self.family})")
        spans = num_workers > devices_per_node

        def distance(c):
            return ((c.num_workers > c.devices_per_node) != spans,
                    abs(c.num_workers - num_workers), abs(c.devices_per_node - devices_per_node))
        best = min(cands, key=distance)
        exact = (best.num_workers, best.devices_per_node, best.fabric) == (num_workers, devices_per_node, fabric)
        return best if exact else CollectiveFit(**{**best.__dict__, "exact": False})

    def ring_equivalent(self, num_workers: int, link_bandwidth, devices_per_node: int | None = None,
                        fabric: str = "dgx") -> tuple[Assumption, Assumption]:
        """The fitted all-reduce of ``num_workers`` ranks read as a ring all-reduce over links of
        ``link_bandwidth`` (per device, each direction): ``(link_efficiency, link_latency)`` Assumptions for
        ``Equations.Collectives`` / ``HierarchicalCollectives`` (``Equations.CollectiveRingEquivalent``)."""
        from ..core.equation_sets import Equations
        c = self.collective("all_reduce", num_workers, devices_per_node, fabric)
        r = Equations.CollectiveRingEquivalent.evaluate(
            collective_latency=c.alpha.value, collective_bandwidth=c.bandwidth.value, num_devices=c.num_workers,
            link_bandwidth=link_bandwidth)
        src = Source(c.alpha.source.citation + ", read as a ring all-reduce", kind="fit", year=c.alpha.source.year,
                     locator=c.alpha.source.locator, url=c.alpha.source.url,
                     note=(f"{c.alpha.source.note}. Ring reading (Equations.CollectiveRingEquivalent): eta_link = "
                           f"2(p-1)/p B_coll / B_link and alpha_step = alpha / (2(p-1)) with p = {c.num_workers}, "
                           f"B_link = {link_bandwidth}" + ("" if c.exact else
                                                           f"; nearest measured configuration ({c.num_workers} "
                                                           f"workers, {c.devices_per_node} per node)")))
        return (Assumption("link_efficiency", float(r.link_efficiency.m_as("")), src,
                           "achievable fraction of the link bandwidth (measured all-reduce)"),
                Assumption("link_latency", r.link_latency.to("us"), src, "per-step latency (measured all-reduce)"))

    def assumptions(self) -> list[Assumption]:
        out = [self.gemm_eta_max, self.gemm_f_half, self.mem_eta_max, self.mem_b_half]
        for eta, half in self.elementwise.values():
            out += [eta, half]
        for c in self.collectives:
            out += [c.alpha, c.bandwidth]
        return out

    # ---------------------------------------------------------------- evaluation through the equation sets
    def gemm_time(self, flops, bytes_moved=None):
        """Time of one GEMM on the GEMM law; with ``bytes_moved``, the larger of that and the memory law."""
        from ..core.equation_sets import Equations
        t = Equations.GemmEfficiency.evaluate(
            gemm_flops=flops, gemm_efficiency_max=self.gemm_eta_max.value, gemm_half_flops=self.gemm_f_half.value,
            peak_flops=self.peak_flops).gemm_time
        if bytes_moved is None:
            return t
        import numpy as np
        m = self.memory_time(bytes_moved)
        return Q_(np.maximum(t.m_as("s"), m.m_as("s")), "s")

    def memory_time(self, kernel_bytes, eta_max: Assumption | None = None, b_half: Assumption | None = None):
        """Time of one weight-streaming (memory-bound) kernel moving ``kernel_bytes``."""
        from ..core.equation_sets import Equations
        return Equations.MemoryEfficiency.evaluate(
            kernel_bytes=kernel_bytes, memory_efficiency_max=(eta_max or self.mem_eta_max).value,
            memory_half_bytes=(b_half or self.mem_b_half).value,
            memory_bandwidth=self.memory_bandwidth).kernel_memory_time

    def elementwise_time(self, kernel_bytes, kind: str = "all"):
        """Time of one elementwise / normalisation kernel of ``kind`` moving ``kernel_bytes``."""
        eta, half = self._elem(kind)
        return self.memory_time(kernel_bytes, eta, half)

    def collective_time(self, collective: str, message_bytes, num_workers: int, devices_per_node: int | None = None,
                        fabric: str = "dgx"):
        """Time of one collective of ``message_bytes`` on the fitted alpha-beta law."""
        from ..core.equation_sets import Equations
        c = self.collective(collective, num_workers, devices_per_node, fabric)
        return Equations.CollectiveAlphaBeta.evaluate(
            message_bytes=message_bytes, collective_latency=c.alpha.value,
            collective_bandwidth=c.bandwidth.value).collective_time


#: measured families by Hardware key
FAMILIES = {"A100": "A100", "H100": "H100", "H200": "H200"}
BORROWED_COLLECTIVES = "H100"


def _hardware(hardware):
    if isinstance(hardware, str):
        from ..hardware import Hardware
        return Hardware[hardware]
    return hardware


def laws_for(hardware, precision: str = "bf16") -> CalibratedLaws:
    """The calibrated laws of ``hardware`` (a ``Hardware`` key or spec) at ``precision``.

    Devices without measurements get the family default (``is_family_default`` is True, and every Assumption's
    Source says so)."""
    from ..core.precision import normalize_precision
    hw = _hardware(hardware)
    precision = normalize_precision(precision)
    table = fitted_table()["families"]
    key = getattr(hw, "key", None)
    family = FAMILIES.get(key, "default")
    f = table[family]
    default = family == "default"
    peak = hw.peak_flops(precision)
    bw = hw.memory_bandwidth
    peak_v = peak.m_as("FLOP/s")
    bw_v = bw.m_as("B/s")

    def src(what, entry):
        return _default_source(what, key) if default else _fit_source(family, what, entry, f["data"])

    def pair(entry, what, eta_name, half_name, rate, unit):
        eta = entry["eta_max"]
        half = entry["t0_s"] * eta * rate     # Hockney: n_half = t0 r_inf = t0 eta_max R_peak
        s = src(what, entry)
        return (Assumption(eta_name, eta, s, f"asymptotic efficiency of the {what}"),
                Assumption(half_name, Q_(half, unit), s, f"half-performance size of the {what}"))

    g_eta, g_half = pair(f["gemm"], "GEMM law", "gemm_efficiency_max", "gemm_half_flops", peak_v, "FLOP")
    m_eta, m_half = pair(f["memory"], "weight-streaming memory law", "memory_efficiency_max", "memory_half_bytes",
                         bw_v, "B")
    elem = {k: pair(v, f"{k} elementwise-kernel memory law", "memory_efficiency_max", "memory_half_bytes", bw_v, "B")
            for k, v in f["elementwise"].items()}
    colls = _collectives(hw, family, table)
    if default:
        basis = (f"{key}: no kernel measurements; family default (mean of the A100 and H100 Vidur fits) applied to "
                 f"its datasheet peak; collectives borrowed from the {BORROWED_COLLECTIVES} NVLink fits, bandwidth "
                 "scaled by the interconnect bandwidth ratio")
    elif family == "H200":
        basis = ("H200: memory and GEMM asymptotes from the project's H200 copy and 8192^3 GEMM; start-up times, "
                 "elementwise kernels and collectives from the H100 (same GH100 die, NVLink 4) Vidur fits")
    else:
        basis = f"{family}: every law fitted to Vidur's {family} operator and NCCL profiles"
    if precision not in ("fp16", "bf16"):
        basis += (f"; at {precision} the asymptotes measured at fp16/bf16 are applied to the {precision} peak "
                  "(not measured at that precision)")
    return CalibratedLaws(device=key, family=family, precision=precision, is_family_default=default, basis=basis,
                          gemm_eta_max=g_eta, gemm_f_half=g_half, mem_eta_max=m_eta, mem_b_half=m_half,
                          elementwise=elem, collectives=colls, peak_flops=peak, memory_bandwidth=bw)


def _collectives(hw, family: str, table: dict) -> tuple:
    f = table[family]
    scale = 1.0
    borrowed = "collectives" not in f
    if borrowed:
        f = table[BORROWED_COLLECTIVES]
        from ..hardware import Hardware
        ref = Hardware[BORROWED_COLLECTIVES]
        try:
            scale = hw.interconnect_bandwidth.m_as("B/s") / ref.interconnect_bandwidth.m_as("B/s")
        except (AttributeError, KeyError, MlsysimError):
            scale = 1.0
    out = []
    for c in f["collectives"]:
        what = f"{c['collective']} alpha-beta law ({c['fabric']}, {c['num_workers']} workers, " \
               f"{c['devices_per_node']} per node)"
        if borrowed:
            s = Source(f"mlsysim calibration family default: {what}", kind="fit", year=2024,
                       locator=f"mlsysim/calibration/fitted.json families.{BORROWED_COLLECTIVES}", url=VIDUR_URL,
                       note=(f"{hw.key} has no collective measurements: the {BORROWED_COLLECTIVES} fit of {SCRIPT} "
                             f"(Vidur {c['data']}), bandwidth scaled by the interconnect bandwidth ratio {scale:.3g}"))
        else:
            s = _fit_source(family, what, c, c["data"])
        out.append(CollectiveFit(
            c["collective"], c["fabric"], c["num_workers"], c["devices_per_node"],
            Assumption("collective_latency", Q_(c["alpha_s"], "s"), s, f"fixed time of one {c['collective']}"),
            Assumption("collective_bandwidth", Q_(c["bandwidth"] * scale, "B/s"), s,
                       f"effective bandwidth of one {c['collective']}"),
            True, c.get("median_abs_rel_err")))
    return tuple(out)


__all__ = ["CalibratedLaws", "CalibrationError", "CollectiveFit", "fitted_table", "laws_for"]
