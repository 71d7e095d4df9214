"""``mlsysim train``: the DistributedSolver from the command line (cp, ep, uneven stages, JSON, exit 2)."""
from __future__ import annotations

import json
import subprocess
import sys


def run(*args, timeout=120):
    p = subprocess.run([sys.executable, "-m", "mlsysim", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_train_json_has_the_breakdown_and_time_to_train():
    rc, out, err = run("train", "--model", "Mixtral_8x7B", "--fleet", "H100_1024", "--ep", "8", "--global-batch",
                       "1024", "--seq-len", "4096", "--tokens", "1e12", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["layout"]["ep"] == 8 and d["layout"]["tp"] == 1 and d["layout"]["dp"] == 1024
    parts = [k for k in d if k.endswith("_step_time") or k in ("bubble_time", "pp_comm_time", "dp_exposed_time",
                                                                "optimizer_time")]
    assert sum(d[k]["value"] for k in parts) == __import__("pytest").approx(d["step_time"]["value"], rel=1e-9)
    assert d["ep_alltoall_step_time"]["value"] > 0
    # 1e12 tokens / (1024 x 4096 tokens per step) steps of step_time seconds, in days
    days = 1e12 / (1024 * 4096) * d["step_time"]["value"] / 86400
    assert abs(d["time_to_train"]["value"] / days - 1) < 1e-9


def test_train_bad_layout_exits_2_with_one_line():
    rc, out, err = run("train", "--model", "Llama3_8B", "--fleet", "Llama3_Cluster", "--tp", "3",
                       "--global-batch", "2048")
    assert rc == 2 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "tp * cp * pp = 3" in lines[0]


def test_train_offload_flag_and_bad_kind():
    rc, out, err = run("train", "--model", "Llama3_8B", "--fleet", "H100_1024", "--tp", "8", "--global-batch", "1024",
                       "--offload", "optimizer,activations", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["layout"]["offload"] == ["optimizer", "activations"]
    assert d["offload_optimizer_step_time"]["value"] > 0 and "host_memory_per_node" in d
    rc, out, err = run("train", "--model", "Llama3_8B", "--fleet", "H100_1024", "--tp", "8", "--global-batch", "1024",
                       "--offload", "optimiser")
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1 and "'optimiser'" in lines[0] and "optimizer, activations, weights" in lines[0]
