"""Regenerate the repository's ``equations/`` folder: one fragment per equation set, the symbol glossary,
worked examples, closed-form inverses, the shared preamble and a standalone ``all.tex``.

``python -m mlsysim.latex --out equations/`` (or ``mlsysim.latex.export(path)``) writes every file; the
test suite regenerates into a temporary folder and fails when the committed folder is stale.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .render import (DECLARED_UNITS, DISPLAY, DisplayConfig, TeX, environment, render_set, slug, solved_form,
                     unit_cell, worked_example, worked_inverse)


def _equations():
    from ..core.equation_sets import Equations

    return Equations


@dataclass
class Example:
    """One entry of ``examples.tex``."""

    title: str
    label: str
    intro: str
    body: TeX
    inputs: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)
    value: object = None  # the headline computed Quantity


@dataclass
class InverseQuestion:
    """One entry of ``inverses.tex``: a named inverse question and its solved form."""

    title: str
    label: str
    intro: str
    form: object


# ---------------------------------------------------------------------------- the textbook's examples

def roofline_inputs():
    """Roofline example inputs: one 141 GB read and 1.41e11 FLOP on an H200 (bf16 dense peak, datasheet).

    Returns ``(knowns, assumptions)``; efficiency and overhead are the solvers' named default assumptions.
    """
    from .. import Hardware
    from ..core import defaults as D
    from ..core.units import Q_

    h200 = Hardware.H200
    knowns = dict(flops=Q_(1.41e11, "FLOP"), bytes_moved=h200.memory_capacity, peak_flops=h200.peak_flops("bf16"),
                  compute_efficiency=D.COMPUTE_EFFICIENCY.value, overhead=D.OVERHEAD.value)
    return knowns, [D.COMPUTE_EFFICIENCY, D.OVERHEAD], h200


def serving_tpot_inputs(seq_len: int = 2048):
    """Knowns of the Llama-3-70B fp8 decode step on one H200, bound by :class:`ServingSolver` (batch 1)."""
    from ..core import defaults as D
    from ..solvers import ServingSolver

    # the flat roofline of Equations.Serving (compute_efficiency given selects it; the default is per operation)
    b = ServingSolver().bind(model="Llama3_70B", hardware="H200", precision="fp8", seq_len=seq_len, batch_size=1,
                             compute_efficiency=D.COMPUTE_EFFICIENCY.value)
    used = [D.COMPUTE_EFFICIENCY if a.name == "compute_efficiency" else a for a in b.used]
    return {k: v for k, v in b.knowns.items() if k in _equations().Serving.inputs}, used, b.ctx


def _assumption_rows(used, config):
    rows = []
    for a in used:
        v = a.value
        shown = v if isinstance(v, str) else config.quantity(v, given=True)  # a named format (kv_precision)
        rows.append(dict(name=a.name, value=shown, source=a.source.short()))
    return rows


def examples(config: DisplayConfig | None = None) -> list[Example]:
    """The worked examples of ``examples.tex`` (numbers computed now by the equation sets)."""
    from ..core.units import Q_

    config = config or DISPLAY
    eqs = _equations()
    out = []
    # 1. roofline, forward: the H200 reading its whole memory once
    knowns, used, h200 = roofline_inputs()
    fwd = dict(knowns, memory_bandwidth=h200.memory_bandwidth)
    ex = worked_example(eqs.Roofline, outputs=["latency"], config=config, **fwd)
    out.append(Example(
        "Roofline: one step on an H200", "ex:roofline-h200",
        f"A step does {config.number(1.41e11)} FLOP and reads {h200.memory_capacity:~P} (the H200's whole memory) "
        f"on an H200 ({h200.peak_flops('bf16'):~P} bf16 dense, {h200.memory_bandwidth:~P}; NVIDIA H200 datasheet, "
        "2023).", ex.latex, ex.inputs, _assumption_rows(used, config), ex.steps[-1].value))
    # 2. roofline, inverse: the bandwidth that meets a 20 ms latency
    inv = worked_inverse(eqs.Roofline, "memory_bandwidth", config=config, latency=Q_(20, "ms"), **knowns)
    out.append(Example(
        "Roofline inverse: bandwidth for a 20 ms step", "ex:roofline-bandwidth-for-latency",
        "The same step must finish in 20 ms: which memory bandwidth does it need? The engine inverts the "
        "memory-bound regime and checks that the compute-bound floor stays below the target.",
        inv.latex, inv.inputs, _assumption_rows(used, config), inv.value))
    # 3. serving: decode time per output token of Llama-3-70B in fp8 on one H200
    sk, sused, ctx = serving_tpot_inputs()
    ex = worked_example(eqs.Serving, outputs=["tpot"], config=config, **sk)
    out.append(Example(
        "Serving: time per output token of Llama-3-70B (fp8) on one H200", "ex:serving-tpot-llama3-70b-h200",
        f"One decode step of {ctx['model_name']} at a context of {ctx['seq_len_repr']} tokens, batch "
        f"{ctx['batch_size_repr']}, {ctx['precision']} weights and KV cache, on one {ctx['hardware_name']} "
        "(knowns bound by ServingSolver from the Models and Hardware registries).",
        ex.latex, ex.inputs, _assumption_rows(sused, config), ex.steps[-1].value))
    return out


def inverse_questions() -> list[InverseQuestion]:
    """The named inverse questions of ``inverses.tex``, as closed forms with their regime conditions."""
    eqs = _equations()
    qs = [
        InverseQuestion(
            "Roofline: memory bandwidth for a latency", "eq:inverse-roofline-bandwidth-for-latency",
            "The bandwidth a step needs to finish in a given time:",
            solved_form(eqs.Roofline, "memory_bandwidth", "latency",
                        given=["flops", "bytes_moved", "peak_flops", "compute_efficiency", "overhead"])),
        InverseQuestion(
            "Serving: memory bandwidth for a time per output token", "eq:inverse-serving-bandwidth-for-tpot",
            "The bandwidth a decode step needs to meet a time-per-output-token target:",
            solved_form(eqs.Serving, "memory_bandwidth", "tpot",
                        given=["decode_flops", "decode_bytes", "decode_overhead", "peak_flops", "compute_efficiency"])),
        InverseQuestion(
            "Carbon: grid carbon intensity for a carbon budget", "eq:inverse-carbon-intensity-for-budget",
            "The grid carbon intensity at which a job's total emissions (operational plus embodied share) "
            "meet a budget:",
            solved_form(eqs.Carbon, "carbon_intensity", "total_carbon", given=["energy", "embodied_share"])),
    ]
    return qs


# ---------------------------------------------------------------------------- files

def _symbols_rows():
    from ..core.variables import VARIABLES

    eqs = _equations()
    used_in: dict = {}
    for name in eqs:
        for v in eqs[name].variables:
            used_in.setdefault(v, []).append(name)
    rows = []
    # the glossary lists the variables of the registered sets (not ad-hoc variables a session defined)
    for name in sorted(used_in, key=str.lower):
        v = VARIABLES[name]
        rows.append(dict(symbol=TeX(v.latex), name=name, description=v.description, unit=unit_cell(v),
                         sets=", ".join(used_in.get(name, [])) or "--"))
    return rows


def render_files(config: DisplayConfig | None = None) -> dict[str, str]:
    """``{file name: text}`` of every file of the ``equations/`` folder."""
    from .. import __version__

    env = environment()
    eqs = _equations()
    files: dict[str, str] = {}
    files["preamble.tex"] = env.get_template("preamble.tex.j2").render(
        units=[(TeX(m), TeX(s)) for m, s in DECLARED_UNITS.items()])
    sets = []
    for name in eqs:
        s = eqs[name]
        files[f"{slug(name)}.tex"] = render_set(s)
        sets.append(dict(name=name, slug=TeX(slug(name))))
    files["symbols.tex"] = env.get_template("symbols.tex.j2").render(symbols=_symbols_rows())
    files["examples.tex"] = env.get_template("examples.tex.j2").render(examples=examples(config),
                                                                       config=config or DISPLAY)
    files["inverses.tex"] = env.get_template("inverses.tex.j2").render(questions=inverse_questions())
    files["all.tex"] = env.get_template("all.tex.j2").render(sets=sets, version=__version__)
    return files


def export(out_dir, config: DisplayConfig | None = None) -> list[Path]:
    """Write every fragment into ``out_dir`` (created if needed); return the paths written.

    Parameters
    ----------
    out_dir : str or Path
        Target folder (the repository's ``equations/``).
    config : DisplayConfig, optional
        Number formatting of the worked examples; default :data:`~mlsysim.latex.render.DISPLAY`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_files(config).items():
        p = out / name
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths
