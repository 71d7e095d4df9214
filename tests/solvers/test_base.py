"""The one solver base class: the same bind / solve_for contract and errors for every solver on it."""
import pytest

from mlsysim import Q_
from mlsysim.core.equations import Solution
from mlsysim.core.errors import (DomainError, InfeasibleError, OverdeterminedError, UnderdeterminedError, UnitError,
                                 UnknownVariableError)
from mlsysim.core.sources import Source
from mlsysim.core.variables import check_count
from mlsysim.models import Models
from mlsysim.solvers.base import Binding, Solver
from mlsysim.solvers.checks import check_tp, valid_tp
from mlsysim.solvers.sustainability import SustainabilitySolver
from mlsysim.solvers.tco import TCOSolver

ON_BASE = [SustainabilitySolver, TCOSolver]
JOB = dict(hardware="H100", num_devices=8, duration=Q_(10, "h"), pue=1.5, carbon_intensity=Q_(500, "g/kWh"))
JOBS = {SustainabilitySolver: JOB,
        TCOSolver: dict(hardware="H100", num_devices=8, duration=Q_(10, "h"), pue=1.5,
                        electricity_price=Q_(0.1, "USD/kWh"))}


@pytest.mark.parametrize("cls", ON_BASE)
def test_solver_is_on_the_base(cls):
    assert issubclass(cls, Solver)


@pytest.mark.parametrize("cls", ON_BASE)
def test_bind_is_public_and_returns_knowns_assumptions_and_sources(cls):
    b = cls().bind(**JOBS[cls])
    assert isinstance(b, Binding)
    assert b.knowns["num_devices"] == 8 and b.knowns["tdp"].m_as("W") == 700  # H100 SXM datasheet TDP
    assert all(isinstance(s, Source) for s in b.sources.values())
    assert "utilization" in b.assumptions and b.assumptions["utilization"].source.kind == "assumption"
    assert b.label("hardware") == "H100"


@pytest.mark.parametrize("cls", ON_BASE)
def test_solve_for_without_a_target_is_underdetermined(cls):
    with pytest.raises(UnderdeterminedError):
        cls().solve_for("duration", **{k: v for k, v in JOBS[cls].items() if k != "duration"})


@pytest.mark.parametrize("cls", ON_BASE)
def test_solve_for_an_unknown_name_is_an_unknown_variable(cls):
    with pytest.raises(UnknownVariableError, match="not an input"):
        cls().solve_for("warp_speed", **JOBS[cls])


@pytest.mark.parametrize("cls", ON_BASE)
def test_unknown_keyword_is_refused_with_the_accepted_list(cls):
    with pytest.raises(UnknownVariableError, match="did you mean"):
        cls().bind(**JOBS[cls], utilisation=0.5)


def test_two_targets_or_the_unknown_given_are_overdetermined():
    with pytest.raises(OverdeterminedError):
        SustainabilitySolver().solve_for("pue", **{k: v for k, v in JOB.items() if k != "pue"},
                                         carbon=Q_(1, "t"), energy=Q_(1, "MWh"))
    with pytest.raises(OverdeterminedError):
        SustainabilitySolver().solve_for("pue", **JOB, carbon=Q_(1, "t"))


def test_infeasible_names_what_binds():
    # PUE >= 1: 8 x 0.7 kW x 10 h x 500 g/kWh = 28 kg at PUE 1, so a 1 kg budget cannot be met by any PUE
    with pytest.raises(InfeasibleError) as e:
        SustainabilitySolver().solve_for("pue", **{k: v for k, v in JOB.items() if k != "pue"},
                                         carbon=Q_(1, "kg"))
    assert e.value.binding


def test_count_unknown_rounds_to_the_whole_number_that_keeps_the_target_with_a_note():
    # one H100 at TDP for 10 h, PUE 1.5, 500 g/kWh: 0.7 kW * 10 h * 1.5 * 0.5 kg/kWh = 5.25 kg per device;
    # a 100 kg budget allows 100 / 5.25 = 19.05 devices -> 19 (19 * 5.25 = 99.75 kg <= 100 kg)
    job = {k: v for k, v in JOB.items() if k != "num_devices"}
    sol = SustainabilitySolver().solve_for("num_devices", **job, carbon=Q_(100, "kg"))
    assert isinstance(sol, Solution)
    assert sol.value.m_as("") == 19
    assert "19.0476" in sol.note and "19.0476" in repr(sol)
    assert sol.continuous.m_as("") == pytest.approx(100 / 5.25)
    assert sol.all["carbon"].m_as("kg") == pytest.approx(99.75)


class _EvenDevices(SustainabilitySolver):
    """A solver whose layout takes only an even number of devices (a structural constraint)."""

    def admissible(self, unknown, value, binding):
        return unknown != "num_devices" or value % 2 == 0


def test_a_structural_constraint_moves_the_count_to_the_nearest_admissible_one():
    # 100 kg / 5.25 kg = 19.05 devices: 19 is odd; the admissible neighbours are 18 (94.5 kg, meets) and 20
    # (105 kg, exceeds): 18
    job = {k: v for k, v in JOB.items() if k != "num_devices"}
    sol = _EvenDevices().solve_for("num_devices", **job, carbon=Q_(100, "kg"))
    assert sol.value.m_as("") == 18 and "layout" in sol.note
    assert sol.all["carbon"].m_as("kg") == pytest.approx(94.5)


def test_accepted_arguments_are_generated_from_the_set_nomenclature_and_catalogue():
    args = TCOSolver.accepted_arguments()
    # registry arguments, the set's inputs, the measured power, the assumption catalogue
    for name in ("fleet", "hardware", "region", "datacenter", "duration", "num_devices", "unit_price", "power",
                 "maintenance_rate", "facility_rate", "lifetime"):
        assert name in args
    assert "[USD]" in args["unit_price"] and "assumption" in args["maintenance_rate"]
    assert "tco" in TCOSolver.targets()


def test_one_count_validator():
    assert check_count("n", 8) == 8 and check_count("n", 8.0) == 8 and check_count("n", Q_(3, "")) == 3
    for bad in (0, 2.5, True, "8", float("nan"), None, [1, 2]):
        with pytest.raises(DomainError, match="n must be a whole number >= 1"):
            check_count("n", bad)
    with pytest.raises(UnitError):
        check_count("n", Q_(8, "s"))
    assert list(check_count("n", [1, 2, 4], arrays=True)) == [1, 2, 4]
    assert check_count("n", 0, minimum=0) == 0


def test_one_tensor_parallel_check():
    m = Models.Llama3_70B  # 64 attention heads, 8 KV heads (Meta model card / config.json)
    assert valid_tp(m, 8) and valid_tp(m, 16) and not valid_tp(m, 5) and not valid_tp(m, 3)
    with pytest.raises(DomainError, match="64 attention heads"):
        check_tp(m, 5)
    with pytest.raises(DomainError, match="num_devices = 6"):
        check_tp(m, 6, arg="num_devices")


ALL_SOLVERS = ["SingleNodeSolver", "ServingSolver", "DistributedSolver", "SustainabilitySolver", "TCOSolver"]


@pytest.mark.parametrize("name", ALL_SOLVERS)
def test_every_solver_without_a_target_is_underdetermined(name):
    # issue #12 acceptance: one base class; solve_for without a target -> UnderdeterminedError for every solver
    import mlsysim.solvers as solvers

    cls = getattr(solvers, name)
    if not issubclass(cls, Solver):
        pytest.skip(f"{name} is not on the Solver base yet")
    unknown = cls().equations.inputs[0]
    with pytest.raises(UnderdeterminedError):
        cls().solve_for(unknown)
