"""Issue #13 items of the sustainability/TCO path: fleet names, power beyond TDP, inverses at zero, whole counts.

Expected numbers are hand calculations written in each test.
"""
import pytest

from mlsysim import Equations, Q_
from mlsysim.cli import main
from mlsysim.core.errors import DomainError
from mlsysim.solvers import SustainabilitySolver, TCOSolver
from mlsysim.systems import Systems

POWER_MODEL = dict(num_devices=1, duration=Q_(1, "h"), pue=1.1, carbon_intensity=Q_(400, "g/kWh"))


def test_sustainability_solver_takes_a_fleet_name():
    # Systems.H100_1024: 1024 x H100 (TDP 700 W); at TDP for 10 h, PUE 1.1:
    # 1024 x 0.7 kW x 10 h x 1.1 = 7,884.8 kWh; at 400 g/kWh: 3,153.92 kg
    r = SustainabilitySolver().solve("H100_1024", duration=Q_(10, "h"), pue=1.1, carbon_intensity=Q_(400, "g/kWh"))
    assert r.energy.m_as("kWh") == pytest.approx(7884.8)
    assert r.carbon.m_as("kg") == pytest.approx(3153.92)
    assert r.binding.entries["fleet"] is Systems.H100_1024
    # the same name by keyword, and in the TCO solver and the inverse
    assert SustainabilitySolver().solve(fleet="H100_1024", duration=Q_(10, "h"), pue=1.1,
                                        carbon_intensity=Q_(400, "g/kWh")).energy.m_as("kWh") == pytest.approx(7884.8)
    t = TCOSolver().solve(fleet="H100_1024", duration=Q_(10, "h"), pue=1.1, electricity_price=Q_(0.1, "USD/kWh"))
    assert t.energy_cost.m_as("USD") == pytest.approx(788.48)  # 7,884.8 kWh x 0.1 USD/kWh
    # 3,153.92 kg in 10 h -> a 1 t budget lasts 10 h x 1000 / 3153.92 = 3.1707 h
    sol = SustainabilitySolver().solve_for("duration", fleet="H100_1024", pue=1.1, carbon_intensity=Q_(400, "g/kWh"),
                                           carbon=Q_(1, "t"))
    assert sol.m_as("h") == pytest.approx(10 * 1000 / 3153.92)


def test_idle_power_above_tdp_is_refused_by_the_equation_set():
    # P = P_idle + u (P_TDP - P_idle) interpolates from idle to TDP: 800 W idle on a 700 W board is no device
    with pytest.raises(DomainError, match=r"idle_power must not exceed tdp = 700 W.*800 W"):
        Equations.Carbon.evaluate(outputs=["carbon"], idle_power=Q_(800, "W"), tdp=Q_(700, "W"), utilization=0.5,
                                  **POWER_MODEL)
    with pytest.raises(DomainError, match="idle_power"):
        Equations.TCO.solve("tco", idle_power=Q_(800, "W"), tdp=Q_(700, "W"), utilization=0.5, num_devices=1,
                            duration=Q_(1, "year"), pue=1.1, electricity_price=Q_(0.1, "USD/kWh"),
                            unit_price=Q_(30000, "USD"), lifetime=Q_(4, "year"), maintenance_rate=Q_(0.1, "1/year"),
                            facility_rate=Q_(1, "USD/W/year"))


def test_power_far_above_tdp_is_refused():
    # 5 kW average on an H100 (TDP 700 W, NVIDIA H100 datasheet) is not a measurement of that device
    with pytest.raises(DomainError, match=r"power must not exceed tdp = 700 W.*power = 5 kW"):
        SustainabilitySolver().solve(hardware="H100", power=Q_(5, "kW"), duration=Q_(1, "h"), region="Poland")
    with pytest.raises(DomainError, match="power must not exceed tdp"):
        Equations.Carbon.solve("carbon", power=Q_(5, "kW"), tdp=Q_(700, "W"), **POWER_MODEL)
    # at the TDP it is accepted: 0.7 kW x 1 h x 1.1 x 0.4 kg/kWh = 0.308 kg
    ok = Equations.Carbon.solve("carbon", power=Q_(700, "W"), tdp=Q_(700, "W"), **POWER_MODEL)
    assert ok.m_as("kg") == pytest.approx(0.308)


def test_zero_carbon_needs_a_zero_intensity_not_an_independence_claim():
    # carbon = P n t PUE CI: with P n t PUE = 0.77 kWh > 0, carbon = 0 exactly when CI = 0, and CI matters
    sol = Equations.Carbon.solve("carbon_intensity", carbon=Q_(0, "t"), tdp=Q_(700, "W"), idle_power=Q_(0, "W"),
                                 utilization=1.0, num_devices=1, duration=Q_(1, "h"), pue=1.1)
    assert sol.m_as("g/kWh") == 0
    assert sol.bound == ""
    assert "does not depend" not in repr(sol)


def test_solve_carbon_for_num_devices_gives_a_whole_number_with_a_note(capsys):
    # per H100 at TDP for 30 days, PUE 1.5, 500 g/kWh: 0.7 kW x 720 h x 1.5 x 0.5 kg/kWh = 378 kg;
    # a 100 t budget: 100,000 / 378 = 264.55 devices -> 264 (264 x 378 kg = 99,792 kg <= 100 t)
    rc = main(["solve", "carbon", "--for", "num_devices", "--hardware", "H100", "--duration", "30day",
               "--pue", "1.5", "--carbon-intensity", "500g/kWh", "--carbon", "100t"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("num_devices = 264 meets carbon = 100 t")
    assert "note: num_devices = 264.55" in out and "whole number 264" in out
