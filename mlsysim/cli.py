"""The ``mlsysim`` command line.

::

    mlsysim evaluate doorbell [--model M] [--hardware H] [--region R] [--json]
    mlsysim solve serving --for memory_bandwidth --model Llama3_70B --hardware H100 --seq-len 8192 --tpot 20ms
    mlsysim solve node --for batch_size --model ResNet50 --hardware H100 --latency 10ms
    mlsysim solve carbon --for duration --hardware H100 --num-devices 1 --region Poland --carbon 50t
    mlsysim solve training --model Llama3_405B --fleet Llama3_Cluster --search --top 5
    mlsysim solve tco --for unit_price --hardware H100 --num-devices 8 --duration 1year --region US_Avg --tco 300000USD
    mlsysim serve --model Llama3_70B --hardware H200 --seq-len 8192 --precision fp8
    mlsysim node --model ResNet50 --hardware H100 --batch-size 256
    mlsysim list models|hardware|infra|applications|equations [--sources]
    mlsysim list hardware --unverified
    mlsysim latex --out equations/
    mlsysim plot roofline --hardware H100 --model Llama3_70B --out roofline.png
    mlsysim plot serving --model Llama3_8B --hardware H100 --seq-lens 1024,8192 --out serving.png
    mlsysim plot carbon --hardware H100 --num-devices 8 --duration 30day --regions Quebec,Poland --out carbon.png
    mlsysim validate [...]

Every command takes ``--json``. Quantities are written with their unit (``20ms``, ``3.35TB/s``, ``50t``)
and parsed by pint's parser (:func:`mlsysim.core.units.parse_quantity`), never evaluated as code. Bad
input prints one line, ``mlsysim: error: ...``, and exits with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from typing import Any, Sequence

import numpy as np

PROG = "mlsysim"


class CLIError(Exception):
    """A usage error found after argument parsing (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``mlsysim: error: ...`` and exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        hint = f" (see '{self.prog} --help')"
        sys.stderr.write(f"{PROG}: error: {message}{hint}\n")
        sys.exit(2)


# ------------------------------------------------------------------------------------ value parsing
def _quantity(text: str):
    """argparse type: a quantity with a unit (``20ms``, ``3.35TB/s``)."""
    from .core.errors import UnitError
    from .core.units import parse_quantity

    try:
        q = parse_quantity(text)
    except UnitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return q


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; got {text!r}")
    return v


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1]; got {text!r}") from None
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1]; got {text!r}")
    return v


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    return v


_NEGATIVE = re.compile(r"^-(\d|\.\d)")


def _negative_values(argv: list) -> list:
    """``--tpot -20ms`` -> ``--tpot=-20ms``: argparse reads a token that starts with '-' and is not a plain
    number as an option, so a negative quantity after a flag is joined to it (the domain check then
    rejects it with its own message). No mlsysim option starts with a digit."""
    out: list = []
    for tok in argv:
        if out and _NEGATIVE.match(tok) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


def _jsonable(obj: Any):
    """``json.dumps`` fallback for numpy and pint values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "magnitude") and hasattr(obj, "units"):
        m = obj.magnitude
        return {"value": m.tolist() if isinstance(m, np.ndarray) else float(m), "unit": f"{obj.units:~C}"}
    return str(obj)


def _emit(args, text: str, data: Any) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=_jsonable))
    else:
        print(text)


def _q_dict(q):
    if q is None:
        return None
    m = np.asarray(q.magnitude)
    return {"value": m.tolist() if m.ndim else float(m), "unit": f"{q.units:~C}"}


# ------------------------------------------------------------------------------------ commands
def cmd_evaluate(args) -> int:
    from .systems.applications import Applications

    scenario = Applications.get(args.scenario)
    overrides = {k: getattr(args, k) for k in ("model", "hardware", "region") if getattr(args, k) is not None}
    if overrides:
        scenario = scenario.replace(**overrides)
    ev = scenario.evaluate()
    _emit(args, ev.scorecard(), ev.to_dict())
    return 0


# serving/node options: (flag, dest, type, help)
_SERVING_OPTS = [
    ("--seq-len", "seq_len", _positive_int, "context length of the decode step and KV cache [tokens]"),
    ("--batch-size", "batch_size", _positive_int, "sequences decoded together [1] (default 1)"),
    ("--precision", "precision", str, "numeric precision: fp32, bf16, fp16, fp8, int8, int4 (default fp16)"),
    ("--prompt-tokens", "prompt_tokens", _positive_int, "prompt length [tokens]"),
    ("--output-tokens", "output_tokens", _positive_int, "generated tokens [tokens]"),
    ("--num-devices", "num_devices", _positive_int, "tensor-parallel devices in one node [1] (default 1)"),
    ("--kv-precision", "kv_precision", str, "numeric format of the KV cache (default: the weight precision)"),
    ("--prefix-hit-rate", "prefix_hit_rate", _number, "fraction of prompt tokens served from a prefix cache, [0, 1)"),
    ("--draft-model", "draft_model", str, "speculative decoding: the draft model (Models name)"),
    ("--draft-tokens", "draft_tokens", _positive_int, "speculative decoding: tokens drafted per step (gamma)"),
    ("--acceptance-rate", "acceptance_rate", _fraction, "speculative decoding: acceptance rate alpha, (0, 1)"),
]
_NODE_OPTS = [
    ("--batch-size", "batch_size", _positive_int, "samples per forward pass [1] (default 1)"),
    ("--precision", "precision", str, "numeric precision: fp32, bf16, fp16, fp8, int8 (default fp16)"),
    ("--seq-len", "seq_len", _positive_int, "context length for a decoder LLM [tokens]"),
    ("--kv-precision", "kv_precision", str, "KV-cache format for a decoder LLM (default: the weight precision)"),
]
_OVERRIDE_OPTS = [
    ("--memory-bandwidth", "memory_bandwidth", _quantity, "override the device memory bandwidth, e.g. 3.35TB/s"),
    ("--peak-flops", "peak_flops", _quantity, "override the device peak, e.g. 989TFLOP/s"),
    ("--compute-efficiency", "compute_efficiency", _fraction, "achieved / peak compute, (0, 1] (default 0.7)"),
]
_SERVING_TARGETS = [("--tpot", "tpot", "time per output token, e.g. 20ms"),
                    ("--ttft", "ttft", "time to first token, e.g. 500ms"),
                    ("--request-latency", "request_latency", "whole-request latency, e.g. 10s"),
                    ("--memory-required", "memory_required", "memory per device, e.g. 80GB")]
_NODE_TARGETS = [("--latency", "latency", "latency of one forward pass, e.g. 10ms"),
                 ("--memory-required", "memory_required", "memory needed, e.g. 16GB")]
# fleet-scale serving (#17): scheduling options of `serve` and `solve serving`, and the capacity targets
_FLEET_OPTS = [
    ("--concurrency", "concurrency", _positive_int, "sequences in flight (continuous batching; the batch)"),
    ("--chunk-size", "chunk_size", _positive_int, "chunked prefill: prompt tokens per chunk"),
    ("--kv-block-size", "kv_block_size", _positive_int, "paged-KV block [tokens] (default 16, vLLM)"),
    ("--usable-memory-fraction", "usable_memory_fraction", _fraction,
     "fraction of device memory the engine may use, (0, 1] (default 0.9, vLLM)"),
    ("--pp", "pp", _positive_int, "pipeline stages across nodes [1]"),
    ("--ep", "ep", _positive_int, "expert-parallel degree of a mixture-of-experts model [1]"),
]
_FLEET_SOLVE_OPTS = [("--arrival-rate", "arrival_rate", _quantity, "request arrival rate, e.g. 20/s")]
_FLEET_TARGETS = [("--p99-latency", "p99_latency", "p99 request latency (queueing + service), e.g. 20s"),
                  ("--ttft-p99", "ttft_p99", "p99 time to first token (queueing + prefill), e.g. 2s"),
                  ("--mean-wait", "mean_wait", "mean queueing delay, e.g. 100ms"),
                  ("--effective-tpot", "effective_tpot", "time per token a request sees (prefill stalls), e.g. 50ms")]
#: examples shown in the generated help of a few options (the rest say their unit)
_EXAMPLES = {"duration": "30day", "power": "500W", "carbon_intensity": "400g/kWh", "unit_price": "30000USD",
             "electricity_price": "0.1USD/kWh", "lifetime": "4year", "region": "Poland", "datacenter": "Hyperscale",
             "hardware": "H100", "fleet": "H100_1024", "carbon": "50t", "energy": "100MWh", "water": "1e6L",
             "total_carbon": "60t", "tco": "300000USD", "energy_cost": "10000USD"}


def _arg_type(name: str, registry: bool):
    """argparse type of a generated option: a registry name (str), or a value of the variable ``name``, parsed
    (a number, or a quantity with its unit) and checked against the variable's domain (``Var.check``), so a
    ``--pue 0.5`` is refused with the variable's own message."""
    from .core.variables import VARIABLES

    if registry:
        return str
    v = VARIABLES.get(name)
    if v is None:
        return _quantity

    def parse(text: str):
        from .core.errors import MlsysimError

        if v.domain in ("count", "count0"):
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{name} must be a whole number; got {text!r}") from None
        else:
            value = _number(text) if v.dimensionless else _quantity(text)
        try:
            magnitude = value if v.dimensionless else value.to(v.base_unit).magnitude
        except Exception:  # noqa: BLE001 - a wrong dimension: the solver names the input and the unit expected
            return value
        try:
            v.check(float(magnitude), given=value)
        except MlsysimError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    parse.__name__ = name
    return parse


def _help(desc: str, name: str) -> str:
    return desc + (f", e.g. {_EXAMPLES[name]}" if name in _EXAMPLES else "")


def _solver_options(solver_cls, exclude=()) -> list:
    """``(flag, dest, type, help)`` for every argument the solver accepts: generated from its equation set's
    inputs, the nomenclature and its assumption catalogue (:meth:`mlsysim.solvers.base.Solver.accepted_arguments`)."""
    reg = set(solver_cls.registry_arguments)
    return [(f"--{name.replace('_', '-')}", name, _arg_type(name, name in reg), _help(desc, name))
            for name, desc in solver_cls.accepted_arguments().items() if name not in exclude]


def _solver_targets(solver_cls) -> list:
    """``(flag, dest, help)`` for every target of the solver's ``solve_for`` (its set's derived quantities)."""
    return [(f"--{name.replace('_', '-')}", name, _help(desc, name)) for name, desc in solver_cls.targets().items()]


def _job_solvers():
    from .solvers import SustainabilitySolver, TCOSolver

    return SustainabilitySolver, TCOSolver


def _given(args, opts) -> dict:
    return {dest: getattr(args, dest) for _, dest, *_ in opts if getattr(args, dest, None) is not None}


def _targets(args, targets) -> dict:
    return {dest: getattr(args, dest) for _, dest, _ in targets if getattr(args, dest, None) is not None}


def _need_one_target(args, targets, what) -> dict:
    t = _targets(args, targets)
    flags = ", ".join(f for f, *_ in targets)
    if not t:
        raise CLIError(f"solve {what} needs one target: one of {flags} (e.g. --tpot 20ms)")
    if len(t) > 1:
        raise CLIError(f"solve {what} takes one target; got {', '.join('--' + k.replace('_', '-') for k in t)}")
    return t


def _print_inverse(args, res, extra: dict | None = None) -> int:
    from .core.equations import fmt_quantity

    if hasattr(res, "to_dict") and hasattr(res, "result"):  # InverseResult of the single-node/serving solvers
        data = res.to_dict()
        text = repr(res)
    else:  # engine Solution (sustainability, TCO)
        data = {"unknown": res.unknown, "value": _q_dict(res.value), "feasible": bool(np.all(res.feasible)),
                "reason": res.reason, "regime": res.regime if isinstance(res.regime, (dict, str)) else None}
        text = f"{res.unknown} = {fmt_quantity(res.value, name=res.unknown)}"
        if extra:
            (tname, tval), = extra.items()
            text += f" meets {tname} = {fmt_quantity(tval, name=tname)}"
            data["target"] = {"name": tname, **_q_dict(tval)}
        if res.reason:
            text += f"\n  note: {res.reason}"
        if getattr(res, "note", ""):
            text += f"\n  note: {res.note}"
            data["note"] = res.note
    _emit(args, text, data)
    return 0


def cmd_solve_serving(args) -> int:
    from .solvers import ServingSolver

    if args.unknown == "pool_ratio":  # disaggregated pools meet two SLOs at once
        targets = _targets(args, _SERVING_TARGETS + _FLEET_TARGETS)
        if set(targets) != {"ttft_p99", "tpot"}:
            raise CLIError("solve serving --for pool_ratio needs --ttft-p99 and --tpot (and --arrival-rate); got "
                           + (", ".join("--" + k.replace("_", "-") for k in targets) or "no target"))
    else:
        targets = _need_one_target(args, _SERVING_TARGETS + _FLEET_TARGETS, "serving")
    kw = (_given(args, _SERVING_OPTS) | _given(args, _OVERRIDE_OPTS) | _given(args, _FLEET_OPTS)
          | _given(args, _FLEET_SOLVE_OPTS))
    if args.unknown in kw:
        raise CLIError(f"--for {args.unknown}: {args.unknown} is the unknown; do not also pass "
                       f"--{args.unknown.replace('_', '-')}")
    if args.unknown in ("num_replicas", "concurrency", "pool_ratio"):  # fleet answers: value, binding, notes
        from .solvers.scheduling import solution_dict, solution_text

        if args.unknown == "num_replicas" and "arrival_rate" not in kw:
            raise CLIError("solve serving --for num_replicas needs --arrival-rate (e.g. 20/s)")
        if args.unknown == "pool_ratio":
            res = ServingSolver().disaggregate(args.model, args.hardware, **kw, **targets)
        else:
            res = ServingSolver().solve_for(args.unknown, model=args.model, hardware=args.hardware, **kw, **targets)
        _emit(args, solution_text(res), solution_dict(res))
        return 0
    res = ServingSolver().solve_for(args.unknown, model=args.model, hardware=args.hardware, **kw, **targets)
    return _print_inverse(args, res)


def cmd_solve_node(args) -> int:
    from .solvers import SingleNodeSolver

    targets = _need_one_target(args, _NODE_TARGETS, "node")
    kw = _given(args, _NODE_OPTS) | _given(args, _OVERRIDE_OPTS)
    kw.pop("seq_len", None)
    kw.pop("kv_precision", None)
    if args.unknown in kw:
        raise CLIError(f"--for {args.unknown}: {args.unknown} is the unknown; do not also pass "
                       f"--{args.unknown.replace('_', '-')}")
    res = SingleNodeSolver().solve_for(args.unknown, model=args.model, hardware=args.hardware, **kw, **targets)
    return _print_inverse(args, res)


def _cmd_solve_job(args, solver_cls, what) -> int:
    """``solve carbon`` / ``solve tco``: options and targets generated from the solver's signature."""
    targets = _need_one_target(args, _solver_targets(solver_cls), what)
    kw = _given(args, _solver_options(solver_cls))
    if args.unknown in kw:
        raise CLIError(f"--for {args.unknown}: {args.unknown} is the unknown; do not also pass "
                       f"--{args.unknown.replace('_', '-')}")
    res = solver_cls().solve_for(args.unknown, **kw, **targets)
    return _print_inverse(args, res, targets)


def cmd_solve_carbon(args) -> int:
    return _cmd_solve_job(args, _job_solvers()[0], "carbon")


def cmd_solve_tco(args) -> int:
    return _cmd_solve_job(args, _job_solvers()[1], "tco")


def cmd_serve(args) -> int:
    from .solvers import ServingSolver

    kw = _given(args, _SERVING_OPTS) | _given(args, _OVERRIDE_OPTS) | _given(args, _FLEET_OPTS)
    r = ServingSolver().solve(args.model, args.hardware, **kw)
    _emit(args, repr(r), r.to_dict())
    return 0


def cmd_node(args) -> int:
    from .solvers import SingleNodeSolver

    kw = _given(args, _NODE_OPTS) | _given(args, _OVERRIDE_OPTS)
    if args.power is not None:
        kw["power"] = args.power
    r = SingleNodeSolver().solve(args.model, args.hardware, **kw)
    _emit(args, repr(r), r.to_dict())
    return 0


_TRAIN_OPTS = [
    ("--tp", "tp", _positive_int, "tensor-parallel degree [1] (default 1)"),
    ("--pp", "pp", _positive_int, "pipeline-parallel degree [1] (default 1; need not divide the layers)"),
    ("--dp", "dp", _positive_int, "data-parallel degree [1] (default: devices / (tp cp pp))"),
    ("--cp", "cp", _positive_int, "context-parallel degree [1] (default 1)"),
    ("--ep", "ep", _positive_int, "expert-parallel degree for a mixture-of-experts model [1] (default 1)"),
    ("--global-batch", "global_batch", _positive_int, "sequences per optimizer step [1]"),
    ("--seq-len", "seq_len", _positive_int, "training sequence length [tokens] (default: the model's)"),
    ("--micro-batch-size", "micro_batch_size", _positive_int, "sequences per microbatch [1] (default 1)"),
    ("--interleave", "pipeline_interleave", _positive_int, "model chunks per device (interleaved 1F1B) [1]"),
    ("--zero-stage", "zero_stage", int, "ZeRO stage 0-3 (default 1)"),
    ("--recompute", "recompute", str, "activation recomputation: none, selective, full (default selective)"),
    ("--precision", "precision", str, "training precision (default bf16)"),
    ("--attention-kernel", "attention_kernel", str, "unfused (score matrix in memory, default) or flash"),
    ("--compute-efficiency", "compute_efficiency", _fraction,
     "one efficiency for all arithmetic: selects the flat Iron Law model (default: per-operation model)"),
]


def cmd_train(args) -> int:
    from .solvers import DistributedSolver

    kw = _given(args, _TRAIN_OPTS)
    if kw.get("global_batch") is None:
        raise CLIError("train needs --global-batch (sequences per optimizer step)")
    if args.sequence_parallel:
        kw["sequence_parallel"] = True
    if args.no_dropout:
        kw["dropout"] = False
    if args.no_overlap_grad_reduce:
        kw["overlap_grad_reduce"] = False
    if args.offload is not None:
        kw["offload"] = args.offload
    r = DistributedSolver().solve(model=args.model, fleet=args.fleet, **kw)
    data = r.to_dict()
    text = repr(r)
    if args.tokens is not None:
        ttt = r.time_to_train(args.tokens)
        data["time_to_train"] = {"value": float(ttt.m_as("day")), "unit": "day"}
        text += f"\n  time to train {args.tokens:.4g} tokens: {ttt.m_as('day'):,.1f} days"
    _emit(args, text, data)
    return 0


_SEARCH_OBJECTIVES = ("step_time", "mfu", "tokens_per_second", "memory_per_device")
_SEARCH_AXES = [
    ("--tps", "tps", "tensor-parallel degrees to try, e.g. 1,2,4,8 (default: divisors of the node and twice it)"),
    ("--cps", "cps", "context-parallel degrees to try (default 1,2,4,8,16)"),
    ("--pps", "pps", "pipeline-parallel degrees to try (default 1 .. layers; uneven stages)"),
    ("--eps", "eps", "expert-parallel degrees to try, mixture-of-experts models (default: divisors of the experts)"),
    ("--micro-batch-sizes", "micro_batch_sizes", "micro-batch sizes to try (default 1,2,4,8)"),
    ("--interleaves", "interleaves", "pipeline interleave factors to try (default 1,2,4)"),
]


def _scenario_layout(model, fleet):
    """(layout, scenario name) of an ``Applications`` scenario that trains ``model`` on ``fleet`` with a recorded
    layout (e.g. Frontier: Llama 3 405B on Llama3_Cluster, 2048 x 8192, flash attention, no dropout), else None."""
    from .systems.applications import Applications

    for name in Applications.names():
        sc = Applications.get(name)
        lay = getattr(sc, "layout", None) or {}
        if ("global_batch" in lay and getattr(getattr(sc, "model", None), "name", None) == model.name
                and getattr(getattr(sc, "fleet", None), "name", None) == fleet.name):
            return lay, name
    return None


def cmd_solve_training(args) -> int:
    from .solvers import DistributedSolver

    if not args.search:
        raise CLIError("solve training runs the layout search: pass --search (for one layout use 'mlsysim train')")
    solver = DistributedSolver()
    model, fleet = solver._resolve(args.model, args.fleet)
    kw: dict = {dest: getattr(args, dest) for _f, dest, _h in _SEARCH_AXES if getattr(args, dest) is not None}
    for dest in ("recompute_modes", "zero_stages"):
        if getattr(args, dest) is not None:
            kw[dest] = getattr(args, dest)
    if args.compute_efficiency is not None:
        kw["compute_efficiency"] = args.compute_efficiency
    if args.offloads is not None:
        kw["offloads"] = args.offloads
    if args.no_overlap_grad_reduce:
        kw["overlap_grad_reduce"] = False
    note = ""
    global_batch, seq_len = args.global_batch, args.seq_len
    attention_kernel, dropout = args.attention_kernel, (False if args.no_dropout else None)
    found = _scenario_layout(model, fleet)
    if global_batch is None and found is None:
        raise CLIError(f"solve training --search needs --global-batch (sequences per optimizer step) for "
                       f"{model.name} on {fleet.name}")
    if found is not None:
        # what the command line leaves out comes from the scenario training this model on this fleet
        lay, sc_name = found
        taken = []
        if global_batch is None:
            global_batch = lay["global_batch"]
            taken.append(f"global_batch = {global_batch}")
            if seq_len is None and lay.get("seq_len") is not None:
                seq_len = lay["seq_len"]
                taken.append(f"seq_len = {seq_len}")
        if attention_kernel is None and "attention_kernel" in lay:
            attention_kernel = lay["attention_kernel"]
            taken.append(f"attention_kernel = {attention_kernel}")
        if dropout is None and "dropout" in lay:
            dropout = bool(lay["dropout"])
            taken.append(f"dropout = {dropout}")
        if taken:
            note = (", ".join(taken) + f" from the {sc_name} scenario (mlsysim.Applications.{sc_name}); give "
                    "--global-batch, --seq-len, --attention-kernel or --no-dropout to change")
    table = solver.search(model=model, fleet=fleet, global_batch=global_batch, seq_len=seq_len,
                          precision=args.precision, objective=args.objective, top=args.top,
                          allow_cross_node_tp=args.allow_cross_node_tp,
                          attention_kernel=attention_kernel if attention_kernel is not None else "unfused",
                          dropout=True if dropout is None else dropout, **kw)
    data = table.to_dict(top=args.top)
    data.update(model=model.name, fleet=fleet.name, global_batch=global_batch,
                seq_len=seq_len if seq_len is not None else model.seq_len)
    if note:
        data["note"] = note
    lines = [f"Layout search: {model.name} on {fleet.name}, global_batch {global_batch}, seq_len {data['seq_len']}, "
             f"{args.precision}, {table.model_kind.replace('_', '-')} model"]
    if note:
        lines.append(f"  note: {note}")
    lines.append(f"  {table.enumerated:,} layouts enumerated, {table.evaluated:,} evaluated, {len(table):,} fit; "
                 f"top {min(args.top, len(table))} by {args.objective}:")
    lines.append("   #  tp  cp  pp    dp  ep  mbs  v recompute zero sp  step_time[s]    mfu  mem[GB]  offload")
    for i in range(min(args.top, len(table))):
        r = table[i]
        lines.append(f"  {i + 1:>2} {r['tp']:>3} {r['cp']:>3} {r['pp']:>3} {r['dp']:>5} {r['ep']:>3} "
                     f"{r['micro_batch_size']:>4} {r['pipeline_interleave']:>2} {r['recompute']:>9} "
                     f"{r['zero_stage']:>4} {'T' if r['sequence_parallel'] else 'F':>2} {r['step_time']:>13.4g} "
                     f"{r['mfu']:>6.3f} {r['memory_per_device']:>8.1f}  {'+'.join(r.get('offload') or ()) or '-'}")
    if len(table) and args.top:
        bd = table.breakdown(0)
        lines.append("  best layout's step time: " + ", ".join(f"{k.replace('_step_time', '').replace('_time', '')} "
                                                             f"{v:.4g} s" for k, v in bd.items() if v))
    rej = table.rejected
    lines.append(f"  rejected {len(rej):,}: " + ", ".join(f"{c} {n:,}" for c, n in rej.counts.items() if n))
    for reason, n in sorted(rej.by_reason.items(), key=lambda x: -x[1])[:6]:
        lines.append(f"    {n:>12,}  {reason}")
    _emit(args, "\n".join(lines), data)
    return 0


def _unique(names):
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def cmd_list(args) -> int:
    what = args.what
    if getattr(args, "unverified", False) and what != "hardware":
        from .core.errors import DomainError

        raise DomainError(f"--unverified lists hardware values only (mlsysim list hardware --unverified); "
                          f"got `list {what}`")
    if what == "models":
        from . import models

        names = models.Models.names()
        rows = [(n, models.Models.get(n).name) for n in names]
        text = models.report() if args.sources else "\n".join(f"{n:<18} {d}" for n, d in rows)
        data = {"models": [{"name": n, "description": d} for n, d in rows]}
    elif what == "hardware":
        from . import hardware

        rows = [(n, hardware.Hardware.get(n)) for n in hardware.Hardware.names()]
        text = hardware.report() if args.sources else "\n".join(f"{n:<24} {h.category:<12} {h.name}" for n, h in rows)
        data = {"hardware": [{"name": n, "category": h.category, "description": h.name} for n, h in rows]}
        if getattr(args, "unverified", False):      # every value not from a primary source
            text, data = hardware.unverified_report(), {"unverified": hardware.unverified()}
    elif what == "infra":
        from . import infra

        names = _unique(infra.Infra.names())
        regions = set(infra.Infra.regions())
        text = infra.report() if args.sources else "\n".join(
            f"{n:<20} {'grid region' if n in regions else 'datacentre'}" for n in names)
        data = {"infra": [{"name": n, "kind": "region" if n in regions else "datacenter"} for n in names]}
    elif what == "applications":
        from .systems.applications import Applications

        rows = [(n, Applications.get(n)) for n in Applications.names()]
        lines = []
        for n, s in rows:
            lines.append(f"{n:<16} {s.name}: {s.model.name} on "
                         f"{s.fleet.name if s.fleet is not None else s.hardware.key} ({s.mode})")
            if args.sources:
                for t, v in s.targets.items():
                    lines.append(f"    target {t} <= {v.value:~P}: {v.source}")
        text = "\n".join(lines)
        data = {"applications": [{"name": n, "title": s.name, "model": s.model.name, "hardware": s.hardware.key,
                                  "mode": s.mode, "description": s.description,
                                  "targets": {t: {"value": float(v.value.magnitude), "unit": f"{v.value.units:~C}",
                                                  "source": str(v.source)} for t, v in s.targets.items()}}
                                 for n, s in rows]}
    else:  # equations
        from .core.equation_sets import Equations

        names = Equations.names()
        if args.sources:
            lines, sets = [], []
            for n in names:
                es = Equations.get(n)
                eqs = list(es.equations.values()) if isinstance(es.equations, dict) else list(es.equations)
                lines.append(f"{n}: {es.description}")
                entries = []
                for e in eqs:
                    lines.append(f"    {e.key}: {e.source}")
                    entries.append({"key": e.key, "source": str(e.source)})
                sets.append({"name": n, "description": es.description, "equations": entries})
            text = "\n".join(lines)
            data = {"equations": sets}
        else:
            text = "\n".join(names)
            data = {"equations": [{"name": n} for n in names]}
    _emit(args, text, data)
    return 0


def cmd_latex(args) -> int:
    try:
        mod = importlib.import_module("mlsysim.latex")
    except ImportError:
        mod = None
    export = getattr(mod, "export", None)
    if export is None:
        raise CLIError("LaTeX export is not available in this installation (mlsysim.latex.export is missing)")
    out = export(args.out, fmt=args.format, inline_sources=args.inline_sources, chapter=args.chapter)
    files = [str(f) for f in out] if isinstance(out, (list, tuple)) else []
    what = {"tex": "LaTeX", "qmd": "Quarto", "both": "LaTeX and Quarto"}[args.format]
    scope = f" for the chapter {args.chapter}" if args.chapter else ""
    _emit(args, f"wrote {len(files) or 'the'} {what} file(s){scope} to {args.out}",
          {"out": str(args.out), "format": args.format, "chapter": args.chapter, "files": files})
    return 0


def cmd_explore(args) -> int:
    from .explore import write_site

    index = write_site(args.out, args.sets or None, args.scenario)
    _emit(args, f"wrote the explorer to {index} (open it in a browser; it works offline from file://)",
          {"out": str(args.out), "index": str(index)})
    return 0


def cmd_validate(args) -> int:
    try:
        mod = importlib.import_module("mlsysim.validation")
    except ImportError:
        mod = None
    fn = getattr(mod, "main", None)
    if fn is None:
        raise CLIError("validation is not available in this installation (mlsysim.validation.main is missing)")
    rc = fn(list(args.rest))
    return int(rc or 0)


# ------------------------------------------------------------------------------------ plot
def _int_list(text: str) -> list:
    """argparse type: comma-separated whole numbers >= 1 (``1,8,64``)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers >= 1; got {text!r}")
    return [_positive_int(t) for t in items]


def _name_list(text: str) -> list:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated names; got {text!r}")
    return items


def _zero_list(text: str) -> list:
    """argparse type: comma-separated ZeRO stages 0-3."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items or any(t not in ("0", "1", "2", "3") for t in items):
        raise argparse.ArgumentTypeError(f"expected comma-separated ZeRO stages among 0, 1, 2, 3; got {text!r}")
    return [int(t) for t in items]


_PLOT_FORMATS = ("png", "pdf", "svg")


def _plot_module():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError("plotting needs matplotlib: pip install 'mlsysim[plot]'") from None
    from . import plot

    return plot


def _save(args, fig, data: dict) -> int:
    out = args.out
    ext = os.path.splitext(out)[1].lstrip(".").lower()
    if ext not in _PLOT_FORMATS:
        raise CLIError(f"--out {out}: the file name must end in {', '.join('.' + f for f in _PLOT_FORMATS)}")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise CLIError(f"--out {out}: the folder {folder} does not exist")
    try:
        fig.savefig(out, dpi=args.dpi)
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot write the file ({exc.strerror or exc})") from None
    _emit(args, f"wrote {out}", {"out": out, "plot": args.plot, **data})
    return 0


def cmd_plot(args) -> int:
    plot = _plot_module()
    if args.dpi <= 0:
        raise CLIError(f"--dpi must be > 0; got {args.dpi}")
    if args.plot == "roofline":
        models = args.model or []
        fig = plot.roofline(args.hardware, models, precision=args.precision, batch_sizes=args.batch_sizes,
                            **({"seq_len": args.seq_len} if args.seq_len is not None else {}))
        data = {"hardware": args.hardware, "models": models, "precision": args.precision,
                "batch_sizes": args.batch_sizes}
    elif args.plot == "serving":
        fig = plot.serving_latency(args.model, args.hardware, batch_sizes=args.batch_sizes, seq_lens=args.seq_lens,
                                   precision=args.precision, num_devices=args.num_devices)
        data = {"model": args.model, "hardware": args.hardware, "precision": args.precision,
                "batch_sizes": args.batch_sizes, "seq_lens": args.seq_lens}
    else:  # carbon
        kw = _given(args, _solver_options(_job_solvers()[0], exclude=("region",)))
        if "duration" not in kw:
            raise CLIError("plot carbon needs --duration (e.g. 30day)")
        fig = plot.carbon_by_region(regions=args.regions, metric=args.metric, **kw)
        data = {"regions": args.regions, "metric": args.metric}
    return _save(args, fig, data)


# ------------------------------------------------------------------------------------ parser
def _add(p, opts):
    for flag, dest, typ, help_ in opts:
        p.add_argument(flag, dest=dest, type=typ, default=None, help=help_)


def _add_targets(p, targets):
    g = p.add_argument_group("targets (give exactly one)")
    for flag, dest, help_ in targets:
        g.add_argument(flag, dest=dest, type=_quantity, default=None, help=help_)


def _json_flag(p):
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog=PROG, description="mlsysim: a physics-grounded analytical simulator of ML systems.",
                     epilog="Quantities take a unit: 20ms, 3.35TB/s, 50t, 30day. Run 'mlsysim COMMAND --help'.")
    parser.add_argument("--version", action="version", version=f"mlsysim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("evaluate", help="evaluate an application scenario and print its scorecard",
                       description="Evaluate a scenario of mlsysim.Applications (names are case-insensitive: "
                                   "doorbell, keywordspotting, autodrive, chatbot, ondevicellm, frontier).")
    p.add_argument("scenario", help="scenario name (see 'mlsysim list applications')")
    p.add_argument("--model", help="replace the scenario's model (Models name)")
    p.add_argument("--hardware", help="replace the scenario's device (Hardware name)")
    p.add_argument("--region", help="replace the scenario's grid region (Infra name)")
    _json_flag(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("solve", help="answer an inverse question (what value meets a target?)",
                       description="Solve for one unknown that meets one target.")
    ssub = p.add_subparsers(dest="solver", metavar="SOLVER", parser_class=_Parser)
    ssub.required = True

    sp = ssub.add_parser("serving", help="LLM serving (ServingSolver)",
                         description="e.g. mlsysim solve serving --for memory_bandwidth --model Llama3_70B "
                                     "--hardware H100 --seq-len 8192 --tpot 20ms")
    sp.add_argument("--for", dest="unknown", required=True,
                    help="the unknown: an input of Equations.Serving (memory_bandwidth, batch_size, seq_len, "
                         "num_devices, peak_flops, compute_efficiency ...), num_replicas (with --arrival-rate), "
                         "concurrency (with --tpot or --effective-tpot) or pool_ratio (disaggregated prefill/decode "
                         "pools: --arrival-rate, --ttft-p99 and --tpot)")
    sp.add_argument("--model", required=True, help="Models name")
    sp.add_argument("--hardware", required=True, help="Hardware name")
    _add(sp, _SERVING_OPTS)
    _add(sp, _OVERRIDE_OPTS)
    _add(sp, _FLEET_OPTS + _FLEET_SOLVE_OPTS)
    _add_targets(sp, _SERVING_TARGETS + _FLEET_TARGETS)
    _json_flag(sp)
    sp.set_defaults(func=cmd_solve_serving)

    sp = ssub.add_parser("node", help="single-node inference (SingleNodeSolver)",
                         description="e.g. mlsysim solve node --for batch_size --model ResNet50 --hardware H100 "
                                     "--latency 10ms")
    sp.add_argument("--for", dest="unknown", required=True,
                    help="the unknown: an input of Equations.Inference (batch_size, memory_bandwidth, peak_flops, "
                         "compute_efficiency ...)")
    sp.add_argument("--model", required=True, help="Models name (a CNN or encoder)")
    sp.add_argument("--hardware", required=True, help="Hardware name")
    _add(sp, _NODE_OPTS)
    _add(sp, _OVERRIDE_OPTS)
    _add_targets(sp, _NODE_TARGETS)
    _json_flag(sp)
    sp.set_defaults(func=cmd_solve_node)

    sp = ssub.add_parser("carbon", help="energy and carbon (SustainabilitySolver)",
                         description="e.g. mlsysim solve carbon --for duration --hardware H100 --num-devices 1 "
                                     "--region Poland --carbon 50t")
    sp.add_argument("--for", dest="unknown", required=True,
                    help="the unknown: a variable of Equations.Carbon (duration, num_devices, carbon_intensity, "
                         "pue, utilization ...)")
    sustainability, tco = _job_solvers()
    _add(sp, _solver_options(sustainability))
    _add_targets(sp, _solver_targets(sustainability))
    _json_flag(sp)
    sp.set_defaults(func=cmd_solve_carbon)

    sp = ssub.add_parser("tco", help="total cost of ownership (TCOSolver)",
                         description="e.g. mlsysim solve tco --for duration --hardware H100 --num-devices 8 "
                                     "--region US_Avg --tco 300000USD")
    sp.add_argument("--for", dest="unknown", required=True,
                    help="the unknown: a variable of Equations.TCO (duration, unit_price, electricity_price, "
                         "num_devices, lifetime ...)")
    _add(sp, _solver_options(tco))
    _add_targets(sp, _solver_targets(tco))
    _json_flag(sp)
    sp.set_defaults(func=cmd_solve_tco)

    sp = ssub.add_parser("training", help="distributed training layout search (DistributedSolver.search)",
                         description="e.g. mlsysim solve training --model Llama3_405B --fleet Llama3_Cluster --search "
                                     "--top 5. Every layout (tp, cp, pp, dp, ep, micro-batch, interleave, "
                                     "recompute, ZeRO, sequence parallelism) evaluated on the per-operation model; "
                                     "the best printed, the rejected counted by their binding constraint.")
    sp.add_argument("--model", required=True, help="Models name (a transformer)")
    sp.add_argument("--fleet", required=True, help="Systems name (a cluster)")
    sp.add_argument("--search", action="store_true", help="run the layout search")
    sp.add_argument("--top", type=_positive_int, default=10, help="layouts to print (default 10)")
    sp.add_argument("--objective", choices=_SEARCH_OBJECTIVES, default="step_time",
                    help="ranking: smallest step_time / memory_per_device, largest mfu / tokens_per_second")
    sp.add_argument("--global-batch", dest="global_batch", type=_positive_int, default=None,
                    help="sequences per optimizer step [1] (default: from a scenario training this model on this "
                         "fleet, e.g. Frontier)")
    sp.add_argument("--seq-len", dest="seq_len", type=_positive_int, default=None,
                    help="training sequence length [tokens] (default: the scenario's, else the model's)")
    sp.add_argument("--precision", default="bf16", help="training precision (default bf16)")
    for flag, dest, help_ in _SEARCH_AXES:
        sp.add_argument(flag, dest=dest, type=_int_list, default=None, help=help_)
    sp.add_argument("--recompute-modes", dest="recompute_modes", type=_name_list, default=None,
                    help="recomputation modes to try: none,selective,full (default all)")
    sp.add_argument("--zero-stages", dest="zero_stages", type=_zero_list, default=None,
                    help="ZeRO stages to try, e.g. 1,3 (default 0,1,2,3)")
    sp.add_argument("--offloads", type=_name_list, default=None,
                    help="offload options to try, comma-separated, each 'none' or kinds joined by '+' "
                         "(optimizer, activations, weights), e.g. none,optimizer,optimizer+activations (default: "
                         "every combination where the device has a sourced host link and host memory)")
    sp.add_argument("--allow-cross-node-tp", action="store_true", help="permit tp larger than a node")
    sp.add_argument("--attention-kernel", default=None,
                    help="unfused or flash (default: the scenario's, else unfused)")
    sp.add_argument("--no-dropout", action="store_true", default=None,
                    help="the model trains without dropout (default: the scenario's, else with dropout)")
    sp.add_argument("--no-overlap-grad-reduce", action="store_true",
                    help="the gradient reduction starts after the backward pass (Megatron-LM 2021's local DDP)")
    sp.add_argument("--compute-efficiency", type=_fraction, default=None,
                    help="one efficiency for all arithmetic: the flat model (even stages, no cp/ep)")
    _json_flag(sp)
    sp.set_defaults(func=cmd_solve_training)

    p = sub.add_parser("serve", help="LLM serving forward: TTFT, TPOT, KV cache, memory (ServingSolver)",
                       description="e.g. mlsysim serve --model Llama3_70B --hardware H200 --seq-len 8192 "
                                   "--precision fp8")
    p.add_argument("--model", required=True, help="Models name (a decoder LLM)")
    p.add_argument("--hardware", required=True, help="Hardware name")
    _add(p, _SERVING_OPTS)
    _add(p, _OVERRIDE_OPTS)
    _add(p, _FLEET_OPTS)
    _json_flag(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("train", help="distributed training forward: step time, breakdown, MFU, memory "
                                     "(DistributedSolver)",
                       description="e.g. mlsysim train --model Llama3_405B --fleet Llama3_Cluster --tp 8 --pp 16 "
                                   "--dp 128 --global-batch 2048 --seq-len 8192 --recompute full --interleave 4")
    p.add_argument("--model", required=True, help="Models name (a transformer)")
    p.add_argument("--fleet", required=True, help="Systems name (a cluster)")
    _add(p, _TRAIN_OPTS)
    p.add_argument("--sequence-parallel", action="store_true", help="Megatron sequence parallelism")
    p.add_argument("--no-dropout", action="store_true", help="the model trains without dropout")
    p.add_argument("--no-overlap-grad-reduce", action="store_true",
                   help="the gradient reduction starts after the backward pass (Megatron-LM 2021's local DDP; "
                        "default: bucketed, overlapping the last microbatch's backward)")
    p.add_argument("--offload", default=None, metavar="KINDS",
                   help="what lives in host memory, comma-separated: optimizer, activations, weights "
                        "(ZeRO-Offload / ZeRO-Infinity)")
    p.add_argument("--tokens", type=float, default=None, help="training tokens, for the time to train")
    _json_flag(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("node", help="single-node forward: latency, throughput, bottleneck (SingleNodeSolver)",
                       description="e.g. mlsysim node --model ResNet50 --hardware H100 --batch-size 256")
    p.add_argument("--model", required=True, help="Models name")
    p.add_argument("--hardware", required=True, help="Hardware name")
    _add(p, _NODE_OPTS)
    _add(p, _OVERRIDE_OPTS)
    p.add_argument("--power", type=_quantity, default=None, help="device power during the step, e.g. 0.1W "
                                                                 "(default: the device's TDP)")
    _json_flag(p)
    p.set_defaults(func=cmd_node)

    p = sub.add_parser("list", help="list registry entries",
                       description="List models, hardware, infra (grids and datacentres), applications or "
                                   "equations; --sources adds the citations.")
    p.add_argument("what", choices=["models", "hardware", "infra", "applications", "equations"])
    p.add_argument("--sources", action="store_true", help="include every value's or equation's source")
    p.add_argument("--unverified", action="store_true",
                   help="hardware: list every value not from a primary source (derived, secondary, assumption)")
    _json_flag(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("latex", help="export the equation sets as LaTeX fragments or Quarto pages (mlsysim.latex)",
                       description="Write the LaTeX fragments of every equation set (with references.bib and "
                                   "values.tex) or their Quarto pages to --out; see docs/latex.md.")
    p.add_argument("--out", default="equations", help="output folder (default: equations/)")
    p.add_argument("--format", choices=["tex", "qmd", "both"], default="tex",
                   help="tex: LaTeX fragments (default); qmd: one Quarto page per set; both: side by side")
    p.add_argument("--inline-sources", action="store_true",
                   help="print citations inline instead of \\cite{key} / [@key] into references.bib")
    p.add_argument("--chapter", default=None, metavar="NAME",
                   help="only what one chapter needs (roofline, serving, training, sustainability), with a README")
    _json_flag(p)
    p.set_defaults(func=cmd_latex)

    p = sub.add_parser("explore", help="write an interactive explorer: a static offline site (mlsysim.explore)",
                       description="Write index.html, explorer.js and explorer.css to --out: one panel per equation "
                                   "set, every formula compiled to JavaScript from the sympy equations. e.g. "
                                   "mlsysim explore --out site/ --set Roofline --set Serving --scenario Chatbot")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--set", dest="sets", action="append", default=None,
                   help="equation set to show (repeat for several; default Roofline and Serving)")
    p.add_argument("--scenario", default=None, help="Applications scenario whose scorecard to add (a serving one)")
    _json_flag(p)
    p.set_defaults(func=cmd_explore)

    p = sub.add_parser("validate", help="check mlsysim against published cases (mlsysim.validation.main)",
                       description="Run mlsysim.validation.main with the remaining arguments.")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to mlsysim.validation.main")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plot", help="draw a figure to a file (needs matplotlib: mlsysim[plot])",
                       description="Draw a roofline, a serving-latency or a carbon-by-region figure to --out "
                                   "(.png, .pdf or .svg).")
    psub = p.add_subparsers(dest="plot", metavar="PLOT", parser_class=_Parser)
    psub.required = True

    def _plot_common(pp, default_out):
        pp.add_argument("--out", default=default_out, help=f"output file, .png/.pdf/.svg (default {default_out})")
        pp.add_argument("--dpi", type=_number, default=150, help="resolution of a .png [dots per inch] (default 150)")
        _json_flag(pp)
        pp.set_defaults(func=cmd_plot)

    pp = psub.add_parser("roofline", help="device roofline with the workloads' points (mlsysim.plot.roofline)",
                         description="e.g. mlsysim plot roofline --hardware H100 --model Llama3_70B "
                                     "--batch-sizes 1,8,64 --out roofline.png")
    pp.add_argument("--hardware", required=True, help="Hardware name")
    pp.add_argument("--model", action="append", default=None, help="Models name (repeat for several)")
    pp.add_argument("--precision", default="fp16", help="numeric precision (default fp16)")
    pp.add_argument("--batch-sizes", dest="batch_sizes", type=_int_list, default=[1],
                    help="comma-separated batch sizes to place, e.g. 1,8,64 (default 1)")
    pp.add_argument("--seq-len", dest="seq_len", type=_positive_int, default=None,
                    help="context of a decoder's decode step [tokens]")
    _plot_common(pp, "roofline.png")

    pp = psub.add_parser("serving", help="time per output token vs batch size (mlsysim.plot.serving_latency)",
                         description="e.g. mlsysim plot serving --model Llama3_8B --hardware H100 "
                                     "--seq-lens 1024,8192 --out serving.png")
    pp.add_argument("--model", required=True, help="Models name (a decoder LLM)")
    pp.add_argument("--hardware", required=True, help="Hardware name")
    pp.add_argument("--precision", default="fp16", help="numeric precision (default fp16)")
    pp.add_argument("--batch-sizes", dest="batch_sizes", type=_int_list, default=[1, 2, 4, 8, 16, 32, 64, 128, 256],
                    help="comma-separated batch sizes (default 1,2,4,...,256)")
    pp.add_argument("--seq-lens", dest="seq_lens", type=_int_list, default=[1024, 8192, 32768],
                    help="comma-separated contexts [tokens] (default 1024,8192,32768)")
    pp.add_argument("--num-devices", dest="num_devices", type=_positive_int, default=1,
                    help="tensor-parallel devices in one node [1] (default 1)")
    _plot_common(pp, "serving.png")

    pp = psub.add_parser("carbon", help="a job's emissions in several grid regions (mlsysim.plot.carbon_by_region)",
                         description="e.g. mlsysim plot carbon --hardware H100 --num-devices 8 --duration 30day "
                                     "--regions Quebec,France,Poland --out carbon.png")
    pp.add_argument("--regions", required=True, type=_name_list, help="comma-separated Infra region names")
    pp.add_argument("--metric", default="carbon", choices=["carbon", "total_carbon", "energy", "it_energy", "water",
                                                           "total_water"], help="what the bars show (default carbon)")
    _add(pp, _solver_options(_job_solvers()[0], exclude=("region",)))
    _plot_common(pp, "carbon.png")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input)."""
    from .core.errors import MlsysimError

    raw = list(argv) if argv is not None else sys.argv[1:]
    if raw and raw[0] == "validate":
        # mlsysim.validation parses its own options: pass them on in the order they were typed
        try:
            return cmd_validate(argparse.Namespace(rest=raw[1:]))
        except (MlsysimError, CLIError) as exc:
            sys.stderr.write(f"{PROG}: error: {' '.join(str(exc).split())}\n")
            return 2
    parser = build_parser()
    args, extra = parser.parse_known_args(_negative_values(raw))
    if extra:
        if getattr(args, "command", None) == "validate":
            args.rest = list(args.rest) + list(extra)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (MlsysimError, CLIError) as exc:
        msg = " ".join(str(exc).split())
        sys.stderr.write(f"{PROG}: error: {msg}\n")
        return 2
    except OSError as exc:  # a file or folder the command was told to write cannot be written
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"{PROG}: error: cannot write{where}: {exc.strerror or exc}\n")
        return 2
    except (AttributeError, KeyError, ValueError, TypeError, ArithmeticError) as exc:
        if os.environ.get("MLSYSIM_DEBUG"):
            raise
        msg = " ".join(str(exc).split()) or type(exc).__name__
        sys.stderr.write(f"{PROG}: error: {msg} (set MLSYSIM_DEBUG=1 for the traceback)\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
