"""Total cost of ownership of a job: :class:`TCOSolver`, a thin façade over ``Equations.TCO``.

It binds the same job as :class:`~mlsysim.solvers.sustainability.SustainabilitySolver` (fleet or hardware x
devices, duration, region, datacentre) plus the hardware's ``unit_price`` and the region's
``electricity_price``, and fills the economic coefficients from named assumptions. Every number it reports
is computed by the equation set.

Examples
--------
>>> from mlsysim import Q_
>>> from mlsysim.solvers.tco import TCOSolver
>>> TCOSolver().solve(hardware="H100", num_devices=8, duration=Q_(1, "year"), region="US_Avg")  # doctest: +SKIP
"""
from __future__ import annotations

from ..core.assumptions import Assumption
from ..core.errors import UnderdeterminedError
from ..core.sources import assumption
from ..core.units import Q_
from .sustainability import DEFAULT_ASSUMPTIONS as _JOB_ASSUMPTIONS
from .sustainability import JobSolver, _outputs, _Result, _run

#: Maintenance cost per year as a fraction of the purchase price.
MAINTENANCE_RATE = Assumption(
    "maintenance_rate", Q_(0.10, "1/year"),
    assumption("annual hardware maintenance as a fraction of purchase price",
               "support and repair contracts are commonly priced as a percentage of the purchase price per "
               "year; 10 %/year is a round planning figure, not a measured value; pass maintenance_rate= to "
               "override"),
    "annual maintenance cost / purchase price [1/year]")

#: Facility overhead per provisioned watt per year.
FACILITY_RATE = Assumption(
    "facility_rate", Q_(1.0, "USD/W/year"),
    assumption("datacentre facility cost per provisioned watt per year",
               "building space, power distribution and cooling costs on the order of 10 USD per watt of "
               "critical power, depreciated over 10-15 years, plus facility upkeep, give roughly 1 USD per "
               "provisioned watt per year (the cost structure of Barroso, Hoelzle & Ranganathan, 'The "
               "Datacenter as a Computer', 3rd ed. 2018, Ch. 6); a planning figure, not a measured value; "
               "pass facility_rate= to override"),
    "facility overhead per watt of provisioned (TDP) device power per year [USD/W/year]")

#: Every assumption the TCO solver may use (the job's plus the economic ones).
DEFAULT_ASSUMPTIONS = {**_JOB_ASSUMPTIONS, **{a.name: a for a in (MAINTENANCE_RATE, FACILITY_RATE)}}


class TCOResult(_Result):
    """Total cost of ownership over a duration (from ``Equations.TCO``).

    Attributes
    ----------
    capex : Quantity
        Purchase price of the devices [USD].
    capex_share : Quantity
        Straight-line depreciation charged to the duration [USD].
    maintenance_cost, energy_cost, facility_cost : Quantity
        Operating costs over the duration [USD].
    tco : Quantity
        Total [USD].
    power, it_energy, energy : Quantity
        Average device power [W], IT and facility energy [kWh].
    """

    _fields = ("capex", "capex_share", "maintenance_cost", "energy_cost", "facility_cost", "tco", "power",
               "it_energy", "energy")
    title = "TCO"



class TCOSolver(JobSolver):
    """Total cost of ownership of a fleet over a duration (``Equations.TCO``).

    Takes the same job description as :class:`SustainabilitySolver`; in addition the hardware's
    ``unit_price`` [USD] (or ``unit_price=``) and the region's ``electricity_price`` [USD/kWh] (or
    ``electricity_price=``). Assumed: ``lifetime`` (4 years), ``maintenance_rate`` (10 %/year),
    ``facility_rate`` (1 USD/W/year), ``utilization`` (1), each overridable by keyword.
    """

    equation_set = "TCO"
    outputs = TCOResult._fields
    assumption_catalogue = DEFAULT_ASSUMPTIONS

    def solve(self, fleet=None, *, hardware=None, num_devices=None, duration=None, region=None,
              utilization=None, datacenter=None, power=None, **overrides) -> TCOResult:
        """Capex share, maintenance, energy and facility cost, and their total over ``duration``.

        Returns
        -------
        TCOResult
            ``capex`` [USD], ``capex_share`` [USD], ``maintenance_cost`` [USD], ``energy_cost`` [USD],
            ``facility_cost`` [USD], ``tco`` [USD], ``energy`` [kWh]; the assumptions and sources used.

        Raises
        ------
        UnderdeterminedError
            No duration, no unit price, no electricity price or no TDP (the message says which to pass).
        """
        if duration is None:
            raise UnderdeterminedError("TCOSolver.solve needs duration= (e.g. Q_(1, 'year'))")
        eqset = self.equations
        b = self.bind(fleet, hardware=hardware, num_devices=num_devices, duration=duration, region=region,
                      datacenter=datacenter, utilization=utilization, power=power, **overrides)
        hw = b.label("hardware")
        for name, hint in (("unit_price", f"hardware {hw!r} publishes no unit_price; pass unit_price= [USD]"),
                           ("electricity_price", "no electricity price: pass a region= that publishes one or "
                                                 "electricity_price= [USD/kWh]"),
                           ("tdp", f"hardware {hw!r} gives no tdp (needed for power and facility cost); "
                                   "pass tdp= [W]")):
            if name not in b.knowns:
                raise UnderdeterminedError(hint)
        vals = _run(eqset, b.knowns, self.outputs)
        return TCOResult(_outputs(self.outputs, vals, b.knowns), b, eqset.name)

    def solve_for(self, unknown: str, fleet=None, **kwargs):
        """Find ``unknown`` (``unit_price``, ``electricity_price``, ``duration``, ``lifetime``, ``num_devices``
        ...) that meets one target, e.g. ``tco=Q_(1e6, "USD")`` or ``energy_cost=...``. See
        :meth:`mlsysim.solvers.base.Solver.solve_for` (the same errors and count rounding for every solver)."""
        return super().solve_for(unknown, fleet=fleet, **kwargs)


__all__ = ["TCOSolver", "TCOResult", "MAINTENANCE_RATE", "FACILITY_RATE", "DEFAULT_ASSUMPTIONS"]
