"""``mlsysim solve training --search``: the layout search from the command line (top N, objective, JSON, exit 2)."""
from __future__ import annotations

import json

import pytest

from mlsysim.cli import main

ISSUE = ["solve", "training", "--model", "Llama3_405B", "--fleet", "Llama3_Cluster", "--search"]


def run(capsys, *args):
    try:
        rc = main(list(args))
    except SystemExit as exc:                 # argparse errors exit from the parser
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_issue_command_prints_the_top_layouts(capsys):
    rc, out, err = run(capsys, *ISSUE, "--top", "3")
    assert rc == 0, err
    # the Frontier scenario records Meta's batch: 2048 sequences of 8192 tokens (Llama 3 paper, Table 4), and its
    # kernels (fused attention, no dropout); the search takes what the command line leaves out from it
    assert ("global_batch = 2048, seq_len = 8192, attention_kernel = flash, dropout = False from the Frontier "
            "scenario") in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:2] in ("1 ", "2 ", "3 ")]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    times = [float(r[11]) for r in rows]
    assert times == sorted(times)
    assert "rejected" in out and "topology" in out and "memory" in out


def test_json_top_and_objective(capsys):
    rc, out, err = run(capsys, *ISSUE, "--top", "4", "--objective", "memory_per_device", "--tps", "4,8",
                       "--pps", "8,16", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["objective"] == "memory_per_device" and len(d["rows"]) == 4
    mem = [r["memory_per_device"] for r in d["rows"]]
    assert mem == sorted(mem)
    assert {r["tp"] for r in d["rows"]} <= {4, 8} and {r["pp"] for r in d["rows"]} <= {8, 16}
    for r in d["rows"]:
        assert r["tp"] * r["cp"] * r["pp"] * r["dp"] == 16384
    assert "breakdown" in d["rows"][0]
    assert sum(d["rows"][0]["breakdown"].values()) == pytest.approx(d["rows"][0]["step_time"], rel=1e-9)
    assert d["rejected"]["total"] == d["enumerated"] - d["fitting"]


@pytest.mark.parametrize("args, message", [
    (["--objective", "speed"], "invalid choice"),
    (["--tps", "0,8"], "whole number"),
    (["--zero-stages", "4"], "ZeRO stages"),
    (["--recompute-modes", "partial"], "recompute must be one of"),
])
def test_bad_input_exits_2_with_one_line(capsys, args, message):
    rc, out, err = run(capsys, *ISSUE, *args)
    assert rc == 2 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_search_needs_the_flag_and_a_batch(capsys):
    rc, out, err = run(capsys, "solve", "training", "--model", "Llama3_405B", "--fleet", "Llama3_Cluster")
    assert rc == 2 and "pass --search" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run(capsys, "solve", "training", "--model", "Llama3_8B", "--fleet", "H100_1024", "--search")
    assert rc == 2 and "needs --global-batch" in err
    rc, out, err = run(capsys, "solve", "training", "--model", "Llama3_8B", "--fleet", "NoSuchFleet", "--search",
                       "--global-batch", "512")
    assert rc == 2 and "NoSuchFleet" in err and len(err.strip().splitlines()) == 1


def test_help_lists_the_search_flags(capsys):
    rc, out, err = run(capsys, "solve", "training", "--help")
    assert rc == 0 and "usage: mlsysim solve training" in out
    for flag in ("--search", "--top", "--objective", "--json", "--cps", "--eps", "--zero-stages"):
        assert flag in out


def test_offloads_option(capsys):
    rc, out, err = run(capsys, *ISSUE, "--tps", "8", "--cps", "1", "--pps", "16", "--micro-batch-sizes", "1",
                       "--interleaves", "1", "--zero-stages", "1", "--recompute-modes", "full",
                       "--offloads", "none,optimizer+activations", "--top", "4", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert {tuple(r["offload"]) for r in d["rows"]} == {(), ("optimizer", "activations")}
    rc, out, err = run(capsys, *ISSUE, "--offloads", "gradients")
    assert rc == 2 and "kind of offload" in err and len(err.strip().splitlines()) == 1


def test_command_line_kernels_override_the_scenarios(capsys):
    """--attention-kernel and --no-dropout given: the note names only what came from the scenario; the unfused
    kernel with dropout (a materialised score matrix) is slower than the scenario's flash kernel without dropout."""
    small = ["--tps", "8", "--pps", "16", "--cps", "1", "--micro-batch-sizes", "1", "--interleaves", "4",
             "--recompute-modes", "full", "--zero-stages", "1", "--offloads", "none", "--json"]
    rc, out, err = run(capsys, *ISSUE, *small)
    assert rc == 0, err
    scen = json.loads(out)
    assert "attention_kernel = flash, dropout = False" in scen["note"]
    rc, out, err = run(capsys, *ISSUE, *small, "--attention-kernel", "unfused")
    assert rc == 0, err
    unf = json.loads(out)
    assert "attention_kernel" not in unf["note"] and "dropout = False" in unf["note"]
    assert unf["rows"][0]["step_time"] > scen["rows"][0]["step_time"]
    assert unf["rows"][0]["breakdown"]["kernel_step_time"] > scen["rows"][0]["breakdown"]["kernel_step_time"]
