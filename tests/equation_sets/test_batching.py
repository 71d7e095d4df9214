"""PagedKV, ContinuousBatching, ChunkedPrefill and Disaggregation against hand calculations."""
import pytest

import mlsysim
from mlsysim import Q_

E = mlsysim.Equations
# Llama-3-8B, fp16 KV: 2 (K and V) * 32 layers * 8 KV heads * 128 head_dim * 2 B = 131,072 B per token
KV_TOKEN = Q_(131072, "B")


def test_paged_kv_max_concurrency():
    # budget = 0.9 * 80 GB * 1 - 16 GB = 56 GB; per sequence 131,072 B * (4096 + (16 - 1)/2) = 537.85 MB
    # -> 56e9 / (131072 * 4103.5) = 104.12 sequences
    r = E.PagedKV.evaluate(kv_block_size=16, usable_memory_fraction=0.9, memory_capacity=Q_(80, "GB"),
                           num_devices=1, weight_bytes=Q_(16, "GB"), kv_bytes_per_token=KV_TOKEN, seq_len=4096)
    assert r.kv_memory_budget.m_as("GB") == pytest.approx(56.0)
    assert r.max_concurrency.m == pytest.approx(56e9 / (131072 * 4103.5), rel=1e-12)
    # a block of 1 token wastes nothing: 56e9 / (131072 * 4096)
    r1 = E.PagedKV.evaluate(kv_block_size=1, usable_memory_fraction=0.9, memory_capacity=Q_(80, "GB"),
                            num_devices=1, weight_bytes=Q_(16, "GB"), kv_bytes_per_token=KV_TOKEN, seq_len=4096)
    assert r1.max_concurrency.m == pytest.approx(56e9 / (131072 * 4096), rel=1e-12)


def test_continuous_batching_throughput_with_prefill_stalls():
    # B = 32, n_out = 200, tpot = 20 ms, one prefill = 100 ms:
    # X = 32 * 200 / (200 * 0.02 + 32 * 0.1) = 6400 / 7.2 = 888.9 tokens/s; effective tpot = 7.2 / 200 = 36 ms
    r = E.ContinuousBatching.evaluate(batch_size=32, output_tokens=200, tpot=Q_(20, "ms"),
                                      single_prefill_time=Q_(100, "ms"))
    assert r.continuous_batching_throughput.m_as("1/s") == pytest.approx(6400 / 7.2, rel=1e-12)
    assert r.effective_tpot.m_as("ms") == pytest.approx(36.0, rel=1e-12)


def test_chunked_prefill_ttft_and_tpot_inflation():
    # chunk 512 + 32 decodes = 544 tokens * 16 GFLOP = 8.704 TFLOP at 0.5 * 989 TFLOP/s = 17.602 ms (compute);
    # 20 GB / 3.35 TB/s = 5.970 ms (memory): the step is compute-bound, 17.602 ms.
    # 2048-token prompt = 4 chunks -> TTFT 70.41 ms; with a 6 ms plain decode step the inflation is 2.934
    r = E.ChunkedPrefill.evaluate(chunk_size=512, batch_size=32, flops_per_token=Q_(16, "GFLOP"),
                                  compute_efficiency=0.5, peak_flops=Q_(989, "TFLOP/s"), decode_bytes=Q_(20, "GB"),
                                  memory_bandwidth=Q_(3.35, "TB/s"), overhead=Q_(0, "s"), prompt_tokens=2048,
                                  tpot=Q_(6, "ms"))
    step = 544 * 16e9 / (0.5 * 989e12)
    assert r.hybrid_step_time.m_as("s") == pytest.approx(step, rel=1e-12)
    assert r.regime("hybrid_step_time") == "compute"
    assert r.chunked_ttft.m_as("s") == pytest.approx(4 * step, rel=1e-12)
    assert r.tpot_inflation.m == pytest.approx(step / 0.006, rel=1e-12)


def test_disaggregation_kv_transfer_and_pools():
    # 131,072 B * 2000 tokens = 262.144 MB over 50 GB/s = 5.243 ms, + 10 us latency = 5.253 ms
    # TTFT 150 ms -> 155.253 ms. lambda = 10/s: prefill 10 * 0.15 = 1.5 instances;
    # decode 10 * 200 * 0.02 / 32 = 1.25 instances; ratio 1.2
    r = E.Disaggregation.evaluate(kv_bytes_per_token=KV_TOKEN, prompt_tokens=2000, link_bandwidth=Q_(50, "GB/s"),
                                  link_latency=Q_(10, "us"), ttft=Q_(150, "ms"), arrival_rate=Q_(10, "1/s"),
                                  output_tokens=200, tpot=Q_(20, "ms"), batch_size=32)
    assert r.kv_transfer_time.m_as("ms") == pytest.approx(262.144e6 / 50e9 * 1e3 + 0.01, rel=1e-12)
    assert r.disaggregated_ttft.m_as("ms") == pytest.approx(150 + 5.24288 + 0.01, rel=1e-12)
    assert r.prefill_instances.m == pytest.approx(1.5)
    assert r.decode_instances.m == pytest.approx(1.25)
    assert r.pool_ratio.m == pytest.approx(1.2)


def test_inverse_chunk_size_for_a_ttft_target():
    # the largest chunk whose TTFT... chunked_ttft = (P/C)(C+B) F/(eta R) in the compute regime, decreasing in C:
    # solve for the chunk that gives the 4-chunk TTFT back
    kw = dict(batch_size=32, flops_per_token=Q_(16, "GFLOP"), compute_efficiency=0.5, peak_flops=Q_(989, "TFLOP/s"),
              decode_bytes=Q_(20, "GB"), memory_bandwidth=Q_(3.35, "TB/s"), overhead=Q_(0, "s"), prompt_tokens=2048)
    step = 544 * 16e9 / (0.5 * 989e12)
    s = E.ChunkedPrefill.solve("chunk_size", chunked_ttft=Q_(4 * step, "s"), **kw)
    assert float(s.value) == pytest.approx(512, rel=1e-6)
