"""``ServingSolver``: a thin façade over ``Equations.Serving`` (``SingleNodeSolver`` is in ``single_node.py``).

They bind a workload (``Models``) and a device (``Hardware``) to the knowns of an equation set, fill
every assumed coefficient from a named :class:`~mlsysim.core.assumptions.Assumption`
(:mod:`mlsysim.core.defaults`), and return result objects. Every number they report is computed by
the equation set; nothing here retypes a formula. ``solve_for`` answers inverse questions by handing
the same knowns, less the unknown, plus a target to :meth:`EquationSet.solve`.
"""
from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from ..core import defaults as D
from ..core.assumptions import Assumption
from ..core.equation_sets import Equations
from ..core.display import plural
from ..core.equations import EvalResult, Solution, fmt_quantity
from ..core.errors import (
    DomainError,
    InfeasibleError,
    OverdeterminedError,
    UnderdeterminedError,
    UnitError,
    UnknownVariableError,
)
from ..core.precision import (
    bytes_per_element as precision_bytes,  # (solver arguments are named bytes_per_element)
)
from ..core.precision import normalize_precision
from ..core.sources import Source, derived
from ..core.units import Q_
from ..core.variables import VARIABLES
from .base import Binding, NotedSolution, Solver, given_source
from .checks import check_tp

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
    t = type(value)
    if (t is int and value >= 1) or (t is float and value >= 1 and value.is_integer()):
        return value  # a Python whole number >= 1 (the scalar fast path; inf is not an integer)
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


class _Facade(Solver):
    """Shared binding and inverse logic of the serving and single-node solvers, on the one
    :class:`~mlsysim.solvers.base.Solver` base (public :meth:`bind`, the same errors)."""

    SET = ""
    registry_arguments = {"model": "a Models entry or name", "hardware": "a Hardware entry or name",
                          "precision": "numeric precision of the weights (fp32, bf16, fp16, fp8, int8, int4)"}

    @property
    def equation_set(self):  # the base's class attribute, from SET
        return self.SET

    @property
    def equations(self):
        """The equation set this solver is a façade over."""
        return Equations[self.SET]

    def bind(self, **kwargs) -> Binding:
        """The knowns of the equation set, the assumptions used (each with its source), every input's
        source and the registry entries (``binding.ctx`` holds what the result formatting needs)."""
        knowns, used, ctx = self._bind(**kwargs)
        b = Binding()
        for name, value in knowns.items():
            a = next((x for x in used if x.name == name), None)
            if a is not None:
                src = a.source
            elif kwargs.get(name) is not None:  # the caller's request (batch, tokens, context, devices)
                src = given_source(name)
            elif name in REQUEST_DEFAULTS:  # the solver's own default, not a registry value
                src = derived(f"ServingSolver default: {name}", REQUEST_DEFAULTS[name])
            else:
                src = _source_of(ctx, name)
            b.put(name, value, src)
        for a in used:
            b.assumptions[a.name] = a
        for role in ("model", "hardware"):
            if ctx.get(role) is not None:
                b.entries[role] = ctx[role]
        b.ctx = ctx
        b.used = used
        return b

    def _targets(self, kwargs: dict) -> dict:
        eq = self.equations
        return {k: kwargs.pop(k) for k in list(kwargs) if k in eq.derived}

    def solve_for(self, unknown: str, **kwargs):
        """Replace the input ``unknown`` by the value that meets a target.

        Give the same arguments as :meth:`solve`, plus exactly one target: a quantity the set derives
        (``tpot=Q_(20, "ms")``, ``memory_required=Hardware.H200.memory_capacity``, ``latency=...``).
        Counts (``batch_size``, ``seq_len``, ``num_devices``) are rounded to the nearest whole number that
        still meets the target (times and memory are upper limits) and that the structure allows (tensor
        parallelism must split the heads). Returns an :class:`InverseResult` (an engine ``Solution``) that
        carries the full forward result at the answer (``.result``), including ``fits``.
        """
        sets = self._inverse_sets()
        inputs = sorted({i for e in sets for i in e.inputs})
        if not isinstance(unknown, str) or unknown not in inputs:
            import difflib

            close = difflib.get_close_matches(str(unknown), inputs, n=4)
            raise UnknownVariableError(
                f"{type(self).__name__}.solve_for: {unknown!r} is not an input of {self.SET}"
                + (f"; did you mean {', '.join(close)}?" if close else f"; inputs are {', '.join(inputs)}"))
        given = dict(kwargs)
        targets = self._targets(kwargs)
        derived = sorted({d for e in sets for d in e.derived})
        if not targets:
            raise UnderdeterminedError(
                f"{type(self).__name__}.solve_for needs exactly one target among {', '.join(derived)}; got none")
        if len(targets) > 1:
            raise OverdeterminedError(f"{type(self).__name__}.solve_for takes one target; got {', '.join(targets)}")
        if kwargs.get(unknown) is not None:
            raise OverdeterminedError(f"{unknown} is the unknown: do not also pass it")
        knowns, used, ctx = self._bind(**kwargs, _unknown=unknown)
        knowns.pop(unknown, None)
        (tname, tval), = targets.items()
        eq = self._inverse_set(unknown, tname, ctx)
        needed = eq.input_deps(tname)
        if unknown not in needed:
            raise UnderdeterminedError(f"{tname} does not depend on {unknown} in {eq.name}")
        try:
            sol = eq.solve(unknown, round_counts=False,  # rounded below, with the serving note
                           **{k: v for k, v in knowns.items() if k in needed}, **{tname: tval})
        except InfeasibleError as e:
            if e.binding is None:  # name what binds, as the base does
                e.binding = tname
            raise
        value = sol.value
        note = ""
        if VARIABLES[unknown].domain in ("count", "count0") and np.ndim(value.magnitude) == 0:
            value, note = self._round_count(unknown, value, knowns, tname, tval, ctx, eq)
        # the full forward result at the answer (fits, every other quantity): the solver's own solve
        at = value if not VARIABLES[unknown].dimensionless else value.magnitude
        if VARIABLES[unknown].domain in ("count", "count0") and np.ndim(at) == 0:
            at = int(round(float(at)))
        fwd_kwargs = {k: v for k, v in given.items() if k != tname}
        try:
            result = self.solve(**fwd_kwargs, **{unknown: at})
        except UnknownVariableError:  # an input that is no solver argument (an architecture number)
            full = dict(knowns)
            full[unknown] = at
            result = self._result(_evaluate(eq, full), used, ctx)
        return InverseResult(unknown, value, tname, tval, sol, result, note)

    def _inverse_sets(self) -> list:
        """The equation sets an inverse may use (the per-operation set too, where the solver has one)."""
        return [self.equations]

    def _inverse_set(self, unknown: str, target: str, ctx: dict):
        """The set that answers ``target`` for ``unknown`` (default: the solver's own)."""
        return self.equations

    def _layout_error(self, unknown, count, ctx) -> str | None:
        """Why the whole number ``count`` is not a valid value of ``unknown`` (None if it is)."""
        return None

    def _count_knowns(self, unknown, count, ctx, knowns) -> dict:
        """Knowns that depend on a count's value (the all-reduce law of that many devices); default none."""
        return {}

    def _round_count(self, unknown, value, knowns, tname, tval, ctx=None, eq=None):
        """Round a count answer to the whole number that still meets the target (an upper limit), then to
        the next value the structure allows (``_layout_error``: heads divisible by tensor parallelism, ...)."""
        x = float(value.magnitude)
        eq = eq if eq is not None else self.equations
        tv = VARIABLES[tname]
        target_base = tval.to(tv.base_unit).magnitude if hasattr(tval, "units") else float(tval)
        lo, hi = max(1, math.floor(x + 1e-9)), max(1, math.ceil(x - 1e-9))
        deps = eq.input_deps(tname)

        def at(c):
            k = {n: v for n, v in knowns.items() if n in deps}
            k[unknown] = c
            if unknown == "num_devices" and "tp_collectives_per_layer" in deps and ctx is not None:
                k.update(self._count_knowns(unknown, c, ctx, knowns))
            return eq.evaluate(outputs=[tname], **k).magnitude(tname)

        t_lo, t_hi = at(lo), at(hi)
        meets = [c for c, t in ((lo, t_lo), (hi, t_hi)) if t <= target_base * (1 + 1e-12)]
        if not meets:
            raise InfeasibleError(f"no whole {unknown} meets {tname} = {fmt_quantity(tval)}: the continuous answer is "
                                  f"{x:.6g} and neither {lo} nor {hi} meets the target")
        # the target's direction in the unknown (the engine may already answer a whole number: lo == hi)
        increasing = (t_hi >= t_lo) if hi > lo else (at(hi + 1) >= t_hi)
        best = max(meets) if increasing else min(meets)
        note = "" if abs(best - x) <= 1e-9 * max(1.0, x) else (
            f"{unknown} = {x:.6g} meets {tname} exactly; {best} is the "
            f"{'largest' if increasing else 'smallest'} whole number that meets it")
        why = self._layout_error(unknown, best, ctx)
        if why is not None:
            # step away from the target (fewer when more raises it, more when more lowers it) to a valid layout
            step = -1 if increasing else 1
            skipped, c = [best], best + step
            while 1 <= c <= 4096:
                if self._layout_error(unknown, c, ctx) is None:
                    break
                skipped.append(c)
                c += step
            else:
                raise InfeasibleError(f"no valid {unknown} meets {tname} = {fmt_quantity(tval)}: {why}",
                                      binding="layout")
            if at(c) > target_base * (1 + 1e-12):
                raise InfeasibleError(f"no valid {unknown} meets {tname} = {fmt_quantity(tval)}: {why}",
                                      binding="layout")
            listed = ", ".join(map(str, skipped))
            note = (f"{unknown} = {x:.6g} meets {tname} exactly; {listed} {'is' if len(skipped) == 1 else 'are'} "
                    f"not valid ({why}); {c} is the {'largest' if increasing else 'smallest'} valid {unknown} "
                    f"that meets it")
            best = c
        return Q_(best, ""), note


class InverseResult(NotedSolution):
    """Answer of ``solve_for``: the engine's :class:`Solution` (``value``, ``regime``, ``all`` ...) with the
    ``target`` met, its ``target_value``, the engine's own ``solution``, the forward ``result`` at the answer
    (so ``fits`` and every other quantity can be checked), ``binding`` and a ``note`` on rounding."""

    def __init__(self, unknown, value, target, target_value, solution, result, note=""):
        super().__init__(unknown, value, solution.regime, solution.feasible, solution.reason, solution.all,
                         solution.method, target)
        self.bound = getattr(solution, "bound", "")
        self.alternatives = list(getattr(solution, "alternatives", []) or [])
        self.target_value = target_value
        self.solution = solution
        self.result = result
        self.note = note
        self.binding = target

    @property
    def fits(self):
        return self.result.fits

    @property
    def warnings(self) -> list[str]:
        w = list(self.result.warnings)
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

    __str__ = __repr__

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
    def warnings(self) -> list[str]:
        """What the caller should know about this result (e.g. a context beyond the model's maximum)."""
        return list(self.ctx.get("warnings", []))

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
        d["warnings"] = self.warnings
        d.update({k: v for k, v in self.ctx.items() if isinstance(v, (str, int, float))})
        return d


class _Overlay(EvalResult):
    """An evaluation with some quantities replaced (the per-operation tpot and ttft, speculative decoding's
    time per accepted token, ...); the regime and every other quantity come from the underlying evaluation.
    It is an :class:`EvalResult` (sweeps and plots tabulate it); unreplaced attributes read the base's.

    ``replaced``: ``{name: (evaluation, its name there)}``; a replaced quantity is read from its evaluation
    on first access (lazy array evaluations compute it then, with the fused kernel for that field)."""

    def __init__(self, out, replaced: dict):  # noqa: D107 - no EvalResult.__init__: the base holds the data
        object.__setattr__(self, "_base", out)
        object.__setattr__(self, "_replaced", replaced)

    def __getitem__(self, name):
        src = self._replaced.get(name)
        if src is None:
            return self._base[name]
        return src[0][src[1]]

    def __contains__(self, name):
        return name in self._replaced or name in self._base

    def __getattr__(self, name):
        if name in ("_base", "_replaced"):
            raise AttributeError(name)
        return getattr(self._base, name)

    def magnitude(self, name):
        src = self._replaced.get(name)
        if src is None:
            return self._base.magnitude(name)
        return src[0].magnitude(src[1])

    def to_dict(self):
        d = self._base.to_dict()
        for k in self._replaced:
            q = self[k]
            d[k] = {"value": np.asarray(q.magnitude).tolist(), "unit": f"{q.units:~C}"}
        return d


class ServingResult(_ResultBase):
    """ttft, tpot, KV cache, memory per device, fits, max batch, throughput and request latency.

    With speculative decoding (``draft_model=``) ``tpot`` is the time per *accepted* token, and
    ``tokens_per_second``, ``request_latency`` and ``memory_required`` (target + draft) follow it, from
    ``Equations.SpeculativeDecoding`` (``.speculative`` holds that evaluation, ``.draft`` the draft's result).
    """

    #: result names that speculative decoding replaces, and the SpeculativeDecoding output that replaces each
    SPECULATIVE = {"tpot": "accepted_token_time", "decode_throughput": "speculative_throughput",
                   "request_latency": "speculative_request_latency", "memory_required": "speculative_memory_required"}

    #: result names the per-operation model (``Equations.ServingOperations``) gives
    PER_OPERATION = ("tpot", "ttft", "decode_throughput", "request_latency")

    def __init__(self, out, assumptions, ctx):
        super().__init__(out, assumptions, ctx)
        replaced = {}  # read on first access (lazy with array inputs)
        ops = ctx.get("operations")
        if ops is not None:
            replaced.update({k: (ops, k) for k in self.PER_OPERATION})
        if ctx.get("energy") is not None:
            replaced["step_energy"] = (ctx["energy"], "step_energy")
        spec = ctx.get("speculative")
        if spec is not None:
            replaced.update({k: (spec, v) for k, v in self.SPECULATIVE.items()})
        self._out = _Overlay(out, replaced) if replaced else out

    @property
    def operations(self):
        """The ``Equations.ServingOperations`` evaluation (None on the flat path, compute_efficiency= given)."""
        return self.ctx.get("operations")

    def breakdown(self, phase: str = "decode") -> dict:
        """``{component: time}`` (Quantities) of ``tpot`` (``phase="decode"``) or ``ttft`` (``"prefill"``);
        the components add up to that total.

        Per-operation model: each operation's time times the number of times a step runs it (per layer,
        once, the tensor-parallel all-reduces) plus the fixed overhead. Flat model: the overhead, the exposed
        tensor-parallel communication and the binding roofline term. Speculative decoding (decode): the
        draft steps and the verification step per accepted token."""
        return step_parts(self, phase)

    @property
    def speculative(self):
        """The ``Equations.SpeculativeDecoding`` evaluation (None without a draft model)."""
        return self.ctx.get("speculative")

    @property
    def draft(self):
        """The draft model's own :class:`ServingResult` (None without a draft model)."""
        return self.ctx.get("draft")

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
                 (f"  TPOT (decode step):  {fmt_quantity(o['tpot'])} [{sc(self.bottleneck)}-bound]"
                  if self.speculative is None else
                  f"  TPOT (per accepted token, speculative with {self.ctx['draft_name']}): "
                  f"{fmt_quantity(o['tpot'])} ({_plain(self.speculative['tokens_per_step'])} tokens per step)"),
                 f"  throughput:          {_per_second(o['decode_throughput'])} tokens/s",
                 f"  request latency:     {fmt_quantity(o['request_latency'])} "
                 f"({plural(self.ctx['output_repr'], 'output token')})",
                 f"  weights:             {fmt_quantity(o['weight_bytes'].to('GB'))}",
                 f"  KV cache:            {fmt_quantity(o['kv_cache_bytes'].to('GB'))} ({self.ctx['kv_precision']})",
                 f"  memory per device:   {self.memory_message()}"]
        fitted = [a for a in self.assumptions if a.source.kind == "fit"]
        lines.append("  assumptions: " + "; ".join(f"{a.name}={a.value}" for a in self.assumptions
                                                    if a.source.kind != "fit"))
        if fitted:
            lines.append(f"  per-operation model: {len(fitted)} fitted efficiency-law parameters (mlsysim.calibration; "
                         f"listed in .assumptions); compute_efficiency= selects the flat roofline")
        lines.extend(f"  WARNING: {w}" for w in self.warnings)
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

    def solve(self, model=None, hardware=None, *, draft_model=None, draft_tokens=None, acceptance_rate=None,
              **kwargs) -> ServingResult:
        from .scheduling import SCHEDULING_ARGS, solve_scheduled  # paged KV, batching, chunks, pipelines

        sched = {k: kwargs.pop(k) for k in SCHEDULING_ARGS if k in kwargs}
        sched = {k: v for k, v in sched.items() if v is not None}
        if sched:
            spec = {k: v for k, v in (("draft_model", draft_model), ("draft_tokens", draft_tokens),
                                      ("acceptance_rate", acceptance_rate)) if v is not None}
            return solve_scheduled(self, model, hardware, {**kwargs, **spec}, **sched)
        knowns, used, ctx = self._bind(model=model, hardware=hardware, **kwargs)
        eq = self.equations
        # array inputs: every field is computed on first access, by the fused kernel of that field (#16)
        out = _evaluate(eq, knowns, lazy=True)
        if ctx["per_operation"]:
            ctx["operations"] = _evaluate(Equations.ServingOperations, knowns, lazy=True)
            ctx["op_knowns"] = knowns
        if draft_model is not None or draft_tokens is not None or acceptance_rate is not None:
            self._speculative(knowns, out, used, ctx, kwargs, draft_model, draft_tokens, acceptance_rate)
        if "power" in knowns:  # energy of a decode step: the Inference set's power x latency, at this tpot
            tpot = ctx.get("operations", out)["tpot"]
            ctx["energy"] = Equations.Inference.evaluate(outputs=["step_energy"], power=knowns["power"],
                                                         latency=tpot)
        return self._result(out, used, ctx)

    def _speculative(self, knowns, out, used, ctx, kwargs, draft_model, draft_tokens, acceptance_rate):
        """Speculative decoding (Leviathan et al. 2023): the draft's decode step (this solver on the draft
        model), the target's verification step (``decode_tokens = gamma + 1``), composed by
        ``Equations.SpeculativeDecoding`` into the time per accepted token."""
        missing = [n for n, v in (("draft_model", draft_model), ("draft_tokens", draft_tokens),
                                  ("acceptance_rate", acceptance_rate)) if v is None]
        if missing:
            raise UnderdeterminedError(f"speculative decoding needs draft_model, draft_tokens and acceptance_rate; "
                                       f"missing {', '.join(missing)}")
        _count("draft_tokens", draft_tokens, optional=False)
        timing = ctx.get("operations", out)
        eq = Equations.ServingOperations if ctx["per_operation"] else self.equations
        verify = _evaluate(eq, dict(knowns, decode_tokens=np.asarray(draft_tokens) + 1), ["tpot"])
        draft_kw = {k: v for k, v in kwargs.items() if k not in ("power",)}
        draft = ServingSolver().solve(draft_model, ctx["hardware"], **draft_kw)
        spec = Equations.SpeculativeDecoding.evaluate(
            acceptance_rate=acceptance_rate, draft_tokens=draft_tokens, draft_step_time=draft.tpot,
            verify_step_time=verify["tpot"], ttft=timing["ttft"], output_tokens=knowns["output_tokens"],
            batch_size=knowns["batch_size"], memory_required=out["memory_required"],
            draft_memory_required=draft.memory_required)
        ctx.update(speculative=spec, draft=draft, draft_name=draft.ctx["model_name"])

    def _solve_layout(self, unknown, kwargs):
        """``num_devices`` on the per-operation model: the all-reduce law depends on the device count, so the
        valid tensor-parallel layouts (heads and KV heads split, inside a node) are tried in turn and the
        smallest that meets the target is the answer (None: not the per-operation path)."""
        kw = dict(kwargs)
        targets = self._targets(kw)
        if len(targets) != 1 or kw.get(unknown) is not None:
            return None
        (tname, tval), = targets.items()
        knowns, _used, ctx = self._bind(**kw, _unknown=unknown)
        eq = self._inverse_set(unknown, tname, ctx)
        if eq is self.equations:
            return None
        limit = 64 if ctx["allow_cross_node"] else max(1, _devices_per_node(ctx["hardware"]))
        target = float(tval.m_as(VARIABLES[tname].base_unit))
        tried = []
        for c in range(1, limit + 1):
            if self._layout_error(unknown, c, ctx) is not None:
                continue
            k = dict(knowns, num_devices=c, **self._count_knowns(unknown, c, ctx, knowns))
            out = _evaluate(eq, k, [tname])
            t = float(np.asarray(out[tname].m_as(VARIABLES[tname].base_unit)))
            tried.append(f"{c}: {fmt_quantity(out[tname])}")
            if t <= target * (1 + 1e-12):
                sol = Solution(unknown, Q_(c, ""), {}, True, "", out, "layout scan", tname)
                note = (f"num_devices = {c} is the smallest valid tensor-parallel layout (heads and KV heads split, "
                        f"inside a node) that meets {tname} = {fmt_quantity(tval)}; tried {'; '.join(tried)}")
                result = self.solve(**{n: v for n, v in kwargs.items() if n != tname}, num_devices=c)
                return InverseResult(unknown, Q_(c, ""), tname, tval, sol, result, note)
        raise InfeasibleError(f"no valid num_devices up to {limit} meets {tname} = {fmt_quantity(tval)} "
                              f"(tried {'; '.join(tried)})", binding=None)

    def _inverse_sets(self) -> list:
        return [self.equations, Equations.ServingOperations]

    def _inverse_set(self, unknown: str, target: str, ctx: dict):
        """The per-operation set for its time targets on the default path; ``Equations.Serving`` for memory,
        for unknowns only the flat model has (``compute_efficiency``, ``link_bandwidth`` ...) and when
        ``compute_efficiency`` is given."""
        ops = Equations.ServingOperations
        if ctx.get("per_operation") and target in ops.derived and unknown in ops.inputs:
            return ops
        return self.equations

    def _count_knowns(self, unknown, count, ctx, knowns) -> dict:
        if unknown != "num_devices" or not ctx.get("per_operation"):
            return {}
        reg = _registry(ctx["model"], ctx["hardware"], ctx["precision"], self.equations)
        return reg.law_knowns(count, knowns["tp_allreduces_per_forward"], [])

    def _layout_error(self, unknown, count, ctx):
        if unknown != "num_devices" or ctx is None:
            return None
        try:
            self._check_tp(ctx["model"], ctx["hardware"], count, ctx["allow_cross_node"])
        except DomainError as exc:
            return str(exc)
        return None

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
        try:
            res = self._solve_layout(unknown, kwargs) if unknown == "num_devices" else None
            if res is None:
                res = super().solve_for(unknown, **kwargs)
        except InfeasibleError as exc:
            raise self._name_binding(unknown, kwargs, exc) from exc
        res.binding = res.target
        cap_ctx = res.result.ctx.get("max_context")
        if unknown == "seq_len" and cap_ctx and np.ndim(res.value.magnitude) == 0 \
                and float(res.value.magnitude) > cap_ctx:
            res.result.ctx["warnings"] = [*res.result.ctx.get("warnings", []),
                                          _context_warning(res.result.ctx["model"], int(res.value.magnitude))]
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

    #: the parts of each time target, in the order a floor is blamed: (name, output) with a fixed
    #: overhead first, then the exposed tensor-parallel communication, then the roofline regime
    _PARTS = {"tpot": ("decode_overhead", "decode_compute_time", "decode_memory_time"),
              "ttft": ("prefill_overhead", "prefill_compute_time", "prefill_memory_time")}

    def _name_binding(self, unknown, kwargs, exc):
        """An InfeasibleError that names what binds: the target's floor at the unknown's most favourable
        value, split into fixed overhead, tensor-parallel communication, compute and memory."""
        kw = dict(kwargs)
        targets = self._targets(kw)
        if len(targets) != 1:
            return exc
        (tname, tval), = targets.items()
        try:
            knowns, _used, ctx = self._bind(**kw, _unknown=unknown)
        except Exception:  # noqa: BLE001 - the original error is the one to report
            return exc
        eq = self._inverse_set(unknown, tname, ctx)
        if tname == "memory_required" or tname not in (*self._PARTS, "request_latency"):
            binding = "memory" if tname == "memory_required" else (exc.binding or tname)
            where = self._favourable(unknown, knowns, tname, ctx, eq)
            if where is None:
                return exc
            best, out, _kb = where
            floor = out[tname]
            msg = (f"{tname} = {fmt_quantity(tval)} is unreachable by any {unknown}: at {unknown} = "
                   f"{_shown(unknown, best)} it is "
                   f"already {fmt_quantity(floor.to(tval.units) if hasattr(tval, 'units') else floor)}"
                   + (" (the weights and KV cache alone)" if tname == "memory_required" else "")
                   + f"; binding constraint: {binding}")
            return InfeasibleError(msg, binding=binding, floor=floor)
        where = self._favourable(unknown, knowns, tname, ctx, eq)
        if where is None:
            return exc
        best, out, kb = where
        phases = ["tpot", "ttft"] if tname == "request_latency" else [tname]
        parts = {"overhead": 0.0, "communication": 0.0, "compute": 0.0, "memory": 0.0}
        fixed = float(knowns["overhead"].m_as("s")) if hasattr(knowns.get("overhead"), "m_as") else 0.0
        for ph in phases:
            w = float(np.asarray(kb.get("output_tokens", 1))) if (ph == "tpot" and tname == "request_latency") else 1.0
            parts["overhead"] += w * fixed
            if eq.name == "ServingOperations":
                from ..core.equation_sets.serving import COUNTS, OPERATION_PARTS

                phase = "decode" if ph == "tpot" else "prefill"
                for op, (tvar, count) in OPERATION_PARTS[phase].items():
                    t = w * float(out[tvar].m_as("s")) * float(COUNTS[count](kb))
                    if op == "tp_allreduce":
                        parts["communication"] += t
                    elif eq.equations[tvar].is_regime:
                        parts[out.regime(tvar)] += t
                    else:  # memory-bound kernels; prefill attention runs on the GEMM law
                        parts["compute" if (phase, op) == ("prefill", "attention") else "memory"] += t
                continue
            ovh_name, comp_name, mem_name = self._PARTS[ph]
            parts["communication"] += w * (float(out[ovh_name].m_as("s")) - fixed)
            comp, mem = float(out[comp_name].m_as("s")), float(out[mem_name].m_as("s"))
            parts["compute" if comp >= mem else "memory"] += w * max(comp, mem)
        target_s = float(tval.m_as("s"))
        if parts["overhead"] >= target_s:
            binding = "overhead"
        elif parts["overhead"] + parts["communication"] >= target_s:
            binding = "communication"
        else:
            binding = "compute" if parts["compute"] >= parts["memory"] else "memory"
        floor_s = sum(parts.values())
        shown = ", ".join(f"{k} {fmt_quantity(Q_(v, 's'))}" for k, v in parts.items() if v > 0)
        msg = (f"{tname} = {fmt_quantity(tval)} is unreachable by any {unknown}: its floor is "
               f"{fmt_quantity(Q_(floor_s, 's'))} at {unknown} = {_shown(unknown, best)} ({shown}); binding "
               f"constraint: {binding}")
        return InfeasibleError(msg, binding=binding, floor=Q_(floor_s, "s"))

    def _favourable(self, unknown, knowns, tname, ctx, eq=None):
        """``(value, evaluation, knowns)`` at the value of ``unknown`` that gives the smallest ``tname``."""
        eq = eq if eq is not None else self.equations
        var = VARIABLES[unknown]
        if var.domain in ("count", "count0"):
            if unknown == "num_devices":
                cands = [c for c in range(1, 65) if self._layout_error(unknown, c, ctx) is None] or [1]
            else:
                cands = [1]
        elif var.domain == "fraction":
            cands = [1.0]
        else:
            cur = knowns.get(unknown)
            base = float(cur.m_as(var.base_unit)) if hasattr(cur, "m_as") else float(cur) if cur is not None else 1.0
            cands = [base * 1e6, base * 1e-6] if base > 0 else [1e-12, 1e12]
        best = None
        for c in cands:
            k = dict(knowns)
            k[unknown] = c if var.dimensionless else Q_(c, var.base_unit)
            if unknown == "num_devices":
                k.update(self._count_knowns(unknown, c, ctx, knowns))
            try:
                out = _evaluate(eq, k)
            except Exception:  # noqa: BLE001 - a candidate outside a relation's domain is skipped
                continue
            t = float(np.asarray(out[tname].magnitude))
            if best is None or t < best[0]:
                best = (t, c, out, k)
        return None if best is None else (best[1], best[2], best[3])

    def _bind(self, model=None, hardware=None, *, seq_len=None, batch_size=1, precision="fp16", prompt_tokens=None,
              output_tokens=None, num_devices=1, compute_efficiency=None, overhead=None,
              activation_traffic_bytes=None, link_bandwidth=None, link_latency=None, tp_allreduces_per_forward=None,
              memory_bandwidth=None, peak_flops=None, bytes_per_element=None, allow_cross_node=False,
              kv_precision=None, attention_causal_skip=None, power=None, prefix_hit_rate=None,
              _unknown=None, **unknown_kwargs):
        if unknown_kwargs:
            import difflib

            name = next(iter(unknown_kwargs))
            opts = ["seq_len", "batch_size", "precision", "prompt_tokens", "output_tokens", "num_devices",
                    "compute_efficiency", "overhead", "activation_traffic_bytes", "link_bandwidth", "link_latency",
                    "tp_allreduces_per_forward", "memory_bandwidth", "peak_flops", "bytes_per_element",
                    "kv_precision", "attention_causal_skip", "power", "prefix_hit_rate"]
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
        elif seq_len is not None and prompt_tokens is not None:
            # the KV cache holds the whole request: the context cannot be shorter than the prompt (+ output)
            need = np.asarray(prompt_tokens) + np.asarray(output_tokens if output_tokens is not None else 0)
            if np.any(need > np.asarray(seq_len)):
                what = "prompt_tokens + output_tokens" if output_tokens is not None else "prompt_tokens"
                raise DomainError(f"{what} = {_rep(need)} exceeds seq_len = {_rep(seq_len)}: the context must hold "
                                  f"the prompt and the generated tokens (give a seq_len >= {_rep(need)}, or omit "
                                  f"seq_len to use prompt_tokens + output_tokens)")
        if prompt_tokens is None:
            prompt_tokens = seq_len if seq_len is not None else 1
        if output_tokens is None:
            output_tokens = 1
        used = []

        def take(name, given, default):
            v, a = D.pick(name, given, default)
            used.append(a)
            return v

        reg = _registry(model, hardware, precision, self.equations)  # computed once per (model, hardware, precision)
        peak = peak_flops if peak_flops is not None else reg.peak()
        bw = memory_bandwidth if memory_bandwidth is not None else reg.bandwidth()
        fabric = reg.fabric
        multi = (num_devices > 1) if type(num_devices) is int else np.any(
            np.asarray(num_devices if num_devices is not None else 1) > 1)
        if link_bandwidth is None:
            if fabric is not None:
                # the node's fabric from the Fabrics registry: per-device bandwidth, one direction, sourced there
                link_bandwidth = fabric.link_bandwidth
                used.append(reg.fabric_assumption("link_bandwidth"))
            elif multi and _unknown != "link_bandwidth":
                raise UnderdeterminedError(f"{hardware.key} has no node fabric in mlsysim.Fabrics: pass "
                                           f"link_bandwidth= for tensor parallelism over {num_devices} devices")
            else:
                # one device: the tensor-parallel all-reduce term is (n_dev - 1)/n_dev = 0 whatever the link
                link_bandwidth = bw
                used.append(reg.single_device_link())
        if link_latency is None and fabric is not None:
            latency_value = fabric.link_latency
            used.append(reg.fabric_assumption("link_latency"))
        else:
            latency_value = take("link_latency", link_latency, D.TP_LINK_LATENCY)
        b = bytes_per_element if bytes_per_element is not None else reg.bytes_per_element
        if kv_precision is None:
            kv_precision = precision
            used.append(reg.kv_precision_default())
        else:
            kv_precision = normalize_precision(kv_precision)
            used.append(D.KV_PRECISION.with_value(kv_precision))
        kv_b = _precision_bytes(kv_precision) if (kv_precision != precision or bytes_per_element is None) else b
        skip = take("attention_causal_skip", attention_causal_skip, D.ATTENTION_CAUSAL_SKIP)
        if not _in_range(skip, 0.0, 1.0, upper_open=False):
            raise DomainError(f"attention_causal_skip must be between 0 (full score matrix) and 1 (masked half "
                              f"skipped); got {skip!r}")
        if power is not None:
            used.append(D.POWER_AT_TDP.with_value(power))
        hit = take("prefix_hit_rate", prefix_hit_rate, D.PREFIX_HIT_RATE)
        if _unknown != "prefix_hit_rate" and not _in_range(hit, 0.0, 1.0, upper_open=True):
            raise DomainError(f"prefix_hit_rate must be in [0, 1): the fraction of prompt tokens served from the "
                              f"prefix cache (at least the last token is computed); got {hit!r}")
        knowns = reg.architecture(bytes_per_element=b, seq_len=seq_len, batch_size=batch_size)
        knowns.update(
            expert_parameters=reg.expert_parameters, parameters=reg.parameters,
            active_parameters=reg.active_parameters, embedding_parameters=reg.embedding_parameters,
            num_devices=num_devices,
            prompt_tokens=prompt_tokens, output_tokens=output_tokens, peak_flops=peak, memory_bandwidth=bw,
            link_bandwidth=link_bandwidth,
            compute_efficiency=take("compute_efficiency", compute_efficiency, D.COMPUTE_EFFICIENCY),
            overhead=take("overhead", overhead, D.OVERHEAD),
            activation_traffic_bytes=take("activation_traffic_bytes", activation_traffic_bytes, D.ACTIVATION_TRAFFIC),
            link_latency=latency_value,
            tp_allreduces_per_forward=take("tp_allreduces_per_forward", tp_allreduces_per_forward,
                                         D.TP_ALLREDUCES_PER_FORWARD),
            kv_bytes_per_element=kv_b, attention_causal_skip=skip, decode_tokens=1, prefix_hit_rate=hit,
        )
        if power is not None:
            knowns["power"] = power
        if seq_len is None:
            knowns.pop("seq_len", None)
        # the default for transformers: every operation on the calibrated laws; compute_efficiency= given
        # (or asked for) selects the flat single-efficiency roofline of Equations.Serving
        per_op = compute_efficiency is None and _unknown != "compute_efficiency"
        if per_op:
            used[:] = [a for a in used if a.name != "compute_efficiency"]
            for name, value in reg.operations_architecture(b).items():
                knowns.setdefault(name, value)  # architecture only: the request's own values stay
            knowns.update(reg.law_knowns(num_devices, knowns["tp_allreduces_per_forward"], used))
        if _unknown != "num_devices":
            self._check_tp(model, hardware, num_devices, allow_cross_node)
        cap = reg.memory_capacity
        kv_knowns = {k: knowns[k] for k in ("num_layers", "num_kv_heads", "head_dim", "batch_size") if k in knowns}
        kv_knowns["bytes_per_element"] = kv_b
        warnings = []
        max_ctx = getattr(model, "seq_len", None)
        if max_ctx and seq_len is not None and not _in_range(seq_len, -math.inf, max_ctx, upper_open=False):
            warnings.append(_context_warning(model, seq_len))
        rep = lambda v: str(v) if type(v) is int or np.ndim(v) == 0 else f"array{np.shape(v)}"  # noqa: E731
        ctx = dict(model_name=model.name, hardware_name=hardware.key, precision=precision, num_devices=num_devices,
                   batch_size_repr=rep(batch_size), seq_len_repr=rep(seq_len) if seq_len is not None else "?",
                   prompt_repr=rep(prompt_tokens), output_repr=rep(output_tokens), memory_capacity=cap,
                   peak_flops=peak, memory_bandwidth=bw, kv_knowns=kv_knowns, kv_precision=kv_precision,
                   warnings=warnings, max_context=max_ctx, model=model, hardware=hardware,
                   allow_cross_node=allow_cross_node, per_operation=per_op)
        ctx["max_batch_size"] = lambda: self._max_batch(knowns, cap)
        return knowns, used, ctx

    @staticmethod
    def _check_tp(model, hardware, num_devices, allow_cross_node):
        if type(num_devices) is int and num_devices == 1:
            return  # one device: no tensor parallelism to check, and every node holds one device
        n = np.asarray(num_devices)
        if np.any(n > 1):
            for v in np.ravel(n):
                check_tp(model, int(v), arg="num_devices")  # the one tensor-parallel check (solvers/checks.py)
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


def _evaluate(eq, knowns, outputs=None, lazy=False):
    """Evaluate ``eq`` on the knowns it uses (the binding holds the inputs of both serving sets).

    Every known is validated by its variable (``Var.validate``, the one validation path); an immutable scalar
    (a Python number, or a Quantity holding one) that was validated before under the same name is not
    converted again (:func:`_validated`). ``lazy``: with array inputs and no ``outputs``, every quantity that
    depends on an array is computed (and checked) on first access, so a caller reading one field runs one
    fused kernel for it.
    """
    inputs = _inputs_of(eq)
    given, mags, arrays = {}, {}, []
    cache = _VALIDATED
    for n, v in knowns.items():
        if n in inputs:
            given[n] = v
            hit = cache.get(n)
            m = mags[n] = hit[1] if hit is not None and hit[0] is v else _validated(n, v)
            if type(m) is not float and isinstance(m, np.ndarray):
                arrays.append(n)
    return eq._evaluate_magnitudes(None if outputs is None else tuple(outputs), mags, given, lazy, frozenset(arrays))


#: ``{variable: (value, base-unit magnitude)}``: the last immutable scalar validated for each variable
_VALIDATED: dict = {}


def _validated(name, value):
    """``VARIABLES[name].validate(value)``, remembered for immutable scalars: the registry's Quantities and
    the defaults come back as the same objects on every call, so their unit conversion and domain check run
    once. Arrays (which a caller may change in place) and everything else are validated every time."""
    hit = _VALIDATED.get(name)
    if hit is not None and hit[0] is value:
        return hit[1]
    m = VARIABLES[name].validate(value)
    t = type(value)
    if t is float or t is int or (type(getattr(value, "_magnitude", None)) in (float, int)
                                  and hasattr(value, "units")):
        _VALIDATED[name] = (value, m)
    return m


def _inputs_of(eq) -> frozenset:
    key = id(eq)
    hit = _INPUTS.get(key)
    if hit is None or hit[0] is not eq:
        hit = _INPUTS[key] = (eq, frozenset(eq.inputs))
    return hit[1]


_INPUTS: dict = {}


def _in_range(x, lo, hi, *, upper_open: bool) -> bool:
    """False when a value of ``x`` (a number or an array) is below ``lo`` or above ``hi`` (at or above it
    when ``upper_open``), compared as numpy compares (a NaN is left to the engine's domain check)."""
    if type(x) is float or type(x) is int:
        return not (x < lo or (x >= hi if upper_open else x > hi))
    a = np.asarray(x, dtype=float)
    return not (np.any(a < lo) or np.any(a >= hi if upper_open else a > hi))


@functools.lru_cache(maxsize=None)
def _precision_bytes(precision: str):
    """Bytes per element of a (normalised) precision name, as a Quantity (the same object each time)."""
    return precision_bytes(precision)


class _Registry:
    """What one (model, hardware, precision) gives the serving solver, computed once (issue #16 item 4):
    the architecture knowns of both serving sets, the model's parameter counts, the device's peak, bandwidth,
    fabric, memory and calibrated laws (as the Assumptions the result lists). Nothing here depends on a
    call's own arguments or on an overridable default (those are taken on every call). Values that can
    raise (a precision the device does not publish, a missing bandwidth) are computed on first use, so the
    error comes where it came before, each time."""

    def __init__(self, model, hardware, precision, eqset):
        self.model, self.hardware, self.precision = model, hardware, precision
        self.bytes_per_element = _precision_bytes(precision)
        self.fabric = _node_fabric(hardware)
        self.memory_capacity = hardware.get("memory_capacity") if hasattr(hardware, "get") else None
        # the set's architecture knowns in knowns_for's order (the request's values are filled per call)
        self._arch = model.knowns_for(eqset, bytes_per_element=0, seq_len=0, batch_size=0)
        tc = Equations.TransformerCost
        self.expert_parameters = float(tc.evaluate(outputs=["expert_parameters"],
                                                   **model.knowns_for(tc))["expert_parameters"])
        self.parameters = model.parameters
        self.active_parameters = model.active_parameters
        self.embedding_parameters = model.embedding_parameters
        self._ops_arch: tuple = (None, None)
        self._memo: dict = {}

    def _once(self, key, make):
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = make()
        return hit

    def peak(self):
        return self._once("peak", lambda: self.hardware.peak_flops(self.precision))

    def bandwidth(self):
        return self._once("bandwidth", lambda: _published(self.hardware, "memory_bandwidth"))

    def fabric_assumption(self, name):
        f = self.fabric
        return self._once(("fabric", name), lambda: Assumption(
            name, getattr(f, name), f.source_of(name),
            f"per-device bandwidth of the node's {f.key} fabric" if name == "link_bandwidth"
            else f"per-step latency of the node's {f.key} fabric"))

    @staticmethod
    def single_device_link():
        return D.SINGLE_DEVICE_LINK  # link_bandwidth "unused", with its source

    def kv_precision_default(self):
        a = D.KV_PRECISION  # the default as it is now (a caller may have replaced it): keyed by identity
        hit = self._memo.get("kv_precision")
        if hit is None or hit[0] is not a:
            hit = self._memo["kv_precision"] = (a, dataclasses.replace(a, value=self.precision))
        return hit[1]

    def architecture(self, **request) -> dict:
        k = dict(self._arch)
        for name, value in request.items():
            if name in k:
                k[name] = value
        return k

    def operations_architecture(self, b) -> dict:
        hit = self._ops_arch  # the last bytes_per_element asked for (the precision's, unless one is given)
        if hit[0] is not b:
            ops = {n: v for n, v in self.model.knowns_for(Equations.ServingOperations, bytes_per_element=b).items()
                   if n not in ("seq_len", "batch_size")}
            hit = self._ops_arch = (b, ops)
        return hit[1]

    def law_knowns(self, num_devices, n_ar, used) -> dict:
        """Knowns of ``Equations.ServingOperations`` from the calibrated laws of the hardware, computed once
        (the collective law once per worker count); each law an Assumption with its fit source, appended to
        ``used``: GEMM, weight-streaming and small-kernel laws, and the tensor-parallel all-reduce on the fitted
        alpha-beta law of that many devices."""
        from ..calibration import laws_for

        base = self._memo.get("laws")
        if base is None or base[0] is not laws_for:
            out: dict = {}
            assumptions: list = []
            laws = laws_for(self.hardware, self.precision)

            def put(a, name=None):
                a = a if name is None else dataclasses.replace(a, name=name)
                out[a.name] = a.value
                assumptions.append(a)

            for a in (laws.gemm_eta_max, laws.gemm_f_half, laws.mem_eta_max, laws.mem_b_half):
                put(a)
            for kind in ("norm", "rope", "act", "add", "all"):
                put(laws.elementwise_eta_max(kind), f"{kind}_efficiency_max")
                put(laws.elementwise_b_half(kind), f"{kind}_half_bytes")
            base = self._memo["laws"] = (laws_for, laws, out, assumptions)
        _f, laws, out, assumptions = base
        res = dict(out)
        used.extend(assumptions)
        if type(num_devices) is int:
            workers = num_devices
        else:
            n = np.asarray(num_devices)
            workers = int(np.max(n)) if n.size else 1
        if workers > 1:
            c = self._once(("collective", workers), lambda: laws.collective("all_reduce", workers))
            res[c.alpha.name] = c.alpha.value
            used.append(c.alpha)
            res[c.bandwidth.name] = c.bandwidth.value
            used.append(c.bandwidth)
            n = np.asarray(num_devices)
            res["tp_collectives_per_layer"] = np.where(n > 1, n_ar, 0) if n.ndim else n_ar
        else:  # one device: no all-reduce (the law's values are then unused)
            res.update(collective_latency=_ZERO_S, collective_bandwidth=_ONE_GBPS, tp_collectives_per_layer=0)
        return res


_ZERO_S = Q_(0.0, "s")
_ONE_GBPS = Q_(1.0, "GB/s")
#: ``{(id(model), id(hardware), precision, set name): _Registry}``; each entry holds its model and hardware, so
#: an id is not reused while its entry lives; bounded (oldest dropped first)
_REGISTRY: dict = {}
_REGISTRY_MAX = 64


def _registry(model, hardware, precision, eqset) -> _Registry:
    """The cached :class:`_Registry` of (model, hardware, precision): by the objects' identity (registry entries
    are not changed in place; ``replace`` makes a new one), checked against the objects themselves."""
    key = (id(model), id(hardware), precision, eqset.name)
    hit = _REGISTRY.get(key)
    if hit is not None and hit.model is model and hit.hardware is hardware:
        return hit
    hit = _Registry(model, hardware, precision, eqset)
    if len(_REGISTRY) >= _REGISTRY_MAX:
        _REGISTRY.pop(next(iter(_REGISTRY)))
    _REGISTRY[key] = hit
    return hit


#: request inputs the solver fills in when the caller does not give them (their sources say so)
REQUEST_DEFAULTS = {
    "seq_len": "the final context of the request: prompt_tokens + output_tokens",
    "prompt_tokens": "the whole context is the prompt (prompt_tokens = seq_len)",
    "output_tokens": "one generated token",
    "batch_size": "one sequence per step",
    "num_devices": "one device",
}


def _source_of(ctx, name):
    """Source of a known the solver took from a registry entry (the entry's own source where it has one)."""
    hw, model = ctx.get("hardware"), ctx.get("model")
    fields = {"peak_flops": f"peak_flops:{ctx.get('precision')}", "memory_bandwidth": "memory_bandwidth"}
    if name == "compute_efficiency":
        return D.COMPUTE_EFFICIENCY.source
    if name in fields and hw is not None:
        try:
            return hw.source_of(fields[name])
        except Exception:  # noqa: BLE001 - an entry without that field: the generic source below
            pass
    if model is not None and name in ("parameters", "active_parameters", "embedding_parameters"):
        return derived(f"{model.name}: {name}", f"derived from its architecture ({model.source})")
    if model is not None and name in model.architecture():
        return model.source
    for role in ("hardware", "model"):
        entry = ctx.get(role)
        src = getattr(entry, "source_of", None)
        if src is not None:
            try:
                found = src(name)
            except Exception:  # noqa: BLE001 - an entry without that field
                found = None
            if found is not None:
                return found
    return Source(f"{ctx.get('model_name', 'model')} on {ctx.get('hardware_name', 'device')}: {name}",
                  kind="derived", note="taken from the model's architecture or the device's registry entry")


def _shown(name, value) -> str:
    v = VARIABLES[name]
    return f"{value:g}" if v.dimensionless else fmt_quantity(Q_(value, v.base_unit).to(v.pint_unit))


def _plain(x) -> str:
    m = getattr(x, "magnitude", x)
    return f"{float(m):.4g}" if np.ndim(m) == 0 else "array"


def _rep(v) -> str:
    return str(np.asarray(v).item()) if np.ndim(v) == 0 else f"array{np.shape(v)}"


def _context_warning(model, seq_len) -> str:
    return (f"seq_len = {_rep(seq_len)} exceeds {model.name}'s maximum context of {model.seq_len} tokens: the "
            f"model was not trained for it (the numbers are what the equations give; the model may not serve it)")


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


def step_parts(result, phase: str = "decode") -> dict:
    """``{component: time}`` of a decode (``tpot``) or prefill (``ttft``) step of a transformer result bound by
    :class:`ServingSolver` (a :class:`ServingResult`, or a :class:`~mlsysim.solvers.SingleNodeResult` of a
    transformer, whose latency is the same decode step): see :meth:`ServingResult.breakdown`."""
    from ..core.equation_sets.serving import COUNTS, OPERATION_PARTS

    if phase not in ("decode", "prefill"):
        raise DomainError(f"phase must be 'decode' or 'prefill'; got {phase!r}")
    spec = result.ctx.get("speculative")
    if phase == "decode" and spec is not None:
        tau = spec["tokens_per_step"]
        return {"draft_steps": (spec["speculative_step_time"] - spec["verify_step_time"]) / tau,
                "verification": spec["verify_step_time"] / tau}
    ops = result.ctx.get("operations")
    base = result._out._base if isinstance(result._out, _Overlay) else result._out
    if ops is not None:
        k = result.ctx["op_knowns"]
        parts = {"overhead": k["overhead"] * 1.0}
        for op, (tvar, count) in OPERATION_PARTS[phase].items():
            parts[op] = ops[tvar] * COUNTS[count](k)
        return parts
    ovh, total = ("decode_overhead", "tpot") if phase == "decode" else ("prefill_overhead", "ttft")
    fixed = result.ctx["op_knowns"]["overhead"] if "op_knowns" in result.ctx else _fixed_overhead(result)
    # the binding roofline term is what the set's total adds to its overhead (tpot/ttft = max(compute, memory)
    # + overhead in Equations.Serving), not a max() recomputed here
    return {"overhead": fixed * 1.0, "tp_communication": base[ovh] - fixed, "roofline": base[total] - base[ovh]}


def _fixed_overhead(result):
    """The fixed per-step overhead assumption of a result (0 s when it has none)."""
    a = next((a for a in result.assumptions if a.name == "overhead"), None)
    return a.value if a is not None else Q_(0.0, "s")
