"""Single-device inference and LLM serving: ``Equations.Inference`` and ``Equations.Serving``.

Both sets are the Roofline relations (``roofline.py``) applied to one inference step; they re-use
those Equation objects (renamed for the prefill and decode phases), the transformer cost relations
(``transformer.py``) and the ring all-reduce (``collectives.py``) for tensor parallelism. Nothing
here retypes a relation that lives elsewhere.

Notes
-----
Decode step (one new token for each of ``B`` sequences at context ``s``, tensor-parallel over
``N`` devices, Pope et al. 2022, Sec. 2-3):

.. math::
   O_{\\text{dec}} = B\\, C_{\\text{fwd}}(s) / N, \\qquad
   D_{\\text{dec}} = (M_{\\text{w,dec}} + M_{\\text{kv}} + B\\, a) / N, \\qquad
   T_{\\text{tpot}} = T_{\\text{ovh}} + n_{\\text{ar}} L\\, T_{\\text{AR}} + \\max(T_{\\text{comp}}, T_{\\text{mem}})

with ``M_w,dec`` the weights the step reads (a mixture of experts reads only the
``E (1 - (1 - k/E)^B)`` experts its batch is routed to) and ``C_fwd`` counting both attention
matmuls (QK^T and AV, ``transformer.attention_flops_per_token_equation``). The KV cache is stored at
its own precision (``kv_bytes_per_element``).

Prefill of ``P`` prompt tokens: the same with ``B P`` tokens, attention over the mean causal context
``P - kappa (P - 1)/2`` (kappa = 1 for kernels that skip the masked half) and the KV cache written once.
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..sources import derived
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations
from . import collectives as _collectives  # noqa: F401  (defines num_devices, link_bandwidth, ...)
from . import transformer as _tf
from .roofline import roofline_equations

_var("flops_per_sample", "FLOP", r"C_{\text{s}}", "forward FLOPs of one sample (an image, a token)")
_var("activation_traffic_bytes", "byte", r"a",
     "activation bytes one sample moves to and from device memory in a step (beyond weights and KV)", "nonnegative")
_var("memory_required", "byte", r"M_{\text{req}}", "device memory the step needs (per device)")
_var("power", "W", "P", "average power per device")
_var("step_energy", "J", r"E_{\text{step}}", "device energy of one step: power * latency")
_var("prompt_tokens", "", r"n_{\text{prompt}}", "prompt length of a request", "count")
_var("output_tokens", "", r"n_{\text{out}}", "tokens generated per request", "count")
_var("tp_allreduces_per_forward", "", r"n_{\text{ar,fwd}}",
     "tensor-parallel all-reduces of the activations per layer in a forward pass", "count")
# decode phase
_var("decode_flops", "FLOP", r"O_{\text{dec}}", "FLOPs of one decode step, per device")
_var("decode_bytes", "byte", r"D_{\text{dec}}", "memory traffic of one decode step, per device")
_var("decode_compute_time", "s", r"T_{\text{comp,dec}}", "compute time of one decode step")
_var("decode_memory_time", "s", r"T_{\text{mem,dec}}", "memory time of one decode step")
_var("decode_message_bytes", "byte", r"M_{\text{dec}}", "payload of one tensor-parallel all-reduce in decode")
_var("decode_allreduce_time", "s", r"T_{\text{AR,dec}}", "one tensor-parallel all-reduce in decode", "nonnegative")
_var("decode_overhead", "s", r"T_{\text{ovh,dec}}", "fixed overhead plus exposed TP communication of a decode step",
     "nonnegative")
_var("decode_tokens", "", r"q_{\text{dec}}",
     "tokens each sequence processes in one decode step: 1, or gamma + 1 when verifying speculative drafts", "count")
_var("prefix_hit_rate", "", r"h_{\text{pfx}}",
     "fraction of prompt tokens served from a prefix cache, in [0, 1]", "nonnegative")
_var("prefill_tokens", "", r"n_{\text{pre,tok}}",
     "prompt tokens the prefill computes (not served from the prefix cache)")
_var("shared_prefix_bytes", "byte", r"M_{\text{pfx}}",
     "KV bytes a batch sharing a cached prompt prefix does not hold twice: (B - 1) h P m_kv", "nonnegative")
_var("kv_bytes_per_element", "byte", r"b_{\text{kv}}",
     "bytes per stored KV-cache number at the KV precision (may differ from the weights')")
_var("expert_miss_probability", "", r"p_{\text{miss}}",
     "probability that a token routed to k of E experts misses a given one: 1 - k/E", "nonnegative")
_var("experts_read", "", r"\bar{n}_{\text{exp}}",
     "expected distinct experts per layer that a decode step reads (MoE; 1 for a dense model)")
_var("decode_weight_bytes", "byte", r"M_{\text{w,dec}}",
     "weight bytes a decode step reads: every shared weight and the experts the batch is routed to")
_var("tpot", "s", r"T_{\text{tpot}}", "time per output token (one decode step)")
_var("decode_throughput", "1/s", r"X_{\text{dec}}", "tokens generated per second by the replica (all its devices)")
# prefill phase
_var("prefill_context", "", r"\bar{s}_{\text{pre}}", "mean context a prompt token attends to (causal)")
_var("prefill_attention_flops_per_token", "FLOP", r"C_{\text{attn,pre}}",
     "attention-matmul FLOPs per prompt token (QK^T and AV) at the mean causal context")
_var("prefill_flops_per_token", "FLOP", r"C_{\text{fwd,pre}}", "forward FLOPs per prompt token")
_var("prefill_flops", "FLOP", r"O_{\text{pre}}", "FLOPs of the prefill, per device")
_var("prefill_bytes", "byte", r"D_{\text{pre}}", "memory traffic of the prefill, per device")
_var("prefill_compute_time", "s", r"T_{\text{comp,pre}}", "compute time of the prefill")
_var("prefill_memory_time", "s", r"T_{\text{mem,pre}}", "memory time of the prefill")
_var("prefill_message_bytes", "byte", r"M_{\text{pre}}", "payload of one tensor-parallel all-reduce in prefill")
_var("prefill_allreduce_time", "s", r"T_{\text{AR,pre}}", "one tensor-parallel all-reduce in prefill",
     "nonnegative")
_var("prefill_overhead", "s", r"T_{\text{ovh,pre}}", "fixed overhead plus exposed TP communication of the prefill",
     "nonnegative")
_var("ttft", "s", r"T_{\text{ttft}}", "time to first token (prefill)")
_var("request_latency", "s", r"T_{\text{req}}", "time from request to last token: ttft + output_tokens * tpot")

POPE_2022 = cite(refs.POPE_2023, "Sec. 2 (decode memory time: weights and KV cache read once per step; prefill "
                                  "compute-bound), Sec. 3.1 (tensor-parallel all-reduces)")
SHOEYBI_2019 = cite(refs.SHOEYBI_2019, "Sec. 3, Fig. 3 (two all-reduces per layer in the forward pass)")
PER_DEVICE = derived("tensor-parallel split",
                     "tensor parallelism over N devices splits the weights, the KV cache (by heads) and the "
                     "arithmetic evenly (Shoeybi et al. 2019, Sec. 3; Pope et al. 2022, Sec. 3)")
TP_MESSAGE = derived("tensor-parallel all-reduce payload",
                     "each all-reduce sums the h-wide activation of every token in the step: B x tokens x h "
                     "elements (Shoeybi et al. 2019, Sec. 3)")
TP_EXPOSED = derived("exposed tensor-parallel communication",
                     "the activation all-reduces sit on the critical path between the layer's matmuls (no "
                     "overlap), n_ar per layer per forward pass (Shoeybi et al. 2019, Fig. 3)")
KV_WRITE = derived("prefill memory traffic",
                   "prefill reads the weights once and writes the prompt's KV cache once (Pope et al. 2022, Sec. 2); "
                   "with a prefix cache the cached part of the KV is read instead of written: the same bytes")
PREFIX_COMPUTE = derived(
    "prefill with a prefix cache",
    "a prompt whose first h P tokens hit the prefix cache reuses their KV and computes only the other (1 - h) P "
    "tokens (Zheng et al. 2024, SGLang RadixAttention, arXiv:2312.07104, Sec. 3; Kwon et al. 2023, Sec. 4.4)")
PREFIX_KV = derived(
    "KV cache with a shared prefix",
    "the KV of a prompt prefix shared by the batch's sequences is stored once per replica (paged blocks shared "
    "by reference, Kwon et al. 2023, Sec. 4.4; Zheng et al. 2024, Sec. 3): the B - 1 other copies of the h P "
    "prefix tokens, (B - 1) h P m_kv bytes, are not held; each sequence's decode still reads its whole context")
MEMORY_REQUIRED = derived("device memory of a serving replica",
                          "weights plus the KV cache of every sequence at the context, split over the "
                          "tensor-parallel devices (Kwon et al. 2023, Sec. 3: weights + KV dominate)")
INFERENCE_MEMORY = derived("device memory of one inference step",
                           "weights plus the largest activation tensor of every sample in the batch")
THROUGHPUT = derived("throughput of a step", "items completed per step divided by the step time")
ENERGY = derived("energy of a step", "average device power times step time")
REQUEST = derived("end-to-end request latency",
                  "prefill, then output_tokens decode steps each timed at the context seq_len; with seq_len the "
                  "final context (prompt + output) this is an upper bound, since earlier steps see a shorter "
                  "KV cache")
EXPERTS_READ = derived(
    "expected distinct experts read by a batched MoE decode step",
    "each of B tokens picks k of E experts; with routing uniform and independent across tokens an expert is "
    "missed by one token with probability 1 - k/E, by all B with (1 - k/E)^B, so the expected number of "
    "distinct experts read per layer is E (1 - (1 - k/E)^B) (linearity of expectation; Mixtral routes "
    "k = 2 of E = 8, Jiang et al. 2024, arXiv:2401.04088, Sec. 2.1). B = 1 reads k experts; B -> inf reads E; "
    "a dense model (E = k = 1) reads its one MLP")
DECODE_WEIGHTS = derived(
    "weights read by a decode step",
    "a decode step streams every weight it uses once (Pope et al. 2022, Sec. 2): the parameters one token uses "
    "(k experts per layer) and the other experts the batch is routed to, l (E_read - k) N_exp more; equal to all "
    "parameters less the l (E - E_read) N_exp experts no token is routed to")
BATCH_WORK = derived("work of a batched step", "every sample in the batch does the same forward work")
DECODE_BYTES = derived("decode memory traffic",
                       "each decode step reads every weight it uses once and the whole KV cache once, plus the "
                       "activations' own traffic (Pope et al. 2022, Sec. 2)")


def _roofline_renamed(prefix: str, flops: str, bytes_: str, overhead: str, latency: str):
    compute_time, memory_time, lat, *_ = roofline_equations()
    ct = compute_time.renamed({"flops": flops, "compute_time": f"{prefix}_compute_time"},
                              key=f"{prefix}_compute_time", description=f"{prefix} compute time (roofline)")
    mt = memory_time.renamed({"bytes_moved": bytes_, "memory_time": f"{prefix}_memory_time"},
                             key=f"{prefix}_memory_time", description=f"{prefix} memory time (roofline)")
    lt = lat.renamed({"overhead": overhead, "compute_time": f"{prefix}_compute_time",
                      "memory_time": f"{prefix}_memory_time", "latency": latency}, key=latency,
                     description=f"{prefix} step time: overhead plus the larger of compute and memory time")
    return [ct, mt, lt]


def _allreduce_renamed(prefix: str):
    ar = _collectives.collective_equations()["allreduce"]
    return ar.renamed({"message_bytes": f"{prefix}_message_bytes", "allreduce_time": f"{prefix}_allreduce_time"},
                      key=f"{prefix}_allreduce", description=f"one tensor-parallel ring all-reduce in {prefix}")


def _miss_equation(guard: bool = False) -> Equation:
    """Probability that one token's routing misses a given expert, ``1 - k/E`` (a derived variable that is
    never negative: ``experts_per_token > num_experts`` is refused by its domain before any power of it)."""
    import sympy as sp

    miss = 1 - sym.experts_per_token / sym.num_experts
    # guard: max(0, ...) so that every stage of a fused evaluation stays real for any inputs (k >= E: all read)
    return Equation("expert_miss_probability", "expert_miss_probability", sp.Max(0, miss) if guard else miss,
                    source=EXPERTS_READ,
                    description="probability that one token's k of E experts miss a given expert")


def _energy_equation() -> Equation:
    return Equation("step_energy", "step_energy", sym.power * sym.latency, source=ENERGY,
                    description="device energy of one step")


def build_serving() -> EquationSet:
    B, N, L = sym.batch_size, sym.num_devices, sym.num_layers
    fpt_prefill = _tf.flops_per_token_equation().renamed(
        {"attention_flops_per_token": "prefill_attention_flops_per_token",
         "flops_per_token": "prefill_flops_per_token"},
        key="prefill_flops_per_token", description="forward FLOPs per prompt token at the causal mean context")
    attn_prefill = _tf.attention_flops_per_token_equation().renamed(
        {"seq_len": "prefill_context", "attention_flops_per_token": "prefill_attention_flops_per_token"},
        key="prefill_attention_flops_per_token",
        description="attention-matmul FLOPs per prompt token at the mean causal context")
    ctx_prefill = _tf.attention_context_suffix_equation().renamed(
        {"seq_len": "prompt_tokens", "query_tokens": "prefill_tokens", "attention_context": "prefill_context"},
        key="prefill_context",
        description="mean context of a computed prompt token under a causal mask, as the attention kernel computes it")
    P, h, m_kv = sym.prompt_tokens, sym.prefix_hit_rate, sym.kv_bytes_per_token
    E, k, q = sym.num_experts, sym.experts_per_token, sym.decode_tokens
    eqs = [
        _tf.weight_bytes_equation(),
        _tf.kv_bytes_per_token_equation().renamed({"bytes_per_element": "kv_bytes_per_element"}),
        _tf.kv_cache_bytes_equation(),
        Equation("shared_prefix_bytes", "shared_prefix_bytes", (B - 1) * h * P * m_kv, source=PREFIX_KV,
                 description="KV bytes the batch does not hold twice: its shared prompt prefix, stored once",
                 display=r"(B - 1)\, h_{\text{pfx}} n_{\text{prompt}}\, m_{\text{kv}}"),
        _tf.attention_flops_per_token_equation(),
        _tf.flops_per_token_equation(),
        _miss_equation(),
        Equation("experts_read", "experts_read", E * (1 - sym.expert_miss_probability ** (B * q)),
                 source=EXPERTS_READ,
                 description="expected distinct experts per layer read by a decode step of B tokens",
                 display=r"n_{\text{exp}} \left(1 - p_{\text{miss}}^{B q_{\text{dec}}}\right)"),
        Equation("decode_weight_bytes", "decode_weight_bytes",
                 (sym.active_parameters + L * (sym.experts_read - k) * sym.expert_parameters) * sym.bytes_per_element,
                 source=DECODE_WEIGHTS, description="weight bytes a decode step reads",
                 display=r"\left(N_{\text{act}} + \ell\, (\bar{n}_{\text{exp}} - k_{\text{exp}}) N_{\text{exp}}\right) "
                         r"b_{\text{e}}"),
        # decode
        Equation("decode_flops", "decode_flops", B * q * sym.flops_per_token / N, source=PER_DEVICE,
                 description="FLOPs of one decode step on each device"),
        Equation("decode_bytes", "decode_bytes",
                 (sym.decode_weight_bytes + sym.kv_cache_bytes + B * sym.activation_traffic_bytes) / N,
                 source=DECODE_BYTES,
                 description="bytes a decode step reads on each device: weights used + KV cache + activations",
                 display=r"\left(M_{\text{w,dec}} + M_{\text{kv}} + B\, a\right) / n_{\text{dev}}"),
        Equation("decode_message_bytes", "decode_message_bytes", B * q * sym.hidden_size * sym.bytes_per_element,
                 source=TP_MESSAGE, description="payload of one decode all-reduce"),
        _allreduce_renamed("decode"),
        Equation("decode_overhead", "decode_overhead",
                 sym.overhead + sym.tp_allreduces_per_forward * L * sym.decode_allreduce_time, source=TP_EXPOSED,
                 description="fixed overhead plus the exposed tensor-parallel all-reduces of a decode step"),
        *_roofline_renamed("decode", "decode_flops", "decode_bytes", "decode_overhead", "tpot"),
        Equation("decode_throughput", "decode_throughput", B / sym.tpot, source=THROUGHPUT,
                 description="tokens generated per second by the replica"),
        # prefill
        Equation("prefill_tokens", "prefill_tokens", (1 - h) * P, source=PREFIX_COMPUTE,
                 description="prompt tokens computed: those not served from the prefix cache"),
        ctx_prefill,
        attn_prefill,
        fpt_prefill,
        Equation("prefill_flops", "prefill_flops", B * sym.prefill_tokens * sym.prefill_flops_per_token / N,
                 source=PER_DEVICE, description="FLOPs of the prefill on each device"),
        Equation("prefill_bytes", "prefill_bytes",
                 (sym.weight_bytes + B * (P * m_kv + sym.prefill_tokens * sym.activation_traffic_bytes)) / N,
                 source=KV_WRITE,
                 description="bytes the prefill moves on each device: weights, the prompt's KV (written, or read "
                             "from the prefix cache), activations"),
        Equation("prefill_message_bytes", "prefill_message_bytes",
                 B * sym.prefill_tokens * sym.hidden_size * sym.bytes_per_element, source=TP_MESSAGE,
                 description="payload of one prefill all-reduce"),
        _allreduce_renamed("prefill"),
        Equation("prefill_overhead", "prefill_overhead",
                 sym.overhead + sym.tp_allreduces_per_forward * L * sym.prefill_allreduce_time, source=TP_EXPOSED,
                 description="fixed overhead plus the exposed tensor-parallel all-reduces of the prefill"),
        *_roofline_renamed("prefill", "prefill_flops", "prefill_bytes", "prefill_overhead", "ttft"),
        # memory and end to end
        Equation("memory_required", "memory_required",
                 (sym.weight_bytes + sym.kv_cache_bytes - sym.shared_prefix_bytes) / N,
                 source=MEMORY_REQUIRED, description="weights and KV cache per device (a shared prefix held once)",
                 display=r"\left(M_{\text{w}} + M_{\text{kv}} - M_{\text{pfx}}\right) / n_{\text{dev}}"),
        Equation("request_latency", "request_latency", sym.ttft + sym.output_tokens * sym.tpot, source=REQUEST,
                 description="prefill plus output_tokens decode steps"),
    ]
    return EquationSet("Serving", eqs, description="LLM serving: prefill (ttft), decode (tpot), KV cache, "
                                                   "memory per device, tensor parallelism over one node")


def build_inference() -> EquationSet:
    compute_time, memory_time, latency, intensity, ridge, _att = roofline_equations()
    eqs = [
        _tf.weight_bytes_equation(),
        Equation("flops", "flops", sym.batch_size * sym.flops_per_sample, source=BATCH_WORK,
                 description="work of a batch"),
        Equation("bytes_moved", "bytes_moved", sym.weight_bytes + sym.batch_size * sym.activation_traffic_bytes,
                 source=DECODE_BYTES, description="weights read once plus each sample's activation traffic",
                 display=r"M_{\text{w}} + B\, a"),
        compute_time, memory_time, latency, intensity, ridge,
        Equation("throughput", "throughput", sym.batch_size / sym.latency, source=THROUGHPUT,
                 description="samples per second"),
        Equation("memory_required", "memory_required", sym.weight_bytes + sym.batch_size * sym.activation_bytes,
                 source=INFERENCE_MEMORY, description="weights plus the largest activation of each sample"),
        _energy_equation(),
    ]
    return EquationSet("Inference", eqs, description="one batched inference step on one device (roofline)")


Equations.register("Serving", factory=build_serving)
Equations.register("Inference", factory=build_inference)


# ================================================================ per-operation serving (calibrated laws)
# ``Equations.ServingOperations``: the decode step and the prefill as the kernels a transformer runs, each on
# the size-dependent efficiency laws of ``efficiency.py`` (fitted to measurements by mlsysim.calibration).
# Per layer and per device (tensor-parallel degree N = num_devices), with T tokens in the step:
#   GEMMs  qkv (h -> (n_h + 2 n_kv) d / N), out_proj (n_h d / N -> h), ffn_in (h -> (n_ffn - 1) d_ff / N, the
#          gate and up matrices), ffn_out (d_ff / N -> h); MoE: the T k routed tokens over the experts read.
#          Each takes the larger of its GEMM-law and memory-law times (a roofline per operation).
#   attention  decode: streams the KV cache on the memory law; prefill: its matmuls on the GEMM law.
#   small kernels  two norms, RoPE, two residual adds, the activation and (gated MLP) the gating multiply,
#          each on its kind's measured memory law.
#   TP     n_ar all-reduces of the T h activations on the calibrated alpha-beta law.
# Once per step: the embedding gather, the final norm and the LM head (decode: every token; prefill: the
# last token of each sequence).

_var("prefill_step_tokens", "", r"T_{\text{pre}}", "tokens the prefill computes on each device: B n_pre")
_var("decode_step_tokens", "", r"T_{\text{dec}}", "tokens one decode step computes: B q")
_var("tp_collectives_per_layer", "", r"n_{\text{ar,tp}}",
     "tensor-parallel all-reduces per layer on the critical path: n_ar when num_devices > 1, else 0", "count0")
_var("overhead", "s", r"T_{\text{ovh}}", "fixed per-step cost (launch, dispatch)", "nonnegative")
for _kind, _what in (("norm", "normalisation"), ("rope", "rotary-embedding"), ("act", "activation"),
                     ("add", "residual-add / gating-multiply"), ("all", "other (embedding gather)")):
    _var(f"{_kind}_efficiency_max", "", rf"\eta_{{\text{{{_kind},max}}}}",
         f"asymptotic bandwidth efficiency of {_what} kernels (fitted)", "fraction")
    _var(f"{_kind}_half_bytes", "byte", rf"D_{{1/2,\text{{{_kind}}}}}",
         f"size at which {_what} kernels reach half their asymptotic bandwidth efficiency (fitted)")

PER_OPERATION = derived(
    "mlsysim per-operation transformer step",
    "the kernels of a transformer layer (Vaswani et al. 2017; Llama: RMSNorm, RoPE, SwiGLU) with their "
    "tensor-parallel shapes (Shoeybi et al. 2019, Sec. 3), each timed on the calibrated efficiency law of its "
    "kind (efficiency.py; Hockney 1988 half-performance law) and summed: kernels of one step run one after another "
    "(Pope et al. 2022, Sec. 2: decode is a sequence of weight-streaming matmuls)")
GEMM_SHAPE = derived(
    "FLOPs and bytes of one GEMM",
    "a T x k by k x n matmul does T k n multiply-accumulates and moves its input (T k), its weights (k n, for "
    "each of the m matrices read: the experts of a MoE) and its output (T n) once")
OPS_STEP = derived("step time from its operations",
                   "fixed overhead plus L times the layer's operations, the once-per-step operations and the "
                   "exposed tensor-parallel all-reduces")

#: GEMMs of a layer: (name, k, n, routed) with k x n the per-device weight shape; routed: an expert MLP
_GEMMS = (("qkv", "h", "qkv_n", False), ("out_proj", "attn_k", "h", False), ("ffn_in", "h", "ffn_in_n", True),
          ("ffn_out", "ffn_k", "h", True))


def _gemm_ops(ph: str, op: str, tokens, k, n, matrices, count_desc: str) -> list:
    """Equations of one GEMM ``op`` in phase ``ph``: its FLOPs and bytes, both laws, and their max."""
    from .efficiency import efficiency_equations

    tex = op.replace("_", "")  # LaTeX text without underscores
    e = efficiency_equations()
    b = sym.bytes_per_element
    names = {s: f"{ph}_{op}_{s}" for s in ("flops", "bytes", "gemm_efficiency", "gemm_time", "memory_efficiency",
                                            "memory_time", "time")}
    _var(names["flops"], "FLOP", rf"F_{{\text{{{tex},{ph[:3]}}}}}", f"FLOPs of the {op} GEMM in {ph} ({count_desc})")
    _var(names["bytes"], "byte", rf"D_{{\text{{{tex},{ph[:3]}}}}}", f"bytes the {op} GEMM moves in {ph}")
    _var(names["gemm_efficiency"], "", rf"\eta_{{\text{{gemm,{tex},{ph[:3]}}}}}",
         f"GEMM efficiency of the {op} GEMM in {ph}", "fraction")
    _var(names["gemm_time"], "s", rf"T_{{\text{{gemm,{tex},{ph[:3]}}}}}", f"{op} GEMM time on the GEMM law in {ph}")
    _var(names["memory_efficiency"], "", rf"\eta_{{\text{{mem,{tex},{ph[:3]}}}}}",
         f"bandwidth efficiency of the {op} GEMM in {ph}", "fraction")
    _var(names["memory_time"], "s", rf"T_{{\text{{mem,{tex},{ph[:3]}}}}}",
         f"{op} GEMM time on the memory (weight-streaming) law in {ph}")
    _var(names["time"], "s", rf"T_{{\text{{{tex},{ph[:3]}}}}}", f"time of the {op} GEMM in {ph}")
    return [
        Equation(names["flops"], names["flops"], sym.flops_per_mac * tokens * k * n, source=GEMM_SHAPE,
                 description=f"FLOPs of the {op} GEMM"),
        Equation(names["bytes"], names["bytes"], b * (tokens * k + matrices * k * n + tokens * n), source=GEMM_SHAPE,
                 description=f"bytes of the {op} GEMM: input, weights, output"),
        e["gemm_efficiency"].renamed({"gemm_flops": names["flops"], "gemm_efficiency": names["gemm_efficiency"]},
                                     key=names["gemm_efficiency"]),
        e["gemm_time"].renamed({"gemm_flops": names["flops"], "gemm_efficiency": names["gemm_efficiency"],
                                "gemm_time": names["gemm_time"]}, key=names["gemm_time"]),
        e["memory_efficiency"].renamed({"kernel_bytes": names["bytes"],
                                        "memory_efficiency": names["memory_efficiency"]},
                                       key=names["memory_efficiency"]),
        e["kernel_memory_time"].renamed({"kernel_bytes": names["bytes"],
                                         "memory_efficiency": names["memory_efficiency"],
                                         "kernel_memory_time": names["memory_time"]}, key=names["memory_time"]),
        Equation(names["time"], names["time"],
                 regimes={"compute": getattr(sym, names["gemm_time"]), "memory": getattr(sym, names["memory_time"])},
                 combine="max",
                 source=PER_OPERATION, description=f"{op} GEMM: the larger of its GEMM-law and memory-law times"),
    ]


def _memory_op(ph: str, op: str, kind: str, nbytes) -> list:
    """Equations of one memory-bound kernel ``op`` of ``kind`` in phase ``ph``: its bytes and its time."""
    from .efficiency import efficiency_equations

    tex = op.replace("_", "")  # LaTeX text without underscores
    e = efficiency_equations()
    nb, eff, t = f"{ph}_{op}_bytes", f"{ph}_{op}_memory_efficiency", f"{ph}_{op}_time"
    _var(nb, "byte", rf"D_{{\text{{{tex},{ph[:3]}}}}}", f"bytes the {op} kernel moves in {ph}")
    _var(eff, "", rf"\eta_{{\text{{mem,{tex},{ph[:3]}}}}}", f"bandwidth efficiency of the {op} kernel in {ph}",
         "fraction")
    _var(t, "s", rf"T_{{\text{{{tex},{ph[:3]}}}}}", f"time of the {op} kernel in {ph}")
    ren = {"kernel_bytes": nb, "memory_efficiency": eff}
    if kind != "stream":
        ren.update(memory_efficiency_max=f"{kind}_efficiency_max", memory_half_bytes=f"{kind}_half_bytes")
    return [
        Equation(nb, nb, nbytes, source=PER_OPERATION, description=f"bytes of the {op} kernel"),
        e["memory_efficiency"].renamed(ren, key=eff),
        e["kernel_memory_time"].renamed({**ren, "kernel_memory_time": t}, key=t),
    ]


def _phase(ph: str) -> tuple[list, dict]:
    """The operations of one phase; returns (equations, {operation: (time variable, times per step)})."""
    from .efficiency import efficiency_equations

    L, N, B = sym.num_layers, sym.num_devices, sym.batch_size
    h, nh, nkv, d = sym.hidden_size, sym.num_heads, sym.num_kv_heads, sym.head_dim
    dff, nffn, V, k = sym.ffn_hidden_size, sym.ffn_matrices, sym.vocab_size, sym.experts_per_token
    b, bkv = sym.bytes_per_element, sym.kv_bytes_per_element
    T = getattr(sym, f"{ph}_step_tokens")
    routed_matrices = sym.experts_read if ph == "decode" else sym.prefill_experts_read
    shapes = {"h": h, "qkv_n": (nh + 2 * nkv) * d / N, "attn_k": nh * d / N, "ffn_in_n": (nffn - 1) * dff / N,
              "ffn_k": dff / N}
    eqs, parts = [], {}
    for op, kk, nn, routed in _GEMMS:
        eqs += _gemm_ops(ph, op, T * k if routed else T, shapes[kk], shapes[nn], routed_matrices if routed else 1,
                         "per layer")
        parts[op] = (f"{ph}_{op}_time", "layers")
    # attention
    if ph == "decode":
        eqs += _memory_op(ph, "attention", "stream",
                          bkv * 2 * B * nkv / N * sym.seq_len * d + b * 2 * T * nh / N * d)
    else:
        _var("prefill_attention_flops", "FLOP", r"F_{\text{attn,pre}}", "FLOPs of one layer's attention in prefill")
        _var("prefill_attention_gemm_efficiency", "", r"\eta_{\text{gemm,attn,pre}}",
             "GEMM efficiency of the prefill attention matmuls", "fraction")
        _var("prefill_attention_time", "s", r"T_{\text{attn,pre}}", "time of one layer's attention in prefill")
        e = efficiency_equations()
        eqs += [
            Equation("prefill_attention_flops", "prefill_attention_flops",
                     T * sym.prefill_attention_flops_per_token / (L * N), source=PER_DEVICE,
                     description="one layer's attention matmuls over the prefill tokens, per device"),
            e["gemm_efficiency"].renamed({"gemm_flops": "prefill_attention_flops",
                                          "gemm_efficiency": "prefill_attention_gemm_efficiency"},
                                         key="prefill_attention_gemm_efficiency"),
            e["gemm_time"].renamed({"gemm_flops": "prefill_attention_flops", "gemm_efficiency":
                                    "prefill_attention_gemm_efficiency", "gemm_time": "prefill_attention_time"},
                                   key="prefill_attention_time"),
        ]
    parts["attention"] = (f"{ph}_attention_time", "layers")
    small = (("norm", "norm", 2 * b * 2 * T * h, "layers"), ("rope", "rope", b * 2 * T * (nh + nkv) * d / N, "layers"),
             ("residual_add", "add", 2 * b * 3 * T * h, "layers"),
             ("activation", "act", b * 2 * T * k * dff / N, "layers"),
             ("gate_mul", "add", b * 3 * T * k * dff / N, "gated_layers"),
             ("embedding", "all", b * 2 * T * h, "once"), ("final_norm", "norm", b * 2 * T * h, "once"))
    for op, kind, nbytes, count in small:
        eqs += _memory_op(ph, op, kind, nbytes)
        parts[op] = (f"{ph}_{op}_time", count)
    head_tokens = T if ph == "decode" else B
    eqs += _gemm_ops(ph, "lm_head", head_tokens, h, V / N, 1, "once per step")
    parts["lm_head"] = (f"{ph}_lm_head_time", "once")
    # tensor-parallel all-reduces of the T h activations
    m, tc = f"{ph}_tp_message_bytes", f"{ph}_tp_collective_time"
    _var(m, "byte", rf"M_{{\text{{tp,{ph[:3]}}}}}", f"payload of one tensor-parallel all-reduce in {ph}")
    _var(tc, "s", rf"T_{{\text{{coll,{ph[:3]}}}}}", f"one tensor-parallel all-reduce in {ph} (calibrated law)",
         "nonnegative")
    eqs += [Equation(m, m, T * h * b, source=TP_MESSAGE, description=f"payload of one {ph} all-reduce"),
            efficiency_equations()["collective_time"].renamed({"message_bytes": m, "collective_time": tc}, key=tc)]
    parts["tp_allreduce"] = (tc, "tp_per_layer")
    return eqs, parts


#: how many times per step an operation runs, by the count kind of ``_phase``
COUNTS = {"layers": lambda k: k["num_layers"], "once": lambda k: 1,
          "gated_layers": lambda k: (k["ffn_matrices"] - 2) * k["num_layers"],
          "tp_per_layer": lambda k: k["tp_collectives_per_layer"] * k["num_layers"]}
_COUNT_EXPR = {"layers": lambda: sym.num_layers, "once": lambda: 1,
               "gated_layers": lambda: (sym.ffn_matrices - 2) * sym.num_layers,  # the gating multiply: SwiGLU only
               "tp_per_layer": lambda: sym.tp_collectives_per_layer * sym.num_layers}


#: the parts of each phase's time, by operation: ``{phase: {operation: (time variable, count expr)}}``,
#: filled when the set is built (``ServingResult.breakdown()`` reads it)
OPERATION_PARTS: dict = {}


def build_serving_ops() -> EquationSet:
    B, q, E = sym.batch_size, sym.decode_tokens, sym.num_experts
    _var("prefill_experts_read", "", r"\bar{n}_{\text{exp,pre}}",
         "expected distinct experts per layer read by the prefill (MoE; 1 for a dense model)")
    eqs = [
        Equation("decode_step_tokens", "decode_step_tokens", B * q, source=PER_OPERATION,
                 description="tokens of one decode step: q per sequence"),
        _miss_equation(guard=True),
        Equation("experts_read", "experts_read", E * (1 - sym.expert_miss_probability ** (B * q)),
                 source=EXPERTS_READ,
                 description="expected distinct experts per layer read by a decode step"),
        Equation("prefill_tokens", "prefill_tokens", (1 - sym.prefix_hit_rate) * sym.prompt_tokens,
                 source=PREFIX_COMPUTE, description="prompt tokens computed: those not served from the prefix cache"),
        Equation("prefill_step_tokens", "prefill_step_tokens", B * sym.prefill_tokens, source=PER_OPERATION,
                 description="tokens the prefill computes"),
        Equation("prefill_experts_read", "prefill_experts_read",
                 E * (1 - sym.expert_miss_probability ** sym.prefill_step_tokens), source=EXPERTS_READ,
                 description="expected distinct experts per layer read by the prefill"),
        _tf.attention_context_suffix_equation().renamed(
            {"seq_len": "prompt_tokens", "query_tokens": "prefill_tokens", "attention_context": "prefill_context"},
            key="prefill_context", description="mean context of a computed prompt token, as the kernel computes it"),
        _tf.attention_flops_per_token_equation().renamed(
            {"seq_len": "prefill_context", "attention_flops_per_token": "prefill_attention_flops_per_token"},
            key="prefill_attention_flops_per_token", description="attention FLOPs per prompt token"),
    ]
    for ph, total in (("decode", "tpot"), ("prefill", "ttft")):
        pe, parts = _phase(ph)
        eqs += pe
        OPERATION_PARTS[ph] = {op: (t, c) for op, (t, c) in parts.items()}
        eqs.append(Equation(total, total, sym.overhead + sum(_COUNT_EXPR[c]() * getattr(sym, t)
                                                             for t, c in parts.values()), source=OPS_STEP,
                            description=f"{ph}: overhead plus every operation of the step"))
    eqs += [
        Equation("decode_throughput", "decode_throughput", B / sym.tpot, source=THROUGHPUT,
                 description="tokens generated per second by the replica"),
        Equation("request_latency", "request_latency", sym.ttft + sym.output_tokens * sym.tpot, source=REQUEST,
                 description="prefill plus output_tokens decode steps"),
    ]
    return EquationSet("ServingOperations", eqs,
                       description="LLM serving per operation on the calibrated efficiency laws: decode (tpot) "
                                   "and prefill (ttft) as the sum of their kernels")


Equations.register("ServingOperations", factory=build_serving_ops)
