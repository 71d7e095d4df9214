"""Regenerate the repository's ``equations/`` folder: one fragment per equation set, the symbol glossary,
worked examples, closed-form inverses, the shared preamble and a standalone ``all.tex``.

``python -m mlsysim.latex --out equations/`` (or ``mlsysim.latex.export(path)``) writes every file; the
test suite regenerates into a temporary folder and fails when the committed folder is stale.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .render import (DECLARED_UNITS, DISPLAY, DisplayConfig, TeX, environment, escape_latex, render_set, slug,
                     solved_form, unit_cell, worked_breakdown, worked_example, worked_inverse)


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
    macro: tuple = ()  # name parts of the values.tex macros: \mlsExample<macro parts><Quantity>
    results: list = field(default_factory=list)  # (quantity name, computed Quantity) for values.tex
    intro_parts: list = field(default_factory=list)  # plain strings and Sources (cited), for other formats
    worked: object = None  # the WorkedExample / WorkedInverse
    used: list = field(default_factory=list)  # the Assumptions used


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
    used = [D.COMPUTE_EFFICIENCY if a.name == "compute_efficiency" else a for a in b.used
            if not isinstance(a.value, str)]  # a named format (kv_precision) shows in the knowns as bytes
    return {k: v for k, v in b.knowns.items() if k in _equations().Serving.inputs}, used, b.ctx


def _assumption_rows(used, config, bib=None):
    from .bib import cite_tex

    rows = []
    for a in used:
        v = a.value
        src = cite_tex(a.source, bib) if bib is not None else a.source.short()
        shown = v if isinstance(v, str) else config.quantity(v, given=True)  # a named format (kv_precision)
        rows.append(dict(name=a.name, value=shown, source=src))
    return rows


def _cite(source, bib) -> TeX:
    from .bib import cite_tex

    if bib is not None and bib.key_of(source):
        return cite_tex(source, bib)
    return escape_latex(f"{source.citation}, {source.year}" if source.year else source.citation)


def _results(ex):
    return [(st.name, st.value) for st in ex.steps]


def _intro_tex(parts, bib) -> TeX:
    out = TeX("")
    for p in parts:
        out = out + (escape_latex(p) if isinstance(p, str) else _cite(p, bib))
    return TeX(out)


def examples(config: DisplayConfig | None = None, bib=None) -> list[Example]:
    """The worked examples of ``examples.tex`` (numbers computed now by the equation sets).

    ``bib``: a :class:`~mlsysim.latex.bib.Bibliography` to cite the sources with ``\\cite``.
    """
    from ..core.units import Q_

    config = config or DISPLAY
    eqs = _equations()
    out = []

    def add(title, label, intro_parts, worked, used, value, macro, results):
        out.append(Example(title, label, _intro_tex(intro_parts, bib), worked.latex, worked.inputs,
                           _assumption_rows(used, config, bib), value, macro, results, list(intro_parts), worked,
                           list(used)))

    # 1. roofline, forward: the H200 reading its whole memory once
    knowns, used, h200 = roofline_inputs()
    fwd = dict(knowns, memory_bandwidth=h200.memory_bandwidth)
    ex = worked_example(eqs.Roofline, outputs=["latency"], config=config, **fwd)
    add("Roofline: one step on an H200", "ex:roofline-h200",
        [f"A step does {config.number(1.41e11)} FLOP and reads {h200.memory_capacity:~P} (the H200's whole memory) "
         f"on an H200, which computes {h200.peak_flops('bf16'):~P} in bf16 (dense) and moves "
         f"{h200.memory_bandwidth:~P} ", h200.source_of("memory_bandwidth"), "."],
        ex, used, ex.steps[-1].value, ("Roofline", "H200"), _results(ex))
    # 2. roofline, inverse: the bandwidth that meets a 20 ms latency
    inv = worked_inverse(eqs.Roofline, "memory_bandwidth", config=config, latency=Q_(20, "ms"), **knowns)
    add("Roofline inverse: bandwidth for a 20 ms step", "ex:roofline-bandwidth-for-latency",
        ["The same step must finish in 20 ms: which memory bandwidth does it need? The engine inverts the "
         "memory-bound regime and checks that the compute-bound floor stays below the target."],
        inv, used, inv.value, ("Roofline", "bandwidth", "for", "latency"), [("memory_bandwidth", inv.value)])
    # 3. serving: decode time per output token of Llama-3-70B in fp8 on one H200
    sk, sused, ctx = serving_tpot_inputs()
    ex = worked_example(eqs.Serving, outputs=["tpot"], config=config, **sk)
    add("Serving: time per output token of Llama-3-70B (fp8) on one H200", "ex:serving-tpot-llama3-70b-h200",
        [f"One decode step of {ctx['model_name']} at a context of {ctx['seq_len_repr']} tokens, batch "
         f"{ctx['batch_size_repr']}, {ctx['precision']} weights and KV cache, on one {ctx['hardware_name']} "
         "(knowns bound by ServingSolver from the Models and Hardware registries)."],
        ex, sused, ex.steps[-1].value, ("Serving", "H200"), _results(ex))
    # 4. training: where the time of one Llama-3-405B step goes (the per-operation model, Meta's layout)
    from ..systems.applications import LLAMA3_PAPER

    tk, tused, sc = training_breakdown_inputs()
    # the calibrated laws' parameters are listed with their fits in docs/fidelity.md; named here by count
    fitted = [a for a in tused if a.source.kind == "fit"]
    tused = [a for a in tused if a.source.kind != "fit"]
    ex = worked_breakdown(eqs.TrainingStep, "step_time", config=config, **tk)
    lay = sc.layout
    add("Training: where one step of Llama-3-405B goes on 16,384 H100", "ex:training-breakdown-llama3-405b",
        [f"One optimizer step of {sc.model.name} on {sc.fleet.num_devices:,} {sc.fleet.hardware.name} "
         f"with Meta's layout, TP {lay['tp']}, CP {lay['cp']}, PP {lay['pp']} over uneven stages, DP {lay['dp']}, "
         f"{lay['global_batch']:,} sequences of {lay['seq_len']:,} tokens ", LLAMA3_PAPER,
         f"; the Frontier scenario assumes what Meta does not publish: micro-batch {lay['micro_batch_size']}, "
         f"interleave {lay['pipeline_interleave']}, {lay['recompute']} recomputation. "
         "The knowns are bound by DistributedSolver from the registries; every GEMM, kernel and collective runs on "
         "its calibrated efficiency law, and the parts add up to the step time. The laws rest on "
         f"{len(fitted)} fitted parameters of the {sc.fleet.hardware.name} ({', '.join(a.name for a in fitted)}), "
         "fitted to Vidur's kernel and collective measurements by python -m mlsysim.calibration.fit "
         "(docs/fidelity.md lists each fit and its error)."],
        ex, tused, ex.steps[-1].value, ("Training", "Breakdown", "Frontier"),
        _results(ex))
    return out


def training_breakdown_inputs():
    """Knowns of one Llama-3-405B training step with the Frontier scenario's layout (per-operation model),
    the assumptions they rest on, and the scenario."""
    from ..solvers import DistributedSolver
    from ..systems.applications import Applications

    sc = Applications.Frontier
    b = DistributedSolver().bind(model=sc.model, fleet=sc.fleet, precision=sc.precision, **sc.layout)
    return ({k: v for k, v in b.knowns.items() if k in _equations().TrainingStep.inputs}, list(b.assumptions.values()),
            sc)


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

def _symbols_rows(set_names=None):
    from ..core.variables import VARIABLES

    eqs = _equations()
    used_in: dict = {}
    for name in (set_names if set_names is not None else list(eqs)):
        for v in eqs[name].variables:
            used_in.setdefault(v, []).append(name)
    rows = []
    # the glossary lists the variables of the registered sets (not ad-hoc variables a session defined)
    for name in sorted(used_in, key=str.lower):
        v = VARIABLES[name]
        rows.append(dict(symbol=TeX(v.latex), name=name, description=v.description, unit=unit_cell(v),
                         sets=", ".join(used_in.get(name, [])) or "--"))
    return rows


#: output formats of :func:`render_files`
FORMATS = ("tex", "qmd", "both")


class _Recorder:
    """A Bibliography wrapper recording the keys the generated files cite (for ``references.bib``)."""

    def __init__(self, bib):
        self.bib = bib
        self.cited: set = set()

    def key_of(self, source):
        key = self.bib.key_of(source)
        if key is not None:
            self.cited.add(key)
        return key


def render_files(config: DisplayConfig | None = None, *, fmt: str = "tex", inline_sources: bool = False,
                 chapter: str | None = None) -> dict[str, str]:
    """``{file name: text}`` of every generated file.

    Parameters
    ----------
    config : DisplayConfig, optional
        Number formatting of the worked examples.
    fmt : str
        ``"tex"`` (the ``equations/`` folder), ``"qmd"`` (one Quarto page per set) or ``"both"``.
    inline_sources : bool
        Print citations inline (the form before ``references.bib``) instead of ``\\cite``/``[@key]``.
    chapter : str, optional
        A chapter of :data:`~mlsysim.latex.chapters.CHAPTERS`: only its sets, examples, inverse questions and
        symbols, plus a ``README.md``.
    """
    from .. import __version__
    from .bib import Bibliography, cite_tex
    from .chapters import chapter as get_chapter
    from .qmd import LUA_FILTER, render_examples_qmd, render_inverses_qmd, render_set_qmd
    from .render import MATHJAX_DISPLAY
    from .values import example_values, registry_values, render_values

    if fmt not in FORMATS:
        from ..core.errors import DomainError

        raise DomainError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    env = environment()
    eqs = _equations()
    ch = get_chapter(chapter) if chapter is not None else None
    set_names = list(ch.sets) if ch is not None else list(eqs)
    for n in set_names:
        eqs[n]  # an unknown set name in the chapter map raises UnknownNameError here
    bib = None if inline_sources else _Recorder(Bibliography.of_everything())
    files: dict[str, str] = {}
    if fmt in ("tex", "both"):
        files["preamble.tex"] = env.get_template("preamble.tex.j2").render(
            units=[(TeX(m), TeX(s)) for m, s in DECLARED_UNITS.items()])
        sets = []
        for name in set_names:
            files[f"{slug(name)}.tex"] = render_set(eqs[name], bib)
            sets.append(dict(name=name, slug=TeX(slug(name))))
        files["symbols.tex"] = env.get_template("symbols.tex.j2").render(symbols=_symbols_rows(set_names))
        exs = examples(config, bib)
        qs = inverse_questions()
        if ch is not None:
            exs = [e for e in exs if e.label in ch.examples]
            qs = [q for q in qs if q.label in ch.inverses]
        files["examples.tex"] = env.get_template("examples.tex.j2").render(examples=exs, config=config or DISPLAY)
        files["inverses.tex"] = env.get_template("inverses.tex.j2").render(questions=qs)

        def cite(source):
            return cite_tex(source, bib)

        files["values.tex"] = render_values(registry_values(cite) + example_values(exs))
        files["all.tex"] = env.get_template("all.tex.j2").render(sets=sets, version=__version__,
                                                                 bibliography=bib is not None)
    if fmt in ("qmd", "both"):
        for name in set_names:
            files[f"{slug(name)}.qmd"] = render_set_qmd(eqs[name], bib)
        mexs = examples(MATHJAX_DISPLAY)
        mqs = inverse_questions()
        if ch is not None:
            mexs = [e for e in mexs if e.label in ch.examples]
            mqs = [q for q in mqs if q.label in ch.inverses]
        if mexs:
            files["examples.qmd"] = render_examples_qmd(mexs, MATHJAX_DISPLAY, bib)
        if mqs:
            files["inverses.qmd"] = render_inverses_qmd(mqs)
        files[LUA_FILTER.name] = LUA_FILTER.read_text(encoding="utf-8")
    if bib is not None:
        files["references.bib"] = bib.bib.bibtex(keys=bib.cited)
    if ch is not None:
        files["README.md"] = _chapter_readme(chapter, ch, files, fmt, bib is not None,
                                             {slug(n): n for n in set_names})
    return files


def _chapter_readme(name, ch, files, fmt, with_bib, set_of_stem) -> str:
    lines = [f"# mlsysim bundle for the chapter `{name}`: {ch.title}", "",
             (f"Generated by `python -m mlsysim latex --chapter {name} --format {fmt} --out DIR`; do not edit "
              "by hand (regenerate instead)."), "", "## Files", ""]
    what = {"preamble.tex": "packages and siunitx units the fragments need",
            "values.tex": "one macro per registry value and worked-example result (docs/latex.md)",
            "symbols.tex": "symbol table of this chapter's equation sets",
            "examples.tex": "worked examples (numbers computed by mlsysim)",
            "inverses.tex": "closed-form inverse questions",
            "all.tex": "a standalone document of this bundle (pdflatex, bibtex, pdflatex twice)",
            "references.bib": "the works this bundle cites (one entry per work)",
            "quarto-equations.lua": "pandoc filter: Quarto's equation labels for previews with plain pandoc",
            "examples.qmd": "worked examples (Quarto page, numbers computed by mlsysim)",
            "inverses.qmd": "closed-form inverse questions (Quarto page)"}
    for f in sorted(files):
        stem = f.rsplit(".", 1)[0]
        desc = what.get(f) or (f"equation set `Equations.{set_of_stem.get(stem, stem)}`"
                               + (" (Quarto page)" if f.endswith(".qmd") else " (LaTeX fragment)"))
        if f != "README.md":
            lines.append(f"- `{f}`: {desc}")
    if fmt in ("tex", "both"):
        lines += ["", "## LaTeX: lines to paste", "", ("In the preamble (after the book's own packages; needs "
                                                       "amsmath, siunitx >= 3, longtable, array):"), "", "```latex",
                  r"\input{preamble}",
                  r"\input{values}", "```", "", "In the chapter:", "", "```latex"]
        lines += [rf"\input{{{f[:-4]}}}" for f in files
                  if f.endswith(".tex") and f not in ("preamble.tex", "values.tex", "all.tex")]
        lines += ["```"]
        if with_bib:
            lines += ["", ("Add `references.bib` to the book's bibliography (`\\bibliography{...,references}`); "
                           "the fragments cite with `\\cite[locator]{key}`.")]
    if fmt in ("qmd", "both"):
        lines += ["", "## Quarto", "", ("List the `.qmd` pages in `_quarto.yml` (or include them with "
                                        "`{{< include file.qmd >}}`) and add `references.bib` to `bibliography:`. "
                                        "Equations are labelled `#eq-<set>-<key>`; cite them as `@eq-<set>-<key>`.")]
    return "\n".join(lines) + "\n"


def export(out_dir, config: DisplayConfig | None = None, *, fmt: str = "tex", inline_sources: bool = False,
           chapter: str | None = None) -> list[Path]:
    """Write every generated file into ``out_dir`` (created if needed); return the paths written.

    Parameters
    ----------
    out_dir : str or Path
        Target folder (the repository's ``equations/``).
    config : DisplayConfig, optional
        Number formatting of the worked examples; default :data:`~mlsysim.latex.render.DISPLAY`.
    fmt, inline_sources, chapter
        As for :func:`render_files`.
    """
    out = Path(out_dir)
    files = render_files(config, fmt=fmt, inline_sources=inline_sources, chapter=chapter)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        p = out / name
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths
