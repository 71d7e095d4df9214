"""Layer B: the hardware registry, ``mlsysim.Hardware``.

Every value of every device carries its Source (datasheet, paper, benchmark, or a ``derived`` /
``assumption`` source saying how it was obtained). Devices are built lazily on first access.

>>> from mlsysim import Hardware
>>> Hardware.H100.peak_flops("bf16")           # dense, not the 2:4-sparsity figure
<Quantity(989.4, 'teraFLOP / second')>
>>> Hardware.H100.source_of("memory_bandwidth").kind
'datasheet'

Data modules are grouped by primary source: :mod:`.nvidia`, :mod:`.amd`, :mod:`.google`, :mod:`.mobile`
(Apple, Qualcomm), :mod:`.edge` (Jetson, Tesla FSD), :mod:`.tiny` (microcontrollers).
"""
from __future__ import annotations

from pathlib import Path

from ..core.registry import Registry
from . import amd, edge, google, mobile, nvidia, tiny
from .spec import CATEGORIES, HARDWARE_FIELDS, NODE_FIELDS, HardwareSpec, UnsupportedPrecisionError, _fmt, _md

Hardware = Registry("hardware")

#: registry names in registration order (the registry's own listing moves built entries first)
ORDER: list[str] = []
for _module in (nvidia, amd, google, mobile, edge, tiny):
    for _name, _factory in _module.ENTRIES.items():
        Hardware.register(_name, factory=_factory)
        ORDER.append(_name)
del _module, _name, _factory

#: repository path of the generated reference table
DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "hardware.md"

_SUMMARY_PRECISIONS = ("bf16", "fp16", "fp8", "int8", "fp32")


def devices(category: str | None = None) -> list[HardwareSpec]:
    """Every registered device in registration order, optionally only those of one ``category``
    (see :data:`CATEGORIES`).

    Raises
    ------
    DomainError
        ``category`` is not one of :data:`~mlsysim.hardware.spec.CATEGORIES`.
    """
    if category is not None and category not in CATEGORIES:
        from ..core.errors import DomainError
        raise DomainError(f"category must be one of {', '.join(CATEGORIES)}; got {category!r}")
    extra = [n for n in Hardware.names() if n not in ORDER]      # entries registered by users, at the end
    return [d for d in (Hardware.get(n) for n in ORDER + extra) if category is None or d.category == category]


def _summary_peak(d: HardwareSpec) -> str:
    for p in _SUMMARY_PRECISIONS:
        if p in d.peak_flops_table:
            return f"{_fmt(d.peak_flops_table[p].value)} ({p})"
    return ""


def _cell(d: HardwareSpec, field: str) -> str:
    v = d.get(field)
    return "" if v is None else _fmt(v)


def report(sources: bool = True, category: str | None = None) -> str:
    """The hardware reference as markdown, generated from the registry.

    Parameters
    ----------
    sources : bool, default True
        Add, for every device, a table of every value with its source.
    category : str, optional
        Only devices of this category.

    Returns
    -------
    str
        Markdown: a summary table, then (with ``sources``) one table per device. ``docs/hardware.md``
        is ``report()``; regenerate it with :func:`write_docs` or ``python -m mlsysim.hardware``.
    """
    devs = devices(category)
    out = ["# Hardware registry (`mlsysim.Hardware`)", "",
           "Generated from the registry by `mlsysim.hardware.report()`; do not edit by hand "
           "(regenerate with `python -m mlsysim.hardware`).", "",
           "Peak rates are **dense**; vendors' 2:4 structured-sparsity figures are listed as "
           "`sparse_peak_flops` and never used by default. Integer rates are operations per second "
           "(one OP counts as one FLOP). Memory capacities are physical: HBM, GDDR and LPDDR are built in "
           "powers of two, so a vendor's '80GB' is stored as 80 GiB (= 85.9 GB; GB = 10^9 B, GiB = 2^30 B).",
           "",
           "Each value's `kind` is its trust level: `datasheet`, `paper`, `report`, `standard`, `benchmark` "
           "and `measurement` are primary (the cited document states the value); **`derived`** (arithmetic "
           "on primary values), **`secondary`** (press or third-party summaries) and **`assumption`** are not, "
           "and are printed in bold. `mlsysim list hardware --unverified` lists the latter. Node-topology "
           "fields (`devices_per_node`, `intra_node_fabric`, `inter_node_fabric`) describe the reference node "
           "the device ships in and are the defaults of `Fleet` and of the serving solver's tensor-parallel link.",
           "",
           "| key | device | category | year | dense peak | memory bandwidth | memory | TDP | unit price |",
           "|---|---|---|---|---|---|---|---|---|"]
    for d in devs:
        memory = _cell(d, "memory_capacity") or (f"{_cell(d, 'sram')} SRAM" if d.has("sram") else "")
        cells = [f"`{d.key}`", d.name, d.category, str(d.year), _summary_peak(d), _cell(d, "memory_bandwidth"),
                 memory, _cell(d, "tdp"), _cell(d, "unit_price")]
        out.append("| " + " | ".join(_md(c) for c in cells) + " |")
    for d in devs:
        out += ["", f"## `{d.key}`: {d.name}", "",
                f"{d.vendor}, {d.year}, category `{d.category}`"
                + (f", memory {d.memory_type}" if d.memory_type else "")
                + (f", interconnect {d.interconnect_name}" if d.interconnect_name else "") + ".",
                ""]
        if d.description:
            out += [d.description, ""]
        out.append(d.describe(sources=sources))
    return "\n".join(out) + "\n"


def unverified(category: str | None = None) -> list[dict]:
    """Every value of every device that is not from a primary source (``derived``, ``secondary``,
    ``assumption``, fitted...), in registration order.

    Returns
    -------
    list of dict
        One dict per value: ``device``, ``field``, ``value`` (text), ``kind``, ``source`` (short citation)
        and ``why`` (the source's note: how it was derived, why it is assumed, what primary source is missing).
    """
    rows = []
    for d in devices(category):
        values = d.sourced_fields()
        for f, src in d.unverified_fields().items():
            rows.append({"device": d.key, "field": f, "value": _fmt(values[f].value), "kind": src.kind,
                         "source": src.short(), "why": src.note})
    return rows


def unverified_report(category: str | None = None) -> str:
    """:func:`unverified` as plain text, one value per line (``mlsysim list hardware --unverified``)."""
    rows = unverified(category)
    lines = [f"{len(rows)} hardware values are not from a primary source (kind: derived, secondary, assumption):"]
    for r in rows:
        lines.append(f"{r['device']:<24} {r['field']:<26} {r['value']:<14} {r['kind']:<10} {r['why']}")
    return "\n".join(lines)


def write_docs(path: str | Path | None = None) -> Path:
    """Write :func:`report` to ``docs/hardware.md`` (or ``path``) and return the path written."""
    p = Path(path) if path is not None else DOCS_PATH
    p.write_text(report(sources=True), encoding="utf-8")
    return p


__all__ = ["Hardware", "HardwareSpec", "UnsupportedPrecisionError", "CATEGORIES", "HARDWARE_FIELDS",
           "NODE_FIELDS", "devices", "report", "unverified", "unverified_report", "write_docs", "DOCS_PATH"]
