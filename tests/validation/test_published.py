"""Every published case in tests/validation/data/cases.json, computed by mlsysim, within its tolerance.

The expected numbers are the published ones (papers, datasheets, benchmark submissions, each cited in the
data file), never values produced by the code under test. Cases known to be off beyond their tolerance
carry an ``xfail`` reason in the data file and are marked strict xfail here (visible in the report; an
unexpected pass fails the run so the mark cannot go stale).
"""
import json
import pathlib
import subprocess
import sys

import pytest

from mlsysim import validation

HERE = pathlib.Path(__file__).parent
DATA = json.loads((HERE / "data" / "cases.json").read_text())
CASES = DATA["cases"]
SHARED = json.loads((HERE.parent / "data" / "published_cases.json").read_text())
SHARED_IDS = {c["id"] for c in SHARED}
ROOT = HERE.parent.parent


def _param(c):
    marks = [pytest.mark.xfail(strict=True, reason=c["xfail"])] if c.get("xfail") else []
    return pytest.param(c, id=c["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case_within_tolerance(case):
    row = validation.run_case(case)
    assert row.status != "ERROR", row.message
    print(f"{row.id}: published {row.published:.6g} {row.unit}, mlsysim {row.predicted:.6g} ({row.error:+.2%})")
    assert row.passed, (f"{row.id}: published {row.published} {row.unit}, mlsysim {row.predicted} "
                        f"(error {row.error:+.2%}, tolerance {row.tolerance_text()})")


def test_case_file_is_complete_and_cited():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    kinds = set(validation.KINDS)
    for c in CASES:
        for key in ("id", "case", "category", "quantity", "published", "tolerance", "source", "method", "how"):
            assert key in c, (c.get("id"), key)
        assert c["case"] in SHARED_IDS, f"{c['id']}: {c['case']} is not a published_cases.json id"
        assert c["source"].strip(), c["id"]
        assert c["method"]["kind"] in kinds, c["id"]
        tol = c["tolerance"]
        assert set(tol) in ({"rel"}, {"abs"}), c["id"]
        if c.get("xfail"):
            assert c.get("why"), f"{c['id']}: a known-off case must say why"
    # every shared case is either validated or listed with a reason
    covered = {c["case"] for c in CASES} | {n["case"].split(" ")[0] for n in DATA["not_modelled"]}
    missing = sorted(SHARED_IDS - covered)
    assert not missing, f"published cases neither validated nor listed as not modelled: {missing}"
    assert all(n["reason"].strip() for n in DATA["not_modelled"])


def test_tolerances_follow_the_brief():
    """formulas 1-3 %, energy/carbon 2 %, hardware exact; predictions: the case's own tolerance."""
    for c in CASES:
        tol = c["tolerance"]
        if c["category"] in ("hardware", "infra"):
            assert tol == {"rel": 0.0}, c["id"]
        elif c["category"] in ("energy", "carbon"):
            assert tol.get("rel", 0) <= 0.02, c["id"]
        elif c["category"] == "formula" and "rel" in tol:
            assert tol["rel"] <= 0.05, c["id"]


def test_predictions_use_one_assumption_set():
    """no per-case efficiency: distributed cases pass none, TinyML cases name the one shared assumption."""
    for c in CASES:
        m = c["method"]
        if m["kind"] == "distributed":
            assert not {"compute_efficiency", "link_efficiency", "dp_overlap"} & set(m["layout"]), c["id"]
        if m["kind"] == "single_node":
            assert m["compute_efficiency"] == "mlsysim.hardware.tiny.TFLM_REFERENCE_EFFICIENCY", c["id"]


def test_a_wrong_prediction_fails():
    """the comparison itself can fail: a case with a deliberately wrong published value is FAIL."""
    c = dict(next(x for x in CASES if x["id"] == "pipeline_bubble_1f1b"))
    c["published"] = dict(c["published"], value=0.25)
    row = validation.run_case(c)
    assert row.status == "FAIL" and not row.passed
    c["method"] = {"kind": "nonsense"}
    assert validation.run_case(c).status == "ERROR"


def test_docs_validation_md_is_fresh():
    path = ROOT / "docs" / "validation.md"
    expected = validation.render_markdown(validation.run_cases(), DATA)
    assert path.exists(), "run: mlsysim validate --write docs/validation.md"
    assert path.read_text() == expected, "docs/validation.md is stale: run mlsysim validate --write docs/validation.md"


def test_cli_validate_json_and_exit_status(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mlsysim", "validate", "--json", "--only", "pipeline_bubble"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["id"] for r in rows} == {"pipeline_bubble_1f1b", "pipeline_bubble_interleaved"}
    assert all(r["status"] == "PASS" for r in rows)
    md = tmp_path / "v.md"
    out = subprocess.run([sys.executable, "-m", "mlsysim", "validate", "--only", "zero_", "--write", str(md)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "PASS" in out.stdout and md.read_text().startswith("# Validation")
    bad = subprocess.run([sys.executable, "-m", "mlsysim", "validate", "--cases", str(tmp_path / "none.json")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "not found" in bad.stderr



def test_fits_and_look_ups_are_not_counted_as_validated_predictions():
    """issue #13: the MLPerf Tiny latencies fixed the TFLM efficiency (a fit), and registry fields are copies
    of the published values (look-ups); neither may inflate the prediction pass count."""
    rows = validation.run_cases()
    by_id = {r.id: r for r in rows}
    # the TFLM efficiency is fitted to the KWS latency (mlsysim.calibration.fit); VWW is the held-out check
    for cid in ("mlperf_tiny_kws_latency", "mlperf_tiny_kws_energy"):
        assert by_id[cid].role == "fit" and by_id[cid].status == "FIT" and "fitted" in by_id[cid].fit
    assert by_id["mlperf_tiny_vww_latency"].role == "prediction"
    lookups = [r for r in rows if r.role == "look-up"]
    assert lookups and all(r.status in ("MATCH", "FAIL") for r in lookups)
    assert all(c["method"]["kind"] == "registry" for c in CASES if validation.role_of(c) == "look-up")
    n_pred = sum(r.role == "prediction" for r in rows)
    assert f"{n_pred} predictions:" in validation.summary(rows)
    assert "PASS" not in {r.status for r in rows if r.role != "prediction"}


def test_before_and_after_lists_every_per_operation_case_on_both_models():
    """Issue 15: docs/validation.md reports the error of each case the per-operation model computes, before (the
    flat single-efficiency model) and after. Every distributed prediction case is listed; the flat value differs
    from the per-operation one (two models, not one number twice); the flat run really is the flat model."""
    from mlsysim.solvers.distributed import DEFAULT_ASSUMPTIONS

    ids = [c["id"] for c in CASES if c["method"]["kind"] == "distributed"]
    rows = validation.run_cases(only=ids)
    ba = validation.before_after(rows)
    assert [b.id for b in ba] == ids and len(ids) >= 6
    for b in ba:
        assert b.published == next(c for c in CASES if c["id"] == b.id)["published"]["value"]
        assert b.before != pytest.approx(b.after, rel=1e-3)
    meth = next(c for c in CASES if c["id"] == ids[0])["method"]
    assert validation._run_distributed(dict(meth, output="model_kind"), flat=True) == "flat"
    assert validation._run_distributed(dict(meth, output="model_kind")) == "per_operation"
    assert validation._run_distributed(dict(meth, output="assumptions"), flat=True) and any(
        a.name == "compute_efficiency" and a.value == DEFAULT_ASSUMPTIONS["compute_efficiency"].value
        for a in validation._run_distributed(dict(meth, output="assumptions"), flat=True))
    md = validation.render_markdown(rows, DATA)
    assert "## Before and after: the per-operation model" in md
    assert "Megatron-LM Table 1 at microbatch 1 (5 rows" in md
    assert "Megatron-LM Table 1 at the artifact's microbatch sizes (5 rows" in md
