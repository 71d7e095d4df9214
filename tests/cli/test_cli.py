"""The ``mlsysim`` command line, run as a subprocess (``python -m mlsysim``).

Expected numbers are hand calculations from datasheet values (published_cases.json), written out.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args, timeout=120):
    p = subprocess.run([sys.executable, "-m", "mlsysim", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_json(*args):
    rc, out, err = run(*args, "--json")
    assert rc == 0, err
    return json.loads(out)


def assert_usage_error(rc, out, err, *words):
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("mlsysim: error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])


# ------------------------------------------------------------------------------------ help
@pytest.mark.parametrize("cmd", [[], ["evaluate"], ["solve"], ["solve", "serving"], ["solve", "node"],
                                 ["solve", "carbon"], ["solve", "tco"], ["serve"], ["node"], ["list"], ["latex"],
                                 ["validate"]])
def test_help(cmd):
    rc, out, err = run(*cmd, "--help")
    assert rc == 0, err
    assert "usage: mlsysim" in out


# ------------------------------------------------------------------------------------ evaluate
def test_evaluate_doorbell_case_insensitive():
    rc, out, err = run("evaluate", "doorbell")
    assert rc == 0, err
    assert out.startswith("=== SYSTEM EVALUATION: Smart Doorbell ===")
    # 15.0 MFLOP / (0.01726 x 15.36 GOP/s) = 56.58 ms (TFLite Micro with ESP-NN on the ESP32-S3)
    assert "[PASS] Latency: 56.58 ms (Target: 200 ms)" in out


def test_evaluate_every_scenario_json():
    data = run_json("list", "applications")
    names = [a["name"] for a in data["applications"]]
    assert {"Doorbell", "AutoDrive", "Frontier"} <= set(names)
    for n in names:
        d = run_json("evaluate", n.upper())
        assert d["checks"] and isinstance(d["passed"], bool)


def test_evaluate_overrides():
    d = run_json("evaluate", "doorbell", "--hardware", "CortexM4", "--region", "Quebec")
    assert d["hardware"] == "CortexM4" and d["region"] == "Quebec"
    lat = next(c for c in d["checks"] if c["name"] == "latency")
    # 15.0 MFLOP / (0.7 x 480 MOP/s) = 44.64 ms
    assert lat["value"]["value"] == pytest.approx(15.0e6 / (0.7 * 480e6), rel=1e-3)


# ------------------------------------------------------------------------------------ solve
def test_solve_serving_memory_bandwidth():
    d = run_json("solve", "serving", "--for", "memory_bandwidth", "--model", "Llama3_70B", "--hardware", "H100",
                 "--seq-len", "8192", "--tpot", "20ms", "--compute-efficiency", "0.7")
    # the flat roofline (--compute-efficiency given); memory-bound decode: fp16 weights 70,553,706,496 x 2 B + KV 2 x 80 x 8 x 128 x 2 B x 8192 tokens
    bytes_moved = 70_553_706_496 * 2 + 2 * 80 * 8 * 128 * 2 * 8192
    assert d["unknown"] == "memory_bandwidth"
    value = d["value"] * {"TB/s": 1e12, "GB/s": 1e9, "B/s": 1.0}[d["unit"]]
    assert value == pytest.approx(bytes_moved / 0.020, rel=1e-3)       # 7.19 TB/s
    assert d["fits"] is False                                           # 143.8 GB > 80 GB


def test_solve_serving_text():
    rc, out, err = run("solve", "serving", "--for", "memory_bandwidth", "--model", "Llama3_70B", "--hardware",
                       "H100", "--seq-len", "8192", "--tpot", "20ms", "--compute-efficiency", "0.7")
    assert rc == 0, err
    assert out.startswith("memory_bandwidth = 7.19 TB/s meets tpot = 20 ms")


def test_solve_node_batch_size():
    d = run_json("solve", "node", "--for", "batch_size", "--model", "ResNet50", "--hardware", "H100",
                 "--latency", "10ms")
    # 10 ms x 0.7 x 989.4 TFLOP/s / 8.18 GFLOP = 846.7 -> 846 images
    assert d["value"] == math_floor(0.010 * 0.7 * 989.4e12 / 8.18e9)


def math_floor(x):
    import math

    return math.floor(x)


def test_solve_carbon_duration():
    d = run_json("solve", "carbon", "--for", "duration", "--hardware", "H100", "--num-devices", "1", "--region",
                 "Poland", "--carbon", "50t")
    # 50 t / (662 g/kWh x 0.7 kW x PUE 1.54) = 70,067 h = 2919 days
    hours = 50e6 / (662 * 0.7 * 1.54)
    unit_s = {"d": 86400, "day": 86400, "h": 3600, "s": 1, "a": 365.25 * 86400, "yr": 365.25 * 86400}[d["value"]["unit"]]
    assert d["value"]["value"] * unit_s == pytest.approx(hours * 3600, rel=1e-3)


def test_solve_tco_duration():
    d = run_json("solve", "tco", "--for", "duration", "--hardware", "H100", "--num-devices", "8", "--region",
                 "US_Avg", "--tco", "300000USD")
    # per year: capex share 8 x 30,000 / 4 + maintenance 0.1 x 240,000 + energy 8 x 0.7 kW x 8766 h x 1.54
    #           x 0.0806 USD/kWh + facility 1 USD/W/yr x 5,600 W = 60,000 + 24,000 + 6,093.6 + 5,600
    per_year = 60_000 + 24_000 + 8 * 0.7 * 8766 * 1.54 * 0.0806 + 5_600
    unit_s = {"d": 86400, "day": 86400, "h": 3600, "s": 1, "a": 365.25 * 86400, "yr": 365.25 * 86400}[d["value"]["unit"]]
    assert d["value"]["value"] * unit_s / (8766 * 3600) == pytest.approx(300_000 / per_year, rel=1e-3)


# ------------------------------------------------------------------------------------ forward
def test_serve():
    rc, out, err = run("serve", "--model", "Llama3_70B", "--hardware", "H200", "--seq-len", "8192", "--precision",
                       "fp8")
    assert rc == 0, err
    assert "Serving Llama-3-70B on 1 x H200 (fp8" in out
    d = run_json("serve", "--model", "Llama3_70B", "--hardware", "H200", "--seq-len", "8192", "--precision", "fp8",
                 "--compute-efficiency", "0.7")
    # the flat roofline (--compute-efficiency given); fp8 decode: (70,553,706,496 x 1 B + 2 x 80 x 8 x 128 x 1 B x 8192) / 4.8 TB/s = 14.98 ms
    tpot = (70_553_706_496 + 2 * 80 * 8 * 128 * 8192) / 4.8e12
    assert d["tpot"]["value"] * {"s": 1, "ms": 1e-3}[d["tpot"]["unit"]] == pytest.approx(tpot, rel=1e-3)


def test_node():
    d = run_json("node", "--model", "ResNet50", "--hardware", "H100", "--batch-size", "256")
    # 256 x 8.18 GFLOP / (0.7 x 989.4 TFLOP/s) = 3.024 ms
    lat = d["latency"]
    assert lat["value"] * {"s": 1, "ms": 1e-3}[lat["unit"]] == pytest.approx(256 * 8.18e9 / (0.7 * 989.4e12),
                                                                             rel=1e-3)


# ------------------------------------------------------------------------------------ list
@pytest.mark.parametrize("what", ["models", "hardware", "infra", "applications", "equations"])
def test_list(what):
    rc, out, err = run("list", what)
    assert rc == 0, err and out.strip()
    d = run_json("list", what)
    assert d[what]
    names = [e["name"] for e in d[what]]
    assert len(names) == len(set(names))


def test_list_sources():
    rc, out, err = run("list", "hardware", "--sources")
    assert rc == 0, err
    assert "H100" in out and "whitepaper" in out
    rc, out, err = run("list", "applications", "--sources")
    assert rc == 0 and "mlperf.conf" in out


# ------------------------------------------------------------------------------------ latex / validate
def test_latex_slot(tmp_path):
    rc, out, err = run("latex", "--out", str(tmp_path))
    try:
        import mlsysim.latex as lx
        has = hasattr(lx, "export")
    except ImportError:
        has = False
    if has:
        assert rc == 0, err
        assert any(tmp_path.iterdir())
    else:
        assert_usage_error(rc, out, err, "mlsysim.latex")


def test_validate_slot():
    rc, out, err = run("validate", "--help-validation-slot-probe")
    try:
        import mlsysim.validation as v
        has = hasattr(v, "main")
    except ImportError:
        has = False
    if not has:
        assert_usage_error(rc, out, err, "mlsysim.validation")
    else:
        assert "Traceback" not in err


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("args, words", [
    (["evaluate", "doorbel"], ["Doorbell"]),
    (["evaluate", "doorbell", "--hardware", "H1OO"], ["H100"]),
    (["evaluate", "doorbell", "--region", "Polnd"], ["Poland"]),
    (["solve", "serving", "--for", "memory_bandwidth", "--model", "Llama3_70B", "--hardware", "H100",
      "--tpot", "20parsecs"], ["parsecs"]),
    (["solve", "serving", "--for", "memory_bandwidth", "--model", "Llama3_70B", "--hardware", "H100",
      "--seq-len", "8192"], ["one target", "--tpot"]),
    (["solve", "serving", "--for", "memory_bandwidth", "--model", "Llama3_70B", "--hardware", "H100",
      "--seq-len", "8192", "--tpot", "20ms", "--ttft", "1s"], ["one target"]),
    (["solve", "serving", "--for", "memory_bandwith", "--model", "Llama3_70B", "--hardware", "H100",
      "--seq-len", "8192", "--tpot", "20ms"], ["memory_bandwidth"]),
    (["solve", "serving", "--for", "batch_size", "--model", "Llama3_70B", "--hardware", "H100",
      "--seq-len", "8192", "--batch-size", "4", "--tpot", "20ms"], ["unknown"]),
    (["solve", "serving", "--for", "memory_bandwidth", "--model", "Llama3_70B", "--hardware", "H100",
      "--seq-len", "8192", "--tpot", "20GB"], ["tpot"]),
    (["solve", "carbon", "--for", "duration", "--hardware", "H100", "--carbon", "50t"], ["carbon_intensity"]),
    (["solve", "node", "--for", "batch_size", "--model", "ResNet50", "--hardware", "H100"], ["--latency"]),
    (["serve", "--model", "Llama3_70B", "--hardware", "H200", "--precision", "fp7", "--seq-len", "10"], ["fp7"]),
    (["serve", "--model", "Llama3_70B", "--hardware", "H200", "--seq-len", "-3"], ["--seq-len"]),
    (["node", "--model", "ResNet50", "--hardware", "ESP32"], ["fp16"]),
    (["list", "gpus"], ["invalid choice"]),
    (["frobnicate"], ["invalid choice"]),
    (["solve", "serving", "--model", "Llama3_70B"], ["--for"]),
])
def test_errors_are_one_line_exit_2(args, words):
    rc, out, err = run(*args)
    assert_usage_error(rc, out, err, *words)


def test_no_command_exits_2():
    rc, out, err = run()
    assert rc == 2 and "Traceback" not in err
