"""Carbon, energy and water of a job or deployment (``Equations.Carbon``).

Notes
-----
Device power follows a linear idle-to-peak model (an assumption; after Fan, Weber & Barroso 2007, who
model server power as linear in utilization between idle and busy power):

.. math:: P = P_{\\text{idle}} + u \\, (P_{\\text{TDP}} - P_{\\text{idle}})

IT and facility energy (Patterson et al. 2021, Table 4: chips x hours x average power x PUE; PUE as
defined by ISO/IEC 30134-2:2016, facility energy / IT energy):

.. math:: E_{\\text{IT}} = P \\, N \\, t, \\qquad E = \\mathrm{PUE} \\cdot E_{\\text{IT}}

Operational emissions (Patterson et al. 2021, Table 4: MWh x tCO2e/MWh), on facility energy:

.. math:: C = E \\cdot \\mathrm{CI}

Water. WUE is defined per kWh of **IT** energy (The Green Grid, White Paper #35, 2011: annual site
water usage / IT equipment energy; the hyperscaler figures in ``published_cases.json`` case
``wue_hyperscalers`` use the same definition), so on-site water is WUE times IT energy, *not* times
facility energy. Off-site water (consumed generating the electricity) scales with the facility's grid
draw (Li, Yang, Islam & Ren 2023):

.. math:: W = \\mathrm{WUE} \\cdot E_{\\text{IT}}, \\qquad W_{\\text{off}} = \\mathrm{EWIF} \\cdot E,
          \\qquad W_{\\text{tot}} = W + W_{\\text{off}}

Embodied (manufacturing) emissions, amortised linearly over the device lifetime in proportion to the
device-time the job uses (Luccioni, Viguier & Ligozat 2022 prorate BLOOM's embodied emissions this way):

.. math:: C_{\\text{emb}} = C_{\\text{emb,dev}} \\, N \\, t / L, \\qquad C_{\\text{tot}} = C + C_{\\text{emb}}

Every variable can be solved for (``Equations.Carbon.solve``), e.g. the grid intensity that keeps a
run under a budget: ``solve("carbon_intensity", carbon=Q_(100, "t"), ...)``.
"""
from __future__ import annotations

import numpy as np

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..errors import DomainError
from ..sources import Source, assumption
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations




# ---------------------------------------------------------------- nomenclature (NOMENCLATURE.md names)
_var("tdp", "W", r"P_{\text{TDP}}", "device thermal design power (board power at full load)")
_var("idle_power", "W", r"P_{\text{idle}}", "device power when powered on but idle", "nonnegative")
_var("utilization", "", "u", "fraction of the idle-to-TDP power range drawn on average (0 idle, 1 at TDP)",
     "fraction")
_var("power", "W", "P", "average power per device")
_var("duration", "h", "t", "wall-clock time of the job or deployment")
_var("pue", "", r"\mathrm{PUE}", "power usage effectiveness: facility energy / IT energy", "ge1")
_var("it_energy", "kWh", r"E_{\text{IT}}", "energy drawn by the devices")
_var("energy", "kWh", "E", "facility energy: IT energy times PUE")
_var("carbon_intensity", "g/kWh", r"\mathrm{CI}", "grid emissions per energy (CO2e)", "nonnegative")
_var("carbon", "kg", "C", "operational emissions (CO2e)", "nonnegative")
_var("wue", "L/kWh", r"\mathrm{WUE}", "water usage effectiveness: site water per kWh of IT energy",
     "nonnegative")
_var("water", "L", "W", "on-site water consumed (cooling, humidification)", "nonnegative")
_var("water_intensity", "L/kWh", r"\mathrm{EWIF}", "off-site water consumed per kWh of electricity generated",
     "nonnegative")
_var("offsite_water", "L", r"W_{\text{off}}", "off-site water consumed generating the facility's electricity",
     "nonnegative")
_var("total_water", "L", r"W_{\text{tot}}", "on-site plus off-site water", "nonnegative")
_var("embodied_carbon", "kg", r"C_{\text{emb,dev}}", "manufacturing emissions per device (CO2e)", "nonnegative")
_var("lifetime", "year", "L", "amortization period of the hardware")
_var("embodied_share", "kg", r"C_{\text{emb}}", "embodied emissions amortised to this job (CO2e)", "nonnegative")
_var("total_carbon", "kg", r"C_{\text{tot}}", "operational plus amortised embodied emissions (CO2e)",
     "nonnegative")

# ---------------------------------------------------------------- sources
PATTERSON_2021 = cite(refs.PATTERSON_2021,
                      "Table 4 (energy = chips x hours x average power x PUE; tCO2e = MWh x tCO2e/MWh)")
ISO_PUE = cite(refs.ISO_30134_2, "PUE = total facility energy / IT equipment energy")
GREEN_GRID_WUE = cite(refs.GREEN_GRID_2011, "WUE = annual site water usage / IT equipment energy [L/kWh]")
LI_2023_WATER = cite(refs.LI_2023, "water footprint model: off-site water = electricity water intensity factor "
                                   "(EWIF) x PUE x server energy")
LUCCIONI_2022 = cite(refs.LUCCIONI_2022,
                     "Sec. 4 (embodied emissions prorated by usage time over equipment lifetime)")
LINEAR_POWER = assumption(
    "linear idle-to-peak device power model (after X. Fan, W.-D. Weber, L. A. Barroso, 'Power Provisioning "
    "for a Warehouse-sized Computer', ISCA 2007)",
    "Fan et al. 2007 model server power as linear in utilization between idle and busy power; mlsysim "
    "assumes the same shape for an accelerator between its idle power and its TDP, with `utilization` the "
    "fraction of that range drawn on average. Measured average power, when known, should be given as "
    "`power` instead.")
SUM = Source("definition: a total is the sum of its parts", kind="derived",
             note="total = operational + amortised embodied (carbon), on-site + off-site (water)")


# ---------------------------------------------------------------- equations (built once, lazily)
_EQS = None


def carbon_equations() -> dict[str, Equation]:
    """The carbon/energy/water relations by key (shared with ``Equations.TCO``; written once here)."""
    global _EQS
    if _EQS is None:
        eqs = [
            Equation("power", "power", sym.idle_power + sym.utilization * (sym.tdp - sym.idle_power),
                     source=LINEAR_POWER, description="average device power, linear between idle and TDP",
                     display=r"P_{\text{idle}} + u \, (P_{\text{TDP}} - P_{\text{idle}})"),
            Equation("it_energy", "it_energy", sym.power * sym.num_devices * sym.duration,
                     source=PATTERSON_2021, description="energy drawn by the devices",
                     display=r"P \, n_{\text{dev}} \, t"),
            Equation("energy", "energy", sym.pue * sym.it_energy, source=ISO_PUE,
                     description="facility energy: IT energy times PUE",
                     display=r"\mathrm{PUE} \cdot E_{\text{IT}}"),
            Equation("carbon", "carbon", sym.energy * sym.carbon_intensity, source=PATTERSON_2021,
                     description="operational emissions: facility energy times grid carbon intensity"),
            Equation("water", "water", sym.wue * sym.it_energy, source=GREEN_GRID_WUE,
                     description="on-site water: WUE (per kWh of IT energy) times IT energy"),
            Equation("offsite_water", "offsite_water", sym.water_intensity * sym.energy, source=LI_2023_WATER,
                     description="off-site water: electricity water intensity times facility energy"),
            Equation("total_water", "total_water", sym.water + sym.offsite_water, source=SUM,
                     description="on-site plus off-site water"),
            Equation("embodied_share", "embodied_share",
                     sym.embodied_carbon * sym.num_devices * sym.duration / sym.lifetime, source=LUCCIONI_2022,
                     description="embodied emissions amortised over the lifetime, prorated by device-time used"),
            Equation("total_carbon", "total_carbon", sym.carbon + sym.embodied_share, source=SUM,
                     description="operational plus amortised embodied emissions"),
        ]
        _EQS = {e.key: e for e in eqs}
    return _EQS


def _watts(v):
    """Magnitude in W of a power Quantity (scalar or array), or None if it is not one (the engine reports that)."""
    try:
        return np.asarray(v.m_as("W"), dtype=float)
    except Exception:  # noqa: BLE001 - not a power Quantity: the engine's unit check names the input
        return None


def check_power_inputs(set_name: str, knowns) -> None:
    """Refuse inputs the idle-to-TDP power model cannot describe: ``idle_power`` above ``tdp`` (the model
    interpolates from idle to TDP), and an average ``power`` above ``tdp`` (the thermal design power is the
    board's sustained power limit; a device configured to a higher limit is described by passing that
    limit as ``tdp``)."""
    tdp = _watts(knowns["tdp"]) if knowns.get("tdp") is not None else None
    if tdp is None:
        return
    for name, what in (("idle_power", "the power model interpolates from idle_power to tdp"),
                       ("power", "an average device power cannot exceed the board's thermal design power; pass "
                                 "tdp= if the device runs at a higher power limit")):
        if knowns.get(name) is None:
            continue
        x = _watts(knowns[name])
        if x is not None and bool(np.any(x > tdp * (1 + 1e-12))):
            got = knowns[name]
            shown = f"{got:~P}" if np.ndim(x) == 0 else f"values up to {np.max(x):g} W"
            raise DomainError(f"{set_name}: {name} must not exceed tdp = {knowns['tdp']:~P} ({what}); got "
                              f"{name} = {shown}")


class PowerModelSet(EquationSet):
    """An equation set with the idle-to-TDP power model: ``evaluate`` and ``solve`` refuse an
    ``idle_power`` or ``power`` above ``tdp`` (:func:`check_power_inputs`)."""

    def evaluate(self, outputs=None, **knowns):
        check_power_inputs(self.name, knowns)
        return super().evaluate(outputs, **knowns)

    def solve(self, unknown, **knowns):
        check_power_inputs(self.name, knowns)
        return super().solve(unknown, **knowns)


def build_carbon() -> EquationSet:
    return PowerModelSet("Carbon", list(carbon_equations().values()),
                       description="energy, operational and embodied carbon, and water of a job on a fleet")


Equations.register("Carbon", factory=build_carbon)
