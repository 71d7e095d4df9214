"""Display units a reader expects (issue #13): each variable carries a display unit, used by fmt_quantity."""
import pytest

from mlsysim import Equations, Q_
from mlsysim.core.display import plural
from mlsysim.core.equations import fmt_quantity
from mlsysim.core.variables import VARIABLES

Equations.Serving  # defines decode_throughput


@pytest.mark.parametrize("q, name, text", [
    (Q_(0.5, "kg/kWh"), "carbon_intensity", "500 g/kWh"),         # not 0.5 kg/kWh or 500 mg/Wh
    (Q_(0.0005, "kg/Wh"), None, "500 g/kWh"),
    (Q_(3.2e6, "kg"), "carbon", "3,200 t"),                        # not 3.2 Gg
    (Q_(12.5, "kg"), "carbon", "12.5 kg"),
    (Q_(1_234_567, "USD"), "tco", "1,234,567 USD"),                # not 1.235 MUSD
    (Q_(4.2, "USD"), None, "4.2 USD"),
    (Q_(0.25, "FLOP/byte"), "arithmetic_intensity", "0.25 FLOP/B"),  # not 250 mFLOP/B
    (Q_(1200, "1/s"), "decode_throughput", "1,200 tokens/s"),      # not 1.2 k/s
    (Q_(30540, "day"), "duration", "30,540 days"),                 # not 3.054e+04 d
    (Q_(0.1, "USD/kWh"), "electricity_price", "0.1 USD/kWh"),
    (Q_(20, "ms"), "tpot", "20 ms"),                               # untouched: SI prefix rule
])
def test_display_units(q, name, text):
    assert fmt_quantity(q, name=name) == text


def test_each_variable_carries_a_display_unit_field():
    assert VARIABLES["decode_throughput"].display_unit == "tokens/s"
    assert VARIABLES["latency"].display_unit == ""  # the dimension decides


def test_singular_and_plural():
    assert plural(1, "output token") == "1 output token"
    assert plural("2", "output token") == "2 output tokens"
    assert plural("array(3,)", "token") == "array(3,) tokens"
