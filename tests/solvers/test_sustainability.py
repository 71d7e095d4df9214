"""SustainabilitySolver and TCOSolver: registry binding, published footprints, comparisons, inverses, errors.

Expected numbers are published values (Patterson et al. 2021 Table 4; Luccioni et al. 2022) or hand
calculations written out here from the inputs the test reads.
"""
import json

import pytest

from mlsysim import Equations, Q_
from mlsysim.core.assumptions import Assumption
from mlsysim.core.errors import (DomainError, InfeasibleError, OverdeterminedError, UnderdeterminedError, UnitError,
                                 UnknownNameError, UnknownVariableError)
from mlsysim.core.sources import Source
from mlsysim.core.specs import SourcedSpec, sv
from mlsysim.solvers.sustainability import (DEFAULT_ASSUMPTIONS, IDLE_POWER, RegionComparison, SustainabilityResult,
                                         SustainabilitySolver, TCOResult, TCOSolver, UTILIZATION)
from mlsysim.hardware import Hardware
from mlsysim.infra import Infra
from mlsysim.systems import Fleet

S = SustainabilitySolver()
T = TCOSolver()
HOURS_PER_YEAR = 8766.0  # Julian year, the unit definition of mlsysim

TEST_SHEET = Source("test-only datasheet", kind="datasheet", year=2024, locator="made-up values for tests")


class _Device(SourcedSpec):
    """A minimal hardware entry with an idle power (no registry device publishes one yet)."""
    FIELDS = {"tdp": "", "idle_power": "", "unit_price": "", "embodied_carbon": ""}
    OPTIONAL = {"idle_power", "unit_price", "embodied_carbon"}


class _Grid(SourcedSpec):
    FIELDS = {"carbon_intensity": "", "pue": "", "wue": "", "electricity_price": "", "water_intensity": ""}
    OPTIONAL = {"wue", "electricity_price", "water_intensity"}


DEV = _Device("TestGPU", "test GPU", tdp=sv(700, "W", TEST_SHEET), idle_power=sv(100, "W", TEST_SHEET),
              unit_price=sv(30000, "USD", TEST_SHEET), embodied_carbon=sv(150, "kg", TEST_SHEET))
GRID = _Grid("TestGrid", "test grid", carbon_intensity=sv(400, "g/kWh", TEST_SHEET), pue=sv(1.5, None, TEST_SHEET),
             wue=sv(0.3, "L/kWh", TEST_SHEET), electricity_price=sv(0.10, "USD/kWh", TEST_SHEET),
             water_intensity=sv(2.0, "L/kWh", TEST_SHEET))


# ------------------------------------------------------------------ published footprints through the registries
# Patterson et al. 2021 (arXiv:2104.10350) Table 4: chips, days, measured W/chip -> MWh, net tCO2e; the
# datacentre's PUE and net intensity come from the Infra registry's entries for those Google sites.
PATTERSON = [("Taiwan", 512, 20.0, 310, 85.7, 46.7), ("Georgia_US", 1024, 30.0, 289, 232, 96.4),
             ("NorthCarolina", 1024, 3.1, 288, 24.1, 4.3)]


@pytest.mark.parametrize("site,chips,days,watts,mwh,tco2e", PATTERSON)
def test_patterson_2021_through_solver(site, chips, days, watts, mwh, tco2e):
    r = S.solve(hardware=Hardware.TPUv3, num_devices=chips, duration=Q_(days, "day"), region=Infra.get(site),
                power=Q_(watts, "W"))
    assert abs(r.energy.m_as("MWh") - mwh) / mwh <= 0.02
    assert abs(r.carbon.m_as("t") - tco2e) / tco2e <= 0.02
    assert "Patterson" in r.sources["carbon_intensity"].citation
    assert r.power.m_as("W") == watts  # the measured power is reported back, not recomputed
    assert "utilization" not in {a.name for a in r.assumptions}  # the power model was not used


def test_bloom_luccioni_2022_through_solver():
    # Luccioni et al. 2022: 1,082,990 GPU-hours x 400 W A100 TDP = 433,196 kWh (no PUE), x 57 g/kWh = 24.69 t
    r = S.solve(hardware=Hardware.A100, num_devices=384, duration=Q_(1082990 / 384, "h"), region=Infra.France,
                carbon_intensity=Q_(57, "g/kWh"), pue=1.0)
    assert Hardware.A100.tdp.m_as("W") == 400
    assert abs(r.it_energy.m_as("kWh") - 433196) / 433196 <= 0.01
    assert abs(r.carbon.m_as("t") - 24.69) / 24.69 <= 0.01
    # utilization 1 (GPU-hours x TDP) is the default assumption, listed with its source
    used = {a.name: a for a in r.assumptions}
    assert used["utilization"] is UTILIZATION and "Luccioni" in used["utilization"].source.note
    # caller overrides are recorded as such, not as the registry's French grid value
    assert r.sources["carbon_intensity"].citation == "value given by the caller"
    assert "replaces" in r.sources["pue"].note  # the registry's French PUE was replaced, and it says so


# ------------------------------------------------------------------ hand calculations with a test device and grid
def test_hand_calculation_every_output():
    r = S.solve(hardware=DEV, num_devices=8, duration=Q_(10, "h"), region=GRID, utilization=0.5)
    # power = 100 + 0.5 * (700 - 100) = 400 W; IT = 400 W * 8 * 10 h = 32 kWh; facility = 1.5 * 32 = 48 kWh
    assert r.power.m_as("W") == pytest.approx(400)
    assert r.it_energy.m_as("kWh") == pytest.approx(32)
    assert r.energy.m_as("kWh") == pytest.approx(48)
    # carbon = 48 kWh * 400 g/kWh = 19.2 kg; water = 0.3 L/kWh * 32 kWh (IT) = 9.6 L; off-site 2 * 48 = 96 L
    assert r.carbon.m_as("kg") == pytest.approx(19.2)
    assert r.water.m_as("L") == pytest.approx(9.6)
    assert r.offsite_water.m_as("L") == pytest.approx(96)
    assert r.total_water.m_as("L") == pytest.approx(105.6)
    # embodied: 150 kg * 8 devices * 10 h / (4 years assumed = 35,064 h) = 0.34223 kg
    assert r.embodied_share.m_as("kg") == pytest.approx(150 * 8 * 10 / (4 * HOURS_PER_YEAR))
    assert r.total_carbon.m_as("kg") == pytest.approx(19.2 + 150 * 8 * 10 / (4 * HOURS_PER_YEAR))
    names = {a.name for a in r.assumptions}
    assert {"utilization", "lifetime"} <= names
    assert r.sources["tdp"] is TEST_SHEET and r.sources["carbon_intensity"] is TEST_SHEET


def test_solver_outputs_by_hand():
    # TestGPU: idle 100 W, TDP 700 W; at utilization 0.5: P = 100 + 0.5 x (700 - 100) = 400 W
    # 8 devices x 0.4 kW x 10 h = 32 kWh IT energy; x PUE 1.5 = 48 kWh facility energy
    # carbon 48 kWh x 400 g/kWh = 19.2 kg; water on site 0.3 L/kWh x 32 kWh = 9.6 L, off site 2 L/kWh x 48 kWh = 96 L
    # embodied share: 8 x 150 kg x 10 h / (4 years x 8766 h) = 1200 kg x 10 / 35064 = 0.342231 kg
    r = S.solve(hardware=DEV, num_devices=8, duration=Q_(10, "h"), region=GRID, utilization=0.5)
    expected = {"power": (400, "W"), "it_energy": (32, "kWh"), "energy": (48, "kWh"), "carbon": (19.2, "kg"),
                "water": (9.6, "L"), "offsite_water": (96, "L"), "total_water": (105.6, "L"),
                "embodied_share": (1200 * 10 / (4 * HOURS_PER_YEAR), "kg"),
                "total_carbon": (19.2 + 1200 * 10 / (4 * HOURS_PER_YEAR), "kg")}
    for k, (value, unit) in expected.items():
        assert getattr(r, k).m_as(unit) == pytest.approx(value, rel=1e-9), k


def test_missing_idle_power_uses_the_named_energy_proportional_assumption():
    # Hardware.H100 publishes no idle power: at utilization 0.5 the power is 0 + 0.5 * 700 = 350 W
    assert not Hardware.H100.has("idle_power")
    r = S.solve(hardware=Hardware.H100, num_devices=1, duration=Q_(1, "h"), region=GRID, utilization=0.5)
    assert r.power.m_as("W") == pytest.approx(350)
    used = {a.name: a for a in r.assumptions}
    assert used["idle_power"] is IDLE_POWER and used["idle_power"].source.kind == "assumption"
    # an explicit idle power replaces it: 50 + 0.5 * 650 = 375 W
    r2 = S.solve(hardware=Hardware.H100, num_devices=1, duration=Q_(1, "h"), region=GRID, utilization=0.5,
                 idle_power=Q_(50, "W"))
    assert r2.power.m_as("W") == pytest.approx(375)
    assert r2.sources["idle_power"].citation == "value given by the caller"
    assert "idle_power" not in {a.name for a in r2.assumptions}


def test_every_default_assumption_is_sourced():
    for a in DEFAULT_ASSUMPTIONS.values():
        assert isinstance(a, Assumption) and isinstance(a.source, Source)
        assert a.source.kind in ("assumption", "report", "paper", "derived")


def test_datacenter_profile_overrides_the_region_pue():
    base = S.solve(hardware=Hardware.H100, num_devices=64, duration=Q_(7, "day"), region=Infra.Poland)
    hyper = S.solve(hardware=Hardware.H100, num_devices=64, duration=Q_(7, "day"), region=Infra.Poland,
                    datacenter=Infra.Hyperscale)
    assert hyper.knowns["pue"] == Infra.Hyperscale.pue
    # same IT energy; facility energy and carbon scale with the PUE ratio
    assert hyper.it_energy.m_as("kWh") == pytest.approx(base.it_energy.m_as("kWh"))
    ratio = Infra.Hyperscale.pue / Infra.Poland.pue
    assert hyper.carbon.m_as("kg") == pytest.approx(base.carbon.m_as("kg") * ratio)
    # hand calc: 700 W * 64 * 168 h = 7,526.4 kWh IT
    assert base.it_energy.m_as("kWh") == pytest.approx(0.7 * 64 * 168)


def test_fleet_supplies_hardware_and_device_count():
    fleet = Fleet("H100", num_nodes=2)  # DGX H100: 8 per node -> 16 devices
    r = S.solve(fleet, duration=Q_(1, "day"), region=Infra.Quebec)
    # 700 W * 16 * 24 h = 268.8 kWh IT
    assert r.knowns["num_devices"] == 16
    assert r.it_energy.m_as("kWh") == pytest.approx(268.8)
    with pytest.raises(OverdeterminedError):
        S.solve(fleet, hardware=Hardware.H100, duration=Q_(1, "day"), region=Infra.Quebec)


def test_fleet_datacenter_is_used():
    fleet = Fleet("H100", num_nodes=1, datacenter="Hyperscale")
    r = S.solve(fleet, duration=Q_(1, "day"), region=Infra.Quebec)
    assert r.knowns["pue"] == Infra.Hyperscale.pue


def test_arrays_sweep_through_the_solver():
    import numpy as np
    r = S.solve(hardware=DEV, num_devices=8, duration=Q_(10, "h"), region=GRID, utilization=np.array([0.25, 0.5, 1.0]))
    # power = 100 + u * 600 = 250, 400, 700 W; carbon = power * 8 * 10 h * 1.5 * 0.4 kg/kWh
    np.testing.assert_allclose(r.power.m_as("W"), [250, 400, 700])
    np.testing.assert_allclose(r.carbon.m_as("kg"), np.array([250, 400, 700]) * 0.08 * 1.5 * 0.4)
    json.dumps(r.to_dict())


def test_to_dict_is_plain_json():
    r = S.solve(hardware=DEV, num_devices=8, duration=Q_(10, "h"), region=GRID, utilization=0.5)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["outputs"]["carbon"]["unit"] == "kg" and d["outputs"]["carbon"]["value"] == pytest.approx(19.2)
    assert "utilization" in d["assumptions"] and "tdp" in d["sources"]
    assert "carbon" in repr(r)


def test_water_is_omitted_without_a_wue():
    grid = _Grid("NoWater", "no water data", carbon_intensity=sv(300, "g/kWh", TEST_SHEET), pue=sv(1.2, None, TEST_SHEET))
    r = S.solve(hardware=Hardware.H100, num_devices=1, duration=Q_(1, "h"), region=grid)
    assert r.water is None and r.carbon is not None and r.embodied_share is None


# ------------------------------------------------------------------ compare
def test_compare_regions_side_by_side():
    regions = [Infra.Quebec, Infra.Poland, Infra.France]
    cmp = S.compare(regions, hardware=Hardware.H100, num_devices=1024, duration=Q_(30, "day"))
    assert isinstance(cmp, RegionComparison) and len(cmp) == 3
    it = 0.7 * 1024 * 720  # kWh, hand calculation: 700 W x 1024 x 720 h
    for reg in regions:
        row = cmp[reg.key]
        expected_kg = it * reg.pue * reg.carbon_intensity.m_as("g/kWh") / 1000
        assert row.carbon.m_as("kg") == pytest.approx(expected_kg)
    name, best = cmp.best("carbon")
    assert name == "Quebec"
    table = cmp.table()
    assert all(r.key in table for r in regions) and "g/kWh" in table
    assert set(cmp.to_dict()) == {"Quebec", "Poland", "France"}
    with pytest.raises(UnknownVariableError):
        cmp.best("price")


def test_compare_accepts_names_and_rejects_bad_lists():
    cmp = S.compare(["Quebec", "Poland"], hardware="H100", duration=Q_(1, "h"))
    assert [n for n, _ in cmp] == ["Quebec", "Poland"]
    with pytest.raises(UnderdeterminedError):
        S.compare([], hardware="H100", duration=Q_(1, "h"))
    with pytest.raises(OverdeterminedError):
        S.compare(["Quebec"], hardware="H100", duration=Q_(1, "h"), region=Infra.Poland)


# ------------------------------------------------------------------ inverse questions
def test_gpu_hours_that_fit_a_budget_in_poland():
    sol = S.solve_for("duration", hardware=Hardware.H100, num_devices=1, region=Infra.Poland, carbon=Q_(50, "t"))
    # 50e6 g / (662 g/kWh * PUE) / 0.7 kW
    expected_h = 50e6 / Infra.Poland.carbon_intensity.m_as("g/kWh") / Infra.Poland.pue / 0.7
    assert sol.value.m_as("h") == pytest.approx(expected_h, rel=1e-9)
    # and back: the forward solver at that duration gives 50 t
    r = S.solve(hardware=Hardware.H100, num_devices=1, duration=sol.value, region=Infra.Poland)
    assert r.carbon.m_as("t") == pytest.approx(50, rel=1e-9)


def test_grid_intensity_that_keeps_a_run_under_100_t():
    sol = S.solve_for("carbon_intensity", hardware=Hardware.H100, num_devices=1000, duration=Q_(30, "day"),
                      datacenter=Infra.Hyperscale, carbon=Q_(100, "t"))
    # 100e6 g / (0.7 kW * 1000 * 720 h * PUE)
    expected = 100e6 / (0.7 * 1000 * 720 * Infra.Hyperscale.pue)
    assert sol.value.m_as("g/kWh") == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("unknown", ["num_devices", "utilization", "pue", "duration", "carbon_intensity", "tdp",
                                     "idle_power"])
def test_solver_inverse_round_trip(unknown):
    kw = dict(hardware=DEV, num_devices=8, duration=Q_(10, "h"), region=GRID, utilization=0.5)
    fwd = S.solve(**kw)
    truth = fwd.knowns[unknown]
    args = {k: v for k, v in kw.items() if k != unknown}
    sol = S.solve_for(unknown, carbon=fwd.carbon, **args)
    if hasattr(truth, "units"):
        assert sol.value.m_as(truth.units) == pytest.approx(truth.magnitude, rel=1e-9)
    else:
        assert float(sol.value.magnitude) == pytest.approx(truth, rel=1e-9)


def test_utilization_for_a_measured_power_and_power_for_a_budget():
    # 400 W measured on the test device: (400 - 100) / (700 - 100) = 0.5
    assert float(S.solve_for("utilization", hardware=DEV, power=Q_(400, "W")).value) == pytest.approx(0.5)
    # average power allowed by a 19.2 kg budget for 8 devices x 10 h at PUE 1.5, 400 g/kWh: 400 W
    sol = S.solve_for("power", hardware=DEV, num_devices=8, duration=Q_(10, "h"), region=GRID, carbon=Q_(19.2, "kg"))
    assert sol.value.m_as("W") == pytest.approx(400, rel=1e-9)


def test_unreachable_budget_is_infeasible():
    # 1 t in 10 h on 8 test devices needs more than TDP: no utilization in (0, 1] gets there
    with pytest.raises(InfeasibleError):
        S.solve_for("utilization", hardware=DEV, num_devices=8, duration=Q_(10, "h"), region=GRID,
                    carbon=Q_(1, "t"))


def test_solve_for_needs_exactly_one_target():
    with pytest.raises(UnderdeterminedError):
        S.solve_for("duration", hardware=DEV, region=GRID)
    with pytest.raises(OverdeterminedError):
        S.solve_for("duration", hardware=DEV, region=GRID, carbon=Q_(1, "t"), water=Q_(1, "L"))
    with pytest.raises(OverdeterminedError):
        S.solve_for("duration", hardware=DEV, region=GRID, duration=Q_(1, "h"), carbon=Q_(1, "t"))
    with pytest.raises(UnknownVariableError):
        S.solve_for("latency", hardware=DEV, region=GRID, carbon=Q_(1, "t"))


# ------------------------------------------------------------------ bad input
def test_bad_inputs_raise_documented_errors():
    kw = dict(hardware=DEV, num_devices=8, region=GRID)
    with pytest.raises(DomainError, match="duration"):
        S.solve(duration=Q_(-1, "h"), **kw)
    with pytest.raises(UnitError, match="duration"):
        S.solve(duration=Q_(1, "W"), **kw)
    with pytest.raises(UnitError, match="duration"):
        S.solve(duration=10, **kw)
    with pytest.raises(DomainError, match="pue"):
        S.solve(duration=Q_(1, "h"), pue=0.8, **kw)
    with pytest.raises(DomainError, match="utilization"):
        S.solve(duration=Q_(1, "h"), utilization=1.2, **kw)
    with pytest.raises(DomainError, match="idle_power"):
        S.solve(duration=Q_(1, "h"), idle_power=Q_(800, "W"), **kw)
    with pytest.raises(OverdeterminedError, match="utilization"):
        S.solve(duration=Q_(1, "h"), power=Q_(300, "W"), utilization=0.5, **kw)
    with pytest.raises(UnknownVariableError, match="carbon_intensty"):
        S.solve(duration=Q_(1, "h"), carbon_intensty=Q_(1, "g/kWh"), **kw)
    with pytest.raises(UnderdeterminedError, match="duration"):
        S.solve(**kw)
    with pytest.raises(UnderdeterminedError, match="region"):
        S.solve(hardware=DEV, duration=Q_(1, "h"))
    with pytest.raises(UnknownNameError):
        S.solve(hardware=DEV, duration=Q_(1, "h"), region="Atlantis")
    with pytest.raises(DomainError, match="num_devices"):
        S.solve(hardware=DEV, num_devices=0, duration=Q_(1, "h"), region=GRID)


# ------------------------------------------------------------------ TCO
def test_tco_hand_calculation_with_registry_values():
    r = T.solve(hardware=Hardware.H100, num_devices=8, duration=Q_(1, "year"), region=Infra.US_Avg)
    price = Hardware.H100.unit_price.m_as("USD")
    e_price = Infra.US_Avg.electricity_price.m_as("USD/kWh")
    pue = Infra.US_Avg.pue
    capex = price * 8
    assert isinstance(r, TCOResult)
    assert r.capex.m_as("USD") == pytest.approx(capex)
    assert r.capex_share.m_as("USD") == pytest.approx(capex / 4)             # 4-year lifetime assumed
    assert r.maintenance_cost.m_as("USD") == pytest.approx(0.10 * capex)     # 10 %/year assumed
    energy_kwh = 0.7 * 8 * HOURS_PER_YEAR * pue                              # 700 W at utilization 1
    assert r.energy.m_as("kWh") == pytest.approx(energy_kwh)
    assert r.energy_cost.m_as("USD") == pytest.approx(energy_kwh * e_price)
    assert r.facility_cost.m_as("USD") == pytest.approx(1.0 * 700 * 8)      # 1 USD/W/year assumed
    assert r.tco.m_as("USD") == pytest.approx(capex / 4 + 0.10 * capex + energy_kwh * e_price + 5600)
    assert {"lifetime", "maintenance_rate", "facility_rate", "utilization"} <= {a.name for a in r.assumptions}
    assert r.sources["unit_price"] is Hardware.H100.source_of("unit_price")
    json.dumps(r.to_dict())


def test_tco_overrides_and_missing_prices():
    r = T.solve(hardware=DEV, num_devices=8, duration=Q_(1, "year"), region=GRID, utilization=0.75,
                lifetime=Q_(3, "year"), maintenance_rate=Q_(0, "1/year"), facility_rate=Q_(0, "USD/W/year"))
    # capex share = 240,000 / 3 = 80,000; energy = 550 W * 8 * 8766 h * 1.5 = 57,855.6 kWh -> 5,785.56 USD
    assert r.tco.m_as("USD") == pytest.approx(80000 + 0.55 * 8 * HOURS_PER_YEAR * 1.5 * 0.10)
    assert {a.name: a for a in r.assumptions}["lifetime"].source.citation == "value given by the caller"
    with pytest.raises(UnderdeterminedError, match="unit_price"):
        T.solve(hardware=Hardware.H200, duration=Q_(1, "year"), region=Infra.US_Avg)
    with pytest.raises(UnderdeterminedError, match="electricity_price"):
        T.solve(hardware=Hardware.H100, duration=Q_(1, "year"), region=Infra.Poland)
    ok = T.solve(hardware=Hardware.H100, duration=Q_(1, "year"), region=Infra.Poland,
                 electricity_price=Q_(0.2, "USD/kWh"))
    assert ok.energy_cost.m_as("USD") == pytest.approx(0.7 * HOURS_PER_YEAR * Infra.Poland.pue * 0.2)


@pytest.mark.parametrize("unknown", ["unit_price", "electricity_price", "duration", "lifetime", "num_devices"])
def test_tco_solver_inverse_round_trip(unknown):
    kw = dict(hardware=DEV, num_devices=8, duration=Q_(1, "year"), region=GRID, utilization=0.75)
    fwd = T.solve(**kw)
    truth = fwd.knowns[unknown]
    args = {k: v for k, v in kw.items() if k != unknown}
    sol = T.solve_for(unknown, tco=fwd.tco, **args)
    if hasattr(truth, "units"):
        assert sol.value.m_as(truth.units) == pytest.approx(truth.magnitude, rel=1e-9)
    else:
        assert float(sol.value.magnitude) == pytest.approx(truth, rel=1e-9)


# ------------------------------------------------------------------ every fact once (issue #12.4)
def test_default_pue_points_at_the_registry_entry():
    from mlsysim.solvers.sustainability import PUE

    assert PUE.value == Infra.IndustryAverage.pue
    assert PUE.source is Infra.IndustryAverage.source_of("pue")


def test_the_uptime_survey_and_its_pue_are_typed_once():
    from pathlib import Path

    import mlsysim

    root = Path(mlsysim.__file__).parent
    hits = [p for p in root.rglob("*.py") if "Global Data Center Survey 2025" in p.read_text(encoding="utf-8")]
    assert len(hits) == 1, hits


def test_tp_allreduce_counts_have_one_name_each():
    from mlsysim.core import defaults
    from mlsysim.core.equation_sets import parallelism

    assert not hasattr(defaults, "TP_ALLREDUCES_PER_LAYER")
    assert defaults.TP_ALLREDUCES_PER_FORWARD.value == 2          # Megatron-LM Fig. 3: after attention, after MLP
    assert parallelism.TP_ALLREDUCES_PER_LAYER["none"] == 4       # forward + backward per training step
