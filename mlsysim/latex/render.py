"""Render equation sets to LaTeX: fragments, symbol tables, worked examples and solved forms.

Everything printed comes from the engine: the symbolic forms from :class:`~mlsysim.core.equations.Equation`
(``latex()``, the author's ``display``) and from the engine's own inverse plans; the numbers from
:meth:`EquationSet.evaluate` / :meth:`EquationSet.solve`. Nothing here retypes a relation.

Templates are jinja2 with LaTeX-safe delimiters (``\\VAR{...}``, ``\\BLOCK{...}``, comments ``\\#{...}``),
``StrictUndefined``, and a ``finalize`` hook that escapes plain strings (model names, citations) while
passing trusted LaTeX (:class:`TeX`) through untouched.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ..core.errors import DomainError, MlsysimError, UnknownVariableError
from ..core.units import Q_, unit as _unit, ureg
from ..core.variables import VARIABLES

TEMPLATE_DIR = Path(__file__).with_name("templates")


# --------------------------------------------------------------------------- trusted LaTeX and escaping

class TeX(str):
    """A string of trusted LaTeX (from sympy, a Var symbol, or this module): never escaped."""

    __slots__ = ()

    def __add__(self, other):
        if isinstance(other, TeX):
            return TeX(str.__add__(self, other))
        return str.__add__(self, other)


_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # a few non-ASCII characters that pdflatex's default utf8 input cannot typeset in text
    "\u00d7": r"\ensuremath{\times}",
    "\u2264": r"\ensuremath{\leq}",
    "\u2265": r"\ensuremath{\geq}",
    "\u2248": r"\ensuremath{\approx}",
    "\u00b5": r"\ensuremath{\mu}",
    "\u03bc": r"\ensuremath{\mu}",
    "\u03b7": r"\ensuremath{\eta}",
    "\u03b1": r"\ensuremath{\alpha}",
    "\u2192": r"\ensuremath{\to}",
}


def escape_latex(text) -> TeX:
    """Escape ``\\ & % $ # _ { } ~ ^`` (and a few non-ASCII symbols) in a plain string for LaTeX text mode.

    A :class:`TeX` value is returned unchanged (it is already LaTeX).
    """
    if isinstance(text, TeX):
        return text
    s = str(text)
    return TeX("".join(_ESCAPES.get(c, c) for c in s))


def breakable(text) -> TeX:
    """Escape ``text`` and allow line breaks after ``/`` and ``.`` (URLs, DOIs in ``\\texttt``)."""
    return TeX(escape_latex(text).replace("/", r"/\allowbreak{}").replace(".", r".\allowbreak{}"))


def _finalize(value):
    if isinstance(value, TeX):
        return value
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return escape_latex(repr(value) if isinstance(value, float) else str(value))
    return escape_latex(value)


_ENV = None


def environment():
    """The jinja2 environment for LaTeX templates (built once; jinja2 is imported on first use)."""
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
            block_start_string=r"\BLOCK{", block_end_string="}",
            variable_start_string=r"\VAR{", variable_end_string="}",
            comment_start_string=r"\#{", comment_end_string="}",
            line_statement_prefix=None, line_comment_prefix=None,
            trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined, finalize=_finalize)
        _ENV.filters["tex"] = lambda s: TeX(s)  # mark template-built LaTeX as trusted
        _ENV.filters["escape_tex"] = escape_latex
        _ENV.filters["breakable"] = breakable
    return _ENV


# --------------------------------------------------------------------------- display configuration

@dataclass(frozen=True)
class DisplayConfig:
    """How numbers are printed in worked examples (one object; pass another to change every number).

    Parameters
    ----------
    sig_digits : int
        Significant digits of every printed number [1].
    exact_integer_below : float
        Whole numbers smaller than this in magnitude are printed exactly (layer counts, token counts) [1].
    compact : bool
        Choose an SI prefix so that the magnitude lies in [1, 1000) (``29.38 ms`` rather than ``0.02938 s``);
        quantities given as inputs keep the unit they were given in.
    """

    sig_digits: int = 4
    exact_integer_below: float = 1e7
    compact: bool = True

    def number(self, x) -> str:
        """siunitx number text of ``x`` (``"1.41e11"``, ``"8192"``, ``"0.7"``)."""
        try:
            x = float(x)
        except (TypeError, ValueError):
            raise DomainError(f"worked examples print scalar numbers; got {x!r}") from None
        if not math.isfinite(x):
            raise DomainError(f"worked examples print finite numbers; got {x!r}")
        if x == round(x) and abs(x) < self.exact_integer_below:
            return str(int(round(x)))
        s = f"{x:.{self.sig_digits}g}"
        if "e" in s:
            mant, exp = s.split("e")
            s = f"{mant}e{int(exp)}"
        return s

    def display_quantity(self, q, given: bool = False):
        """The Quantity in the unit it is printed in (inputs keep theirs; derived values get a prefix)."""
        if not hasattr(q, "units"):
            return Q_(float(q), "")
        m = q.magnitude
        if np.ndim(m) != 0:
            raise DomainError("worked examples need scalar inputs; got an array quantity "
                              f"of shape {np.shape(m)} in {q.units:~P}")
        q = Q_(float(m), q.units)
        if given or not self.compact or q.magnitude == 0 or not math.isfinite(q.magnitude):
            return q
        if q.dimensionless:
            return q.to("")
        if q.check("[currency]"):
            return q  # money keeps its unit (no "kUSD")
        if q.check("[time]"):
            secs = q.m_as("s")
            if secs >= 2 * 86400:
                return q.to("day")
            if secs >= 2 * 3600:
                return q.to("h")
            if secs >= 1:
                return q.to("s")
            return q.to("s").to_compact()
        if q.check("[mass]*[length]**2/[time]**2"):  # energy: kWh, MWh, GWh (NOMENCLATURE.md)
            kwh = q.m_as("kWh") * (1 + 1e-12)  # 3.6e9 J is 1 MWh, not 999.9999 kWh
            if abs(kwh) >= 1e6:
                return q.to("GWh")
            if abs(kwh) >= 1e3:
                return q.to("MWh")
            if abs(kwh) >= 1:
                return q.to("kWh")
            return q.to("J").to_compact()
        if q.check("[mass]"):
            if abs(q.m_as("kg")) >= 1e3:
                return q.to("t").to_compact()
            return q.to("g").to_compact()
        try:
            return q.to_compact()
        except Exception:  # pint cannot compact every compound unit
            return q

    def quantity(self, q, given: bool = False) -> TeX:
        """``\\SI{29.38}{\\milli\\second}`` (or ``\\num{80}`` for plain numbers)."""
        d = self.display_quantity(q, given)
        num = self.number(d.magnitude)
        if d.dimensionless and not d.units._units:
            return TeX(rf"\num{{{num}}}")
        if d.dimensionless:  # e.g. percent
            return TeX(rf"\SI{{{num}}}{{{si_unit(d.units)}}}")
        return TeX(rf"\SI{{{num}}}{{{si_unit(d.units)}}}")


#: The display configuration every worked example uses unless another is passed.
DISPLAY = DisplayConfig()


@dataclass(frozen=True)
class MathJaxDisplayConfig(DisplayConfig):
    """The same numbers as :class:`DisplayConfig`, in plain TeX math that MathJax renders (no siunitx):
    ``14.77\\,\\mathrm{ms}``, ``1.41 \\times 10^{11}\\,\\mathrm{FLOP}``. Used by the Quarto pages."""

    def quantity(self, q, given: bool = False) -> TeX:
        d = self.display_quantity(q, given)
        num = self.number(d.magnitude)
        if "e" in num:
            mant, exp = num.split("e")
            num = rf"{mant} \times 10^{{{int(exp)}}}"
        if not d.units._units:
            return TeX(num)
        unit = format(d.units, "~C").replace("**", "^").replace("*", r"\cdot ").replace("%", r"\%")
        unit = unit.replace("\u00b5", r"\mu ")
        unit = re.sub(r"\^(-?\d+)", r"^{\1}", unit)
        return TeX(rf"{num}\,\mathrm{{{unit}}}")


#: The display configuration of the Quarto pages' worked examples.
MATHJAX_DISPLAY = MathJaxDisplayConfig()


# --------------------------------------------------------------------------- pint -> siunitx

#: pint unit name -> siunitx unit macro (custom ones are declared in ``preamble.tex``)
SI_UNITS = {
    "second": r"\second", "meter": r"\metre", "kilogram": r"\kilo\gram", "gram": r"\gram", "ampere": r"\ampere",
    "byte": r"\byte", "bit": r"\bit", "FLOP": r"\flop", "OP": r"\op", "MAC": r"\mac", "TOPS": r"\tops",
    "USD": r"\usd", "cent": r"\uscent", "minute": r"\minute", "hour": r"\hour", "day": r"\day", "week": r"\week",
    "year": r"\yr", "hertz": r"\hertz", "liter": r"\litre", "gallon": r"\gallon", "tonne": r"\tonne",
    "joule": r"\joule", "watt": r"\watt", "watt_hour": r"\watthour", "volt": r"\volt", "percent": r"\percent",
}
#: custom siunitx units: macro -> printed symbol (``\DeclareSIUnit`` lines of the preamble)
DECLARED_UNITS = {
    r"\byte": "B", r"\bit": "bit", r"\flop": "FLOP", r"\op": "OP", r"\mac": "MAC", r"\tops": "TOPS",
    r"\usd": "USD", r"\uscent": "cent", r"\week": "wk", r"\yr": "yr", r"\gallon": "gal", r"\watthour": "Wh",
}
SI_PREFIXES = {p: "\\" + p for p in ("atto", "femto", "pico", "nano", "micro", "milli", "centi", "kilo", "mega",
                                     "giga", "tera", "peta", "exa", "zetta", "yotta",
                                     "kibi", "mebi", "gibi", "tebi", "pebi", "exbi")}


def si_unit(u) -> TeX:
    """siunitx unit text of a pint unit: ``TB/s`` -> ``\\tera\\byte\\per\\second``; ``""`` for plain numbers.

    Raises :class:`~mlsysim.core.errors.UnitError` for a unit with no siunitx form (add it to ``SI_UNITS``).
    """
    from ..core.errors import UnitError

    u = _unit(u) if isinstance(u, str) else u
    items = list(u._units.items())
    pos = [(n, e) for n, e in items if e > 0]
    neg = [(n, e) for n, e in items if e < 0]
    out = []
    for n, e in pos + neg:
        parsed = ureg.parse_unit_name(n)
        if not parsed:
            raise UnitError(f"unit {n!r} has no siunitx form; add it to mlsysim.latex.render.SI_UNITS")
        prefix, base, _suffix = parsed[0]
        if base not in SI_UNITS:
            raise UnitError(f"unit {base!r} (in {u:~P}) has no siunitx form; add it to mlsysim.latex.render.SI_UNITS")
        text = (SI_PREFIXES[prefix] if prefix else "") + SI_UNITS[base]
        if base == "kilogram" and prefix:
            raise UnitError(f"prefixed kilogram {n!r} is not supported")
        a = abs(e)
        power = "" if a == 1 else r"\squared" if a == 2 else r"\cubed" if a == 3 else rf"\tothe{{{_exp(a)}}}"
        out.append((r"\per" if e < 0 else "") + text + power)
    return TeX("".join(out))


def _exp(a) -> str:
    return str(int(a)) if float(a) == int(a) else f"{float(a):g}"


def unit_cell(var) -> TeX:
    """The unit column of a symbol table: ``\\si{...}``, or an en dash for plain numbers."""
    u = var.pint_unit
    if not u._units:
        return TeX("--")
    return TeX(rf"\si{{{si_unit(u)}}}")


# --------------------------------------------------------------------------- equations

def label_of(set_name: str, key: str) -> str:
    """``eq:<set>-<key>``, the label the engine's own ``EquationSet.latex`` uses."""
    from ..core.equations import _label

    return f"eq:{_label(set_name)}-{_label(key)}"


def slug(set_name: str) -> str:
    """File stem of a set's fragment: ``Roofline`` -> ``roofline``."""
    from ..core.equations import _label

    return _label(set_name)


def rhs_latex(eq) -> TeX:
    """LaTeX of an equation's right-hand side in the author's display form when given."""
    full = eq.latex()
    prefix = f"{eq.lhs.latex} = "
    if not full.startswith(prefix):  # pragma: no cover - Equation.latex always writes "lhs = rhs"
        raise MlsysimError(f"unexpected LaTeX form for equation {eq.key!r}: {full!r}")
    return TeX(full[len(prefix):])


def _sympy_latex(expr, names, **kw) -> str:
    import sympy as sp

    return sp.latex(expr, symbol_names=names, **kw)


def _symbol_names():
    from ..core.equations import latex_symbol_names

    return latex_symbol_names()


@dataclass
class SetView:
    """Everything a set's template needs (built by :func:`set_view`)."""

    name: str
    slug: str
    description: str
    equations: list
    symbols: list
    sources: list


def set_view(eqset, bib=None) -> SetView:
    """Equations, symbol table rows and numbered sources of an equation set.

    With a :class:`~mlsysim.latex.bib.Bibliography` ``bib``, each source that cites a work carries
    ``cite`` (``\\cite[locator]{key}``); without one (``--inline-sources``) the citation text is inline.
    """
    from .bib import cite_tex

    sources: list = []

    def ref(src):
        if src not in sources:
            sources.append(src)
        return sources.index(src) + 1

    eqs = []
    defined_by = {}
    for eq in eqset.equations.values():
        n = ref(eq.source)
        lab = label_of(eqset.name, eq.key)
        defined_by[eq.lhs.name] = (lab, n)
        eqs.append(dict(key=eq.key, label=TeX(lab), lhs=TeX(eq.lhs.latex), rhs=rhs_latex(eq),
                        description=eq.description, source_number=n))
    symbols = []
    order = [eq.lhs.name for eq in eqset.equations.values()] + list(eqset.inputs)
    for name in order:
        v = VARIABLES[name]
        lab, n = defined_by.get(name, (None, None))
        src = TeX(rf"Eq.~\eqref{{{lab}}} [{n}]") if lab else TeX(r"input")
        symbols.append(dict(name=name, symbol=TeX(v.latex), description=v.description, unit=unit_cell(v), source=src,
                            label=lab, source_number=n))
    srcs = [dict(number=i + 1, citation=s.citation, year=s.year or "", locator=s.locator, url=s.url, kind=s.kind,
                 note=s.note, cite=cite_tex(s, bib) if bib is not None and bib.key_of(s) else None)
            for i, s in enumerate(sources)]
    return SetView(eqset.name, slug(eqset.name), eqset.description, eqs, symbols, srcs)


def render_set(eqset, bib=None) -> str:
    """The ``.tex`` fragment of one equation set: labelled ``align``, symbol table and sources.

    ``bib`` (a :class:`~mlsysim.latex.bib.Bibliography`): cite works with ``\\cite``; default: inline text.
    """
    return environment().get_template("set.tex.j2").render(set=set_view(eqset, bib))


# --------------------------------------------------------------------------- worked examples

def _subst_names(expr, values: Mapping[str, TeX]):
    """symbol_names for sympy.latex that print numbers; bases of powers are parenthesised."""
    import sympy as sp

    def shown_as_fraction(e):  # x**-1 prints as \frac{..}{x}, x**(1/2) as \sqrt{x}: no parentheses needed
        return e == -1 or (e.is_Rational and abs(e.p) == 1 and e.q > 1)

    bases = {p.base for p in expr.atoms(sp.Pow) if isinstance(p.base, sp.Symbol) and not shown_as_fraction(p.exp)}
    names = {}
    for s in expr.free_symbols:
        t = values[s.name]
        names[s] = rf"\left({t}\right)" if s in bases else str(t)
    return names


def substituted_latex(expr, values: Mapping[str, TeX], order: str | None = None) -> TeX:
    """LaTeX of ``expr`` with every symbol replaced by its printed value (multiplication as ``\\cdot``).

    The default ``order`` sorts terms by variable *name*, as :meth:`Equation.latex` does, so the numbers
    appear in the same places as the symbols of the canonical form.
    """
    kw = {"order": order} if order else {}
    return TeX(_sympy_latex(expr, _subst_names(expr, values), mul_symbol="dot", **kw))


@dataclass
class WorkedStep:
    """One equation of a worked example: formula = numbers substituted = result."""

    name: str
    label: str
    lhs: TeX
    formula: TeX
    substituted: TeX
    result: TeX
    value: object  # the computed Quantity
    regime: str = ""


@dataclass
class WorkedExample:
    """A rendered worked example; ``latex`` is the ``align*`` block, ``steps`` its lines."""

    set_name: str
    steps: list
    inputs: list  # (name, symbol TeX, printed value TeX)
    latex: TeX = field(default=TeX(""))
    #: a breakdown's parts (:func:`worked_breakdown`): (name, symbol TeX, printed value TeX, share of the total)
    shares: list = field(default_factory=list)

    def __str__(self):
        return str(self.latex)

    def _repr_latex_(self):
        return "$$" + self.latex.replace(r"\begin{align*}", r"\begin{aligned}").replace(
            r"\end{align*}", r"\end{aligned}") + "$$"


def _printed_inputs(eqset, used, knowns, config):
    out = {}
    for n in used:
        if n in knowns:
            out[n] = config.quantity(knowns[n], given=True)
    return out


def _require_scalars(knowns) -> None:
    """A worked example prints one number per quantity: refuse array inputs, naming the first."""
    for k, v in knowns.items():
        if np.ndim(getattr(v, "magnitude", v)) != 0:
            raise DomainError(f"worked examples need scalar inputs; {k} is an array of shape "
                              f"{np.shape(getattr(v, 'magnitude', v))}")


def worked_example(eqset, outputs: Iterable[str] | None = None, *, config: DisplayConfig | None = None,
                   **knowns) -> WorkedExample:
    """Render ``formula = numbers substituted = result`` for every equation needed for ``outputs``.

    Parameters
    ----------
    eqset : EquationSet
        The set to evaluate.
    outputs : iterable of str, optional
        Derived quantities to show (with every intermediate they need); default: all.
    config : DisplayConfig, optional
        Number formatting; default :data:`DISPLAY`.
    **knowns
        Inputs, as for :meth:`EquationSet.evaluate` (scalars only) [units of each variable].

    Returns
    -------
    WorkedExample
        ``latex`` (an ``align*`` block); the printed numbers are those ``evaluate`` computed.
    """
    config = config or DISPLAY
    _require_scalars(knowns)
    out = eqset.evaluate(outputs=list(outputs) if outputs is not None else None, **knowns)
    derived = [n for n in eqset.order if n in out and n not in knowns]
    printed = {}
    used_inputs = []
    for n in derived:
        for a in sorted(eqset.defining(n).inputs):
            if a not in eqset.derived and a not in used_inputs:
                used_inputs.append(a)
    printed.update(_printed_inputs(eqset, used_inputs, knowns, config))
    steps = []
    for n in derived:
        eq = eqset.defining(n)
        printed[n] = config.quantity(out[n])
        if eq.is_regime:
            parts = [substituted_latex(e, printed) for e in eq.regimes.values()]
            fn = r"\max" if eq.combine == "max" else r"\min"
            sub = TeX(fn + r"\left(" + ", ".join(parts) + r"\right)")
            regime = out.regime(n)
        else:
            sub = substituted_latex(eq.rhs, printed)
            regime = ""
        steps.append(WorkedStep(n, label_of(eqset.name, eq.key), TeX(eq.lhs.latex), rhs_latex(eq), sub, printed[n],
                                out[n], regime))
    ins = [(n, TeX(VARIABLES[n].latex), printed[n]) for n in used_inputs]
    ex = WorkedExample(eqset.name, steps, ins)
    ex.latex = TeX(environment().get_template("worked.tex.j2").render(ex=ex).strip())
    return ex


def worked_breakdown(eqset, total: str, *, config: DisplayConfig | None = None, **knowns) -> WorkedExample:
    """A worked example of one additive decomposition: ``total = part_1 + ... + part_n`` with each part's
    number and its share of the total.

    ``total`` must be defined in ``eqset`` by a plain sum of variables (as ``TrainingStep.step_time`` is); the
    parts and the total are what :meth:`EquationSet.evaluate` computes from ``knowns`` (scalars only), so the
    printed shares add up to the printed total.

    Returns
    -------
    WorkedExample
        One step (the sum, substituted) and ``shares``: ``(name, symbol, printed value, fraction)`` per part,
        largest first; ``latex`` holds the ``align*`` block and a table of the shares.
    """
    config = config or DISPLAY
    _require_scalars(knowns)
    eq = eqset.defining(total)
    parts = [] if eq.is_regime or not eq.rhs.is_Add else list(eq.rhs.args)
    if not parts or not all(a.is_Symbol for a in parts):
        raise DomainError(f"{eqset.name}.{total} is not a sum of variables; a breakdown needs one "
                          f"(its relation: {eq.expression()})")
    names = [a.name for a in parts]
    out = eqset.evaluate(outputs=[total, *names], **knowns)
    printed = {n: config.quantity(out[n]) for n in names}
    tot = out[total]
    def summed(items):  # four terms per line: a long sum stays inside the page
        lines = [" + ".join(items[i:i + 4]) for i in range(0, len(items), 4)]
        return TeX(r" \\ &\quad + ".join(lines))

    step = WorkedStep(total, label_of(eqset.name, eq.key), TeX(eq.lhs.latex),
                      summed([VARIABLES[n].latex for n in names]), summed([printed[n] for n in names]),
                      config.quantity(tot), tot)
    t = float(tot.to_base_units().magnitude)
    if not t > 0:
        raise DomainError(f"{eqset.name}.{total} = {tot} has no shares to show (a breakdown needs a positive total)")
    shares = sorted(((n, TeX(VARIABLES[n].latex), printed[n], float(out[n].to_base_units().magnitude) / t)
                     for n in names), key=lambda r: -r[3])
    ex = WorkedExample(eqset.name, [step], [], shares=shares)
    body = environment().get_template("worked.tex.j2").render(ex=ex).strip()
    rows = "\n".join(rf"  ${sym_}$ & {escape_latex(VARIABLES[n].description)} & ${val}$ & \num{{{100 * f:.1f}}}\,\% \\"
                      for n, sym_, val, f in shares)
    head = "\\begin{center}\n\\begin{tabular}{lp{0.55\\linewidth}rr}\n  part & what & time & share \\\\ \\hline\n"
    table = head + rows + "\n\\end{tabular}\n\\end{center}"
    ex.latex = TeX(body + "\n" + table)
    return ex


# --------------------------------------------------------------------------- solved forms (inverses)

def _ordered_add(e, first=None):
    """An unevaluated Add printing positive terms first (``first``'s term leading), then negative ones."""
    import sympy as sp

    if not e.is_Add:
        return e
    terms = list(e.args)
    pos = [t for t in terms if not t.could_extract_minus_sign()]
    neg = [t for t in terms if t.could_extract_minus_sign()]
    if first is not None:
        pos.sort(key=lambda t: 0 if t.has(first) else 1)
    return sp.Add(*pos, *neg, evaluate=False)


def pretty_solution(sol, target_symbol):
    """A display form of a solved expression: one fraction, the target's sign positive in the denominator,
    positive terms first (``D/(T - T_ovh)`` rather than ``-D/(T_ovh - T)``). Equal to ``sol``."""
    import sympy as sp

    num, den = sp.fraction(sp.together(sol))
    if den.is_Add and den.coeff(target_symbol).could_extract_minus_sign() or (
            den.is_Add and not den.has(target_symbol) and num.could_extract_minus_sign()):
        num, den = sp.expand(-num), sp.expand(-den)
    num, den = _ordered_add(num, target_symbol), _ordered_add(den, target_symbol)
    if den == 1:
        return num
    return sp.Mul(num, sp.Pow(den, -1, evaluate=False), evaluate=False)


@dataclass
class SolvedRow:
    """One branch of a solved form: ``unknown = expr`` valid under ``conditions`` (in ``regime``)."""

    expr: object  # sympy expression (as the engine solved it)
    pretty: object  # the same expression in display form (see pretty_solution)
    latex: TeX
    conditions: list  # sympy relationals
    conditions_latex: list
    regime: str


@dataclass
class SolvedForm:
    """``unknown`` solved from ``target`` symbolically, with the regime conditions (``latex``: a ``cases``)."""

    set_name: str
    unknown: str
    target: str
    given: tuple
    rows: list
    floors: list  # (regime label, sympy expr) of regimes that do not depend on the unknown
    method: str
    latex: TeX = field(default=TeX(""))

    def __str__(self):
        return str(self.latex)

    def _repr_latex_(self):
        return "$$" + self.latex + "$$"


_OPS = {">": ">", ">=": r"\geq", "<": "<", "<=": r"\leq"}


def _split(rel):
    """``a - b > 0`` as ``(a, ">", b)``: negative terms moved to the other side."""
    import sympy as sp

    diff = rel.lhs - rel.rhs
    pos, neg = [], []
    for t in sp.Add.make_args(diff):
        (neg if t.could_extract_minus_sign() else pos).append(t)
    left = sp.Add(*pos) if pos else sp.Integer(0)
    right = -sp.Add(*neg) if neg else sp.Integer(0)
    return left, rel.rel_op, right


def _rel_latex(rel, names) -> TeX:
    """A condition as LaTeX, ``a > b`` rather than ``a - b > 0``."""
    left, op, right = _split(rel)
    return TeX(f"{_sympy_latex(left, names, order='none')} {_OPS[op]} {_sympy_latex(right, names, order='none')}")


def _domain_condition(expr, domain):
    """Relational that keeps ``expr`` inside a variable domain (``None`` if always true)."""
    import sympy as sp

    if domain in ("positive", "count", "nonnegative", "count0"):
        rel = sp.StrictGreaterThan if domain in ("positive", "count") else sp.GreaterThan
        num, den = sp.fraction(sp.together(expr))
        if num.is_positive and den.is_positive:
            return None
        if (expr.is_nonnegative and rel is sp.GreaterThan) or expr.is_positive:
            return None
        if num.is_positive:
            return sp.StrictGreaterThan(den, 0, evaluate=False)
        if den.is_positive:
            return rel(num, 0, evaluate=False)
        return rel(expr, 0, evaluate=False)
    if domain == "ge1":
        return None if (expr - 1).is_nonnegative else sp.GreaterThan(expr, 1, evaluate=False)
    if domain == "fraction":
        return None if (1 - expr).is_nonnegative else sp.LessThan(expr, 1, evaluate=False)
    return None


def _gap(rel):
    """``rel`` as ``g > 0`` / ``g >= 0``: the expression g."""
    return rel.lhs - rel.rhs if rel.rel_op in (">", ">=") else rel.rhs - rel.lhs


def _drop_implied(conds):
    """Remove conditions implied by a stronger one (gap difference provably non-negative)."""
    import sympy as sp

    keep = list(conds)
    changed = True
    while changed:
        changed = False
        for a in keep:
            for b in keep:
                if a is b:
                    continue
                # a: ga >= 0 implies b: gb >= 0 when gb - ga >= 0 (gb > 0 needs gb - ga > 0 unless a is strict)
                d = sp.simplify(_gap(b) - _gap(a))
                strict_b = b.rel_op in (">", "<")
                strict_a = a.rel_op in (">", "<")
                if (d.is_positive or (d.is_nonnegative and (strict_a or not strict_b))):
                    keep.remove(b)
                    changed = True
                    break
            if changed:
                break
    return keep


def solved_form(eqset, unknown: str, target: str, given: Iterable[str] | None = None) -> SolvedForm:
    """The symbolic inverse of ``target`` for ``unknown``, one ``cases`` row per regime, with conditions.

    Parameters
    ----------
    eqset : EquationSet
        The set.
    unknown : str
        Variable to solve for (an input of the set).
    target : str
        Derived quantity whose value is given (the question's target).
    given : iterable of str, optional
        Quantities treated as known (derived ones stop the expansion, keeping the form short); default:
        every input of the set except ``unknown``.

    Returns
    -------
    SolvedForm
        ``latex``: ``unknown = \\begin{cases} ... \\end{cases}``; rows hold the sympy expressions.
    """
    import sympy as sp

    for n in (unknown, target, *(given or ())):
        if n not in eqset.variables:
            raise UnknownVariableError(f"{eqset.name} has no variable {n!r}")
    if target not in eqset.derived:
        raise UnknownVariableError(f"{target!r} is not derived in {eqset.name}; the target must be one of "
                                   f"{', '.join(eqset.derived)}")
    known = set(given) if given is not None else set(eqset.inputs) - {unknown}
    known = (known - {unknown}) | {target}
    plan = eqset.inverse_plan(unknown, frozenset(known), "expanded")
    names = _symbol_names()
    uvar = VARIABLES[unknown]
    tsym = VARIABLES[target].symbol
    usym = uvar.symbol
    teq = eqset.defining(target)
    combine = teq.combine if teq.is_regime else "max"
    rows = []
    if plan["kind"] == "forward":
        raise UnknownVariableError(f"{unknown} is computed forward from the givens in {eqset.name}; nothing to solve")
    floors = [(", ".join(r for _k, r in br.choices), br.expr) for br, _fn in plan["floors"]]
    if plan["kind"] == "symbolic":
        branches = plan["branches"]
        for br, sol, _fn in plan["candidates"]:
            conds = []
            for other in branches:
                if other is br:
                    continue
                val = other.expr.xreplace({usym: sol})
                # max: every other regime stays at or below the target; min: at or above
                rel = sp.LessThan(val, tsym, evaluate=False) if combine == "max" else sp.GreaterThan(val, tsym,
                                                                                                   evaluate=False)
                g = sp.simplify(_gap(rel))
                if g.is_nonnegative:
                    continue
                conds.append(rel if g == _gap(rel) else (sp.GreaterThan(g, 0, evaluate=False)))
            pretty = pretty_solution(sol, tsym)
            dc = _domain_condition(pretty, uvar.domain)
            if dc is not None:
                conds.append(dc)
            conds = _drop_implied(conds)
            label = ", ".join(r for _k, r in br.choices)
            rows.append(SolvedRow(sol, pretty, TeX(_sympy_latex(pretty, names, order="none")), conds,
                                  [_rel_latex(c, names) for c in conds], label))
    sf = SolvedForm(eqset.name, unknown, target, tuple(sorted(known - {target})), rows,
                    [(lab, e, TeX(_sympy_latex(e, names))) for lab, e in floors], plan["kind"])
    sf.latex = TeX(environment().get_template("solved.tex.j2").render(sf=sf, lhs=TeX(uvar.latex),
                                                                       target=TeX(VARIABLES[target].latex)).strip())
    return sf


@dataclass
class WorkedInverse:
    """A solved form with numbers: the engine's answer, the row it came from and its conditions checked."""

    form: SolvedForm
    row: SolvedRow
    value: object
    substituted: TeX
    result: TeX
    checks: list  # (condition TeX with numbers, TeX left value, TeX right value, holds)
    inputs: list
    latex: TeX = field(default=TeX(""))

    def __str__(self):
        return str(self.latex)


_BASE = {"[time]": "s", "[length]": "m", "[mass]": "kg", "[information]": "byte", "[compute]": "FLOP",
         "[currency]": "USD", "[current]": "A"}


def _quantity_of_expr(expr, mags):
    """Evaluate a sympy expression at base magnitudes; wrap with the base unit of its dimension."""
    import sympy as sp

    from ..core.equations import expr_dimensionality

    args = sorted(s.name for s in expr.free_symbols)
    f = sp.lambdify([VARIABLES[a].symbol for a in args], expr, modules="numpy")
    with np.errstate(all="ignore"):
        m = float(f(*[mags[a] for a in args]))
    dims = expr_dimensionality(expr, "worked inverse")
    u = ureg.Unit("")
    for d, e in dims.items():
        u = u * ureg.Unit(_BASE[d]) ** e
    return Q_(m, u)


def worked_inverse(eqset, unknown: str, *, given: Iterable[str] | None = None, config: DisplayConfig | None = None,
                   **knowns) -> WorkedInverse:
    """The solved form of ``unknown`` with numbers substituted; the result is :meth:`EquationSet.solve`'s.

    Parameters
    ----------
    eqset : EquationSet
    unknown : str
        Variable to solve for.
    given : iterable of str, optional
        Names kept symbolic in the solved form (default: the names in ``knowns``).
    config : DisplayConfig, optional
    **knowns
        Inputs and exactly one target value, as for :meth:`EquationSet.solve` (scalars) [units of each].
    """
    config = config or DISPLAY
    sol = eqset.solve(unknown, **knowns)
    target = sol.target
    form = solved_form(eqset, unknown, target, given=given if given is not None else [k for k in knowns if k != target])
    mags = eqset.magnitudes(knowns)
    want = sol.value.to(VARIABLES[unknown].base_unit).magnitude
    row = None
    for r in form.rows:
        q = _quantity_of_expr(r.expr, mags)
        if math.isclose(q.magnitude, want, rel_tol=1e-9, abs_tol=0.0):
            row = r
            break
    if row is None:
        raise MlsysimError(f"the engine's answer for {unknown} matches no closed-form row of {eqset.name}")
    printed = {n: config.quantity(knowns[n], given=True) for n in knowns}
    sub = substituted_latex(row.pretty, printed, order="none")
    result = config.quantity(sol.value)
    checks = []
    names = _symbol_names()
    for c in row.conditions:
        left, op, right = _split(c)
        sides = []
        for e in (left, right):
            if e.free_symbols:
                q = _quantity_of_expr(e, mags)
                sides.append((q.magnitude, config.quantity(q)))
            else:
                sides.append((float(e), TeX(_sympy_latex(e, names))))
        (lv, lt), (rv, rt) = sides
        holds = {">": lv > rv, ">=": lv >= rv, "<": lv < rv, "<=": lv <= rv}[op]
        checks.append((_rel_latex(c, names), TeX(f"{lt} {_OPS[op]} {rt}"), holds))
    ins = [(n, TeX(VARIABLES[n].latex), printed[n]) for n in knowns]
    wi = WorkedInverse(form, row, sol.value, sub, result, checks, ins)
    wi.latex = TeX(environment().get_template("worked_inverse.tex.j2").render(
        wi=wi, lhs=TeX(VARIABLES[unknown].latex)).strip())
    return wi
