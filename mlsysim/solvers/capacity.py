"""Capacity planning: how many serving replicas meet a latency target at an arrival rate.

``ServingSolver().solve_for("num_replicas", ..., arrival_rate=..., p99_latency=...)`` lands here. It binds
two equation sets and holds no physics of its own:

* the serving model (``Equations.Serving`` through :class:`~mlsysim.solvers.ServingSolver`) gives one
  request's latency at the batch a replica runs: prefill plus ``output_tokens`` decode steps;
* the M/M/c queue (``Equations.Queueing``) turns an arrival rate into waiting time.

A replica that runs ``batch_size`` sequences together is modelled as ``batch_size`` servers, each serving
one request per request latency (``service_rate = 1 / request_latency``), so ``num_replicas`` replicas are
``servers = num_replicas * batch_size`` servers of the queue. The serving model's service time is
deterministic; the queue treats it as exponential with the same mean (:data:`SERVICE_TIME_MODEL`), which
over-states waiting (an M/D/c queue waits roughly half as long at the same load: Kingman's approximation),
so the replica count is on the safe side.

Targets: ``p99_latency`` (queueing p99 plus the request latency), ``ttft_p99`` (queueing p99 plus the
time to first token) or ``mean_wait`` (mean queueing delay). The answer is the smallest whole number of
replicas that meets it; more arrivals never need fewer replicas. What binds is named: ``"queueing"`` when a
replica count meets the target, ``"memory"`` when the model does not fit a replica, and ``"latency_floor"``
when one request alone already takes longer than the target, which no number of replicas fixes.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.assumptions import Assumption
from ..core.equation_sets import Equations
from ..core.equations import Solution, fmt_quantity
from ..core.errors import DomainError, InfeasibleError, UnderdeterminedError
from ..core.sources import assumption
from ..core.units import Q_
from ..core.variables import ensure_var

ensure_var("num_replicas", "", r"n_{\text{rep}}", "serving replicas of a model", "count")
ensure_var("p99_latency", "s", r"T_{99}", "99th-percentile request latency target (queueing + service)")
ensure_var("ttft_p99", "s", r"T_{\text{TTFT},99}", "99th-percentile time-to-first-token target (queueing + prefill)")

SERVICE_TIME_MODEL = Assumption(
    "service_time_model", "exponential",
    assumption("M/M/c service-time model for a serving replica",
               "the serving model's request latency is deterministic; the queue treats it as exponential with the "
               "same mean (M/M/c, Erlang C), which over-states the wait (M/D/c waits about half as long at the same "
               "load, Kingman's approximation): replica counts are on the safe side"))

#: the targets capacity planning accepts, and the serving latency that adds to the queueing delay
TARGETS = {"p99_latency": ("p99_wait", "request_latency"), "ttft_p99": ("p99_wait", "ttft"),
           "mean_wait": ("mean_wait", None)}


def _seconds(name, q) -> float:
    if not hasattr(q, "units"):
        raise DomainError(f"{name} must be a time Quantity such as Q_(2, 's'); got {q!r}")
    try:
        v = float(q.m_as("s"))
    except Exception:
        raise DomainError(f"{name} must be a time (s); got {q:~P}") from None
    if not (math.isfinite(v) and v > 0):
        raise DomainError(f"{name} must be a finite time > 0; got {q:~P}")
    return v


def solve_num_replicas(solver, *, arrival_rate=None, batch_size: int = 1, **kwargs) -> Solution:
    """The smallest whole number of replicas meeting a latency target at ``arrival_rate`` (see module docs).

    ``solver`` is a :class:`~mlsysim.solvers.ServingSolver`; every other keyword is passed to its
    ``solve`` (model, hardware, seq_len, prompt_tokens, output_tokens, precision, ...).
    """
    targets = {k: kwargs.pop(k) for k in list(kwargs) if k in TARGETS}
    if len(targets) != 1:
        raise UnderdeterminedError(
            "solve_for('num_replicas') needs exactly one target among p99_latency, ttft_p99, mean_wait; got "
            + (", ".join(targets) or "none"))
    if arrival_rate is None:
        raise UnderdeterminedError("solve_for('num_replicas') needs arrival_rate= (e.g. Q_(20, '1/s'))")
    if not hasattr(arrival_rate, "units"):
        raise DomainError(f"arrival_rate must be a rate Quantity such as Q_(20, '1/s'); got {arrival_rate!r}")
    try:
        lam = float(arrival_rate.m_as("1/s"))
    except Exception:
        raise DomainError(f"arrival_rate must be a rate (1/s); got {arrival_rate:~P}") from None
    if not (math.isfinite(lam) and lam > 0):
        raise DomainError(f"arrival_rate must be a finite rate > 0; got {arrival_rate:~P}")
    (tname, tval), = targets.items()
    budget = _seconds(tname, tval)

    result = solver.solve(batch_size=batch_size, **kwargs)
    if not result.fits:
        raise InfeasibleError(f"no replica count helps: {result.memory_message}", binding="memory")
    metric, service_part = TARGETS[tname]
    latency = float(result.request_latency.m_as("s"))
    floor = 0.0 if service_part is None else float(getattr(result, service_part).m_as("s"))
    if floor >= budget:
        raise InfeasibleError(
            f"{tname} = {fmt_quantity(tval)} cannot be met by any number of replicas: one request's "
            f"{service_part} alone is {fmt_quantity(Q_(floor, 's'))} at batch_size {batch_size}",
            binding="latency_floor", floor=Q_(floor, "s"))
    wait_budget = budget - floor
    mu = 1.0 / latency
    b = int(batch_size)
    Q = Equations.Queueing

    def waits(n: np.ndarray) -> np.ndarray:
        r = Q.evaluate(outputs=[metric], arrival_rate=Q_(lam, "1/s"), service_rate=Q_(mu, "1/s"),
                       servers=n * b)
        return np.atleast_1d(r.magnitude(metric))

    # the smallest stable replica count, then a doubling search and a scan of the last interval
    n_lo = math.floor(lam / (mu * b)) + 1
    hi = n_lo
    while waits(np.array([hi]))[0] > wait_budget:
        hi *= 2
    cand = np.arange(n_lo, hi + 1)
    ok = waits(cand) <= wait_budget
    n = int(cand[np.argmax(ok)])
    at = Q.evaluate(arrival_rate=Q_(lam, "1/s"), service_rate=Q_(mu, "1/s"), servers=n * b)
    sol = Solution("num_replicas", Q_(n, ""), "queueing", True, "", at, "whole-number search over the queue",
                   tname)
    sol.binding = "queueing"
    sol.result = result
    sol.assumptions = {SERVICE_TIME_MODEL.name: SERVICE_TIME_MODEL}
    sol.notes = [
        f"{n} replicas x batch {b} = {n * b} servers of the M/M/c queue, each serving one request per "
        f"{fmt_quantity(Q_(latency, 's'))} (service_rate {mu:.4g}/s); utilisation "
        f"{float(at.server_utilization.m):.3f}",
        f"{metric} {fmt_quantity(at[metric])} + {service_part or 'nothing'} "
        f"{fmt_quantity(Q_(floor, 's'))} <= {tname} {fmt_quantity(tval)}",
        SERVICE_TIME_MODEL.source.note,
    ]
    return sol


def capacity_curve(solver, *, concurrency, arrival_rate, **kwargs) -> dict:
    """Throughput and p99 request latency of one replica as its concurrency grows (arrays, one per point).

    For each concurrency ``B`` (sequences in flight), the serving model gives the decode step and request
    latency at batch ``B``; ``Equations.ContinuousBatching`` the output-token throughput with prefill stalls
    (the prefill of one request is the serving model's TTFT at batch 1); ``Equations.Queueing`` the p99
    queueing delay of ``arrival_rate`` on ``B`` servers of rate ``1 / request_latency``. Points where the
    replica cannot keep up (utilisation >= 1) or the KV cache does not fit have NaN latency and are listed in
    ``unstable`` / ``fits``.
    """
    b = np.asarray(concurrency, dtype=float).ravel()
    if b.size == 0 or np.any(b < 1) or np.any(b != np.round(b)):
        raise DomainError(f"concurrency must be whole numbers >= 1; got {concurrency!r}")
    lam = float(arrival_rate.m_as("1/s"))
    r = solver.solve(batch_size=b, **kwargs)
    one = solver.solve(batch_size=1, **kwargs)
    latency = np.asarray(r.request_latency.m_as("s"), dtype=float)
    cb = Equations.ContinuousBatching.evaluate(batch_size=b, output_tokens=kwargs.get("output_tokens") or 1,
                                               tpot=r.tpot, single_prefill_time=one.ttft)
    throughput = np.asarray(cb.continuous_batching_throughput.m_as("1/s"), dtype=float)
    p99 = np.full(b.shape, np.nan)
    stable = lam * latency < b
    if np.any(stable):
        q = Equations.Queueing.evaluate(outputs=["p99_wait"], arrival_rate=Q_(lam, "1/s"),
                                        service_rate=Q_(1.0 / latency[stable], "1/s"), servers=b[stable])
        p99[stable] = np.atleast_1d(q.p99_wait.m_as("s")) + latency[stable]
    return {"concurrency": b, "throughput": Q_(throughput, "1/s"), "p99_latency": Q_(p99, "s"),
            "request_latency": Q_(latency, "s"), "unstable": ~stable, "fits": np.asarray(r.fits, dtype=bool)}
