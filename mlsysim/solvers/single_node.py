"""``SingleNodeSolver``: one inference step of a workload on one device (``Equations.Inference``).

For a decoder transformer the step is one decode step, bound by :class:`~mlsysim.solvers.serving.ServingSolver`
to ``Equations.Serving`` (the same equation set, so the same number as its ``tpot``); for a CNN or encoder it
is one batched forward pass. Every number comes from an equation set; every assumed coefficient is a named,
overridable assumption.
"""
from __future__ import annotations

import numpy as np

from ..core import defaults as D
from ..core.assumptions import Assumption
from ..core.equation_sets import Equations
from ..core.equations import fmt_quantity
from ..core.errors import DomainError, UnknownVariableError
from ..core.precision import bytes_per_element as precision_bytes
from ..core.precision import normalize_precision
from ..core.units import Q_
from .serving import (
    ServingSolver,
    _capacity,
    _count,
    _Facade,
    _is_transformer,
    _published,
    _resolve,
    _ResultBase,
    step_parts,
)


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

    def breakdown(self) -> dict:
        """``{component: time}`` (Quantities) of ``latency``; the components add up to it.

        A decoder transformer's step is one decode step, bound by ``ServingSolver``: the parts of its ``tpot``
        (:meth:`ServingResult.breakdown`: each operation's time times its count per step and the overhead, or
        the flat model's overhead, tensor-parallel and roofline terms). Other workloads (``Equations.Inference``:
        latency = max(compute_time, memory_time) + overhead): the overhead and the binding roofline term."""
        if self.ctx.get("latency_name") == "tpot":
            return step_parts(self, "decode")
        # the binding roofline term is what the set's latency adds to the overhead (no max() recomputed here)
        overhead = self._out["overhead"] * 1.0
        return {"overhead": overhead, "roofline": self.latency - overhead}

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
        lines.append("  assumptions: " + "; ".join(f"{a.name}={a.value}" for a in self.assumptions
                                                    if a.source.kind != "fit"))
        fitted = sum(a.source.kind == "fit" for a in self.assumptions)
        if fitted:
            lines.append(f"  per-operation model: {fitted} fitted efficiency-law parameters (listed in .assumptions)")
        return "\n".join(lines)



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
            power = kwargs.pop("power", None)
            tdp = hardware.get("tdp") if power is None else None
            r = s.solve(model=model, hardware=hardware, batch_size=batch_size, precision=precision, seq_len=seq,
                        prompt_tokens=1, output_tokens=1, power=power if power is not None else tdp, **kwargs)
            used = list(r.assumptions)
            if power is None and tdp is not None:  # the default, as for a CNN: the device's TDP
                used = [a for a in used if a.name != "power"] + [
                    Assumption("power", tdp, D.POWER_AT_TDP.source, D.POWER_AT_TDP.description)]
            ctx = r.ctx
            ctx.update(latency_name="tpot", compute_name="decode_compute_time", memory_name="decode_memory_time",
                       throughput_name="decode_throughput")
            return SingleNodeResult(r._out, used, ctx)
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


