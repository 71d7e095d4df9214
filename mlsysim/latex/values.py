"""``values.tex``: one macro per numeric registry value and per worked-example result, for prose.

A chapter writes ``the H100 moves \\mlsHardwareHOneHundredMemoryBandwidth{}`` instead of retyping
"3.35 TB/s", and the number follows the registry the day it is corrected.

Naming scheme (:func:`macro_name`): ``\\mls`` + a group (``Hardware``, ``Infra``, ``Fabric``, ``Model``,
``System``, ``Example``) + the entry's name + the field's name, each part in CamelCase made of letters only:

* names are split at ``_``, ``-``, ``.``, ``:``, spaces and letter/digit boundaries;
* a letter run keeps its case with its first letter upper-cased (``PCIe``, ``bf`` -> ``Bf``);
* a digit run is spelled as an English number (``100`` -> ``OneHundred``, ``70`` -> ``Seventy``,
  ``2018`` -> ``TwoThousandEighteen``); a run with a leading zero is spelled digit by digit (``05`` ->
  ``ZeroFive``); a ``.`` between two digit runs is ``Point`` (``0.5`` -> ``ZeroPointFive``).

So ``Hardware.H100.memory_bandwidth`` is ``\\mlsHardwareHOneHundredMemoryBandwidth`` and
``peak_flops:bf16`` is ``PeakFlopsBfSixteen``. Each value macro has a companion ``\\mlsSource...`` with the
same suffix (``\\mlsSourceHardwareHOneHundredMemoryBandwidth``) that cites its Source (``\\cite[...]{key}``,
or the inline text with ``--inline-sources``). Values are typeset with siunitx ``\\qty`` (``\\num`` for plain
numbers). Names that collide raise an error at generation time.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..core.errors import MlsysimError
from .render import DISPLAY, TeX, escape_latex, si_unit

_ONES = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve",
         "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"]
_TENS = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"]
_SCALES = [(10 ** 12, "Trillion"), (10 ** 9, "Billion"), (10 ** 6, "Million"), (1000, "Thousand"), (100, "Hundred")]

#: a valid TeX control word (letters only)
CONTROL_WORD = re.compile(r"^\\[A-Za-z]+$")


def number_words(n: int) -> str:
    """``100`` -> ``OneHundred``, ``2018`` -> ``TwoThousandEighteen`` (CamelCase, no separators)."""
    if n < 0:
        raise MlsysimError(f"number_words needs a non-negative integer; got {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + (_ONES[n % 10] if n % 10 else "")
    for scale, word in _SCALES:
        if n >= scale:
            rest = n % scale
            return number_words(n // scale) + word + (number_words(rest) if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def camel(part: str) -> str:
    """One name part as CamelCase letters (digits spelled): ``"H100_PCIe"`` -> ``"HOneHundredPCIe"``."""
    out = []
    tokens = re.findall(r"[A-Za-z]+|\d+|\.", str(part))
    for i, t in enumerate(tokens):
        if t == ".":
            if 0 < i < len(tokens) - 1 and tokens[i - 1].isdigit() and tokens[i + 1].isdigit():
                out.append("Point")
            continue
        if t.isdigit():
            out.append("".join(_ONES[int(c)] for c in t) if (len(t) > 1 and t[0] == "0") else number_words(int(t)))
        else:
            out.append(t[0].upper() + t[1:])
    return "".join(out)


def macro_name(*parts: str) -> str:
    """``\\mls`` + the CamelCase of every part: ``macro_name("Hardware", "H100", "memory_bandwidth")``."""
    return "\\mls" + "".join(camel(p) for p in parts)


def source_macro_name(name: str) -> str:
    """The ``\\mlsSource...`` companion of a value macro."""
    return "\\mlsSource" + name[len("\\mls"):]


@dataclass
class ValueMacro:
    """One value macro: its name, its siunitx text, its source text and where the value comes from."""

    name: str
    value: TeX
    source: TeX
    origin: str  # "Hardware.H100.memory_bandwidth"

    @property
    def source_name(self) -> str:
        return source_macro_name(self.name)


def _number_text(x: float) -> str:
    """Exact enough for a registry value: up to 6 significant digits, integers in full."""
    if not math.isfinite(x):
        raise MlsysimError(f"values.tex holds finite numbers; got {x!r}")
    if x == round(x) and abs(x) < 1e15:
        return str(round(x))
    s = f"{x:.6g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp)}"
    return s


def qty(value, given: bool = True) -> TeX | None:
    """``\\qty{3.35}{\\tera\\byte\\per\\second}`` / ``\\num{80}``; None for a value that is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if hasattr(value, "units"):
        d = DISPLAY.display_quantity(value, given=given)
        num = _number_text(float(d.magnitude)) if given else DISPLAY.number(d.magnitude)
        unit = si_unit(d.units)
        if not unit:
            return TeX(rf"\num{{{num}}}")
        return TeX(rf"\qty{{{num}}}{{{unit}}}")
    if isinstance(value, (int, float)):
        return TeX(rf"\num{{{_number_text(float(value))}}}")
    return None


_MODEL_FIELDS = ("num_layers", "hidden_size", "num_heads", "num_kv_heads", "head_dim", "vocab_size", "seq_len",
                 "ffn_hidden_size", "num_experts", "experts_per_token")


def registry_values(cite) -> list[ValueMacro]:
    """Value macros of every numeric registry value (``cite(source) -> TeX`` renders the companions)."""
    import mlsysim

    out: list[ValueMacro] = []

    def add(group, entry, field, value, source, given=True):
        text = qty(value, given=given)
        if text is None:
            return
        out.append(ValueMacro(macro_name(group, entry, field), text, cite(source), f"{group}.{entry}.{field}"))

    for group, reg_name in (("Hardware", "Hardware"), ("Infra", "Infra"), ("Fabric", "Fabrics"),
                            ("System", "Systems"), ("Model", "Models")):
        reg = getattr(mlsysim, reg_name, None)
        if reg is None:
            continue
        for entry in reg.names():
            obj = reg.get(entry)
            fields = getattr(obj, "sourced_fields", None)
            if callable(fields):
                for f, s in fields().items():
                    add(group, entry, f, s.value, s.source)
            src = getattr(obj, "source", None)
            if src is None:
                continue
            if group == "Model":
                for f in _MODEL_FIELDS:
                    v = getattr(obj, f, None)
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        add(group, entry, f, v, src)
                params = getattr(obj, "parameters", None)
                if isinstance(params, (int, float)):
                    add(group, entry, "parameters", params, src)
            elif group == "System":
                for f in ("num_nodes", "devices_per_node"):
                    v = getattr(obj, f, None)
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        add(group, entry, f, v, src)
    return out


def example_values(examples) -> list[ValueMacro]:
    """Value macros of every worked-example result (``\\mlsExample<stem><quantity>``)."""
    out = []
    for ex in examples:
        for name, q in ex.results:
            out.append(ValueMacro(macro_name("Example", ex.macro, name), qty(q, given=False),
                                  TeX(r"mlsysim worked example \emph{" + escape_latex(ex.title) + "}"),
                                  f"Example.{ex.label}.{name}"))
    return out


def check_names(macros: list[ValueMacro]) -> None:
    """Raise :class:`MlsysimError` on an invalid or repeated macro name (value or source companion)."""
    seen: dict[str, str] = {}
    for m in macros:
        for name in (m.name, m.source_name):
            if not CONTROL_WORD.match(name):
                raise MlsysimError(f"values.tex: {name!r} (from {m.origin}) is not a TeX control word")
            if name in seen:
                raise MlsysimError(f"values.tex: {name} names both {seen[name]} and {m.origin}; rename one entry")
            seen[name] = m.origin


def render_values(macros: list[ValueMacro]) -> str:
    """The text of ``values.tex``."""
    check_names(macros)
    lines = ["% Generated by mlsysim.latex: one macro per numeric registry value and worked-example result.",
             "% Do not edit by hand: regenerate with `python -m mlsysim latex --out equations/`.",
             "% Naming: \\mls<Group><Entry><Field>, digits spelled (docs/latex.md); \\mlsSource<...> cites the value.",
             "% Needs siunitx (>= 3, for \\qty) and the units of preamble.tex. Write \\mlsX{} before a space."]
    # Each block is guarded by a sentinel, so that two bundles' values.tex (or this file twice) can be
    # \input together: the registry block is defined once, each example's block once.
    blocks: dict[str, list] = {}
    for m in macros:
        parts = m.origin.split(".")
        sentinel = ("\\mlsLoadedRegistryValues" if parts[0] != "Example"
                    else "\\mlsLoaded" + m.name[len("\\mls"):-len(camel(parts[-1]))])
        blocks.setdefault(sentinel, []).append(m)
    for sentinel, ms in blocks.items():
        lines.append(f"\\ifdefined{sentinel}\\else\\def{sentinel}{{}}")
        group = None
        for m in ms:
            g = m.origin.split(".")[0]
            if g != group:
                lines.append(f"% --- {g}")
                group = g
            lines.append(f"\\newcommand{{{m.name}}}{{{m.value}}} % {m.origin}")
            lines.append(f"\\newcommand{{{m.source_name}}}{{{m.source}}}")
        lines.append("\\fi")
    return "\n".join(lines) + "\n"
