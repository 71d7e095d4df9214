"""Compile equation sets to JavaScript and MathML.

Every relation the explorer evaluates in the browser is printed here, by sympy's JavaScript printer,
from the same sympy expression the engine lambdifies (``Equation.branches()``), or from the engine's
own symbolic inverses (``EquationSet.symbolic_inverse``, cached per equation) composed along the
dependency path exactly as the engine's chain inversion composes them. Each compiled function is
emitted with a provenance comment (:data:`PROVENANCE`) naming the set, the equation, the regime, the
sympy expression and its source; ``tests/explore`` greps the generated JavaScript for it.

The JavaScript runtime (``static/runtime.js``) only does generic work: unit conversion with factors
computed here by pint, domain checks, combining regime branches by max/min, bracketed numeric roots.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.equations import VARIABLES
from ..core.units import conversion_factor, unit

#: Marker that starts the comment above every compiled JavaScript function.
PROVENANCE = "mlsysim:compiled"


# --------------------------------------------------------------------------- JavaScript printing

def _js_printer():
    from sympy.printing.jscode import JavascriptCodePrinter

    class _Printer(JavascriptCodePrinter):
        """Variables print as fields of the argument object ``x`` (``x.peak_flops``)."""

        def _print_Symbol(self, expr):
            if expr.name not in VARIABLES:
                raise ValueError(f"cannot compile {expr.name!r}: not a registered variable")
            return f"x.{expr.name}"

        def _print_Float(self, expr):
            return repr(float(expr))

    return _Printer({"strict": True})


def js_expression(expr) -> str:
    """JavaScript source of a sympy expression over variable symbols (reads them from ``x``)."""
    code = _js_printer().doprint(expr)
    if "Not supported" in code or "\n" in code:
        raise ValueError(f"sympy cannot print {expr} as one JavaScript expression")
    return code


def _comment(text: str) -> str:
    return " ".join(str(text).split()).replace("*/", "* /")


@dataclass
class CompiledFunction:
    """One compiled relation: its JavaScript id, the expression and where it comes from."""

    fid: str
    expr: object
    what: str
    source: str
    code: str = ""

    def js(self) -> str:
        return (f"// {PROVENANCE} {self.what} | sympy: {_comment(self.expr)} | source: {_comment(self.source)}\n"
                f"F[{self.fid!r}] = function (x) {{ return {self.code}; }};")


@dataclass
class Compiler:
    """Collects compiled functions (deduplicated by id)."""

    functions: dict = field(default_factory=dict)

    def add(self, fid: str, expr, what: str, source) -> str:
        if fid not in self.functions:
            self.functions[fid] = CompiledFunction(fid, expr, what, str(source), js_expression(expr))
        return fid

    def js(self) -> str:
        return "\n".join(f.js() for f in self.functions.values())


# --------------------------------------------------------------------------- MathML

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "rho", "sigma", "tau",
          "phi", "omega", "ell"}


def _tex_text(s: str) -> str:
    """Plain text of a LaTeX fragment (``\\text{peak}`` -> ``peak``, ``\\$`` -> ``$``)."""
    s = re.sub(r"\\(?:text|mathrm|mathit)\{([^{}]*)\}", r"\1", s)
    s = s.replace(r"\$", "$").replace("{", "").replace("}", "")
    return s


def _split_symbol(tex: str):
    """(base, sub, sup) of a nomenclature LaTeX symbol such as ``T_{\\text{comp}}`` or ``I^{*}``."""
    base, sub, sup = tex, "", ""
    m = re.match(r"^(\\bar\{[^{}]*\}|\\mathrm\{[^{}]*\}|\\[a-zA-Z]+|[A-Za-z])(.*)$", tex)
    if m:
        base, rest = m.group(1), m.group(2)
        while rest:
            mm = re.match(r"^([_^])(\{(?:[^{}]|\{[^{}]*\})*\}|.)(.*)$", rest)
            if not mm:
                base += rest
                break
            part = _tex_text(mm.group(2))
            if mm.group(1) == "_":
                sub = part
            else:
                sup = part
            rest = mm.group(3)
    return base, sub, sup


def _base_node(doc, base: str):
    bar = re.match(r"^\\bar\{([^{}]*)\}$", base)
    if bar:
        mover = doc.createElement("mover")
        mover.setAttribute("accent", "true")
        mi = doc.createElement("mi")
        mi.appendChild(doc.createTextNode(bar.group(1)))
        mo = doc.createElement("mo")
        mo.appendChild(doc.createTextNode("\u00af"))
        mover.appendChild(mi)
        mover.appendChild(mo)
        return mover
    mi = doc.createElement("mi")
    if base.startswith("\\mathrm"):
        text = _tex_text(base)
        mi.setAttribute("mathvariant", "normal")
    elif base.startswith("\\") and base[1:] in _GREEK:
        text = {"ell": "\u2113"}.get(base[1:], None)
        if text is None:
            import unicodedata

            text = unicodedata.lookup(f"GREEK SMALL LETTER {base[1:].upper()}")
    else:
        text = _tex_text(base)
    mi.appendChild(doc.createTextNode(text))
    return mi


def _symbol_node(doc, tex: str):
    base, sub, sup = _split_symbol(tex)
    node = _base_node(doc, base)

    def text_node(tag, s):
        el = doc.createElement(tag)
        el.appendChild(doc.createTextNode(s))
        return el

    if sub and sup:
        out = doc.createElement("msubsup")
        out.appendChild(node)
        out.appendChild(text_node("mtext", sub))
        out.appendChild(text_node("mo" if sup == "*" else "mtext", sup))
        return out
    if sub:
        out = doc.createElement("msub")
        out.appendChild(node)
        out.appendChild(text_node("mtext" if len(sub) > 1 else "mi", sub))
        return out
    if sup:
        out = doc.createElement("msup")
        out.appendChild(node)
        out.appendChild(text_node("mo" if sup == "*" else "mtext", sup))
        return out
    return node


def _mathml_printer():
    from sympy.printing.mathml import MathMLPresentationPrinter

    class _Printer(MathMLPresentationPrinter):
        """Presentation MathML with the nomenclature's symbols (``R_peak``, not ``peak_flops``)."""

        def _print_Symbol(self, sym, style="plain"):
            v = VARIABLES.get(sym.name)
            if v is None:
                return super()._print_Symbol(sym, style)
            return _symbol_node(self.dom, v.latex)

    return _Printer({"order": "none"})


def mathml(eq) -> str:
    """``<math display="block">lhs = rhs</math>`` of an :class:`Equation` (regimes as max/min)."""
    import sympy as sp

    p = _mathml_printer()
    lhs = p._print(eq.lhs.symbol).toxml()
    if eq.is_regime:
        parts = [p._print(e).toxml() for e in eq.branches().values()]
        name = "max" if eq.combine == "max" else "min"
        rhs = (f"<mrow><mi>{name}</mi><mo>(</mo>" + "<mo>,</mo>".join(parts) + "<mo>)</mo></mrow>")
    else:
        # safe: eq.rhs is a sympy expression of the equation set, never a string
        rhs = p._print(sp.sympify(eq.rhs)).toxml()  # safe: see above
    out = f'<math display="block"><mrow>{lhs}<mo>=</mo>{rhs}</mrow></math>'
    return out.replace("&InvisibleTimes;", "\u2062")  # the character itself: valid XML as well as HTML


def symbol_mathml(name: str) -> str:
    """Inline MathML of one variable's symbol."""
    from xml.dom.minidom import Document

    return f"<math>{_symbol_node(Document(), VARIABLES[name].latex).toxml()}</math>"


# --------------------------------------------------------------------------- units

#: reporting units a reader expects, tried in order for each dimension (the first that keeps the
#: default value between 1 and 1000 wins; otherwise the variable's own unit)
_PREFIXES = ["", "k", "M", "G", "T", "P", "E", "m", "u", "n"]


def display_unit(name: str, default_base: float | None) -> str:
    """The unit an input box shows: the variable's unit with an SI prefix that suits the default value."""
    v = VARIABLES[name]
    if v.dimensionless or default_base is None or default_base == 0:
        return v.unit
    text = v.unit
    m = re.match(r"^(FLOP|byte|B|W|J|g)(/.*)?$", text)
    if text in ("s", "us"):
        candidates = ["s", "ms", "us", "ns", "min", "h", "day", "year"]
    elif m:
        head, tail = m.group(1), m.group(2) or ""
        if head in ("byte", "B"):
            head = "B"
        candidates = [f"{p}{head}{tail}" for p in _PREFIXES if not (head == "B" and p in ("m", "u", "n"))]
    else:
        return v.unit
    best = v.unit
    for c in candidates:
        try:
            f = conversion_factor(v.base_unit, unit(c))
        except Exception:  # noqa: BLE001 - a candidate the registry does not know is simply skipped
            continue
        x = abs(default_base) * f
        if 1 <= x < 1000:
            best = c
            break
    return best


def unit_factors(name: str, display: str) -> tuple[float, float]:
    """(display -> base, base -> display) conversion factors, computed by pint."""
    v = VARIABLES[name]
    u = unit(display)
    return conversion_factor(u, v.base_unit), conversion_factor(v.base_unit, u)
