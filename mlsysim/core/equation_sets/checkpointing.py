"""Checkpoint/restart: the checkpoint interval, the job's failure rate and goodput.

Notes
-----
A job of ``num_devices`` devices, each failing independently at a constant rate (mean time between
failures ``device_mtbf``), fails at the sum of the rates, so its own mean time between failures is

.. math:: M = M_{\\text{dev}} / n_{\\text{dev}}

(an exponential failure model; Daly 2006, Sec. 2). A checkpoint writes the training state of
``checkpoint_bytes`` at the storage bandwidth, :math:`\\delta = S / B_{\\text{st}}`.

Young (1974) minimised the expected waste to first order and found the compute time between
checkpoints :math:`\\tau = \\sqrt{2 \\delta M}`; Daly (2006, Eq. 37 truncated to first order) corrected it
for the time the checkpoint itself takes, :math:`\\tau = \\sqrt{2 \\delta M} - \\delta` (valid for
:math:`\\delta \\ll M`). Both are given: ``checkpoint_interval`` is Young's, ``checkpoint_interval_daly``
Daly's.

Goodput. With exponential failures, a restart that takes ``restart_time`` R, and segments of
:math:`\\tau` compute plus :math:`\\delta` checkpoint, the expected wall-clock time to finish
:math:`T_s` of useful compute is :math:`T_w = M e^{R/M}(e^{(\\tau + \\delta)/M} - 1)\\, T_s / \\tau`
(Daly 2006, Eq. 13), so the useful fraction of wall-clock time is

.. math:: G = \\frac{\\tau}{M e^{R/M} \\left(e^{(\\tau+\\delta)/M} - 1\\right)}

which tends to :math:`\\tau/(\\tau+\\delta)` when failures are rare (M much larger than the others).

One data point (Dubey et al. 2024, The Llama 3 Herd of Models, Sec. 3.3.4): 419 unexpected interruptions
in a 54-day snapshot on 16,384 H100 GPUs, i.e. a job MTBF of 54 x 24 h / 419 = 3.09 h, and so a per-GPU
MTBF of about 3.09 h x 16,384 = 5.1e4 h (5.8 years).
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations

_var("checkpoint_time", "s", r"\delta", "time to write one checkpoint")
_var("mtbf", "s", r"\mathrm{MTBF}", "mean time between failures of the job")
_var("checkpoint_interval", "s", r"\tau", "compute time between checkpoints (Young 1974)")
_var("checkpoint_interval_daly", "s", r"\tau_{\text{Daly}}",
     "compute time between checkpoints with Daly's first-order correction", "nonnegative")
_var("restart_time", "s", "R", "time to detect a failure and resume from the last checkpoint", "nonnegative")
_var("goodput", "", "G", "fraction of wall-clock time doing useful training", "fraction")
_var("device_mtbf", "s", r"\mathrm{MTBF}_{\text{dev}}",
     "mean time between failures of one device (with its share of the node)")
_var("num_devices", "", r"n_{\text{dev}}", "accelerators in the job", "count")
_var("checkpoint_bytes", "byte", r"S_{\text{ckpt}}", "bytes written per checkpoint (model and optimizer state)")
_var("storage_bandwidth", "byte/s", r"B_{\text{st}}", "aggregate write bandwidth to checkpoint storage")

YOUNG_1974 = cite(refs.YOUNG_1974, "Eq. (optimum interval sqrt(2 delta M))")
DALY_2006 = cite(refs.DALY_2006, "Sec. 2 (exponential failures), Eq. 13 (expected wall-clock time), Eq. 37 "
                                 "(optimum interval)")

_EQS = None


def checkpointing_equations() -> dict[str, Equation]:
    """The checkpoint/restart relations by key (written once here)."""
    global _EQS
    if _EQS is None:
        import sympy as sp

        tau, delta, m, r = sym.checkpoint_interval, sym.checkpoint_time, sym.mtbf, sym.restart_time
        eqs = [
            Equation("mtbf", "mtbf", sym.device_mtbf / sym.num_devices, source=DALY_2006,
                     description="job MTBF: independent exponential device failures add their rates"),
            Equation("checkpoint_time", "checkpoint_time", sym.checkpoint_bytes / sym.storage_bandwidth,
                     source=DALY_2006, description="time to write the checkpoint at the storage bandwidth"),
            Equation("checkpoint_interval", "checkpoint_interval", sp.sqrt(2 * delta * m), source=YOUNG_1974,
                     description="optimum compute time between checkpoints, first order (Young)"),
            Equation("checkpoint_interval_daly", "checkpoint_interval_daly", sp.sqrt(2 * delta * m) - delta,
                     source=DALY_2006, description="Young's interval less the checkpoint time (Daly, first order)"),
            Equation("goodput", "goodput", tau / (m * sp.exp(r / m) * (sp.exp((tau + delta) / m) - 1)),
                     source=DALY_2006, description="useful fraction of wall-clock time under exponential failures"),
        ]
        _EQS = {e.key: e for e in eqs}
    return _EQS


def build_checkpointing() -> EquationSet:
    e = checkpointing_equations()
    return EquationSet("Checkpointing", [e["checkpoint_interval"], e["checkpoint_interval_daly"]],
                       description="optimum checkpoint interval (Young 1974; Daly 2006)")


def build_goodput() -> EquationSet:
    e = checkpointing_equations()
    return EquationSet("Goodput", [e["mtbf"], e["checkpoint_time"], e["goodput"]],
                       description="job MTBF from device failures, checkpoint time from state size, and the goodput "
                                   "at a checkpoint interval (Daly 2006); the optimum interval is Checkpointing's")


Equations.register("Checkpointing", factory=build_checkpointing)
Equations.register("Goodput", factory=build_goodput)
