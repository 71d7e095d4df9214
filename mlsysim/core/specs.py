"""Registry entries whose every value carries its own Source (hardware, grids, fabrics, ...).

A :class:`SourcedSpec` stores ``{field: Sourced(value, source)}``; attribute access returns the
value (a pint Quantity), ``source_of(field)`` its :class:`~mlsysim.core.sources.Source`.
"""
from __future__ import annotations

import difflib
from typing import Any

from .errors import MissingValueError, SourceError, UnknownVariableError
from .sources import Source, Sourced, is_primary, require_source
from .units import Q_


def sv(value, unit: str | None, source: Source, note: str = "") -> Sourced:
    """A sourced value: ``sv(3.35, "TB/s", NVIDIA_H100_DATASHEET)``; ``unit=None`` for plain numbers."""
    require_source(source, f"value {value!r} {unit or ''}")
    q = Q_(value, unit) if unit is not None else value
    return Sourced(q, source, note)


class SourcedSpec:
    """Base class of registry entries made of sourced values.

    Subclasses list their fields in ``FIELDS`` (name -> description) and may set ``OPTIONAL``.
    Every field value must be a :class:`~mlsysim.core.sources.Sourced` (use :func:`sv`).
    """

    FIELDS: dict[str, str] = {}
    OPTIONAL: set[str] = set()

    def __init__(self, key: str, name: str, **fields: Any):
        self.key = key
        self.name = name
        self._values: dict[str, Sourced] = {}
        for f, v in fields.items():
            if f not in self.FIELDS:
                close = difflib.get_close_matches(f, list(self.FIELDS), n=3)
                raise UnknownVariableError(f"{type(self).__name__} has no field {f!r}"
                                           + (f"; did you mean {', '.join(close)}?" if close else ""))
            if v is None:
                continue
            if not isinstance(v, Sourced):
                raise SourceError(f"{type(self).__name__} {key}: field {f} = {v!r} has no Source; wrap it with sv()")
            self._values[f] = v
        missing = [f for f in self.FIELDS if f not in self._values and f not in self.OPTIONAL]
        if missing:
            raise SourceError(f"{type(self).__name__} {key}: missing required field(s) {', '.join(missing)}")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        vals = self.__dict__.get("_values", {})
        if name in vals:
            return vals[name].value
        if name in type(self).FIELDS:
            raise MissingValueError(f"{self.key} has no published {name} ({type(self).FIELDS[name]})")
        raise AttributeError(f"{type(self).__name__} {self.__dict__.get('key')} has no attribute {name!r}")

    def has(self, field: str) -> bool:
        return field in self._values

    def source_of(self, field: str) -> Source:
        """The Source of one field's value."""
        if field not in self._values:
            known = ", ".join(self._values)
            raise UnknownVariableError(f"{self.key} has no sourced field {field!r}; it has {known}")
        return self._values[field].source

    def sourced_fields(self) -> dict[str, Sourced]:
        """Every field with its value and Source (for reports and the registry-wide source test)."""
        return dict(self._values)

    def unverified_fields(self) -> dict[str, Source]:
        """Every value whose Source is not primary (``derived``, ``secondary``, ``assumption``, fitted...):
        ``{field: Source}``, in :meth:`sourced_fields` order. A verdict resting on one of these should say so."""
        return {f: s.source for f, s in self.sourced_fields().items() if not is_primary(s.source)}

    def __repr__(self):
        return f"<{type(self).__name__} {self.key}: {self.name}>"
