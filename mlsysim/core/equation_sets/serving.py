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
from ..sources import Source, derived
from ..variables import ensure_var as _var
from ..variables import VARIABLES, define_var, sym
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
_var("decode_overhead", "s", r"T_{\text{ovh,dec}}", "fixed overhead plus exposed TP communication of a decode step", "nonnegative")
_var("decode_tokens", "", r"q_{\text{dec}}",
     "tokens each sequence processes in one decode step: 1, or gamma + 1 when verifying speculative drafts", "count")
_var("prefix_hit_rate", "", r"h_{\text{pfx}}",
     "fraction of prompt tokens served from a prefix cache, in [0, 1]", "nonnegative")
_var("prefill_tokens", "", r"n_{\text{pre}}", "prompt tokens the prefill computes (not served from the prefix cache)")
_var("kv_read_bytes", "byte", r"M_{\text{kv,read}}",
     "KV-cache bytes a decode step reads: every sequence's whole context")
_var("kv_bytes_per_element", "byte", r"b_{\text{kv}}",
     "bytes per stored KV-cache number at the KV precision (may differ from the weights')")
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
_var("prefill_overhead", "s", r"T_{\text{ovh,pre}}", "fixed overhead plus exposed TP communication of the prefill", "nonnegative")
_var("ttft", "s", r"T_{\text{ttft}}", "time to first token (prefill)")
_var("request_latency", "s", r"T_{\text{req}}", "time from request to last token: ttft + output_tokens * tpot")

POPE_2022 = Source("R. Pope et al., 'Efficiently Scaling Transformer Inference', MLSys", kind="paper", year=2023,
                   locator="Sec. 2 (decode memory time: weights and KV cache read once per step; prefill "
                           "compute-bound), Sec. 3.1 (tensor-parallel all-reduces)", url="arXiv:2211.05102")
SHOEYBI_2019 = Source("M. Shoeybi et al., 'Megatron-LM: Training Multi-Billion Parameter Language Models Using "
                      "Model Parallelism'", kind="paper", year=2019,
                      locator="Sec. 3, Fig. 3 (two all-reduces per layer in the forward pass)", url="arXiv:1909.08053")
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
    "by reference, Kwon et al. 2023, Sec. 4.4; Zheng et al. 2024, Sec. 3): m_kv (B s - (B - 1) h P); with h = 0 "
    "the KV cache of Kwon et al. 2023, Sec. 3")
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
    "a decode step streams every weight it uses once (Pope et al. 2022, Sec. 2): all parameters except the "
    "experts no token of the batch is routed to, l (E - E_read) N_exp of them")
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
        _tf.kv_cache_bytes_equation().renamed({"kv_cache_bytes": "kv_read_bytes"}, key="kv_read_bytes",
                                              description="KV cache a decode step reads: every sequence's context"),
        Equation("kv_cache_bytes", "kv_cache_bytes", m_kv * (B * sym.seq_len - (B - 1) * h * P),
                 source=PREFIX_KV, description="KV cache held: the shared prompt prefix once, the rest per sequence",
                 display=r"m_{\text{kv}} \left(B s - (B - 1)\, h_{\text{pfx}} n_{\text{prompt}}\right)"),
        _tf.attention_flops_per_token_equation(),
        _tf.flops_per_token_equation(),
        _tf.expert_parameters_equation(),
        Equation("experts_read", "experts_read", E * (1 - (1 - k / E) ** (B * q)), source=EXPERTS_READ,
                 description="expected distinct experts per layer read by a decode step of B tokens",
                 display=r"n_{\text{exp}} \left(1 - \left(1 - k_{\text{exp}} / n_{\text{exp}}\right)^{B q_{\text{dec}}}\right)"),
        Equation("decode_weight_bytes", "decode_weight_bytes",
                 (sym.parameters - L * (E - sym.experts_read) * sym.expert_parameters) * sym.bytes_per_element,
                 source=DECODE_WEIGHTS, description="weight bytes a decode step reads",
                 display=r"\left(N - \ell\, (n_{\text{exp}} - \bar{n}_{\text{exp}}) N_{\text{exp}}\right) b_{\text{e}}"),
        # decode
        Equation("decode_flops", "decode_flops", B * q * sym.flops_per_token / N, source=PER_DEVICE,
                 description="FLOPs of one decode step on each device"),
        Equation("decode_bytes", "decode_bytes",
                 (sym.decode_weight_bytes + sym.kv_read_bytes + B * sym.activation_traffic_bytes) / N,
                 source=DECODE_BYTES,
                 description="bytes a decode step reads on each device: weights used + KV cache + activations",
                 display=r"\left(M_{\text{w,dec}} + M_{\text{kv,read}} + B\, a\right) / n_{\text{dev}}"),
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
        Equation("memory_required", "memory_required", (sym.weight_bytes + sym.kv_cache_bytes) / N,
                 source=MEMORY_REQUIRED, description="weights and KV cache per device"),
        Equation("request_latency", "request_latency", sym.ttft + sym.output_tokens * sym.tpot, source=REQUEST,
                 description="prefill plus output_tokens decode steps"),
        _energy_equation().renamed({"latency": "tpot"}, key="step_energy",
                                   description="device energy of one decode step"),
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
