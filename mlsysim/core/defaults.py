"""Default assumptions of the single-node and serving solvers, each named, sourced and overridable.

Pass any of them by keyword to a solver call to override (e.g. ``compute_efficiency=0.55``); results
list the assumptions they used with their sources.
"""
from __future__ import annotations

from .assumptions import Assumption
from .references import NARAYANAN_2021, SHOEYBI_2019, cite
from .sources import assumption
from .units import Q_

COMPUTE_EFFICIENCY = Assumption(
    "compute_efficiency", 0.7,
    assumption("mlsysim default matmul efficiency",
               "large dense matrix multiplications reach roughly 60-80% of a GPU's dense datasheet peak (cuBLAS-class "
               "kernels on Hopper/Ampere); 0.7 is the mid-point, used for every device unless overridden. The "
               "device check in docs/performance.md records one measured bf16 GEMM on an H100/H200"),
    "achieved / peak compute of the step's arithmetic")

OVERHEAD = Assumption(
    "overhead", Q_(0.0, "s"),
    assumption("mlsysim default fixed overhead",
               "no fixed per-step cost (kernel launch, framework dispatch) unless the caller gives one; a "
               "measured value for a given software stack can be passed as overhead=Q_(..., 'ms')"),
    "fixed per-step cost")

ACTIVATION_TRAFFIC = Assumption(
    "activation_traffic_bytes", Q_(0.0, "byte"),
    assumption("mlsysim default activation traffic",
               "a step's intermediate activations stay in on-chip memory (fused kernels), so only weights and "
               "the KV cache cross the memory bus; for a batch-1 LLM decode step the activations are ~h bytes "
               "per layer, < 0.01% of the weights. Give a per-sample value to model unfused execution"),
    "activation bytes per sample moved to and from device memory")

#: all-reduces per layer of ONE forward pass (serving); not the per-training-step count by recompute mode,
#: which is ``mlsysim.core.equation_sets.parallelism.TP_ALLREDUCES_PER_LAYER``
TP_ALLREDUCES_PER_FORWARD = Assumption(
    "tp_allreduces_per_forward", 2,
    cite(SHOEYBI_2019, "Sec. 3, Fig. 3 (one all-reduce after attention and one after the MLP in the forward pass)"),
    "tensor-parallel all-reduces per layer in a forward pass")

TP_LINK_LATENCY = Assumption(
    "link_latency", Q_(1.0, "us"),
    assumption("mlsysim default intra-node per-step latency",
               "NVLink/NVSwitch small-message latency is of the order of a microsecond per ring step; used when "
               "the device's fabric gives none"),
    "per-hop latency of the tensor-parallel link")

SINGLE_DEVICE_LINK = Assumption(
    "link_bandwidth", "unused",
    assumption("no tensor-parallel link on one device",
               "with one device the ring all-reduce term (n_dev - 1)/n_dev vanishes, so no link bandwidth enters "
               "the result; the equation set is given the device's memory bandwidth as a placeholder"),
    "per-device bandwidth of the tensor-parallel link")

POWER_AT_TDP = Assumption(
    "power", None,
    assumption("mlsysim default device power",
               "the device draws its rated TDP during the step (an upper bound on its energy); pass power=Q_(..., "
               "'W') for a measured figure"),
    "average device power during the step")


KV_PRECISION = Assumption(
    "kv_precision", "the weight precision",
    assumption("mlsysim default KV-cache precision",
               "the KV cache is stored at the weights' precision unless kv_precision= is given, as serving engines "
               "do by default (vLLM engine argument --kv-cache-dtype 'auto': the model's data type)"),
    "numeric format of the KV cache (the weights' unless given: kv_precision='fp16' with fp8 weights)")

ATTENTION_CAUSAL_SKIP = Assumption(
    "attention_causal_skip", 0,
    cite(NARAYANAN_2021, "Sec. 5.1 (attention FLOPs 4 B s^2 h per layer forward: the full s x s score matrix, the "
                         "count behind the published TFLOP/s and MFU)"),
    "1 if the attention kernel skips the masked half of a causal score matrix (FlashAttention's causal path, "
    "Dao 2023), 0 if it computes the full matrix (Megatron-LM 2021-22); serving and training share it")


PREFIX_HIT_RATE = Assumption(
    "prefix_hit_rate", 0.0,
    assumption("mlsysim default prefix-cache hit rate",
               "no prompt token is served from a prefix cache unless prefix_hit_rate= is given (a cold cache, or "
               "a deployment without prefix caching); give the measured fraction of prompt tokens that hit"),
    "fraction of prompt tokens served from a prefix cache")


def pick(name: str, given, default: Assumption):
    """``(value, Assumption)``: the caller's value (marked as given) or the default."""
    if given is None:
        return default.value, default
    return given, default.with_value(given)

LINK_EFFICIENCY = Assumption(
    "link_efficiency", 0.8,
    assumption("mlsysim achievable link bandwidth",
               "nccl-tests all-reduce bus bandwidth of 8 x A100 over NVLink 3 is typically 230-250 GB/s against "
               "300 GB/s per direction, i.e. about 0.8 (Alaya NeW tech blog, 'NCCL-tests in practice', 2026-05-06: "
               "a practitioner's measurements, not independently verified); applied to every link without a "
               "fitted collective law (DistributedSolver, Fleet.collective_time across nodes)"),
    "achievable fraction of a link's nominal bandwidth")
