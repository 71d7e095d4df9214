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
   D_{\\text{dec}} = (M_{\\text{w}} + M_{\\text{kv}} + B\\, a) / N, \\qquad
   T_{\\text{tpot}} = T_{\\text{ovh}} + n_{\\text{ar}} L\\, T_{\\text{AR}} + \\max(T_{\\text{comp}}, T_{\\text{mem}})

Prefill of ``P`` prompt tokens: the same with ``B P`` tokens, attention over the causal mean context
``(P + 1)/2`` and the KV cache written once.
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
_var("tpot", "s", r"T_{\text{tpot}}", "time per output token (one decode step)")
_var("decode_throughput", "1/s", r"X_{\text{dec}}", "tokens generated per second by the replica (all its devices)")
# prefill phase
_var("prefill_context", "", r"\bar{s}_{\text{pre}}", "mean context a prompt token attends to (causal)")
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
CAUSAL_CONTEXT = derived("causal attention over a prompt",
                         "with a causal mask, prompt token i attends to i tokens: the mean over i = 1..P is "
                         "(P + 1) / 2, so the attention term of Kaplan et al. 2020 uses that context")
KV_WRITE = derived("prefill memory traffic",
                   "prefill reads the weights once and writes the prompt's KV cache once (Pope et al. 2022, Sec. 2)")
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
BATCH_WORK = derived("work of a batched step", "every sample in the batch does the same forward work")
DECODE_BYTES = derived("decode memory traffic",
                       "each decode step reads every weight once and the whole KV cache once, plus the "
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


def build_serving() -> EquationSet:
    B, N, L = sym.batch_size, sym.num_devices, sym.num_layers
    fpt_prefill = _tf.flops_per_token_equation().renamed(
        {"seq_len": "prefill_context", "flops_per_token": "prefill_flops_per_token"},
        key="prefill_flops_per_token", description="forward FLOPs per prompt token at the causal mean context")
    eqs = [
        _tf.weight_bytes_equation(),
        _tf.kv_bytes_per_token_equation(),
        _tf.kv_cache_bytes_equation(),
        _tf.flops_per_token_equation(),
        # decode
        Equation("decode_flops", "decode_flops", B * sym.flops_per_token / N, source=PER_DEVICE,
                 description="FLOPs of one decode step on each device"),
        Equation("decode_bytes", "decode_bytes",
                 (sym.weight_bytes + sym.kv_cache_bytes + B * sym.activation_traffic_bytes) / N, source=DECODE_BYTES,
                 description="bytes a decode step reads on each device: weights + KV cache + activations",
                 display=r"\left(M_{\text{w}} + M_{\text{kv}} + B\, a\right) / n_{\text{dev}}"),
        Equation("decode_message_bytes", "decode_message_bytes", B * sym.hidden_size * sym.bytes_per_element,
                 source=TP_MESSAGE, description="payload of one decode all-reduce"),
        _allreduce_renamed("decode"),
        Equation("decode_overhead", "decode_overhead",
                 sym.overhead + sym.tp_allreduces_per_forward * L * sym.decode_allreduce_time, source=TP_EXPOSED,
                 description="fixed overhead plus the exposed tensor-parallel all-reduces of a decode step"),
        *_roofline_renamed("decode", "decode_flops", "decode_bytes", "decode_overhead", "tpot"),
        Equation("decode_throughput", "decode_throughput", B / sym.tpot, source=THROUGHPUT,
                 description="tokens generated per second by the replica"),
        # prefill
        Equation("prefill_context", "prefill_context", (sym.prompt_tokens + 1) / 2, source=CAUSAL_CONTEXT,
                 description="mean context of a prompt token under a causal mask"),
        fpt_prefill,
        Equation("prefill_flops", "prefill_flops", B * sym.prompt_tokens * sym.prefill_flops_per_token / N,
                 source=PER_DEVICE, description="FLOPs of the prefill on each device"),
        Equation("prefill_bytes", "prefill_bytes",
                 (sym.weight_bytes + B * sym.prompt_tokens * (sym.kv_bytes_per_token + sym.activation_traffic_bytes))
                 / N, source=KV_WRITE,
                 description="bytes the prefill moves on each device: weights, KV written, activations"),
        Equation("prefill_message_bytes", "prefill_message_bytes",
                 B * sym.prompt_tokens * sym.hidden_size * sym.bytes_per_element, source=TP_MESSAGE,
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
        Equation("step_energy", "step_energy", sym.power * sym.latency, source=ENERGY,
                 description="device energy of one step"),
    ]
    return EquationSet("Inference", eqs, description="one batched inference step on one device (roofline)")


Equations.register("Serving", factory=build_serving)
Equations.register("Inference", factory=build_inference)
