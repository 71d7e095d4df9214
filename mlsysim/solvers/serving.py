"""``SingleNodeSolver`` and ``ServingSolver``: thin façades over ``Equations.Inference``/``Equations.Serving``.

They bind a workload (``Models``) and a device (``Hardware``) to the knowns of an equation set, fill
every assumed coefficient from a named :class:`~mlsysim.core.assumptions.Assumption`
(:mod:`mlsysim.core.defaults`), and return result objects. Every number they report is computed by
the equation set; nothing here retypes a formula. ``solve_for`` answers inverse questions by handing
the same knowns, less the unknown, plus a target to :meth:`EquationSet.solve`.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import defaults as D
from ..core.assumptions import Assumption
from ..core.equation_sets import Equations
from ..core.display import plural
from ..core.equations import EvalResult, fmt_quantity
from ..core.errors import DomainError, InfeasibleError, UnderdeterminedError, UnitError, UnknownVariableError
from ..core.precision import bytes_per_element as precision_bytes  # (solver arguments are named bytes_per_element)
from ..core.precision import normalize_precision
from ..core.units import Q_
from ..core.variables import VARIABLES

#: solver arguments that are not equation variables
_SOLVER_ARGS = {"model", "hardware", "precision"}


def _is_transformer(model) -> bool:
    return hasattr(model, "kv_bytes_per_token") and hasattr(model, "num_layers")


def _resolve(model, hardware):
    from ..hardware import Hardware
    from ..models import Models

    if isinstance(model, str):
        model = Models.get(model)
    if isinstance(hardware, str):
        hardware = Hardware.get(hardware)
    if model is None or not hasattr(model, "architecture"):
        raise UnknownVariableError(f"model must be a Models entry or a workload object; got {model!r}")
    if hardware is None or not hasattr(hardware, "peak_flops"):
        raise UnknownVariableError(f"hardware must be a Hardware entry; got {hardware!r}")
    return model, hardware


def _count(name, value, optional=True):
    """Validate a count argument early, with its name (arrays allowed; a dimensionless Quantity too)."""
    if value is None:
        if optional:
            return None
        raise DomainError(f"{name} must be a whole number >= 1; got None")
    if hasattr(value, "units"):
        if not value.dimensionless:
            raise UnitError(f"{name} is a plain count; got {value!r} with units {value.units:~C}")
        value = value.to("").magnitude
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        raise DomainError(f"{name} must be a whole number >= 1; got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DomainError(f"{name} must be a whole number >= 1; got {value!r}") from None
    if arr.dtype.kind not in "iuf":
        raise DomainError(f"{name} must be a whole number >= 1; got {value!r}")
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 1) or np.any(arr != np.round(arr)):
        raise DomainError(f"{name} must be a whole number >= 1; got {value!r}")
    return value


class _Facade:
    """Shared binding and inverse logic."""

    SET = ""

    @property
    def equations(self):
        """The equation set this solver is a façade over."""
        return Equations[self.SET]

    def _targets(self, kwargs: dict) -> dict:
        eq = self.equations
        return {k: kwargs.pop(k) for k in list(kwargs) if k in eq.derived}

    def solve_for(self, unknown: str, **kwargs):
        """Replace the input ``unknown`` by the value that meets a target.

        Give the same arguments as :meth:`solve`, plus exactly one target: a quantity the set derives
        (``tpot=Q_(20, "ms")``, ``memory_required=Hardware.H200.memory_capacity``, ``latency=...``).
        Counts (``batch_size``, ``seq_len``, ``num_devices``) are rounded to the nearest whole number that
        still meets the target (times and memory are upper limits). Returns an :class:`InverseResult`
        that carries the full forward result at the answer (``.result``), including ``fits``.
        """
        eq = self.equations
        if not isinstance(unknown, str) or unknown not in eq.inputs:
            import difflib

            close = difflib.get_close_matches(str(unknown), eq.inputs, n=4)
            raise UnknownVariableError(
                f"{type(self).__name__}.solve_for: {unknown!r} is not an input of {self.SET}"
                + (f"; did you mean {', '.join(close)}?" if close else f"; inputs are {', '.join(eq.inputs)}"))
        targets = self._targets(kwargs)
        if len(targets) != 1:
            raise UnderdeterminedError(
                f"{type(self).__name__}.solve_for needs exactly one target among {', '.join(eq.derived)}; "
                f"got {', '.join(targets) or 'none'}")
        if unknown in kwargs:
            raise DomainError(f"{unknown} is the unknown: do not also pass it")
        knowns, used, ctx = self._bind(**kwargs, _unknown=unknown)
        knowns.pop(unknown, None)
        (tname, tval), = targets.items()
        needed = eq.input_deps(tname)
        if unknown not in needed:
            raise UnderdeterminedError(f"{tname} does not depend on {unknown} in {self.SET}")
        sol = eq.solve(unknown, round_counts=False,  # rounded below, with the serving note
                       **{k: v for k, v in knowns.items() if k in needed}, **{tname: tval})
        value = sol.value
        note = ""
        if VARIABLES[unknown].domain in ("count", "count0") and np.ndim(value.magnitude) == 0:
            value, note = self._round_count(unknown, value, knowns, tname, tval)
        # the full forward result at the answer (fits, every other quantity)
        full = dict(knowns)
        full[unknown] = value if not VARIABLES[unknown].dimensionless else value.magnitude
        outputs = [d for d in eq.derived if eq.input_deps(d) <= set(full)]
        result = self._result(eq.evaluate(outputs=outputs, **full), used, ctx)
        return InverseResult(unknown, value, tname, tval, sol, result, note)

    def _round_count(self, unknown, value, knowns, tname, tval):
        """Round a count answer to the whole number that still meets the target (an upper limit)."""
        x = float(value.magnitude)
        eq = self.equations
        tv = VARIABLES[tname]
        target_base = tval.to(tv.base_unit).magnitude if hasattr(tval, "units") else float(tval)
        lo, hi = max(1, math.floor(x + 1e-9)), max(1, math.ceil(x - 1e-9))
        deps = eq.input_deps(tname)

        def at(c):
            k = {n: v for n, v in knowns.items() if n in deps}
            k[unknown] = c
            return eq.evaluate(outputs=[tname], **k).magnitude(tname)

        t_lo, t_hi = at(lo), at(hi)
        meets = [c for c, t in ((lo, t_lo), (hi, t_hi)) if t <= target_base * (1 + 1e-12)]
        if not meets:
            raise InfeasibleError(f"no whole {unknown} meets {tname} = {fmt_quantity(tval)}: the continuous answer is "
                                  f"{x:.6g} and neither {lo} nor {hi} meets the target")
        increasing = t_hi >= t_lo
        best = max(meets) if increasing else min(meets)
        note = "" if abs(best - x) <= 1e-9 * max(1.0, x) else (
            f"{unknown} = {x:.6g} meets {tname} exactly; {best} is the "
            f"{'largest' if increasing else 'smallest'} whole number that meets it")
        return Q_(best, ""), note


class InverseResult:
    """Answer of ``solve_for``: ``value`` (Quantity), the ``target`` met, the engine's ``solution`` and the
    forward ``result`` at the answer (so ``fits`` and every other quantity can be checked)."""

    def __init__(self, unknown, value, target, target_value, solution, result, note=""):
        self.unknown = unknown
        self.value = value
        self.target = target
        self.target_value = target_value
        self.solution = solution
        self.result = result
        self.note = note
        self.binding = target

    @property
    def fits(self):
        return self.result.fits

    @property
    def regime(self):
        return self.solution.regime

    def to(self, unit):
        return self.value.to(unit)

    def m_as(self, unit):
        return self.value.m_as(unit)

    @property
    def magnitude(self):
        return self.value.magnitude

    @property
    def warnings(self) -> list[str]:
        w = []
        if not np.all(self.result.fits):
            w.append(self.result.memory_message())
        if self.solution.bound:
            w.append({"min": f"any larger {self.unknown} also meets {self.target}",
                      "max": f"any smaller {self.unknown} also meets {self.target}",
                      "any": f"{self.target} does not depend on {self.unknown} here"}.get(self.solution.bound, ""))
        return w

    def __repr__(self):
        lines = [f"{self.unknown} = {fmt_quantity(self.value)} meets {self.target} = {fmt_quantity(self.target_value)}"
                 f" (regime: {', '.join(f'{k}: {v}' for k, v in self.regime.items()) or '-'})"]
        if self.note:
            lines.append(f"  note: {self.note}")
        for w in self.warnings:
            lines.append(f"  WARNING: {w}")
        return "\n".join(lines)

    def to_dict(self):
        return {"unknown": self.unknown, "value": float(self.value.magnitude), "unit": f"{self.value.units:~C}",
                "target": self.target, "binding": self.binding, "fits": bool(np.all(self.result.fits)),
                "warnings": self.warnings,
                "note": self.note, "result": self.result.to_dict()}


class _ResultBase:
    """Attribute access to every quantity of the evaluation, plus ``assumptions`` and ``to_dict``."""

    FIELDS: dict[str, str] = {}

    def __init__(self, out: EvalResult, assumptions: list, ctx: dict):
        self._out = out
        self.assumptions = assumptions
        self.ctx = ctx
        self.memory_capacity = ctx.get("memory_capacity")

    @property
    def evaluation(self) -> EvalResult:
        """The equation set's full evaluation behind this result (every derived quantity)."""
        return self._out

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        alias = self.FIELDS.get(name, name)
        try:
            return self._out[alias]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no {name!r}") from None

    @property
    def fits(self):
        """memory_required <= memory_capacity (a bool, or a boolean array)."""
        cap = self.memory_capacity
        if cap is None:
            return True
        req = self._out["memory_required"].m_as("byte")
        f = req <= cap.m_as("byte")
        return bool(f) if np.ndim(f) == 0 else f

    def memory_message(self) -> str:
        req = self._out["memory_required"]
        cap = self.memory_capacity
        if cap is None:
            return "device memory capacity unknown"
        verb = "fits in" if np.all(self.fits) else "does NOT fit in"
        device = self.ctx.get('hardware_name', 'device')
        return f"{fmt_quantity(req.to('GB'))} {verb} the {device}'s {fmt_quantity(cap.to('GB'))}"

    def to_dict(self) -> dict:
        d = self._out.to_dict()
        d["fits"] = np.asarray(self.fits).tolist()
        d["memory_capacity"] = ({"value": self.memory_capacity.m_as("byte"), "unit": "B"}
                                if self.memory_capacity is not None else None)
        d["assumptions"] = [{"name": a.name, "value": str(a.value), "source": str(a.source)} for a in self.assumptions]
        d.update({k: v for k, v in self.ctx.items() if isinstance(v, (str, int, float))})
        return d


class ServingResult(_ResultBase):
    """ttft, tpot, KV cache, memory per device, fits, max batch, throughput and request latency."""

    @property
    def bottleneck(self):
        """Binding regime of the decode step ("compute" or "memory")."""
        return self._out.regime("tpot")

    @property
    def prefill_bottleneck(self):
        return self._out.regime("ttft")

    @property
    def tokens_per_second(self):
        """Tokens generated per second by the replica (all its devices)."""
        return self._out["decode_throughput"]

    @property
    def tokens_per_second_per_device(self):
        return self._out["decode_throughput"] / self.ctx["num_devices"]

    @property
    def max_batch_size(self):
        """Largest batch whose weights + KV cache fit the device memory at this context (0 if none)."""
        return self.ctx["max_batch_size"]()

    def kv_growth(self, tokens):
        """KV-cache bytes as the context grows: ``tokens`` (array of context lengths) -> Quantity array."""
        k = self.ctx["kv_knowns"]
        return Equations.KVCache.evaluate(outputs=["kv_cache_bytes"], seq_len=np.asarray(tokens, dtype=float),
                                          **k)["kv_cache_bytes"]

    def __repr__(self):
        o = self._out
        sc = lambda x: x if isinstance(x, str) else "array"  # noqa: E731
        lines = [f"=== Serving {self.ctx['model_name']} on {self.ctx['num_devices']} x {self.ctx['hardware_name']} "
                 f"({self.ctx['precision']}, batch {self.ctx['batch_size_repr']}, "
                 f"context {self.ctx['seq_len_repr']}) ===",
                 f"  TTFT (prefill {plural(self.ctx['prompt_repr'], 'token')}): {fmt_quantity(o['ttft'])} "
                 f"[{sc(self.prefill_bottleneck)}-bound]",
                 f"  TPOT (decode step):  {fmt_quantity(o['tpot'])} [{sc(self.bottleneck)}-bound]",
                 f"  throughput:          {_per_second(o['decode_throughput'])} tokens/s",
                 f"  request latency:     {fmt_quantity(o['request_latency'])} "
                 f"({plural(self.ctx['output_repr'], 'output token')})",
                 f"  weights:             {fmt_quantity(o['weight_bytes'].to('GB'))}",
                 f"  KV cache:            {fmt_quantity(o['kv_cache_bytes'].to('GB'))}",
                 f"  memory per device:   {self.memory_message()}"]
        lines.append("  assumptions: " + "; ".join(f"{a.name}={a.value}" for a in self.assumptions))
        return "\n".join(lines)


class SingleNodeResult(_ResultBase):
    """latency, throughput, compute/memory time, bottleneck, intensity, ridge point, memory, fits, energy."""

    @property
    def bottleneck(self):
        return self._out.regime(self.ctx["latency_name"])

    @property
    def latency(self):
        return self._out[self.ctx["latency_name"]]

    @property
    def compute_time(self):
        return self._out[self.ctx["compute_name"]]

    @property
    def memory_time(self):
        return self._out[self.ctx["memory_name"]]

    @property
    def throughput(self):
        return self._out[self.ctx["throughput_name"]]

    @property
    def arithmetic_intensity(self):
        """FLOPs per byte of the step (the Roofline relation, applied to the decode step for transformers)."""
        o = self._out
        if "arithmetic_intensity" in o:
            return o["arithmetic_intensity"]
        return Equations.Roofline.evaluate(outputs=["arithmetic_intensity"], flops=o["decode_flops"],
                                           bytes_moved=o["decode_bytes"])["arithmetic_intensity"]

    @property
    def ridge_point(self):
        """peak_flops / memory_bandwidth of the device at this precision (Roofline)."""
        o = self._out
        if "ridge_point" in o:
            return o["ridge_point"]
        return Equations.Roofline.evaluate(outputs=["ridge_point"], peak_flops=self.ctx["peak_flops"],
                                           memory_bandwidth=self.ctx["memory_bandwidth"])["ridge_point"]

    @property
    def energy(self):
        """Device energy of the step: power x latency (power defaults to TDP, an assumption)."""
        if "step_energy" in self._out:
            return self._out["step_energy"]
        return None

    @property
    def memory_required(self):
        return self._out["memory_required"]

    def __repr__(self):
        b = self.bottleneck
        lines = [f"=== {self.ctx['model_name']} on {self.ctx['hardware_name']} ({self.ctx['precision']}, batch "
                 f"{self.ctx['batch_size_repr']}) ===",
                 f"  latency:        {fmt_quantity(self.latency)} [{b if isinstance(b, str) else 'array'}-bound]",
                 f"  compute time:   {fmt_quantity(self.compute_time)}",
                 f"  memory time:    {fmt_quantity(self.memory_time)}",
                 f"  throughput:     {fmt_quantity(self.throughput)}",
                 f"  intensity:      {fmt_quantity(self.arithmetic_intensity)} "
                 f"(ridge {fmt_quantity(self.ridge_point)})",
                 f"  memory:         {self.memory_message()}"]
        if self.energy is not None:
            lines.append(f"  energy/step:    {fmt_quantity(self.energy)}")
        lines.append("  assumptions: " + "; ".join(f"{a.name}={a.value}" for a in self.assumptions))
        return "\n".join(lines)


class ServingSolver(_Facade):
    """LLM serving on one node: prefill (``ttft``), decode (``tpot``), KV cache, memory, tensor parallelism.

    ``solve(model, hardware, seq_len=None, batch_size=1, precision="fp16", prompt_tokens=None,
    output_tokens=None, num_devices=1, ...)``. ``seq_len`` is the context of the decode step and of the
    KV cache [tokens]; it defaults to ``prompt_tokens + output_tokens`` (the final context, so ``tpot``
    and ``request_latency`` are upper bounds). ``prompt_tokens`` defaults to ``seq_len`` and
    ``output_tokens`` to 1. Tensor parallelism over ``num_devices`` devices of one node splits weights,
    KV cache and arithmetic, and adds the exposed activation all-reduces over the device's interconnect.
    Any numeric argument may be a numpy array (results are arrays).
    """

    SET = "Serving"

    def solve(self, model=None, hardware=None, **kwargs) -> ServingResult:
        from .scheduling import SCHEDULING_ARGS, solve_scheduled  # paged KV, batching, chunks, pipelines

        sched = {k: kwargs.pop(k) for k in SCHEDULING_ARGS if kwargs.get(k) is not None}
        if sched:
            return solve_scheduled(self, model, hardware, kwargs, **sched)
        knowns, used, ctx = self._bind(model=model, hardware=hardware, **kwargs)
        return self._result(self.equations.evaluate(**knowns), used, ctx)

    def _result(self, out, used, ctx):
        return ServingResult(out, used, ctx)

    def disaggregate(self, model=None, hardware=None, **kwargs):
        """Prefill and decode pool sizes meeting ``ttft_p99`` and ``tpot`` at ``arrival_rate``
        (:func:`mlsysim.solvers.scheduling.disaggregate`)."""
        from .scheduling import disaggregate
        return disaggregate(self, model, hardware, **kwargs)

    def solve_for(self, unknown: str, **kwargs):
        """Inverse question (see :meth:`_Facade.solve_for`).

        For ``batch_size`` and ``seq_len`` with a time target (``tpot``, ``ttft``, ``request_latency``) the
        answer is the largest value that meets the target **and** fits in device memory; when memory is
        the tighter limit the answer says so (``binding == "memory"``).
        """
        if unknown == "num_replicas":  # capacity planning: the serving model plus the M/M/c queue
            from .capacity import solve_num_replicas
            from .scheduling import concurrency_as_batch
            return solve_num_replicas(self, **concurrency_as_batch(kwargs))
        if unknown == "concurrency":  # continuous batching under a tpot SLO, within paged KV
            from .scheduling import solve_concurrency
            return solve_concurrency(self, **kwargs)
        res = super().solve_for(unknown, **kwargs)
        res.binding = res.target
        if unknown in ("batch_size", "seq_len") and res.target != "memory_required" and not np.all(res.fits) \
                and np.ndim(res.value.magnitude) == 0:
            cap = res.result.memory_capacity
            kw = {k: v for k, v in kwargs.items() if k != res.target}
            mem = super().solve_for(unknown, memory_required=cap, **kw)
            if float(mem.value.magnitude) < float(res.value.magnitude):
                mem.note = (f"{res.target} = {fmt_quantity(res.target_value)} allows {unknown} = "
                            f"{fmt_quantity(res.value)}, but memory is the tighter limit: {fmt_quantity(mem.value)} "
                            f"is the largest that fits in {fmt_quantity(cap.to('GB'))}")
                mem.binding = "memory"
                mem.time_limited_value = res.value
                return mem
        return res

    def _bind(self, model=None, hardware=None, *, seq_len=None, batch_size=1, precision="fp16", prompt_tokens=None,
              output_tokens=None, num_devices=1, compute_efficiency=None, overhead=None,
              activation_traffic_bytes=None, link_bandwidth=None, link_latency=None, tp_allreduces_per_forward=None,
              memory_bandwidth=None, peak_flops=None, bytes_per_element=None, allow_cross_node=False,
              _unknown=None, **unknown_kwargs):
        if unknown_kwargs:
            import difflib

            name = next(iter(unknown_kwargs))
            opts = ["seq_len", "batch_size", "precision", "prompt_tokens", "output_tokens", "num_devices",
                    "compute_efficiency", "overhead", "activation_traffic_bytes", "link_bandwidth", "link_latency",
                    "tp_allreduces_per_forward", "memory_bandwidth", "peak_flops", "bytes_per_element"]
            close = difflib.get_close_matches(name, opts, n=3)
            raise UnknownVariableError(f"ServingSolver got an unknown argument {name!r}"
                                       + (f"; did you mean {', '.join(close)}?" if close else ""))
        model, hardware = _resolve(model, hardware)
        if not _is_transformer(model):
            raise DomainError(f"ServingSolver models autoregressive transformers; {model!r} is not one "
                              f"(use SingleNodeSolver)")
        if getattr(model, "kind", "decoder") != "decoder":
            raise DomainError(f"{model.name} is an encoder: it generates no tokens; use SingleNodeSolver")
        precision = normalize_precision(precision)
        for n, v in (("batch_size", batch_size), ("prompt_tokens", prompt_tokens), ("output_tokens", output_tokens),
                     ("seq_len", seq_len), ("num_devices", num_devices)):
            if _unknown != n:
                _count(n, v, optional=n not in ("batch_size", "num_devices"))
        if seq_len is None and _unknown != "seq_len":
            if prompt_tokens is None:
                raise UnderdeterminedError("ServingSolver needs seq_len (the context) or prompt_tokens "
                                           "(+ output_tokens)")
            seq_len = np.asarray(prompt_tokens) + np.asarray(output_tokens if output_tokens is not None else 1)
            seq_len = seq_len.item() if np.ndim(seq_len) == 0 else seq_len
        if prompt_tokens is None:
            prompt_tokens = seq_len if seq_len is not None else 1
        if output_tokens is None:
            output_tokens = 1
        used = []

        def take(name, given, default):
            v, a = D.pick(name, given, default)
            used.append(a)
            return v

        peak = peak_flops if peak_flops is not None else hardware.peak_flops(precision)
        bw = memory_bandwidth if memory_bandwidth is not None else _published(hardware, "memory_bandwidth")
        fabric = _node_fabric(hardware)
        multi = np.any(np.asarray(num_devices if num_devices is not None else 1) > 1)
        if link_bandwidth is None:
            if fabric is not None:
                # the node's fabric from the Fabrics registry: per-device bandwidth, one direction, sourced there
                link_bandwidth = fabric.link_bandwidth
                used.append(Assumption("link_bandwidth", link_bandwidth, fabric.source_of("link_bandwidth"),
                                       f"per-device bandwidth of the node's {fabric.key} fabric"))
            elif multi and _unknown != "link_bandwidth":
                raise UnderdeterminedError(f"{hardware.key} has no node fabric in mlsysim.Fabrics: pass "
                                           f"link_bandwidth= for tensor parallelism over {num_devices} devices")
            else:
                # one device: the tensor-parallel all-reduce term is (n_dev - 1)/n_dev = 0 whatever the link
                link_bandwidth = bw
                used.append(Assumption("link_bandwidth", "unused", D.SINGLE_DEVICE_LINK.source,
                                       D.SINGLE_DEVICE_LINK.description))
        if link_latency is None and fabric is not None:
            latency_value = fabric.link_latency
            used.append(Assumption("link_latency", latency_value, fabric.source_of("link_latency"),
                                   f"per-step latency of the node's {fabric.key} fabric"))
        else:
            latency_value = take("link_latency", link_latency, D.TP_LINK_LATENCY)
        b = bytes_per_element if bytes_per_element is not None else precision_bytes(precision)
        knowns = model.knowns_for(self.equations, bytes_per_element=b, seq_len=seq_len, batch_size=batch_size)
        knowns.update(
            parameters=model.parameters, active_parameters=model.active_parameters,
            embedding_parameters=model.embedding_parameters, num_devices=num_devices,
            prompt_tokens=prompt_tokens, output_tokens=output_tokens, peak_flops=peak, memory_bandwidth=bw,
            link_bandwidth=link_bandwidth,
            compute_efficiency=take("compute_efficiency", compute_efficiency, D.COMPUTE_EFFICIENCY),
            overhead=take("overhead", overhead, D.OVERHEAD),
            activation_traffic_bytes=take("activation_traffic_bytes", activation_traffic_bytes, D.ACTIVATION_TRAFFIC),
            link_latency=latency_value,
            tp_allreduces_per_forward=take("tp_allreduces_per_forward", tp_allreduces_per_forward,
                                         D.TP_ALLREDUCES_PER_FORWARD),
        )
        if seq_len is None:
            knowns.pop("seq_len", None)
        if _unknown != "num_devices":
            self._check_tp(model, hardware, num_devices, allow_cross_node)
        cap = hardware.get("memory_capacity") if hasattr(hardware, "get") else None
        kv_knowns = {k: knowns[k] for k in ("num_layers", "num_kv_heads", "head_dim", "bytes_per_element",
                                            "batch_size") if k in knowns}
        rep = lambda v: str(v) if np.ndim(v) == 0 else f"array{np.shape(v)}"  # noqa: E731
        ctx = dict(model_name=model.name, hardware_name=hardware.key, precision=precision, num_devices=num_devices,
                   batch_size_repr=rep(batch_size), seq_len_repr=rep(seq_len) if seq_len is not None else "?",
                   prompt_repr=rep(prompt_tokens), output_repr=rep(output_tokens), memory_capacity=cap,
                   peak_flops=peak, memory_bandwidth=bw, kv_knowns=kv_knowns)
        ctx["max_batch_size"] = lambda: self._max_batch(knowns, cap)
        return knowns, used, ctx

    @staticmethod
    def _check_tp(model, hardware, num_devices, allow_cross_node):
        n = np.asarray(num_devices)
        if np.any(n > 1):
            heads = model.num_heads
            kv = model.num_kv_heads
            for v in np.ravel(n):
                v = int(v)
                if heads % v:
                    raise DomainError(f"num_devices={v} does not divide {model.name}'s {heads} attention heads "
                                      f"(tensor parallelism splits heads)")
                if kv % v and v % kv:
                    raise DomainError(f"num_devices={v} and {model.name}'s {kv} KV heads: neither divides the other")
        per_node = _devices_per_node(hardware)
        if np.any(n > per_node) and not allow_cross_node:
            raise DomainError(f"num_devices={num_devices} exceeds one {hardware.key} node ({per_node} devices); "
                              f"ServingSolver models tensor parallelism inside a node (pass allow_cross_node=True "
                              f"and link_bandwidth= of the inter-node fabric to model it anyway)")

    def _max_batch(self, knowns, cap):
        if cap is None:
            return None
        eq = self.equations
        k = {n: v for n, v in knowns.items() if n in eq.input_deps("memory_required") and n != "batch_size"}
        if any(np.ndim(getattr(v, "magnitude", v)) for v in k.values()):
            raise DomainError("max_batch_size is computed for scalar inputs only")
        try:
            sol = eq.solve("batch_size", memory_required=cap, **k)
        except InfeasibleError:
            return 0
        return int(math.floor(float(sol.value.magnitude) + 1e-9))


class SingleNodeSolver(_Facade):
    """One inference step of a workload on one device: roofline latency, throughput, memory, energy.

    For a transformer the step is one decode step (one token for each of ``batch_size`` sequences at
    context ``seq_len``), computed by ``Equations.Serving`` so that it is the same number as
    ``ServingSolver``'s ``tpot``; for a CNN it is one batched forward pass (``Equations.Inference``).
    Memory traffic is explicit: weights + activations (``activation_traffic_bytes`` per sample, an
    assumption) + KV cache; every assumed coefficient is a named, overridable assumption.
    """

    SET = "Inference"

    def solve(self, model=None, hardware=None, *, batch_size=1, precision="fp16", seq_len=None, **kwargs):
        model, hardware = _resolve(model, hardware)
        if _is_transformer(model) and getattr(model, "kind", "decoder") == "decoder":
            s = ServingSolver()
            seq = seq_len if seq_len is not None else model.seq_len
            knowns, used, ctx = s._bind(model=model, hardware=hardware, batch_size=batch_size, precision=precision,
                                        seq_len=seq, prompt_tokens=1, output_tokens=1, **kwargs)
            out = s.equations.evaluate(**knowns)
            ctx.update(latency_name="tpot", compute_name="decode_compute_time", memory_name="decode_memory_time",
                       throughput_name="decode_throughput")
            return SingleNodeResult(out, used, ctx)
        knowns, used, ctx = self._bind(model=model, hardware=hardware, batch_size=batch_size, precision=precision,
                                       seq_len=seq_len, **kwargs)
        eq = self.equations
        outputs = [d for d in eq.derived if eq.input_deps(d) <= set(knowns)]
        return self._result(eq.evaluate(outputs=outputs, **knowns), used, ctx)

    def _result(self, out, used, ctx):
        return SingleNodeResult(out, used, ctx)

    def _bind(self, model=None, hardware=None, *, batch_size=1, precision="fp16", seq_len=None,
              compute_efficiency=None, overhead=None, activation_traffic_bytes=None, power=None,
              memory_bandwidth=None, peak_flops=None, bytes_per_element=None, _unknown=None, **unknown_kwargs):
        if unknown_kwargs:
            raise UnknownVariableError(f"SingleNodeSolver got an unknown argument {next(iter(unknown_kwargs))!r}")
        model, hardware = _resolve(model, hardware)
        if _is_transformer(model):
            raise DomainError("SingleNodeSolver.solve_for on a transformer: use ServingSolver.solve_for (the "
                              "decode step is the same equation set)")
        precision = normalize_precision(precision)
        if _unknown != "batch_size":
            _count("batch_size", batch_size, optional=False)
        used = []

        def take(name, given, default):
            v, a = D.pick(name, given, default)
            used.append(a)
            return v

        peak = peak_flops if peak_flops is not None else hardware.peak_flops(precision)
        bw = memory_bandwidth if memory_bandwidth is not None else _published(hardware, "memory_bandwidth")
        b = bytes_per_element if bytes_per_element is not None else precision_bytes(precision)
        if power is None:
            power = hardware.get("tdp")
            if power is not None:
                used.append(Assumption("power", power, D.POWER_AT_TDP.source, D.POWER_AT_TDP.description))
            # else: no published TDP -> no energy figure (pass power= to get one)
        else:
            used.append(D.POWER_AT_TDP.with_value(power))
        act = _activation(model, precision)
        knowns = dict(
            flops_per_sample=model.flops, parameters=model.parameters, bytes_per_element=b, batch_size=batch_size,
            peak_flops=peak, memory_bandwidth=bw, power=power, activation_bytes=act,
            compute_efficiency=take("compute_efficiency", compute_efficiency, D.COMPUTE_EFFICIENCY),
            overhead=take("overhead", overhead, D.OVERHEAD),
            activation_traffic_bytes=take("activation_traffic_bytes", activation_traffic_bytes, D.ACTIVATION_TRAFFIC),
        )
        if power is None:
            knowns.pop("power")
        cap = _capacity(hardware)
        rep = lambda v: str(v) if np.ndim(v) == 0 else f"array{np.shape(v)}"  # noqa: E731
        ctx = dict(model_name=model.name, hardware_name=hardware.key, precision=precision,
                   batch_size_repr=rep(batch_size), memory_capacity=cap, peak_flops=peak, memory_bandwidth=bw,
                   latency_name="latency", compute_name="compute_time", memory_name="memory_time",
                   throughput_name="throughput")
        return knowns, used, ctx


def _activation(model, precision):
    try:
        return model.activation_bytes(precision)
    except DomainError:
        return Q_(0, "byte")


def _per_second(q) -> str:
    m = q.m_as("1/s")
    return f"{m:.4g}" if np.ndim(m) == 0 else fmt_quantity(q)


def _node_fabric(hardware):
    """The intra-node fabric of the hardware's reference node (its sourced ``intra_node_fabric``), or None."""
    from ..systems.fabrics import Fabrics

    name = hardware.get("intra_node_fabric") if hasattr(hardware, "get") else None
    return Fabrics.get(name) if name else None


def _devices_per_node(hardware) -> int:
    """Devices in the hardware's reference node (its sourced ``devices_per_node``; 1 when it has none)."""
    n = hardware.get("devices_per_node") if hasattr(hardware, "get") else None
    return int(n) if n else 1


def _published(hardware, field):
    v = hardware.get(field)
    if v is None:
        raise UnderdeterminedError(f"{hardware.key} has no published {field}: pass {field}=Q_(..., unit) to the solver")
    return v


def _capacity(hardware):
    """Memory a model must fit in: HBM/DRAM capacity, or on-chip SRAM for microcontrollers."""
    from .checks import memory_capacity_of

    return memory_capacity_of(hardware)[0]
