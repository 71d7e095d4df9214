"""3D-parallel training (tensor, pipeline, data parallelism): step time, memory, MFU.

Registered sets: ``Equations.Parallelism`` (the whole step, used by the ``DistributedSolver``) and
three small views of the same Equation objects for the textbook: ``PipelineBubble``, ``ZeROMemory``,
``ActivationMemory``.

Notes
-----
Layout. ``tp * pp * dp = N`` devices; ``dp = N / (tp pp)``; ``m = B_g / (dp b)`` microbatches of ``b``
sequences per pipeline flush.

Compute. FLOPs per iteration are Megatron-LM's closed form (Narayanan et al. 2021, Sec. 5.1), re-used
from ``transformer.py``: ``F = c_MAC 12 n_pass B_g s L h^2 (1 + s/(6h) + V/(16Lh))`` with ``n_pass = 4``
under full recomputation, 3 otherwise (hardware FLOPs), and the 3-pass form for model FLOPs. Each
device does ``F / N``; the Iron Law (``roofline.py``) gives ``T_comp = (F/N) / (eta R_peak)``.

Pipeline bubble (Narayanan et al. 2021, Sec. 2.2.1-2.2.2; case ``pipeline_bubble``), relative to the
ideal time, and its cost on the per-stage work (compute and tensor-parallel communication):

.. math:: \\beta = \\frac{p - 1}{v\\, m}, \\qquad T_{\\text{bubble}} = \\beta (T_{\\text{comp}} + T_{\\text{TP}}),
          \\qquad \\phi_{\\text{bubble}} = \\frac{\\beta}{1 + \\beta}

``bubble_ratio`` (beta) is Narayanan's "bubble time fraction", relative to the ideal time: it reaches
``p - 1`` at ``m = 1``. ``bubble_fraction`` is the true idle share of the step, in [0, 1).

Tensor parallelism (Narayanan et al. 2021, Sec. 3.2; Korthikanti et al. 2022, Sec. 4.2.2): per layer and
microbatch, 2 all-reduces of ``b s h`` elements in the forward and 2 in the backward pass (with sequence
parallelism each becomes a reduce-scatter + all-gather of the same ring cost); full recomputation
repeats the 2 forward ones (6 in all). Each all-reduce is the two-level all-reduce of
``collectives.py`` over ``tp_local`` ranks per node and ``tp_nodes`` nodes (1 node unless TP crosses
nodes). A stage holds ``L/p`` layers:

.. math:: T_{\\text{TP}} = n_{\\text{AR}} \\frac{L}{p} m\\, T_{\\text{hier}}(b s h\\, b_e;\\ \\text{tp})

Pipeline point-to-point (Narayanan et al. 2021, Sec. 4.1, scatter/gather optimisation: ``b s h / t``
elements per send): one activation forward and one gradient backward per microbatch and model chunk;
``p - 1`` stage boundaries shared by ``p`` stages:

.. math:: T_{\\text{PP}} = 2 v m \\frac{p-1}{p} \\left(\\alpha + \\frac{b s h\\, b_e / t}{B_{\\text{pp,eff}}}\\right)

Data parallelism: the gradient all-reduce of the ``P/(t p)`` parameters of a device (two-level
all-reduce over ``dp_local`` ranks per node and ``dp/dp_local`` nodes), times ``c_ZeRO`` (1; 1.5 for
ZeRO-3, whose parameter all-gathers move 3 Psi instead of 2 Psi: Rajbhandari et al. 2020, Sec. 7).
A fraction ``f`` overlaps the backward pass, but no more than the compute time can hide:

.. math:: T_{\\text{DP,exp}} = \\max\\left((1 - f)\\, T_{\\text{DP}},\\ T_{\\text{DP}} - T_{\\text{comp}}\\right)

Step time, throughput, utilisation (MFU/HFU: Chowdhery et al. 2022, App. B; Korthikanti et al. 2022):

.. math:: T = T_{\\text{comp}} + T_{\\text{TP}} + T_{\\text{PP}} + T_{\\text{bubble}} + T_{\\text{DP,exp}},
          \\quad \\mathrm{MFU} = \\frac{F_{\\text{model}}}{T N R_{\\text{peak}}},
          \\quad \\mathrm{HFU} = \\frac{F}{T N R_{\\text{peak}}}

Memory per device. Model states with ZeRO (Rajbhandari et al. 2020, Sec. 3.1 and 5; K = 12 for
mixed-precision Adam), each state divided by the number of data-parallel ranks it is sharded over
(1, or dp: stage 1 shards the optimizer states, 2 also gradients, 3 also parameters):

.. math:: M_{\\text{states}} = \\frac{P}{t\\,p}\\left(\\frac{b_e}{s_{\\text{param}}} + \\frac{b_e}{s_{\\text{grad}}}
          + \\frac{K}{s_{\\text{opt}}}\\right)

Activations per layer (Korthikanti et al. 2022, Sec. 4, Eq. 1-4; 16-bit activations), written with the
published coefficient set of each recomputation mode (:data:`ACTIVATION_COEFFICIENTS`), and
``sp = t`` with sequence parallelism (1 without):

.. math:: M_{\\text{layer}} = s b h \\left(\\frac{c_{\\text{rep}}}{sp} + \\frac{c_{\\text{tp}}}{t}
          + c_{\\text{attn}} \\frac{a s}{h t}\\right)

With 1F1B the first stage keeps ``min(p, m)`` microbatches in flight, each of ``L/p`` layers
(Korthikanti et al. 2022, Sec. 4.2.3).
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..sources import derived
from ..variables import ensure_var as _var
from ..variables import VARIABLES, sym
from . import Equations
from . import collectives as _coll




# ---------------------------------------------------------------- nomenclature
_var("tp", "", r"n_{\text{TP}}", "tensor-parallel degree", "count")
_var("pp", "", r"n_{\text{PP}}", "pipeline-parallel degree (stages)", "count")
_var("dp", "", r"n_{\text{DP}}", "data-parallel degree", "count")
_var("micro_batch_size", "", "b", "sequences per microbatch", "count")
_var("microbatches", "", "m", "microbatches per pipeline flush", "count")
_var("pipeline_interleave", "", "v", "model chunks per device (interleaved 1F1B); 1 = plain 1F1B", "count")
_var("bubble_ratio", "", r"\beta", "pipeline bubble time over ideal (bubble-free) time", "nonnegative")
_var("bubble_fraction", "", r"\phi_{\text{bubble}}", "idle fraction of a pipeline step: bubble / (ideal + bubble)",
     "nonnegative")
_var("compute_efficiency", "", r"\eta", "achieved / peak compute", "fraction")
_var("peak_flops", "FLOP/s", r"R_{\text{peak}}", "device peak compute at the precision used")
_var("compute_time", "s", r"T_{\text{comp}}", "time the step's arithmetic takes at the achieved rate")
_var("memory_capacity", "GB", r"M_{\text{cap}}", "device memory")
_var("flops_per_device", "FLOP", r"F_{\text{dev}}", "FLOPs one device does per iteration: F / N")
# tensor parallel
_var("tp_message_bytes", "byte", r"M_{\text{TP}}", "bytes of one tensor-parallel all-reduce: b s h b_e")
_var("tp_local", "", r"t_{\text{loc}}", "tensor-parallel ranks per node", "count")
_var("tp_nodes", "", r"t_{\text{nodes}}", "nodes one tensor-parallel group spans", "count")
_var("tp_allreduces_per_layer", "", r"n_{\text{AR}}",
     "tensor-parallel all-reduces per layer per microbatch (4; 6 with full recompute)", "count0")
_var("tp_comm_time", "s", r"T_{\text{TP}}", "tensor-parallel communication per step (exposed)", "nonnegative")
# pipeline
_var("pp_message_bytes", "byte", r"M_{\text{PP}}", "bytes of one pipeline send: b s h b_e / t")
_var("pp_link_bandwidth", "GB/s", r"B_{\text{pp}}", "link bandwidth between neighbouring stages, each direction")
_var("pp_link_latency", "us", r"\alpha_{\text{pp}}", "latency between neighbouring stages", "nonnegative")
_var("pp_oversubscription", "", r"r_{\text{pp}}", "oversubscription seen by pipeline sends (1 inside a node)",
     "ge1")
_var("pp_achieved_bandwidth", "GB/s", r"B_{\text{pp,ach}}", "achievable stage-to-stage bandwidth")
_var("pp_effective_bandwidth", "GB/s", r"B_{\text{pp,eff}}", "stage-to-stage bandwidth after oversubscription")
_var("pp_p2p_time", "s", r"T_{\text{p2p,PP}}", "time of one pipeline send")
_var("pp_comm_time", "s", r"T_{\text{PP}}", "pipeline point-to-point time per step (exposed)", "nonnegative")
_var("bubble_time", "s", r"T_{\text{bubble}}", "pipeline bubble time per step", "nonnegative")
# data parallel
_var("dp_message_bytes", "byte", r"M_{\text{DP}}", "gradient bytes one device all-reduces: P/(t p) b_e")
_var("dp_local", "", r"d_{\text{loc}}", "data-parallel ranks per node", "count")
_var("dp_nodes", "", r"d_{\text{nodes}}", "nodes one data-parallel group spans: dp / dp_local")
_var("dp_comm_factor", "", r"c_{\text{ZeRO}}", "data-parallel traffic relative to one all-reduce (1; 1.5 ZeRO-3)")
_var("dp_comm_time", "s", r"T_{\text{DP}}", "data-parallel communication per step", "nonnegative")
_var("dp_overlap", "", "f", "fraction of data-parallel communication overlapped with the backward pass",
     "nonnegative")
_var("dp_exposed_time", "s", r"T_{\text{DP,exp}}", "data-parallel communication not hidden by compute",
     "nonnegative")
# step
_var("step_time", "s", r"T_{\text{step}}", "time of one optimizer step")
_var("tokens_per_second", "1/s", r"X_{\text{tok}}", "training tokens processed per second")
_var("training_tokens", "", r"D_{\text{train}}", "tokens of the whole training run")
_var("time_to_train", "day", r"T_{\text{train}}", "wall-clock time to train on training_tokens")
_var("mfu", "", r"\mathrm{MFU}", "model FLOPs utilization")
_var("hfu", "", r"\mathrm{HFU}", "hardware FLOPs utilization (recomputation counted)")
_var("device_flops_rate", "TFLOP/s", r"X_{\text{dev}}",
     "FLOP/s achieved per device, recomputation counted (Megatron-LM Table 1 convention)")
_var("scaling_efficiency", "", r"\epsilon", "ideal (compute-only) / achieved step time")
# memory
_var("params_per_device", "", r"P_{\text{dev}}", "parameters held by one device: P / (t p)")
_var("param_shards", "", r"s_{\text{param}}", "ranks the 16-bit parameters are sharded over (1, or dp)", "count")
_var("grad_shards", "", r"s_{\text{grad}}", "ranks the gradients are sharded over (1, or dp)", "count")
_var("optimizer_shards", "", r"s_{\text{opt}}", "ranks the optimizer states are sharded over (1, or dp)", "count")
_var("optimizer_bytes_per_param", "byte", "K", "optimizer-state bytes per parameter (12 for mixed-precision Adam)")
_var("model_state_bytes", "GB", r"M_{\text{states}}", "parameters, gradients and optimizer states per device")
_var("sp_shards", "", r"s_{\text{sp}}", "sequence-parallel shards of the replicated activations (t with SP, else 1)",
     "count")
_var("act_replicated_coeff", "byte", r"c_{\text{rep}}",
     "activation bytes per s b h element kept whole by tensor parallelism (layer norms, dropouts, inputs)",
     "nonnegative")
_var("act_sharded_coeff", "byte", r"c_{\text{tp}}", "activation bytes per s b h element split by tensor parallelism",
     "nonnegative")
_var("act_attention_coeff", "byte", r"c_{\text{attn}}",
     "activation bytes per a s^2 b element of the attention scores (softmax, dropout)", "nonnegative")
_var("activation_bytes_per_layer", "byte", r"M_{\text{layer}}", "activation memory of one layer for one microbatch")
_var("inflight_microbatches", "", r"m_{\text{fl}}", "microbatches whose activations a stage holds at once")
_var("activation_memory", "GB", r"M_{\text{act}}", "activation memory per device")
_var("memory_per_device", "GB", r"M_{\text{dev}}", "model states plus activations per device")
_var("memory_utilization", "", r"u_{\text{mem}}", "memory_per_device / memory_capacity")

# ---------------------------------------------------------------- sources
NARAYANAN_2021 = cite(refs.NARAYANAN_2021, "Sec. 2.2 (pipeline bubble, interleaving), Sec. 3.2 (communication), "
                                            "Sec. 4.1 (scatter/gather)")
KORTHIKANTI_2022 = cite(refs.KORTHIKANTI_2022, "Sec. 4 (Eq. 1-4, activation memory per layer; 4.2.3 pipeline), "
                                               "Sec. 5 (selective recomputation), Table 2")
RAJBHANDARI_2020 = cite(refs.RAJBHANDARI_2020, "Sec. 3.1 (16 Psi bytes, K = 12), Sec. 5 (P_os, P_g, P_p), Sec. 7 "
                                               "(communication 2 Psi vs 3 Psi), Fig. 1")
CHOWDHERY_2022 = cite(refs.CHOWDHERY_2022, "Sec. 4.1 and App. B (model FLOPs utilization)")
LAYOUT = derived("3D-parallel layout", "tp * pp * dp = num_devices (Narayanan et al. 2021, Sec. 3); a global batch "
                 "of B_g sequences is split over dp replicas into microbatches of b sequences")
PER_DEVICE = derived("even split of work", "the iteration's FLOPs are spread evenly over the devices (tensor "
                     "parallelism splits each layer, pipeline parallelism the layers, data parallelism the batch)")
TP_COMM = derived(
    "tensor-parallel communication time",
    "n_AR all-reduces of b s h elements per layer per microbatch (Narayanan et al. 2021 Sec. 3.2: 2 forward + "
    "2 backward; full recomputation re-runs the forward ones: 6), L/p layers per stage, m microbatches; not "
    "overlapped with compute (Megatron-LM 2021)")
PP_COMM = derived(
    "pipeline point-to-point time",
    "one activation send forward and one gradient send backward per microbatch and model chunk (v chunks with "
    "interleaving, Narayanan et al. 2021 Sec. 2.2.2); p-1 stage boundaries shared by p stages; not overlapped")
BUBBLE_SHARE = derived("share of a step spent in the bubble", "bubble / (ideal + bubble) = beta / (1 + beta) with "
                       "beta = bubble / ideal (Narayanan et al. 2021 Sec. 2.2.1); in [0, 1), e.g. 7/8 at p = 8, m = 1")
BUBBLE_TIME = derived("pipeline bubble time", "the bubble ratio of Narayanan et al. 2021 (relative to the ideal "
                      "time) applied to the per-stage work: compute plus tensor-parallel communication")
DP_COMM = derived("data-parallel traffic", "gradient all-reduce of the device's P/(t p) parameters at the "
                  "training precision; ZeRO-3 moves 1.5x as much (3 Psi vs 2 Psi, Rajbhandari et al. 2020 Sec. 7)")
DP_OVERLAP = derived("overlap of data-parallel communication",
                     "a fraction f of the gradient all-reduce runs during the backward pass (bucketed all-reduce, "
                     "Li et al. 2020, PyTorch DDP, VLDB 13(12)), but compute can hide at most its own duration")
STEP = derived("step-time composition", "compute, exposed tensor- and pipeline-parallel communication, pipeline "
               "bubble and exposed data-parallel communication add up (no other overlap)")
THROUGHPUT = derived("training throughput", "global_batch sequences of seq_len tokens per step; time to train = "
                     "tokens / throughput")
SCALING = derived("scaling efficiency", "ideal step time (compute only, perfectly divided) over the modelled one")
ZERO_SPLIT = derived("ZeRO model states", "Rajbhandari et al. 2020 (Sec. 3.1, 5): 2 Psi (16-bit parameters) + "
                     "2 Psi (16-bit gradients) + K Psi (optimizer states), each divided by the data-parallel ranks "
                     "it is partitioned over; the device holds P/(t p) parameters (tensor and pipeline parallelism "
                     "split the model evenly)")
ACT_FORM = derived("activation memory per layer", "Korthikanti et al. 2022 Eq. 1-4 written with one coefficient "
                   "per term: s b h (10 + 24/t + 5 a s/(h t)) without sequence parallelism; the 10 s b h of layer "
                   "norms and dropouts is also split t ways with sequence parallelism (34/t); selective "
                   "recomputation drops the 5 a s^2 b term; full recomputation keeps only the layer input "
                   "(2 s b h)")
INFLIGHT = derived("activations in flight", "with 1F1B the first stage holds at most p microbatches "
                   "(Narayanan et al. 2021 Sec. 2.2.1; Korthikanti et al. 2022 Sec. 4.2.3), or all m if m < p")
MEMORY = derived("memory per device", "model states plus activations (framework workspace and fragmentation "
                 "not modelled)")

#: Korthikanti et al. 2022 (Sec. 4-5) activation coefficients [byte per element], 16-bit activations:
#: recompute mode -> (c_rep, c_tp, c_attn)
ACTIVATION_COEFFICIENTS = {
    "none": (10.0, 24.0, 5.0),
    "selective": (10.0, 24.0, 0.0),
    "full": (2.0, 0.0, 0.0),
}
#: tensor-parallel all-reduces per layer per microbatch for each recompute mode (see TP_COMM)
TP_ALLREDUCES_PER_LAYER = {"none": 4, "selective": 4, "full": 6}
#: forward-pass equivalents of hardware FLOPs per recompute mode (Narayanan et al. 2021 Sec. 5.1: 4 with full
#: recomputation; selective recomputation of the attention core is not counted)
TRAINING_PASSES = {"none": 3, "selective": 3, "full": 4}
#: optimizer bytes per parameter for mixed-precision Adam (Rajbhandari et al. 2020, Sec. 3.1)
ADAM_K_BYTES = 12.0
#: data-parallel traffic multiplier per ZeRO stage (Rajbhandari et al. 2020, Sec. 7)
ZERO_COMM_FACTOR = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.5}

_EQ: dict = {}


def _prefixed_hierarchical(prefix: str) -> list:
    """The two-level all-reduce relations of ``collectives.py`` over ``<prefix>_*`` variables."""
    for base in ("node_message_bytes", "intra_reduce_scatter_time", "inter_allreduce_time", "intra_allgather_time"):
        v = VARIABLES[base]
        _var(f"{prefix}_{base}", v.unit, v.latex.replace("}", f",{prefix}}}", 1) if "}" in v.latex else v.latex,
             f"{prefix.upper()} group: {v.description}", v.domain)
    _var(f"{prefix}_allreduce_time", "s", rf"T_{{\text{{AR,{prefix}}}}}",
         f"time of one {prefix.upper()} all-reduce (two-level)", "nonnegative")
    mapping = {"message_bytes": f"{prefix}_message_bytes", "devices_per_node": f"{prefix}_local",
               "num_nodes": f"{prefix}_nodes", "node_message_bytes": f"{prefix}_node_message_bytes",
               "intra_reduce_scatter_time": f"{prefix}_intra_reduce_scatter_time",
               "inter_allreduce_time": f"{prefix}_inter_allreduce_time",
               "intra_allgather_time": f"{prefix}_intra_allgather_time",
               "hierarchical_allreduce_time": f"{prefix}_allreduce_time"}
    return [eq.renamed(mapping, key=f"{prefix}_{eq.key}") for eq in _coll.hierarchical_core_equations()]


def parallelism_equations() -> dict:
    """Every Equation of the Parallelism set, ``{key: Equation}`` (built once)."""
    if _EQ:
        return _EQ
    from . import roofline, transformer

    s, b, h, L, a = sym.seq_len, sym.micro_batch_size, sym.hidden_size, sym.num_layers, sym.num_heads
    t, p, v, m = sym.tp, sym.pp, sym.pipeline_interleave, sym.microbatches
    eqs = []
    add = eqs.append
    # layout
    add(Equation("dp", "dp", sym.num_devices / (t * p), source=LAYOUT, description="data-parallel degree"))
    add(Equation("microbatches", "microbatches", sym.global_batch / (sym.dp * b), source=LAYOUT,
                 description="microbatches per pipeline flush"))
    # compute (re-used: Megatron-LM FLOPs per iteration, Iron Law)
    add(transformer.megatron_flops_per_iteration_equation())
    add(transformer.megatron_model_flops_equation())
    add(Equation("flops_per_device", "flops_per_device", sym.flops_per_iteration / sym.num_devices,
                 source=PER_DEVICE, description="FLOPs per device per iteration"))
    iron_compute, _ = roofline.iron_law_equations()
    add(iron_compute.renamed({"flops": "flops_per_device"}, description="compute time of one device's share"))
    # pipeline bubble
    add(Equation("bubble_ratio", "bubble_ratio", (p - 1) / (v * m), source=NARAYANAN_2021,
                 description="pipeline bubble over ideal time (1F1B; interleaved with v chunks)",
                 display=r"\frac{n_{\text{PP}} - 1}{v\, m}"))
    add(Equation("bubble_fraction", "bubble_fraction", sym.bubble_ratio / (1 + sym.bubble_ratio), source=BUBBLE_SHARE,
                 description="idle fraction of a pipeline step (bubble over ideal plus bubble)",
                 display=r"\frac{\beta}{1 + \beta}"))
    # tensor parallel
    add(Equation("tp_message_bytes", "tp_message_bytes", b * s * h * sym.bytes_per_element, source=NARAYANAN_2021,
                 description="bytes of one tensor-parallel all-reduce (one microbatch's activations)"))
    bw = _coll.bandwidth_equations()
    add(bw["intra"])
    add(bw["inter_ach"])
    add(bw["inter_eff"])
    eqs.extend(_prefixed_hierarchical("tp"))
    add(Equation("tp_comm_time", "tp_comm_time", sym.tp_allreduces_per_layer * (L / p) * m * sym.tp_allreduce_time,
                 source=TP_COMM, description="tensor-parallel all-reduces of a stage over a step"))
    # pipeline point-to-point
    add(Equation("pp_message_bytes", "pp_message_bytes", b * s * h * sym.bytes_per_element / t,
                 source=NARAYANAN_2021, description="bytes of one pipeline send (scatter/gather over t ranks)"))
    add(bw["achieved"].renamed({"link_bandwidth": "pp_link_bandwidth", "achieved_bandwidth": "pp_achieved_bandwidth"},
                               key="pp_achieved_bandwidth", description="achievable stage-to-stage bandwidth"))
    add(bw["inter_eff"].renamed({"inter_node_achieved_bandwidth": "pp_achieved_bandwidth",
                                 "oversubscription": "pp_oversubscription",
                                 "inter_node_effective_bandwidth": "pp_effective_bandwidth"},
                                key="pp_effective_bandwidth", description="stage-to-stage bandwidth after "
                                                                          "oversubscription"))
    add(_coll.collective_equations()["p2p"].renamed(
        {"message_bytes": "pp_message_bytes", "link_bandwidth": "pp_effective_bandwidth",
         "link_latency": "pp_link_latency", "p2p_time": "pp_p2p_time"}, key="pp_p2p",
        description="one pipeline send"))
    add(Equation("pp_comm_time", "pp_comm_time", 2 * v * m * (p - 1) / p * sym.pp_p2p_time, source=PP_COMM,
                 description="pipeline sends of a stage over a step"))
    add(Equation("bubble_time", "bubble_time", sym.bubble_ratio * (sym.compute_time + sym.tp_comm_time),
                 source=BUBBLE_TIME, description="idle pipeline time per step"))
    # data parallel
    add(Equation("params_per_device", "params_per_device", sym.parameters / (t * p), source=ZERO_SPLIT,
                 description="parameters held by one device"))
    add(Equation("dp_message_bytes", "dp_message_bytes", sym.params_per_device * sym.bytes_per_element,
                 source=DP_COMM, description="gradient bytes one device all-reduces"))
    add(Equation("dp_nodes", "dp_nodes", sym.dp / sym.dp_local, source=LAYOUT,
                 description="nodes one data-parallel group spans"))
    eqs.extend(_prefixed_hierarchical("dp"))
    add(Equation("dp_comm_time", "dp_comm_time", sym.dp_comm_factor * sym.dp_allreduce_time, source=DP_COMM,
                 description="data-parallel communication per step"))
    add(Equation("dp_exposed_time", "dp_exposed_time",
                 regimes={"overlapped": (1 - sym.dp_overlap) * sym.dp_comm_time,
                          "compute_limited": sym.dp_comm_time - sym.compute_time},
                 combine="max", source=DP_OVERLAP, description="data-parallel communication not hidden by compute",
                 display=r"\max\left((1 - f)\, T_{\text{DP}},\ T_{\text{DP}} - T_{\text{comp}}\right)"))
    # step
    add(Equation("step_time", "step_time", sym.compute_time + sym.tp_comm_time + sym.pp_comm_time + sym.bubble_time
                 + sym.dp_exposed_time, source=STEP, description="time of one optimizer step"))
    add(Equation("tokens_per_second", "tokens_per_second", sym.global_batch * s / sym.step_time, source=THROUGHPUT,
                 description="training tokens per second"))
    add(Equation("time_to_train", "time_to_train", sym.training_tokens / sym.tokens_per_second, source=THROUGHPUT,
                 description="wall-clock time to train on training_tokens"))
    add(Equation("mfu", "mfu", sym.model_flops_per_iteration / (sym.step_time * sym.num_devices * sym.peak_flops),
                 source=CHOWDHERY_2022, description="model FLOPs utilization"))
    add(Equation("hfu", "hfu", sym.flops_per_iteration / (sym.step_time * sym.num_devices * sym.peak_flops),
                 source=KORTHIKANTI_2022, description="hardware FLOPs utilization (recomputation counted)"))
    add(Equation("device_flops_rate", "device_flops_rate", sym.flops_per_iteration / (sym.step_time * sym.num_devices),
                 source=NARAYANAN_2021, description="FLOP/s achieved per device (Megatron-LM Table 1 convention)"))
    add(Equation("scaling_efficiency", "scaling_efficiency", sym.compute_time / sym.step_time, source=SCALING,
                 description="compute-only over modelled step time"))
    # memory
    add(Equation("model_state_bytes", "model_state_bytes",
                 sym.params_per_device * (sym.bytes_per_element / sym.param_shards
                                          + sym.bytes_per_element / sym.grad_shards
                                          + sym.optimizer_bytes_per_param / sym.optimizer_shards),
                 source=RAJBHANDARI_2020, description="ZeRO model states per device",
                 display=r"P_{\text{dev}}\left(\frac{b_e}{s_{\text{param}}} + \frac{b_e}{s_{\text{grad}}} + "
                         r"\frac{K}{s_{\text{opt}}}\right)"))
    add(Equation("activation_bytes_per_layer", "activation_bytes_per_layer",
                 s * b * h * (sym.act_replicated_coeff / sym.sp_shards + sym.act_sharded_coeff / t
                              + sym.act_attention_coeff * a * s / (h * t)),
                 source=KORTHIKANTI_2022, description="activation memory of one layer and microbatch",
                 display=r"s b h \left(\frac{c_{\text{rep}}}{s_{\text{sp}}} + \frac{c_{\text{tp}}}{n_{\text{TP}}} + "
                         r"c_{\text{attn}} \frac{a s}{h t}\right)"))
    add(Equation("inflight_microbatches", "inflight_microbatches", regimes={"pipeline_depth": p, "batch": m},
                 combine="min", source=INFLIGHT, description="microbatches a stage holds at once (1F1B)",
                 display=r"\min(n_{\text{PP}}, m)"))
    add(Equation("activation_memory", "activation_memory",
                 sym.activation_bytes_per_layer * (L / p) * sym.inflight_microbatches, source=KORTHIKANTI_2022,
                 description="activation memory per device"))
    add(Equation("memory_per_device", "memory_per_device", sym.model_state_bytes + sym.activation_memory,
                 source=MEMORY, description="model states plus activations"))
    add(Equation("memory_utilization", "memory_utilization", sym.memory_per_device / sym.memory_capacity,
                 source=MEMORY, description="fraction of device memory used"))
    _EQ.update({e.key: e for e in eqs})
    return _EQ


def build_parallelism() -> EquationSet:
    return EquationSet("Parallelism", list(parallelism_equations().values()),
                       description="3D-parallel training step: compute, TP/PP/DP communication, bubble, memory, MFU")


def build_pipeline_bubble() -> EquationSet:
    e = parallelism_equations()
    return EquationSet("PipelineBubble", [e["bubble_ratio"], e["bubble_fraction"]],
                       description="pipeline bubble: ratio to the ideal time (Narayanan et al. 2021) and idle "
                                   "fraction of the step")


def build_zero_memory() -> EquationSet:
    e = parallelism_equations()
    return EquationSet("ZeROMemory", [e["params_per_device"], e["model_state_bytes"]],
                       description="model-state memory per device with ZeRO (Rajbhandari et al. 2020)")


def build_activation_memory() -> EquationSet:
    return EquationSet("ActivationMemory", [parallelism_equations()["activation_bytes_per_layer"]],
                       description="activation memory per transformer layer (Korthikanti et al. 2022)")


Equations.register("Parallelism", factory=build_parallelism)
Equations.register("PipelineBubble", factory=build_pipeline_bubble)
Equations.register("ZeROMemory", factory=build_zero_memory)
Equations.register("ActivationMemory", factory=build_activation_memory)
