"""Equations.SpeculativeDecoding (Leviathan et al. 2023, Eq. 1 and Sec. 3.4), with hand calculations."""
import pytest

import mlsysim
from mlsysim import Q_

S = mlsysim.Equations.SpeculativeDecoding


def test_tokens_per_step_eq1():
    # (1 - 0.8^5) / (1 - 0.8) = (1 - 0.32768) / 0.2 = 3.3616
    assert float(S.evaluate(acceptance_rate=0.8, draft_tokens=4).tokens_per_step) == pytest.approx(3.3616, rel=1e-12)
    # alpha = 0.5, gamma = 1: (1 - 0.25) / 0.5 = 1.5
    assert float(S.evaluate(acceptance_rate=0.5, draft_tokens=1).tokens_per_step) == pytest.approx(1.5, rel=1e-12)


def test_inverse_acceptance_rate_and_draft_tokens():
    assert float(S.solve("acceptance_rate", tokens_per_step=3.3616, draft_tokens=4).value) == pytest.approx(0.8, rel=1e-9)
    assert float(S.solve("draft_tokens", tokens_per_step=3.3616, acceptance_rate=0.8).value) == pytest.approx(4)


def test_time_per_accepted_token():
    r = S.evaluate(acceptance_rate=0.8, draft_tokens=4, draft_step_time=Q_(2, "ms"), verify_step_time=Q_(15, "ms"),
                   ttft=Q_(100, "ms"), output_tokens=10, batch_size=1, memory_required=Q_(70, "GB"),
                   draft_memory_required=Q_(8, "GB"))
    # step: 4 x 2 ms + 15 ms = 23 ms; per accepted token 23 / 3.3616 = 6.842 ms
    assert r["speculative_step_time"].m_as("ms") == pytest.approx(23, rel=1e-12)
    assert r["accepted_token_time"].m_as("ms") == pytest.approx(23 / 3.3616, rel=1e-12)
    assert r["speculative_request_latency"].m_as("ms") == pytest.approx(100 + 10 * 23 / 3.3616, rel=1e-12)
    assert r["speculative_memory_required"].m_as("GB") == pytest.approx(78, rel=1e-12)
