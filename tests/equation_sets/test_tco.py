"""Equations.TCO: hand calculations, shared relations, inverses, monotonicity and bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlsysim import Equations, Q_
from mlsysim.core.errors import DomainError, InfeasibleError, UnderdeterminedError, UnitError

T = Equations.TCO

# 8 devices at 30,000 USD, 4-year lifetime, one (Julian) year of use = 8766 h
FULL = dict(unit_price=Q_(30000, "USD"), num_devices=8, lifetime=Q_(4, "year"), duration=Q_(1, "year"),
            maintenance_rate=Q_(0.10, "1/year"), idle_power=Q_(100, "W"), tdp=Q_(700, "W"), utilization=0.75,
            pue=1.2, electricity_price=Q_(0.10, "USD/kWh"), facility_rate=Q_(1.0, "USD/W/year"))


def test_dimensions_are_consistent():
    T.check_dimensions()


def test_structure_and_shared_relations():
    assert set(T.inputs) == {"unit_price", "num_devices", "lifetime", "duration", "maintenance_rate", "idle_power",
                             "tdp", "utilization", "pue", "electricity_price", "facility_rate"}
    # one relation, one place: TCO re-uses Carbon's power and energy equations (the same objects)
    C = Equations.Carbon
    for key in ("power", "it_energy", "energy"):
        assert T.equations[key] is C.equations[key]
    assert r"\label{eq:tco-tco}" in T.latex()


def test_hand_calculation():
    out = T.evaluate(**FULL)
    # capex = 8 * 30,000 = 240,000 USD; depreciated over 4 years, 1 year charged: 60,000 USD
    assert out.capex.m_as("USD") == pytest.approx(240000, rel=1e-12)
    assert out.capex_share.m_as("USD") == pytest.approx(60000, rel=1e-12)
    # maintenance = 0.10/yr * 240,000 USD * 1 yr = 24,000 USD
    assert out.maintenance_cost.m_as("USD") == pytest.approx(24000, rel=1e-12)
    # power = 100 + 0.75 * (700 - 100) = 550 W
    assert out.power.m_as("W") == pytest.approx(550, rel=1e-12)
    # energy: 550 W * 8 * 8766 h = 38,570.4 kWh IT; * 1.2 = 46,284.48 kWh; * 0.10 USD/kWh = 4,628.448 USD
    assert out.it_energy.m_as("kWh") == pytest.approx(38570.4, rel=1e-12)
    assert out.energy.m_as("kWh") == pytest.approx(46284.48, rel=1e-12)
    assert out.energy_cost.m_as("USD") == pytest.approx(4628.448, rel=1e-12)
    # facility is charged on provisioned (TDP) power: 1 USD/W/yr * 700 W * 8 * 1 yr = 5,600 USD
    assert out.facility_cost.m_as("USD") == pytest.approx(5600, rel=1e-12)
    assert out.tco.m_as("USD") == pytest.approx(60000 + 24000 + 4628.448 + 5600, rel=1e-12)


def test_energy_cost_uses_facility_energy_including_pue():
    a = T.evaluate(outputs=["energy_cost"], **{**FULL, "pue": 1.0}).energy_cost.m_as("USD")
    b = T.evaluate(outputs=["energy_cost"], **{**FULL, "pue": 1.5}).energy_cost.m_as("USD")
    assert b == pytest.approx(1.5 * a, rel=1e-12)


def test_break_even_electricity_price_by_inverse():
    # price at which electricity equals the depreciated capex (60,000 USD) for this fleet-year:
    # 60,000 USD / 46,284.48 kWh = 1.29633... USD/kWh
    knowns = {k: v for k, v in FULL.items() if k != "electricity_price"}
    sol = T.solve("electricity_price", energy_cost=Q_(60000, "USD"), **knowns)
    assert sol.value.m_as("USD/kWh") == pytest.approx(60000 / 46284.48, rel=1e-9)


ROUND_TRIP = sorted(set(T.variables) - {"tco"})


@pytest.mark.parametrize("unknown", ROUND_TRIP)
def test_inverse_round_trip_every_variable(unknown):
    fwd = T.evaluate(**FULL)
    if unknown in T.inputs:
        knowns = {k: v for k, v in FULL.items() if k != unknown}
        truth = FULL[unknown]
    else:
        upstream = T.input_deps(unknown)
        need = T.input_deps("tco", frozenset({unknown}))
        knowns = {k: v for k, v in FULL.items() if k not in upstream or k in need}
        truth = fwd[unknown]
    sol = T.solve(unknown, tco=fwd.tco, **knowns)
    assert sol.method != "forward"
    if hasattr(truth, "units"):
        assert sol.value.m_as(truth.units) == pytest.approx(truth.magnitude, rel=1e-9), (unknown, sol)
    else:
        assert float(sol.value.magnitude) == pytest.approx(truth, rel=1e-9), (unknown, sol)


def test_budget_below_fixed_costs_is_infeasible_for_electricity_price():
    fwd = T.evaluate(**FULL)
    knowns = {k: v for k, v in FULL.items() if k != "electricity_price"}
    # 80,000 USD is below the 89,600 USD of capex share + maintenance + facility that no price can remove
    assert fwd.tco.m_as("USD") - fwd.energy_cost.m_as("USD") == pytest.approx(89600)
    with pytest.raises(InfeasibleError):
        T.solve("electricity_price", tco=Q_(80000, "USD"), **knowns)


@given(p1=st.floats(0.01, 1.0), dp=st.floats(0.0, 1.0), pue=st.floats(1.0, 3.0), years=st.floats(0.01, 10.0))
def test_tco_never_falls_when_electricity_gets_dearer(p1, dp, pue, years):
    kw = {**FULL, "pue": pue, "duration": Q_(years, "year")}
    a = T.evaluate(outputs=["tco"], **{**kw, "electricity_price": Q_(p1, "USD/kWh")}).tco.m_as("USD")
    b = T.evaluate(outputs=["tco"], **{**kw, "electricity_price": Q_(p1 + dp, "USD/kWh")}).tco.m_as("USD")
    assert b >= a


def test_longer_lifetime_lowers_capex_share_on_an_array():
    life = Q_(np.array([2.0, 3.0, 4.0, 6.0]), "year")
    out = T.evaluate(outputs=["capex_share"], **{**FULL, "lifetime": life})
    np.testing.assert_allclose(out.capex_share.m_as("USD"), 240000 / np.array([2.0, 3.0, 4.0, 6.0]), rtol=1e-12)


@pytest.mark.parametrize("name,value,err", [
    ("duration", Q_(-1, "year"), DomainError),
    ("lifetime", Q_(0, "year"), DomainError),
    ("pue", 0.5, DomainError),
    ("unit_price", Q_(-10, "USD"), DomainError),
    ("maintenance_rate", Q_(-0.1, "1/year"), DomainError),
    ("unit_price", Q_(30000, "W"), UnitError),
    ("unit_price", 30000, UnitError),
    ("electricity_price", Q_(0.1, "USD"), UnitError),
    ("maintenance_rate", 0.1, UnitError),
    ("facility_rate", Q_(1, "USD/W"), UnitError),
])
def test_bad_inputs_raise_documented_errors(name, value, err):
    with pytest.raises(err) as exc:
        T.evaluate(**{**FULL, name: value})
    assert name in str(exc.value)


def test_missing_input_is_named():
    with pytest.raises(UnderdeterminedError, match="electricity_price"):
        T.evaluate(outputs=["tco"], **{k: v for k, v in FULL.items() if k != "electricity_price"})
    # without outputs=, the quantities that do not need the price are computed; reading one that does names it
    part = T.evaluate(**{k: v for k, v in FULL.items() if k != "electricity_price"})
    assert set(part.not_computed) == {"energy_cost", "tco"}
    with pytest.raises(UnderdeterminedError, match="electricity_price"):
        part.tco
