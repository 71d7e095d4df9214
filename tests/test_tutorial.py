"""docs/tutorial.md runs: its ```python blocks are executed in order, in one namespace."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.S | re.M)


def test_blocks_are_found_and_cover_the_walkthrough():
    text = TUTORIAL.read_text()
    blocks = python_blocks(text)
    assert len(blocks) >= 8
    code = "\n".join(blocks)
    for needed in ("scorecard()", ".solve_for(", "mlsysim.sweep(", "plot.", ".savefig(", "latex.export(",
                   "worked_example("):
        assert needed in code, needed


def test_tutorial_runs(tmp_path, monkeypatch, capsys):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for i, block in enumerate(python_blocks(TUTORIAL.read_text())):
        try:
            exec(compile(block, f"{TUTORIAL.name}[block {i + 1}]", "exec"), namespace)  # noqa: S102 - our own docs
        except Exception as exc:  # report which block failed
            raise AssertionError(f"tutorial block {i + 1} failed: {type(exc).__name__}: {exc}\n{block}") from exc
    out = capsys.readouterr().out
    assert "Verdict" in out and "largest batch that fits at 8k context: 64" in out
    workdir = namespace["workdir"]
    assert (workdir / "serving.png").exists() and (workdir / "roofline.png").exists()
    assert list(tmp_path.iterdir()) == []  # nothing written to the working directory


README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys):
    """The README's Python example runs as written and shows what its comments claim."""
    blocks = python_blocks(README.read_text())
    assert blocks, "README.md has no ```python block"
    namespace: dict = {"__name__": "__readme__"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md[block {i + 1}]", "exec"), namespace)  # noqa: S102 - our own docs
    out = capsys.readouterr().out
    assert "SYSTEM EVALUATION: Smart Doorbell" in out
    # comment: ~18.5 ms per token on the per-operation laws, memory-bound; its breakdown adds up to it
    r = namespace["r"]
    assert 18e-3 < r.tpot.m_as("s") < 19e-3 and r.bottleneck == "memory"
    assert abs(sum(v.m_as("s") for v in r.breakdown().values()) / r.tpot.m_as("s") - 1) < 1e-9
    # comment: ~8.5 TB/s and does not fit
    inv = namespace["inv"]
    assert 8.3 < inv.m_as("TB/s") < 8.6 and not inv.fits
