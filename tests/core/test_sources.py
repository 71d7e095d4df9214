"""Sources: nothing is created without one."""
import pytest

from mlsysim import Q_
from mlsysim.core.equations import Equation
from mlsysim.core.errors import SourceError
from mlsysim.core.sources import Source, Sourced, assumption
from mlsysim.core.specs import SourcedSpec, sv
from mlsysim.core.variables import sym


def test_source_requires_citation_kind_year():
    with pytest.raises(SourceError):
        Source("", kind="paper", year=2020)
    with pytest.raises(SourceError):
        Source("A paper", kind="blog", year=2020)
    with pytest.raises(SourceError):
        Source("A datasheet", kind="datasheet")  # no year
    with pytest.raises(SourceError):
        Source("my guess", kind="assumption")  # an assumption must say why
    s = assumption("mlsysim default", "typical large-GEMM efficiency")
    assert "assumption" in str(s)


def test_equation_requires_source():
    with pytest.raises(SourceError):
        Equation("x", "memory_time", sym.bytes_moved / sym.memory_bandwidth, source=None, description="d")
    with pytest.raises(SourceError):
        Equation("x", "memory_time", sym.bytes_moved / sym.memory_bandwidth, source="Williams 2009", description="d")


def test_sourced_value_requires_source():
    with pytest.raises(SourceError):
        Sourced(Q_(1, "W"), None)
    with pytest.raises(SourceError):
        sv(1, "W", "nvidia")


class _Thing(SourcedSpec):
    FIELDS = {"tdp": "power", "memory_bandwidth": "bandwidth"}
    OPTIONAL = {"memory_bandwidth"}


def test_sourced_spec():
    src = Source("Vendor datasheet", kind="datasheet", year=2023, locator="Table 1")
    t = _Thing("X", "Thing X", tdp=sv(700, "W", src))
    assert t.tdp == Q_(700, "W")
    assert t.source_of("tdp") is src
    with pytest.raises(AttributeError, match="no published memory_bandwidth"):
        t.memory_bandwidth
    with pytest.raises(SourceError):
        _Thing("Y", "Thing Y", tdp=Q_(700, "W"))
    with pytest.raises(SourceError, match="missing required"):
        _Thing("Z", "Thing Z")
