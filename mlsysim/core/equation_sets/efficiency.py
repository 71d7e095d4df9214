"""Efficiency laws: how the achieved fraction of a device's peak depends on the size of the operation.

Three sets are registered:

``Equations.GemmEfficiency``
    A matrix multiplication of ``gemm_flops`` FLOPs reaches the fraction ``gemm_efficiency`` of the dense
    datasheet peak, rising with its size towards ``gemm_efficiency_max``.
``Equations.MemoryEfficiency``
    A memory-bound kernel moving ``kernel_bytes`` bytes (a weight-streaming GEMM in decode, a normalisation,
    an activation, a residual add) reaches the fraction ``memory_efficiency`` of the datasheet bandwidth.
``Equations.CollectiveAlphaBeta``
    A measured collective (all-reduce, send/recv) of ``message_bytes`` takes a fixed latency plus the
    message over an effective bandwidth, both fitted per fabric and worker count.
``Equations.CollectiveRingEquivalent``
    The same fitted all-reduce read as a ring all-reduce (``Equations.Collectives``): the link efficiency
    and per-step latency that make the ring relation reproduce it, for solvers built on the ring model.

Notes
-----
The saturating law is Hockney's half-performance model (Hockney 1994, Sec. 2; Hockney & Jesshope 1988):
an operation of size :math:`n` costs a fixed start-up time plus :math:`n` over the asymptotic rate,
:math:`t = t_0 + n / r_\\infty`, so the achieved rate is :math:`r = r_\\infty\\, n / (n + n_{1/2})` with the
half-performance size :math:`n_{1/2} = t_0 r_\\infty`. Written as a fraction of the datasheet peak
:math:`R_{\\text{peak}}` (with :math:`\\eta_{\\max} = r_\\infty / R_{\\text{peak}}`):

.. math::
   \\eta_{\\text{gemm}}(F) = \\eta_{\\text{gemm,max}} \\frac{F}{F + F_{1/2}}, \\qquad
   T_{\\text{gemm}} = \\frac{F}{\\eta_{\\text{gemm}}(F)\\, R_{\\text{peak}}}

.. math::
   \\eta_{\\text{mem}}(D) = \\eta_{\\text{mem,max}} \\frac{D}{D + D_{1/2}}, \\qquad
   T_{\\text{kern}} = \\frac{D}{\\eta_{\\text{mem}}(D)\\, \\mathrm{BW}}

.. math::
   T_{\\text{coll}} = \\alpha_{\\text{coll}} + \\frac{M}{B_{\\text{coll}}}

The parameters (:math:`\\eta_{\\max}`, :math:`F_{1/2}`, :math:`D_{1/2}`, :math:`\\alpha_{\\text{coll}}`,
:math:`B_{\\text{coll}}`) are fitted per device family to measured kernel and collective timings by
``python -m mlsysim.calibration.fit``; ``mlsysim.calibration.laws_for(device)`` returns them as named,
sourced Assumptions. A GEMM that is memory-bound (few tokens) takes the larger of its GEMM-law time and its
memory-law time (the roofline's max, applied per operation).
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from ..sources import Source, derived
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations
from .collectives import HOCKNEY_1994

# ---------------------------------------------------------------- nomenclature
_var("peak_flops", "FLOP/s", r"R_{\text{peak}}", "device peak compute at the precision used")
_var("memory_bandwidth", "byte/s", r"\mathrm{BW}", "device memory bandwidth")
_var("message_bytes", "byte", "M", "payload of one collective (the full buffer each rank contributes)")
_var("gemm_flops", "FLOP", r"F_{\text{GEMM}}", "FLOPs of one matrix multiplication (2 m n k)")
_var("gemm_efficiency_max", "", r"\eta_{\text{gemm,max}}",
     "asymptotic fraction of the dense peak that large GEMMs reach (fitted)", "fraction")
_var("gemm_half_flops", "FLOP", r"F_{1/2}", "GEMM size at which half of the asymptotic efficiency is reached (fitted)")
_var("gemm_efficiency", "", r"\eta_{\text{gemm}}", "achieved / peak compute of one GEMM", "fraction")
_var("gemm_time", "s", r"T_{\text{gemm}}", "time of one GEMM at its size-dependent efficiency")
_var("kernel_bytes", "byte", r"D_{\text{k}}", "bytes one memory-bound kernel reads and writes")
_var("memory_efficiency_max", "", r"\eta_{\text{mem,max}}",
     "asymptotic fraction of the datasheet bandwidth that large transfers reach (fitted)", "fraction")
_var("memory_half_bytes", "byte", r"D_{1/2}",
     "transfer size at which half of the asymptotic bandwidth efficiency is reached (fitted)")
_var("memory_efficiency", "", r"\eta_{\text{mem}}", "achieved / datasheet memory bandwidth of one kernel",
     "fraction")
_var("kernel_memory_time", "s", r"T_{\text{kern}}", "time of one memory-bound kernel at its size-dependent bandwidth")
_var("collective_latency", "s", r"\alpha_{\text{coll}}",
     "fixed time of one collective, independent of its size (fitted)", "nonnegative")
_var("collective_bandwidth", "GB/s", r"B_{\text{coll}}",
     "effective bandwidth of one collective: message bytes per second of its size-dependent part (fitted)")
_var("collective_time", "s", r"T_{\text{coll}}", "time of one collective on the calibrated alpha-beta law")

# ---------------------------------------------------------------- sources
HALF_PERFORMANCE = Source(
    "R. W. Hockney, C. R. Jesshope, 'Parallel Computers 2: Architecture, Programming and Algorithms', Adam Hilger",
    kind="paper", year=1988, locator="Sec. 1.3 (r_inf and n_1/2: r = r_inf n / (n + n_1/2))")

RING_EQUIVALENT = derived(
    "measured all-reduce read as a ring all-reduce",
    "equating the fitted alpha + M / B_coll with the ring all-reduce 2(p-1) alpha_step + 2(p-1)/p M / "
    "(eta_link B_link) of Patarasuk & Yuan 2009 term by term gives eta_link = 2(p-1)/p B_coll / B_link and "
    "alpha_step = alpha / (2(p-1)): the measured curve expressed in the Collectives set's own parameters")

_EQS = None


def efficiency_equations() -> dict:
    """The efficiency relations, ``{key: Equation}`` (built once). Other sets re-use them via ``renamed``."""
    global _EQS
    if _EQS is None:
        F, Fh, em = sym.gemm_flops, sym.gemm_half_flops, sym.gemm_efficiency_max
        D, Dh, mm = sym.kernel_bytes, sym.memory_half_bytes, sym.memory_efficiency_max
        eqs = [
            Equation("gemm_efficiency", "gemm_efficiency", em * F / (F + Fh), source=HALF_PERFORMANCE,
                     description="GEMM efficiency rises with the GEMM's size towards its asymptote",
                     display=r"\eta_{\text{gemm,max}} \frac{F_{\text{GEMM}}}{F_{\text{GEMM}} + F_{1/2}}"),
            Equation("gemm_time", "gemm_time", F / (sym.gemm_efficiency * sym.peak_flops), source=HALF_PERFORMANCE,
                     description="time of one GEMM: its work over its achieved rate",
                     display=r"\frac{F_{\text{GEMM}}}{\eta_{\text{gemm}}\, R_{\text{peak}}}"),
            Equation("memory_efficiency", "memory_efficiency", mm * D / (D + Dh), source=HALF_PERFORMANCE,
                     description="bandwidth efficiency rises with the bytes a kernel moves towards its asymptote",
                     display=r"\eta_{\text{mem,max}} \frac{D_{\text{k}}}{D_{\text{k}} + D_{1/2}}"),
            Equation("kernel_memory_time", "kernel_memory_time", D / (sym.memory_efficiency * sym.memory_bandwidth),
                     source=HALF_PERFORMANCE, description="time of one memory-bound kernel",
                     display=r"\frac{D_{\text{k}}}{\eta_{\text{mem}}\, \mathrm{BW}}"),
            Equation("collective_time", "collective_time",
                     sym.collective_latency + sym.message_bytes / sym.collective_bandwidth, source=HOCKNEY_1994,
                     description="measured collective: fixed latency plus message over effective bandwidth",
                     display=r"\alpha_{\text{coll}} + \frac{M}{B_{\text{coll}}}"),
            Equation("ring_link_efficiency", "link_efficiency",
                     2 * (sym.num_devices - 1) / sym.num_devices * sym.collective_bandwidth / sym.link_bandwidth,
                     source=RING_EQUIVALENT,
                     description="fraction of the link bandwidth a measured all-reduce reaches, read as a ring",
                     display=r"\frac{2(n_{\text{dev}}-1)}{n_{\text{dev}}} \frac{B_{\text{coll}}}{B_{\text{link}}}"),
            Equation("ring_step_latency", "link_latency", sym.collective_latency / (2 * (sym.num_devices - 1)),
                     source=RING_EQUIVALENT, description="per-step latency of a measured all-reduce, read as a ring",
                     display=r"\frac{\alpha_{\text{coll}}}{2(n_{\text{dev}}-1)}"),
        ]
        _EQS = {e.key: e for e in eqs}
    return _EQS


def build_gemm() -> EquationSet:
    e = efficiency_equations()
    return EquationSet("GemmEfficiency", [e["gemm_efficiency"], e["gemm_time"]],
                       description="size-dependent GEMM efficiency (saturating, half-performance law)")


def build_memory() -> EquationSet:
    e = efficiency_equations()
    return EquationSet("MemoryEfficiency", [e["memory_efficiency"], e["kernel_memory_time"]],
                       description="size-dependent memory-bandwidth efficiency of memory-bound kernels")


def build_collective() -> EquationSet:
    return EquationSet("CollectiveAlphaBeta", [efficiency_equations()["collective_time"]],
                       description="calibrated alpha-beta law of a measured collective")


def build_ring_equivalent() -> EquationSet:
    e = efficiency_equations()
    return EquationSet("CollectiveRingEquivalent", [e["ring_link_efficiency"], e["ring_step_latency"]],
                       description="a measured all-reduce's alpha-beta law as a ring's link efficiency and step "
                                   "latency")


Equations.register("GemmEfficiency", factory=build_gemm)
Equations.register("MemoryEfficiency", factory=build_memory)
Equations.register("CollectiveAlphaBeta", factory=build_collective)
Equations.register("CollectiveRingEquivalent", factory=build_ring_equivalent)
