"""Serving-engine scheduling: paged KV and continuous batching, chunked prefill, disaggregated prefill/decode.

Notes
-----
**Paged KV and continuous batching** (Kwon et al. 2023, vLLM, Sec. 4.1-4.2). The KV cache is allocated in
blocks of ``kv_block_size`` tokens, so a sequence wastes at most one partly filled block; over sequences at
uniformly spread positions the expected waste is :math:`(b-1)/2` tokens per sequence. The memory left for
KV after the weights (of the fraction ``usable_memory_fraction`` of device memory the engine may take)
bounds how many sequences can be in flight:

.. math::

    M_{KV} = f_{\\text{use}}\\, M_{\\text{dev}}\\, n_{\\text{dev}} - W, \\qquad
    B_{\\max} = \\frac{M_{KV}}{k_{\\text{tok}}\\,(s + (b - 1)/2)}

Continuous (iteration-level) batching (Yu et al. 2022, Orca) admits a new request as soon as one finishes.
Without chunked prefill, each admitted prompt's prefill stalls the running decodes (Agrawal et al. 2024,
Sarathi-Serve, Sec. 2.3), so over the time in which the ``batch_size`` sequences in flight each produce
``output_tokens`` tokens, ``batch_size`` prefills also run:

.. math::

    X_{\\text{cb}} = \\frac{B\\, n_{\\text{out}}}{n_{\\text{out}}\\, T_{\\text{tpot}} + B\\, T_{\\text{ttft,1}}}

where :math:`T_{\\text{ttft,1}}` is the prefill time of one request.

**Chunked prefill** (Agrawal et al. 2024, Sarathi-Serve, Sec. 4). A prompt is split into chunks of
``chunk_size`` tokens, each piggybacked on a decode step of the ``batch_size`` running sequences. A hybrid
step does the linear-layer work of ``chunk_size + batch_size`` tokens and reads the weights and KV cache
once, so it takes the roofline time of that work (the Roofline relations, renamed):

.. math::

    T_{\\text{hyb}} = T_{\\text{ovh}} + \\max\\left(\\frac{(C + B)\\, C_{\\text{fwd}}}{\\eta R_{\\text{peak}}},
                                             \\frac{D_{\\text{dec}}}{\\mathrm{BW}}\\right), \\qquad
    T_{\\text{ttft,ch}} = \\frac{n_{\\text{prompt}}}{C}\\, T_{\\text{hyb}}

and the decodes that share a step with a chunk are slowed by :math:`T_{\\text{hyb}}/T_{\\text{tpot}}`.
(The attention of a chunk over the context already processed is not in :math:`C_{\\text{fwd}}`: a
per-token cost at the mean context, as in the serving set.)

**Disaggregated prefill and decode** (Zhong et al. 2024, DistServe; Patel et al. 2024, Splitwise). Prefill
and decode run on separate pools; a request's KV cache moves from its prefill instance to a decode instance
over the fabric between them, adding its transfer time to the time to first token:

.. math::

    D_{KV} = k_{\\text{tok}}\\, n_{\\text{prompt}}, \\qquad
    T_{KV} = \\alpha + D_{KV} / B_{\\text{link}}, \\qquad T_{\\text{ttft,dis}} = T_{\\text{ttft}} + T_{KV}

A prefill instance completes :math:`1/T_{\\text{ttft}}` requests per second and a decode instance running
:math:`B` sequences completes :math:`B / (n_{\\text{out}} T_{\\text{tpot}})`; the pool sizes that carry an
arrival rate :math:`\\lambda` at full utilisation, and their ratio, follow.
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..sources import derived
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations
from .roofline import roofline_equations

_var("kv_block_size", "", r"b_{KV}", "tokens per paged-KV block", "count")
_var("usable_memory_fraction", "", r"f_{\text{use}}",
     "fraction of device memory the serving engine may allocate (weights + KV)", "fraction")
_var("kv_memory_budget", "byte", r"M_{KV}", "device memory left for the KV cache after the weights (per replica)")
_var("kv_tokens_per_sequence", "", r"s_{KV}", "KV tokens allocated per sequence, expected block waste included")
_var("max_concurrency", "", r"B_{\max}", "sequences whose KV cache fits at once (paged KV)")
_var("single_prefill_time", "s", r"T_{\text{ttft,1}}", "prefill time of one request's prompt")
_var("continuous_batching_throughput", "1/s", r"X_{\text{cb}}",
     "output tokens per second with continuous batching (prefill stalls included)")
_var("effective_tpot", "s", r"T_{\text{tpot,eff}}", "time per output token a request sees, prefill stalls included")
_var("chunk_size", "", r"C_{\text{chunk}}", "tokens per prefill chunk (chunked prefill)", "count")
_var("hybrid_step_flops", "FLOP", r"O_{\text{hyb}}", "linear-layer FLOPs of a hybrid (chunk + decodes) step")
_var("hybrid_compute_time", "s", r"T_{\text{comp,hyb}}", "compute time of a hybrid step")
_var("hybrid_memory_time", "s", r"T_{\text{mem,hyb}}", "memory time of a hybrid step")
_var("hybrid_step_time", "s", r"T_{\text{hyb}}", "time of one hybrid step (a prefill chunk with the decodes)")
_var("prefill_chunks", "", r"n_{\text{ch}}", "chunks a prompt is split into")
_var("chunked_ttft", "s", r"T_{\text{ttft,ch}}", "time to first token with chunked prefill")
_var("tpot_inflation", "", r"\kappa", "slow-down of a decode step that shares it with a prefill chunk", "ge1")
_var("kv_transfer_bytes", "byte", r"D_{KV}", "KV cache of one prompt moved from prefill to decode")
_var("kv_transfer_time", "s", r"T_{KV}", "time to move one prompt's KV cache between pools")
_var("disaggregated_ttft", "s", r"T_{\text{ttft,dis}}", "time to first token with disaggregated pools")
_var("prefill_instances", "", r"n_{\text{pre}}", "prefill instances that carry the arrival rate at full load")
_var("decode_instances", "", r"n_{\text{dec}}", "decode instances that carry the arrival rate at full load")
_var("pool_ratio", "", r"r_{\text{pd}}", "prefill instances per decode instance")

KWON_2023 = cite(refs.KWON_2023, "Sec. 4.1-4.2 (paged KV blocks; at most one partly filled block per sequence)")
YU_2022 = cite(refs.YU_2022, "Sec. 4.2 (iteration-level scheduling)")
AGRAWAL_2024 = cite(refs.AGRAWAL_2024, "Sec. 2.3 (prefill stalls decodes), Sec. 4 (chunked prefills, stall-free "
                                       "batching)")
ZHONG_2024 = cite(refs.ZHONG_2024, "Sec. 3 (separate pools, KV transfer)")
PATEL_2024 = cite(refs.PATEL_2024, "Sec. 4 (KV-cache transfer between prompt and token machines)")
BLOCK_WASTE = derived("expected paged-KV block waste",
                      "a sequence of s tokens holds ceil(s/b) blocks; over positions spread uniformly within a "
                      "block the expected unused slots are (b - 1)/2 (Kwon et al. 2023, Sec. 4.2: at most one "
                      "partly filled block per sequence)")
STALLS = derived("continuous batching with prefill stalls",
                 "each of the B sequences in flight is replaced once per n_out decode steps, and each "
                 "replacement's prefill stalls the batch (Agrawal et al. 2024, Sec. 2.3)")
POOLS = derived("pool sizes at full utilisation",
                "a pool of instances each completing r requests/s carries lambda at lambda / r instances (Little's "
                "law); queueing headroom is the M/M/c set's job (Equations.Queueing)")

_EQS = None


def batching_equations() -> dict[str, Equation]:
    """The scheduling relations by key (written once here)."""
    global _EQS
    if _EQS is None:
        compute_time, memory_time, latency = roofline_equations()[:3]
        B = sym.batch_size
        eqs = [
            Equation("kv_memory_budget", "kv_memory_budget",
                     sym.usable_memory_fraction * sym.memory_capacity * sym.num_devices - sym.weight_bytes,
                     source=KWON_2023, description="memory left for the KV cache after the weights"),
            Equation("kv_tokens_per_sequence", "kv_tokens_per_sequence", sym.seq_len + (sym.kv_block_size - 1) / 2,
                     source=BLOCK_WASTE, description="tokens of KV allocated per sequence, expected waste included"),
            Equation("max_concurrency", "max_concurrency",
                     sym.kv_memory_budget / (sym.kv_bytes_per_token * sym.kv_tokens_per_sequence),
                     source=KWON_2023, description="sequences whose paged KV cache fits at once"),
            Equation("continuous_batching_throughput", "continuous_batching_throughput",
                     B * sym.output_tokens / (sym.output_tokens * sym.tpot + B * sym.single_prefill_time),
                     source=STALLS, description="output tokens/s with continuous batching and prefill stalls"),
            Equation("effective_tpot", "effective_tpot",
                     (sym.output_tokens * sym.tpot + B * sym.single_prefill_time) / sym.output_tokens,
                     source=STALLS, description="time per output token a request sees, prefill stalls included"),
            Equation("hybrid_step_flops", "hybrid_step_flops", (sym.chunk_size + B) * sym.flops_per_token,
                     source=AGRAWAL_2024, description="linear-layer work of a chunk plus one token per decode"),
            compute_time.renamed({"flops": "hybrid_step_flops", "compute_time": "hybrid_compute_time"},
                                 key="hybrid_compute_time"),
            memory_time.renamed({"bytes_moved": "decode_bytes", "memory_time": "hybrid_memory_time"},
                                key="hybrid_memory_time"),
            latency.renamed({"compute_time": "hybrid_compute_time", "memory_time": "hybrid_memory_time",
                             "latency": "hybrid_step_time"}, key="hybrid_step_time"),
            Equation("prefill_chunks", "prefill_chunks", sym.prompt_tokens / sym.chunk_size, source=AGRAWAL_2024,
                     description="chunks a prompt is split into"),
            Equation("chunked_ttft", "chunked_ttft", sym.prefill_chunks * sym.hybrid_step_time, source=AGRAWAL_2024,
                     description="time to first token: one hybrid step per chunk"),
            Equation("tpot_inflation", "tpot_inflation", sym.hybrid_step_time / sym.tpot, source=AGRAWAL_2024,
                     description="slow-down of a decode step that carries a prefill chunk"),
            Equation("kv_transfer_bytes", "kv_transfer_bytes", sym.kv_bytes_per_token * sym.prompt_tokens,
                     source=ZHONG_2024, description="KV cache of one prompt"),
            Equation("kv_transfer_time", "kv_transfer_time",
                     sym.link_latency + sym.kv_transfer_bytes / sym.link_bandwidth, source=PATEL_2024,
                     description="alpha-beta time to move one prompt's KV cache between pools"),
            Equation("disaggregated_ttft", "disaggregated_ttft", sym.ttft + sym.kv_transfer_time, source=ZHONG_2024,
                     description="time to first token: prefill plus the KV transfer"),
            Equation("prefill_instances", "prefill_instances", sym.arrival_rate * sym.ttft, source=POOLS,
                     description="prefill instances at full load (one prompt at a time each)"),
            Equation("decode_instances", "decode_instances",
                     sym.arrival_rate * sym.output_tokens * sym.tpot / B, source=POOLS,
                     description="decode instances at full load (batch_size sequences each)"),
            Equation("pool_ratio", "pool_ratio", sym.prefill_instances / sym.decode_instances, source=ZHONG_2024,
                     description="prefill instances per decode instance"),
        ]
        _EQS = {e.key: e for e in eqs}
    return _EQS


def _subset(name, keys, description):
    e = batching_equations()
    return EquationSet(name, [e[k] for k in keys], description=description)


Equations.register("PagedKV", factory=lambda: _subset(
    "PagedKV", ["kv_memory_budget", "kv_tokens_per_sequence", "max_concurrency"],
    "paged KV cache: the sequences that fit at once (Kwon et al. 2023)"))
Equations.register("ContinuousBatching", factory=lambda: _subset(
    "ContinuousBatching", ["continuous_batching_throughput", "effective_tpot"],
    "continuous batching with prefill stalls: throughput and the time per token a request sees"))
Equations.register("ChunkedPrefill", factory=lambda: _subset(
    "ChunkedPrefill", ["hybrid_step_flops", "hybrid_compute_time", "hybrid_memory_time", "hybrid_step_time",
                       "prefill_chunks", "chunked_ttft", "tpot_inflation"],
    "chunked prefill (Sarathi-Serve): TTFT and the slow-down of the decodes that share a step"))
Equations.register("Disaggregation", factory=lambda: _subset(
    "Disaggregation", ["kv_transfer_bytes", "kv_transfer_time", "disaggregated_ttft", "prefill_instances",
                       "decode_instances", "pool_ratio"],
    "disaggregated prefill and decode pools: KV transfer and pool sizes (DistServe, Splitwise)"))
