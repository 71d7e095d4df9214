"""For every registered equation set and every (target, unknown) pair: evaluate forward at a random
physical point, solve back for the unknown, and recover it (1e-9 relative) unless the target does not
depend on it there (then the solution must still reproduce the target and say it is a bound).

The expected value in each check is the input the test itself drew, not anything the code computed.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import Q_
from mlsysim.core.variables import VARIABLES

SETS = list(mlsysim.Equations)
#: variables whose random draws never give a well-posed round trip (documented per set); empty by default
_DEGENERATE: dict = {
    # the distinct experts a prefill of B x n_pre tokens reads saturate at all of them (1 - k/E)^(B n_pre) ~ 0
    # for any prompt of more than a few tokens: the target does not measurably depend on its inputs
    "ServingOperations": {"prefill_experts_read",
                          # the LM head's bytes are its V x h weights: the batch's activations move them < 1e-10
                          "decode_lm_head_memory_efficiency"},
    # counts that enter a max() (the slowest pipeline stage sets the pace; the DP reduction exposes the larger of
    # its last bucket and what the backward window cannot hide): where another branch binds they sit on a
    # plateau, and the engine answers with the regime boundary without flagging it as a bound (reported);
    # ffn_matrices rounded to 1 leaves the up-projection with 0 FLOPs, whose GEMM law is then 0/0
    "TrainingStep": {"first_stage_layers", "middle_stage_layers", "last_stage_layers", "single_stage", "dp_buckets",
                     "ffn_matrices"},
}
RTOL = 1e-9
#: targets that random pairs skip: TrainingStep's stage imbalance (the slowest stage's pace minus the largest
#: stage's layers) is a difference of two maxima, not monotonic in most inputs, with many roots; it is covered
#: at fixed points through the global batch (_COVER_UNKNOWN)
_ILL_CONDITIONED_TARGETS = {"TrainingStep": {"stage_imbalance_step_time"}}
#: (target, unknown) pairs random draws skip because the target is not monotonic in the unknown: the offload
#: overlap f hides the activations' host transfers ((1 - f) T_a falls) while the streamed parameters take more of
#: the compute window they share (T_a + T_w - T_comp - (1 - f) T_w rises), so the activations' exposed share is
#: V-shaped in f with a plateau past f = T_comp / T_w; the engine answers another root of the V or of the plateau,
#: or its log-spaced scan misses a root near the V's bottom (their sum, the offload part of step_time, is
#: monotonic and stays in the property). Covered at fixed points (test_every_variable_round_trips_at_fixed_points)
_NON_INJECTIVE_PAIRS = {"TrainingStep": {("offload_activations_step_time", "offload_overlap")}}
#: (set, target) -> the unknown that covers the target, where the alphabetical first input is a poor choice:
#: TrainingStep's MFU is not monotonic in attention_context (it rises while the attention GEMMs grow efficient,
#: then falls), and the engine's log-spaced root scan can miss two roots that close (reported to the engine)
#: TrainingStep's stage imbalance is a difference (pace minus the largest stage's layers): inverting it for a
#: kernel efficiency loses digits to cancellation, for the global batch (a plain factor m) it does not
_COVER_UNKNOWN = {("TrainingStep", "mfu"): "peak_flops", ("TrainingStep", "stage_imbalance_step_time"): "global_batch"}


def _draw_value(name, rng_or_draw):
    """A physical value for variable ``name`` in base units (a float)."""
    v = VARIABLES[name]
    u = rng_or_draw
    d = v.domain
    if d in ("count", "count0"):
        return float(u("int", 2, 64))
    if d == "fraction":
        return u("float", 0.05, 1.0)
    if d == "ge1":
        return u("float", 1.0, 4.0)
    return 10 ** u("float", -2.0, 2.0)


# Sets whose inputs are tied together by construction (tp * pp * dp = devices, local ranks <= ranks, ...):
# random independent draws are mostly inconsistent, so their points start from real layouts built by the
# DistributedSolver and perturb only the continuous inputs.
_LAYOUTS = [("GPT3", "A100_Megatron", 8, 8, 48, 1536, 2048, {}),
            ("Llama3_8B", "H100_1024", 2, 4, 128, 1024, 4096, {"recompute": "none"}),
            ("Llama3_70B", "H100_1024", 16, 4, 16, 512, 8192, {"allow_cross_node_tp": True}),
            ("GPT2", "Research_256_100GbE", 1, 1, 256, 512, 1024, {"recompute": "none", "zero_stage": 3}),
            # context and expert parallelism (per-operation model only; the flat knowns drop them)
            ("Llama3_8B", "H100_1024", 2, 2, 64, 512, 8192, {"cp": 4, "recompute": "full"}),
            ("Mixtral_8x7B", "H100_1024", 2, 1, 512, 1024, 4096, {"ep": 8})]
_LAYOUT_KNOWNS: list = []
#: TrainingStep's inputs in [0, 1]: the causal skip of the attention kernel, the three offload switches (default 0)
#: and the overlap of host transfers (a fraction up to 1: above 1 the exposed transfer would turn negative)
_LAYOUT_SWITCHES = {"attention_causal_skip", "offload_optimizer", "offload_activations", "offload_weights",
                    "offload_overlap"}


def _layout_point(eqset, u):
    from mlsysim import Models, Systems
    from mlsysim.solvers.distributed import DistributedSolver

    if not _LAYOUT_KNOWNS:
        for m, f, tp, pp, dp, gb, sl, kw in _LAYOUTS:
            # the knowns of both models: the flat one (compute_efficiency given) and the per-operation one
            fkw = {k: v for k, v in kw.items() if k not in ("cp", "ep")}
            flat = DistributedSolver().solve(model=Models[m], fleet=Systems[f], tp=tp, pp=pp,
                                             dp=dp * kw.get("cp", 1), global_batch=gb, seq_len=sl,
                                             compute_efficiency=0.5, **fkw)
            ops = DistributedSolver().solve(model=Models[m], fleet=Systems[f], tp=tp, pp=pp, dp=dp, global_batch=gb,
                                            seq_len=sl, **kw)
            _LAYOUT_KNOWNS.append({**flat._knowns, **ops._knowns})
    k = _LAYOUT_KNOWNS[u("int", 0, len(_LAYOUT_KNOWNS) - 1)]
    values = {}
    for n in eqset.inputs:
        v = VARIABLES[n]
        if n in _LAYOUT_SWITCHES:   # switches in [0, 1] whose default is 0: drawn live, so their terms are tested
            values[n] = u("float", 0.2, 0.9)
            continue
        if n not in k:
            values[n] = _draw_value(n, u) if v.domain not in ("positive",) else 10 ** u("float", 9.0, 13.0)
            continue
        x = k[n].to(v.base_unit).magnitude if hasattr(k[n], "units") else float(k[n])
        if v.domain in ("count", "count0"):
            values[n] = float(x)
        elif v.domain == "fraction":
            values[n] = u("float", 0.3, 1.0)
        elif v.domain == "ge1":
            values[n] = u("float", 1.0, 4.0)
        elif x == 0:
            values[n] = 0.0
        else:
            values[n] = x * 10 ** u("float", -0.3, 0.3)
    return values


# Serving sets tie their inputs to a real architecture (parameters = the sum of the shapes, experts routed <=
# experts): points start from ServingSolver bindings of real models and perturb the request and the continuous
# inputs.
_SERVING = [("Mixtral_8x7B", "H200", 2), ("Mixtral_8x7B", "H100", 8)]   # MoE and TP: every term is live
_SERVING_KNOWNS: list = []


def _serving_point(eqset, u):
    from mlsysim.solvers import ServingSolver

    if not _SERVING_KNOWNS:
        for m, hw, n in _SERVING:
            _SERVING_KNOWNS.append(ServingSolver().bind(model=m, hardware=hw, num_devices=n, seq_len=2048,
                                                        prompt_tokens=1024, output_tokens=64).knowns)
    k = _SERVING_KNOWNS[u("int", 0, len(_SERVING_KNOWNS) - 1)]
    values = {}
    for n in eqset.inputs:
        v = VARIABLES[n]
        if n == "batch_size":  # small batches: the distinct experts a batch reads have not saturated yet
            values[n] = float(u("int", 1, 8))
        elif n == "activation_traffic_bytes":  # comparable to the weights, so that the bytes depend on it
            values[n] = 10 ** u("float", 8.0, 10.0)
        elif n in ("seq_len", "prompt_tokens"):
            values[n] = float(u("int", 1024, 8192)) if n == "seq_len" else float(u("int", 64, 1024))
        elif n in ("attention_causal_skip", "prefix_hit_rate"):
            values[n] = u("float", 0.0, 0.9)
        elif n not in k:
            values[n] = _draw_value(n, u)
        else:
            x = k[n].to(v.base_unit).magnitude if hasattr(k[n], "units") else float(k[n])
            if v.domain in ("count", "count0"):
                values[n] = float(x)
            elif v.domain == "fraction":
                values[n] = min(1.0, x * 10 ** u("float", -0.1, 0.1))
            elif x == 0:  # a default of zero (overhead, activation traffic): a small positive value instead
                values[n] = 10 ** u("float", 3.0, 6.0) if v.unit == "byte" else 10 ** u("float", -6.0, -4.0)
            else:
                values[n] = x * 10 ** u("float", -0.3, 0.3)
    return values


def _speculative_point(eqset, u):
    values = {n: _draw_value(n, u) for n in eqset.inputs}
    values["acceptance_rate"] = u("float", 0.3, 0.95)     # Leviathan et al. 2023, Table 3: alpha 0.5-0.9
    values["draft_tokens"] = float(u("int", 1, 10))       # gamma of a few tokens
    return values


def _queue_point(eqset, u):
    """A stable, loaded M/M/c queue: utilisation drawn in (0.7, 0.97), so arrival_rate follows from it."""
    values = {n: _draw_value(n, u) for n in eqset.inputs}
    # a loaded queue of a few servers, so that requests do wait at the 99th percentile (else p99_wait = 0)
    values["servers"] = float(u("int", 1, 16))
    rho = u("float", 0.7, 0.97)
    values["arrival_rate"] = rho * values["servers"] * values["service_rate"]
    values["wait_quantile"] = u("float", 0.5, 0.999)
    return values


def _goodput_point(eqset, u):
    """A job that fails every 1e3-1e5 s, writes its state in 1-1000 s, restarts in 10-1000 s and
    checkpoints every 100-10,000 s (random decades elsewhere make e^(R/M) overflow)."""
    values = {n: _draw_value(n, u) for n in eqset.inputs}
    values["device_mtbf"] = 10 ** u("float", 3.0, 5.0) * values["num_devices"]
    values["storage_bandwidth"] = values["checkpoint_bytes"] / 10 ** u("float", 0.0, 3.0)
    values["restart_time"] = 10 ** u("float", 1.0, 3.0)
    values["checkpoint_interval"] = 10 ** u("float", 2.0, 4.0)
    return values


_POINT_BUILDERS = {"Goodput": _goodput_point, "Queueing": _queue_point, "QueueingQuantile": _queue_point,
                   "Parallelism": _layout_point, "PipelineBubble": _layout_point, "ZeROMemory": _layout_point,
                   "ActivationMemory": _layout_point, "TrainingStep": _layout_point, "Serving": _serving_point,
                   "ServingOperations": _serving_point, "SpeculativeDecoding": _speculative_point}


def _point(eqset, u):
    b = _POINT_BUILDERS.get(eqset.name)
    if b is not None:
        return b(eqset, u)
    values = {n: _draw_value(n, u) for n in eqset.inputs}
    # inputs tied by construction: a token is routed to at most all experts; the causal-skip switch is in [0, 1]
    if "num_experts" in values and "experts_per_token" in values:
        values["experts_per_token"] = float(min(values["experts_per_token"], values["num_experts"]))
    for name in ("attention_causal_skip", "prefix_hit_rate"):   # switches and fractions that may be 0
        if name in values:
            values[name] = u("float", 0.0, 0.9)
    return values


def _knowns(eqset, values):
    return {n: (Q_(values[n], VARIABLES[n].base_unit) if not VARIABLES[n].dimensionless else values[n])
            for n in eqset.inputs}


def _pairs(eqset):
    out = []
    for t in eqset.derived:
        for u in sorted(eqset.input_deps(t)):
            out.append((t, u))
    return out


#: sets with saturating relations (the experts a batch reads, a GEMM's bytes against its batch)
_SATURATING = {"Serving", "ServingOperations", "SpeculativeDecoding"}


def _ill_conditioned(eqset, values, target, unknown, tval):
    """True where the target barely depends on the unknown at this point: a relative change of 1e-6 in the
    unknown moves the target by less than 1e-10 relative (e.g. the distinct experts a large batch reads, which
    saturates at all of them; a GEMM's bytes, dominated by its weights, against the batch). There no solver can
    recover the unknown to the test's 1e-9 from a target known to 1e-16: not a round-trip question."""
    base = {n: values[n] for n in eqset.input_deps(target)}
    order = [n for n in eqset._order if n in eqset._derived_closure(target)]
    try:
        with np.errstate(all="ignore"):
            moved = dict(base, **{unknown: values[unknown] * (1 + 1e-6) if values[unknown] else 1e-6})
            t2 = eqset._forward_lenient(moved, order)[0][target]
    except (ArithmeticError, ValueError, mlsysim.MlsysimError):
        return False
    return bool(np.isfinite(t2)) and abs(t2 - tval) <= 1e-10 * abs(tval)


def _check_pair(eqset, values, target, unknown):
    knowns = _knowns(eqset, values)
    try:
        fwd = eqset.evaluate(outputs=[target], **knowns)
    except mlsysim.MlsysimError:
        return "skip"  # the random point overflows or leaves the domain: not a round-trip question
    tval = fwd.magnitude(target)
    if not (np.isfinite(tval) and tval > 0):
        return "skip"
    if eqset.name in _SATURATING and _ill_conditioned(eqset, values, target, unknown, tval):
        return "skip"
    needed = eqset.input_deps(target)
    k = {n: q for n, q in knowns.items() if n in needed and n != unknown}
    k[target] = Q_(tval, VARIABLES[target].base_unit) if not VARIABLES[target].dimensionless else tval
    try:
        sol = eqset.solve(unknown, **k)
    except mlsysim.errors.UnderdeterminedError as exc:
        # degenerate point where the target does not depend on the unknown (e.g. utilization = 1)
        assert "does not depend" in str(exc)
        return "skip"
    # a count unknown is rounded to a whole number that meets the target as a limit (sol.note); the exact
    # answer the round trip checks is sol.continuous
    exact = sol.continuous if sol.continuous is not None else sol.value
    got = exact.to(VARIABLES[unknown].base_unit).magnitude if not VARIABLES[unknown].dimensionless \
        else exact.magnitude
    if sol.note:
        assert float(sol.value.magnitude) == round(float(sol.value.magnitude))
        assert sol.all.magnitude(target) <= tval * (1 + 1e-12), (eqset.name, target, unknown, sol)
    # the solution always reproduces the target. (A count unknown may be answered by a continuous value,
    # e.g. the regime boundary of a bound; evaluate() refuses non-whole counts, so substitute the answer
    # into the set's kernels directly.)
    base = {n: values[n] for n in needed if n != unknown}
    base[unknown] = float(got)
    order = [n for n in eqset._order if n in eqset._derived_closure(target)]
    back = eqset._forward_lenient(base, order)[0][target]
    assert back == pytest.approx(tval, rel=RTOL), (eqset.name, target, unknown)
    if sol.bound == "":
        # a relation with several roots (a quadratic) reports the others as alternatives: the drawn value
        # must be one of the answers
        answers = [got] + [a.to(VARIABLES[unknown].base_unit).magnitude if not VARIABLES[unknown].dimensionless
                           else a.magnitude for a in sol.alternatives]
        assert any(a == pytest.approx(values[unknown], rel=RTOL) for a in answers), (eqset.name, target, unknown, sol)
    return "ok"


def _cover_pairs(eqset, skip=frozenset()):
    """Pairs that cover every variable of the set: each input as the unknown (with the target that
    depends on it most directly) and each derived quantity as the target at least once (``skip``: unknowns
    left out, see _DEGENERATE)."""
    pairs = set()
    for u in eqset.inputs:
        if u in skip:
            continue
        ts = [t for t in eqset.derived if u in eqset.input_deps(t)]
        if ts:
            pairs.add((min(ts, key=lambda t: (len(eqset.input_deps(t)), t)), u))
    for t in eqset.derived:
        if not any(p[0] == t for p in pairs):
            pairs.add((t, _COVER_UNKNOWN.get((eqset.name, t)) or min(sorted(eqset.input_deps(t) - set(skip)))))
    return sorted(pairs)


@pytest.mark.parametrize("set_name", SETS)
def test_every_variable_round_trips_at_fixed_points(set_name):
    eqset = mlsysim.Equations[set_name]
    rng = np.random.default_rng(20261127)

    def u(kind, lo, hi):
        return int(rng.integers(lo, hi + 1)) if kind == "int" else float(rng.uniform(lo, hi))

    pairs = _cover_pairs(eqset, _DEGENERATE.get(set_name, frozenset()))
    ok = set()
    for _ in range(4):
        values = _point(eqset, u)
        for target, unknown in pairs:
            if _check_pair(eqset, values, target, unknown) == "ok":
                ok.add((target, unknown))
    # every variable was exercised by at least one successful round trip
    covered = {v for p in ok for v in p}
    assert covered >= set(eqset.variables) - _DEGENERATE.get(set_name, set()), \
        sorted(set(eqset.variables) - covered)


@pytest.mark.parametrize("set_name", SETS)
def test_round_trip_property(set_name):
    eqset = mlsysim.Equations[set_name]
    pairs = [p for p in _pairs(eqset) if p[1] not in _DEGENERATE.get(set_name, set())
             and p[0] not in _ILL_CONDITIONED_TARGETS.get(set_name, set())
             and p not in _NON_INJECTIVE_PAIRS.get(set_name, set())]

    outcomes = []

    @settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(st.data())
    def run(data):
        def u(kind, lo, hi):
            if kind == "int":
                return data.draw(st.integers(lo, hi))
            return data.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))

        values = _point(eqset, u)
        target, unknown = data.draw(st.sampled_from(pairs))
        outcomes.append(_check_pair(eqset, values, target, unknown))

    run()
    # the property was tested: at least a quarter of the draws were real round trips, not skips
    ok = outcomes.count("ok")
    assert ok >= len(outcomes) // 4 and ok > 0, f"{set_name}: {ok} of {len(outcomes)} draws round-tripped"
