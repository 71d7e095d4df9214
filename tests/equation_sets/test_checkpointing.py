"""Equations.Checkpointing and Equations.Goodput against hand calculations (Young 1974, Daly 2006)."""
import math

import pytest

import mlsysim
from mlsysim import Q_

C = mlsysim.Equations.Checkpointing
G = mlsysim.Equations.Goodput


def test_young_and_daly_intervals():
    # delta = 5 min = 300 s, M = 3 h = 10,800 s: sqrt(2 * 300 * 10800) = sqrt(6.48e6) = 2545.58 s (Young);
    # Daly's first-order correction subtracts delta: 2245.58 s
    r = C.evaluate(checkpoint_time=Q_(5, "min"), mtbf=Q_(3, "h"))
    assert r.checkpoint_interval.m_as("s") == pytest.approx(2545.584, rel=1e-6)
    assert r.checkpoint_interval_daly.m_as("s") == pytest.approx(2245.584, rel=1e-6)


def test_solve_mtbf_recovers_three_hours():
    s = C.solve("mtbf", checkpoint_time=Q_(5, "min"), checkpoint_interval=Q_(math.sqrt(2 * 300 * 10800), "s"))
    assert s.value.m_as("h") == pytest.approx(3.0, rel=1e-9)


def test_llama3_interruptions_imply_a_job_mtbf_of_about_three_hours():
    # Dubey et al. 2024, Sec. 3.3.4: 419 unexpected interruptions in 54 days on 16,384 GPUs.
    job_mtbf_h = 54 * 24 / 419                       # 3.093 h
    device_mtbf_h = job_mtbf_h * 16384               # 50,676 h
    r = G.evaluate(outputs=["mtbf"], device_mtbf=Q_(device_mtbf_h, "h"), num_devices=16384)
    assert r.mtbf.m_as("h") == pytest.approx(3.093, rel=1e-3)


def test_goodput_closed_form_and_its_rare_failure_limit():
    # tau = 1000 s, delta = 100 s, R = 600 s, M = 10,000 s:
    # G = 1000 / (10000 e^{0.06} (e^{0.11} - 1)) = 1000 / (10000 * 1.0618365 * 0.1162781) = 0.810
    r = G.evaluate(outputs=["goodput"], checkpoint_interval=Q_(1000, "s"), checkpoint_time=Q_(100, "s"),
                   restart_time=Q_(600, "s"), mtbf=Q_(10000, "s"))
    expected = 1000 / (10000 * math.exp(0.06) * (math.exp(0.11) - 1))
    assert r.goodput.m == pytest.approx(expected, rel=1e-12)
    assert 0.80 < expected < 0.82
    # failures every 1e9 s: only the checkpoint write costs, tau / (tau + delta) = 1000/1100
    r = G.evaluate(outputs=["goodput"], checkpoint_interval=Q_(1000, "s"), checkpoint_time=Q_(100, "s"),
                   restart_time=Q_(600, "s"), mtbf=Q_(1e9, "s"))
    assert r.goodput.m == pytest.approx(1000 / 1100, rel=1e-5)


def test_checkpoint_time_from_state_size():
    # 16 TB of state at 2 TB/s: 8 s
    r = G.evaluate(outputs=["checkpoint_time"], checkpoint_bytes=Q_(16, "TB"), storage_bandwidth=Q_(2, "TB/s"))
    assert r.checkpoint_time.m_as("s") == pytest.approx(8.0)


def test_more_devices_lower_goodput():
    kw = dict(device_mtbf=Q_(50000, "h"), checkpoint_bytes=Q_(5, "TB"), storage_bandwidth=Q_(1, "TB/s"),
              restart_time=Q_(10, "min"))
    g = []
    for n in (1024, 4096, 16384):
        # each job checkpoints at its own Young interval
        r = G.evaluate(outputs=["mtbf", "checkpoint_time"], num_devices=n, **kw)
        tau = C.evaluate(checkpoint_time=r.checkpoint_time, mtbf=r.mtbf).checkpoint_interval
        g.append(G.evaluate(outputs=["goodput"], num_devices=n, checkpoint_interval=tau, **kw).goodput.m)
    assert g[0] > g[1] > g[2]


def test_goodput_has_two_intervals_either_side_of_the_optimum():
    # G(tau) rises then falls: a goodput below the optimum is met by a short and a long interval.
    kw = dict(checkpoint_time=Q_(100, "s"), restart_time=Q_(600, "s"), mtbf=Q_(10000, "s"))
    g = G.evaluate(outputs=["goodput"], checkpoint_interval=Q_(1000, "s"), **kw).goodput
    s = G.solve("checkpoint_interval", goodput=g, **kw)
    answers = sorted([s.value.m_as("s")] + [a.m_as("s") for a in s.alternatives])
    assert len(answers) == 2 and any(abs(a - 1000) < 1e-6 * 1000 for a in answers)
    for a in answers:
        back = G.evaluate(outputs=["goodput"], checkpoint_interval=Q_(a, "s"), **kw).goodput.m
        assert back == pytest.approx(g.m, rel=1e-9)
