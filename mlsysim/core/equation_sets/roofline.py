"""Roofline and Iron Law: time of one step on one device.

Notes
-----
Iron Law (compute side), Hennessy & Patterson's "iron law" applied to ML (Reddi et al., *Machine
Learning Systems*): the time of the arithmetic is the work over the achieved rate,

.. math:: T_{\\text{comp}} = \\frac{O}{\\eta \\, R_{\\text{peak}}}

Roofline (Williams, Waterman & Patterson 2009, CACM 52(4), Eq. 1): attainable performance is the
minimum of the compute roof and the memory roof, equivalently the step takes the larger of its compute
and memory times (a full-overlap model), plus a fixed overhead:

.. math:: T = T_{\\text{ovh}} + \\max(T_{\\text{comp}}, T_{\\text{mem}}), \\quad T_{\\text{mem}} = D/\\mathrm{BW}
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..sources import derived
from ..variables import sym
from . import Equations

WILLIAMS_2009 = cite(refs.WILLIAMS_2009, "Eq. 1, Fig. 1")
HENNESSY_PATTERSON = cite(refs.HENNESSY_PATTERSON_2017, "Sec. 1.9 (CPU performance equation, the 'iron law')")
OVERLAP = derived("mlsysim roofline latency model",
                  "compute and memory traffic fully overlap (the step takes the larger of the two), plus a "
                  "fixed overhead term; follows from the roofline bound of Williams et al. 2009")


def _iron_law_equations():
    compute_time = Equation(
        "compute_time", "compute_time", sym.flops / (sym.compute_efficiency * sym.peak_flops),
        source=HENNESSY_PATTERSON, description="time of the arithmetic: work over achieved rate")
    achieved = Equation(
        "achieved_flops", "achieved_flops", sym.compute_efficiency * sym.peak_flops,
        source=HENNESSY_PATTERSON, description="achieved compute rate")
    return compute_time, achieved


_IRON = None


def iron_law_equations():
    global _IRON
    if _IRON is None:
        _IRON = _iron_law_equations()
    return _IRON


def build_iron_law() -> EquationSet:
    compute_time, achieved = iron_law_equations()
    return EquationSet("IronLaw", [compute_time, achieved],
                       description="time = work / (peak * utilization)")


_ROOF = None


def roofline_equations():
    global _ROOF
    if _ROOF is None:
        compute_time, _ = iron_law_equations()
        memory_time = Equation("memory_time", "memory_time", sym.bytes_moved / sym.memory_bandwidth,
                               source=WILLIAMS_2009, description="time to move the step's bytes at full bandwidth")
        latency = Equation(
            "latency", "latency",
            regimes={"compute": sym.overhead + sym.compute_time, "memory": sym.overhead + sym.memory_time},
            combine="max", source=OVERLAP,
            description="step time: overhead plus the larger of compute and memory time",
            display=r"T_{\text{ovh}} + \max\left(T_{\text{comp}},\, T_{\text{mem}}\right)")
        intensity = Equation("arithmetic_intensity", "arithmetic_intensity", sym.flops / sym.bytes_moved,
                             source=WILLIAMS_2009, description="operations per byte of memory traffic")
        ridge = Equation("ridge_point", "ridge_point", sym.peak_flops / sym.memory_bandwidth,
                         source=WILLIAMS_2009, description="intensity where the compute and memory roofs meet")
        attainable = Equation(
            "attainable_flops", "attainable_flops",
            regimes={"compute": sym.compute_efficiency * sym.peak_flops,
                     "memory": sym.arithmetic_intensity * sym.memory_bandwidth},
            combine="min", source=WILLIAMS_2009, description="roofline-attainable compute rate",
            display=r"\min\left(\eta\, R_{\text{peak}},\, I \cdot \mathrm{BW}\right)")
        _ROOF = (compute_time, memory_time, latency, intensity, ridge, attainable)
    return _ROOF


def build_roofline() -> EquationSet:
    return EquationSet("Roofline", list(roofline_equations()),
                       description="single-device step time: compute- vs memory-bound (roofline)")


Equations.register("IronLaw", factory=build_iron_law)
Equations.register("Roofline", factory=build_roofline)
