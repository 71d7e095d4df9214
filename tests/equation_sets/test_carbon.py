"""Equations.Carbon: published training footprints, hand calculations, inverses, monotonicity, bad input.

Published numbers are typed here with their citation (they are the entries of
shared/reference/published_cases.json; ``test_published_values_match_reference_file`` checks the copy
against that file when it is available).
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlsysim import Equations, Q_
from mlsysim.core.errors import (DomainError, InfeasibleError, OverdeterminedError, UnderdeterminedError,
                                 UnitError, UnknownVariableError)

C = Equations.Carbon

# Patterson et al. 2021, 'Carbon Emissions and Large Neural Network Training', arXiv:2104.10350, Table 4.
# inputs: chips, training days, measured average system power per chip [W], PUE, net kgCO2e/kWh;
# published: energy [MWh], net tCO2e.
PATTERSON = {
    "patterson_t5": dict(chips=512, days=20.0, watts=310, pue=1.12, kg_per_kwh=0.545, mwh=85.7, tco2e=46.7),
    "patterson_meena": dict(chips=1024, days=30.0, watts=289, pue=1.09, kg_per_kwh=0.416, mwh=232, tco2e=96.4),
    "patterson_gshard": dict(chips=1024, days=3.1, watts=288, pue=1.09, kg_per_kwh=0.178, mwh=24.1, tco2e=4.3),
}
# Luccioni, Viguier & Ligozat 2022, 'Estimating the Carbon Footprint of BLOOM', arXiv:2211.02001, Table 1 /
# Sec. 4.2: 1,082,990 GPU-hours x 400 W (A100 TDP) = 433,196 kWh (no PUE applied); x 57 g/kWh = 24.69 t.
BLOOM = dict(gpu_hours=1082990, tdp_w=400, g_per_kwh=57, kwh=433196, tco2e=24.69)
# IEA 2025 'Energy and AI': data centres used 415 TWh in 2024 and emitted 180 Mt CO2 -> 434 g/kWh implied.
IEA = dict(twh=415, mt=180, implied_g_per_kwh=434)

REFERENCE = Path(__file__).resolve().parents[2] / "tests" / "data" / "published_cases.json"


def _rel(a, b):
    return abs(a - b) / abs(b)


def test_dimensions_are_consistent():
    C.check_dimensions()


def test_set_structure():
    assert set(C.derived) == {"power", "it_energy", "energy", "carbon", "water", "offsite_water", "total_water",
                              "embodied_share", "total_carbon"}
    assert set(C.inputs) == {"idle_power", "tdp", "utilization", "num_devices", "duration", "pue",
                             "carbon_intensity", "wue", "water_intensity", "embodied_carbon", "lifetime"}
    for eq in C.equations.values():
        assert eq.source is not None and eq.description
    latex = C.latex()
    assert r"\label{eq:carbon-carbon}" in latex and r"\mathrm{PUE}" in latex


@pytest.mark.parametrize("case", sorted(PATTERSON))
def test_patterson_2021_training_energy_and_carbon(case):
    p = PATTERSON[case]
    # measured average power is known, so it is given directly (the power model is bypassed)
    sol = C.solve("carbon", power=Q_(p["watts"], "W"), num_devices=p["chips"], duration=Q_(p["days"], "day"),
                  pue=p["pue"], carbon_intensity=Q_(p["kg_per_kwh"], "kg/kWh"))
    energy_mwh = sol.all["energy"].m_as("MWh")
    assert _rel(energy_mwh, p["mwh"]) <= 0.02, (case, energy_mwh)
    assert _rel(sol.value.m_as("t"), p["tco2e"]) <= 0.02, (case, sol.value.to("t"))


def test_patterson_t5_hand_calculation_exact():
    # 512 chips x 20 days x 24 h = 245,760 chip-hours; x 310 W = 76,185.6 kWh; x 1.12 = 85,327.872 kWh;
    # x 0.545 kg/kWh = 46,503.69 kg
    sol = C.solve("carbon", power=Q_(310, "W"), num_devices=512, duration=Q_(20, "day"), pue=1.12,
                  carbon_intensity=Q_(545, "g/kWh"))
    assert sol.all["energy"].m_as("kWh") == pytest.approx(85327.872, rel=1e-12)
    assert sol.value.m_as("kg") == pytest.approx(46503.69024, rel=1e-12)


def test_bloom_training_carbon_luccioni_2022():
    # one GPU for 1,082,990 h is the same device-time as 384 GPUs for 2820.3 h; TDP at utilization 1; no PUE
    out = C.evaluate(outputs=["carbon"], tdp=Q_(BLOOM["tdp_w"], "W"), idle_power=Q_(0, "W"), utilization=1.0,
                     num_devices=1, duration=Q_(BLOOM["gpu_hours"], "h"), pue=1.0,
                     carbon_intensity=Q_(BLOOM["g_per_kwh"], "g/kWh"))
    assert _rel(out.it_energy.m_as("kWh"), BLOOM["kwh"]) <= 0.01
    assert _rel(out.energy.m_as("kWh"), BLOOM["kwh"]) <= 0.01
    assert _rel(out.carbon.m_as("t"), BLOOM["tco2e"]) <= 0.01
    # the same device-time spread over the 384 GPUs of the run gives the same footprint
    out384 = C.evaluate(outputs=["carbon"], tdp=Q_(400, "W"), idle_power=Q_(0, "W"), utilization=1.0,
                        num_devices=384, duration=Q_(BLOOM["gpu_hours"] / 384, "h"), pue=1.0,
                        carbon_intensity=Q_(57, "g/kWh"))
    assert out384.carbon.m_as("t") == pytest.approx(out.carbon.m_as("t"), rel=1e-12)


def test_iea_implied_datacentre_intensity_by_inverse():
    # carbon given, facility energy given: the carbon intensity that links them
    sol = C.solve("carbon_intensity", carbon=Q_(IEA["mt"], "Mt"), energy=Q_(IEA["twh"], "TWh"))
    assert _rel(sol.value.m_as("g/kWh"), IEA["implied_g_per_kwh"]) <= 0.02


def test_published_values_match_reference_file():
    cases = {c["id"]: c for c in json.loads(REFERENCE.read_text())}
    for cid, p in PATTERSON.items():
        c = cases[cid]
        assert c["inputs"]["chips"] == p["chips"] and c["inputs"]["training_days"] == p["days"]
        assert c["inputs"]["measured_system_power_per_chip_W"] == p["watts"] and c["inputs"]["PUE"] == p["pue"]
        assert c["published"]["energy_MWh"] == p["mwh"] and c["published"]["net_tCO2e"] == p["tco2e"]
        assert c["published"]["net_kgCO2e_per_kWh"] == p["kg_per_kwh"]
    b = cases["luccioni_bloom_training_carbon"]
    assert b["inputs"]["gpu_hours"] == BLOOM["gpu_hours"] and b["inputs"]["gpu_tdp_W"] == BLOOM["tdp_w"]
    assert b["inputs"]["grid_gCO2_per_kWh"] == BLOOM["g_per_kwh"]
    assert b["published"]["dynamic_energy_kWh"] == BLOOM["kwh"] and b["published"]["dynamic_tCO2eq"] == BLOOM["tco2e"]
    assert cases["bloom_176b_training"]["published"]["gpu_hours"] == BLOOM["gpu_hours"]
    i = cases["iea_datacenter_electricity"]["published"]
    assert (i["dc_electricity_TWh_2024"], i["dc_CO2_Mt_2024"], i["implied_dc_gCO2_per_kWh_2024"]) == (
        IEA["twh"], IEA["mt"], IEA["implied_g_per_kwh"])


# ------------------------------------------------------------------ hand calculations
FULL = dict(idle_power=Q_(100, "W"), tdp=Q_(700, "W"), utilization=0.5, num_devices=8, duration=Q_(10, "h"),
            pue=1.5, carbon_intensity=Q_(400, "g/kWh"), wue=Q_(0.3, "L/kWh"), water_intensity=Q_(2, "L/kWh"),
            embodied_carbon=Q_(150, "kg"), lifetime=Q_(4, "year"))


def test_hand_calculation_every_output():
    out = C.evaluate(**FULL)
    # power = 100 + 0.5 * (700 - 100) = 400 W
    assert out.power.m_as("W") == pytest.approx(400.0, rel=1e-12)
    # IT energy = 400 W * 8 * 10 h = 32 kWh; facility = 1.5 * 32 = 48 kWh
    assert out.it_energy.m_as("kWh") == pytest.approx(32.0, rel=1e-12)
    assert out.energy.m_as("kWh") == pytest.approx(48.0, rel=1e-12)
    # carbon = 48 kWh * 400 g/kWh = 19.2 kg
    assert out.carbon.m_as("kg") == pytest.approx(19.2, rel=1e-12)
    # WUE is per kWh of IT energy (Green Grid WP#35): 0.3 L/kWh * 32 kWh = 9.6 L (not 0.3 * 48 = 14.4 L)
    assert out.water.m_as("L") == pytest.approx(9.6, rel=1e-12)
    # off-site water is per kWh generated, i.e. facility energy: 2 L/kWh * 48 kWh = 96 L; total 105.6 L
    assert out.offsite_water.m_as("L") == pytest.approx(96.0, rel=1e-12)
    assert out.total_water.m_as("L") == pytest.approx(105.6, rel=1e-12)
    # embodied share = 150 kg * 8 * 10 h / (4 * 8766 h) = 0.342231348 kg (Julian year: 8766 h)
    assert out.embodied_share.m_as("kg") == pytest.approx(150 * 8 * 10 / (4 * 8766), rel=1e-12)
    assert out.total_carbon.m_as("kg") == pytest.approx(19.2 + 150 * 8 * 10 / (4 * 8766), rel=1e-12)


def test_idle_power_at_zero_utilization_limit_and_tdp_at_one():
    base = dict(idle_power=Q_(60, "W"), tdp=Q_(300, "W"))
    assert C.evaluate(outputs=["power"], utilization=1.0, **base).power.m_as("W") == pytest.approx(300)
    assert C.evaluate(outputs=["power"], utilization=1e-12, **base).power.m_as("W") == pytest.approx(60)


def test_budget_questions_from_the_brief():
    # "which grid intensity keeps this run under 100 t CO2e?": 1000 devices x 700 W x 30 days x PUE 1.1
    # = 554,400 kWh facility energy; 100e6 g / 554,400 kWh = 180.375 g/kWh
    run = dict(power=Q_(700, "W"), num_devices=1000, duration=Q_(30, "day"), pue=1.1)
    ci = C.solve("carbon_intensity", carbon=Q_(100, "t"), **run)
    assert ci.value.m_as("g/kWh") == pytest.approx(100e6 / 554400, rel=1e-9)
    # "how many GPU-hours fit a 50 t budget in Poland?" (662 g/kWh, Ember 2023), PUE 1.1, 700 W:
    # 50e6 g / 662 g/kWh / 1.1 / 0.7 kW = 98,089.2 GPU-hours
    gpu_h = C.solve("duration", carbon=Q_(50, "t"), power=Q_(700, "W"), num_devices=1, pue=1.1,
                    carbon_intensity=Q_(662, "g/kWh"))
    assert gpu_h.value.m_as("h") == pytest.approx(50e6 / 662 / 1.1 / 0.7, rel=1e-9)
    # ... or how many GPUs for one week: 98,089.2 / 168 = 583.9
    n = C.solve("num_devices", carbon=Q_(50, "t"), power=Q_(700, "W"), duration=Q_(1, "week"), pue=1.1,
                carbon_intensity=Q_(662, "g/kWh"))
    assert float(n.continuous) == pytest.approx(50e6 / 662 / 1.1 / 0.7 / 168, rel=1e-9)
    assert float(n.value) == 583  # whole GPUs within the 50 t budget: floor(583.9)


def test_arrays_broadcast_over_regions():
    ci = Q_(np.array([20.0, 57.0, 662.0]), "g/kWh")
    out = C.evaluate(outputs=["carbon"], tdp=Q_(400, "W"), idle_power=Q_(0, "W"), utilization=1.0, num_devices=1,
                     duration=Q_(1000, "h"), pue=1.0, carbon_intensity=ci)
    np.testing.assert_allclose(out.carbon.m_as("kg"), [8.0, 22.8, 264.8], rtol=1e-12)


# ------------------------------------------------------------------ inverses
def _target_for(name):
    """A derived target that depends on ``name``."""
    if name in ("wue", "water_intensity", "water", "offsite_water"):
        return "total_water"
    return "total_carbon"


ROUND_TRIP = sorted(set(C.variables) - {"total_carbon", "total_water"})


@pytest.mark.parametrize("unknown", ROUND_TRIP)
def test_inverse_round_trip_every_variable(unknown):
    fwd = C.evaluate(**FULL)
    target = _target_for(unknown)
    if unknown in C.inputs:
        knowns = {k: v for k, v in FULL.items() if k != unknown}
        truth = FULL[unknown]
    else:
        # an intermediate: everything upstream of it is unknown, everything else known
        upstream = C.input_deps(unknown)
        knowns = {k: v for k, v in FULL.items() if k not in upstream or k in C.input_deps(target, frozenset({unknown}))}
        truth = fwd[unknown]
    sol = C.solve(unknown, **{target: fwd[target]}, **knowns)
    assert sol.method != "forward"  # a real inversion, not a forward evaluation
    got = sol.value.to(truth.units).magnitude if hasattr(truth, "units") else float(sol.value.magnitude)
    want = truth.magnitude if hasattr(truth, "units") else truth
    assert got == pytest.approx(want, rel=1e-9), (unknown, sol)


@pytest.mark.parametrize("unknown", ["duration", "num_devices", "carbon_intensity", "pue", "utilization", "tdp"])
def test_inverse_round_trip_operational_carbon(unknown):
    knowns = {k: FULL[k] for k in ("idle_power", "tdp", "utilization", "num_devices", "duration", "pue",
                                   "carbon_intensity")}
    carbon = C.evaluate(outputs=["carbon"], **knowns).carbon
    truth = knowns.pop(unknown)
    sol = C.solve(unknown, carbon=carbon, **knowns)
    if hasattr(truth, "units"):
        assert sol.value.m_as(truth.units) == pytest.approx(truth.magnitude, rel=1e-9)
    else:
        assert float(sol.value.magnitude) == pytest.approx(truth, rel=1e-9)


def test_budget_below_operational_emissions_is_infeasible_for_lifetime():
    fwd = C.evaluate(**FULL)
    knowns = {k: v for k, v in FULL.items() if k != "lifetime"}
    with pytest.raises(InfeasibleError) as exc:
        C.solve("lifetime", total_carbon=fwd.carbon * 0.5, **knowns)
    assert "lifetime" in str(exc.value)


def test_utilization_above_one_is_infeasible():
    # a carbon target above what TDP for the whole run emits cannot be met with utilization <= 1
    knowns = {k: FULL[k] for k in ("idle_power", "tdp", "num_devices", "duration", "pue", "carbon_intensity")}
    at_tdp = C.evaluate(outputs=["carbon"], utilization=1.0, **knowns).carbon
    with pytest.raises(InfeasibleError):
        C.solve("utilization", carbon=at_tdp * 1.5, **knowns)


# ------------------------------------------------------------------ monotonicity
pos = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)


@given(p=pos, n=st.integers(1, 100_000), h=pos, ci=pos, pue1=st.floats(1.0, 3.0), dpue=st.floats(0.0, 2.0))
def test_higher_pue_never_lowers_carbon(p, n, h, ci, pue1, dpue):
    common = dict(power=Q_(p, "W"), num_devices=n, duration=Q_(h, "h"), carbon_intensity=Q_(ci, "g/kWh"))
    c1 = C.solve("carbon", pue=pue1, **common).value.m_as("kg")
    c2 = C.solve("carbon", pue=pue1 + dpue, **common).value.m_as("kg")
    assert c2 >= c1


@given(u1=st.floats(0.01, 1.0), u2=st.floats(0.01, 1.0), idle=st.floats(0.0, 300.0), extra=st.floats(1.0, 700.0))
def test_higher_utilization_never_lowers_energy(u1, u2, idle, extra):
    lo, hi = sorted((u1, u2))
    common = dict(idle_power=Q_(idle, "W"), tdp=Q_(idle + extra, "W"), num_devices=4, duration=Q_(1, "day"), pue=1.2)
    e_lo = C.evaluate(outputs=["energy"], utilization=lo, **common).energy.m_as("kWh")
    e_hi = C.evaluate(outputs=["energy"], utilization=hi, **common).energy.m_as("kWh")
    assert e_hi >= e_lo * (1 - 1e-12)


def test_carbon_increases_with_pue_on_an_array():
    pue = np.linspace(1.0, 2.5, 31)
    out = C.solve("carbon", power=Q_(400, "W"), num_devices=8, duration=Q_(1, "day"), pue=pue,
                  carbon_intensity=Q_(300, "g/kWh"))
    assert np.all(np.diff(out.value.m_as("kg")) > 0)


# ------------------------------------------------------------------ bad input
BASE = dict(idle_power=Q_(50, "W"), tdp=Q_(400, "W"), utilization=0.8, num_devices=8, duration=Q_(1, "day"),
            pue=1.2, carbon_intensity=Q_(400, "g/kWh"))


@pytest.mark.parametrize("name,value,err", [
    ("duration", Q_(-1, "h"), DomainError),
    ("duration", Q_(0, "h"), DomainError),
    ("pue", 0.9, DomainError),
    ("utilization", 1.5, DomainError),
    ("utilization", 0.0, DomainError),
    ("num_devices", 2.5, DomainError),
    ("num_devices", -1, DomainError),
    ("idle_power", Q_(-5, "W"), DomainError),
    ("carbon_intensity", Q_(-1, "g/kWh"), DomainError),
    ("duration", Q_(3, "W"), UnitError),
    ("duration", 3.0, UnitError),
    ("tdp", Q_(400, "J"), UnitError),
    ("carbon_intensity", Q_(400, "g"), UnitError),
    ("pue", Q_(1.2, "W"), UnitError),
    ("duration", "10 h", UnitError),
    ("tdp", Q_(float("nan"), "W"), DomainError),
])
def test_bad_inputs_raise_documented_errors_naming_the_input(name, value, err):
    kw = dict(BASE)
    kw[name] = value
    with pytest.raises(err) as exc:
        C.evaluate(outputs=["carbon"], **kw)
    assert name in str(exc.value)


def test_unknown_and_missing_and_overdetermined_inputs():
    with pytest.raises(UnknownVariableError, match="carbon_intensty|carbon_intensity"):
        C.evaluate(outputs=["carbon"], carbon_intensty=Q_(1, "g/kWh"), **{k: v for k, v in BASE.items()
                                                                          if k != "carbon_intensity"})
    with pytest.raises(UnderdeterminedError, match="carbon_intensity"):
        C.evaluate(outputs=["carbon"], **{k: v for k, v in BASE.items() if k != "carbon_intensity"})
    with pytest.raises(OverdeterminedError):
        C.evaluate(outputs=["carbon"], power=Q_(300, "W"), **BASE)
    with pytest.raises(UnderdeterminedError):
        C.solve("duration", **{k: v for k, v in BASE.items() if k != "duration"})  # no target given
    with pytest.raises(OverdeterminedError, match="duration"):
        C.solve("duration", carbon=Q_(1, "t"), **BASE)  # the unknown also given


def test_wue_is_per_it_energy_not_facility_energy():
    # the same IT load in a worse facility (higher PUE) uses the same on-site water per the WUE definition,
    # but more off-site water (more electricity generated)
    common = dict(power=Q_(500, "W"), num_devices=10, duration=Q_(100, "h"), wue=Q_(0.5, "L/kWh"),
                  water_intensity=Q_(1.0, "L/kWh"))
    a = C.solve("total_water", pue=1.1, **common).all
    b = C.solve("total_water", pue=1.6, **common).all
    assert a["water"].m_as("L") == pytest.approx(b["water"].m_as("L")) == pytest.approx(0.5 * 500)
    assert b["offsite_water"].m_as("L") == pytest.approx(1.6 * 500) and a["offsite_water"].m_as("L") == pytest.approx(550)
    assert math.isclose(a["total_water"].m_as("L"), 250 + 550)
