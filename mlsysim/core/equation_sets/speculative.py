"""Speculative decoding: ``Equations.SpeculativeDecoding`` (Leviathan et al. 2023).

A small draft model proposes ``gamma`` tokens autoregressively; the target model scores all of them
(plus one more) in one verification step and keeps the longest accepted prefix, plus one token it
samples itself. With each drafted token accepted independently with probability ``alpha``, the
expected number of tokens a step produces is (Leviathan et al. 2023, Eq. 1)

.. math:: \\tau = \\frac{1 - \\alpha^{\\gamma + 1}}{1 - \\alpha}

A step costs the draft's ``gamma`` decode steps plus the target's one verification step of
``gamma + 1`` tokens per sequence (Sec. 3.4, Theorem 3.8: ``gamma c + 1`` target-step units with
``c`` the draft-to-target cost ratio), so the time per accepted token is

.. math:: T_{\\text{tok}} = \\frac{\\gamma\\, T_{\\text{draft}} + T_{\\text{verify}}}{\\tau}

``alpha`` is in (0, 1): at ``alpha = 1`` the closed form is 0/0 (its limit is gamma + 1).
The serving solver supplies ``draft_step_time`` (the draft model's decode step, ``Equations.Serving``)
and ``verify_step_time`` (the target's decode step with ``decode_tokens = gamma + 1``).
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations
from .serving import REQUEST, THROUGHPUT

_var("acceptance_rate", "", r"\alpha_{\text{acc}}",
     "probability that a drafted token is accepted (speculative decoding)",
     "fraction")
_var("draft_tokens", "", r"\gamma", "tokens the draft model proposes per verification step", "count")
_var("tokens_per_step", "", r"\tau_{\text{spec}}",
     "expected tokens produced per speculative step: (1 - alpha^(gamma+1))/(1 - alpha)")
_var("draft_step_time", "s", r"T_{\text{draft}}", "time of one decode step of the draft model")
_var("verify_step_time", "s", r"T_{\text{verify}}",
     "time of the target model's verification step (gamma + 1 tokens per sequence)")
_var("speculative_step_time", "s", r"T_{\text{spec}}", "time of one speculative step: gamma drafts + one verification")
_var("accepted_token_time", "s", r"T_{\text{tok}}", "time per accepted (output) token with speculative decoding")
_var("draft_memory_required", "byte", r"M_{\text{req,draft}}", "device memory of the draft model (weights + KV)")
_var("memory_required", "byte", r"M_{\text{req}}", "device memory the step needs (per device)")
_var("speculative_memory_required", "byte", r"M_{\text{req,spec}}",
     "device memory of the target and the draft model together (per device)")

_var("speculative_throughput", "1/s", r"X_{\text{spec}}", "tokens generated per second with speculative decoding")
_var("speculative_request_latency", "s", r"T_{\text{req,spec}}",
     "time from request to last token with speculative decoding: ttft + output_tokens * accepted_token_time")

LEVIATHAN_2023 = cite(refs.LEVIATHAN_2023, "Eq. 1 (expected tokens per step), Sec. 3.4 and Theorem 3.8 (walltime: "
                                           "gamma draft runs and one target run per step)")
BOTH_RESIDENT = cite(refs.LEVIATHAN_2023, "Sec. 3 (the draft model M_q runs beside the target M_p on the same "
                                          "hardware: both are resident)")


def build_speculative() -> EquationSet:
    a, g = sym.acceptance_rate, sym.draft_tokens
    return EquationSet("SpeculativeDecoding", [
        Equation("tokens_per_step", "tokens_per_step", (1 - a ** (g + 1)) / (1 - a), source=LEVIATHAN_2023,
                 description="expected tokens produced per speculative step (Eq. 1)",
                 display=r"\frac{1 - \alpha_{\text{acc}}^{\gamma + 1}}{1 - \alpha_{\text{acc}}}"),
        Equation("speculative_step_time", "speculative_step_time", g * sym.draft_step_time + sym.verify_step_time,
                 source=LEVIATHAN_2023, description="gamma draft decode steps plus one target verification step"),
        Equation("accepted_token_time", "accepted_token_time", sym.speculative_step_time / sym.tokens_per_step,
                 source=LEVIATHAN_2023, description="time per accepted token: step time over tokens per step"),
        Equation("speculative_throughput", "speculative_throughput", sym.batch_size / sym.accepted_token_time,
                 source=THROUGHPUT, description="tokens generated per second by the replica (every sequence)"),
        Equation("speculative_request_latency", "speculative_request_latency",
                 sym.ttft + sym.output_tokens * sym.accepted_token_time, source=REQUEST,
                 description="prefill plus output_tokens accepted tokens"),
        Equation("speculative_memory_required", "speculative_memory_required",
                 sym.memory_required + sym.draft_memory_required, source=BOTH_RESIDENT,
                 description="memory of the target and the draft model, both resident"),
    ], description="speculative decoding: expected tokens per step and time per accepted token (Leviathan 2023)")


Equations.register("SpeculativeDecoding", factory=build_speculative)
