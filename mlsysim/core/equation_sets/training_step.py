"""A per-operation training step (``Equations.TrainingStep``): every GEMM, memory-bound kernel and collective
of a transformer layer at its own size-dependent efficiency, assembled into the step of a 3D-parallel job.

The single-efficiency Iron Law of ``Equations.Parallelism`` is the textbook's first model; this set is the
default of :class:`~mlsysim.solvers.distributed.DistributedSolver` for transformers.

Notes
-----
Per layer, per microbatch of ``b`` sequences of ``s`` tokens, on one device of a tensor-parallel group of
``t`` (Megatron-LM's sharding, Narayanan et al. 2021, Sec. 3.2), the forward GEMMs and their FLOPs
(``c`` = 2 FLOP per multiply-accumulate, ``a`` query heads and ``k`` KV heads of width ``d``, MLP width
``f`` with ``n_f`` matrices, ``\\bar{s}`` the attended context):

======== ======================================= ===============================================
QKV      ``c b s h (a + 2k) d / t``              fused query/key/value projection
QK^T, AV ``c b s \\bar{s} a d / t`` each           the two batched attention matmuls (half of
                                                 ``transformer``'s ``C_attn`` per token and layer)
out-proj ``c b s a d h / t``                     attention output projection
FC1      ``c b s h f (n_f - 1) / t``             up (and gate) projection
FC2      ``c b s f h / t``                       down projection
LM head  ``c b s h V / t``                       last stage only
======== ======================================= ===============================================

The attention matmuls are not written here: ``score_flops`` is ``b s C_attn / (2 l t)`` with ``C_attn``
the one attention-FLOPs relation of ``transformer.py`` (``attention_flops_per_token``) at the context
``\\bar{s} = s - kappa (s - 1)/2`` the kernel computes (``attention_context``; ``attention_causal_skip``
kappa = 0: the full score matrix, Megatron-LM's count, the default shared with serving; 1: the masked half
skipped, FlashAttention's causal path).

Each GEMM takes ``F / (eta_gemm(F) R_peak)`` with the calibrated saturating law of
``Equations.GemmEfficiency`` (``efficiency.py``, fitted to Vidur's measurements by
``python -m mlsysim.calibration.fit``). The backward pass runs two GEMMs of the same shape per forward
GEMM (input gradient and weight gradient): twice the forward time. Full recomputation repeats the forward
pass; selective recomputation repeats the attention core (Korthikanti et al. 2022, Sec. 5).

Memory-bound kernels (each on the calibrated law of its kind: norms on the normalisation fit, residual adds
on the add fit, the MLP activation on the activation fit, the rest on the pooled elementwise fit) move bytes
given by the activations Korthikanti et al. 2022 (Sec. 4.1) list per layer:
two norms (read and write ``s b h`` elements each), two dropout-residual adds (read two, write one, plus a
1-byte dropout mask where dropout is on), the MLP activation (read ``n_f - 1``, write 1 per ``s b f / t``
element) and, where the score matrix is materialised (no fused attention kernel), softmax and dropout over
``a s \\bar{s} b / t`` elements. Norms and residual adds are split ``t`` ways with sequence parallelism. Each
kernel takes ``D / (eta_mem(D) BW)``, and so does its backward, whose bytes follow from its gradient formula
(per element, in element sizes ``b_e``, ``u_drop`` the dropout switch and ``b_mask`` the mask's bytes):

============ ================================== ========================================================
kernel       forward                            backward
============ ================================== ========================================================
norm         2                                  3 (read dy, x; write dx)
residual     3 + u_drop b_mask                  3 + u_drop (2 + b_mask) (sum of the residual stream's two
                                                gradients; dropout's dy m)
activation   n_f                                2 n_f - 1
softmax      (1 + rho) + u_drop (2 + b_mask)    (1 + 2 rho) + u_drop (2 + b_mask)
============ ================================== ========================================================

``rho`` is the fraction of the score elements the softmax reads: Megatron-LM's causal kernel reads only the
unmasked triangle (``softmax_causal_read``), about half of a full score matrix.

Tensor-parallel communication: 2 all-reduce equivalents per layer forward (an all-gather plus a
reduce-scatter each with sequence parallelism: the same ring traffic), exposed; 2 backward, overlapped with
the weight-gradient GEMMs up to their length (a fraction ``f_TP`` of them can hide). Each on the calibrated
alpha-beta law of the fabric (``Equations.CollectiveAlphaBeta``).

A stage holds ``n_i`` layers; the first also the embedding look-up, the last the LM head and the loss
(uneven stages: ``pp`` need not divide the layers). The slowest stage sets the pace:

.. math:: T_{\\text{pace}} = \\max(n_1 T_L + T_{\\text{emb}} + u T_{\\text{head}},\\ n_{\\text{mid}} T_L,\\
          n_p T_L + T_{\\text{head}})

with ``u_single`` = 1 when one stage holds everything. One step is ``m`` microbatches at that pace, the interleaved
bubble ``(p - 1)/(v m)`` of it, the pipeline sends, the exposed data-parallel gradient reduction and the
optimizer step. The data-parallel reduction runs at the gradient precision (Megatron-LM: fp32 when training in
bf16, fp16 when training in fp16) and overlaps the backward pass of the last microbatch except its last bucket:

.. math:: T_{\\text{DP,exp}} =
    \\max\\left(T_{\\text{DP}} / n_{\\text{bucket}},\\ T_{\\text{DP}} - u_{\\text{ovl}}\\, T_{\\text{win}}\\right)

(``u_ovl`` = 1; 0 when the framework reduces the gradients only after the backward pass, as Megatron-LM 2021's
local DDP did).

The optimizer step is one memory-bound pass over the device's optimizer state (Adam: read and write fp32
master weights, two moments, read the gradient, write the 16-bit weights).

Context parallelism (``cp``; Dubey et al. 2024 Sec. 3.3.2): every token-linear term works on ``s / cp`` local
tokens, the keys and values of the whole sequence are all-gathered per layer (their gradients reduce-scattered
backward), and gradients are reduced over ``dp cp`` ranks. Expert parallelism (``ep``; Lepikhin et al. 2020,
Fedus et al. 2021): the MLP GEMMs run on ``k c_cap`` routed tokens per token, four all-to-alls per MoE layer
(dispatch and combine, forward and backward), and each device keeps ``E / ep`` experts. Devices:
``tp cp pp dp``.

Data-parallel traffic per ZeRO stage (``dp_comm_factor``, relative to an all-reduce at the gradient precision
``b_g``): a ring all-reduce is a reduce-scatter plus an all-gather; ZeRO-1/2 all-gather the updated 16-bit
parameters instead of the gradients and ZeRO-3 gathers them twice (Rajbhandari et al. 2020, Sec. 7.2):
``(1 + u_AG,g + n_AG,p b_e / b_g) / 2``, i.e. 1, 0.75 and 1 for ZeRO-0, 1/2 and 3 with fp32 gradients and bf16
parameters (1, 1, 1.5 at equal precision).

Activation memory: Korthikanti et al. 2022's dense layer, plus the ``k c_cap - 1`` extra routed copies of an MoE
MLP's input and intermediates (``expert_activation_bytes_per_layer``); the first stage holds ``min(p, m)``
microbatches, ``(1 + (p - 1)/(p v))`` times more with the interleaved schedule (Korthikanti et al. 2022, Sec. 4.2.3).

Offload (``offload_optimizer``, ``offload_activations``, ``offload_weights``: 0/1 switches in [0, 1]; Ren et al.
2021, ZeRO-Offload; Rajbhandari et al. 2021, ZeRO-Infinity) over a host link of ``B_host`` each direction:
the optimizer states and step go to the host (gradients down, hidden under the last backward up to its length;
16-bit parameters up, exposed; the host's Adam at ``R_Adam`` parameters/s replaces the device's optimizer step);
activations go down after the forward pass and return for the backward (the device keeps two layers); parameters
stream in per layer and pass (the device keeps two layers). A fraction ``f_off`` of each stream may overlap the
layers' compute, never more than that window: ``max((1 - f_off) T, T - T_win)``. The node's host memory must hold
the offloaded state of its ``g_host`` devices (``host_memory_utilization``).

Every part of ``step_time`` is its own variable and they add up exactly: ``gemm``, ``kernel``,
``tp_exposed``, ``recompute``, ``cp_comm``, ``ep_alltoall``, ``stage_imbalance``, ``bubble``, ``pp_comm``,
``dp_exposed``, ``optimizer``, ``offload_optimizer``, ``offload_activations``, ``offload_weights``.
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from ..sources import derived
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations
from . import collectives as _coll
from . import efficiency as _eff
from . import parallelism as _par
from . import transformer as _tf

# ---------------------------------------------------------------- nomenclature
_var("elementwise_efficiency_max", "", r"\eta_{\text{elt,max}}",
     "asymptotic fraction of the datasheet bandwidth elementwise kernels reach (fitted)", "fraction")
_var("elementwise_half_bytes", "byte", r"D_{1/2,\text{elt}}",
     "bytes at which an elementwise kernel reaches half its asymptotic bandwidth efficiency (fitted)")
for _kind, _what in (("norm", "normalisation"), ("add", "residual-add"), ("act", "activation-function")):
    _var(f"{_kind}_efficiency_max", "", rf"\eta_{{\text{{{_kind},max}}}}",
         f"asymptotic fraction of the datasheet bandwidth {_what} kernels reach (fitted)", "fraction")
    _var(f"{_kind}_half_bytes", "byte", rf"D_{{1/2,\text{{{_kind}}}}}",
         f"bytes at which a {_what} kernel reaches half its asymptotic bandwidth efficiency (fitted)")
#: which fitted elementwise law each kernel of a layer runs on (the others: the pooled elementwise fit)
KERNEL_LAW = {"norm": "norm", "residual": "add", "act": "act", "softmax": "elementwise", "embedding": "elementwise",
              "loss": "elementwise"}
_var("score_materialized", "", r"u_{\text{score}}",
     "1 if the attention score matrix is written to memory (softmax, dropout as kernels), 0 if fused", "count0")
_var("dropout_on", "", r"u_{\text{drop}}", "1 if the layer applies dropout (residual and attention), else 0",
     "count0")
_var("overlap_grad_reduce", "", r"u_{\text{ovl}}",
     "1 if the data-parallel gradient reduction runs in buckets during the backward pass (PyTorch DDP, Megatron-LM "
     "--overlap-grad-reduce), 0 if it starts after the backward pass (Megatron-LM 2021's local DDP)", "count0")
_var("dropout_mask_bytes", "byte", r"b_{\text{mask}}", "bytes per element of a dropout mask", "nonnegative")
_var("softmax_causal_read", "", r"u_{\text{causal}}",
     "1 if the softmax kernel reads only the unmasked (causal) part of each score row, 0 if the whole row "
     "(in [0, 1])", "nonnegative")
_var("softmax_read_fraction", "", r"\rho_{\text{sm}}",
     "fraction of the materialised score elements the softmax kernel reads", "fraction")
_var("recompute_full", "", r"r_{\text{full}}", "1 with full activation recomputation, else 0", "count0")
_var("recompute_selective", "", r"r_{\text{sel}}", "1 with selective (attention-core) recomputation, else 0",
     "count0")
_var("tp_forward_collectives", "", r"n_{\text{TP,f}}",
     "tensor-parallel all-reduce equivalents per layer forward (2; 0 without TP)", "count0")
_var("tp_backward_collectives", "", r"n_{\text{TP,b}}",
     "tensor-parallel all-reduce equivalents per layer backward (2; 0 without TP)", "count0")
_var("tp_overlap", "", r"f_{\text{TP}}",
     "fraction of the backward tensor-parallel traffic that can run under the weight-gradient GEMMs", "nonnegative")
_var("tp_collective_latency", "s", r"\alpha_{\text{TP}}", "fitted latency of one tensor-parallel all-reduce",
     "nonnegative")
_var("tp_collective_bandwidth", "GB/s", r"B_{\text{TP}}",
     "fitted effective bandwidth of one tensor-parallel all-reduce")
_var("tp_collective_time", "s", r"T_{\text{TP,1}}", "time of one tensor-parallel all-reduce equivalent")
_var("cp", "", r"n_{\text{CP}}", "context-parallel degree (sequence split over cp ranks)", "count")
_var("ep", "", r"n_{\text{EP}}", "expert-parallel degree (experts split over ep ranks)", "count")
_var("local_seq_len", "", r"s_{\text{loc}}", "tokens of a sequence on one context-parallel rank: seq_len / cp")
_var("num_experts", "", r"n_{\text{exp}}", "MLP experts per layer (1 for a dense model)", "count")
_var("experts_per_token", "", r"k_{\text{exp}}", "experts each token is routed to (1 for a dense model)", "count")
_var("expert_parameters", "", r"N_{\text{exp}}", "parameters of one MLP (one expert)")
_var("capacity_factor", "", r"c_{\text{cap}}", "expert capacity over the mean routed load (1 for a dense model)",
     "ge1")
_var("cp_message_bytes", "byte", r"M_{\text{CP}}", "bytes of the all-gathered keys and values of one layer")
_var("cp_link_bandwidth", "GB/s", r"B_{\text{cp}}", "link bandwidth between context-parallel ranks, each direction")
_var("cp_link_latency", "us", r"\alpha_{\text{cp}}", "latency between context-parallel ranks", "nonnegative")
_var("cp_effective_bandwidth", "GB/s", r"B_{\text{cp,eff}}", "achievable bandwidth between context-parallel ranks")
_var("cp_allgather_time", "s", r"T_{\text{AG,CP}}", "one all-gather of keys and values over the cp ranks",
     "nonnegative")
_var("cp_layer_time", "s", r"T_{\text{CP,L}}", "context-parallel communication of one layer and microbatch",
     "nonnegative")
_var("ep_message_bytes", "byte", r"M_{\text{EP}}", "bytes one rank dispatches in one expert all-to-all")
_var("ep_link_bandwidth", "GB/s", r"B_{\text{ep}}", "link bandwidth between expert-parallel ranks, each direction")
_var("ep_link_latency", "us", r"\alpha_{\text{ep}}", "latency between expert-parallel ranks", "nonnegative")
_var("ep_oversubscription", "", r"r_{\text{ep}}", "oversubscription seen by the all-to-all (1 inside a node)",
     "ge1")
_var("ep_achieved_bandwidth", "GB/s", r"B_{\text{ep,ach}}", "achievable bandwidth between expert-parallel ranks")
_var("ep_effective_bandwidth", "GB/s", r"B_{\text{ep,eff}}",
     "achievable bandwidth between expert-parallel ranks after oversubscription")
_var("ep_alltoall_time", "s", r"T_{\text{A2A,EP}}", "one expert all-to-all (dispatch or combine)", "nonnegative")
_var("ep_layer_time", "s", r"T_{\text{EP,L}}", "expert all-to-all time of one layer and microbatch", "nonnegative")
_var("first_stage_layers", "", r"n_{1}", "layers on the first pipeline stage", "count")
_var("middle_stage_layers", "", r"n_{\text{mid}}", "layers on the largest middle stage (0 if pp <= 2)", "count0")
_var("last_stage_layers", "", r"n_{p}", "layers on the last pipeline stage (0 if pp = 1)", "count0")
_var("stage_layers", "", r"n_{\max}", "layers on the largest stage: ceil(num_layers / pp)", "count")
_var("single_stage", "", r"u_{\text{single}}", "1 if one stage holds the whole model (pp = 1), else 0", "count0")
_var("grad_bytes_per_element", "byte", r"b_{\text{g}}", "bytes per gradient element in the data-parallel reduction")
_var("dp_buckets", "", r"n_{\text{bucket}}", "gradient buckets of the data-parallel reduction", "count")
_var("optimizer_step_bytes_per_param", "byte", r"c_{\text{opt}}",
     "bytes the optimizer step reads and writes per parameter it updates")
_var("loss_bytes_per_logit", "byte", r"c_{\text{loss}}",
     "bytes the softmax cross-entropy (forward and backward) moves per logit")

for _op, _what in (("qkv", "QKV projection"), ("score", "one attention batched matmul (QK^T or AV)"),
                   ("proj", "attention output projection"), ("fc1", "MLP up (and gate) projection"),
                   ("fc2", "MLP down projection"), ("head", "LM head")):
    _var(f"{_op}_flops", "FLOP", rf"F_{{\text{{{_op}}}}}", f"forward FLOPs of the {_what} per device and microbatch")
    _var(f"{_op}_gemm_efficiency", "", rf"\eta_{{\text{{{_op}}}}}", f"achieved / peak compute of the {_what}",
         "fraction")
    _var(f"{_op}_time", "s", rf"T_{{\text{{{_op}}}}}", f"forward time of the {_what}")
for _k, _what in (("norm", "one norm"), ("residual", "one dropout-residual add"), ("act", "the MLP activation"),
                  ("softmax", "softmax and dropout over the scores"),
                  ("embedding", "the embedding look-up (forward and backward)"),
                  ("loss", "softmax cross-entropy (forward and backward)")):
    _fwd = "" if _k in ("embedding", "loss") else " (forward)"
    _var(f"{_k}_kernel_bytes", "byte", rf"D_{{\text{{{_k}}}}}", f"bytes moved by {_what}{_fwd}")
    _var(f"{_k}_memory_efficiency", "", rf"\eta_{{\text{{mem,{_k}}}}}",
         f"achieved / datasheet bandwidth of {_what}{_fwd}", "fraction")
    _var(f"{_k}_kernel_time", "s", rf"T_{{\text{{{_k}}}}}", f"time of {_what}{_fwd}", "nonnegative")
    if _fwd:
        _var(f"{_k}_backward_kernel_bytes", "byte", rf"D_{{\text{{{_k},b}}}}",
             f"bytes moved by the backward of {_what}")
        _var(f"{_k}_backward_memory_efficiency", "", rf"\eta_{{\text{{mem,{_k},b}}}}",
             f"achieved / datasheet bandwidth of the backward of {_what}", "fraction")
        _var(f"{_k}_backward_kernel_time", "s", rf"T_{{\text{{{_k},b}}}}", f"time of the backward of {_what}",
             "nonnegative")
_var("optimizer_kernel_bytes", "byte", r"D_{\text{opt}}", "bytes the optimizer step moves on one device")
_var("optimizer_memory_efficiency", "", r"\eta_{\text{mem,opt}}", "achieved / datasheet bandwidth of the optimizer "
     "step", "fraction")
_var("layer_gemm_time", "s", r"T_{\text{G}}", "forward GEMM time of one layer and microbatch")
_var("attention_core_time", "s", r"T_{\text{core}}", "forward time of the attention core (QK^T, AV, softmax)")
_var("layer_kernel_time", "s", r"T_{\text{K}}", "forward memory-bound kernel time of one layer and microbatch")
_var("layer_backward_kernel_time", "s", r"T_{\text{K,b}}",
     "backward memory-bound kernel time of one layer and microbatch")
_var("tp_exposed_layer_time", "s", r"T_{\text{TP,L}}", "exposed tensor-parallel time of one layer and microbatch",
     "nonnegative")
_var("recompute_layer_time", "s", r"T_{\text{re,L}}", "recomputation time of one layer and microbatch",
     "nonnegative")
_var("layer_time", "s", r"T_{L}", "forward + backward (+ recompute) time of one layer and microbatch")
_var("head_stage_time", "s", r"T_{\text{head+loss}}", "LM head and loss, forward and backward, per microbatch")
_var("stage_pace_time", "s", r"T_{\text{pace}}", "per-microbatch time of the slowest pipeline stage")
_var("dp_overlap_window", "s", r"T_{\text{win}}", "backward time of the last microbatch, which can hide DP traffic")
_var("optimizer_time", "s", r"T_{\text{opt}}", "optimizer step time (on the device, or the host's Adam when "
     "offloaded)", "nonnegative")
_var("device_optimizer_time", "s", r"T_{\text{opt,dev}}", "optimizer step time on the device (memory-bound kernel)",
     "nonnegative")
# offload (ZeRO-Offload, ZeRO-Infinity): switches in [0, 1] (0 or 1 from the solver), host memory and link
for _kind, _what in (("optimizer", "the fp32 master weights and Adam moments (and the optimizer step) live on the "
                                   "host"),
                     ("activations", "the stored activations go to the host after the forward pass and return "
                                     "for the backward pass"),
                     ("weights", "the 16-bit parameters live on the host and stream in per layer")):
    _var(f"offload_{_kind}", "", rf"u_{{\text{{off,{_kind[:3]}}}}}", f"1 if {_what}, else 0 (in [0, 1])",
         "nonnegative")
_var("host_link_bandwidth", "GB/s", r"B_{\text{host}}",
     "device-host link bandwidth per device, each direction (PCIe, NVLink-C2C)")
_var("host_memory_capacity", "GB", r"M_{\text{host}}", "host (CPU) memory of one node")
_var("offload_overlap", "", r"f_{\text{off}}",
     "fraction of a host-link transfer that may run under compute (capped by the compute window)", "nonnegative")
_var("host_adam_rate", "1/s", r"R_{\text{Adam}}",
     "parameters the host's Adam updates per second, per device it serves")
_var("host_adam_time", "s", r"T_{\text{Adam,host}}", "the host's Adam step over the device's offloaded parameters",
     "nonnegative")
_var("offload_grad_bytes", "byte", r"D_{\text{off,g}}", "gradient bytes a device sends to the host per step",
     "nonnegative")
_var("offload_param_bytes", "byte", r"D_{\text{off,p}}",
     "updated 16-bit parameter bytes the host sends back to a device per step", "nonnegative")
_var("offload_grad_time", "s", r"T_{\text{off,g}}", "host-link time of the gradients to the host", "nonnegative")
_var("offload_activation_bytes", "byte", r"D_{\text{off,a}}",
     "activation bytes a device sends to the host per step (the same bytes return for the backward pass)",
     "nonnegative")
_var("offload_activation_time", "s", r"T_{\text{off,a}}", "host-link time of the activations, one direction",
     "nonnegative")
_var("offload_weight_bytes", "byte", r"D_{\text{off,w}}", "parameter bytes streamed from the host to a device per step",
     "nonnegative")
_var("offload_weight_time", "s", r"T_{\text{off,w}}", "host-link time of the streamed parameters", "nonnegative")
_var("layer_compute_step_time", "s", r"T_{\text{comp,L}}",
     "GEMM and kernel time of the layers at the pace over a step: the window host transfers may hide under",
     "nonnegative")
for _part, _what in (("offload_optimizer", "gradients to the host (exposed beyond the last backward) and updated "
                                           "parameters back"),
                     ("offload_activations", "activations to and from the host, exposed beyond the compute window"),
                     ("offload_weights", "parameters streamed from the host, exposed beyond the compute window")):
    _var(f"{_part}_step_time", "s", rf"T_{{\text{{step,{_part.replace('_', ' ')}}}}}", f"step share: {_what}",
         "nonnegative")
_var("offloaded_state_bytes", "GB", r"M_{\text{states,host}}", "model-state bytes of one device kept on the host",
     "nonnegative")
_var("weight_buffer_bytes", "GB", r"M_{\text{w,buf}}",
     "device buffer for streamed parameters: two layers' worth (in use, prefetching)", "nonnegative")
_var("host_activation_bytes", "GB", r"M_{\text{act,host}}", "activation bytes of one device kept on the host",
     "nonnegative")
_var("host_bytes_per_device", "GB", r"M_{\text{host,dev}}", "host memory one device's offloaded state occupies",
     "nonnegative")
_var("dp_grad_allgather", "", r"u_{\text{AG,g}}",
     "1 if the data-parallel reduction all-gathers the reduced gradients (a plain all-reduce, ZeRO-0), else 0",
     "count0")
_var("dp_param_allgathers", "", r"n_{\text{AG,p}}",
     "16-bit parameter all-gathers per step over the data-parallel ranks (0; 1 with ZeRO-1/2; 2 with ZeRO-3)", "count0")
_var("interleaved_schedule", "", r"u_{\text{int}}", "1 with the interleaved 1F1B schedule (v > 1), else 0", "count0")
_var("dense_activation_bytes_per_layer", "byte", r"M_{\text{layer,dense}}",
     "activation memory of one layer and microbatch as a dense layer (Korthikanti et al. 2022)")
_var("moe_mlp", "", r"u_{\text{MoE}}", "1 if the MLP is a mixture of experts (routed tokens), 0 if dense", "count0")
# domain "real": >= 0 by construction (k >= 1, c_cap >= 1, r_full <= 1), but the fused array path expands
# (k c_cap - 1) X into k c_cap X - X, whose round-off can leave -1e-8 bytes where k c_cap = 1 (the switch u_MoE
# makes a dense model's term an exact 0)
_var("expert_activation_bytes_per_layer", "byte", r"M_{\text{layer,exp}}",
     "activation memory of the extra routed-token copies of a mixture-of-experts MLP, one layer and microbatch",
     "real")
_var("host_devices", "", r"g_{\text{host}}", "devices sharing one host's memory (devices per node)", "count")
_var("host_memory_per_node", "GB", r"M_{\text{host,node}}", "host memory the node's devices' offloaded state "
     "occupies", "nonnegative")
_var("host_memory_utilization", "", r"u_{\text{host}}", "host_memory_per_node / host_memory_capacity",
     "nonnegative")
for _part, _what in (("cp_comm", "context-parallel key/value all-gathers and gradient reduce-scatters"),
                     ("ep_alltoall", "expert-parallel all-to-alls (dispatch and combine)"),
                     ("gemm", "GEMMs (forward and backward) of the layers at the pace"),
                     ("kernel", "memory-bound kernels (forward and backward) of the layers at the pace"),
                     ("tp_exposed", "exposed tensor-parallel communication"),
                     ("recompute", "activation recomputation"),
                     ("stage_imbalance", "the slowest stage's extra work (embedding, LM head, loss)")):
    _var(f"{_part}_step_time", "s", rf"T_{{\text{{step,{_part.replace('_', ' ')}}}}}", f"step share: {_what}",
         "nonnegative")

# ---------------------------------------------------------------- sources
KORTHIKANTI_KERNELS = derived(
    "memory-bound kernels of a transformer layer",
    "Korthikanti et al. 2022 (arXiv:2205.05198, Sec. 4.1) list the activations of a layer: two layer norms, two "
    "dropout-residual blocks with 1-byte masks, the MLP activation, softmax and attention dropout over the a s^2 b "
    "scores; each kernel reads its inputs and writes its output once (bytes = elements x bytes per element; "
    "Megatron-LM fuses bias + GeLU and bias + dropout + add, and scale + mask + softmax, Narayanan et al. 2021 "
    "Sec. 4.2), and its backward pass reads what its gradient formula needs (KERNEL_BACKWARD)")
KERNEL_BACKWARD = derived(
    "bytes of the backward kernels",
    "each kernel's backward reads the output gradient and the saved tensors its derivative needs and writes the "
    "input gradients, once each (per element, in units of the element size): norm y = LN(x): forward reads x, "
    "writes y (2), backward reads dy and x, writes dx (3; the per-row statistics and the affine weights' "
    "gradients are per token or per channel, negligible); the MLP activation over n_f - 1 inputs: forward n_f, "
    "backward reads dy and the n_f - 1 inputs, writes their n_f - 1 gradients (2 n_f - 1); dropout y = x m / (1 - "
    "p): forward reads x, writes y and the mask (2 + mask), backward reads dy and the mask, writes dx (2 + mask); "
    "the residual add: forward reads the two summands, writes the sum (3), backward passes dy through to both "
    "summands, and the gradients of the residual stream, which feeds both the norm and the add, are summed where "
    "it forks (autograd's accumulation: read two, write one: 3); softmax y = softmax(x): forward reads x, writes "
    "y (2), backward reads dy and y, writes dx (3)")
SOFTMAX_CAUSAL = derived(
    "a causal softmax kernel reads the unmasked triangle",
    "Megatron-LM's fused scale + implicit causal mask + softmax kernel for GPT (Narayanan et al. 2021 Sec. 4.2; "
    "megatron/fused_kernels/scaled_upper_triang_masked_softmax.h) loads only the first i elements of score row i "
    "(forward: the scores; backward: the output gradient and the output) and writes whole rows (zeros past the "
    "diagonal): it reads s (s + 1)/2 of the s^2 elements of a full score matrix, all of a matrix already cut to "
    "the unmasked part (attention_causal_skip = 1). rho = 1 - u_causal (1 - s (s + 1) / (2 s sbar)) for s sbar "
    "score elements per head")
GEMM_SHAPES = derived(
    "GEMM shapes of a tensor-parallel transformer layer",
    "Narayanan et al. 2021 (SC21, Sec. 3.2) and Shoeybi et al. 2019: QKV and FC1 column-parallel, out-projection "
    "and FC2 row-parallel, attention heads split t ways; 2 FLOP per multiply-accumulate; GQA projects k KV heads")
BACKWARD = derived("backward GEMMs", "each forward GEMM Y = X W has two backward GEMMs of the same size, dX = dY W^T "
                   "and dW = X^T dY (Narayanan et al. 2021 Sec. 5.1: backward = 2 x forward)")
RECOMPUTE = derived("activation recomputation", "full recomputation re-runs the layer's forward pass before its "
                    "backward; selective recomputation re-runs only the attention core (Korthikanti et al. 2022 "
                    "Sec. 5)")
TP_OVERLAP = derived(
    "tensor-parallel overlap",
    "forward all-reduces sit on the critical path; in the backward pass the input-gradient all-reduce of a "
    "column-parallel layer runs while the weight-gradient GEMM computes (Megatron-LM's asynchronous tensor-parallel "
    "all-reduce; Korthikanti et al. 2022 Sec. 4.2.2), so at most the weight-gradient GEMM time can hide it")
STAGES = derived(
    "uneven pipeline stages",
    "stage i holds n_i layers; the first also runs the embedding, the last the LM head and loss (Dubey et al. 2024, "
    "Llama 3, Sec. 3.3.2: one layer fewer on the first and last stages); with 1F1B the slowest stage sets the pace")
STEP_PARTS = derived(
    "additive step breakdown",
    "m microbatches at the slowest stage's pace, split into the layers' GEMMs, kernels, exposed TP traffic and "
    "recomputation at the largest stage's layer count and the remainder of the pace (embedding, LM head); plus "
    "the bubble (p-1)/(v m) of the pace work, the pipeline sends, the exposed DP reduction and the optimizer")
DP_BUCKETS = derived(
    "bucketed data-parallel reduction",
    "gradients are reduced in buckets as the backward pass of the last microbatch produces them (Li et al. 2020, "
    "PyTorch DDP, VLDB 13(12)); the last bucket cannot overlap, and no more than that backward pass can hide. "
    "Without overlap (u_ovl = 0: Megatron-LM 2021's local DDP, --DDP-impl local, all-reduces the gradient buffer "
    "after the backward pass) all of it is exposed")
OPTIMIZER = derived(
    "optimizer step traffic",
    "mixed-precision Adam (Rajbhandari et al. 2020 Sec. 3.1) reads and writes the fp32 master weight and both fp32 "
    "moments (24 bytes), reads the fp32 gradient (4) and writes the 16-bit weight (2): 30 bytes per parameter")
LOSS = derived(
    "softmax cross-entropy traffic",
    "forward reads the 16-bit logits and writes fp32 probabilities; backward reads them and writes 16-bit "
    "gradients: 2 + 4 + 4 + 2 = 12 bytes per logit")
MFU_OPS = derived("model FLOPs from the operations", "forward FLOPs of every GEMM of every layer and the LM head "
                  "(expert GEMMs without the capacity padding), "
                  "times 3 (forward and backward, no recomputation; Chowdhery et al. 2022 App. B), over all "
                  "tensor-parallel shards and microbatches of the global batch")

CONTEXT_PARALLEL = derived(
    "context parallelism (all-gather form)",
    "Dubey et al. 2024 (Llama 3, Sec. 3.3.2): the sequence is split over cp ranks; before attention each rank "
    "all-gathers the keys and values of the whole sequence (2 b s k d elements per layer, split over the TP heads) "
    "and the backward pass reduce-scatters their gradients (same ring cost); queries, MLP and norms work on the "
    "s/cp local tokens (Liu et al. 2023, ring attention, for the same split); weights are replicated over cp, so "
    "gradients are reduced over dp x cp ranks")
EXPERT_PARALLEL = derived(
    "expert parallelism",
    "Lepikhin et al. 2020 (GShard) and Fedus et al. 2021 (Switch): each token is routed to k of E experts; ranks "
    "hold E/ep experts; a dispatch and a combine all-to-all per MoE layer in the forward pass and two in the "
    "backward (Thakur et al. 2005 pairwise exchange); each expert GEMM runs on the tokens routed to it, padded to "
    "the capacity factor: k c_cap times a dense MLP's FLOPs per token")
EP_PARAMS = derived("parameters per device with expert parallelism", "tensor and pipeline parallelism split the model "
                    "evenly; expert parallelism keeps E/ep of each layer's E experts: P - L E N_exp (1 - 1/ep) "
                    "over t p")

OFFLOAD_OPTIMIZER = derived(
    "optimizer offload (ZeRO-Offload)",
    "Ren et al. 2021 (ZeRO-Offload, USENIX ATC, Sec. 4.1-4.2): the fp32 master weights and both Adam moments "
    "(K = 12 bytes per parameter) and the optimizer step move to the host; each step the device's gradient shard "
    "goes to the host (here at the gradient precision b_g) as the backward pass produces it, the host runs Adam "
    "(CPU-Adam), and the updated 16-bit parameters (b_e) come back before the next forward pass (no delayed "
    "parameter update): the upload and the host step are on the critical path; the host holds K + b_g bytes per "
    "offloaded parameter")
OFFLOAD_STREAM = derived(
    "activation and parameter offload (ZeRO-Infinity)",
    "Rajbhandari et al. 2021 (ZeRO-Infinity, SC21, Sec. 5-6): parameters live in host memory and are fetched per "
    "layer for every forward, recompute and backward pass of every microbatch (a device holds the layer in use "
    "and the one being prefetched: two layers); activation checkpoints go to the host after the forward pass "
    "and return before the backward pass (a device keeps the layer being computed and the one in transit); the "
    "overlap-centric design runs these transfers under compute. The host link is full duplex: activations go "
    "down in one direction while they, and the parameters, come back in the other; the host-to-device direction "
    "binds: parameters first, activations in the compute window they leave")
OFFLOAD_EXPOSED = derived(
    "exposed host-link transfers",
    "a fraction f_off of a transfer can overlap compute, but no more than the compute window can hide: "
    "max((1 - f_off) T, T - T_win); gradients in the last microbatch's backward (as the data-parallel reduction); "
    "streamed parameters in the step's layer compute, activations in what the parameters leave of it")
HOST_MEMORY = derived(
    "host memory of offloaded state",
    "a node's host memory holds the offloaded state of each of its devices: optimizer states and the gradient "
    "buffer (ZeRO-Offload), the 16-bit parameter shard (ZeRO-Infinity) and the in-flight activations; it must not "
    "exceed the node's host memory (framework and OS use not modelled)")

ZERO_TRAFFIC = derived(
    "data-parallel traffic with ZeRO",
    "a ring all-reduce is a reduce-scatter plus an all-gather, each moving (n-1)/n of the message (Patarasuk and Yuan "
    "2009); ZeRO-1/2 replace the all-gather of reduced gradients by an all-gather of the updated parameters, the same "
    "volume at equal precision (Rajbhandari et al. 2020, Sec. 7.2.1: 2 Psi), and ZeRO-3 gathers the parameters twice "
    "(forward and backward: 3 Psi, Sec. 7.2.2). Megatron-LM's distributed optimizer reduce-scatters fp32 gradients and "
    "all-gathers bf16 parameters (docs/distrib_optimizer.md), so relative to an all-reduce at the gradient "
    "precision: (1 + u_AG,g + n_AG,p b_e / b_g) / 2")
INTERLEAVED_MEMORY = derived(
    "activations in flight with the interleaved schedule",
    "Korthikanti et al. 2022 (Sec. 4.2.3): with the interleaved 1F1B schedule the first stage holds the activations "
    "of (1 + (p - 1)/(p v)) times the p microbatches of plain 1F1B (its warm-up runs 2(p - 1) + (v - 1) p forward "
    "chunks of L/(p v) layers before the first backward, Narayanan et al. 2021 Sec. 2.2.2)")
MOE_ACTIVATIONS = derived(
    "activation memory of a mixture-of-experts MLP",
    "each token is routed to k experts with capacity padding c_cap (Fedus et al. 2021, Sec. 2.1), so the expert MLPs "
    "see k c_cap token copies where a dense MLP sees one: per extra copy the dispatched input (h elements, split by "
    "sequence parallelism) and the MLP's n_f f intermediate elements over t (Korthikanti et al. 2022 Sec. 4.1's "
    "MLP terms: 2 s b h input + 16 s b h / t for n_f = 2, f = 4h); full recomputation keeps only the layer input")

#: bytes the optimizer step moves per parameter (OPTIMIZER)
ADAM_STEP_BYTES = 30.0
#: bytes the loss moves per logit (LOSS)
LOSS_BYTES_PER_LOGIT = 12.0
#: bytes per element of a dropout mask: PyTorch's dropout keeps a bool mask (KORTHIKANTI_KERNELS: Korthikanti et al.
#: 2022 Sec. 4.1 count the same 1 byte)
DROPOUT_MASK_BYTES = 1.0

_EQ: dict = {}


def training_step_equations() -> dict:
    """Every Equation of the TrainingStep set, ``{key: Equation}`` (built once)."""
    if _EQ:
        return _EQ
    eff = _eff.efficiency_equations()
    par = _par.parallelism_equations()
    c, b, s, h, t = sym.flops_per_mac, sym.micro_batch_size, sym.local_seq_len, sym.hidden_size, sym.tp
    a, k, d, f, nf, V = (sym.num_heads, sym.num_kv_heads, sym.head_dim, sym.ffn_hidden_size, sym.ffn_matrices,
                         sym.vocab_size)
    sbar, be, m, p = sym.attention_context, sym.bytes_per_element, sym.microbatches, sym.pp
    moe = sym.experts_per_token * sym.capacity_factor
    eqs = []
    add = eqs.append
    add(Equation("dp", "dp", sym.num_devices / (t * sym.cp * p), source=CONTEXT_PARALLEL,
                 description="data-parallel degree: devices over tp cp pp"))
    add(Equation("local_seq_len", "local_seq_len", sym.seq_len / sym.cp, source=CONTEXT_PARALLEL,
                 description="tokens of a sequence on one context-parallel rank"))
    add(par["microbatches"])
    # ---- attention FLOPs: the one relation of transformer.py (QK^T and AV per token over the context the kernel
    # computes, with the shared causal-skip switch), per layer, device and microbatch: half of it per matmul
    add(_tf.attention_context_equation())
    add(_tf.attention_flops_per_token_equation().renamed(
        {"seq_len": "attention_context"}, key="attention_flops_per_token",
        description="FLOPs per token of QK^T and AV over the attended context (all layers)"))
    # ---- GEMMs
    shapes = {"qkv": c * b * s * h * (a + 2 * k) * d / t,
              "score": b * s * sym.attention_flops_per_token / (2 * sym.num_layers * t),
              "proj": c * b * s * a * d * h / t, "fc1": c * b * s * h * f * (nf - 1) * moe / t,
              "fc2": c * b * s * f * h * moe / t,
              "head": c * b * s * h * V / t}
    for op, rhs in shapes.items():
        add(Equation(f"{op}_flops", f"{op}_flops", rhs, source=EXPERT_PARALLEL if op in ("fc1", "fc2") else
                     _tf.ATTENTION_FLOPS if op == "score" else GEMM_SHAPES,
                     description=f"forward FLOPs: {op}"))
        add(eff["gemm_efficiency"].renamed({"gemm_flops": f"{op}_flops", "gemm_efficiency": f"{op}_gemm_efficiency"},
                                           key=f"{op}_gemm_efficiency", description=f"GEMM efficiency: {op}"))
        add(eff["gemm_time"].renamed({"gemm_flops": f"{op}_flops", "gemm_efficiency": f"{op}_gemm_efficiency",
                                      "gemm_time": f"{op}_time"}, key=f"{op}_time", description=f"GEMM time: {op}"))
    add(Equation("layer_gemm_time", "layer_gemm_time",
                 sym.qkv_time + 2 * sym.score_time + sym.proj_time + sym.fc1_time + sym.fc2_time, source=GEMM_SHAPES,
                 description="forward GEMM time of one layer"))
    # ---- memory-bound kernels
    sp_ = sym.sp_shards
    ud, mask, rho = sym.dropout_on, sym.dropout_mask_bytes, sym.softmax_read_fraction
    add(Equation("softmax_read_fraction", "softmax_read_fraction",
                 1 - sym.softmax_causal_read * (1 - (sym.seq_len + 1) / (2 * sbar)), source=SOFTMAX_CAUSAL,
                 description="fraction of the score elements the softmax kernel reads"))
    # (forward bytes, backward bytes or None where the one term holds both passes): KERNEL_BACKWARD
    kern = {"norm": (2 * be * s * b * h / sp_, 3 * be * s * b * h / sp_),
            "residual": ((3 * be + ud * mask) * s * b * h / sp_, (3 * be + ud * (2 * be + mask)) * s * b * h / sp_),
            "act": (nf * be * s * b * f * moe / t, (2 * nf - 1) * be * s * b * f * moe / t),
            "softmax": (((1 + rho) * be + ud * (2 * be + mask)) * a * s * sbar * b / t,
                        ((1 + 2 * rho) * be + ud * (2 * be + mask)) * a * s * sbar * b / t),
            # forward: gather the rows (read, write: 2); backward: read the output gradient, accumulate it into
            # the table's gradient rows (read, write: 3)
            "embedding": (5 * be * s * b * h, None),
            "loss": (sym.loss_bytes_per_logit * s * b * V / t, None)}
    for kk, (fwd, bwd) in kern.items():
        for pas, rhs in (("", fwd), ("backward_", bwd)):
            if rhs is None:
                continue
            name = f"{kk}_{pas}"
            what = f"{kk} (backward)" if pas else kk
            add(Equation(f"{name}kernel_bytes", f"{name}kernel_bytes", rhs, source=LOSS if kk == "loss" else
                         KERNEL_BACKWARD if pas else KORTHIKANTI_KERNELS,
                         description=f"bytes moved: {what}"))
            ren = {"kernel_bytes": f"{name}kernel_bytes", "memory_efficiency": f"{name}memory_efficiency",
                   "memory_efficiency_max": f"{KERNEL_LAW[kk]}_efficiency_max",
                   "memory_half_bytes": f"{KERNEL_LAW[kk]}_half_bytes",
                   "kernel_memory_time": f"{name}kernel_time"}
            add(eff["memory_efficiency"].renamed(ren, key=f"{name}memory_efficiency",
                                                 description=f"bandwidth efficiency: {what}"))
            add(eff["kernel_memory_time"].renamed(ren, key=f"{name}kernel_time",
                                                  description=f"kernel time: {what}"))
    add(Equation("layer_kernel_time", "layer_kernel_time",
                 2 * sym.norm_kernel_time + 2 * sym.residual_kernel_time + sym.act_kernel_time
                 + sym.score_materialized * sym.softmax_kernel_time, source=KORTHIKANTI_KERNELS,
                 description="forward memory-bound kernel time of one layer"))
    add(Equation("layer_backward_kernel_time", "layer_backward_kernel_time",
                 2 * sym.norm_backward_kernel_time + 2 * sym.residual_backward_kernel_time
                 + sym.act_backward_kernel_time + sym.score_materialized * sym.softmax_backward_kernel_time,
                 source=KERNEL_BACKWARD, description="backward memory-bound kernel time of one layer"))
    add(Equation("attention_core_time", "attention_core_time",
                 2 * sym.score_time + sym.score_materialized * sym.softmax_kernel_time,
                 source=RECOMPUTE, description="forward time of the attention core"))
    # ---- tensor parallel
    add(Equation("tp_message_bytes", "tp_message_bytes", b * s * h * be, source=_par.NARAYANAN_2021,
                 description="bytes of one tensor-parallel all-reduce (one microbatch's activations)"))
    add(eff["collective_time"].renamed({"message_bytes": "tp_message_bytes", "collective_latency":
                                        "tp_collective_latency", "collective_bandwidth": "tp_collective_bandwidth",
                                        "collective_time": "tp_collective_time"}, key="tp_collective_time",
                                       description="one tensor-parallel all-reduce on the calibrated law"))
    tb = sym.tp_backward_collectives * sym.tp_collective_time
    add(Equation("tp_exposed_layer_time", "tp_exposed_layer_time",
                 regimes={"overlapped": sym.tp_forward_collectives * sym.tp_collective_time
                          + (1 - sym.tp_overlap) * tb,
                          "gemm_limited": sym.tp_forward_collectives * sym.tp_collective_time + tb
                          - sym.layer_gemm_time},
                 combine="max", source=TP_OVERLAP, description="exposed tensor-parallel time of one layer",
                 display=r"n_{\text{TP,f}} T_{\text{TP,1}} + \max\left((1 - f_{\text{TP}}) n_{\text{TP,b}} "
                         r"T_{\text{TP,1}},\ n_{\text{TP,b}} T_{\text{TP,1}} - T_{\text{G}}\right)"))
    # ---- context parallel: all-gather K/V forward, reduce-scatter their gradients backward
    add(Equation("cp_message_bytes", "cp_message_bytes", 2 * b * sym.seq_len * k * d * be / t,
                 source=CONTEXT_PARALLEL, description="keys and values of the whole sequence, one TP shard"))
    ach = _coll.bandwidth_equations()["achieved"]
    add(ach.renamed({"link_bandwidth": "cp_link_bandwidth", "achieved_bandwidth": "cp_effective_bandwidth"},
                    key="cp_effective_bandwidth", description="achievable bandwidth between context-parallel ranks"))
    flat = _coll.collective_equations()
    add(flat["allgather"].renamed({"num_devices": "cp", "message_bytes": "cp_message_bytes",
                                   "link_bandwidth": "cp_effective_bandwidth", "link_latency": "cp_link_latency",
                                   "allgather_time": "cp_allgather_time"}, key="cp_allgather",
                                  description="all-gather of keys and values over the cp ranks"))
    add(Equation("cp_layer_time", "cp_layer_time", (2 + sym.recompute_full) * sym.cp_allgather_time,
                 source=CONTEXT_PARALLEL, description="K/V all-gathers (forward, recompute) and gradient "
                                                      "reduce-scatter (backward) of one layer"))
    # ---- expert parallel: dispatch + combine all-to-all, forward and backward
    add(Equation("ep_message_bytes", "ep_message_bytes", b * s * h * be * moe, source=EXPERT_PARALLEL,
                 description="routed token activations one rank exchanges in an all-to-all"))
    add(ach.renamed({"link_bandwidth": "ep_link_bandwidth", "achieved_bandwidth": "ep_achieved_bandwidth"},
                    key="ep_achieved_bandwidth", description="achievable bandwidth between expert-parallel ranks"))
    add(_coll.bandwidth_equations()["inter_eff"].renamed(
        {"inter_node_achieved_bandwidth": "ep_achieved_bandwidth", "oversubscription": "ep_oversubscription",
         "inter_node_effective_bandwidth": "ep_effective_bandwidth"}, key="ep_effective_bandwidth",
        description="expert-parallel bandwidth after oversubscription"))
    add(flat["alltoall"].renamed({"num_devices": "ep", "message_bytes": "ep_message_bytes",
                                  "link_bandwidth": "ep_effective_bandwidth", "link_latency": "ep_link_latency",
                                  "alltoall_time": "ep_alltoall_time"}, key="ep_alltoall",
                                 description="one expert all-to-all over the ep ranks"))
    add(Equation("ep_layer_time", "ep_layer_time", (4 + 2 * sym.recompute_full) * sym.ep_alltoall_time,
                 source=EXPERT_PARALLEL, description="dispatch and combine all-to-alls of one layer, forward, "
                                                     "backward and recompute"))
    # ---- recomputation and the layer
    add(Equation("recompute_layer_time", "recompute_layer_time",
                 sym.recompute_full * (sym.layer_gemm_time + sym.layer_kernel_time
                                       + sym.tp_forward_collectives * sym.tp_collective_time)
                 + sym.recompute_selective * sym.attention_core_time, source=RECOMPUTE,
                 description="recomputation time of one layer"))
    add(Equation("layer_time", "layer_time",
                 3 * sym.layer_gemm_time + sym.layer_kernel_time + sym.layer_backward_kernel_time
                 + sym.tp_exposed_layer_time + sym.recompute_layer_time + sym.cp_layer_time + sym.ep_layer_time,
                 source=BACKWARD,
                 description="forward + backward (+ recompute) of one layer and microbatch"))
    add(Equation("head_stage_time", "head_stage_time", 3 * sym.head_time + sym.loss_kernel_time, source=BACKWARD,
                 description="LM head (forward + 2 x backward) and loss per microbatch"))
    # ---- stages
    TL = sym.layer_time
    add(Equation("stage_pace_time", "stage_pace_time",
                 regimes={"first_stage": sym.first_stage_layers * TL + sym.embedding_kernel_time
                          + sym.single_stage * sym.head_stage_time,
                          "middle_stage": sym.middle_stage_layers * TL,
                          "last_stage": sym.last_stage_layers * TL + sym.head_stage_time},
                 combine="max", source=STAGES, description="per-microbatch time of the slowest stage"))
    Lc = m * sym.stage_layers
    add(Equation("gemm_step_time", "gemm_step_time", Lc * 3 * sym.layer_gemm_time, source=STEP_PARTS,
                 description="step share of the layers' GEMMs"))
    add(Equation("kernel_step_time", "kernel_step_time", Lc * (sym.layer_kernel_time + sym.layer_backward_kernel_time),
                 source=STEP_PARTS, description="step share of the layers' memory-bound kernels"))
    add(Equation("tp_exposed_step_time", "tp_exposed_step_time", Lc * sym.tp_exposed_layer_time, source=STEP_PARTS,
                 description="step share of exposed tensor-parallel communication"))
    add(Equation("recompute_step_time", "recompute_step_time", Lc * sym.recompute_layer_time, source=STEP_PARTS,
                 description="step share of recomputation"))
    add(Equation("cp_comm_step_time", "cp_comm_step_time", Lc * sym.cp_layer_time, source=STEP_PARTS,
                 description="step share of context-parallel communication"))
    add(Equation("ep_alltoall_step_time", "ep_alltoall_step_time", Lc * sym.ep_layer_time, source=STEP_PARTS,
                 description="step share of expert all-to-alls"))
    add(Equation("stage_imbalance_step_time", "stage_imbalance_step_time",
                 m * (sym.stage_pace_time - sym.stage_layers * TL), source=STEP_PARTS,
                 description="step share of the slowest stage's embedding / LM head / loss"))
    # ---- pipeline
    add(par["bubble_ratio"])
    add(par["bubble_fraction"])
    add(Equation("bubble_time", "bubble_time", sym.bubble_ratio * m * sym.stage_pace_time, source=_par.BUBBLE_TIME,
                 description="idle pipeline time per step"))
    add(par["pp_message_bytes"].renamed({"seq_len": "local_seq_len"}, key="pp_message_bytes",
                                        description="bytes of one pipeline send (local tokens, scatter/gather)"))
    for key in ("pp_achieved_bandwidth", "pp_effective_bandwidth", "pp_p2p", "pp_comm_time"):
        add(par[key])
    # ---- data parallel (gradient precision) and optimizer
    add(Equation("params_per_device", "params_per_device",
                 (sym.parameters - sym.num_layers * sym.num_experts * sym.expert_parameters * (1 - 1 / sym.ep))
                 / (t * p), source=EP_PARAMS, description="parameters held by one device"))
    add(par["dp_message_bytes"].renamed({"bytes_per_element": "grad_bytes_per_element"}, key="dp_message_bytes",
                                        description="gradient bytes one device reduces, at the gradient precision"))
    add(Equation("dp_nodes", "dp_nodes", sym.dp * sym.cp / sym.dp_local, source=CONTEXT_PARALLEL,
                 description="nodes the gradient-reduction group (dp x cp ranks) spans"))
    bw = _coll.bandwidth_equations()
    add(bw["intra"])
    add(bw["inter_ach"])
    add(bw["inter_eff"])
    for e in par.values():
        if e.key.startswith("dp_") and e.lhs.name.startswith("dp_") and e.key not in (
                "dp_message_bytes", "dp_nodes", "dp_comm_time", "dp_exposed_time"):
            add(e)
    add(Equation("dp_comm_factor", "dp_comm_factor",
                 (1 + sym.dp_grad_allgather + sym.dp_param_allgathers * be / sym.grad_bytes_per_element) / 2,
                 source=ZERO_TRAFFIC, description="data-parallel traffic over one all-reduce at the gradient precision",
                 display=r"\frac{1 + u_{\text{AG,g}} + n_{\text{AG,p}}\, b_{\text{e}} / b_{\text{g}}}{2}"))
    add(par["dp_comm_time"])
    add(Equation("dp_overlap_window", "dp_overlap_window",
                 sym.first_stage_layers
                 * (2 * sym.layer_gemm_time + sym.layer_backward_kernel_time),
                 source=DP_BUCKETS, description="backward time of the last microbatch on the first stage"))
    add(Equation("dp_exposed_time", "dp_exposed_time",
                 regimes={"last_bucket": sym.dp_comm_time / sym.dp_buckets,
                          "window_limited": sym.dp_comm_time - sym.overlap_grad_reduce * sym.dp_overlap_window},
                 combine="max", source=DP_BUCKETS,
                 description="data-parallel reduction not hidden by the backward pass",
                 display=r"\max\left(T_{\text{DP}} / n_{\text{bucket}},\ T_{\text{DP}} - u_{\text{ovl}}\, "
                         r"T_{\text{win}}\right)"))
    add(Equation("optimizer_kernel_bytes", "optimizer_kernel_bytes",
                 sym.params_per_device * sym.optimizer_step_bytes_per_param / sym.optimizer_shards, source=OPTIMIZER,
                 description="bytes of the optimizer step on one device"))
    add(eff["memory_efficiency"].renamed({"kernel_bytes": "optimizer_kernel_bytes",
                                          "memory_efficiency": "optimizer_memory_efficiency"},
                                         key="optimizer_memory_efficiency",
                                         description="optimizer bandwidth efficiency"))
    add(eff["kernel_memory_time"].renamed({"kernel_bytes": "optimizer_kernel_bytes",
                                           "memory_efficiency": "optimizer_memory_efficiency",
                                           "kernel_memory_time": "device_optimizer_time"},
                                          key="device_optimizer_time", description="optimizer step time on the device"))
    # ---- offload: optimizer states and step on the host (ZeRO-Offload)
    shard = sym.params_per_device / sym.optimizer_shards
    add(Equation("host_adam_time", "host_adam_time", sym.offload_optimizer * shard / sym.host_adam_rate,
                 source=OFFLOAD_OPTIMIZER, description="the host's Adam step over the device's offloaded parameters"))
    add(Equation("optimizer_time", "optimizer_time",
                 (1 - sym.offload_optimizer) * sym.device_optimizer_time + sym.host_adam_time,
                 source=OFFLOAD_OPTIMIZER, description="optimizer step: on the device, or on the host when offloaded"))
    add(Equation("offload_grad_bytes", "offload_grad_bytes",
                 sym.offload_optimizer * shard * sym.grad_bytes_per_element, source=OFFLOAD_OPTIMIZER,
                 description="gradient bytes a device sends to the host per step"))
    add(Equation("offload_param_bytes", "offload_param_bytes", sym.offload_optimizer * shard * be,
                 source=OFFLOAD_OPTIMIZER, description="updated 16-bit parameters the host sends back per step"))
    add(Equation("offload_grad_time", "offload_grad_time", sym.offload_grad_bytes / sym.host_link_bandwidth,
                 source=OFFLOAD_OPTIMIZER, description="host-link time of the gradients"))
    add(Equation("offload_optimizer_step_time", "offload_optimizer_step_time",
                 regimes={"overlapped": (1 - sym.offload_overlap) * sym.offload_grad_time
                          + sym.offload_param_bytes / sym.host_link_bandwidth,
                          "window_limited": sym.offload_grad_time - sym.dp_overlap_window
                          + sym.offload_param_bytes / sym.host_link_bandwidth},
                 combine="max", source=OFFLOAD_EXPOSED,
                 description="exposed gradient download and the parameter upload of optimizer offload",
                 display=r"\max\left((1 - f_{\text{off}}) T_{\text{off,g}},\ T_{\text{off,g}} - T_{\text{win}}\right)"
                         r" + D_{\text{off,p}} / B_{\text{host}}"))
    # ---- offload: activations and parameters streamed over the host link (ZeRO-Infinity)
    add(Equation("layer_compute_step_time", "layer_compute_step_time", sym.gemm_step_time + sym.kernel_step_time,
                 source=OFFLOAD_EXPOSED, description="the layers' GEMM and kernel time over a step"))
    add(Equation("offload_weight_bytes", "offload_weight_bytes",
                 sym.offload_weights * m * (2 + sym.recompute_full) * sym.params_per_device * be / sym.param_shards,
                 source=OFFLOAD_STREAM, description="parameters streamed in per forward, recompute and backward pass"))
    add(Equation("offload_weight_time", "offload_weight_time", sym.offload_weight_bytes / sym.host_link_bandwidth,
                 source=OFFLOAD_STREAM, description="host-link time of the streamed parameters"))
    add(Equation("offload_weights_step_time", "offload_weights_step_time",
                 regimes={"overlapped": (1 - sym.offload_overlap) * sym.offload_weight_time,
                          "window_limited": sym.offload_weight_time - sym.layer_compute_step_time},
                 combine="max", source=OFFLOAD_EXPOSED, description="exposed parameter streaming",
                 display=r"\max\left((1 - f_{\text{off}}) T_{\text{off,w}},\ T_{\text{off,w}} - "
                         r"T_{\text{comp,L}}\right)"))
    add(Equation("offload_activation_bytes", "offload_activation_bytes",
                 sym.offload_activations * m * sym.stage_layers * sym.activation_bytes_per_layer,
                 source=OFFLOAD_STREAM, description="activation bytes sent to the host per step (and returned)"))
    add(Equation("offload_activation_time", "offload_activation_time",
                 sym.offload_activation_bytes / sym.host_link_bandwidth, source=OFFLOAD_STREAM,
                 description="host-link time of the activations, one direction"))
    add(Equation("offload_activations_step_time", "offload_activations_step_time",
                 regimes={"overlapped": (1 - sym.offload_overlap) * sym.offload_activation_time,
                          "window_limited": sym.offload_activation_time + sym.offload_weight_time
                          - sym.layer_compute_step_time - sym.offload_weights_step_time},
                 combine="max", source=OFFLOAD_EXPOSED,
                 description="exposed activation transfers, in the window the streamed parameters leave",
                 display=r"\max\left((1 - f_{\text{off}}) T_{\text{off,a}},\ T_{\text{off,a}} + T_{\text{off,w}} - "
                         r"T_{\text{comp,L}} - T_{\text{step,offload weights}}\right)"))
    # ---- step
    add(Equation("step_time", "step_time",
                 sym.gemm_step_time + sym.kernel_step_time + sym.tp_exposed_step_time + sym.recompute_step_time
                 + sym.cp_comm_step_time + sym.ep_alltoall_step_time + sym.stage_imbalance_step_time
                 + sym.bubble_time + sym.pp_comm_time + sym.dp_exposed_time
                 + sym.optimizer_time + sym.offload_optimizer_step_time + sym.offload_activations_step_time
                 + sym.offload_weights_step_time, source=STEP_PARTS, description="time of one optimizer step"))
    add(Equation("ops_model_flops", "model_flops_per_iteration",
                 3 * t * sym.cp * (sym.global_batch / b)
                 * (sym.num_layers * (sym.qkv_flops + 2 * sym.score_flops + sym.proj_flops
                                      + (sym.fc1_flops + sym.fc2_flops) / sym.capacity_factor) + sym.head_flops),
                 source=MFU_OPS, description="model FLOPs of one iteration from the operations"))
    add(par["mfu"])
    add(transformer_flops())
    for key in ("hfu", "device_flops_rate", "tokens_per_second", "time_to_train"):
        add(par[key])
    add(Equation("scaling_efficiency", "scaling_efficiency", sym.gemm_step_time / sym.step_time,
                 source=_par.SCALING, description="GEMM time of the layers over the step time"))
    # ---- memory (uneven stages: the largest stage's layers)
    add(par["model_state_bytes"])
    add(par["activation_bytes_per_layer"].renamed(
        {"seq_len": "local_seq_len", "activation_bytes_per_layer": "dense_activation_bytes_per_layer"},
        key="dense_activation_bytes_per_layer", description="activation memory of one layer as a dense layer (local "
                                                             "tokens)"))
    add(Equation("expert_activation_bytes_per_layer", "expert_activation_bytes_per_layer",
                 sym.moe_mlp * (1 - sym.recompute_full) * (moe - 1) * s * b * be * (h / sym.sp_shards + nf * f / t),
                 source=MOE_ACTIVATIONS, description="activations of the extra routed-token copies of an MoE MLP"))
    add(Equation("activation_bytes_per_layer", "activation_bytes_per_layer",
                 sym.dense_activation_bytes_per_layer + sym.expert_activation_bytes_per_layer, source=MOE_ACTIVATIONS,
                 description="activation memory of one layer and microbatch (local tokens, routed copies)"))
    ifactor = 1 + sym.interleaved_schedule * (p - 1) / (p * sym.pipeline_interleave)
    add(Equation("inflight_microbatches", "inflight_microbatches",
                 regimes={"pipeline_depth": p * ifactor, "batch": m * ifactor}, combine="min",
                 source=INTERLEAVED_MEMORY, description="microbatches whose activations the first stage holds",
                 display=r"\min(n_{\text{PP}}, m) \left(1 + u_{\text{int}} \frac{n_{\text{PP}} - 1}{n_{\text{PP}} v}"
                         r"\right)"))
    stored = sym.activation_bytes_per_layer * sym.stage_layers * sym.inflight_microbatches
    add(Equation("activation_memory", "activation_memory",
                 (1 - sym.offload_activations) * stored
                 + sym.offload_activations * 2 * sym.activation_bytes_per_layer,
                 source=OFFLOAD_STREAM, description="activation memory of the largest stage (uneven stages) on the "
                                                    "device: all of it, or two layers' when offloaded",
                 display=r"(1 - u_{\text{off,act}})\, M_{\text{layer}} n_{\max} m_{\text{fl}} + "
                         r"2 u_{\text{off,act}} M_{\text{layer}}"))
    add(Equation("offloaded_state_bytes", "offloaded_state_bytes",
                 sym.params_per_device * (sym.offload_optimizer * sym.optimizer_bytes_per_param / sym.optimizer_shards
                                          + sym.offload_weights * be / sym.param_shards),
                 source=OFFLOAD_OPTIMIZER, description="model-state bytes of one device kept on the host"))
    add(Equation("weight_buffer_bytes", "weight_buffer_bytes",
                 sym.offload_weights * 2 * be * sym.params_per_device / sym.stage_layers, source=OFFLOAD_STREAM,
                 description="device buffer of streamed parameters: two layers (in use, prefetching)"))
    add(Equation("memory_per_device", "memory_per_device",
                 sym.model_state_bytes - sym.offloaded_state_bytes + sym.weight_buffer_bytes + sym.activation_memory,
                 source=_par.MEMORY, description="model states and activations on the device (offloaded ones on the "
                                                 "host)"))
    add(par["memory_utilization"])
    add(Equation("host_activation_bytes", "host_activation_bytes", sym.offload_activations * stored,
                 source=OFFLOAD_STREAM, description="activation bytes of one device kept on the host"))
    add(Equation("host_bytes_per_device", "host_bytes_per_device",
                 sym.offloaded_state_bytes + sym.offload_grad_bytes + sym.host_activation_bytes, source=HOST_MEMORY,
                 description="host memory one device's offloaded state occupies"))
    add(Equation("host_memory_per_node", "host_memory_per_node", sym.host_devices * sym.host_bytes_per_device,
                 source=HOST_MEMORY, description="host memory the node's devices' offloaded state occupies"))
    add(Equation("host_memory_utilization", "host_memory_utilization",
                 sym.host_memory_per_node / sym.host_memory_capacity, source=HOST_MEMORY,
                 description="fraction of the node's host memory used"))
    _EQ.update({e.key: e for e in eqs})
    return _EQ


def transformer_flops():
    from . import transformer

    return transformer.megatron_flops_per_iteration_equation()


def build_training_step() -> EquationSet:
    return EquationSet("TrainingStep", list(training_step_equations().values()),
                       description="per-operation training step: GEMMs and kernels at calibrated efficiencies, "
                                   "TP/PP/DP communication, uneven stages, bubble, optimizer, memory, MFU")


Equations.register("TrainingStep", factory=build_training_step)
