"""Energy, carbon and water of a job: :class:`SustainabilitySolver` (and the job binding :class:`JobSolver`
that :class:`~mlsysim.solvers.tco.TCOSolver` shares).

Thin façades over ``Equations.Carbon`` and ``Equations.TCO``: they read sourced values from the
registries (a hardware entry's ``tdp``/``idle_power``/``unit_price``, a grid region's
``carbon_intensity``/``pue``/``wue``/``electricity_price``, a datacentre profile's ``pue``/``wue``, a
fleet's ``hardware``/``num_devices``/``datacenter``), fill every remaining coefficient from a named
:class:`~mlsysim.core.assumptions.Assumption`, and hand the lot to the equation set. Every number a
result reports was computed by the equation set; no formula is written here.

Examples
--------
>>> from mlsysim import Q_, Hardware, Infra
>>> from mlsysim.solvers.sustainability import SustainabilitySolver
>>> r = SustainabilitySolver().solve(hardware=Hardware.H100, num_devices=1024,
...                                  duration=Q_(30, "day"), region=Infra.Poland)   # doctest: +SKIP
>>> SustainabilitySolver().solve_for("duration", hardware=Hardware.H100, num_devices=1,
...                                  region=Infra.Poland, carbon=Q_(50, "t"))        # doctest: +SKIP
"""
from __future__ import annotations

import importlib
from typing import Any, Mapping, Sequence

import numpy as np
import pint

from ..core.assumptions import Assumption
from ..core.equation_sets.carbon import check_power_inputs
from ..core.equations import EvalResult, fmt_quantity
from ..core.errors import OverdeterminedError, UnderdeterminedError, UnknownVariableError
from ..core.sources import Source, assumption
from ..core.units import Q_
from ..infra import Infra
from .base import Binding, Solver, entry_label, given_source

# ---------------------------------------------------------------------------------- assumptions
#: Average utilization of the idle-to-TDP power range when the caller gives none.
UTILIZATION = Assumption(
    "utilization", 1.0,
    assumption("devices draw their TDP for the whole duration",
               "an upper bound on device energy, and the convention of Luccioni, Viguier & Ligozat 2022 "
               "(arXiv:2211.02001, BLOOM: GPU-hours x TDP); pass utilization= (or a measured power=) to "
               "lower it"),
    "fraction of the idle-to-TDP power range drawn on average [1]")

#: Idle power when the hardware registry publishes none.
IDLE_POWER = Assumption(
    "idle_power", Q_(0.0, "W"),
    assumption("energy-proportional device (after L. A. Barroso, U. Hoelzle, 'The Case for "
               "Energy-Proportional Computing', IEEE Computer 40(12), 2007)",
               "the hardware registry publishes no idle power, so the device is taken as ideally energy "
               "proportional (zero power at zero utilization); this underestimates energy at low "
               "utilization and has no effect at utilization = 1; pass idle_power= to override"),
    "device power when idle [W]")

#: PUE when neither the region nor the datacentre gives one: the registry's industry-average datacentre
#: (``Infra.IndustryAverage``, Uptime Institute survey), value and source read from the entry, not retyped.
PUE = Assumption(
    "pue", Infra.IndustryAverage.pue, Infra.IndustryAverage.source_of("pue"),
    "power usage effectiveness of an average datacentre (Infra.IndustryAverage) [1]")

#: Straight-line depreciation period of the hardware.
LIFETIME = Assumption(
    "lifetime", Q_(4.0, "year"),
    assumption("hardware lifetime for amortization",
               "a planning value inside the 3-6 year range over which servers and accelerators are commonly "
               "depreciated; not a measured value; pass lifetime= to override"),
    "amortization period of the hardware [year]")

#: Default assumptions of the job binding (the TCO solver adds its own in :mod:`mlsysim.solvers.tco`).
DEFAULT_ASSUMPTIONS = {a.name: a for a in (UTILIZATION, IDLE_POWER, PUE, LIFETIME)}


# ---------------------------------------------------------------------------------- registry access
def _field(obj: Any, name: str):
    """``(value, Source)`` of one field of a registry entry, or ``(None, None)`` if it has none."""
    if obj is None:
        return None, None
    has = getattr(obj, "has", None)
    if callable(has):
        try:
            if not has(name):
                return None, None
        except Exception:  # noqa: BLE001 - a foreign object; fall back to attribute access
            pass
    try:
        value = getattr(obj, name)
    except AttributeError:
        return None, None
    if value is None:
        return None, None
    src = None
    source_of = getattr(obj, "source_of", None)
    if callable(source_of):
        try:
            src = source_of(name)
        except Exception:  # noqa: BLE001 - the entry has no source for it; recorded as unknown
            src = None
    if src is None:
        label = getattr(obj, "key", None) or getattr(obj, "name", None) or type(obj).__name__
        src = Source(f"{label}.{name}", kind="assumption", note="the registry entry gave no source for this value")
    return value, src


def _is_grid(obj: Any) -> bool:
    """A grid region (it publishes a carbon intensity), as opposed to a datacentre profile."""
    return obj is not None and "carbon_intensity" in getattr(type(obj), "FIELDS", {})


def _lookup(registry_module: str, registry: str, value: Any):
    """Accept a registry entry or its name."""
    if isinstance(value, str):
        reg = getattr(importlib.import_module(registry_module), registry)
        return reg.get(value)
    return value


def _computable(eqset, known: set, wanted: Sequence[str]) -> list[str]:
    known_f = frozenset(known)
    return [w for w in wanted if w not in known and eqset.input_deps(w, known_f) <= known_f]


def _run(eqset, knowns: dict, wanted: Sequence[str]) -> EvalResult | dict:
    """Evaluate the outputs of ``wanted`` that the knowns determine; derived knowns (a measured
    ``power``) are honoured through forward solves of the equation set."""
    outs = _computable(eqset, set(knowns), wanted)
    if not outs:
        return {}
    if not any(k in eqset.derived for k in knowns):
        return eqset.evaluate(outputs=outs, **knowns)
    merged = {}
    for o in outs:
        if o in merged:
            continue
        sol = eqset.solve(o, **knowns)
        for k in sol.all:
            if k in eqset.derived and k not in knowns:
                merged[k] = sol.all[k]
    return merged


# ---------------------------------------------------------------------------------- results
def _outputs(fields, vals, knowns) -> dict:
    """Computed outputs, plus outputs the caller gave directly (a measured ``power``)."""
    out = {}
    for k in fields:
        if k in vals:
            out[k] = vals[k]
        elif k in knowns:
            out[k] = knowns[k]
    return out


def _fmt(name: str, v) -> str:
    """A result value as text, in the display unit of its variable (:mod:`mlsysim.core.display`)."""
    if v is None:
        return "-"
    if not isinstance(v, pint.Quantity):
        return f"{v:g}" if isinstance(v, (int, float)) else str(v)
    return fmt_quantity(v, name=name)


class _Result:
    """Shared behaviour of the result objects: attribute access, ``to_dict``, readable ``repr``."""

    _fields: tuple = ()
    title = ""

    def __init__(self, values: Mapping[str, Any], binding: Binding, eqset_name: str):
        self._values = dict(values)
        self.binding = binding
        self.knowns = dict(binding.knowns)
        self.sources: dict[str, Source] = dict(binding.sources)
        self.assumptions: list[Assumption] = list(binding.assumptions.values())
        self.hardware = binding.label("hardware")
        self.region = binding.label("region")
        self.datacenter = binding.label("datacenter")
        self.equations = eqset_name

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        vals = self.__dict__.get("_values", {})
        if name in vals:
            return vals[name]
        if name in type(self)._fields:
            return None  # not computable from what was given (e.g. water without a WUE)
        raise AttributeError(f"{type(self).__name__} has no {name!r}; it has {', '.join(type(self)._fields)}")

    def __getitem__(self, name):
        return getattr(self, name)

    def to_dict(self) -> dict:
        """Plain data: every output and input as ``{"value", "unit"}``, the assumptions and sources."""
        def q(v):
            if v is None:
                return None
            if isinstance(v, pint.Quantity):
                m = v.magnitude
                return {"value": m.tolist() if isinstance(m, np.ndarray) else float(m), "unit": f"{v.units:~C}"}
            return {"value": v.tolist() if isinstance(v, np.ndarray) else v, "unit": ""}

        return {
            "hardware": self.hardware, "region": self.region, "datacenter": self.datacenter,
            "equations": self.equations,
            "outputs": {k: q(self._values.get(k)) for k in type(self)._fields},
            "inputs": {k: q(v) for k, v in self.knowns.items()},
            "assumptions": {a.name: {"value": q(a.value)["value"] if q(a.value) else None,
                                     "unit": q(a.value)["unit"] if q(a.value) else "", "source": str(a.source)}
                            for a in self.assumptions},
            "sources": {k: str(s) for k, s in self.sources.items()},
        }

    def __repr__(self):
        head = f"{self.title}: {self.hardware or 'device'} x {self.knowns.get('num_devices')}"
        if self.region:
            head += f" in {self.region}"
        if self.datacenter:
            head += f" ({self.datacenter})"
        lines = [head]
        for k in type(self)._fields:
            v = self._values.get(k)
            if v is not None:
                lines.append(f"  {k:<18} {_fmt(k, v)}")
        if self.assumptions:
            lines.append("  assumptions:")
            lines.extend(f"    {a.name} = {a.value} ({a.source.citation})" for a in self.assumptions)
        return "\n".join(lines)


class SustainabilityResult(_Result):
    """Energy, carbon and water of a job or deployment (from ``Equations.Carbon``).

    Attributes
    ----------
    power : Quantity
        Average power per device [W].
    it_energy, energy : Quantity
        IT (device) and facility energy [kWh].
    carbon : Quantity
        Operational emissions, facility energy x grid intensity [kg CO2e].
    embodied_share : Quantity or None
        Manufacturing emissions amortised to this job (None without ``embodied_carbon``) [kg CO2e].
    total_carbon : Quantity or None
        Operational + embodied share [kg CO2e].
    water, offsite_water, total_water : Quantity or None
        On-site water (WUE x IT energy), off-site water (water intensity x facility energy), total [L].
    assumptions : list of Assumption
        Every assumed coefficient used, with its source (defaults and caller overrides).
    sources : dict
        Source of every input value, by variable name.
    """

    _fields = ("power", "it_energy", "energy", "carbon", "embodied_share", "total_carbon", "water",
               "offsite_water", "total_water")
    title = "Sustainability"


class RegionComparison:
    """Side-by-side :class:`SustainabilityResult` for several regions (same fleet and duration).

    ``rows`` is ``[(region name, result), ...]`` in the order given; ``table()`` renders them;
    ``best(by)`` is the row with the least ``by`` (default ``"carbon"``).
    """

    columns = ("carbon_intensity", "pue", "energy", "carbon", "total_carbon", "water")

    def __init__(self, rows: list):
        self.rows = rows

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, name: str) -> SustainabilityResult:
        for n, r in self.rows:
            if n == name:
                return r
        raise KeyError(f"no region {name!r} in this comparison; it has {', '.join(n for n, _ in self.rows)}")

    def _cell(self, r: SustainabilityResult, c: str):
        return r.knowns.get(c) if c in ("carbon_intensity", "pue") else getattr(r, c)

    def best(self, by: str = "carbon") -> tuple:
        """``(region name, result)`` with the smallest ``by`` [an output name]."""
        if by not in SustainabilityResult._fields:
            raise UnknownVariableError(f"best(by=...) takes an output of {', '.join(SustainabilityResult._fields)}; "
                                       f"got {by!r}")
        rows = [(n, r) for n, r in self.rows if getattr(r, by) is not None]
        if not rows:
            raise UnderdeterminedError(f"no region in the comparison has {by}")
        return min(rows, key=lambda nr: getattr(nr[1], by).to_base_units().magnitude)

    def table(self) -> str:
        """A plain-text table: one row per region."""
        head = ["region", *self.columns]
        body = []
        for n, r in self.rows:
            cells = [n]
            for c in self.columns:
                v = self._cell(r, c)
                cells.append(_fmt(c, v))
            body.append(cells)
        widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
        fmt = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths))  # noqa: E731
        return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *map(fmt, body)])

    def to_dict(self) -> dict:
        return {n: r.to_dict() for n, r in self.rows}

    def __repr__(self):
        return self.table()


# ---------------------------------------------------------------------------------- the job binding
class JobSolver(Solver):
    """Binding of a job (a fleet, or hardware x devices; a duration; a region and datacentre) to the knowns
    of ``Equations.Carbon`` or ``Equations.TCO``. :class:`SustainabilitySolver` and
    :class:`~mlsysim.solvers.tco.TCOSolver` differ only in their set, outputs and result type."""

    registry_arguments = {
        "fleet": "a Systems fleet (or its name): gives hardware, num_devices and datacenter",
        "hardware": "a Hardware entry (or its name): tdp, idle_power, unit_price, embodied_carbon",
        "region": "an Infra grid region (or its name): carbon_intensity, pue, wue, electricity_price",
        "datacenter": "an Infra datacentre profile (or its name): overrides the region's pue and wue",
    }
    measured_outputs = ("power",)
    result_type: type = object

    def bind(self, fleet=None, *, hardware=None, num_devices=None, duration=None, region=None, datacenter=None,
             utilization=None, power=None, _unknown: str | None = None, **overrides) -> Binding:
        """The knowns of the equation set from registry entries, caller values and named assumptions.

        Returns
        -------
        Binding
            ``knowns``, ``assumptions`` (each with its Source), ``sources`` of every input, and
            ``entries`` (the ``fleet``, ``hardware``, ``region``, ``datacenter`` used).
        """
        eqset = self.equations
        self.check_arguments(overrides, allow_targets=True)
        b = Binding()
        if fleet is not None and hardware is not None:
            raise OverdeterminedError("give either fleet= or hardware=, not both (a fleet names its hardware)")
        fleet = _lookup("mlsysim.systems", "Systems", fleet)
        if fleet is not None:
            b.entries["fleet"] = fleet
            hardware = getattr(fleet, "hardware", None)
            if num_devices is None:
                num_devices = getattr(fleet, "num_devices", None)
            if datacenter is None:
                datacenter = getattr(fleet, "datacenter", None)
        hardware = _lookup("mlsysim.hardware", "Hardware", hardware)
        region = _lookup("mlsysim.infra", "Infra", region)
        datacenter = _lookup("mlsysim.infra", "Infra", datacenter)
        if _is_grid(datacenter):
            # a fleet's "datacenter" may name a grid region: it is the region unless one is given explicitly
            if region is None:
                region = datacenter
            datacenter = None
        b.entries.update(hardware=hardware, region=region, datacenter=datacenter)

        # counts and time
        if num_devices is None:
            num_devices = 1
            b.sources["num_devices"] = Source("default of one device", kind="assumption",
                                              note="no fleet and no num_devices given: one device")
        else:
            b.sources["num_devices"] = (Source(f"fleet {entry_label(fleet)}", kind="derived",
                                               note="number of devices of the fleet")
                                        if fleet is not None and getattr(fleet, "num_devices", None) == num_devices
                                        else given_source("num_devices"))
        b.knowns["num_devices"] = num_devices
        if duration is not None:
            b.put("duration", duration, given_source("duration"))

        # device power: a measured average power, or the idle-to-TDP model
        tdp, tdp_src = _field(hardware, "tdp")
        if tdp is not None and "tdp" in eqset.variables:
            b.put("tdp", tdp, tdp_src)
        if power is not None:
            clash = [n for n in ("utilization", "idle_power") if (n == "utilization" and utilization is not None)
                     or (n in overrides and overrides[n] is not None)]
            if clash:
                raise OverdeterminedError(f"a measured power= replaces the idle-to-TDP power model; do not also "
                                          f"pass {', '.join(clash)}")
            b.put("power", power, given_source("power (measured average power per device)"))
        else:
            b.assume(UTILIZATION, utilization)
            idle, idle_src = _field(hardware, "idle_power")
            if overrides.get("idle_power") is not None:
                pass  # set from the overrides below
            elif idle is not None:
                b.put("idle_power", idle, idle_src)
            else:
                b.assume(IDLE_POWER)

        # site: the datacentre's PUE/WUE override the region's typical ones
        site = region
        if region is not None and datacenter is not None:
            site = region.with_datacenter(datacenter) if hasattr(region, "with_datacenter") else None
        for name in ("carbon_intensity", "electricity_price", "pue", "wue", "water_intensity"):
            if name not in eqset.variables:
                continue
            value, src = _field(site, name) if site is not None else (None, None)
            if value is None and name in ("pue", "wue"):
                value, src = _field(datacenter, name)
            if value is None and region is not None and site is None:
                value, src = _field(region, name)
            if value is not None:
                b.put(name, value, src)
        if "pue" not in b.knowns and "pue" not in overrides:
            b.assume(PUE)

        # hardware economics and embodied emissions
        for name in ("unit_price", "embodied_carbon"):
            if name in eqset.variables:
                value, src = _field(hardware, name)
                if value is not None:
                    b.put(name, value, src)
        for a in self.assumption_catalogue.values():
            if a.name in eqset.variables and a.name not in b.knowns and a.name not in (
                    "utilization", "idle_power", "pue"):
                b.assume(a)

        # caller overrides win over everything: an assumed coefficient is recorded as overridden, a registry
        # value as replaced by the caller's
        for name, value in overrides.items():
            if value is None:
                continue
            if name in b.assumptions:
                b.assume(self.assumption_catalogue[name], value)
            else:
                b.put(name, value, given_source(name, b.sources.get(name)))

        check_power_inputs(eqset.name, b.knowns)  # the equation set's own check, early and with the names
        return b

    # -- the inverse: hooks of Solver.solve_for --------------------------------------------------
    def inverse_targets(self, unknown: str, targets: dict, kwargs: dict) -> dict:
        power = kwargs.get("power")
        if power is not None and unknown in self.equations.input_deps("power"):
            # a measured power is the target when solving for the power model's own inputs
            targets = {**targets, "power": power}
            kwargs["power"] = None
        return targets

    def inverse_knowns(self, binding: Binding, unknown: str, target: str, kwargs: Mapping[str, Any]) -> dict:
        """Keep only the knowns the target needs once ``unknown`` is free (drops, e.g., the power model's
        inputs when solving for ``power`` itself, so the target, not the model, decides), plus every value
        the caller gave (so that a contradiction is reported, not ignored)."""
        eqset = self.equations
        user_given = {k for k, v in kwargs.items() if v is not None and k in eqset.variables}
        knowns = binding.knowns
        stop = frozenset({unknown} | {k for k in knowns if k in eqset.derived and k != target})
        need = eqset.input_deps(target, stop)
        return {k: v for k, v in knowns.items()
                if k != unknown and (k == target or k in need or k in user_given)}


class SustainabilitySolver(JobSolver):
    """Energy, carbon and water of a fleet running for a duration in a region (``Equations.Carbon``).

    All methods take the same description of the job:

    Parameters
    ----------
    fleet : Fleet, optional
        Gives ``hardware``, ``num_devices`` and ``datacenter`` (give ``fleet`` or ``hardware``).
    hardware : Hardware entry or str, optional
        Device; its ``tdp`` [W], ``idle_power`` [W] and ``embodied_carbon`` [kg] are used when published.
    num_devices : int, optional
        Devices in the job [1] (default: the fleet's, else 1).
    duration : Quantity
        Wall-clock time [time].
    region : GridRegion or str
        Grid: ``carbon_intensity`` [g/kWh], typical ``pue`` [1], ``wue`` [L/kWh], ``water_intensity`` [L/kWh].
    utilization : float, optional
        Fraction of the idle-to-TDP power range drawn on average, (0, 1] [1] (assumption: 1).
    datacenter : DatacenterProfile or str, optional
        Overrides the region's ``pue``/``wue``.
    power : Quantity, optional
        Measured average power per device [W]; replaces the idle-to-TDP model.
    **overrides
        Any other variable of ``Equations.Carbon`` (``pue``, ``carbon_intensity``, ``wue``,
        ``embodied_carbon`` [kg], ``lifetime`` [time], ``idle_power`` [W], ``water_intensity`` [L/kWh], ...).
    """

    equation_set = "Carbon"
    outputs = SustainabilityResult._fields
    assumption_catalogue = DEFAULT_ASSUMPTIONS

    def solve(self, fleet=None, *, hardware=None, num_devices=None, duration=None, region=None,
              utilization=None, datacenter=None, power=None, **overrides) -> SustainabilityResult:
        """Energy (IT, facility), carbon (operational, embodied share, total) and water.

        Returns
        -------
        SustainabilityResult
            Outputs that the inputs determine (water needs a WUE, the embodied share an
            ``embodied_carbon``; others are None), the assumptions used and every input's source.

        Raises
        ------
        UnderdeterminedError
            No duration, or no carbon intensity (no region and no ``carbon_intensity=``).
        UnitError, DomainError
            An input has the wrong unit or is out of range (negative duration, PUE < 1, ...).
        """
        if duration is None:
            raise UnderdeterminedError("SustainabilitySolver.solve needs duration= (e.g. Q_(30, 'day'))")
        eqset = self.equations
        b = self.bind(fleet, hardware=hardware, num_devices=num_devices, duration=duration, region=region,
                      datacenter=datacenter, utilization=utilization, power=power, **overrides)
        if "carbon_intensity" not in b.knowns:
            raise UnderdeterminedError("SustainabilitySolver.solve needs a grid: region= (e.g. Infra.Poland) or "
                                       "carbon_intensity= [g/kWh]")
        if "tdp" not in b.knowns and "power" not in b.knowns:
            raise UnderdeterminedError(f"hardware {b.label('hardware')!r} gives no tdp; pass hardware= with a tdp, "
                                       "tdp= [W] or a measured power= [W]")
        if "embodied_carbon" not in b.knowns:
            b.drop("lifetime")
        vals = _run(eqset, b.knowns, self.outputs)
        return SustainabilityResult(_outputs(self.outputs, vals, b.knowns), b, eqset.name)

    def compare(self, regions: Sequence[Any], fleet=None, **kw) -> RegionComparison:
        """The same job in each of ``regions`` (GridRegion entries or names), side by side.

        Returns
        -------
        RegionComparison
            ``rows`` of (region name, SustainabilityResult); ``table()``, ``best(by)``, ``to_dict()``.
        """
        if "region" in kw:
            raise OverdeterminedError("compare() takes regions=[...]; do not also pass region=")
        if isinstance(regions, (str, bytes)) or not isinstance(regions, Sequence) or not regions:
            raise UnderdeterminedError(f"compare() needs a non-empty list of regions; got {regions!r}")
        rows = []
        for reg in regions:
            r = self.solve(fleet, region=reg, **kw)
            rows.append((r.region, r))
        return RegionComparison(rows)

    def solve_for(self, unknown: str, fleet=None, **kwargs):
        """Find ``unknown`` that meets one target, e.g. ``solve_for("carbon_intensity", ..., carbon=Q_(100, "t"))``
        or the device-hours a budget allows: ``solve_for("duration", ..., num_devices=1, carbon=Q_(50, "t"))``.

        Parameters
        ----------
        unknown : str
            A variable of ``Equations.Carbon`` (``duration``, ``num_devices``, ``carbon_intensity``, ``pue``,
            ``utilization``, ``power``, ``lifetime``, ...).
        **kwargs
            The job (as :meth:`solve`), exactly one target (a derived quantity: ``carbon`` [mass],
            ``total_carbon``, ``energy`` [energy], ``water`` [L], ...) and any variable overrides.

        Returns
        -------
        Solution
            ``.value`` [the unknown's unit], ``.all`` every quantity at the solution; a count
            (``num_devices``) is rounded to the whole number that keeps the target, and ``.note`` says so.

        Raises
        ------
        InfeasibleError
            No value of the unknown meets the target (``.binding`` names the binding constraint).
        """
        return super().solve_for(unknown, fleet=fleet, **kwargs)

def __getattr__(name):
    # TCOSolver and its result moved to mlsysim.solvers.tco; kept importable from here
    if name in ("TCOSolver", "TCOResult", "MAINTENANCE_RATE", "FACILITY_RATE"):
        from . import tco

        return getattr(tco, name)
    raise AttributeError(name)


__all__ = ["SustainabilitySolver", "JobSolver", "SustainabilityResult", "RegionComparison",
           "UTILIZATION", "IDLE_POWER", "PUE", "LIFETIME", "DEFAULT_ASSUMPTIONS"]
