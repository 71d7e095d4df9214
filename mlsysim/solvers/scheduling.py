"""Serving-engine scheduling on top of the serving model: paged KV and continuous batching, chunked prefill,
disaggregated prefill/decode pools and multi-node (pipeline, expert-parallel) inference.

``ServingSolver().solve(..., concurrency=N, chunk_size=C)``, ``solve_for("concurrency", tpot=...)``,
``ServingSolver().disaggregate(...)`` and ``solve(..., pp=, ep=)`` land here. This module binds equation
sets and holds no physics of its own:

* the serving model (``ServingSolver.solve``) gives the decode step (``tpot``), the prefill (``ttft``), the
  weights, the KV bytes per token and the per-step work;
* ``Equations.PagedKV`` the sequences whose paged KV cache fits (``max_concurrency``);
* ``Equations.ContinuousBatching`` the output-token throughput and the time per token a request sees when
  each admitted prompt's prefill stalls the running decodes;
* ``Equations.ChunkedPrefill`` the chunked TTFT and the slow-down of the decodes that share a step;
* ``Equations.Disaggregation`` the KV transfer between pools and the full-load pool sizes, with
  ``Equations.Queueing`` for the prefill pool's waiting;
* ``Equations.MultiNodeInference`` the pipeline's per-token latency and throughput, with the collective
  times from the fleet's fabrics (``Fleet.collective_time`` where it exists, else ``Equations.Collectives``).
"""
from __future__ import annotations

import math

import numpy as np

from ..core.assumptions import Assumption
from ..core.equation_sets import Equations
from ..core.equations import Solution, fmt_quantity
from ..core.errors import DomainError, InfeasibleError, UnderdeterminedError
from ..core.references import KWON_2023, cite
from ..core.sources import assumption
from ..core.units import Q_

KV_BLOCK_SIZE = Assumption(
    "kv_block_size", 16,
    cite(KWON_2023, "Sec. 7.2 (block size 16: the default of vLLM, chosen from the block-size ablation)"),
    "tokens per paged-KV block")
USABLE_MEMORY_FRACTION = Assumption(
    "usable_memory_fraction", 0.9,
    assumption("vLLM engine argument gpu_memory_utilization (default 0.9)",
               "the serving engine allocates at most this fraction of device memory for weights, activations "
               "and KV blocks; vLLM's default, an assumption for other engines"),
    "fraction of device memory the serving engine may allocate")

#: the arguments of ServingSolver.solve that this module consumes (never passed to the serving binding)
SCHEDULING_ARGS = ("concurrency", "chunk_size", "kv_block_size", "usable_memory_fraction", "pp", "ep")


def _fraction(name, v):
    x = float(v)
    if not (0 < x <= 1):
        raise DomainError(f"{name} must be a fraction with 0 < {name} <= 1; got {v!r}")
    return x


def _whole(name, v, minimum=1):
    if isinstance(v, (bool, np.bool_, str)) or np.ndim(v) != 0:
        raise DomainError(f"{name} must be a whole number >= {minimum}; got {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise DomainError(f"{name} must be a whole number >= {minimum}; got {v!r}") from None
    if not math.isfinite(x) or x < minimum or x != round(x):
        raise DomainError(f"{name} must be a whole number >= {minimum}; got {v!r}")
    return int(x)


def _assumptions(kv_block_size, usable_memory_fraction):
    from ..core.defaults import pick

    b, ab = pick("kv_block_size", kv_block_size, KV_BLOCK_SIZE)
    f, af = pick("usable_memory_fraction", usable_memory_fraction, USABLE_MEMORY_FRACTION)
    return _whole("kv_block_size", b), _fraction("usable_memory_fraction", f), [ab, af]


def paged_kv(result, kv_block_size=None, usable_memory_fraction=None):
    """``Equations.PagedKV`` at a serving result: ``(evaluation, max_concurrency (int), assumptions)``."""
    b, f, used = _assumptions(kv_block_size, usable_memory_fraction)
    o = result.evaluation
    cap = result.memory_capacity
    if cap is None:
        raise UnderdeterminedError(f"{result.ctx.get('hardware_name', 'the device')} has no published "
                                   "memory_capacity: paged-KV concurrency needs one")
    ev = Equations.PagedKV.evaluate(kv_block_size=b, usable_memory_fraction=f, memory_capacity=cap,
                                    num_devices=result.ctx.get("replica_devices", result.ctx["num_devices"]),
                                    weight_bytes=o["weight_bytes"],
                                    kv_bytes_per_token=o["kv_bytes_per_token"], seq_len=o["seq_len"])
    m = np.asarray(ev.magnitude("max_concurrency"), dtype=float)
    n = np.maximum(np.floor(m + 1e-9), 0).astype(int)
    return ev, (int(n) if n.ndim == 0 else n), used


def _single_prefill(solver, kwargs):
    """The serving model's prefill time of one request (batch 1), the stall each admission causes."""
    kw = {k: v for k, v in kwargs.items() if k not in ("batch_size",)}
    return solver.solve(batch_size=1, **kw).ttft


def continuous_batching(result, single_prefill_time):
    """``Equations.ContinuousBatching`` at a serving result of batch ``batch_size`` = the concurrency."""
    o = result.evaluation
    return Equations.ContinuousBatching.evaluate(batch_size=o["batch_size"], output_tokens=o["output_tokens"],
                                                 tpot=result.tpot, single_prefill_time=single_prefill_time)


def prefill_efficiency(result):
    """The compute efficiency of the serving model's prefill: the caller's ``compute_efficiency`` on the flat
    roofline, else the one its per-operation prefill achieves (``Equations.Roofline`` solved for
    ``compute_efficiency`` from the prefill's FLOPs per device and time)."""
    o = result.evaluation
    if not result.ctx.get("per_operation"):
        return o["compute_efficiency"], "compute_efficiency of the serving model (flat roofline)"
    sol = Equations.Roofline.solve("compute_efficiency", flops=o["prefill_flops"], peak_flops=result.ctx["peak_flops"],
                                   compute_time=result.ttft)
    eta = float(np.clip(sol.value.magnitude, 1e-6, 1.0))
    return eta, (f"{eta:.3f}: the efficiency the per-operation prefill achieves (its FLOPs per device over "
                 "peak x ttft, Equations.Roofline)")


def chunked_prefill(result, chunk_size):
    """``Equations.ChunkedPrefill`` bound from a serving result at batch ``batch_size`` (the decodes in flight).

    The hybrid step's work is ``(chunk_size + batch_size) * flops_per_token`` of the whole model on the
    tensor-parallel group: its peak is ``num_devices`` devices' (the serving model splits work evenly), and
    its memory traffic the serving model's per-device ``decode_bytes``. On the per-operation model those
    bytes move at the bandwidth its decode step achieves (so a step without a chunk takes exactly ``tpot``),
    and the compute runs at the efficiency its prefill achieves (:func:`prefill_efficiency`)."""
    c = _whole("chunk_size", chunk_size)
    o = result.evaluation
    eta, how = prefill_efficiency(result)
    n_dev = result.ctx["num_devices"]
    bw = result.ctx["memory_bandwidth"]
    if result.ctx.get("per_operation"):
        # the bandwidth at which the per-operation decode step moves its bytes (Equations.Roofline solved for
        # memory_bandwidth from decode_bytes and tpot - overhead), so that a step without a chunk takes tpot
        bw = Equations.Roofline.solve("memory_bandwidth", bytes_moved=o["decode_bytes"],
                                      memory_time=result.tpot - o["overhead"]).value
        how += "; memory: the bandwidth the per-operation decode step achieves"
    prompt = o["prompt_tokens"]
    if "prefill_tokens" in o:  # prefix caching: only the uncached prompt tokens are computed
        prompt = o["prefill_tokens"]
    ev = Equations.ChunkedPrefill.evaluate(
        chunk_size=c, batch_size=o["batch_size"], flops_per_token=o["flops_per_token"],
        compute_efficiency=eta, peak_flops=result.ctx["peak_flops"] * n_dev, decode_bytes=o["decode_bytes"],
        memory_bandwidth=bw, overhead=o["overhead"], prompt_tokens=prompt,
        tpot=result.tpot)
    return ev, how


def attach(solver, result, kwargs, *, concurrency=None, chunk_size=None, kv_block_size=None,
           usable_memory_fraction=None):
    """Add paged KV, continuous batching and chunked prefill to a serving result (attributes listed in
    :meth:`ServingSolver.solve`)."""
    ev, n, used = paged_kv(result, kv_block_size, usable_memory_fraction)
    result.__class__ = _scheduled_class(type(result))
    result.paged_kv = ev
    result.max_concurrency = n
    result.assumptions = [*result.assumptions, *used]
    warnings = []
    if concurrency is not None:
        cb = continuous_batching(result, _single_prefill(solver, kwargs))
        result.continuous_batching = cb
        result.continuous_batching_throughput = cb["continuous_batching_throughput"]
        result.effective_tpot = cb["effective_tpot"]
        if np.any(np.asarray(concurrency) > np.asarray(n)):
            warnings.append(f"concurrency {concurrency} exceeds the {n} sequences whose paged KV cache fits "
                            f"(kv_block_size {used[0].value}, usable_memory_fraction {used[1].value})")
    if chunk_size is not None:
        ch, how = chunked_prefill(result, chunk_size)
        result.chunked_prefill = ch
        result.chunked_ttft = ch["chunked_ttft"]
        result.tpot_inflation = ch["tpot_inflation"]
        result.ctx["chunked_efficiency"] = how
    if warnings:
        result.ctx["warnings"] = [*result.ctx.get("warnings", []), *warnings]
    return result


# ---------------------------------------------------------------------------------------------------- inverse
TPOT_TARGETS = ("tpot", "effective_tpot")


def solve_concurrency(solver, *, kv_block_size=None, usable_memory_fraction=None, **kwargs) -> Solution:
    """The concurrency (sequences in flight) that maximises continuous-batching throughput under a tpot SLO
    and fits paged KV.

    Target: ``tpot=`` (the decode step) or ``effective_tpot=`` (prefill stalls included). Every concurrency
    from 1 to ``max_concurrency`` is evaluated (arrays, one serving evaluation); the answer is the one with
    the highest ``continuous_batching_throughput`` among those meeting the target. ``binding`` names what
    stops it growing: ``"tpot"`` (the SLO), ``"memory"`` (paged KV) or ``"throughput"`` (throughput peaks
    before either).
    """
    targets = {k: kwargs.pop(k) for k in list(kwargs) if k in TPOT_TARGETS}
    if len(targets) != 1:
        raise UnderdeterminedError("solve_for('concurrency') needs exactly one target among tpot, effective_tpot; "
                                   "got " + (", ".join(targets) or "none"))
    for k in ("concurrency", "batch_size"):
        if kwargs.get(k) is not None:
            raise DomainError(f"{k} is the unknown of solve_for('concurrency'): do not also pass it")
        kwargs.pop(k, None)
    (tname, tval), = targets.items()
    if not hasattr(tval, "units"):
        raise DomainError(f"{tname} must be a time Quantity such as Q_(50, 'ms'); got {tval!r}")
    slo = float(tval.m_as("s"))
    one = solver.solve(batch_size=1, **kwargs)
    ev, n_max, used = paged_kv(one, kv_block_size, usable_memory_fraction)
    if n_max < 1:
        raise InfeasibleError(f"no concurrency fits: the weights leave no room for one sequence's paged KV cache "
                              f"({fmt_quantity(ev['kv_memory_budget'].to('GB'))} for KV)", binding="memory")
    b = np.arange(1, n_max + 1, dtype=float)
    r = solver.solve(batch_size=b, **kwargs)
    cb = continuous_batching(r, one.ttft)
    t = np.asarray((r.tpot if tname == "tpot" else cb["effective_tpot"]).m_as("s"), dtype=float)
    x = np.asarray(cb["continuous_batching_throughput"].m_as("1/s"), dtype=float)
    ok = t <= slo * (1 + 1e-12)
    if not ok[0]:
        raise InfeasibleError(f"{tname} = {fmt_quantity(tval)} cannot be met at any concurrency: at 1 sequence "
                              f"it is already {fmt_quantity(Q_(t[0], 's'))}", binding="latency_floor",
                              floor=Q_(t[0], "s"))
    i = int(np.argmax(np.where(ok, x, -np.inf)))
    best = int(b[i])
    if i + 1 < len(b) and not ok[i + 1] and x[i + 1] >= x[i]:
        binding = tname
    elif best == n_max and (i + 1 >= len(b)):
        binding = "memory"
    else:
        binding = "throughput"
    at = solver.solve(batch_size=best, **kwargs)
    at = attach(solver, at, dict(kwargs, batch_size=best), concurrency=best, kv_block_size=kv_block_size,
                usable_memory_fraction=usable_memory_fraction)
    sol = Solution("concurrency", Q_(best, ""), binding, True, "", at.continuous_batching,
                   "whole-number scan over 1..max_concurrency", tname)
    sol.binding = binding
    sol.result = at
    sol.max_concurrency = n_max
    sol.throughput = at.continuous_batching_throughput
    sol.assumptions = {a.name: a for a in used}
    why = {"tpot": f"one more sequence breaks {tname} = {fmt_quantity(tval)}",
           "effective_tpot": f"one more sequence breaks {tname} = {fmt_quantity(tval)}",
           "memory": f"the paged KV cache holds at most {n_max} sequences",
           "throughput": "throughput peaks there"}[binding]
    sol.notes = [(f"concurrency {best}: {_per_s(sol.throughput)} output tokens/s, {tname} "
                 f"{fmt_quantity(Q_(t[i], 's').to('ms'))}; binding: {binding} ({why})")]
    return sol


# ------------------------------------------------------------------------------------------ disaggregation
def _fabric(hardware, which="inter_node_fabric"):
    from ..systems.fabrics import Fabrics

    name = hardware.get(which) if hasattr(hardware, "get") else None
    return Fabrics.get(name) if name else None


def disaggregate(solver, model=None, hardware=None, *, arrival_rate=None, ttft_p99=None, tpot=None,
                 link_bandwidth=None, link_latency=None, kv_block_size=None, usable_memory_fraction=None,
                 **kwargs) -> Solution:
    """Prefill and decode pools that meet a TTFT and a tpot SLO at ``arrival_rate`` (DistServe, Splitwise).

    * A decode instance runs the largest concurrency that meets ``tpot`` and fits paged KV
      (:func:`solve_concurrency` with no prefill stalls: prefills run elsewhere); the decode pool is the
      smallest whole number of instances below full load (``Equations.Disaggregation.decode_instances``).
    * A prefill instance serves one prompt at a time (the serving model's batch-1 ``ttft``); its KV cache
      moves to a decode instance over the fabric between the pools (default: the hardware's inter-node
      fabric from ``Fabrics``; ``Equations.Disaggregation.kv_transfer_time``). The prefill pool is the
      smallest whole number of instances whose M/M/c p99 queueing delay (``Equations.Queueing``) plus the
      prefill plus the transfer meets ``ttft_p99``.

    Returns a Solution whose value is the pool ratio, with ``prefill_instances``, ``decode_instances``,
    ``decode_concurrency``, ``kv_transfer_time``, ``ttft_p99`` (achieved) and ``binding`` per pool.
    """
    missing = [n for n, v in (("arrival_rate", arrival_rate), ("ttft_p99", ttft_p99), ("tpot", tpot)) if v is None]
    if missing:
        raise UnderdeterminedError(f"disaggregate needs arrival_rate, ttft_p99 and tpot; missing {', '.join(missing)}")
    from .capacity import _seconds

    lam = _rate("arrival_rate", arrival_rate)
    ttft_slo = _seconds("ttft_p99", ttft_p99)
    kwargs.pop("batch_size", None)
    kw = dict(kwargs, model=model, hardware=hardware)
    # decode pool
    dec = solve_concurrency(solver, tpot=tpot, kv_block_size=kv_block_size,
                            usable_memory_fraction=usable_memory_fraction, **kw)
    B = int(dec.value.magnitude)
    r_dec = dec.result
    # prefill pool and the KV transfer
    pre = solver.solve(batch_size=1, **kw)
    hw = pre.ctx.get("hardware") or _resolve_hw(hardware)
    assumed = []
    if link_bandwidth is None or link_latency is None:
        fab = _fabric(hw)
        if fab is None:
            raise UnderdeterminedError(f"{hw.key} has no inter-node fabric in mlsysim.Fabrics: pass link_bandwidth= "
                                       "and link_latency= of the fabric between the prefill and decode pools")
        if link_bandwidth is None:
            link_bandwidth = fab.link_bandwidth / float(fab.oversubscription)
            assumed.append(Assumption("link_bandwidth", link_bandwidth, fab.source_of("link_bandwidth"),
                                      f"per-device bandwidth of the inter-node {fab.key} fabric between the pools"))
            eta = _link_efficiency()
            if eta is not None:  # the achievable fraction the fleet's collectives use (Fleet.collective_time)
                link_bandwidth = link_bandwidth * eta.value
                assumed.append(eta)
        if link_latency is None:
            link_latency = fab.link_latency
            assumed.append(Assumption("link_latency", link_latency, fab.source_of("link_latency"),
                                      f"latency of the inter-node {fab.key} fabric"))
    # the KV cache is split over a replica's devices: each device sends its share over its own link
    n_dev = pre.ctx["num_devices"]
    dis = Equations.Disaggregation.evaluate(
        arrival_rate=arrival_rate, ttft=pre.ttft, tpot=r_dec.tpot, batch_size=B,
        output_tokens=pre.evaluation["output_tokens"], prompt_tokens=pre.evaluation["prompt_tokens"],
        kv_bytes_per_token=pre.evaluation["kv_bytes_per_token"] / n_dev, link_bandwidth=link_bandwidth,
        link_latency=link_latency)
    t1 = float(pre.ttft.m_as("s"))
    t_kv = float(dis["kv_transfer_time"].m_as("s"))
    floor = t1 + t_kv
    if floor >= ttft_slo:
        raise InfeasibleError(f"ttft_p99 = {fmt_quantity(ttft_p99)} cannot be met by any prefill pool: one prompt's "
                              f"prefill ({fmt_quantity(pre.ttft)}) plus its KV transfer "
                              f"({fmt_quantity(dis['kv_transfer_time'])}) "
                              f"is already {fmt_quantity(Q_(floor, 's'))}", binding="latency_floor",
                              floor=Q_(floor, "s"))
    Q = Equations.Queueing
    mu = 1.0 / t1

    def p99(n):
        return np.atleast_1d(Q.evaluate(outputs=["p99_wait"], arrival_rate=Q_(lam, "1/s"), service_rate=Q_(mu, "1/s"),
                                        servers=np.asarray(n, dtype=float)).magnitude("p99_wait"))

    n_lo = math.floor(lam * t1) + 1
    hi = n_lo
    while p99([hi])[0] + floor > ttft_slo:
        hi *= 2
    cand = np.arange(n_lo, hi + 1)
    n_pre = int(cand[np.argmax(p99(cand) + floor <= ttft_slo)])
    n_dec_full = float(dis.magnitude("decode_instances"))
    n_dec = math.floor(n_dec_full) + 1
    at = Q.evaluate(arrival_rate=Q_(lam, "1/s"), service_rate=Q_(mu, "1/s"), servers=n_pre)
    ratio = n_pre / n_dec
    sol = Solution("pool_ratio", Q_(ratio, ""), {"prefill": "ttft_p99", "decode": dec.binding}, True, "", dis,
                   "whole-number pools: M/M/c search (prefill), full-load bound (decode)", "ttft_p99")
    sol.prefill_instances = n_pre
    sol.decode_instances = n_dec
    sol.decode_concurrency = B
    sol.kv_transfer_time = dis["kv_transfer_time"]
    sol.ttft_p99 = at["p99_wait"] + Q_(floor, "s")
    sol.tpot = r_dec.tpot
    sol.binding = {"prefill": "queueing", "decode": dec.binding}
    sol.assumptions = {a.name: a for a in assumed}
    sol.disaggregation = dis
    sol.queue = at
    full_pre = float(dis.magnitude("prefill_instances"))
    sol.notes = [
        (f"prefill pool: {n_pre} instance{'s' if n_pre != 1 else ''} (full load {full_pre:.3g}); p99 wait "
         f"{fmt_quantity(at['p99_wait'])} + prefill {fmt_quantity(pre.ttft)} + KV transfer "
         f"{fmt_quantity(dis['kv_transfer_time'])} <= ttft_p99 {fmt_quantity(ttft_p99)}"),
        (f"decode pool: {n_dec} instance{'s' if n_dec != 1 else ''} of {B} sequences (full load "
         f"{n_dec_full:.3g}); tpot {fmt_quantity(r_dec.tpot.to('ms'))} <= {fmt_quantity(tpot)} ({dec.binding} "
         "binds the concurrency)"),
        f"pool ratio (prefill : decode) = {n_pre}:{n_dec} = {ratio:.3g}",
    ]
    return sol


def _link_efficiency():
    """The achievable fraction of a link's nominal bandwidth that ``Fleet.collective_time`` applies across
    nodes (``mlsysim.core.defaults.LINK_EFFICIENCY``), or None where the project has no such assumption."""
    from ..core import defaults as D

    return getattr(D, "LINK_EFFICIENCY", None)


def _rate(name, q) -> float:
    if not hasattr(q, "units"):
        raise DomainError(f"{name} must be a rate Quantity such as Q_(20, '1/s'); got {q!r}")
    try:
        v = float(q.m_as("1/s"))
    except Exception:  # noqa: BLE001 - pint's DimensionalityError, reported with the input
        raise DomainError(f"{name} must be a rate (1/s); got {q:~P}") from None
    if not (math.isfinite(v) and v > 0):
        raise DomainError(f"{name} must be a finite rate > 0; got {q:~P}")
    return v


def _resolve_hw(hardware):
    from ..hardware import Hardware

    return Hardware.get(hardware) if isinstance(hardware, str) else hardware


# -------------------------------------------------------------------------------------------- multi-node
def _collective(hardware, kind, message_bytes, n, *, across_nodes):
    """Time of one ``all_to_all`` or ``send_recv`` among ``n`` devices: ``Fleet.collective_time`` where it
    exists, else the alpha-beta relation of ``Equations.Collectives`` on the hardware's fabric."""
    from ..systems.fleet import Fleet

    g = int(hardware.get("devices_per_node") or 1)
    if hasattr(Fleet, "collective_time"):
        if kind == "send_recv":  # one message from a device of one node to a device of the next
            fleet, ranks = Fleet(hardware, num_nodes=2), (g + 1 if across_nodes else 2)
        else:
            fleet, ranks = Fleet(hardware, num_nodes=max(1, -(-n // g))), n
        return fleet.collective_time(kind, message_bytes, num_devices=ranks)
    fab = _fabric(hardware, "inter_node_fabric" if across_nodes else "intra_node_fabric")
    if fab is None:
        raise UnderdeterminedError(f"{hardware.key} has no {'inter' if across_nodes else 'intra'}-node fabric in "
                                   "mlsysim.Fabrics")
    bw = fab.link_bandwidth / (float(fab.oversubscription) if across_nodes else 1.0)
    out = "alltoall_time" if kind == "all_to_all" else "p2p_time"
    return Equations.Collectives.evaluate(outputs=[out], message_bytes=message_bytes, num_devices=max(n, 2),
                                          link_bandwidth=bw, link_latency=fab.link_latency)[out]


def multinode(solver, result_kwargs, *, pp=1, ep=1, tp=None):
    """``Equations.MultiNodeInference`` for a replica of ``tp`` x ``ep`` devices per stage and ``pp`` stages.

    The whole model's decode step on one stage group (``tp_step_time``) is the serving model's ``tpot`` at
    ``num_devices = tp * ep`` (the weights and arithmetic split over the stage's devices: the experts
    exactly under expert parallelism, the rest as tensor parallelism); stages hold ``ceil(num_layers / pp)``
    layers at most; the sends between stages and the expert all-to-alls run on the hardware's fabrics.
    Returns ``(evaluation, serving result of one stage group)``.
    """
    pp = _whole("pp", pp)
    ep = _whole("ep", ep)
    kw = dict(result_kwargs)
    tp = _whole("tp", tp if tp is not None else kw.pop("num_devices", 1) or 1)
    kw.pop("num_devices", None)
    r = solver.solve(num_devices=tp * ep, **kw)
    model, hardware = r.ctx.get("model"), r.ctx.get("hardware")
    if model is None:
        from .serving import _resolve

        model, hardware = _resolve(kw.get("model"), kw.get("hardware"))
    L = int(model.num_layers)
    if pp > L:
        raise DomainError(f"pp = {pp} exceeds {model.name}'s {L} layers (a stage holds at least one layer)")
    moe = int(getattr(model, "num_experts", 1) or 1) > 1
    if ep > 1 and not moe:
        raise DomainError(f"ep = {ep}: {model.name} is a dense model (no experts to split); use ep = 1")
    if moe and ep > int(model.num_experts):
        raise DomainError(f"ep = {ep} exceeds {model.name}'s {model.num_experts} experts")
    stage_layers = -(-L // pp)
    o = r.evaluation
    base = {"batch_size": o["batch_size"], "hidden_size": o["hidden_size"], "bytes_per_element": o["bytes_per_element"],
                "experts_per_token": int(getattr(model, "experts_per_token", 1) or 1)}
    msgs = Equations.MultiNodeInference.evaluate(outputs=["ep_message_bytes", "stage_message_bytes"], **base)
    g = int(hardware.get("devices_per_node") or 1)
    a2a = (_collective(hardware, "all_to_all", msgs["ep_message_bytes"], ep, across_nodes=tp * ep > g)
           if ep > 1 else Q_(0.0, "s"))
    send = (_collective(hardware, "send_recv", msgs["stage_message_bytes"], 2, across_nodes=True)
            if pp > 1 else Q_(0.0, "s"))
    r.ctx["layout"] = f"tp {tp}, ep {ep}, pp {pp}"
    r.ctx["replica_devices"] = tp * ep * pp
    ev = Equations.MultiNodeInference.evaluate(
        tp_step_time=r.tpot, stage_layers=stage_layers, num_layers=L, pp=pp, moe_layers=L if moe else 0,
        moe_stage_layers=stage_layers if moe else 0, ep_alltoall_time=a2a, stage_send_time=send, **base)
    return ev, r


# ------------------------------------------------------------------------------------------- entry point
def concurrency_as_batch(kwargs: dict) -> dict:
    """``concurrency=N`` as ``batch_size=N`` (it is the batch in flight), for solvers that take the batch."""
    kw = dict(kwargs)
    c = kw.pop("concurrency", None)
    if c is None:
        return kw
    c = _whole("concurrency", c)
    if kw.get("batch_size") not in (None, 1, c):
        raise DomainError(f"concurrency ({c}) is the batch in flight: it cannot differ from batch_size "
                          f"({kw['batch_size']}); give one of them")
    kw["batch_size"] = c
    return kw


def solve_scheduled(solver, model, hardware, kwargs, *, concurrency=None, chunk_size=None, kv_block_size=None,
                    usable_memory_fraction=None, pp=None, ep=None):
    """``ServingSolver.solve`` with any of :data:`SCHEDULING_ARGS`: the serving result plus paged KV
    (always), continuous batching (``concurrency``), chunked prefill (``chunk_size``) and the multi-node
    pipeline (``pp``, ``ep``: ``.multinode``, ``.pipeline_token_latency``, ``.pipeline_throughput``)."""
    kw = concurrency_as_batch(dict(kwargs, model=model, hardware=hardware, concurrency=concurrency))
    if concurrency is not None:
        concurrency = kw["batch_size"]
    if pp is not None or ep is not None:
        ev, result = multinode(solver, kw, pp=pp if pp is not None else 1, ep=ep if ep is not None else 1)
        result.multinode = ev
        result.pipeline_token_latency = ev["pipeline_token_latency"]
        result.pipeline_throughput = ev["pipeline_throughput"]
        kw["num_devices"] = result.ctx["num_devices"]
    else:
        result = solver.solve(**kw)
    return attach(solver, result, kw, concurrency=concurrency, chunk_size=chunk_size, kv_block_size=kv_block_size,
                  usable_memory_fraction=usable_memory_fraction)


# ------------------------------------------------------------------------------------------- presentation
_CLASSES: dict = {}


def _scheduled_class(base):
    """A subclass of the serving result type whose repr and ``to_dict`` show the scheduling quantities."""
    if getattr(base, "_scheduled", False):
        return base
    if base not in _CLASSES:
        def __repr__(self):
            return "\n".join([base.__repr__(self), *schedule_lines(self)])

        def to_dict(self):
            return {**base.to_dict(self), **schedule_dict(self)}

        _CLASSES[base] = type(f"Scheduled{base.__name__}", (base,),
                              {"__repr__": __repr__, "to_dict": to_dict, "_scheduled": True,
                               "__doc__": base.__doc__})
    return _CLASSES[base]

_SCHEDULE_FIELDS = ("max_concurrency", "continuous_batching_throughput", "effective_tpot", "chunked_ttft",
                    "tpot_inflation", "pipeline_token_latency", "pipeline_throughput")


def schedule_lines(result) -> list[str]:
    """The lines a scheduled serving result adds to its repr."""
    d = result.__dict__
    lines = []
    if "max_concurrency" in d:
        lines.append(f"  max concurrency:     {result.max_concurrency} sequences (paged KV)")
    if "continuous_batching_throughput" in d:
        lines.append(f"  continuous batching: {_per_s(result.continuous_batching_throughput)} output tokens/s, "
                     f"effective tpot {fmt_quantity(result.effective_tpot.to('ms'))} (prefill stalls included)")
    if "chunked_ttft" in d:
        lines.append(f"  chunked prefill:     TTFT {fmt_quantity(result.chunked_ttft)}, tpot x"
                     f"{float(np.max(result.tpot_inflation.m_as(''))):.3g} in a step with a chunk")
    if "pipeline_token_latency" in d:
        lines.append(f"  pipeline ({result.ctx.get('layout', '')}): "
                     f"{fmt_quantity(result.pipeline_token_latency.to('ms'))} per token, "
                     f"{_per_s(result.pipeline_throughput)} tokens/s")
    return lines


def _per_s(q):
    m = q.m_as("1/s")
    return f"{float(m):.4g}" if np.ndim(m) == 0 else fmt_quantity(q)


def schedule_dict(result) -> dict:
    """The quantities a scheduled serving result adds to its ``to_dict``."""
    out = {}
    for k in _SCHEDULE_FIELDS:
        v = result.__dict__.get(k)
        if v is None:
            continue
        out[k] = ({"value": np.asarray(v.magnitude).tolist(), "unit": f"{v.units:~C}"} if hasattr(v, "units")
                  else np.asarray(v).tolist())
    return out


def solution_text(sol) -> str:
    """A fleet answer (replicas, concurrency, pools) as text: value, what binds, the notes."""
    from ..core.equations import fmt_quantity as fq

    head = f"{sol.unknown} = {fq(sol.value)}"
    if getattr(sol, "prefill_instances", None) is not None:
        head += f" (prefill {sol.prefill_instances} : decode {sol.decode_instances})"
    b = getattr(sol, "binding", None)
    if b:
        head += f"; binding: {b if isinstance(b, str) else ', '.join(f'{k}: {v}' for k, v in b.items())}"
    return "\n".join([head, *(f"  {n}" for n in getattr(sol, "notes", []))])


def solution_dict(sol) -> dict:
    d = {"unknown": sol.unknown, "value": float(np.asarray(sol.value.magnitude)), "unit": f"{sol.value.units:~C}",
         "target": sol.target, "binding": getattr(sol, "binding", None), "notes": list(getattr(sol, "notes", []))}
    for k in ("prefill_instances", "decode_instances", "decode_concurrency", "max_concurrency"):
        if getattr(sol, k, None) is not None:
            d[k] = int(getattr(sol, k))
    for k in ("kv_transfer_time", "ttft_p99", "tpot", "throughput"):
        q = getattr(sol, k, None)
        if hasattr(q, "units"):
            d[k] = {"value": float(np.asarray(q.magnitude)), "unit": f"{q.units:~C}"}
    d["assumptions"] = [{"name": a.name, "value": str(a.value), "source": str(a.source)}
                        for a in (getattr(sol, "assumptions", None) or {}).values()]
    return d
