"""``HardwareSpec``: one accelerator, SoC or microcontroller, every number with its Source.

A spec holds three kinds of data:

* sourced physical values (:data:`HARDWARE_FIELDS`): memory bandwidth and capacity, power, price,
  interconnect, clock ...; attribute access returns the pint Quantity, :meth:`HardwareSpec.source_of`
  its :class:`~mlsysim.core.sources.Source`;
* two tables of peak compute per precision: ``peak_flops_table`` (dense rates, the ones used by
  default) and ``sparse_peak_flops_table`` (vendors' 2:4-structured-sparsity marketing rates, recorded
  for reference and never used unless asked for explicitly);
* plain labels (``key``, ``name``, ``vendor``, ``year``, ``category``, ``interconnect_name``,
  ``memory_type``, ``description``), which need no source.

Conventions
-----------
* ``peak_flops(p)`` is the highest *dense* rate the device's datasheet gives for precision ``p``: where a
  device has matrix/tensor units for ``p`` (e.g. FP64 Tensor Core), the matrix rate; the vector rate is
  then quoted in the source note. Integer rates (TOPS) are stored as operations per second, and one
  operation counts as one FLOP (``units.txt``).
* Capacities keep the datasheet's own prefix: ``80 GB`` (decimal) for an H100, ``32 GiB`` for a TPU v4.
  Microcontroller datasheets write "KB"/"MB" for binary sizes (520 KB of SRAM = 532,480 bytes); these
  are stored in KiB/MiB and the note says so.
* ``interconnect_bandwidth`` is per device, in the convention the vendor quotes (NVLink: total of both
  directions); each value's source note states the convention.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Mapping

import pint

from ..core.errors import DomainError, UnitError, UnknownNameError, UnknownVariableError, SourceError
from ..core.precision import PRECISIONS, normalize_precision
from ..core.sources import Source, Sourced
from ..core.specs import SourcedSpec
from ..core.units import parse_quantity, unit

#: device categories, from datacentre to microcontroller
CATEGORIES = ("cloud", "workstation", "mobile", "edge", "tiny")

#: sourced fields: name -> (unit the value must be convertible to, description)
HARDWARE_FIELDS: dict[str, tuple[str, str]] = {
    "memory_bandwidth": ("byte/s", "main-memory (HBM, GDDR, LPDDR, SRAM) bandwidth"),
    "memory_capacity": ("byte", "main-memory capacity"),
    "sram": ("byte", "on-chip SRAM (microcontrollers)"),
    "flash": ("byte", "flash storage for weights and code (microcontrollers)"),
    "tdp": ("W", "thermal design power (board/module power at full load)"),
    "idle_power": ("W", "power when idle"),
    "unit_price": ("USD", "purchase price of one device"),
    "interconnect_bandwidth": ("byte/s", "device-to-device link bandwidth per device (NVLink, ICI, ...)"),
    "pcie_bandwidth": ("byte/s", "host link (PCIe) bandwidth"),
    "host_link_bandwidth": ("byte/s", "device-host link bandwidth per device, each direction (PCIe, NVLink-C2C): "
                                      "the link offloaded optimizer state, activations and weights cross"),
    "host_memory_capacity": ("byte", "host (CPU) memory of the reference node, shared by its devices_per_node "
                                     "devices"),
    "clock": ("Hz", "core clock (microcontrollers)"),
}

#: sourced node-topology fields: name -> (Python type of the value, description). They describe the
#: reference node the device ships in (DGX/HGX board, TPU host, a bridged pair of PCIe cards) and are the
#: defaults of :class:`~mlsysim.systems.fleet.Fleet` and of the serving solver's tensor-parallel link.
#: Fabric values are names in ``mlsysim.Fabrics`` (layer D resolves them; this layer imports nothing above it).
NODE_FIELDS: dict[str, tuple[type, str]] = {
    "devices_per_node": (int, "devices joined by the intra-node fabric in the reference node [count]"),
    "intra_node_fabric": (str, "fabric inside the node (a mlsysim.Fabrics name)"),
    "inter_node_fabric": (str, "fabric between nodes, one NIC per device (a mlsysim.Fabrics name)"),
}

#: plain attributes that need no source
LABELS = ("name", "vendor", "year", "category", "interconnect_name", "memory_type", "description")

_PEAK_UNIT = "FLOP/s"
_PEAK_TABLES = {"peak_flops": "peak_flops_table", "sparse_peak_flops": "sparse_peak_flops_table"}


class UnsupportedPrecisionError(UnknownNameError, DomainError):
    """The device has no published peak rate for the precision asked for.

    It is both an :class:`~mlsysim.core.errors.UnknownNameError` (the name is not in the device's
    table) and a :class:`~mlsysim.core.errors.DomainError` (the precision is outside what the device
    supports); the message lists the precisions the device does support.
    """


def with_note(source: Source, note: str) -> Source:
    """The same citation with a value-specific ``note`` (a convention, a conversion, a caveat)."""
    return dataclasses.replace(source, note=note)


def caller_source(what: str, old: Sourced | None) -> Source:
    """The Source of a value overridden by the caller (kind ``assumption``)."""
    if old is None:
        note = f"{what}: no published value; set by the caller"
    else:
        note = f"{what}: overrides {_fmt(old.value)} ({old.source.short()})"
    return Source("value given by the caller", kind="assumption", note=note)


def _fmt(q) -> str:
    if isinstance(q, pint.Quantity):
        return f"{q.magnitude:g} {q.units:~P}"
    return f"{q:g}" if isinstance(q, (int, float)) else str(q)


def _check_quantity(owner: str, field: str, sourced: Any, expected: str) -> Sourced:
    """Validate one sourced value: a Sourced Quantity of the expected dimension, finite and > 0."""
    if not isinstance(sourced, Sourced):
        raise SourceError(f"{owner}: {field} = {sourced!r} has no Source; wrap it with sv(value, unit, source)")
    q = sourced.value
    target = unit(expected)
    if not isinstance(q, pint.Quantity):
        raise UnitError(f"{owner}: {field} needs a quantity in {expected} ({target.dimensionality}); "
                        f"got the plain number {q!r}")
    if q.dimensionality != target.dimensionality:
        raise UnitError(f"{owner}: {field} needs units of {target.dimensionality} (e.g. {expected}); "
                        f"got {_fmt(q)} with dimension {q.dimensionality}")
    m = q.magnitude
    try:
        ok = float(m) > 0 and float(m) != float("inf")
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DomainError(f"{owner}: {field} must be a finite number > 0; got {_fmt(q)}")
    return sourced


def _check_node_value(owner: str, field: str, sourced: Any) -> Sourced:
    """Validate one node-topology value: a Sourced whole number >= 1, or a Sourced non-empty name."""
    if not isinstance(sourced, Sourced):
        raise SourceError(f"{owner}: {field} = {sourced!r} has no Source; wrap it with sv(value, None, source)")
    v = sourced.value
    if NODE_FIELDS[field][0] is int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise DomainError(f"{owner}: {field} must be a whole number >= 1 (devices); got {v!r}")
    elif not isinstance(v, str) or not v.strip():
        raise DomainError(f"{owner}: {field} must be the name of a fabric in mlsysim.Fabrics "
                          f"(e.g. 'NVLink4'); got {v!r}")
    return sourced


class HardwareSpec(SourcedSpec):
    """One device of the hardware registry.

    Parameters
    ----------
    key : str
        Registry name, e.g. ``"H100"``.
    name : str
        Full product name, e.g. ``"NVIDIA H100 SXM5 80GB"``.
    vendor : str
        Manufacturer.
    year : int
        Year the device (in this configuration) was released.
    category : str
        One of :data:`CATEGORIES`: ``cloud``, ``workstation``, ``mobile``, ``edge``, ``tiny``.
    peak_flops : dict of str to Sourced
        Dense peak compute per precision [FLOP/s], e.g. ``{"bf16": sv(989.4, "TFLOP/s", SRC)}``.
        Keys are normalised with :func:`~mlsysim.core.precision.normalize_precision`.
    sparse_peak_flops : dict of str to Sourced, optional
        2:4 structured-sparsity peaks as marketed [FLOP/s]; recorded, never used by default.
    interconnect_name, memory_type, description : str, optional
        Labels (no source needed).
    **fields : Sourced
        Any of :data:`HARDWARE_FIELDS` (all optional): ``memory_bandwidth`` [byte/s],
        ``memory_capacity`` [byte], ``sram`` [byte], ``flash`` [byte], ``tdp`` [W], ``idle_power`` [W],
        ``unit_price`` [USD], ``interconnect_bandwidth`` [byte/s], ``pcie_bandwidth`` [byte/s],
        ``host_link_bandwidth`` [byte/s, each direction], ``host_memory_capacity`` [byte, per node],
        ``clock`` [Hz]; and the node topology (:data:`NODE_FIELDS`): ``devices_per_node`` [count],
        ``intra_node_fabric`` and ``inter_node_fabric`` (``mlsysim.Fabrics`` names), each sourced with
        ``sv(value, None, source)``.

    Raises
    ------
    SourceError
        A value comes without a Source.
    UnitError
        A value has the wrong dimension (e.g. a bandwidth in bytes).
    DomainError
        A value is not a finite positive number, or ``category`` is not one of :data:`CATEGORIES`.
    UnknownVariableError
        A keyword names no field.
    """

    FIELDS = {**{k: v[1] for k, v in HARDWARE_FIELDS.items()}, **{k: v[1] for k, v in NODE_FIELDS.items()}}
    OPTIONAL = set(HARDWARE_FIELDS) | set(NODE_FIELDS)

    def __init__(self, key: str, name: str, *, vendor: str, year: int, category: str,
                 peak_flops: Mapping[str, Sourced],
                 sparse_peak_flops: Mapping[str, Sourced] | None = None,
                 interconnect_name: str | None = None, memory_type: str | None = None,
                 description: str = "", **fields: Any):
        super().__init__(key, name, **fields)
        for f, sourced in self._values.items():
            if f in NODE_FIELDS:
                _check_node_value(key, f, sourced)
            else:
                _check_quantity(key, f, sourced, HARDWARE_FIELDS[f][0])
        if category not in CATEGORIES:
            raise DomainError(f"{key}: category must be one of {', '.join(CATEGORIES)}; got {category!r}")
        self.vendor = vendor
        self.year = int(year)
        self.category = category
        self.interconnect_name = interconnect_name
        self.memory_type = memory_type
        self.description = description
        self.overridden: list[str] = []
        self.peak_flops_table: dict[str, Sourced] = self._peak_table("peak_flops", peak_flops)
        self.sparse_peak_flops_table: dict[str, Sourced] = self._peak_table("sparse_peak_flops",
                                                                            sparse_peak_flops or {})

    def _peak_table(self, what: str, table: Mapping[str, Sourced]) -> dict[str, Sourced]:
        if not isinstance(table, Mapping):
            raise UnitError(f"{self.key}: {what} must be a dict precision -> sv(value, 'TFLOP/s', source); "
                            f"got {table!r}")
        out = {}
        for p, sourced in table.items():
            p = normalize_precision(p)
            out[p] = _check_quantity(self.key, f"{what}:{p}", sourced, _PEAK_UNIT)
        # canonical order (fp64 ... fp4), so reports and error messages are stable
        return {p: out[p] for p in PRECISIONS if p in out}

    # ------------------------------------------------------------------ peak compute
    @property
    def precisions(self) -> list[str]:
        """Precisions with a published dense peak rate, in :data:`~mlsysim.core.precision.PRECISIONS` order."""
        return list(self.peak_flops_table)

    @property
    def sparse_precisions(self) -> list[str]:
        """Precisions with a recorded 2:4-sparsity marketing peak."""
        return list(self.sparse_peak_flops_table)

    def _lookup(self, table_name: str, precision: str) -> Sourced:
        table = getattr(self, table_name)
        label = "sparse (2:4) peak" if table_name.startswith("sparse") else "dense peak"
        try:
            p = normalize_precision(precision)
        except UnknownNameError as exc:
            raise UnsupportedPrecisionError(f"{exc}; {self.key} supports: {', '.join(table) or 'none'}") from None
        if p not in table:
            raise UnsupportedPrecisionError(
                f"{self.key} ({self.name}) has no published {label} for precision {p!r}; "
                f"it supports: {', '.join(table) or 'none'}")
        return table[p]

    def peak_flops(self, precision: str) -> pint.Quantity:
        """Dense peak compute rate at ``precision``.

        Parameters
        ----------
        precision : str
            ``"bf16"``, ``"fp8"``, ``"int8"``... (case-insensitive; see :attr:`precisions`).

        Returns
        -------
        Quantity
            Peak rate [FLOP/s] (integer rates as OP/s, one OP = one FLOP).

        Raises
        ------
        UnsupportedPrecisionError
            (an ``UnknownNameError`` and a ``DomainError``) when the device has no published rate for
            ``precision``; the message lists the precisions it supports.
        """
        return self._lookup("peak_flops_table", precision).value

    def sparse_peak_flops(self, precision: str) -> pint.Quantity:
        """2:4 structured-sparsity marketing peak at ``precision`` [FLOP/s]; never used by default."""
        return self._lookup("sparse_peak_flops_table", precision).value

    # ------------------------------------------------------------------ sources
    def source_of(self, field: str) -> Source:
        """The Source of a field (``"memory_bandwidth"``) or a peak (``"peak_flops:bf16"``,
        ``"sparse_peak_flops:fp8"``)."""
        if isinstance(field, str) and ":" in field:
            table, _, precision = field.partition(":")
            if table not in _PEAK_TABLES:
                raise UnknownVariableError(f"{self.key}: {field!r} is not a field; peak entries are written "
                                           f"'peak_flops:<precision>' or 'sparse_peak_flops:<precision>'")
            return self._lookup(_PEAK_TABLES[table], precision).source
        if (field in HARDWARE_FIELDS or field in NODE_FIELDS) and field not in self._values:
            raise UnknownVariableError(f"{self.key} has no published {field}; its sourced fields are "
                                       f"{', '.join(self.sourced_fields())}")
        return super().source_of(field)

    def sourced_fields(self) -> dict[str, Sourced]:
        """Every sourced value: the fields, then ``peak_flops:<p>`` and ``sparse_peak_flops:<p>`` entries."""
        out = dict(self._values)
        out.update({f"peak_flops:{p}": s for p, s in self.peak_flops_table.items()})
        out.update({f"sparse_peak_flops:{p}": s for p, s in self.sparse_peak_flops_table.items()})
        return out

    def get(self, field: str, default=None):
        """A field's value, or ``default`` where the device has no published value."""
        if field not in HARDWARE_FIELDS and field not in NODE_FIELDS:
            close = difflib.get_close_matches(str(field), list(HARDWARE_FIELDS) + list(NODE_FIELDS), n=3)
            raise UnknownVariableError(f"HardwareSpec has no field {field!r}"
                                       + (f"; did you mean {', '.join(close)}?" if close else ""))
        s = self._values.get(field)
        return default if s is None else s.value

    # ------------------------------------------------------------------ what-if copies
    def replace(self, **overrides: Any) -> "HardwareSpec":
        """A modified copy for what-if and inverse questions.

        Parameters
        ----------
        **overrides
            Field values as pint Quantities or strings such as ``"4 TB/s"`` (their Source becomes an
            ``assumption`` "value given by the caller" that names the value it replaces), or
            :class:`~mlsysim.core.sources.Sourced` values (kept with their own source); ``None`` removes a
            field. ``peak_flops`` / ``sparse_peak_flops`` take a dict ``{precision: Quantity}`` merged into
            the table. Labels (``name``, ``vendor``, ``year``, ``category``, ``interconnect_name``,
            ``memory_type``, ``description``) are plain values.

        Returns
        -------
        HardwareSpec
            A new spec with the same ``key``; the original is unchanged. ``overridden`` lists the names
            of the values the caller set.

        Raises
        ------
        UnknownVariableError, UnitError, DomainError
            Unknown field, wrong unit, or a value that is not finite and positive.
        """
        values = dict(self._values)
        tables = {t: dict(getattr(self, attr)) for t, attr in _PEAK_TABLES.items()}
        labels = {lab: getattr(self, lab) for lab in LABELS}
        overridden = list(self.overridden)
        for f, v in overrides.items():
            if f in LABELS:
                labels[f] = v
            elif f in _PEAK_TABLES:
                if not isinstance(v, Mapping):
                    raise UnitError(f"{self.key}.replace: {f} takes a dict {{precision: Quantity}}, e.g. "
                                    f"{f}={{'bf16': Q_(1000, 'TFLOP/s')}}; got {v!r}")
                for p, q in v.items():
                    p = normalize_precision(p)
                    name = f"{f}:{p}"
                    if q is None:
                        tables[f].pop(p, None)
                    else:
                        tables[f][p] = self._caller_value(name, q, tables[f].get(p))
                    overridden.append(name)
            elif f in HARDWARE_FIELDS or f in NODE_FIELDS:
                if v is None:
                    values.pop(f, None)
                else:
                    values[f] = self._caller_value(f, v, values.get(f))
                overridden.append(f)
            else:
                accepted = list(HARDWARE_FIELDS) + list(NODE_FIELDS) + list(_PEAK_TABLES) + list(LABELS)
                close = difflib.get_close_matches(str(f), accepted, n=3)
                raise UnknownVariableError(
                    f"{self.key}.replace: unknown field {f!r}"
                    + (f"; did you mean {', '.join(close)}?" if close else f"; accepted: {', '.join(accepted)}"))
        new = HardwareSpec(self.key, labels.pop("name"), peak_flops=tables["peak_flops"],
                           sparse_peak_flops=tables["sparse_peak_flops"], **labels, **values)
        new.overridden = list(dict.fromkeys(overridden))
        return new

    with_values = replace

    def _caller_value(self, what: str, value: Any, old: Sourced | None) -> Sourced:
        if isinstance(value, Sourced):
            return value
        if what in NODE_FIELDS:
            key = getattr(value, "key", value)       # a NetworkFabric object stands for its name
            return _check_node_value(self.key, what, Sourced(key, caller_source(f"{self.key}.{what}", old)))
        if isinstance(value, str):
            value = parse_quantity(value)
        if not isinstance(value, pint.Quantity):
            expected = _PEAK_UNIT if ":" in what else HARDWARE_FIELDS[what][0]
            raise UnitError(f"{self.key}.replace: {what} needs a quantity in {expected}; got the plain number "
                            f"{value!r}. Pass e.g. Q_({value!r}, '{expected}')")
        return Sourced(value, caller_source(f"{self.key}.{what}", old))

    # ------------------------------------------------------------------ display
    def describe(self, sources: bool = True) -> str:
        """A markdown table of every value of this device; with ``sources``, each value's source kind
        (its trust level: ``datasheet`` ... ``secondary``, ``assumption``) and citation."""
        head = "| quantity | value | kind | source |" if sources else "| quantity | value |"
        rule = "|---|---|---|---|" if sources else "|---|---|"
        rows = [head, rule]
        for f, s in self.sourced_fields().items():
            cells = [f"`{f}`", _fmt(s.value)]
            if sources:
                kind = s.source.kind if s.source.is_primary else f"**{s.source.kind}**"
                cells += [kind, _source_cell(s.source) + (f" Note: {s.note}" if s.note else "")]
            rows.append("| " + " | ".join(_md(c) for c in cells) + " |")
        return "\n".join(rows)

    def _repr_markdown_(self) -> str:
        return f"**{self.key}**: {self.name} ({self.vendor}, {self.year}, {self.category})\n\n" + self.describe()

    def __repr__(self):
        peak = ", ".join(f"{p} {_fmt(s.value)}" for p, s in self.peak_flops_table.items())
        return f"<HardwareSpec {self.key}: {self.name} [{self.category}]; dense peak {peak}>"


def _source_cell(src: Source) -> str:
    text = src.short()
    if src.note:
        text += f". {'Why' if not src.is_primary else 'Note'}: {src.note}"
    if src.url:
        text += f" <{src.url}>"
    return text


def _md(text: str) -> str:
    """Escape a table cell (pipes and newlines)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


__all__ = ["HardwareSpec", "CATEGORIES", "HARDWARE_FIELDS", "NODE_FIELDS", "LABELS", "UnsupportedPrecisionError",
           "caller_source", "with_note"]
