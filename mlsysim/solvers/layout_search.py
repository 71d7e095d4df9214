"""The layout search of :class:`~mlsysim.solvers.distributed.DistributedSolver`: every way to lay a training job
out on a fleet, each evaluated on the same model that :meth:`DistributedSolver.solve` uses, in one fused call.

Axes (each a tuple the caller may narrow): tensor parallelism ``tp``, context parallelism ``cp``, pipeline
parallelism ``pp`` (uneven stages: ``pp`` need not divide the layers, split as
:func:`~mlsysim.solvers.distributed.stage_layers` splits them), ``pipeline_interleave``, expert parallelism ``ep``
(mixture-of-experts models only; ``ep`` ranks are taken from the data-parallel ones), ``micro_batch_size``,
``recompute`` (none, selective, full), ``zero_stage`` (0-3), ``sequence_parallel`` and ``offload`` (what lives in
host memory, where the device has a sourced host link and host memory). The data-parallel degree
is what the devices leave: ``dp = N / (tp cp pp)``.

How it runs
-----------
1. **Enumerate with numpy** (no Python loop over layouts): the grid of ``(tp, cp, pp, ep)`` first, masked by
   the constraints that depend on those four alone (topology, heads, sequence, layers, devices, experts); the
   survivors crossed with the grid of the other axes and masked again (batch, schedule). Every layout of the
   grid that breaks a constraint is *rejected* with the first constraint it breaks (the binding one), in the
   order of :data:`REASONS`. Sequence parallelism with ``tp = 1`` is the same layout as without it and is not
   enumerated.
2. **Bind** the surviving layouts to the set's inputs as arrays: the constant inputs of one layout come from
   the solver's own binding (``DistributedSolver._knowns_ops``), the inputs that vary with the layout from the
   same rules applied to arrays (see :func:`_ops_knowns`; a test checks every one against the scalar binding).
3. **Evaluate** only what ranking and the memory constraint need (``step_time``, ``memory_per_device``,
   ``memory_utilization``, ``mfu``, ``tokens_per_second``; the host memory per node with offload) in a few staged
   calls of the set's fused kernels (:data:`RANK_STAGES`); layouts whose memory exceeds the device's, or whose
   offloaded state exceeds the node's host memory, are rejected (``memory``, with the factor over).
4. **Rank** the fitting layouts by the objective (equal values: the smaller memory per device first) and compute
   the step-time breakdown of the ``top`` best only (one scalar evaluation per row).

The per-operation model (``Equations.TrainingStep``) is evaluated unless the solver or the call gives a
``compute_efficiency``, which selects the flat Iron Law model (``Equations.Parallelism``), exactly as
:meth:`DistributedSolver.solve` chooses; the flat model needs even stages and has no ``cp``/``ep``.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..core.errors import DomainError, UnknownNameError
from ..core.precision import normalize_precision
from ..core.units import Q_
from . import distributed as _d

#: rejection reasons, in the order they are checked (the first a layout breaks is its binding constraint):
#: code -> (category, short label, message template over the layout's values)
REASONS: dict[int, tuple[str, str, str]] = {
    1: ("topology", "tp larger than a node",
        "tp = {tp} is larger than a node ({g} devices): tensor parallelism would cross the inter-node fabric "
        "(allow_cross_node_tp=True models it)"),
    2: ("topology", "tp does not divide the node",
        "tp = {tp} does not divide the {g} devices of a node (its groups would straddle two nodes)"),
    3: ("topology", "cross-node tp not a multiple of the node",
        "tp = {tp} spans nodes but is not a multiple of the {g} devices of a node"),
    4: ("divisibility", "tp does not divide the heads", "tp = {tp} does not divide the {heads} attention heads"),
    5: ("divisibility", "cp does not divide seq_len", "cp = {cp} does not divide seq_len = {seq_len}"),
    6: ("layers", "pp exceeds the layers", "pp = {pp} exceeds the {layers} layers (every stage needs one)"),
    7: ("divisibility", "pp does not divide the layers (flat model)",
        "pp = {pp} does not divide the {layers} layers (the flat model needs even stages)"),
    8: ("divisibility", "tp*cp*pp does not divide the devices",
        "tp * cp * pp = {tpcpp} does not divide the {devices} devices"),
    9: ("divisibility", "ep does not divide the experts", "ep = {ep} does not divide the {experts} experts"),
    10: ("divisibility", "ep does not divide dp*cp", "ep = {ep} does not divide dp * cp = {dpcp}"),
    11: ("divisibility", "dp*micro_batch_size does not divide global_batch",
         "dp * micro_batch_size = {dpb} does not divide global_batch = {global_batch}"),
    12: ("schedule", "interleave needs pp > 1", "pipeline_interleave = {v} needs pipeline parallelism (pp > 1)"),
    13: ("layers", "interleave exceeds the smallest stage",
         "pipeline_interleave = {v} exceeds the {smallest} layers of the smallest of {pp} stages (each model chunk "
         "needs a layer)"),
    14: ("divisibility", "pp*interleave does not divide the layers (flat model)",
         "pp * pipeline_interleave = {ppv} does not divide the {layers} layers (flat model)"),
    15: ("divisibility", "microbatches not a multiple of pp (interleaved)",
         "the {m} microbatches are not a multiple of pp = {pp} (interleaved schedule)"),
    16: ("memory", "device memory", "needs {mem:.1f} GB per device, {util:.2f}x the device's {cap:.1f} GB"),
    17: ("memory", "host memory",
         "offloaded state needs {hmem:.1f} GB of host memory per node, {hutil:.2f}x the node's {hcap:.1f} GB"),
}
#: what may be offloaded to host memory (``DistributedSolver.solve(offload=...)``)
OFFLOAD_KINDS: tuple = tuple(_d.OFFLOAD_KINDS)


def _offload_tuple(value) -> tuple:
    """An offload option as the tuple of kinds it names, in :data:`OFFLOAD_KINDS` order (``None``, ``()``,
    ``"none"``: nothing; ``"optimizer+activations"``, ``"optimizer,activations"`` or an iterable of kinds)."""
    if value is None or value == "none":
        return ()
    flags = _d.offload_flags(value.replace("+", ",") if isinstance(value, str) else value)
    return tuple(k for k in OFFLOAD_KINDS if flags[f"offload_{k}"])


#: categories of :data:`REASONS`, in order
CATEGORIES = ("topology", "divisibility", "layers", "schedule", "memory")
#: layout keys of a row, in display order
LAYOUT_KEYS = ("tp", "cp", "pp", "dp", "ep", "micro_batch_size", "pipeline_interleave", "recompute", "zero_stage",
               "sequence_parallel", "offload")
#: outputs evaluated for every layout (ranking and the memory constraint)
RANK_OUTPUTS = ["step_time", "memory_per_device", "memory_utilization", "mfu", "tokens_per_second"]
#: host-memory outputs, where the device has a sourced host memory (offload)
HOST_OUTPUTS = ["host_memory_per_node", "host_memory_utilization"]
#: ranking direction of each objective: 1 smallest first, -1 largest first
OBJECTIVES = {"step_time": 1, "mfu": -1, "tokens_per_second": -1, "memory_per_device": 1}


# ------------------------------------------------------------------------------------------ grid
def _pow2_upto(n: int) -> tuple:
    out, v = [], 1
    while v <= n:
        out.append(v)
        v *= 2
    return tuple(out)


def _divisors(n: int) -> tuple:
    return tuple(d for d in range(1, int(n) + 1) if n % d == 0)


def _axis(name: str, values, default) -> np.ndarray:
    vals = default if values is None else values
    try:
        vals = list(vals)
    except TypeError:
        vals = [vals]
    if not vals:
        raise DomainError(f"{name}: give at least one value; got an empty list")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 1:
            raise DomainError(f"{name} must be whole numbers >= 1; got {v!r}")
    return np.array(sorted({int(v) for v in vals}), dtype=np.int64)


def _grid(*axes):
    """Cartesian product of 1-D arrays, one flat array per axis (first axis slowest)."""
    mesh = np.meshgrid(*axes, indexing="ij")
    return [m.ravel() for m in mesh]


def _first_reason(n: int, checks) -> np.ndarray:
    """``checks``: (code, mask of rows breaking it) in order; each row gets the first code it breaks (0: none)."""
    code = np.zeros(n, dtype=np.int16)
    for c, bad in checks:
        code[(code == 0) & bad] = c
    return code


def _min_stage(num_layers: int, pp: np.ndarray) -> np.ndarray:
    """Per ``pp``, the layers of the smallest pipeline stage in the split :func:`stage_layers` makes, floor(L / p):
    the bound on ``pipeline_interleave`` (every model chunk needs a layer), the rule
    :meth:`DistributedSolver.solve` applies."""
    return int(num_layers) // np.asarray(pp, dtype=np.int64)


# ------------------------------------------------------------------------------------------ results
class Rejected:
    """The layouts a search rejected and why: the binding (first broken) constraint of each.

    ``counts`` {category: layouts} (categories :data:`CATEGORIES`), ``by_reason`` {reason: layouts},
    ``len(rejected)``, :meth:`rows` (per-layout reasons), :meth:`why` (the reason of one layout).
    """

    def __init__(self, ctx: dict, struct: dict, struct_code: np.ndarray, struct_weight: np.ndarray,
                 inner: dict, expanded: dict, expanded_code: np.ndarray, memory: dict):
        self._ctx = ctx
        self._struct = struct              # rejected (tp, cp, pp, ep) rows: each stands for every inner combination
        self._struct_code = struct_code
        self._struct_weight = struct_weight
        self._inner = inner                # the inner grid (micro_batch_size, interleave, recompute, zero, sp)
        self._exp = expanded               # rejected rows of the expanded grid
        self._exp_code = expanded_code
        self._mem = memory                 # rows rejected for memory (with mem, util)
        self.counts = {c: 0 for c in CATEGORIES}
        self.by_reason: dict[str, int] = {}
        for codes, weights in ((struct_code, struct_weight), (expanded_code, None), (memory["code"], None)):
            for c in np.unique(codes):
                k = int((weights[codes == c]).sum()) if weights is not None else int((codes == c).sum())
                cat = REASONS[int(c)][0]
                self.counts[cat] += k
                key = self._short(int(c))
                self.by_reason[key] = self.by_reason.get(key, 0) + k

    def _py(self, key: str, v) -> Any:
        return _py(key, v, self._ctx["offloads"])

    @staticmethod
    def _short(code: int) -> str:
        """``category: label`` of a reason (the key that groups layouts in :attr:`by_reason`)."""
        return f"{REASONS[code][0]}: {REASONS[code][1]}"

    def __len__(self):
        return sum(self.counts.values())

    def _message(self, code: int, row: dict) -> str:
        c = self._ctx
        tp, cp, pp = row["tp"], row["cp"], row["pp"]
        dp = row.get("dp") or 0
        vals = dict(row, g=c["g"], heads=c["heads"], seq_len=c["seq_len"], layers=c["layers"],
                    devices=c["devices"], experts=c["experts"], global_batch=c["global_batch"], tpcpp=tp * cp * pp,
                    dpcp=dp * cp, dpb=dp * row.get("micro_batch_size", 1),
                    v=row.get("pipeline_interleave", 1), ppv=pp * row.get("pipeline_interleave", 1),
                    m=(c["global_batch"] // (dp * row.get("micro_batch_size", 1))) if dp else 0,
                    mem=row.get("memory_per_device", 0.0), util=row.get("memory_utilization", 0.0),
                    cap=c["capacity_gb"], hmem=row.get("host_memory_per_node", 0.0),
                    hutil=row.get("host_memory_utilization", 0.0), hcap=c["host_capacity_gb"],
                    smallest=int(_min_stage(c["layers"], np.array([pp]))[0]))
        return REASONS[code][2].format(**vals)

    def _memory_row(self, i: int) -> dict:
        m = self._mem
        row = {k: self._py(k, m[k][i]) for k in LAYOUT_KEYS}
        row.update(memory_per_device=float(m["mem"][i]), memory_utilization=float(m["util"][i]))
        if int(m["code"][i]) == 17:
            row.update(host_memory_per_node=float(m["hmem"][i]), host_memory_utilization=float(m["hutil"][i]))
        return dict(row, category="memory", reason=self._message(int(m["code"][i]), row))

    def _inner_rows(self, tp: int):
        inn = self._inner
        for j in range(len(inn["micro_batch_size"])):
            if tp == 1 and inn["sequence_parallel"][j]:
                continue
            yield {k: self._py(k, inn[k][j]) for k in inn}

    def rows(self, limit: int | None = 100, category: str | None = None) -> list:
        """Rejected layouts with ``category`` and ``reason`` (a sentence naming the quantities), at most
        ``limit`` (None: all; a search may reject millions). Memory rejections first, then the others in the
        order they were found."""
        if category is not None and category not in CATEGORIES:
            raise UnknownNameError(f"category must be one of {', '.join(CATEGORIES)}; got {category!r}")
        out: list = []

        def full():
            return limit is not None and len(out) >= limit

        if category in (None, "memory"):
            for i in range(len(self._mem["tp"])):
                if full():
                    return out
                out.append(self._memory_row(i))
        for i in range(len(self._exp_code)):
            code = int(self._exp_code[i])
            if category not in (None, REASONS[code][0]):
                continue
            if full():
                return out
            row = {k: self._py(k, self._exp[k][i]) for k in LAYOUT_KEYS}
            out.append(dict(row, category=REASONS[code][0], reason=self._message(code, row)))
        for i in range(len(self._struct_code)):
            code = int(self._struct_code[i])
            if category not in (None, REASONS[code][0]):
                continue
            base = {k: self._py(k, self._struct[k][i]) for k in ("tp", "cp", "pp", "dp", "ep")}
            for inner in self._inner_rows(base["tp"]):
                if full():
                    return out
                row = {k: (base | inner)[k] for k in LAYOUT_KEYS}
                out.append(dict(row, category=REASONS[code][0], reason=self._message(code, row)))
        return out

    def why(self, **layout) -> dict | None:
        """The rejection of one layout (``tp=16, pp=2, ...``; unspecified axes match any value): a dict with
        ``category`` and ``reason``, or None if no such layout was rejected."""
        want = {k: v for k, v in layout.items() if v is not None}
        bad = set(want) - set(LAYOUT_KEYS)
        if bad:
            raise UnknownNameError(f"layout keys are {', '.join(LAYOUT_KEYS)}; got {', '.join(sorted(bad))}")

        def match(row):
            return all(row.get(k) == v for k, v in want.items())

        def select(arrays):
            sel = np.ones(len(arrays["tp"]), dtype=bool)
            for k, v in want.items():
                if k == "recompute":
                    v = _d.RECOMPUTE_MODES.index(v) if v in _d.RECOMPUTE_MODES else -1
                elif k == "offload":
                    v = self._ctx["offloads"].index(_offload_tuple(v)) if _offload_tuple(v) in self._ctx["offloads"] \
                        else -1
                sel &= arrays[k] == v
            return np.nonzero(sel)[0]

        for i in select(self._mem)[:1]:
            return self._memory_row(i)
        for i in select(self._exp)[:1]:
            row = {k: self._py(k, self._exp[k][i]) for k in LAYOUT_KEYS}
            return dict(row, category=REASONS[int(self._exp_code[i])][0],
                        reason=self._message(int(self._exp_code[i]), row))
        sel = np.ones(len(self._struct_code), dtype=bool)
        for k in ("tp", "cp", "pp", "dp", "ep"):
            if k in want:
                sel &= self._struct[k] == want[k]
        for si in np.nonzero(sel)[0]:
            base = {k: self._py(k, self._struct[k][si]) for k in ("tp", "cp", "pp", "dp", "ep")}
            for inner in self._inner_rows(base["tp"]):
                row = {k: (base | inner)[k] for k in LAYOUT_KEYS}
                if match(row):
                    code = int(self._struct_code[si])
                    return dict(row, category=REASONS[code][0], reason=self._message(code, row))
        return None

    def to_dict(self) -> dict:
        return {"total": len(self), "counts": dict(self.counts), "by_reason": dict(self.by_reason)}

    def __repr__(self):
        lines = [f"Rejected: {len(self):,} layouts"]
        lines += [f"  {c:<13} {n:>12,}" for c, n in self.counts.items() if n]
        ranked = sorted(self.by_reason.items(), key=lambda x: -x[1])
        lines += ["  by reason:"] + [f"    {n:>12,}  {r}" for r, n in ranked]
        return "\n".join(lines)


def _py(key: str, v, offloads: tuple = ((),)) -> Any:
    if key == "offload":
        return offloads[int(v)]
    if key == "recompute":
        return _d.RECOMPUTE_MODES[int(v)]
    if key == "sequence_parallel":
        return bool(v)
    return int(v)


class LayoutTable:
    """Layouts that fit, ranked by the objective (best first), and the rejected ones.

    ``len(table)`` (fitting layouts), ``table[i]`` (a row dict: the layout, ``step_time`` [s], ``mfu``,
    ``tokens_per_second`` [1/s], ``memory_per_device`` [GB], ``memory_utilization``; the ``top`` best rows also
    ``breakdown``, {part: seconds}), iteration over rows, ``table.best`` (a
    :class:`~mlsysim.solvers.distributed.DistributedResult` of the best layout, re-solved), :meth:`result`,
    :meth:`breakdown`, ``table.rejected`` (:class:`Rejected`), ``table.enumerated`` (layouts of the grid),
    ``table.evaluated`` (layouts evaluated on the model: those that passed every structural check),
    :meth:`to_dict`.
    """

    def __init__(self, arrays: dict, order: np.ndarray, objective: str, enumerated: int, evaluated: int, solver,
                 context: dict, knowns: dict, eqset, parts: list, breakdowns: dict, rejected: Rejected,
                 model_kind: str, offloads: tuple = ((),)):
        self._offloads = offloads
        self._a = arrays
        self._order = order
        self.objective = objective
        self.enumerated = enumerated
        self.evaluated = evaluated
        self._solver = solver
        self._context = context
        self._knowns = knowns
        self._eqset = eqset
        self.parts = parts
        self._breakdowns = breakdowns
        self.rejected = rejected
        self.model_kind = model_kind
        self._rows: dict[int, dict] = {}

    def __len__(self):
        return len(self._order)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"row {i} of a table of {n} fitting layouts")
        i = i % n
        row = self._rows.get(i)
        if row is None:
            j = int(self._order[i])
            a = self._a
            row = {k: _py(k, a[k][j], self._offloads) for k in LAYOUT_KEYS}
            row.update({k: float(a[k][j]) for k in ("host_memory_per_node", "host_memory_utilization") if k in a})
            row.update(step_time=float(a["step_time"][j]), mfu=float(a["mfu"][j]),
                       tokens_per_second=float(a["tokens_per_second"][j]),
                       memory_per_device=float(a["memory_per_device"][j]) / 1e9,
                       memory_utilization=float(a["memory_utilization"][j]))
            if i in self._breakdowns:
                row["breakdown"] = dict(self._breakdowns[i])
            self._rows[i] = row
        return row

    def __iter__(self) -> Iterator[dict]:
        return (self[i] for i in range(len(self)))

    @property
    def rows(self) -> list:
        """Every fitting row (builds them all: prefer indexing or iteration on a large table)."""
        return list(self)

    @property
    def best(self):
        """The :class:`~mlsysim.solvers.distributed.DistributedResult` of the best layout (re-solved)."""
        if not len(self):
            raise DomainError("no layout fits in device memory; try a larger fleet, ZeRO or recomputation (see "
                              "table.rejected)")
        return self.result(0)

    def layout(self, i: int) -> dict:
        """The layout of row ``i`` as :meth:`DistributedSolver.solve` keywords."""
        row = self[i]
        lay = {k: row[k] for k in LAYOUT_KEYS}
        if self.model_kind == "flat":
            lay.pop("cp")
            lay.pop("ep")
        if self.model_kind == "flat":
            lay.pop("offload")
        return lay

    def result(self, i: int):
        """The full :class:`~mlsysim.solvers.distributed.DistributedResult` of row ``i`` (re-solved)."""
        return self._solver.solve(**self._context, **self.layout(i))

    def breakdown(self, i: int) -> dict:
        """The additive parts of row ``i``'s step time [s] (computed on first request past the ``top`` rows)."""
        self[i]
        i = i % len(self)
        if i not in self._breakdowns:
            self._breakdowns.update(_breakdowns(self._eqset, self._knowns, self.parts, self._order[[i]], start=i))
        return dict(self._breakdowns[i])

    def to_dict(self, top: int | None = None) -> dict:
        n = len(self) if top is None else min(int(top), len(self))
        return {"objective": self.objective, "model": self.model_kind, "enumerated": self.enumerated,
                "evaluated": self.evaluated, "fitting": len(self), "rejected": self.rejected.to_dict(),
                "rows": [self[i] for i in range(n)]}

    def __repr__(self):
        head = (f"LayoutTable: {len(self):,} fitting layouts of {self.evaluated:,} evaluated "
                f"({self.enumerated:,} enumerated), by {self.objective}")
        lines = [head, "   tp  cp  pp    dp  ep  mbs  v recompute zero sp  step_time[s]    mfu  mem[GB]  offload"]
        for i in range(min(10, len(self))):
            r = self[i]
            lines.append(f"  {r['tp']:>3} {r['cp']:>3} {r['pp']:>3} {r['dp']:>5} {r['ep']:>3} "
                         f"{r['micro_batch_size']:>4} {r['pipeline_interleave']:>2} {r['recompute']:>9} "
                         f"{r['zero_stage']:>4} "
                         f"{str(r['sequence_parallel'])[0]:>2} {r['step_time']:>13.4g} {r['mfu']:>6.3f} "
                         f"{r['memory_per_device']:>8.1f}  {'+'.join(r['offload']) or '-'}")
        if len(self) > 10:
            lines.append(f"  ... {len(self) - 10:,} more")
        lines.append("rejected: " + ", ".join(f"{c} {n:,}" for c, n in self.rejected.counts.items() if n))
        return "\n".join(lines)


#: the evaluation in stages: each stage's outputs become knowns of the next (the set's relations bypassed for them,
#: only the knowns a stage needs passed). The same relations and numbers as one call, but each fused kernel is built
#: from smaller expressions: the first search of a process builds its kernels in ~1-2 s instead of ~4-10 s (measured
#: for Llama-3-405B on 16,384 GPUs on the development machine), since expanding the whole step-time expression at
#: once costs more than its pieces. Names the set does not derive are skipped (the flat model).
RANK_STAGES = [
    ["layer_gemm_time", "layer_kernel_time", "layer_backward_kernel_time", "attention_core_time",
     "tp_collective_time"],
    ["layer_time", "head_stage_time", "embedding_kernel_time", "dp_comm_time", "dp_overlap_window", "optimizer_time",
     "activation_bytes_per_layer", "params_per_device"],
    ["stage_pace_time", "pp_comm_time", "dp_exposed_time", "bubble_ratio", "gemm_step_time", "kernel_step_time",
     "model_state_bytes", "inflight_microbatches", "offload_optimizer_step_time"],
    ["step_time", "memory_per_device", "memory_utilization"],
    ["mfu", "tokens_per_second"],
]


def _staged(eqset, knowns: dict, stages: list) -> dict:
    """{name: base-unit magnitude (array)} of every stage's outputs, evaluated stage by stage (see
    :data:`RANK_STAGES`)."""
    derived = set(eqset.derived)
    have = dict(knowns)
    out: dict = {}
    for outs in stages:
        outs = [o for o in outs if o in derived]
        if not outs:
            continue
        stop = frozenset(k for k in have if k in derived)
        need = set().union(*(eqset.input_deps(o, stop) for o in outs))
        res = eqset.evaluate(outputs=outs, **{k: v for k, v in have.items() if k in need})
        for o in outs:
            have[o] = res[o]
            out[o] = res.magnitude(o)
    return out


def _rank(eqset, knowns: dict, n: int, host: bool = False) -> dict:
    """{output: array of base-unit magnitudes} of :data:`RANK_OUTPUTS` for every row, from the set (and the host
    memory per node and its utilisation where the device has a host memory, ``host``)."""
    stages = [list(st) for st in RANK_STAGES]
    names = list(RANK_OUTPUTS)
    if host:
        next(st for st in stages if "memory_utilization" in st).extend(HOST_OUTPUTS)
        names += HOST_OUTPUTS
    vals = _staged(eqset, knowns, stages)
    return {k: np.broadcast_to(np.asarray(vals[k], dtype=float), (n,)) for k in names}


def _breakdowns(eqset, knowns: dict, parts: list, idx: np.ndarray, start: int = 0) -> dict:
    """{rank: {part: seconds}} for the evaluated rows ``idx`` (ranks ``start``, ``start + 1``, ...): one scalar
    evaluation of the set per row (a handful of rows: the scalar kernel builds faster than an array one)."""
    out = {}
    for r, j in enumerate(np.asarray(idx)):
        res = eqset.evaluate(outputs=parts, **_scalar_knowns(knowns, int(j)))
        out[start + r] = {p: float(res.magnitude(p)) for p in parts}
    return out


def _scalar_knowns(knowns: dict, j: int) -> dict:
    """The knowns of row ``j`` as scalars."""
    out = {}
    for k, v in knowns.items():
        m = getattr(v, "magnitude", v)
        if isinstance(m, np.ndarray) and m.ndim:
            out[k] = Q_(float(m[j]), v.units) if hasattr(v, "units") else float(m[j])
        else:
            out[k] = v
    return out


# ------------------------------------------------------------------------------------------ binding
def _ops_knowns(solver, model, fleet, R: dict, precision, seq_len, global_batch, assumptions, attention_kernel,
                dropout, offloads: tuple = ((),), extra: dict | None = None) -> dict:
    """``TrainingStep`` inputs of the layouts ``R`` (dict of equal-length integer arrays), vectorised.

    The inputs that do not depend on the layout come from the solver's binding of the first layout
    (``DistributedSolver._knowns_ops``); the flat model's layout inputs (sharding, activation coefficients,
    placement) from ``DistributedSolver._knowns``, which takes arrays; the layout's own inputs from
    :func:`~mlsysim.solvers.distributed.layout_inputs`, the function ``_knowns_ops`` calls for one layout.
    ``tests/solvers/test_layout_search.py`` checks every input of sampled layouts against the scalar binding.
    """
    tp, cp, pp, ep, dp = (R[k] for k in ("tp", "cp", "pp", "ep", "dp"))
    rec = R["recompute"]
    modes = np.array(_d.RECOMPUTE_MODES, dtype=object)
    lay0 = {k: _py(k, R[k][0], offloads) for k in LAYOUT_KEYS}
    opt = dict(extra or {}, offload=lay0["offload"])
    k0, _used = solver._knowns_ops(model, fleet, lay0, precision, seq_len, global_batch, assumptions,
                                   attention_kernel, dropout, **opt)
    flat_L = {"tp": tp, "pp": pp, "dp": dp, "micro_batch_size": R["micro_batch_size"], "zero_stage": R["zero_stage"],
              "recompute": modes[rec], "sequence_parallel": R["sequence_parallel"].astype(bool),
              "pipeline_interleave": R["pipeline_interleave"]}
    flat = solver._knowns(model, fleet, flat_L, precision, seq_len, global_batch, assumptions)
    k = dict(k0)
    for name, v in flat.items():
        if name in k and isinstance(getattr(v, "magnitude", v), np.ndarray):
            k[name] = v
    # the layout's own inputs (recomputation, stage split, groups' links, placement, the tensor-parallel law,
    # gradient buckets): the solver's function, on arrays
    lay = {"tp": tp, "cp": cp, "pp": pp, "dp": dp, "ep": ep, "recompute": modes[rec]}
    k.update(_d.layout_inputs(model, fleet, precision, lay, solver.ops_assumptions, k0["parameters"],
                              k0["expert_parameters"]))
    # ZeRO traffic and schedule switches, offload switches and the host: the solver's own helpers, on arrays
    k.update(_d.schedule_inputs(R["zero_stage"], R["pipeline_interleave"]))
    flags = {f"offload_{kind}": np.array([float(kind in o) for o in offloads], dtype=np.float64)[R["offload"]]
             for kind in OFFLOAD_KINDS}
    k.update(_d.host_inputs(fleet, flags, solver.ops_assumptions)[0])
    return k


# ------------------------------------------------------------------------------------------ search
def search(solver, *, model, fleet, global_batch: int, seq_len: int | None = None, precision: str = "bf16",
           objective: str = "step_time", top: int = 10, tps=None, cps=None, pps=None, eps=None,
           micro_batch_sizes=(1, 2, 4, 8), interleaves=(1, 2, 4), recompute_modes=_d.RECOMPUTE_MODES,
           zero_stages=(0, 1, 2, 3), sequence_parallel=(False, True), offloads=None, compute_efficiency=None,
           dp_overlap=None, link_efficiency=None, allow_cross_node_tp: bool = False, attention_kernel: str = "unfused",
           dropout: bool = True, attention_causal_skip=None, overlap_grad_reduce: bool = True) -> LayoutTable:
    """See :meth:`DistributedSolver.search`."""
    model, fleet = solver._resolve(model, fleet)
    if objective not in OBJECTIVES:
        raise UnknownNameError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
        raise DomainError(f"top must be a whole number >= 0; got {top!r}")
    seq_len = model.seq_len if seq_len is None else _d._int("seq_len", seq_len)
    global_batch = _d._int("global_batch", global_batch)
    precision = normalize_precision(precision)
    if attention_kernel not in _d.ATTENTION_KERNELS:
        raise UnknownNameError(f"attention_kernel must be one of {', '.join(_d.ATTENTION_KERNELS)}; got "
                               f"{attention_kernel!r}")
    if not isinstance(dropout, bool):
        raise DomainError(f"dropout must be True or False; got {dropout!r}")
    for r in recompute_modes:
        if r not in _d.RECOMPUTE_MODES:
            raise UnknownNameError(f"recompute must be one of {', '.join(_d.RECOMPUTE_MODES)}; got {r!r}")
    for z in zero_stages:
        if isinstance(z, bool) or z not in (0, 1, 2, 3):
            raise DomainError(f"zero_stages: a ZeRO stage is 0, 1, 2 or 3; got {z!r}")
    for s in sequence_parallel:
        if not isinstance(s, (bool, np.bool_)):
            raise DomainError(f"sequence_parallel: give True and/or False; got {s!r}")
    ops = solver.per_operation(compute_efficiency)
    assumptions = solver._assumptions_for(compute_efficiency, dp_overlap, link_efficiency)
    n, g = fleet.num_devices, fleet.devices_per_node
    L, E = model.num_layers, model.num_experts
    moe = E > 1
    tp_ax = _axis("tps", tps, sorted(set(_divisors(g)) | {2 * g}))
    cp_ax = _axis("cps", cps, _pow2_upto(16) if ops else (1,))
    pp_ax = _axis("pps", pps, range(1, L + 1))
    ep_ax = _axis("eps", eps, _divisors(E))
    if not ops and (cp_ax.max() > 1 or ep_ax.max() > 1):
        raise DomainError("cps / eps: context and expert parallelism need the per-operation model; give no "
                          "compute_efficiency")
    if not moe and ep_ax.max() > 1:
        raise DomainError(f"eps: expert parallelism needs a mixture-of-experts model; {model.name} is dense "
                          f"(num_experts = 1)")
    mbs_ax = _axis("micro_batch_sizes", micro_batch_sizes, None)
    v_ax = _axis("interleaves", interleaves, None)
    rec_ax = np.array(sorted({_d.RECOMPUTE_MODES.index(r) for r in recompute_modes}), dtype=np.int64)
    z_ax = np.array(sorted({int(z) for z in zero_stages}), dtype=np.int64)
    sp_ax = np.array(sorted({int(bool(s)) for s in sequence_parallel}), dtype=np.int64)
    if not len(rec_ax) or not len(z_ax) or not len(sp_ax):
        raise DomainError("recompute_modes, zero_stages and sequence_parallel need at least one value each")
    hw = fleet.hardware
    host_ok = hw.get("host_link_bandwidth") is not None and hw.get("host_memory_capacity") is not None
    if offloads is None:   # every subset of the kinds where the device has a sourced host link and memory
        opts = [tuple(k for j, k in enumerate(OFFLOAD_KINDS) if m >> j & 1) for m in range(2 ** len(OFFLOAD_KINDS))] \
            if ops and host_ok else [()]
    else:
        if isinstance(offloads, str):
            offloads = [offloads]
        opts = []
        for o in offloads:
            t = _offload_tuple(o)
            if t not in opts:
                opts.append(t)
        if not opts:
            raise DomainError("offloads: give at least one option (() for nothing offloaded)")
        if any(opts) and not ops:
            raise DomainError("offloads: offload needs the per-operation model; give no compute_efficiency")
        if any(opts) and not host_ok:
            raise DomainError(f"offloads: {hw.key} has no sourced host link bandwidth and host memory capacity; "
                              f"offload cannot be modelled on it (give offloads=[()])")
    offload_opts = tuple(sorted(opts, key=lambda t: (len(t), [OFFLOAD_KINDS.index(k) for k in t])))
    o_ax = np.arange(len(offload_opts), dtype=np.int64)
    extra: dict = {} if attention_causal_skip is None else {"attention_causal_skip": attention_causal_skip}
    _d.check_overlap_grad_reduce(overlap_grad_reduce, ops)
    if not overlap_grad_reduce:
        extra["overlap_grad_reduce"] = False

    # ---- level 1: (tp, cp, pp, ep)
    tp, cp, pp, ep = _grid(tp_ax, cp_ax, pp_ax, ep_ax)
    tcp = tp * cp * pp
    divides = n % tcp == 0
    dp = np.where(divides, n // np.maximum(tcp, 1), 0)
    checks = [(1, (tp > g) & (not allow_cross_node_tp)), (2, (tp <= g) & (g % tp != 0)),
              (3, (tp > g) & (tp % g != 0)), (4, model.num_heads % tp != 0), (5, seq_len % cp != 0),
              (6, pp > L)]
    if not ops:
        checks.append((7, L % pp != 0))
    checks += [(8, ~divides), (9, E % ep != 0), (10, (dp * cp) % ep != 0)]
    code1 = _first_reason(len(tp), checks)
    # ---- the inner grid: micro-batch, interleave, recompute, ZeRO, sequence parallelism, offload
    b_in, v_in, r_in, z_in, s_in, o_in = _grid(mbs_ax, v_ax, rec_ax, z_ax, sp_ax, o_ax)
    inner = {"micro_batch_size": b_in, "pipeline_interleave": v_in, "recompute": r_in, "zero_stage": z_in,
             "sequence_parallel": s_in, "offload": o_in}
    n_in_all, n_in_nosp = len(b_in), int((s_in == 0).sum())
    weight1 = np.where(tp > 1, n_in_all, n_in_nosp)
    ok1 = code1 == 0
    rej1 = ~ok1
    struct = {"tp": tp[rej1], "cp": cp[rej1], "pp": pp[rej1], "ep": ep[rej1], "dp": dp[rej1]}
    # ---- level 2: valid (tp, cp, pp, ep) x inner grid (sequence parallelism only where tp > 1)
    si = np.nonzero(ok1)[0]
    S, K = len(si), len(b_in)
    rows_s = np.repeat(si, K)
    rows_k = np.tile(np.arange(K), S)
    keep = (tp[rows_s] > 1) | (s_in[rows_k] == 0)
    rows_s, rows_k = rows_s[keep], rows_k[keep]
    X = {"tp": tp[rows_s], "cp": cp[rows_s], "pp": pp[rows_s], "ep": ep[rows_s], "dp": dp[rows_s]}
    X.update({k: v[rows_k] for k, v in inner.items()})
    dpb = X["dp"] * X["micro_batch_size"]
    bdiv = global_batch % dpb == 0
    m = np.where(bdiv, global_batch // dpb, 0)
    v = X["pipeline_interleave"]
    checks2 = [(11, ~bdiv), (12, (v > 1) & (X["pp"] == 1))]
    if ops:
        checks2.append((13, v > _min_stage(L, X["pp"])))
    else:
        checks2.append((14, L % (X["pp"] * v) != 0))
    checks2.append((15, (v > 1) & (m % X["pp"] != 0)))
    code2 = _first_reason(len(dpb), checks2)
    ok2 = code2 == 0
    enumerated = int(weight1.sum())
    expanded = {k: a[~ok2] for k, a in X.items()}
    R = {k: a[ok2] for k, a in X.items()}
    evaluated = int(ok2.sum())
    cap_gb = hw.memory_capacity.m_as("GB")
    host_cap = hw.get("host_memory_capacity")
    ctx = dict(g=g, heads=model.num_heads, seq_len=seq_len, layers=L, devices=n, experts=E,
               global_batch=global_batch, capacity_gb=cap_gb, offloads=offload_opts,
               host_capacity_gb=host_cap.m_as("GB") if host_cap is not None else 0.0)
    context = dict(model=model, fleet=fleet, global_batch=global_batch, seq_len=seq_len, precision=precision,
                   compute_efficiency=compute_efficiency, dp_overlap=dp_overlap, link_efficiency=link_efficiency,
                   allow_cross_node_tp=allow_cross_node_tp)
    if ops:
        context.update(attention_kernel=attention_kernel, dropout=dropout, **extra)
    empty_mem: dict = {k: np.zeros(0, dtype=np.int64) for k in [*LAYOUT_KEYS, "code"]} | {
        "mem": np.zeros(0), "util": np.zeros(0), "hmem": np.zeros(0), "hutil": np.zeros(0)}
    if evaluated == 0:
        rejected = Rejected(ctx, struct, code1[rej1], weight1[rej1], inner, expanded, code2[~ok2], empty_mem)
        raise DomainError(f"no valid layout of {model.name} on {fleet.name} with global_batch = {global_batch}: "
                          + "; ".join(f"{r} ({c:,})" for r, c in sorted(rejected.by_reason.items(),
                                                                         key=lambda x: -x[1])[:3]))
    # ---- evaluate every valid layout in one fused call
    if ops:
        knowns = _ops_knowns(solver, model, fleet, R, precision, seq_len, global_batch, assumptions,
                             attention_kernel, dropout, offload_opts, extra)
        eqset, parts = _d._training_step(), list(_d.OPS_PARTS)
    else:
        modes = np.array(_d.RECOMPUTE_MODES, dtype=object)
        flat_L = {"tp": R["tp"], "pp": R["pp"], "dp": R["dp"], "micro_batch_size": R["micro_batch_size"],
                  "zero_stage": R["zero_stage"], "recompute": modes[R["recompute"]],
                  "sequence_parallel": R["sequence_parallel"].astype(bool),
                  "pipeline_interleave": R["pipeline_interleave"]}
        knowns = solver._knowns(model, fleet, flat_L, precision, seq_len, global_batch, assumptions)
        eqset, parts = _d._parallelism(), list(_d.FLAT_PARTS)
    host = "host_memory_capacity" in knowns
    mag = _rank(eqset, knowns, evaluated, host)
    dev_ok = mag["memory_utilization"] <= 1.0
    fits = dev_ok & (mag["host_memory_utilization"] <= 1.0) if host else dev_ok
    mem_rows = {k: a[~fits] for k, a in R.items()}
    mem_rows.update(mem=mag["memory_per_device"][~fits] / 1e9, util=mag["memory_utilization"][~fits],
                    code=np.where(dev_ok[~fits], 17, 16).astype(np.int16))
    zeros = np.zeros(int((~fits).sum()))
    mem_rows.update(hmem=mag["host_memory_per_node"][~fits] / 1e9 if host else zeros,
                    hutil=mag["host_memory_utilization"][~fits] if host else zeros)
    rejected = Rejected(ctx, struct, code1[rej1], weight1[rej1], inner, expanded, code2[~ok2], mem_rows)
    fit_idx = np.nonzero(fits)[0]
    # ranked by the objective; equal values by the smaller memory per device (step time for the memory objective)
    second = "step_time" if objective == "memory_per_device" else "memory_per_device"
    order = fit_idx[np.lexsort((mag[second][fit_idx], OBJECTIVES[objective] * mag[objective][fit_idx]))]
    arrays = dict(R, **mag)
    breakdowns = _breakdowns(eqset, knowns, parts, order[:top])
    return LayoutTable(arrays, order, objective, enumerated, evaluated, solver, context, knowns, eqset, parts,
                       breakdowns, rejected, "per_operation" if ops else "flat", offload_opts)
