"""Fleet-scale serving on the command line (#17), run in-process through ``mlsysim.cli.main``."""
from __future__ import annotations

import json

import pytest

from mlsysim.cli import main

REQ = ["--model", "Llama3_8B", "--hardware", "H100", "--seq-len", "4096", "--prompt-tokens", "2000",
       "--output-tokens", "200", "--compute-efficiency", "0.7"]


def run(capsys, *args):
    try:
        rc = main(list(args))
    except SystemExit as exc:  # argparse's own usage errors exit
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc, err, *words):
    assert rc == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mlsysim: error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize("target", [["--p99-latency", "20s"], ["--ttft-p99", "1s"], ["--mean-wait", "10ms"]])
def test_solve_num_replicas(capsys, target):
    rc, out, err = run(capsys, "solve", "serving", "--for", "num_replicas", *REQ, "--arrival-rate", "20/s", *target,
                       "--json")
    assert rc == 0, err
    d = json.loads(out)
    # 20 requests/s of 1.035 s each need at least ceil(20 x 1.035) = 21 servers for a stable queue
    assert d["unknown"] == "num_replicas" and d["value"] >= 21 and d["binding"] == "queueing"


def test_solve_num_replicas_text_and_errors(capsys):
    rc, out, err = run(capsys, "solve", "serving", "--for", "num_replicas", *REQ, "--arrival-rate", "20/s",
                       "--p99-latency", "20s")
    assert rc == 0 and out.startswith("num_replicas = ") and "binding: queueing" in out
    rc, out, err = run(capsys, "solve", "serving", "--for", "num_replicas", *REQ, "--p99-latency", "20s")
    one_line_error(rc, err, "--arrival-rate")
    rc, out, err = run(capsys, "solve", "serving", "--for", "num_replicas", *REQ, "--arrival-rate", "20/s",
                       "--p99-latency", "100ms")
    one_line_error(rc, err, "p99_latency")
    rc, out, err = run(capsys, "solve", "serving", "--for", "num_replicas", *REQ, "--arrival-rate", "20s",
                       "--p99-latency", "20s")
    one_line_error(rc, err, "arrival_rate")


def test_serve_with_concurrency_and_chunks(capsys):
    rc, out, err = run(capsys, "serve", *REQ, "--concurrency", "64", "--chunk-size", "512", "--json")
    assert rc == 0, err
    d = json.loads(out)
    # paged KV: 113 sequences fit (hand calculation in tests/solvers/test_scheduling.py)
    assert d["max_concurrency"] == 113
    assert d["continuous_batching_throughput"]["unit"] == "1/s" and d["chunked_ttft"]["unit"] == "s"
    rc, out, err = run(capsys, "serve", *REQ, "--concurrency", "64", "--chunk-size", "512")
    assert "max concurrency:     113" in out and "chunked prefill" in out
    rc, out, err = run(capsys, "serve", *REQ, "--concurrency", "0")
    one_line_error(rc, err, "--concurrency")


def test_solve_concurrency_and_pools(capsys):
    rc, out, err = run(capsys, "solve", "serving", "--for", "concurrency", *REQ, "--tpot", "20ms", "--json")
    assert rc == 0, err
    assert json.loads(out)["binding"] == "tpot"
    rc, out, err = run(capsys, "solve", "serving", "--for", "pool_ratio", *REQ, "--arrival-rate", "20/s",
                       "--ttft-p99", "1s", "--tpot", "30ms", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["prefill_instances"] >= 1 and d["decode_instances"] >= 1
    assert d["value"] == pytest.approx(d["prefill_instances"] / d["decode_instances"])
    rc, out, err = run(capsys, "solve", "serving", "--for", "pool_ratio", *REQ, "--arrival-rate", "20/s",
                       "--tpot", "30ms")
    one_line_error(rc, err, "--ttft-p99")


def test_serve_multinode(capsys):
    rc, out, err = run(capsys, "serve", "--model", "Mixtral_8x7B", "--hardware", "H100", "--seq-len", "4096",
                       "--num-devices", "2", "--ep", "4", "--batch-size", "8", "--json")
    assert rc == 0, err
    assert json.loads(out)["pipeline_token_latency"]["unit"] == "s"
    rc, out, err = run(capsys, "serve", *REQ, "--ep", "2")
    one_line_error(rc, err, "dense")
