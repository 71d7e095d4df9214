"""Capacity planning: ServingSolver().solve_for("num_replicas", ...) against an independent Erlang C."""
import math

import pytest

from mlsysim import Hardware, Models, Q_
from mlsysim.core.errors import InfeasibleError, UnderdeterminedError
from mlsysim.solvers import ServingSolver

S = ServingSolver()
BASE = dict(model=Models.Llama3_8B, hardware=Hardware.H100, seq_len=4096, prompt_tokens=2000, output_tokens=200,
            precision="fp16")


def _erlang_c(c: int, a: float) -> float:
    """Erlang B recursion, then C = B / (1 - rho (1 - B)) (Harchol-Balter 2013, Ch. 14)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b / (1.0 - a / c * (1.0 - b))


def _p99_wait(c: int, lam: float, mu: float) -> float:
    """P(W > t) = C e^{-(c mu - lam) t} = 0.01, or 0 when C <= 0.01."""
    if lam >= c * mu:
        return math.inf
    pc = _erlang_c(c, lam / mu)
    return max(0.0, math.log(pc / 0.01) / (c * mu - lam))


def test_acceptance_example_is_a_whole_number_and_the_smallest_that_meets_the_target():
    s = S.solve_for("num_replicas", **BASE, arrival_rate=Q_(5, "1/s"), p99_latency=Q_(20, "s"))
    n = float(s.value)
    assert n == int(n) and n >= 1 and s.binding == "queueing"
    # independent check: the request latency L from the forward solver, then the M/M/c p99 by the recursion
    latency = S.solve(**BASE, batch_size=1).request_latency.m_as("s")
    mu = 1 / latency
    assert _p99_wait(int(n), 5.0, mu) + latency <= 20.0
    assert int(n) == 1 or _p99_wait(int(n) - 1, 5.0, mu) + latency > 20.0


def test_more_arrivals_never_need_fewer_replicas():
    counts = [float(S.solve_for("num_replicas", **BASE, arrival_rate=Q_(lam, "1/s"), p99_latency=Q_(20, "s")).value)
              for lam in (0.5, 1, 2, 5, 10, 20, 40)]
    assert counts == sorted(counts) and counts[-1] > counts[0]


def test_latency_floor_binds_when_one_request_is_too_slow():
    latency = S.solve(**BASE, batch_size=1).request_latency.m_as("s")
    with pytest.raises(InfeasibleError) as e:
        S.solve_for("num_replicas", **BASE, arrival_rate=Q_(5, "1/s"), p99_latency=Q_(0.5 * latency, "s"))
    assert e.value.binding == "latency_floor"


def test_memory_binds_when_the_model_does_not_fit_a_replica():
    with pytest.raises(InfeasibleError) as e:
        S.solve_for("num_replicas", model=Models.Llama3_405B, hardware=Hardware.H100, seq_len=4096,
                    precision="fp16", arrival_rate=Q_(1, "1/s"), p99_latency=Q_(600, "s"))
    assert e.value.binding == "memory"


def test_mean_wait_and_ttft_targets():
    s = S.solve_for("num_replicas", **BASE, arrival_rate=Q_(10, "1/s"), mean_wait=Q_(0.1, "s"))
    latency = S.solve(**BASE, batch_size=1).request_latency.m_as("s")
    n = int(float(s.value))
    a = 10 * latency
    assert _erlang_c(n, a) / (n / latency - 10) <= 0.1
    t = S.solve_for("num_replicas", **BASE, arrival_rate=Q_(10, "1/s"), ttft_p99=Q_(5, "s"))
    assert float(t.value) >= math.floor(a) + 1


def test_needs_a_target_and_an_arrival_rate():
    with pytest.raises(UnderdeterminedError):
        S.solve_for("num_replicas", **BASE, arrival_rate=Q_(5, "1/s"))
    with pytest.raises(UnderdeterminedError):
        S.solve_for("num_replicas", **BASE, p99_latency=Q_(20, "s"))


def test_capacity_curve_marks_unstable_points_and_matches_the_queue():
    from mlsysim.solvers.capacity import capacity_curve

    c = capacity_curve(S, concurrency=[1, 4, 16], arrival_rate=Q_(2, "1/s"), **{k: v for k, v in BASE.items()})
    lat = c["request_latency"].m_as("s")
    # one sequence at a time: 2/s * ~1 s latency >= 1 server: unstable
    assert c["unstable"][0] and math.isnan(c["p99_latency"].m_as("s")[0])
    # at 16 in flight: the p99 is the recursion's M/M/16 p99 wait plus the request latency
    expected = _p99_wait(16, 2.0, 1 / lat[2]) + lat[2]
    assert c["p99_latency"].m_as("s")[2] == pytest.approx(expected, rel=1e-9)


def test_serving_capacity_plot_draws_the_curve_and_the_slo():
    pytest.importorskip("matplotlib")
    from mlsysim import plot

    fig = plot.serving_capacity(Models.Llama3_8B, Hardware.H100, arrival_rate=Q_(2, "1/s"), p99_slo=Q_(20, "s"),
                                prompt_tokens=2000, output_tokens=200, concurrency=(4, 8, 16))
    ax = fig.axes[0]
    xs = ax.lines[0].get_xdata()
    assert len(xs) == 3 and all(x > 0 for x in xs)
    assert ax.lines[1].get_xdata()[0] == 20
