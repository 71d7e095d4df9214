"""Equations.MultiNodeInference against hand calculations; its inverse for the pipeline degree."""
import pytest

import mlsysim
from mlsysim import Q_

M = mlsysim.Equations.MultiNodeInference
# Llama-3-70B-like: 80 layers, h 8192, fp16, 8 sequences; a 20 ms decode step on one TP group; a dense model
DENSE = {"tp_step_time": Q_(20, "ms"), "stage_layers": 20, "num_layers": 80, "pp": 4, "batch_size": 8,
         "hidden_size": 8192,
             "bytes_per_element": Q_(2, "byte"), "experts_per_token": 1, "moe_layers": 0, "moe_stage_layers": 0,
             "ep_alltoall_time": Q_(0, "s"), "stage_send_time": Q_(10, "us")}


def test_dense_pipeline_hand_calculation():
    r = M.evaluate(**DENSE)
    # stage compute 20 ms x 20 / 80 = 5 ms; token latency 20 ms + 3 x 10 us = 20.03 ms; throughput 8 / 5 ms = 1600/s
    assert r.stage_compute_time.m_as("ms") == pytest.approx(5.0)
    assert r.pipeline_token_latency.m_as("ms") == pytest.approx(20.03)
    assert r.pipeline_throughput.m_as("1/s") == pytest.approx(1600.0)
    # activations between stages: 8 x 8192 x 2 B = 131,072 B
    assert r.stage_message_bytes.m_as("B") == pytest.approx(131072)


def test_moe_all_to_all_hand_calculation():
    # Mixtral-like: 32 MoE layers, top-2, h 4096; 2 stages of 16 layers; all-to-all 50 us; step 10 ms
    r = M.evaluate(**dict(DENSE, tp_step_time=Q_(10, "ms"), num_layers=32, stage_layers=16, pp=2, hidden_size=4096,
                          experts_per_token=2, moe_layers=32, moe_stage_layers=16,
                          ep_alltoall_time=Q_(50, "us")))
    # dispatch bytes 8 x 2 x 4096 x 2 B = 131,072 B
    assert r.ep_message_bytes.m_as("B") == pytest.approx(131072)
    # stage: 10 ms x 16/32 + 2 x 16 x 50 us = 5 ms + 1.6 ms = 6.6 ms; token: 10 ms + 2 x 32 x 50 us + 10 us = 13.21 ms
    assert r.pipeline_stage_time.m_as("ms") == pytest.approx(6.6)
    assert r.pipeline_token_latency.m_as("ms") == pytest.approx(13.21)
    assert r.pipeline_throughput.m_as("1/s") == pytest.approx(8 / 6.6e-3)


def test_inverse_send_time_for_a_latency_budget():
    # 20.03 ms allowed: 20 ms + 3 T_send -> T_send = 10 us
    kw = {k: v for k, v in DENSE.items() if k != "stage_send_time"}
    sol = M.solve("stage_send_time", pipeline_token_latency=Q_(20.03, "ms"), **kw)
    assert sol.value.m_as("us") == pytest.approx(10.0)


def test_latex_renders():
    tex = M.latex()
    assert r"T_{\text{tok,PP}}" in tex and r"\label" in tex
