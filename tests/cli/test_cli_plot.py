"""``mlsysim plot ...``: figures written to files; bad input is one line ``mlsysim: error: ...``, exit 2."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

from mlsysim.cli import main  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def run(capsys, *args):
    """``(status, stdout, stderr)`` of the CLI run in-process (argparse exits become the status)."""
    try:
        rc = main(list(args))
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def assert_usage_error(rc, out, err, *words):
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("mlsysim: error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_plot_roofline_png_subprocess(tmp_path):
    out = tmp_path / "roofline.png"
    p = subprocess.run([sys.executable, "-m", "mlsysim", "plot", "roofline", "--hardware", "H100", "--model",
                        "Llama3_70B", "--out", str(out)], capture_output=True, text=True, timeout=120,
                       env={"MPLBACKEND": "Agg", **__import__("os").environ})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"wrote {out}"
    assert out.read_bytes()[:8] == PNG


def test_plot_roofline_json_and_several_models(capsys, tmp_path):
    out = tmp_path / "r.png"
    rc, stdout, err = run(capsys, "plot", "roofline", "--hardware", "H100", "--model", "Llama3_70B", "--model",
                          "ResNet50", "--batch-sizes", "1,8", "--out", str(out), "--json")
    assert rc == 0, err
    d = json.loads(stdout)
    assert d == {"out": str(out), "plot": "roofline", "hardware": "H100", "models": ["Llama3_70B", "ResNet50"],
                 "precision": "fp16", "batch_sizes": [1, 8]}
    assert out.read_bytes()[:8] == PNG


def test_plot_serving_svg_and_carbon_pdf(capsys, tmp_path):
    svg = tmp_path / "s.svg"
    rc, stdout, err = run(capsys, "plot", "serving", "--model", "Llama3_8B", "--hardware", "H100", "--seq-lens",
                          "1024,8192", "--batch-sizes", "1,64", "--out", str(svg))
    assert rc == 0, err
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    pdf = tmp_path / "c.pdf"
    rc, stdout, err = run(capsys, "plot", "carbon", "--hardware", "H100", "--num-devices", "8", "--duration", "30day",
                          "--regions", "Quebec,Poland", "--out", str(pdf), "--json")
    assert rc == 0, err
    assert json.loads(stdout)["regions"] == ["Quebec", "Poland"]
    assert pdf.read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("args, words", [
    (["plot"], ["PLOT"]),
    (["plot", "roofline"], ["--hardware"]),
    (["plot", "roofline", "--hardware", "H10"], ["H10", "H100"]),
    (["plot", "roofline", "--hardware", "H100", "--model", "Llama3_70X"], ["Llama3_70X", "Llama3_70B"]),
    (["plot", "roofline", "--hardware", "H100", "--batch-sizes", "1,x"], ["--batch-sizes", "'x'"]),
    (["plot", "roofline", "--hardware", "H100", "--precision", "fp7"], ["fp7"]),
    (["plot", "roofline", "--hardware", "H100", "--out", "fig.txt"], [".png", "fig.txt"]),
    (["plot", "roofline", "--hardware", "H100", "--out", "/no/such/folder/fig.png"], ["does not exist"]),
    (["plot", "roofline", "--hardware", "H100", "--dpi", "0"], ["--dpi"]),
    (["plot", "serving", "--model", "Llama3_8B", "--hardware", "H100", "--seq-lens", "0"], ["--seq-lens", "'0'"]),
    (["plot", "serving", "--model", "ResNet50", "--hardware", "H100"], ["ResNet"]),
    (["plot", "carbon", "--hardware", "H100", "--regions", "Quebec"], ["--duration"]),
    (["plot", "carbon", "--hardware", "H100", "--duration", "30day", "--regions", "Atlantis"], ["Atlantis"]),
    (["plot", "carbon", "--hardware", "H100", "--duration", "30kg", "--regions", "Quebec"], ["duration"]),
    (["plot", "carbon", "--hardware", "H100", "--duration", "1day", "--regions", "Quebec", "--metric", "co2"],
     ["--metric"]),
])
def test_plot_bad_input_is_one_line(capsys, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(capsys, *args)
    assert_usage_error(rc, out, err, *words)


def test_plot_without_matplotlib(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    rc, out, err = run(capsys, "plot", "roofline", "--hardware", "H100", "--out", str(tmp_path / "x.png"))
    assert_usage_error(rc, out, err, "matplotlib", "mlsysim[plot]")


def test_plot_help(capsys):
    for sub in ([], ["roofline"], ["serving"], ["carbon"]):
        rc, out, err = run(capsys, "plot", *sub, "--help")
        assert rc == 0 and "usage: mlsysim plot" in out
