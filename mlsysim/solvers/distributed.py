"""``DistributedSolver``: 3D-parallel training of a transformer on a fleet.

A thin façade over ``Equations.Parallelism``: it binds a model (``TransformerWorkload``), a fleet
(``Fleet``) and a layout (tp, pp, dp, microbatch, ZeRO stage, recomputation) to the set's inputs,
calls ``EquationSet.evaluate`` (scalars for :meth:`DistributedSolver.solve`, numpy arrays of every
layout at once for :meth:`DistributedSolver.search`) and wraps the result. No relation is written
here: the only arithmetic is the *placement* of ranks on nodes (how many ranks of a group share a
node), which selects inputs and is documented in :func:`placement`.

Efficiency assumptions (one set, used for every configuration; override any by keyword):

``compute_efficiency`` = 0.5
    achieved / peak FLOP/s of the training step's arithmetic (see :data:`DEFAULT_ASSUMPTIONS`).
``link_efficiency`` = 0.8
    achievable fraction of every link's nominal bandwidth.
``dp_overlap`` = 0.0
    fraction of the data-parallel gradient all-reduce hidden behind the backward pass.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.assumptions import Assumption
from ..core import defaults as _defaults
from ..core.defaults import LINK_EFFICIENCY
from ..core.errors import DomainError, MissingValueError, UnknownNameError, UnknownVariableError
from ..core.precision import bytes_per_element, normalize_precision
from ..core.sources import assumption, derived
from ..core.units import Q_
from .base import Binding, Solver, given_source

RECOMPUTE_MODES = ("none", "selective", "full")

DEFAULT_ASSUMPTIONS: dict[str, Assumption] = {
    "compute_efficiency": Assumption(
        "compute_efficiency", 0.5, assumption(
            "mlsysim training compute efficiency",
            "achieved / peak FLOP/s of a transformer training step's arithmetic (matmuls plus the softmax, "
            "norm and element-wise kernels between them), before communication and pipeline bubbles. Chosen "
            "once for all configurations: Megatron-LM reaches 44-52% of A100 peak end to end with those "
            "overheads included (Narayanan et al. 2021, Table 1), so the arithmetic alone must run faster; "
            "one round value for every configuration, not fitted per case (with it the five Megatron-LM Table 1 "
            "rows are predicted within 15%, see tests/test_distributed.py)"),
        "achieved / peak compute of the arithmetic"),
    "link_efficiency": LINK_EFFICIENCY,
    "dp_overlap": Assumption(
        "dp_overlap", 0.0, assumption(
            "mlsysim data-parallel overlap",
            "Megatron-LM (2021) all-reduces gradients after the pipeline flush, not during the backward pass; "
            "0 = no overlap (conservative). Frameworks with bucketed overlap (PyTorch DDP, Li et al. 2020) "
            "justify values up to ~0.9: pass dp_overlap=..."),
        "fraction of the gradient all-reduce hidden by the backward pass"),
}

#: assumptions of the per-operation model (``Equations.TrainingStep``), besides the calibrated laws
OPS_ASSUMPTIONS: dict[str, Assumption] = {
    "tp_overlap": Assumption(
        "tp_overlap", 1.0, assumption(
            "backward tensor-parallel overlap",
            "Megatron-LM issues the input-gradient all-reduce of a column-parallel layer asynchronously and computes "
            "the weight gradient meanwhile (Korthikanti et al. 2022, Sec. 4.2.2); 1 = all of the backward traffic "
            "may hide, up to the weight-gradient GEMMs' length (the set caps it there)"),
        "fraction of the backward tensor-parallel traffic that can overlap the weight-gradient GEMMs"),
    "grad_bytes_per_element": Assumption(
        "grad_bytes_per_element", Q_(4, "byte"), assumption(
            "gradient reduction precision",
            "Megatron-LM accumulates and all-reduces gradients in fp32 when training in bf16 "
            "(--accumulate-allreduce-grads-in-fp32, switched on for bf16 in megatron/arguments.py): 4 bytes per "
            "element. With fp16 training that switch is off by default and the fp16 gradients are reduced (2 bytes): "
            "the solver then charges the training precision's bytes, unless this assumption is "
            "overridden"),
        "bytes per gradient element in the data-parallel reduction"),
    "capacity_factor": Assumption(
        "capacity_factor", 1.25, assumption(
            "expert capacity factor",
            "Switch Transformer trains with capacity factors 1.0-1.25 (Fedus et al. 2021, Sec. 2.2 and Table 1); "
            "GShard uses 2 (Lepikhin et al. 2020); 1.25: expert GEMMs and all-to-alls are padded to 1.25x the "
            "mean routed load (mixture-of-experts models only)"),
        "expert capacity over the mean routed load"),
    "softmax_causal_read": Assumption(
        "softmax_causal_read", 1.0, assumption(
            "causal softmax kernel",
            "with the score matrix in memory (attention_kernel='unfused'), Megatron-LM's fused scale + implicit "
            "causal mask + softmax kernel for GPT models (Narayanan et al. 2021, Sec. 4.2; "
            "megatron/fused_kernels/scaled_upper_triang_masked_softmax.h) loads only the unmasked elements of each "
            "score row, forward and backward, and writes whole rows; 1 = that kernel (about half the reads of a full "
            "matrix), 0 = a softmax that reads whole rows (a general-mask kernel, plain PyTorch)"),
        "1 if the softmax kernel reads only the unmasked (causal) part of each score row"),
    "dp_bucket_bytes": Assumption(
        "dp_bucket_bytes", Q_(25e6, "byte"), assumption(
            "gradient bucket size",
            "PyTorch DDP's default bucket_cap_mb = 25 (Li et al. 2020, VLDB 13(12), Sec. 3.2.3); the last bucket of "
            "a step cannot overlap the backward pass"),
        "bytes per data-parallel gradient bucket"),
    "offload_overlap": Assumption(
        "offload_overlap", 1.0, assumption(
            "host-link transfers overlap compute",
            "ZeRO-Offload sends gradients to the host as the backward pass produces them (Ren et al. 2021, Sec. 4.2) "
            "and ZeRO-Infinity's overlap-centric design prefetches parameters and activations on separate streams "
            "under compute (Rajbhandari et al. 2021, Sec. 6.2); 1 = all of a transfer may hide, but never more "
            "than the compute window it runs under (the set caps it there: what the link cannot carry in that "
            "time is exposed). The parameter upload after the host's optimizer step never overlaps (no delayed "
            "parameter update)"),
        "fraction of a host-link transfer that may run under compute"),
    "host_adam_rate": Assumption(
        "host_adam_rate", Q_(1e9, "1/s"), assumption(
            "host Adam throughput (planning assumption)",
            "parameters per second the host's Adam updates for each device it serves. CPU Adam is memory-bound: about "
            "30 bytes per parameter (read fp32 weight, gradient and two moments, write weight and moments and the "
            "16-bit copy); a DGX H100 host (2 x Xeon 8480C, 8 channels of DDR5-4800 each: 614 GB/s) shared by 8 GPUs "
            "gives 77 GB/s per GPU, a bound of 2.6e9 parameters/s; ZeRO-Offload's vectorised CPU-Adam is 5-7x faster "
            "than PyTorch's CPU Adam but below that bound (Ren et al. 2021, Sec. 4.3; DeepSpeed's ZeRO-Offload "
            "tutorial). 1e9 parameters/s per GPU, about 40% of the bandwidth bound, is a planning assumption, not a "
            "measurement: give host_adam_rate= for a measured host"),
        "parameters per second the host's Adam updates, per device"),
}

#: training precisions whose gradients Megatron-LM reduces at the training precision by default (without
#: --accumulate-allreduce-grads-in-fp32, which megatron/arguments.py switches on for bf16 only)
GRAD_AT_TRAINING_PRECISION = ("fp16", "fp32")


def check_overlap_grad_reduce(value, per_operation: bool) -> None:
    """``overlap_grad_reduce`` must be a bool, and False only on the per-operation model (the flat model takes
    ``dp_overlap``); shared by :meth:`DistributedSolver.solve` and the layout search."""
    if not isinstance(value, bool):
        raise DomainError(f"overlap_grad_reduce must be True or False; got {value!r}")
    if not value and not per_operation:
        raise DomainError("overlap_grad_reduce is a switch of the per-operation model; the flat model (given "
                          "compute_efficiency) takes dp_overlap, the fraction of the reduction hidden")


def grad_bytes_for(ops: dict, precision: str) -> Assumption:
    """The gradient-reduction bytes a layout trained in ``precision`` uses: the solver's ``grad_bytes_per_element``
    (fp32 gradients, Megatron-LM's bf16 default), or, when that assumption is the default and the training
    precision is fp16 or fp32, the training precision's own bytes (Megatron-LM reduces fp16 gradients in fp16
    unless told otherwise); the returned Assumption's source says which."""
    a = ops["grad_bytes_per_element"]
    if a is not OPS_ASSUMPTIONS["grad_bytes_per_element"] or precision not in GRAD_AT_TRAINING_PRECISION:
        return a
    b = bytes_per_element(precision)
    if b == a.value:
        return a
    return Assumption(a.name, b, assumption(
        "gradient reduction precision", f"training in {precision}: Megatron-LM reduces the {precision} gradients "
        f"themselves ({b.m_as('byte'):g} bytes per element; --accumulate-allreduce-grads-in-fp32 is off by default "
        f"for {precision}, megatron/arguments.py); override grad_bytes_per_element for fp32 accumulation"),
        a.description)


#: what ``offload=`` may name (ZeRO-Offload / ZeRO-Infinity); each is a 0/1 input ``offload_<kind>`` of TrainingStep
OFFLOAD_KINDS = ("optimizer", "activations", "weights")


def offload_flags(offload) -> dict:
    """``{"offload_optimizer": 0|1, "offload_activations": 0|1, "offload_weights": 0|1}`` from ``offload=``.

    ``offload`` is ``None`` or ``()`` (nothing offloaded), one kind (``"optimizer"``), a comma-separated string
    (``"optimizer,activations"``) or an iterable of kinds; each kind one of :data:`OFFLOAD_KINDS`.

    Raises
    ------
    UnknownNameError
        A kind that is not one of :data:`OFFLOAD_KINDS` (the message names it and the choices).
    """
    if offload is None:
        names: list = []
    elif isinstance(offload, str):
        names = [n.strip() for n in offload.split(",") if n.strip()]
    else:
        try:
            names = list(offload)
        except TypeError:
            raise UnknownNameError(f"offload must be a kind or kinds among {', '.join(OFFLOAD_KINDS)}; got "
                                   f"{offload!r}") from None
    for n in names:
        if n not in OFFLOAD_KINDS:
            raise UnknownNameError(f"offload: {n!r} is not a kind of offload; choose from {', '.join(OFFLOAD_KINDS)}")
    return {f"offload_{kind}": int(kind in names) for kind in OFFLOAD_KINDS}

#: attention kernels: (score matrix materialised, description)
ATTENTION_KERNELS = {"unfused": 1, "flash": 0}

#: parts of ``step_time`` in the per-operation model (``DistributedResult.breakdown``)
OPS_PARTS = ["gemm_step_time", "kernel_step_time", "tp_exposed_step_time", "recompute_step_time",
             "cp_comm_step_time", "ep_alltoall_step_time", "stage_imbalance_step_time",
             "bubble_time", "pp_comm_time", "dp_exposed_time", "optimizer_time", "offload_optimizer_step_time",
             "offload_activations_step_time", "offload_weights_step_time"]
#: parts of ``step_time`` in the flat Iron Law model
FLAT_PARTS = ["compute_time", "tp_comm_time", "pp_comm_time", "bubble_time", "dp_exposed_time"]


def stage_layers(num_layers: int, pp: int) -> dict:
    """Layers per pipeline stage, as even as possible (placement, not physics).

    Every stage gets ``ceil(L / p)`` layers; the ``p ceil(L/p) - L`` missing ones are taken first from the
    last stage (which also runs the LM head and loss), then from the first (which runs the embedding), then
    from middle stages: Llama 3's 126 layers on 16 stages give 7, 8 x 14, 7 (Dubey et al. 2024, Sec. 3.3.2).

    Returns
    -------
    dict
        ``first_stage_layers``, ``middle_stage_layers`` (the largest middle stage; 0 if pp <= 2),
        ``last_stage_layers`` (0 if pp = 1), ``stage_layers`` (the largest), ``single_stage`` (1 if pp = 1).
    """
    L, p = int(num_layers), int(pp)
    n = -(-L // p)
    if p == 1:
        return dict(first_stage_layers=L, middle_stage_layers=0, last_stage_layers=0, stage_layers=L, single_stage=1)
    deficit = p * n - L
    last = n - (1 if deficit >= 1 else 0)
    first = n - (1 if deficit >= 2 else 0)
    middle = n if p > 2 else 0
    return dict(first_stage_layers=first, middle_stage_layers=middle, last_stage_layers=last,
                stage_layers=max(first, middle, last), single_stage=0)


#: outputs computed for every layout
OUTPUTS = ["step_time", "compute_time", "tp_comm_time", "pp_comm_time", "bubble_time", "bubble_ratio",
           "bubble_fraction",
           "dp_comm_time", "dp_exposed_time", "mfu", "hfu", "device_flops_rate", "scaling_efficiency",
           "tokens_per_second", "flops_per_iteration", "model_flops_per_iteration", "microbatches",
           "model_state_bytes", "activation_memory", "memory_per_device", "memory_utilization"]


OPS_OUTPUTS = ["step_time", *OPS_PARTS, "bubble_ratio", "bubble_fraction", "dp_comm_time", "stage_pace_time",
               "layer_time", "layer_gemm_time", "layer_kernel_time", "tp_exposed_layer_time", "head_stage_time",
               "mfu", "hfu", "device_flops_rate", "scaling_efficiency", "tokens_per_second", "flops_per_iteration",
               "model_flops_per_iteration", "microbatches", "model_state_bytes", "activation_memory",
               "memory_per_device", "memory_utilization", "offloaded_state_bytes", "host_bytes_per_device"]
#: host-memory outputs, computed where the device's node has a sourced host memory
HOST_OUTPUTS = ["host_memory_per_node", "host_memory_utilization"]


def _training_step():
    from ..core.equation_sets import Equations

    return Equations.TrainingStep


def _parallelism():
    from ..core.equation_sets import Equations

    return Equations.Parallelism


def placement(tp, pp, dp, devices_per_node):
    """Ranks of each parallel group that share a node (Megatron-LM order: tp innermost, then pp, then dp).

    Parameters
    ----------
    tp, pp, dp : int or ndarray
        Parallel degrees [1].
    devices_per_node : int
        Devices per node g [1].

    Returns
    -------
    dict
        ``tp_local`` = min(tp, g) and ``tp_nodes`` = ceil(tp / g) [1]; ``dp_local``: data-parallel ranks on
        one node, gcd(dp, g / (tp pp)) when tp * pp divides g, else 1 [1]; ``pp_intra``: True where every
        pipeline boundary stays inside a node (tp * pp <= g).
    """
    g = int(devices_per_node)
    tp = np.asarray(tp, dtype=np.int64)
    pp = np.asarray(pp, dtype=np.int64)
    dp = np.asarray(dp, dtype=np.int64)
    tpp = tp * pp
    per_node = np.where(g % tpp == 0, g // np.maximum(tpp, 1), 1)
    dp_local = np.gcd(dp, np.maximum(per_node, 1))
    return {"tp_local": np.minimum(tp, g), "tp_nodes": -(-tp // g), "dp_local": dp_local, "pp_intra": tpp <= g}


# ------------------------------------------------------------------------------------------ results
def schedule_inputs(zero_stage, pipeline_interleave) -> dict:
    """``TrainingStep``'s switches of the ZeRO stage and the pipeline schedule, for one layout or arrays of them.

    Returns ``dp_grad_allgather`` (1 for ZeRO-0: the all-reduce gathers reduced gradients), ``dp_param_allgathers``
    (0; 1 for ZeRO-1/2; 2 for ZeRO-3) and ``interleaved_schedule`` (1 where ``pipeline_interleave > 1``), as ints
    (scalars in) or float arrays (arrays in).
    """
    z = np.asarray(zero_stage)
    v = np.asarray(pipeline_interleave)
    out = {"dp_grad_allgather": (z == 0), "dp_param_allgathers": np.where(z == 0, 0, np.where(z == 3, 2, 1)),
           "interleaved_schedule": (v > 1)}
    if z.ndim == 0 and v.ndim == 0:
        return {k: int(x) for k, x in out.items()}
    return {k: np.asarray(x, dtype=float) for k, x in out.items()}


def layout_inputs(model, fleet, precision, L: dict, ops: dict, parameters, expert_parameters) -> dict:
    """``TrainingStep``'s layout-dependent inputs, for one layout (scalars) or arrays of layouts (the search).

    ``L`` holds ``tp``, ``cp``, ``pp``, ``dp``, ``ep`` and ``recompute`` (a mode name, or an object array of
    them): ints or equal-length integer arrays. Returned: the recomputation switches and training passes, the
    stage split (:func:`stage_layers`, per ``pp``), the context/expert/pipeline degrees and whether each group's
    links stay inside a node (Megatron-LM rank order tp, cp, ep within dp, then pp: a group stays inside a node
    while its ranks times the inner degrees fit in one), the data-parallel ranks per node (:func:`placement`),
    the tensor-parallel all-reduces on the calibrated alpha-beta law of ``tp`` workers, and the gradient buckets
    (``ceil(gradient bytes / bucket bytes)``, the gradient bytes from ``TrainingStep`` itself). Scalars in:
    Python numbers and scalar Quantities; arrays in: float arrays.
    """
    from ..calibration import laws_for
    from ..core.equation_sets import Equations

    scalar = np.ndim(L["tp"]) == 0
    tp, pp, dp = (np.atleast_1d(np.asarray(L[n], dtype=np.int64)) for n in ("tp", "pp", "dp"))
    cp = np.atleast_1d(np.asarray(L.get("cp", 1), dtype=np.int64)) * np.ones_like(tp)
    ep = np.atleast_1d(np.asarray(L.get("ep", 1), dtype=np.int64)) * np.ones_like(tp)
    rec = np.atleast_1d(np.asarray(L["recompute"], dtype=object))
    g = fleet.devices_per_node
    full, sel = (rec == "full"), (rec == "selective")
    k: dict = {"training_passes": np.where(full, 4, 3), "recompute_full": full.astype(np.int64),
               "recompute_selective": sel.astype(np.int64), "cp": cp, "ep": ep,
               "tp_forward_collectives": np.where(tp > 1, 2, 0), "tp_backward_collectives": np.where(tp > 1, 2, 0),
               "dp_local": placement(tp, pp, dp * cp, g)["dp_local"]}
    up, inv = np.unique(pp, return_inverse=True)
    split = [stage_layers(model.num_layers, int(x)) for x in up]
    for name in split[0]:
        k[name] = np.array([st[name] for st in split], dtype=np.int64)[inv]
    intra, inter = fleet.intra_node_fabric, fleet.inter_node_fabric
    bw_i, bw_x = intra.link_bandwidth.m_as("byte/s"), inter.link_bandwidth.m_as("byte/s")
    lat_i, lat_x = intra.link_latency.m_as("s"), inter.link_latency.m_as("s")
    for grp, inside in (("cp", tp * cp <= g), ("ep", tp * cp * ep <= g), ("pp", tp * cp * pp <= g)):
        k[f"{grp}_link_bandwidth"] = Q_(np.where(inside, bw_i, bw_x), "byte/s")
        k[f"{grp}_link_latency"] = Q_(np.where(inside, lat_i, lat_x), "s")
        if grp != "cp":
            k[f"{grp}_oversubscription"] = np.where(inside, 1.0, float(inter.oversubscription))
    laws = laws_for(fleet.hardware, precision)
    ut, inv = np.unique(tp, return_inverse=True)
    colls = [laws.collective("all_reduce", num_workers=max(int(t), 2), devices_per_node=min(max(int(t), 2), g))
             for t in ut]
    k["tp_collective_latency"] = Q_(np.array([c.alpha.value.m_as("s") for c in colls])[inv], "s")
    k["tp_collective_bandwidth"] = Q_(np.array([c.bandwidth.value.m_as("byte/s") for c in colls])[inv], "byte/s")
    grad_b = grad_bytes_for(ops, precision).value
    bucket = ops["dp_bucket_bytes"].value.m_as("byte")
    code = (tp * (int(pp.max()) + 1) + pp) * (int(ep.max()) + 1) + ep
    _u, first, inv = np.unique(code, return_index=True, return_inverse=True)
    buckets = []
    for j in first:
        dpm = Equations.TrainingStep.evaluate(
            outputs=["dp_message_bytes"], parameters=parameters, tp=int(tp[j]), pp=int(pp[j]),
            num_layers=model.num_layers, num_experts=model.num_experts, ep=int(ep[j]),
            expert_parameters=expert_parameters, grad_bytes_per_element=grad_b).dp_message_bytes
        buckets.append(max(1, math.ceil(dpm.m_as("byte") / bucket)))
    k["dp_buckets"] = np.array(buckets, dtype=np.int64)[inv]
    if scalar:  # one layout: Python numbers and scalar Quantities
        return {n: (Q_(v.magnitude[0].item(), v.units) if hasattr(v, "units") else v[0].item()) for n, v in k.items()}
    return {n: (Q_(np.asarray(v.magnitude, dtype=float), v.units) if hasattr(v, "units")
                else np.asarray(v, dtype=float)) for n, v in k.items()}


def host_inputs(fleet, flags: dict, ops_assumptions: dict | None = None):
    """``TrainingStep``'s offload inputs for a fleet: ``(knowns, assumptions used)``.

    ``flags`` maps ``offload_optimizer``, ``offload_activations``, ``offload_weights`` to 0/1 (ints, or arrays of
    them for a vectorised search; :func:`offload_flags` builds them from ``offload=``). The host link and the node's
    host memory come from the hardware registry (``host_link_bandwidth``, ``host_memory_capacity``); with nothing
    offloaded anywhere, a device without a sourced host link gets its memory bandwidth as an explicit stand-in (every
    host-link term is then 0 bytes). ``host_memory_capacity`` is in the knowns only where sourced.

    Raises
    ------
    MissingValueError
        Some layout offloads and the device has no sourced host link or host memory.
    """
    ops = ops_assumptions or OPS_ASSUMPTIONS
    hw, g = fleet.hardware, fleet.devices_per_node
    link, host_mem = hw.get("host_link_bandwidth"), hw.get("host_memory_capacity")
    used = [ops["offload_overlap"], ops["host_adam_rate"]]
    if any(np.any(np.asarray(flags[f"offload_{kind}"]) != 0) for kind in OFFLOAD_KINDS):
        kinds = ",".join(kind for kind in OFFLOAD_KINDS if np.any(np.asarray(flags[f"offload_{kind}"]) != 0))
        for name, value in (("host_link_bandwidth", link), ("host_memory_capacity", host_mem)):
            if value is None:
                raise MissingValueError(
                    f"offload={kinds!r} needs the host's {name.replace('_', ' ')}, and {hw.key} has no sourced "
                    f"{name}; give one: Fleet(hardware=Hardware.{hw.key}.replace({name}=...), ...)")
    if link is None:
        link = hw.memory_bandwidth
        used.append(Assumption("host_link_bandwidth", "unused", derived(
            "no offload", f"{hw.key} has no sourced host link; nothing is offloaded, so every host-link term is "
                          "0 bytes whatever the link's bandwidth (the memory bandwidth stands in)"),
            "device-host link bandwidth per device, each direction"))
    k = dict(flags, host_link_bandwidth=link, host_devices=g, offload_overlap=ops["offload_overlap"].value,
             host_adam_rate=ops["host_adam_rate"].value)
    if host_mem is not None:
        k["host_memory_capacity"] = host_mem
    return k, used


class DistributedResult:
    """One layout's step time, breakdown, utilisation and memory (every number from ``Parallelism``).

    Attributes (pint Quantities unless noted): ``step_time`` [s] and its parts ``compute_time``,
    ``tp_comm_time``, ``pp_comm_time``, ``bubble_time``, ``dp_exposed_time`` [s]; ``dp_comm_time`` [s]
    (before overlap); ``bubble_ratio`` (bubble / ideal time), ``bubble_fraction`` (bubble / step),
    ``mfu``, ``hfu``, ``scaling_efficiency`` [1];
    ``tokens_per_second`` [1/s]; ``device_flops_rate`` [TFLOP/s]; ``memory_per_device``,
    ``model_state_bytes``, ``activation_memory`` [GB]; ``fits`` (bool); ``layout`` (dict);
    ``assumptions`` (list of :class:`~mlsysim.core.assumptions.Assumption`).
    """

    def __init__(self, result, layout: dict, assumptions: list, model, fleet, knowns: dict):
        self._r = result
        self.layout = layout
        self.assumptions = assumptions
        self.model = model
        self.fleet = fleet
        self._knowns = knowns

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._r[name]
        except KeyError:
            names = OPS_OUTPUTS if self._r._set.name == "TrainingStep" else OUTPUTS
            raise AttributeError(f"DistributedResult has no {name!r}; available: {', '.join(names)}") from None

    @property
    def fits(self) -> bool:
        """True when model states plus activations fit in device memory, and offloaded state in host memory."""
        return self.binding_memory is None

    @property
    def binding_memory(self) -> str | None:
        """``None`` when the layout fits; else which memory overflows: ``"device memory"`` or ``"host memory"``
        (the node's host memory holding offloaded state)."""
        if self._r.magnitude("memory_utilization") > 1.0:
            return "device memory"
        if "host_memory_capacity" in self._knowns and self._r.magnitude("host_memory_utilization") > 1.0:
            return "host memory"
        return None

    @property
    def memory_capacity(self):
        return self._knowns["memory_capacity"]

    @property
    def model_kind(self) -> str:
        """``"per_operation"`` (``Equations.TrainingStep``, the default) or ``"flat"`` (``Parallelism``)."""
        return "per_operation" if self._r._set.name == "TrainingStep" else "flat"

    def breakdown(self) -> dict:
        """The additive parts of ``step_time`` [s]: they sum to it (to rounding)."""
        parts = OPS_PARTS if self.model_kind == "per_operation" else FLAT_PARTS
        return {k: self._r[k] for k in parts}

    def time_to_train(self, tokens):
        """Wall-clock time to train on ``tokens`` tokens [day] (``Parallelism.time_to_train``)."""
        if hasattr(tokens, "units"):
            raise DomainError(f"tokens is a plain count of training tokens; got {tokens!r}")
        k = dict(self._knowns)
        k["training_tokens"] = tokens
        eqset = _training_step() if self.model_kind == "per_operation" else _parallelism()
        return eqset.evaluate(outputs=["time_to_train"], **k).time_to_train

    def to_dict(self) -> dict:
        out = {"model": getattr(self.model, "name", str(self.model)), "fleet": self.fleet.name,
               "layout": dict(self.layout), "fits": self.fits}
        names = OPS_OUTPUTS if self.model_kind == "per_operation" else OUTPUTS
        if "host_memory_capacity" in self._knowns:
            names = [*names, *HOST_OUTPUTS]
        if self.binding_memory:
            out["binding_memory"] = self.binding_memory
        for k in names:
            q = self._r[k]
            out[k] = {"value": float(q.magnitude) if hasattr(q, "magnitude") else float(q),
                      "unit": f"{q.units:~C}" if hasattr(q, "units") else ""}
        out["assumptions"] = {a.name: {"value": a.value, "source": str(a.source)} for a in self.assumptions}
        return out

    def __repr__(self):
        from ..core.equations import fmt_quantity

        lay = ", ".join(f"{k}={v}" for k, v in self.layout.items())
        lines = [f"DistributedResult: {getattr(self.model, 'name', self.model)} on {self.fleet.name}",
                 f"  layout: {lay}",
                 f"  step_time                    {fmt_quantity(self.step_time)}"]
        for k, q in self.breakdown().items():
            lines.append(f"    {k:<26} {fmt_quantity(q)}")
        lines += [f"  mfu / hfu           {float(self.mfu):.3f} / {float(self.hfu):.3f}",
                  f"  per-device rate     {fmt_quantity(self.device_flops_rate)}",
                  f"  tokens/s            {float(self.tokens_per_second.m_as('1/s')):.4g}",
                  f"  scaling efficiency  {float(self.scaling_efficiency):.3f}",
                  f"  memory per device   {fmt_quantity(self.memory_per_device)} of "
                  f"{fmt_quantity(self.memory_capacity)} "
                  f"({'DOES NOT FIT' if self.binding_memory == 'device memory' else 'fits'})",
                  *([f"  host memory / node  {fmt_quantity(self.host_memory_per_node)} of "
                     f"{fmt_quantity(self._knowns['host_memory_capacity'])}"
                     + (" (DOES NOT FIT)" if self.binding_memory == "host memory" else "")]
                    if any(self._knowns.get(f"offload_{k}", 0) for k in OFFLOAD_KINDS) else []),
                  "  assumptions: " + "; ".join(f"{a.name}={a.value}" for a in self.assumptions)]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------ solver
def _int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) and not (
            isinstance(value, float) and float(value).is_integer()):
        raise DomainError(f"{name} must be a whole number >= {minimum}; got {value!r}")
    if int(value) < minimum:
        raise DomainError(f"{name} must be a whole number >= {minimum}; got {value!r}")
    return int(value)


class DistributedSolver(Solver):
    """3D-parallel training time, utilisation and memory of a transformer on a fleet.

    Examples
    --------
    >>> r = DistributedSolver().solve(model="GPT3", fleet="A100_Megatron", tp=8, pp=8, dp=48,
    ...                               global_batch=1536)                               # doctest: +SKIP
    >>> r.step_time, r.mfu, r.fits                                                      # doctest: +SKIP
    """

    equation_set = "TrainingStep"
    assumption_catalogue = {**DEFAULT_ASSUMPTIONS, **OPS_ASSUMPTIONS}
    registry_arguments = {
        "model": "the transformer (TransformerWorkload or a Models name)",
        "fleet": "the cluster (Fleet or a Systems name)",
        "dp": "data-parallel degree [1] (default num_devices / (tp pp))",
        "precision": "training precision of weights and activations (bf16)",
        "zero_stage": "ZeRO stage 0-3",
        "recompute": "activation recomputation: none, selective, full",
        "sequence_parallel": "Megatron sequence parallelism (True/False)",
        "allow_cross_node_tp": "permit tp larger than a node",
        "attention_kernel": "unfused (score matrix in memory) or flash (fused)",
        "dropout": "dropout layers present (True/False)",
        "training_tokens": "tokens of the whole run (for time_to_train)",
        "offload": "what lives in host memory: any of optimizer, activations, weights (ZeRO-Offload/-Infinity)",
    }

    def __init__(self, **assumption_overrides):
        self.assumptions = dict(DEFAULT_ASSUMPTIONS)
        self.ops_assumptions = dict(OPS_ASSUMPTIONS)
        for k, v in assumption_overrides.items():
            if k in OPS_ASSUMPTIONS:
                self.ops_assumptions[k] = self._ops_assumption(k, v)
            else:
                self.assumptions[k] = self._assumption(k, v)

    @staticmethod
    def _ops_assumption(name, value):
        if isinstance(value, Assumption):
            return value
        default = OPS_ASSUMPTIONS[name]
        if hasattr(default.value, "units"):
            if not hasattr(value, "units") or value.magnitude <= 0:
                raise DomainError(f"{name} must be a positive Quantity in {default.value.units}; got {value!r}")
            return default.with_value(value.to(default.value.units))
        if name == "capacity_factor":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
                raise DomainError(f"capacity_factor must be a number >= 1; got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise DomainError(f"{name} must be a fraction with 0 <= x <= 1; got {value!r}")
        return default.with_value(float(value))

    def _assumption(self, name, value):
        if name not in DEFAULT_ASSUMPTIONS:
            raise UnknownVariableError(f"DistributedSolver has no assumption {name!r}; its assumptions are "
                                       f"{', '.join([*DEFAULT_ASSUMPTIONS, *OPS_ASSUMPTIONS])}")
        if isinstance(value, Assumption):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DomainError(f"{name} must be a number; got {value!r}")
        lo_ok = value >= 0 if name == "dp_overlap" else value > 0
        if not (lo_ok and value <= 1):
            rng = "0 <= x <= 1" if name == "dp_overlap" else "0 < x <= 1"
            raise DomainError(f"{name} must be a fraction with {rng}; got {value!r}")
        return DEFAULT_ASSUMPTIONS[name].with_value(float(value))

    # ------------------------------------------------------------------ binding
    @staticmethod
    def _resolve(model, fleet):
        if isinstance(model, str):
            from ..models import Models

            model = Models.get(model)
        if isinstance(fleet, str):
            from ..systems import Systems

            fleet = Systems.get(fleet)
        for attr in ("num_layers", "hidden_size", "num_heads", "vocab_size", "parameters"):
            if not hasattr(model, attr):
                raise DomainError(f"model must be a TransformerWorkload (or a Models name); {model!r} has no {attr}")
        if not hasattr(fleet, "num_devices") or not hasattr(fleet, "intra_node_fabric"):
            raise DomainError(f"fleet must be a Fleet (or a Systems name); got {fleet!r}")
        return model, fleet

    def _assumptions_for(self, compute_efficiency, dp_overlap, link_efficiency):
        a = dict(self.assumptions)
        for k, v in (("compute_efficiency", compute_efficiency), ("dp_overlap", dp_overlap),
                     ("link_efficiency", link_efficiency)):
            if v is not None:
                a[k] = self._assumption(k, v)
        return a

    def _knowns(self, model, fleet, L, precision, seq_len, global_batch, assumptions):
        """Set inputs for layouts ``L`` (dict of equal-length arrays, or scalars)."""
        from ..core.equation_sets.parallelism import (
            ACTIVATION_COEFFICIENTS,
            ADAM_K_BYTES,
            TP_ALLREDUCES_PER_LAYER,
            TRAINING_PASSES,
            ZERO_COMM_FACTOR,
        )
        from ..core.equation_sets.transformer import FLOPS_PER_MAC

        hw = fleet.hardware
        g = fleet.devices_per_node
        intra, inter = fleet.intra_node_fabric, fleet.inter_node_fabric
        scalar = np.ndim(L["tp"]) == 0
        tp, pp, dp = L["tp"], L["pp"], L["dp"]
        place = placement(tp, pp, dp, g)
        rec = np.asarray(L["recompute"], dtype=object)
        coeff = np.array([ACTIVATION_COEFFICIENTS[r] for r in np.ravel(rec)]).reshape(np.shape(rec) + (3,))
        nar = np.array([TP_ALLREDUCES_PER_LAYER[r] for r in np.ravel(rec)], dtype=float).reshape(np.shape(rec))
        passes = np.array([TRAINING_PASSES[r] for r in np.ravel(rec)], dtype=float).reshape(np.shape(rec))
        zs = np.asarray(L["zero_stage"])
        sp = np.asarray(L["sequence_parallel"], dtype=bool)

        def s(x):
            x = np.asarray(x)
            return x.item() if scalar else x.astype(float)

        pp_intra = place["pp_intra"]
        intra_bw = intra.link_bandwidth.m_as("byte/s")
        inter_bw = inter.link_bandwidth.m_as("byte/s")
        k = dict(
            num_layers=model.num_layers, hidden_size=model.hidden_size, num_heads=model.num_heads,
            vocab_size=model.vocab_size, parameters=float(model.parameters), seq_len=seq_len,
            global_batch=global_batch, flops_per_mac=FLOPS_PER_MAC,
            bytes_per_element=bytes_per_element(precision), optimizer_bytes_per_param=Q_(ADAM_K_BYTES, "byte"),
            peak_flops=hw.peak_flops(precision), memory_capacity=hw.memory_capacity,
            compute_efficiency=assumptions["compute_efficiency"].value,
            link_efficiency=assumptions["link_efficiency"].value,
            dp_overlap=assumptions["dp_overlap"].value,
            intra_node_bandwidth=intra.link_bandwidth, intra_node_latency=intra.link_latency,
            inter_node_bandwidth=inter.link_bandwidth, inter_node_latency=inter.link_latency,
            oversubscription=float(inter.oversubscription),
            num_devices=fleet.num_devices,
            tp=s(tp), pp=s(pp), micro_batch_size=s(L["micro_batch_size"]),
            pipeline_interleave=s(L["pipeline_interleave"]),
            tp_local=s(place["tp_local"]), tp_nodes=s(place["tp_nodes"]), dp_local=s(place["dp_local"]),
            pp_link_bandwidth=Q_(s(np.where(pp_intra, intra_bw, inter_bw)), "byte/s"),
            pp_link_latency=Q_(s(np.where(pp_intra, intra.link_latency.m_as("s"), inter.link_latency.m_as("s"))), "s"),
            pp_oversubscription=s(np.where(pp_intra, float(intra.oversubscription), float(inter.oversubscription))),
            tp_allreduces_per_layer=s(nar), training_passes=s(passes),
            act_replicated_coeff=Q_(s(coeff[..., 0]), "byte"), act_sharded_coeff=Q_(s(coeff[..., 1]), "byte"),
            act_attention_coeff=Q_(s(coeff[..., 2]), "byte"),
            sp_shards=s(np.where(sp, tp, 1)),
            optimizer_shards=s(np.where(zs >= 1, dp, 1)), grad_shards=s(np.where(zs >= 2, dp, 1)),
            param_shards=s(np.where(zs >= 3, dp, 1)),
            dp_comm_factor=s(np.array([ZERO_COMM_FACTOR[int(z)] for z in np.ravel(zs)]).reshape(np.shape(zs))),
        )
        return k

    def _knowns_ops(self, model, fleet, L, precision, seq_len, global_batch, assumptions, attention_kernel,
                    dropout, attention_causal_skip=None, offload=None, overlap_grad_reduce=True):
        """``TrainingStep`` inputs for one layout: the flat model's layout inputs, the calibrated laws of the
        device (``mlsysim.calibration.laws_for``) and the per-operation assumptions. Returns (knowns, used
        assumptions)."""
        from ..calibration import laws_for
        from ..core.equation_sets import Equations
        from ..core.equation_sets.training_step import (
            ADAM_STEP_BYTES,
            DROPOUT_MASK_BYTES,
            LOSS_BYTES_PER_LOGIT,
        )

        k = self._knowns(model, fleet, L, precision, seq_len, global_batch, assumptions)
        inputs = Equations.TrainingStep.inputs
        k = {n: v for n, v in k.items() if n in inputs}
        tp = int(L["tp"])
        laws = laws_for(fleet.hardware, precision)
        coll = laws.collective("all_reduce", num_workers=max(tp, 2),
                               devices_per_node=min(max(tp, 2), fleet.devices_per_node))
        ops = self.ops_assumptions
        grad_b = grad_bytes_for(ops, precision)
        # the elementwise laws' parameters under the names the set gives them, one pair per kernel kind (the
        # weight-streaming law keeps memory_efficiency_max / memory_half_bytes)
        elt = []
        for kind, fit in (("elementwise", "all"), ("norm", "norm"), ("add", "add"), ("act", "act")):
            e, hb = laws.elementwise_eta_max(fit), laws.elementwise_b_half(fit)
            elt += [Assumption(f"{kind}_efficiency_max", e.value, e.source, e.description),
                    Assumption(f"{kind}_half_bytes", hb.value, hb.source, hb.description)]
        used = [laws.gemm_eta_max, laws.gemm_f_half, *elt,
                laws.mem_eta_max, laws.mem_b_half, *([coll.alpha, coll.bandwidth] if tp > 1 else []),
                ops["tp_overlap"], grad_b, ops["dp_bucket_bytes"],
                assumptions["link_efficiency"]]
        if ATTENTION_KERNELS[attention_kernel]:
            used.append(ops["softmax_causal_read"])
        # the causal-skip switch of the one attention-FLOPs relation, with the default serving uses
        skip, skip_a = _defaults.pick("attention_causal_skip", attention_causal_skip, _defaults.ATTENTION_CAUSAL_SKIP)
        used.append(skip_a)
        cost0 = Equations.TransformerCost.evaluate(outputs=["expert_parameters"], **model.knowns_for("TransformerCost"))
        # the layout's own inputs: the same function the vectorised search calls on arrays of layouts
        k.update(layout_inputs(model, fleet, precision, L, ops, k["parameters"], float(cost0.expert_parameters)))
        k.update(
            num_experts=model.num_experts, experts_per_token=model.experts_per_token,
            moe_mlp=int(model.num_experts > 1),
            expert_parameters=float(cost0.expert_parameters), capacity_factor=(
                ops["capacity_factor"].value if model.num_experts > 1 else 1.0))
        if model.num_experts > 1:
            used.append(ops["capacity_factor"])
        k.update(
            num_kv_heads=model.num_kv_heads, head_dim=model.head_dim, ffn_hidden_size=model.ffn_hidden_size,
            ffn_matrices=3 if model.gated_ffn else 2, attention_causal_skip=skip,
            peak_flops=fleet.hardware.peak_flops(precision), memory_bandwidth=fleet.hardware.memory_bandwidth,
            gemm_efficiency_max=laws.gemm_eta_max.value, gemm_half_flops=laws.gemm_f_half.value,
            **{a.name: a.value for a in elt},
            memory_efficiency_max=laws.mem_eta_max.value, memory_half_bytes=laws.mem_b_half.value,
            score_materialized=ATTENTION_KERNELS[attention_kernel],
            dropout_on=int(bool(dropout)), dropout_mask_bytes=Q_(DROPOUT_MASK_BYTES, "byte"),
            softmax_causal_read=ops["softmax_causal_read"].value,
            tp_overlap=ops["tp_overlap"].value, grad_bytes_per_element=grad_b.value,
            overlap_grad_reduce=int(bool(overlap_grad_reduce)),
            optimizer_step_bytes_per_param=Q_(ADAM_STEP_BYTES, "byte"),
            loss_bytes_per_logit=Q_(LOSS_BYTES_PER_LOGIT, "byte"))
        # offload (ZeRO-Offload / ZeRO-Infinity), ZeRO traffic and the interleaved schedule: the same helpers the
        # vectorised search uses (arrays of layouts)
        hk, hused = host_inputs(fleet, offload_flags(offload), ops)
        k.update(hk)
        k.update(schedule_inputs(L["zero_stage"], L["pipeline_interleave"]))
        used += hused
        return k, used

    def _validate(self, model, fleet, tp, pp, dp, global_batch, seq_len, micro_batch_size, precision, zero_stage,
                  recompute, sequence_parallel, pipeline_interleave, allow_cross_node_tp, uneven=False, cp=1, ep=1):
        tp = _int("tp", tp)
        pp = _int("pp", pp)
        cp = _int("cp", cp)
        ep = _int("ep", ep)
        n = fleet.num_devices
        if dp is None:
            if n % (tp * cp * pp):
                raise DomainError(f"tp * cp * pp = {tp * cp * pp} does not divide the fleet's {n} devices")
            dp = n // (tp * cp * pp)
        dp = _int("dp", dp)
        if (cp > 1 or ep > 1) and not uneven:
            raise DomainError("cp and ep need the per-operation model: give no compute_efficiency")
        if seq_len is not None and not isinstance(seq_len, bool) and isinstance(seq_len, int) and seq_len % cp:
            raise DomainError(f"cp = {cp} must divide seq_len = {seq_len} (each rank holds seq_len / cp tokens)")
        if ep > 1:
            if model.num_experts == 1:
                raise DomainError(f"ep = {ep} needs a mixture-of-experts model; {model.name} is dense")
            if model.num_experts % ep:
                raise DomainError(f"ep = {ep} must divide {model.name}'s {model.num_experts} experts")
            if (dp * cp) % ep:
                raise DomainError(f"ep = {ep} must divide dp * cp = {dp * cp} (expert parallelism splits the "
                                  f"data-parallel ranks' experts)")
        global_batch = _int("global_batch", global_batch)
        seq_len = _int("seq_len", seq_len)
        micro_batch_size = _int("micro_batch_size", micro_batch_size)
        pipeline_interleave = _int("pipeline_interleave", pipeline_interleave)
        precision = normalize_precision(precision)
        if tp * cp * pp * dp != n:
            raise DomainError(f"layout tp * cp * pp * dp = {tp} * {cp} * {pp} * {dp} = {tp * cp * pp * dp} does not "
                              f"match the fleet's {n} devices ({fleet.name}); choose degrees whose product is {n}")
        if model.num_heads % tp:
            raise DomainError(f"tp = {tp} must divide the model's {model.num_heads} attention heads")
        if pp > model.num_layers:
            raise DomainError(f"pp = {pp} exceeds the model's {model.num_layers} layers (every stage needs one)")
        if uneven and pipeline_interleave > model.num_layers // pp:  # the smallest stage: floor(L / p) layers
            raise DomainError(f"pipeline_interleave = {pipeline_interleave} exceeds the layers of the smallest of "
                              f"{pp} stages of {model.num_layers} layers (each model chunk needs a layer)")
        if not uneven and model.num_layers % (pp * pipeline_interleave):
            raise DomainError(f"pp * pipeline_interleave = {pp} * {pipeline_interleave} must divide the model's "
                              f"{model.num_layers} layers" + ("" if uneven else " in the flat model (give no "
                              "compute_efficiency to use the per-operation model, which allows uneven stages)"))
        if global_batch % (dp * micro_batch_size):
            raise DomainError(f"dp * micro_batch_size = {dp} * {micro_batch_size} must divide global_batch = "
                              f"{global_batch} (whole microbatches per replica)")
        g = fleet.devices_per_node
        if tp <= g and g % tp:
            raise DomainError(f"tp = {tp} does not divide the {g} devices of a node ({fleet.name}): some tensor-"
                              f"parallel groups would straddle two nodes; choose tp dividing {g}")
        if tp > g:
            if not allow_cross_node_tp:
                raise DomainError(f"tp = {tp} is larger than a node ({g} devices): tensor parallelism would cross "
                                  f"the inter-node fabric; pass allow_cross_node_tp=True to model it anyway")
            if tp % g:
                raise DomainError(f"tp = {tp} spans nodes, so it must be a multiple of devices_per_node = {g}")
        if recompute not in RECOMPUTE_MODES:
            raise UnknownNameError(f"recompute must be one of {', '.join(RECOMPUTE_MODES)}; got {recompute!r}")
        if isinstance(zero_stage, bool) or zero_stage not in (0, 1, 2, 3):
            raise DomainError(f"zero_stage must be 0, 1, 2 or 3; got {zero_stage!r}")
        if not isinstance(sequence_parallel, bool):
            raise DomainError(f"sequence_parallel must be True or False; got {sequence_parallel!r}")
        if pipeline_interleave > 1:
            m = global_batch // (dp * micro_batch_size)
            if pp == 1:
                raise DomainError("pipeline_interleave > 1 needs pipeline parallelism (pp > 1)")
            if m % pp:
                raise DomainError(f"the interleaved schedule needs the {m} microbatches to be a multiple of pp = {pp}")
        lay = dict(tp=tp, pp=pp, dp=dp, micro_batch_size=micro_batch_size, zero_stage=int(zero_stage),
                   recompute=recompute, sequence_parallel=sequence_parallel, pipeline_interleave=pipeline_interleave)
        if uneven:
            lay.update(cp=cp, ep=ep)
        return lay, global_batch, seq_len, precision

    # ------------------------------------------------------------------ forward
    def per_operation(self, compute_efficiency=None) -> bool:
        """True when the per-operation model (``TrainingStep``) applies: no ``compute_efficiency`` was given
        (to this call or to the constructor). Giving one selects the flat Iron Law model (``Parallelism``)."""
        return compute_efficiency is None and self.assumptions["compute_efficiency"] is DEFAULT_ASSUMPTIONS[
            "compute_efficiency"]

    def _prepare(self, model, fleet, tp, pp, dp, global_batch, seq_len, micro_batch_size, precision, zero_stage,
                 recompute, sequence_parallel, pipeline_interleave, allow_cross_node_tp, compute_efficiency,
                 dp_overlap, link_efficiency, attention_kernel="unfused", dropout=True, cp=1, ep=1,
                 attention_causal_skip=None, offload=None, overlap_grad_reduce=True):
        """Resolve and validate one layout and bind it to the knowns of ``TrainingStep`` (per-operation model)
        or ``Parallelism`` (flat, when ``compute_efficiency`` is given); shared by solve/solve_for.

        Returns (model, fleet, layout, global_batch, seq_len, precision, assumptions used (list), knowns, set)."""
        model, fleet = self._resolve(model, fleet)
        if seq_len is None:
            seq_len = model.seq_len
        ops = self.per_operation(compute_efficiency)
        if attention_kernel not in ATTENTION_KERNELS:
            raise UnknownNameError(f"attention_kernel must be one of {', '.join(ATTENTION_KERNELS)}; got "
                                   f"{attention_kernel!r}")
        if not isinstance(dropout, bool):
            raise DomainError(f"dropout must be True or False; got {dropout!r}")
        if attention_causal_skip is not None and (
                isinstance(attention_causal_skip, bool) or not isinstance(attention_causal_skip, (int, float))
                or not 0 <= attention_causal_skip <= 1):
            raise DomainError(f"attention_causal_skip must be a number between 0 (full score matrix) and 1 (masked "
                              f"half skipped); got {attention_causal_skip!r}")
        flags = offload_flags(offload)
        if any(flags.values()) and not ops:
            raise DomainError("offload needs the per-operation model: give no compute_efficiency")
        check_overlap_grad_reduce(overlap_grad_reduce, ops)
        layout, global_batch, seq_len, precision = self._validate(
            model, fleet, tp, pp, dp, global_batch, seq_len, micro_batch_size, precision, zero_stage, recompute,
            sequence_parallel, pipeline_interleave, allow_cross_node_tp, uneven=ops, cp=cp, ep=ep)
        if ops:
            layout["offload"] = tuple(kk for kk in OFFLOAD_KINDS if flags[f"offload_{kk}"])
        assumptions = self._assumptions_for(compute_efficiency, dp_overlap, link_efficiency)
        if ops:
            knowns, used = self._knowns_ops(model, fleet, layout, precision, seq_len, global_batch, assumptions,
                                            attention_kernel, dropout, attention_causal_skip, offload,
                                            overlap_grad_reduce)
            eqset = _training_step()
        else:
            knowns = self._knowns(model, fleet, layout, precision, seq_len, global_batch, assumptions)
            used, eqset = list(assumptions.values()), _parallelism()
        return model, fleet, layout, global_batch, seq_len, precision, used, knowns, eqset

    def solve(self, *, model, fleet, tp: int = 1, pp: int = 1, dp: int | None = None, global_batch: int,
              seq_len: int | None = None, micro_batch_size: int = 1, precision: str = "bf16", zero_stage: int = 1,
              recompute: str = "selective", sequence_parallel: bool = False, pipeline_interleave: int = 1,
              compute_efficiency=None, dp_overlap=None, link_efficiency=None,
              allow_cross_node_tp: bool = False, attention_kernel: str = "unfused",
              dropout: bool = True, cp: int = 1, ep: int = 1, attention_causal_skip=None,
              offload=None, overlap_grad_reduce: bool = True) -> DistributedResult:
        """Step time, breakdown, MFU and memory of one layout.

        Parameters
        ----------
        model : TransformerWorkload or str
            The model (or a ``Models`` name).
        fleet : Fleet or str
            The cluster (or a ``Systems`` name); ``tp * pp * dp`` must equal ``fleet.num_devices``.
        tp, pp, dp : int
            Tensor, pipeline, data-parallel degrees [1]; ``dp`` defaults to ``num_devices / (tp pp)``.
        global_batch : int
            Sequences per optimizer step [1].
        seq_len : int, optional
            Training sequence length [1]; default the model's.
        micro_batch_size : int
            Sequences per microbatch [1].
        precision : str
            Training precision of weights, gradients and activations (``"bf16"``). The data-parallel gradient
            reduction runs in fp32 for bf16 (and fp8) training and at the training precision for fp16 and fp32
            (Megatron-LM's defaults; the ``grad_bytes_per_element`` assumption, see :func:`grad_bytes_for`).
        zero_stage : int
            0 (none), 1 (optimizer states sharded), 2 (+ gradients), 3 (+ parameters).
        recompute : {"none", "selective", "full"}
            Activation recomputation (Korthikanti et al. 2022).
        sequence_parallel : bool
            Megatron sequence parallelism (shards the layer-norm/dropout activations over tp).
        pipeline_interleave : int
            Model chunks per device (interleaved 1F1B) [1].
        compute_efficiency : float, optional
            Given: the flat Iron Law model (``Equations.Parallelism``), one efficiency for all arithmetic.
            Omitted (default): the per-operation model (``Equations.TrainingStep``) on the device's calibrated
            GEMM, kernel and collective laws; then ``pp`` need not divide the layers (uneven stages).
        dp_overlap, link_efficiency : float, optional
            Override the solver's assumptions for this call [1] (``dp_overlap``: flat model only).
        allow_cross_node_tp : bool
            Permit tp larger than a node.
        attention_kernel : {"unfused", "flash"}
            ``"unfused"`` writes the score matrix (softmax and dropout as memory-bound kernels: Megatron-LM
            2021-22); ``"flash"`` fuses them into the attention kernel (per-operation model).
        dropout : bool
            Dropout layers present (1-byte masks in the kernels' traffic; per-operation model).
        overlap_grad_reduce : bool
            True (default): the data-parallel gradient reduction runs in buckets during the last microbatch's
            backward pass (PyTorch DDP, Megatron-LM ``--overlap-grad-reduce``); False: it starts after the backward
            pass (Megatron-LM 2021's ``--DDP-impl local``), all of it exposed. Per-operation model (the flat model
            takes ``dp_overlap``).
        cp, ep : int
            Context-parallel degree (the sequence split over cp ranks; devices = tp cp pp dp) and
            expert-parallel degree (a mixture-of-experts model's experts split over ep of the data-parallel
            ranks) [1]; per-operation model only.
        attention_causal_skip : float, optional
            1 if the attention kernel skips the masked half of the causal score matrix (FlashAttention's causal
            path), 0 if it computes the full matrix (Megatron-LM 2021-22; the default,
            ``defaults.ATTENTION_CAUSAL_SKIP``, shared with the serving solver) [1]; per-operation model only.
        offload : str or iterable of str, optional
            What lives in host memory (ZeRO-Offload, ZeRO-Infinity), any subset of ``("optimizer",
            "activations", "weights")`` or a comma-separated string: ``"optimizer"`` moves the fp32 master weights
            and Adam moments and the optimizer step to the host (gradients down, 16-bit parameters up each step);
            ``"activations"`` sends the stored activations to the host after the forward pass and back for the
            backward; ``"weights"`` streams the 16-bit parameters in per layer and pass. Each transfer is its own
            breakdown component; the node's host memory must hold the offloaded state (``fits``,
            ``binding_memory``). Needs the device's sourced ``host_link_bandwidth`` and ``host_memory_capacity``
            (H100, H200, A100); per-operation model only.

        Returns
        -------
        DistributedResult

        Raises
        ------
        DomainError
            Invalid layouts (product of degrees, heads, layers, batch divisibility, tp across nodes),
            out-of-range assumptions.
        UnknownNameError
            Unknown model, fleet, precision or recompute mode, or offload kind.
        MissingValueError
            Offload on a device without a sourced host link or host memory.
        """
        model, fleet, layout, global_batch, seq_len, precision, used, knowns, eqset = self._prepare(
            model, fleet, tp, pp, dp, global_batch, seq_len, micro_batch_size, precision, zero_stage, recompute,
            sequence_parallel, pipeline_interleave, allow_cross_node_tp, compute_efficiency, dp_overlap,
            link_efficiency, attention_kernel, dropout, cp, ep, attention_causal_skip, offload, overlap_grad_reduce)
        outputs = OPS_OUTPUTS if eqset.name == "TrainingStep" else OUTPUTS
        if "host_memory_capacity" in knowns:
            outputs = [*outputs, *HOST_OUTPUTS]
        res = eqset.evaluate(outputs=outputs, **knowns)
        full_layout = dict(layout, global_batch=global_batch, seq_len=seq_len, precision=precision)
        if eqset.name == "TrainingStep":
            full_layout.update(attention_kernel=attention_kernel, dropout=dropout,
                               overlap_grad_reduce=overlap_grad_reduce)
        return DistributedResult(res, full_layout, used, model, fleet, knowns)

    # ------------------------------------------------------------------ search
    def search(self, *, model, fleet, global_batch: int, seq_len: int | None = None, precision: str = "bf16",
               objective: str = "step_time", top: int = 10, **axes):
        """Every layout of the job on the fleet, evaluated on the model :meth:`solve` uses (one fused call), those
        that fit ranked by ``objective``; the others rejected with their binding constraint.

        Axes (tuples; defaults in brackets): ``tps`` [divisors of the node size and twice it], ``cps``
        [1, 2, 4, 8, 16], ``pps`` [1 .. num_layers; uneven stages], ``eps`` [divisors of the expert count;
        mixture-of-experts models only], ``micro_batch_sizes`` [1, 2, 4, 8], ``interleaves`` [1, 2, 4],
        ``recompute_modes`` [none, selective, full], ``zero_stages`` [0-3], ``sequence_parallel``
        [False, True], ``offloads`` [every subset of what ``offload=`` takes, where the device has a sourced host
        link and host memory; else nothing]; ``dp = num_devices / (tp cp pp)``. Options as :meth:`solve`:
        ``compute_efficiency`` (the flat model: even stages, no cp/ep/offload), ``dp_overlap``,
        ``link_efficiency``, ``allow_cross_node_tp``, ``attention_kernel``, ``dropout``,
        ``attention_causal_skip``, ``overlap_grad_reduce``. See :mod:`mlsysim.solvers.layout_search`.

        Parameters
        ----------
        objective : {"step_time", "mfu", "tokens_per_second", "memory_per_device"}
            Ranking: smallest step time / memory, largest MFU / throughput.
        top : int
            Rows whose step-time breakdown is computed with the search [1] (others on request).

        Returns
        -------
        mlsysim.solvers.layout_search.LayoutTable
            ``table[i]``, ``table.best``, ``table.result(i)``, ``table.rejected`` (counts per constraint and
            per-layout reasons), ``table.enumerated`` / ``table.evaluated``.
        """
        from .layout_search import search

        return search(self, model=model, fleet=fleet, global_batch=global_batch, seq_len=seq_len,
                      precision=precision, objective=objective, top=top, **axes)

    # ------------------------------------------------------------------ inverse
    ALIASES = {"link_bandwidth": "inter_node_bandwidth"}

    def bind(self, *, model, fleet, tp: int = 1, pp: int = 1, dp: int | None = None, global_batch: int,
             seq_len: int | None = None, micro_batch_size: int = 1, precision: str = "bf16", zero_stage: int = 1,
             recompute: str = "selective", sequence_parallel: bool = False, pipeline_interleave: int = 1,
             compute_efficiency=None, dp_overlap=None, link_efficiency=None, allow_cross_node_tp: bool = False,
             attention_kernel: str = "unfused", dropout: bool = True, training_tokens=None, cp: int = 1,
             ep: int = 1, attention_causal_skip=None, offload=None, overlap_grad_reduce: bool = True,
             _unknown: str | None = None) -> Binding:
        """The knowns of ``TrainingStep`` (or ``Parallelism`` when ``compute_efficiency`` is given) for one
        layout, the assumptions used and the source of every known (same arguments as :meth:`solve`)."""
        model, fleet, layout, global_batch, seq_len, precision, used, knowns, eqset = self._prepare(
            model, fleet, tp, pp, dp, global_batch, seq_len, micro_batch_size, precision, zero_stage, recompute,
            sequence_parallel, pipeline_interleave, allow_cross_node_tp, compute_efficiency, dp_overlap,
            link_efficiency, attention_kernel, dropout, cp, ep, attention_causal_skip, offload, overlap_grad_reduce)
        b = Binding(entries={"model": model, "fleet": fleet, "hardware": fleet.hardware})
        by_name = {a.name: a for a in used}
        layout_src = derived("DistributedSolver layout", f"{getattr(model, 'name', model)} on {fleet.name}: "
                             f"tp={layout['tp']}, pp={layout['pp']}, dp={layout['dp']}, global_batch={global_batch}, "
                             f"seq_len={seq_len}, {precision}; architecture from the model, devices and fabrics "
                             f"from the fleet")
        for name, value in knowns.items():
            if name in by_name:
                b.put(name, value, by_name[name].source)
                b.assumptions[name] = by_name[name]
            else:
                b.put(name, value, layout_src)
        for a in used:
            b.assumptions.setdefault(a.name, a)
        if training_tokens is not None:
            b.put("training_tokens", training_tokens, given_source("training_tokens"))
        b.entries["equation_set"] = eqset.name
        return b

    @property
    def equations(self):
        """``Equations.TrainingStep`` (per-operation, the default) or ``Equations.Parallelism`` (flat, when
        the solver was built with ``compute_efficiency=``)."""
        return _training_step() if self.per_operation() else _parallelism()

    def inverse_targets(self, unknown: str, targets: dict, kwargs: dict) -> dict:
        """``dp`` is derived in the set (num_devices / (tp pp)) but a layout argument here: not a target."""
        if "dp" in targets:
            kwargs["dp"] = targets.pop("dp")
        return targets

    def admissible(self, unknown: str, value: int, binding: Binding) -> bool:
        """A whole ``num_devices`` must hold whole data-parallel replicas of ``tp * pp`` devices, each with
        whole microbatches of the global batch."""
        if unknown != "num_devices":
            return True
        k = binding.knowns
        tpp = int(k["tp"]) * int(k["pp"])
        if value % tpp:
            return False
        return int(k["global_batch"]) % ((value // tpp) * int(k["micro_batch_size"])) == 0

    def solve_for(self, unknown: str, **kwargs):
        """Solve the step's set for one input given one target (``step_time=``, ``time_to_train=``, ``mfu=``).

        Same arguments as :meth:`solve` plus one target (and ``training_tokens=`` for ``time_to_train``).
        ``unknown`` is any input of the set (``TrainingStep``; ``Parallelism`` when ``compute_efficiency`` is
        given); ``"link_bandwidth"`` means the inter-node (NIC) bandwidth per device. The layout given is the
        starting point: its placement of ranks on nodes is kept. A count (``num_devices``) is rounded to the
        nearest layout-valid whole number that still meets the target (``Solution.note``). Errors as
        :meth:`mlsysim.solvers.base.Solver.solve_for` (no target: ``UnderdeterminedError``).
        """
        kwargs.pop("method", None)
        unknown = self.ALIASES.get(unknown, unknown)
        ce = kwargs.get("compute_efficiency")
        if ce is not None and self.per_operation():
            flat = DistributedSolver(compute_efficiency=ce, **{k: v for k, v in self.ops_assumptions.items()
                                                               if v is not OPS_ASSUMPTIONS[k]})
            kwargs.pop("compute_efficiency")
            return flat.solve_for(unknown, **kwargs)
        return super().solve_for(unknown, **kwargs)
