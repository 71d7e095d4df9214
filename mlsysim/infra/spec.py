"""Registry entries of layer C: electricity grids (:class:`GridRegion`) and datacentres
(:class:`DatacenterProfile`), and the :class:`InfraRegistry` that holds both.

Every value is a :class:`~mlsysim.core.sources.Sourced` quantity (see :func:`~mlsysim.core.specs.sv`);
the units each field must carry are listed in ``UNITS`` and checked at construction, so a grid built
with a carbon intensity in kWh/g, or a PUE below 1, raises the documented error at once.
"""
from __future__ import annotations

import math
from typing import Any

import pint

from ..core.errors import DomainError, MissingValueError, UnitError, UnknownNameError, UnknownVariableError
from ..core.registry import Registry
from ..core.sources import Source, Sourced
from ..core.specs import SourcedSpec
from ..core.units import Q_, parse_quantity, unit

#: Accepted values of :attr:`GridRegion.basis`.
BASES = ("direct", "lifecycle")

CALLER = "value given by the caller"


def _check_value(owner: str, field: str, value: Any, unit_spec: str | None) -> None:
    """Raise UnitError / DomainError when ``value`` is not a finite, non-negative ``unit_spec`` quantity
    (PUE: a plain number >= 1)."""
    if unit_spec is None:
        if isinstance(value, pint.Quantity):
            if not value.dimensionless:
                raise UnitError(f"{owner}: {field} is dimensionless (a ratio, e.g. 1.1); got {value:~P}")
            value = value.to("").magnitude
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DomainError(f"{owner}: {field} must be a number (e.g. 1.1); got {value!r}")
        mag = float(value)
    else:
        target = unit(unit_spec)
        if not isinstance(value, pint.Quantity):
            raise UnitError(f"{owner}: {field} needs a quantity in {unit_spec} "
                            f"(e.g. Q_(1, '{unit_spec}')); got the plain value {value!r}")
        if value.dimensionality != target.dimensionality:
            raise UnitError(f"{owner}: {field} needs units of {unit_spec} ({target.dimensionality}); "
                            f"got {value:~P} ({value.dimensionality})")
        mag = value.magnitude
        if not isinstance(mag, (int, float)) or isinstance(mag, bool):
            raise DomainError(f"{owner}: {field} must be a scalar quantity; got {value!r}")
        mag = float(mag)
    if not math.isfinite(mag) or mag < 0:
        raise DomainError(f"{owner}: {field} must be finite and >= 0; got {value!r}")
    if field == "pue" and mag < 1.0:
        raise DomainError(f"{owner}: pue is facility energy / IT energy and cannot be below 1; got {mag!r}")


def _show(value: Any) -> str:
    """A value as short text: ``662 g/kWh`` for a Quantity, ``1.09`` for a number."""
    return f"{value:.6g~P}" if isinstance(value, pint.Quantity) else f"{value:.6g}"


class _InfraSpec(SourcedSpec):
    """Shared behaviour: unit checks at construction, :meth:`replace`, :meth:`value_of`."""

    UNITS: dict[str, str | None] = {}

    def __init__(self, key: str, name: str, description: str = "", **fields: Any):
        super().__init__(key, name, **fields)
        self.description = description
        for f, sourced in self._values.items():
            _check_value(f"{type(self).__name__} {key}", f, sourced.value, self.UNITS[f])

    def __getattr__(self, name: str):
        if not name.startswith("_") and name in type(self).FIELDS and name not in self.__dict__.get("_values", {}):
            raise MissingValueError(
                f"{type(self).__name__} {self.__dict__.get('key')} has no published {name} "
                f"({type(self).FIELDS[name]}); check with .has({name!r}) or supply one with "
                f".replace({name}=...)")
        return super().__getattr__(name)

    def value_of(self, field: str, unit_spec: str | None = None) -> float:
        """Magnitude of one field as a float, in ``unit_spec`` (default: the field's canonical unit)."""
        if field not in self._values:
            raise UnknownVariableError(f"{self.key} has no value for {field!r}; it has {', '.join(self._values)}")
        v = self._values[field].value
        u = unit_spec or self.UNITS[field]
        if u is None:
            return float(v.to("").magnitude if isinstance(v, pint.Quantity) else v)
        return float(v.to(u).magnitude)

    def _caller_values(self, overrides: dict[str, Any]) -> dict[str, Sourced]:
        """Validate caller overrides and wrap each with a Source of kind ``assumption``."""
        out: dict[str, Sourced] = {}
        for f, v in overrides.items():
            if f not in self.FIELDS:
                import difflib
                close = difflib.get_close_matches(f, list(self.FIELDS), n=3)
                raise UnknownVariableError(
                    f"{type(self).__name__}.replace: no field {f!r}; fields are {', '.join(self.FIELDS)}"
                    + (f" (did you mean {', '.join(close)}?)" if close else ""))
            if v is None:
                out[f] = None
                continue
            if isinstance(v, Sourced):
                out[f] = v
                continue
            if isinstance(v, str):
                v = parse_quantity(v)
                if self.UNITS[f] is None:
                    v = v.to("").magnitude if v.dimensionless else v
            _check_value(f"{self.key}.replace", f, v, self.UNITS[f])
            old = self._values.get(f)
            note = (f"overrides {_show(old.value)} ({old.source.short()})" if old is not None
                    else "no published value was registered")
            out[f] = Sourced(v, Source(CALLER, kind="assumption", note=note))
        return out


class DatacenterProfile(_InfraSpec):
    """A kind of datacentre: how much facility energy and on-site water it needs per unit of IT energy.

    Parameters
    ----------
    key : str
        Registry name (``"Hyperscale"``).
    name : str
        Human-readable name.
    pue : Sourced
        Power usage effectiveness, facility energy / IT energy, >= 1 [1].
    wue : Sourced, optional
        Water usage effectiveness, site water for cooling and humidification / IT energy [L/kWh].
    description : str, optional
        What the profile stands for.
    """

    FIELDS = {
        "pue": "power usage effectiveness: facility energy / IT energy [1]",
        "wue": "water usage effectiveness: site water / IT energy [L/kWh]",
    }
    OPTIONAL = {"wue"}
    UNITS = {"pue": None, "wue": "L/kWh"}

    def replace(self, **overrides: Any) -> "DatacenterProfile":
        """A copy with caller-given ``pue``/``wue`` (Source: kind ``assumption``, "value given by the caller")."""
        values = dict(self._values)
        for f, s in self._caller_values(overrides).items():
            if s is None:
                values.pop(f, None)
            else:
                values[f] = s
        return DatacenterProfile(self.key, self.name, description=self.description, **values)


class GridRegion(_InfraSpec):
    """An electricity grid (country, state or datacentre site) and the typical datacentre on it.

    Parameters
    ----------
    key : str
        Registry name (``"Poland"``).
    name : str
        Human-readable name.
    basis : {"direct", "lifecycle"}
        Whether ``carbon_intensity`` counts only the operational (combustion) emissions of generation
        (``"direct"``) or the life-cycle emissions of the generating fleet (``"lifecycle"``).
    year : int
        Year the carbon intensity refers to (the data year; the publication year where the source
        gives no data year; the source's locator says which).
    carbon_intensity : Sourced
        Grid emissions per unit of electricity [g/kWh, CO2e].
    pue : Sourced
        PUE of a typical datacentre in the region [1].
    electricity_price : Sourced, optional
        Industrial electricity price [USD/kWh].
    wue : Sourced, optional
        WUE of a typical datacentre in the region [L/kWh of IT energy].
    water_intensity : Sourced, optional
        Off-site water consumed to generate the electricity [L/kWh].
    datacenter : str, optional
        Registry name of the :class:`DatacenterProfile` whose PUE/WUE the region uses, if any.
    """

    FIELDS = {
        "carbon_intensity": "grid emissions per energy [g/kWh CO2e]",
        "electricity_price": "industrial electricity price [USD/kWh]",
        "pue": "PUE of a typical datacentre in the region [1]",
        "wue": "WUE of a typical datacentre in the region [L/kWh]",
        "water_intensity": "off-site water of electricity generation [L/kWh]",
    }
    OPTIONAL = {"electricity_price", "wue", "water_intensity"}
    UNITS = {"carbon_intensity": "g/kWh", "electricity_price": "USD/kWh", "pue": None, "wue": "L/kWh",
             "water_intensity": "L/kWh"}

    def __init__(self, key: str, name: str, *, basis: str, year: int, description: str = "",
                 datacenter: str | None = None, **fields: Any):
        if basis not in BASES:
            raise DomainError(f"GridRegion {key}: basis must be one of {BASES}; got {basis!r}")
        if isinstance(year, bool) or not isinstance(year, int) or not (1990 <= year <= 2100):
            raise DomainError(f"GridRegion {key}: year must be an integer year such as 2023; got {year!r}")
        super().__init__(key, name, description=description, **fields)
        self.basis = basis
        self.year = year
        self.datacenter = datacenter

    def _copy(self, values: dict[str, Sourced], **attrs: Any) -> "GridRegion":
        kw = dict(basis=self.basis, year=self.year, description=self.description, datacenter=self.datacenter)
        kw.update(attrs)
        return GridRegion(self.key, self.name, **kw, **values)

    def with_datacenter(self, profile: "DatacenterProfile | str") -> "GridRegion":
        """A copy of the region whose ``pue`` and ``wue`` are those of ``profile`` (sources carried over).

        Parameters
        ----------
        profile : DatacenterProfile or str
            A profile, or its registry name (``"Hyperscale"``).

        Returns
        -------
        GridRegion
            The copy; the original is unchanged. If the profile publishes no WUE, the copy has none.
        """
        if isinstance(profile, str):
            from . import Infra
            name = profile
            profile = Infra.get(name)
            if not isinstance(profile, DatacenterProfile):
                raise UnknownNameError(f"{name!r} is a grid region, not a datacentre profile; "
                                       f"profiles are {', '.join(Infra.datacenters())}")
        if not isinstance(profile, DatacenterProfile):
            raise UnknownNameError(f"with_datacenter needs a DatacenterProfile or its name "
                                   f"(e.g. 'Hyperscale'); got {profile!r}")
        values = dict(self._values)
        values.pop("wue", None)
        for f in ("pue", "wue"):
            if profile.has(f):
                values[f] = profile.sourced_fields()[f]
        return self._copy(values, datacenter=profile.key)

    def replace(self, basis: str | None = None, year: int | None = None, **overrides: Any) -> "GridRegion":
        """A copy with caller-given values.

        Each overridden value gets a Source of kind ``assumption`` with citation "value given by the
        caller" (its note names the value it replaced). Values are pint Quantities or strings such as
        ``"57 g/kWh"``; ``pue`` is a plain number. ``None`` removes an optional value.

        Parameters
        ----------
        basis : {"direct", "lifecycle"}, optional
            Basis of a caller-given carbon intensity (default: unchanged).
        year : int, optional
            Year of a caller-given carbon intensity (default: unchanged).
        **overrides
            ``carbon_intensity`` [g/kWh], ``electricity_price`` [USD/kWh], ``pue`` [1], ``wue`` [L/kWh],
            ``water_intensity`` [L/kWh].

        Raises
        ------
        UnknownVariableError
            A keyword names no field.
        UnitError
            A value has the wrong unit.
        DomainError
            A value is negative, not finite, or a PUE below 1.
        """
        values = dict(self._values)
        for f, s in self._caller_values(overrides).items():
            if s is None:
                if f not in self.OPTIONAL:
                    raise DomainError(f"{self.key}.replace: {f} is required and cannot be removed")
                values.pop(f, None)
            else:
                values[f] = s
        attrs: dict[str, Any] = {}
        if basis is not None:
            attrs["basis"] = basis
        if year is not None:
            attrs["year"] = year
        if "pue" in overrides or "wue" in overrides:
            attrs["datacenter"] = None
        return self._copy(values, **attrs)

    def __repr__(self):
        ci = self._values["carbon_intensity"].value
        return f"<GridRegion {self.key}: {ci.to('g/kWh').magnitude:g} g/kWh ({self.basis}, {self.year})>"


class InfraRegistry(Registry):
    """The ``Infra`` registry: grid regions and datacentre profiles side by side.

    ``Infra.Poland`` is a :class:`GridRegion`, ``Infra.Hyperscale`` a :class:`DatacenterProfile`;
    :meth:`regions` and :meth:`datacenters` list the names of each kind.
    """

    def __init__(self, kind: str = "infrastructure"):
        super().__init__(kind)  # the base Registry keeps the registration order
        self._kind_of: dict[str, str] = {}

    def register_region(self, name: str, factory):
        """Register a :class:`GridRegion` built lazily by ``factory()``."""
        self.register(name, factory=factory)
        self._kind_of[name] = "region"

    def register_datacenter(self, name: str, factory):
        """Register a :class:`DatacenterProfile` built lazily by ``factory()``."""
        self.register(name, factory=factory)
        self._kind_of[name] = "datacenter"

    def regions(self) -> list[str]:
        """Names of the grid regions."""
        return [n for n in self.names() if self._kind_of.get(n) == "region"]

    def datacenters(self) -> list[str]:
        """Names of the datacentre profiles."""
        return [n for n in self.names() if self._kind_of.get(n) == "datacenter"]


def converted_price(amount: float, local_unit: str, per_usd: float, *, citation: str, year: int,
                    locator: str, url: str, rate_note: str) -> Sourced:
    """A local-currency electricity price converted to USD/kWh, with a ``derived`` Source.

    Parameters
    ----------
    amount : float
        Price in local currency per kWh [local currency/kWh].
    local_unit : str
        Name of that currency unit, for the note ("CAD", "NOK").
    per_usd : float
        Exchange rate: local currency units per US dollar [local/USD].
    citation, year, locator, url : str, int, str, str
        The primary source of ``amount``.
    rate_note : str
        Where the exchange rate comes from.
    """
    usd = amount / per_usd
    src = Source(
        citation, kind="derived", year=year, locator=locator, url=url,
        note=f"{amount:g} {local_unit}/kWh converted at {per_usd:g} {local_unit} per USD "
             f"({rate_note}): {amount:g} / {per_usd:g} = {usd:.4f} USD/kWh")
    return Sourced(Q_(usd, "USD/kWh"), src)


__all__ = ["GridRegion", "DatacenterProfile", "InfraRegistry", "BASES", "converted_price", "format_value"]

format_value = _show
