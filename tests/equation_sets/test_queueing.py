"""Equations.Queueing: the M/M/c queue (Erlang C) against closed forms and an independent recursion."""
import math

import numpy as np
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.core.errors import InfeasibleError

Q = mlsysim.Equations.Queueing


def _erlang_c_by_recursion(c: int, a: float) -> float:
    """Erlang C from the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), B(0) = 1, and
    C = B / (1 - rho (1 - B)) (Harchol-Balter 2013, Ch. 14): a different method from the module's
    incomplete-gamma form, written here independently."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def test_two_servers_unit_rates_closed_form():
    # lambda = mu = 1/s, c = 2: a = 1, rho = 1/2.
    # C = (a^2/2! * 2/(2-1)) / (1 + a + a^2/2! * 2/(2-1)) = 1 / (1 + 1 + 1) = 1/3
    # Wq = C / (c mu - lambda) = (1/3) / (2 - 1) = 1/3 s
    r = Q.evaluate(arrival_rate=Q_(1, "1/s"), service_rate=Q_(1, "1/s"), servers=2)
    assert r.wait_probability.m == pytest.approx(1 / 3, rel=1e-12)
    assert r.mean_wait.m_as("s") == pytest.approx(1 / 3, rel=1e-12)
    # p99: P(W > t) = (1/3) e^{-t} = 0.01  ->  t = ln(100/3) = 3.50655789... s
    assert r.p99_wait.m_as("s") == pytest.approx(math.log(100 / 3), rel=1e-12)
    assert r.server_utilization.m == pytest.approx(0.5)


def test_p99_alone_as_the_issue_asks():
    r = Q.evaluate(outputs=["p99_wait"], arrival_rate=Q_(1, "1/s"), service_rate=Q_(1, "1/s"), servers=2)
    assert r.p99_wait.m_as("s") == pytest.approx(3.5066, rel=1e-4)


def test_single_server_is_mm1():
    # M/M/1: P_W = rho, Wq = rho / (mu - lambda). lambda = 3/s, mu = 4/s: rho = 0.75, Wq = 0.75 s
    r = Q.evaluate(arrival_rate=Q_(3, "1/s"), service_rate=Q_(4, "1/s"), servers=1)
    assert r.wait_probability.m == pytest.approx(0.75, rel=1e-12)
    assert r.mean_wait.m_as("s") == pytest.approx(0.75, rel=1e-12)


@pytest.mark.parametrize("c,a", [(3, 2.5), (14, 10.0), (100, 90.0), (1000, 950.0), (5000, 4990.0)])
def test_matches_erlang_b_recursion_at_whole_counts(c, a):
    r = Q.evaluate(outputs=["wait_probability"], arrival_rate=Q_(a, "1/s"), service_rate=Q_(1, "1/s"), servers=c)
    assert r.wait_probability.m == pytest.approx(_erlang_c_by_recursion(c, a), rel=1e-9)


def test_low_load_waits_zero_at_p99():
    # c = 4, a = 0.5: P_W = 0.0016 < 0.01, so a request at the 99th percentile does not wait
    r = Q.evaluate(arrival_rate=Q_(0.5, "1/s"), service_rate=Q_(1, "1/s"), servers=4)
    assert r.wait_probability.m < 0.01
    assert r.p99_wait.m_as("s") == 0.0
    assert r.regime("p99_wait") == "no_wait"


def test_arrays_broadcast_and_agree_with_scalars():
    c = np.array([11, 12, 14, 20])
    r = Q.evaluate(outputs=["mean_wait"], arrival_rate=Q_(10, "1/s"), service_rate=Q_(1, "1/s"), servers=c)
    for ci, w in zip(c, r.mean_wait.m_as("s")):
        assert w == pytest.approx(_erlang_c_by_recursion(int(ci), 10.0) / (ci - 10.0), rel=1e-9)


@pytest.mark.parametrize("servers", [1, 2, 5])
def test_unstable_queue_is_infeasible(servers):
    # rho = lambda / (c mu) = 5 / c >= 1 for c <= 5
    with pytest.raises(InfeasibleError) as e:
        Q.evaluate(arrival_rate=Q_(5, "1/s"), service_rate=Q_(1, "1/s"), servers=servers)
    assert e.value.binding == "server_utilization"
    assert "server_utilization" in str(e.value)


def test_solve_servers_for_mean_wait_is_14():
    # By the recursion: c = 13 gives Wq = 0.0951 s, c = 14 gives 0.0435 s <= 0.05 s: 14 servers.
    assert _erlang_c_by_recursion(13, 10.0) / 3 > 0.05 > _erlang_c_by_recursion(14, 10.0) / 4
    s = Q.solve("servers", arrival_rate=Q_(10, "1/s"), service_rate=Q_(1, "1/s"), mean_wait=Q_(0.05, "s"))
    assert float(s.value) == 14


def test_solve_arrival_rate_round_trip():
    # the largest arrival rate 14 servers of 1/s carry at a 0.05 s mean wait lies between 10 and 14/s
    s = Q.solve("arrival_rate", service_rate=Q_(1, "1/s"), servers=14, mean_wait=Q_(0.05, "s"))
    lam = s.value.m_as("1/s")
    assert 10 < lam < 14
    back = Q.evaluate(outputs=["mean_wait"], arrival_rate=Q_(lam, "1/s"), service_rate=Q_(1, "1/s"), servers=14)
    assert back.mean_wait.m_as("s") == pytest.approx(0.05, rel=1e-6)


def test_latex_renders_erlang_c():
    tex = Q.latex()
    assert r"C\left(" in tex and "W_q" in tex


def test_any_quantile_and_its_inverse():
    QQ = mlsysim.Equations.QueueingQuantile
    # lambda = mu = 1/s, c = 2: P(W > t) = (1/3) e^{-t}; the 90th percentile: ln((1/3)/0.1) = ln(10/3) s
    r = QQ.evaluate(arrival_rate=Q_(1, "1/s"), service_rate=Q_(1, "1/s"), servers=2, wait_quantile=0.9)
    assert r.p_quantile_wait.m_as("s") == pytest.approx(math.log(10 / 3), rel=1e-12)
    s = QQ.solve("wait_quantile", arrival_rate=Q_(1, "1/s"), service_rate=Q_(1, "1/s"), servers=2,
                 p_quantile_wait=Q_(math.log(10 / 3), "s"))
    assert float(s.value) == pytest.approx(0.9, rel=1e-9)
