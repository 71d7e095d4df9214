"""Quarto/markdown export: one ``.qmd`` per equation set, for the book's HTML edition.

Each file has a YAML header (title, ``bibliography: references.bib``), the set's equations as display math
with Quarto cross-reference labels (``$$ ... $$ {#eq-<set>-<key>}``), the symbol table as a pipe table, and
the sources as pandoc citations (``[@williams2009roofline, Eq. 1, Fig. 1]``) into the same
``references.bib`` as the LaTeX fragments. Quarto renders them with MathJax; plain pandoc renders them too,
and :data:`LUA_FILTER` (``quarto-equations.lua``, written next to the files) gives plain pandoc Quarto's
equation numbers and ``@eq-...`` references.
"""
from __future__ import annotations

import re
from pathlib import Path

from .bib import NOTE_KINDS
from .render import TEMPLATE_DIR, VARIABLES, TeX, set_view

#: characters backslash-escaped in markdown text (pandoc accepts a backslash before any ASCII punctuation)
_MD_SPECIAL = set("\\`*_[]<>#|@$~^")

_ENV = None


def escape_markdown(text) -> TeX:
    """Escape markdown's special characters in a plain string (a :class:`TeX` value passes unchanged)."""
    if isinstance(text, TeX):
        return text
    return TeX("".join("\\" + c if c in _MD_SPECIAL else c for c in str(text)).replace("\n", " "))


def _finalize(value):
    if isinstance(value, TeX):
        return value
    if value is None:
        return ""
    return escape_markdown(value)


def markdown_environment():
    """A jinja2 environment for the ``.qmd`` templates: same delimiters as the LaTeX ones, markdown escaping."""
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
            block_start_string=r"\BLOCK{", block_end_string="}",
            variable_start_string=r"\VAR{", variable_end_string="}",
            comment_start_string=r"\#{", comment_end_string="}",
            trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined, finalize=_finalize)
        _ENV.filters["tex"] = lambda s: TeX(s)
    return _ENV


def qmd_label(tex_label: str) -> str:
    """Quarto's label of an equation: ``eq:roofline-latency`` -> ``eq-roofline-latency``."""
    return "eq-" + re.sub(r"[^A-Za-z0-9_-]", "-", tex_label.split(":", 1)[-1])


def cite_markdown(source, bib) -> TeX:
    """``[@key, locator]`` for a Source citing a work in ``bib``; else its text (derived, assumption)."""
    key = bib.key_of(source) if bib is not None else None
    if key is None:
        s = source.citation + (f", {source.year}" if source.year else "") + (
            f"; {source.locator}" if source.locator else "")
        if source.kind in NOTE_KINDS:
            s += f" ({source.kind}: {source.note})"
        return escape_markdown(s)
    flag = " (secondary source)" if source.kind == "secondary" else ""
    if not source.locator:
        return TeX(f"[@{key}]{flag}")
    # in a citation's locator/suffix, ';' would start a new citation and brackets would end it
    loc = "".join("\\" + c if c in "[];@\\" else c for c in source.locator)
    return TeX(f"[@{key}, {loc}]{flag}")


def _unit_text(var) -> str:
    u = var.pint_unit
    return f"{u:~P}" if u._units else "--"


def render_set_qmd(eqset, bib, bibliography: str = "references.bib") -> str:
    """The ``.qmd`` page of one equation set."""
    view = set_view(eqset, None)
    for eq in view.equations:
        eq["qlabel"] = TeX(qmd_label(eq["label"]))
    sources = list(dict.fromkeys(e.source for e in eqset.equations.values()))
    for src, row in zip(sources, view.sources):
        row["cite"] = cite_markdown(src, bib)
    for s in view.symbols:
        s["unit"] = _unit_text(VARIABLES[s["name"]])
        s["source"] = TeX(f"@{qmd_label(s['label'])} \\[{s['source_number']}\\]") if s["label"] else "input"
    return markdown_environment().get_template("set.qmd.j2").render(
        set=view, bibliography=bibliography if bib is not None else None)


#: a pandoc Lua filter giving plain pandoc Quarto's equation labels: ``$$ x $$ {#eq-a}`` becomes a numbered
#: equation with id ``eq-a``, and ``@eq-a`` a link "Eq. (n)". Quarto does this itself; the filter is for
#: previews and the CI rendering check with plain pandoc.
LUA_FILTER = (Path(__file__).with_name("templates") / "quarto-equations.lua")


# ------------------------------------------------------------------------------ worked examples and inverses

def _md_intro(parts, bib) -> str:
    return "".join(str(escape_markdown(p)) if isinstance(p, str) else str(cite_markdown(p, bib)) for p in parts)


def _aligned(rows) -> str:
    return "$$\n\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}\n$$"


def _example_body(worked) -> tuple[str, list]:
    """The display math of a worked example or inverse (MathJax-friendly) and the equation labels it uses."""
    if hasattr(worked, "steps"):
        rows, labels = [], []
        for st in worked.steps:
            regime = rf" \quad \text{{({st.regime}-bound)}}" if st.regime else ""
            rows += [f"{st.lhs} &= {st.formula}", f"&= {st.substituted}", f"&= {st.result}{regime}"]
            labels.append(qmd_label(st.label))
        body = _aligned(rows)
        if getattr(worked, "shares", None):  # a breakdown: its parts, largest first
            body += "\n\n| part | what | time | share |\n|---|---|---:|---:|\n" + "\n".join(
                f"| ${sym}$ | {escape_markdown(VARIABLES[n].description)} | ${val}$ | {100 * f:.1f} % |"
                for n, sym, val, f in worked.shares)
        return body, labels
    from .render import VARIABLES as _V

    lhs = _V[worked.form.unknown].latex
    regime = rf" \quad \text{{({worked.row.regime}-bound)}}" if worked.row.regime else ""
    rows = [f"{lhs} &= {worked.row.latex}{regime}", f"&= {worked.substituted}", f"&= {worked.result}"]
    for cond, numbers, holds in worked.checks:
        rows.append(rf"&\text{{condition }} {cond}: \quad {numbers} \quad \text{{{'holds' if holds else 'fails'}}}")
    return _aligned(rows), []


def render_examples_qmd(exs, config, bib, bibliography: str = "references.bib") -> str:
    """``examples.qmd``: the worked examples, numbers as computed, in MathJax-friendly math."""
    out = ["---", 'title: "Worked examples"'] + ([f"bibliography: {bibliography}"] if bib is not None else []) + [
        "---", "",
           "<!-- Generated by mlsysim.latex: worked examples evaluated by mlsysim. Do not edit by hand:",
           "     regenerate with `python -m mlsysim latex --format qmd --out DIR`. -->", "",
           f"Every printed result is the number mlsysim computed (significant digits: {config.sig_digits}).", ""]
    for ex in exs:
        out += [f"## {escape_markdown(ex.title)} {{#sec-{ex.label.replace(':', '-')}}}", "",
                _md_intro(ex.intro_parts, bib), ""]
        w = ex.worked
        if w.inputs:
            out += ["**Inputs:** " + ", ".join(f"${sym} = {val}$" for _n, sym, val in w.inputs) + ".", ""]
        if ex.used:
            out += ["**Assumptions:** " + "; ".join(
                f"`{a.name}` $= {config.quantity(a.value, given=True)}$ ({cite_markdown(a.source, bib)})"
                for a in ex.used) + ".", ""]
        body, labels = _example_body(w)
        out += [body, ""]
        if labels:
            out += ["Equations: " + ", ".join(f"@{lab}" for lab in dict.fromkeys(labels)) + ".", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def render_inverses_qmd(questions) -> str:
    """``inverses.qmd``: the closed-form inverse questions (``cases`` with their regime conditions)."""
    out = ["---", 'title: "Inverse questions"', "---", "",
           "<!-- Generated by mlsysim.latex: closed-form inverses derived by mlsysim's engine (sympy). Do not",
           "     edit by hand: regenerate with `python -m mlsysim latex --format qmd --out DIR`. -->", ""]
    for q in questions:
        out += [f"## {escape_markdown(q.title)}", "", str(escape_markdown(q.intro)), "",
                f"$$\n{q.form.latex}\n$$ {{#{qmd_label(q.label)}}}", ""]
    return "\n".join(out).rstrip("\n") + "\n"
