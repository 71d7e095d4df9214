"""Queueing: the M/M/c queue (Erlang C), for serving capacity (``Equations.Queueing``).

Notes
-----
Requests arrive as a Poisson process of rate :math:`\\lambda`; each of :math:`c` identical servers
(replicas) completes requests at rate :math:`\\mu` with exponentially distributed service times. With the
offered load :math:`a = \\lambda/\\mu` (in Erlangs) and the utilisation :math:`\\rho = a/c < 1`, the
probability that an arriving request has to wait is Erlang's C formula (Kleinrock 1975, Vol. 1, Sec. 3.5,
Eq. 3.40; Harchol-Balter 2013, Ch. 14):

.. math::

    P_W = C(c, a) = \\frac{\\frac{a^c}{c!}\\frac{c}{c-a}}
                          {\\sum_{k=0}^{c-1}\\frac{a^k}{k!} + \\frac{a^c}{c!}\\frac{c}{c-a}}

the mean wait in the queue is :math:`W_q = P_W / (c\\mu - \\lambda)`, and the waiting time is
exponential given that a request waits, :math:`P(W > t) = P_W\\, e^{-(c\\mu - \\lambda) t}`, so its
:math:`q`-quantile is :math:`t_q = \\max\\left(0, \\ln\\frac{P_W}{1-q} / (c\\mu - \\lambda)\\right)`.

How it is computed. :math:`C(c, a)` is one sympy function, :class:`ErlangC`, exact (no approximation):
it evaluates the identity :math:`\\sum_{k=0}^{c-1} a^k/k! = e^a\\,\\Gamma(c, a)/\\Gamma(c)`, i.e.
:math:`C = 1 / (1 + (1-\\rho)\\, \\exp(a + \\ln Q(c, a) + \\ln\\Gamma(c+1) - c\\ln a))` with the regularized
upper incomplete gamma :math:`Q` (``scipy.special.gammaincc``), in logarithms so that fleets of thousands
of servers do not overflow. At whole :math:`c` it equals the sum above term by term (tested against the
Erlang B recursion); between whole numbers it is the standard analytic continuation, which the numeric
root finder uses to bracket an inverse: a solved server count is then rounded up to the whole number
that meets the target. A queue with :math:`\\rho \\ge 1` has no steady state: it is reported as
infeasible (``InfeasibleError`` naming ``server_utilization``), never as a number.
"""
from __future__ import annotations

import numpy as np

from ..equations import Equation, EquationSet
from ..errors import InfeasibleError
from .. import references as refs
from ..references import cite
from ..sources import derived
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations

_var("arrival_rate", "1/s", r"\lambda", "request arrival rate (Poisson)")
_var("service_rate", "1/s", r"\mu", "requests one server completes per second (exponential service)")
_var("servers", "", "c", "servers of the queue (replicas)", "count")
_var("offered_load", "", "A", "offered load in Erlangs: arrival_rate / service_rate")
_var("server_utilization", "", r"\rho", "fraction of time a server is busy: arrival_rate / (servers * service_rate)")
_var("wait_probability", "", r"P_W", "probability that an arriving request waits (Erlang C)", "fraction")
_var("mean_wait", "s", r"W_q", "mean queueing delay before service starts", "nonnegative")
_var("p99_wait", "s", r"W_{99}", "99th-percentile queueing delay", "nonnegative")
_var("wait_quantile", "", "q", "quantile of the queueing delay asked for (e.g. 0.99)", "fraction")
_var("p_quantile_wait", "s", r"W_{q}^{(p)}", "queueing delay at the quantile wait_quantile", "nonnegative")

KLEINROCK_1975 = cite(refs.KLEINROCK_1975, "Sec. 3.5, the M/M/m system: Eq. 3.40 (Erlang's C formula), mean wait "
                                            "and waiting-time distribution")
HARCHOL_BALTER_2013 = cite(refs.HARCHOL_BALTER_2013, "Ch. 14 (M/M/k: Erlang C, P(W > t))")
QUANTILE = derived("quantile of the M/M/c waiting time",
                   "inverting P(W > t) = P_W exp(-(c mu - lambda) t) (Harchol-Balter 2013, Ch. 14) at probability "
                   "1 - q; the delay is 0 when P_W <= 1 - q (a request at that quantile does not wait)")
P99 = 0.99


def _erlang_c_numeric(c, a):
    """Erlang C probability of waiting, exact, vectorised over numpy arrays (see the module notes)."""
    from scipy.special import gammaincc, gammaln  # scipy only when a queue is evaluated

    c = np.asarray(c, dtype=float)
    a = np.asarray(a, dtype=float)
    rho = a / c
    if np.any(rho >= 1):
        worst = float(np.max(rho))
        raise InfeasibleError(
            f"the queue is unstable: server_utilization = arrival_rate / (servers * service_rate) = {worst:.4g} "
            "must be < 1 (add servers or raise the service rate)", binding="server_utilization")
    with np.errstate(divide="ignore", over="ignore"):
        log_term = a + np.log(gammaincc(c, a)) + gammaln(c + 1.0) - c * np.log(a)
        out = 1.0 / (1.0 + (1.0 - rho) * np.exp(log_term))
    return out if out.ndim else float(out)


def _erlang_c_class():
    import sympy as sp

    class ErlangC(sp.Function):
        """Erlang's C formula C(c, a): probability that an arrival waits in an M/M/c queue."""

        nargs = 2
        _imp_ = staticmethod(_erlang_c_numeric)

        def _latex(self, printer, exp=None):
            c, a = (printer._print(x) for x in self.args)
            s = rf"C\left({c}, {a}\right)"
            return rf"{s}^{{{exp}}}" if exp else s

        def _eval_evalf(self, prec):
            c, a = self.args
            if c.is_number and a.is_number:
                return sp.Float(_erlang_c_numeric(float(c), float(a)), prec)
            return None

    return ErlangC


_EQS = None


def queueing_equations() -> dict[str, Equation]:
    """The M/M/c relations by key (written once here)."""
    global _EQS
    if _EQS is None:
        import sympy as sp

        erlang_c = _erlang_c_class()
        drain = sym.servers * sym.service_rate - sym.arrival_rate   # rate at which a queue drains
        eqs = [
            Equation("offered_load", "offered_load", sym.arrival_rate / sym.service_rate, source=KLEINROCK_1975,
                     description="offered load in Erlangs"),
            Equation("server_utilization", "server_utilization", sym.offered_load / sym.servers,
                     source=KLEINROCK_1975, description="utilisation of each server (< 1 for a stable queue)"),
            Equation("wait_probability", "wait_probability", erlang_c(sym.servers, sym.offered_load),
                     source=KLEINROCK_1975, description="probability of waiting, Erlang's C formula (exact)"),
            Equation("mean_wait", "mean_wait", sym.wait_probability / drain, source=HARCHOL_BALTER_2013,
                     description="mean queueing delay"),
            Equation("p99_wait", "p99_wait",
                     regimes={"waits": sp.log(sym.wait_probability / (1 - sp.Float(P99))) / drain,
                              "no_wait": sp.Integer(0)},
                     combine="max", source=QUANTILE,
                     description="99th-percentile queueing delay",
                     display=r"\max\left(0,\ \ln\frac{P_W}{1 - 0.99} \Big/ (c\mu - \lambda)\right)"),
            Equation("p_quantile_wait", "p_quantile_wait",
                     regimes={"waits": sp.log(sym.wait_probability / (1 - sym.wait_quantile)) / drain,
                              "no_wait": sp.Integer(0)},
                     combine="max", source=QUANTILE,
                     description="queueing delay at the quantile wait_quantile",
                     display=r"\max\left(0,\ \ln\frac{P_W}{1 - q} \Big/ (c\mu - \lambda)\right)"),
        ]
        _EQS = {e.key: e for e in eqs}
    return _EQS


def build_queueing() -> EquationSet:
    eqs = queueing_equations()
    return EquationSet("Queueing", [e for k, e in eqs.items() if k != "p_quantile_wait"],
                       description="M/M/c queue (Erlang C): waiting probability, mean and p99 queueing delay")


def build_queueing_quantile() -> EquationSet:
    return EquationSet("QueueingQuantile", list(queueing_equations().values()),
                       description="M/M/c queue (Erlang C) with the queueing delay at any quantile wait_quantile")


Equations.register("Queueing", factory=build_queueing)
Equations.register("QueueingQuantile", factory=build_queueing_quantile)
