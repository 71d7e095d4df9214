"""Total cost of ownership of a fleet over a duration (``Equations.TCO``).

Notes
-----
Capital cost is depreciated straight-line over the hardware lifetime and charged to the job in
proportion to the time it holds the devices; operating costs are maintenance (an assumed annual
fraction of the purchase price), electricity (on facility energy, i.e. including PUE) and facility
overhead (space, power and cooling infrastructure, an assumed cost per watt of provisioned device
power per year). This is the capex + opex decomposition of Barroso, Hoelzle & Ranganathan, *The
Datacenter as a Computer*, 3rd ed. (2018), Ch. 6:

.. math::

    K &= p_{\\text{unit}} \\, N \\\\
    K_{t} &= K \\, t / L \\\\
    M &= m \\, K \\, t \\\\
    E_{\\$} &= E \\cdot c_{e} \\\\
    F &= f \\, P_{\\text{TDP}} \\, N \\, t \\\\
    \\mathrm{TCO} &= K_{t} + M + E_{\\$} + F

with the device power, IT energy and facility energy relations of ``Equations.Carbon`` (the same
``Equation`` objects: one relation, one place).
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..sources import derived
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations
from .carbon import PowerModelSet, carbon_equations




_var("unit_price", "USD", r"p_{\text{unit}}", "purchase price per device")
_var("electricity_price", "USD/kWh", r"c_{e}", "price of energy")
_var("capex", "USD", r"C_{\text{cap}}", "purchase price of the fleet: unit_price * num_devices")
_var("capex_share", "USD", r"K_{t}", "capital cost depreciated over the lifetime and charged to the duration")
_var("maintenance_rate", "1/year", r"r_{\text{maint}}", "annual maintenance cost as a fraction of the purchase price",
     "nonnegative")
_var("maintenance_cost", "USD", r"C_{\text{maint}}", "maintenance cost over the duration", "nonnegative")
_var("energy_cost", "USD", r"E_{\$}", "electricity cost of the facility energy")
_var("facility_rate", "USD/W/year", r"r_{\text{fac}}",
     "facility overhead (space, power and cooling infrastructure) per watt of provisioned device power per year",
     "nonnegative")
_var("facility_cost", "USD", "F", "facility overhead over the duration", "nonnegative")
_var("tco", "USD", r"\mathrm{TCO}", "total cost of ownership over the duration")

BARROSO_2018 = cite(refs.BARROSO_2018, "Ch. 6 (Modeling Costs: capital expenses depreciated over their lifetime "
                                        "plus operational expenses)")
TCO_SUM = derived("definition of total cost of ownership",
                  "TCO over the duration = depreciated capex + maintenance + electricity + facility overhead "
                  "(the capex + opex decomposition of Barroso et al. 2018, Ch. 6)")

_EQS = None


def tco_equations() -> dict[str, Equation]:
    """The cost relations by key (written once here)."""
    global _EQS
    if _EQS is None:
        eqs = [
            Equation("capex", "capex", sym.unit_price * sym.num_devices, source=BARROSO_2018,
                     description="purchase price of the fleet"),
            Equation("capex_share", "capex_share", sym.capex * sym.duration / sym.lifetime, source=BARROSO_2018,
                     description="straight-line depreciation of the purchase charged to the duration"),
            Equation("maintenance_cost", "maintenance_cost", sym.maintenance_rate * sym.capex * sym.duration,
                     source=BARROSO_2018, description="maintenance: annual fraction of the purchase price"),
            Equation("energy_cost", "energy_cost", sym.energy * sym.electricity_price, source=BARROSO_2018,
                     description="electricity cost of the facility energy (PUE included)"),
            Equation("facility_cost", "facility_cost", sym.facility_rate * sym.tdp * sym.num_devices * sym.duration,
                     source=BARROSO_2018,
                     description="facility overhead charged per watt of provisioned (TDP) device power"),
            Equation("tco", "tco", sym.capex_share + sym.maintenance_cost + sym.energy_cost + sym.facility_cost,
                     source=TCO_SUM, description="total cost of ownership over the duration"),
        ]
        _EQS = {e.key: e for e in eqs}
    return _EQS


def build_tco() -> EquationSet:
    shared = carbon_equations()
    return PowerModelSet("TCO", [shared["power"], shared["it_energy"], shared["energy"], *tco_equations().values()],
                       description="capex depreciation, maintenance, electricity and facility cost of a fleet")


Equations.register("TCO", factory=build_tco)
