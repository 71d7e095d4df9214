"""Default input values and the registry pickers, filled at generation time from the solvers' bindings.

The page's model, hardware and precision pickers set inputs to the values the solvers bind for that
registry choice (``ServingSolver`` for Serving, the decode step of the same binding for Roofline,
``SustainabilitySolver``/``TCOSolver`` for Carbon/TCO), each with its source. Nothing is computed here
that an equation set computes: the Roofline workload point (its FLOPs and bytes) is the Serving set's
own ``decode_flops``/``decode_bytes`` evaluated at the binding.

For each input the generator records which pickers its value depends on (found by binding every
combination), so that the page stores one value per model, per hardware, per (hardware, precision) ...
rather than one per combination.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..core.errors import MlsysimError
from ..core.units import magnitude_in
from ..core.variables import VARIABLES

DEFAULT_MODEL = "Llama3_70B"
DEFAULT_HARDWARE = "H200"
DEFAULT_PRECISION = "fp16"
PRECISIONS = ("fp16", "bf16", "fp8", "int8")
#: the request the Serving panel opens with (editable in the page)
REQUEST = {"batch_size": 8, "prompt_tokens": 1024, "output_tokens": 256}
REQUEST_SOURCE = "explorer default request (1,024-token prompt, 256 generated tokens, 8 sequences); edit it"
DEFAULT_REGION = "US_Avg"
FACTORS = ("model", "hardware", "precision")


def _base(name: str, value) -> float:
    m = magnitude_in(value, VARIABLES[name].base_unit, name)
    return float(np.asarray(m))


def _serving_binding(model: str, hardware: str, precision: str, **request):
    """(knowns, {name: source text}) of ServingSolver for a registry choice."""
    from ..solvers import ServingSolver

    req = {**REQUEST, **request}
    s = ServingSolver()
    b = s.bind(model=model, hardware=hardware, precision=precision, **req)
    inputs = s.equations.inputs  # the Serving set's knowns (the binding also holds the per-operation set's)
    srcs = {k: REQUEST_SOURCE if k in req else str(v) for k, v in b.sources.items() if k in inputs}
    return {k: v for k, v in b.knowns.items() if k in inputs}, srcs


def _roofline_binding(model, hardware, precision):
    from ..core.equation_sets import Equations

    knowns, src = _serving_binding(model, hardware, precision)
    serving = Equations["Serving"]
    out = serving.evaluate(outputs=["decode_flops", "decode_bytes"], **knowns)
    where = (f"Equations.Serving {{}} of one decode step of {model} ({precision}, batch "
             f"{knowns['batch_size']}, context {knowns['seq_len']})")
    vals = {"flops": out.decode_flops, "bytes_moved": out.decode_bytes}
    srcs = {"flops": where.format("decode_flops"), "bytes_moved": where.format("decode_bytes")}
    for k in ("peak_flops", "memory_bandwidth", "compute_efficiency", "overhead"):
        vals[k], srcs[k] = knowns[k], src[k]
    return vals, srcs


def _job_binding(solver_name: str):
    def bind(model, hardware, precision):
        from ..core.units import Q_
        from ..solvers import sustainability as S

        solver = getattr(S, solver_name)()
        kw = dict(hardware=hardware, num_devices=1, duration=Q_(1.0, "year"), region=DEFAULT_REGION)
        b = solver.bind(**kw)
        srcs = {k: str(b.sources.get(k, "")) for k in b.knowns}
        srcs["duration"] = "explorer default: one year of operation"
        return dict(b.knowns), srcs
    return bind


BINDERS = {"Serving": _serving_binding, "Roofline": _roofline_binding,
           "Carbon": _job_binding("SustainabilitySolver"), "TCO": _job_binding("TCOSolver")}
#: registry choices each set's binding depends on
USES = {"Serving": FACTORS, "Roofline": FACTORS, "Carbon": ("hardware",), "TCO": ("hardware",)}


def picker_choices():
    """Models, hardware and precisions the pickers offer: those ServingSolver can bind."""
    from ..hardware import Hardware
    from ..models import Models

    models = []
    for m in Models.names():
        try:
            _serving_binding(m, DEFAULT_HARDWARE, DEFAULT_PRECISION)
            models.append(m)
        except MlsysimError:
            continue
    hardware = []
    for h in Hardware.names():
        for p in PRECISIONS:  # a TPU publishes bf16 but no fp16 peak: offered all the same
            try:
                _serving_binding(DEFAULT_MODEL, h, p)
            except MlsysimError:
                continue
            hardware.append(h)
            break
    return {"model": models, "hardware": hardware, "precision": list(PRECISIONS)}


def _label(kind: str, key: str) -> str:
    from ..hardware import Hardware
    from ..models import Models

    obj = {"model": Models, "hardware": Hardware}.get(kind)
    if obj is None:
        return key
    o = obj.get(key)
    return getattr(o, "name", key)


def binding_tables(set_names, choices) -> dict:
    """``{set: {input: {"by": [factors], "values": {key: [base magnitude, source index]}}}}`` plus sources."""
    sources: list[str] = []
    index: dict[str, int] = {}

    def sid(text):
        if text not in index:
            index[text] = len(sources)
            sources.append(text)
        return index[text]

    tables = {}
    for name in set_names:
        binder = BINDERS.get(name)
        if binder is None:
            continue
        uses = USES[name]
        axes = [choices[f] if f in uses else [None] for f in FACTORS]
        raw = {}
        for combo in itertools.product(*axes):
            args = [c if c is not None else d for c, d in zip(combo, (DEFAULT_MODEL, DEFAULT_HARDWARE,
                                                                      DEFAULT_PRECISION))]
            try:
                vals, srcs = binder(*args)
            except MlsysimError:
                continue
            for k, v in vals.items():
                if k not in VARIABLES:
                    continue
                try:
                    mag = _base(k, v)
                except MlsysimError:
                    continue
                if not math.isfinite(mag):
                    continue
                raw.setdefault(k, {})[combo] = (mag, srcs.get(k, ""))
        table = {}
        for k, per in raw.items():
            by = _factors_of(per, uses)
            values = {}
            for combo, (mag, s) in per.items():
                key = "|".join(str(c) for f, c in zip(FACTORS, combo) if f in by)
                values[key] = [mag, sid(s)]
            table[k] = {"by": list(by), "values": values}
        tables[name] = table
    labels = {kind: {k: _label(kind, k) for k in keys} for kind, keys in choices.items()}
    return {"tables": tables, "sources": sources, "choices": choices, "labels": labels,
            "defaults": {"model": DEFAULT_MODEL, "hardware": DEFAULT_HARDWARE, "precision": DEFAULT_PRECISION}}


def _factors_of(per: dict, uses) -> tuple:
    """Smallest set of pickers that determines the value (and source) of one input."""
    idx = {f: i for i, f in enumerate(FACTORS)}
    subsets = [s for r in range(len(uses) + 1) for s in itertools.combinations(uses, r)]
    for sub in subsets:
        seen = {}
        ok = True
        for combo, val in per.items():
            key = tuple(combo[idx[f]] for f in sub)
            if key in seen and seen[key] != val:
                ok = False
                break
            seen[key] = val
        if ok:
            return sub
    return tuple(uses)
