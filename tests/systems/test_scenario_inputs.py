"""Issue #13 items of the Applications scenarios: idle power, names after replace, typed errors, tiny devices.

Expected numbers are hand calculations written in each test.
"""
import pytest

from mlsysim import Applications, Q_
from mlsysim.core.errors import DomainError, MlsysimError
from mlsysim.core.sources import Source
from mlsysim.core.specs import sv
from mlsysim.hardware import Hardware
from mlsysim.systems.applications import Scenario

SHEET = Source("test-only datasheet", kind="datasheet", year=2024, locator="made-up idle power for a test")


def test_scenario_states_the_idle_power_it_assumes():
    # Hardware.ESP32 publishes no idle power: the energy-proportional assumption (0 W) is used and shown
    ev = Applications.Doorbell.evaluate()
    card = ev.scorecard()
    assert "assumed: idle_power = 0 W" in card
    assert any(a["name"] == "idle_power" for a in ev.to_dict()["assumptions"])


def test_scenario_uses_a_sourced_idle_power():
    # ESP32 with a sourced 20 mW idle power; the Doorbell's device power assumption is 100 mW at duty cycle 0.1:
    # P = 20 mW + 0.1 x (100 - 20) mW = 28 mW (the 0 W assumption gave 0.1 x 100 mW = 10 mW)
    hw = Hardware.ESP32.replace(idle_power=sv(20, "mW", SHEET))
    ev = Applications.Doorbell.replace(hardware=hw).evaluate()
    assert ev.results["sustainability"].power.m_as("mW") == pytest.approx(28)
    assert "assumed: idle_power" not in ev.scorecard()


def test_replaced_hardware_renames_the_scenario():
    base = Scenario("Llama-3-8B on H100", "Llama3_8B", hardware="H100", prompt_tokens=512, output_tokens=128,
                    source=SHEET)
    assert base.replace(hardware="MI300X").name == "Llama-3-8B on MI300X"
    # a name that does not mention the device says what changed
    moved = Applications.Chatbot.replace(hardware="MI300X")
    assert moved.name != Applications.Chatbot.name and "MI300X" in moved.name
    assert "MI300X" in moved.evaluate().scorecard().splitlines()[0]
    # an explicit name wins; an unchanged device keeps the name
    assert Applications.Chatbot.replace(hardware="MI300X", name="Mine").name == "Mine"
    assert Applications.Chatbot.replace(batch_size=2).name == Applications.Chatbot.name


def test_article_before_a_vowel():
    with pytest.raises(DomainError, match="does not apply to an inference scenario"):
        Scenario("x", "ResNet50", hardware="H100", targets={"tpot": Q_(20, "ms")}, source=SHEET, mode="inference")


def test_unsupported_hardware_swap_is_a_typed_error():
    # TPUv3 in the registry publishes no memory capacity: training on it cannot be evaluated
    with pytest.raises(MlsysimError, match="TPUv3 has no published memory_capacity"):
        Applications.Frontier.replace(hardware="TPUv3").evaluate()


def test_transformer_on_a_microcontroller_fails_on_sram():
    # Llama-3-8B int8: 8.03e9 parameters x 1 byte = 8.03 GB of weights alone; the ESP32 has 512 KiB of SRAM
    # and 8 MiB of flash (registry), so the model fits in neither
    ev = Applications.Doorbell.replace(model="Llama3_8B").evaluate()
    mem = [c for c in ev.checks if c.name == "memory"]
    assert len(mem) == 1 and mem[0].passed is False
    assert mem[0].target.m_as("KiB") == pytest.approx(512)
    flash = [c for c in ev.checks if c.name == "flash"]
    assert len(flash) == 1 and flash[0].passed is False and flash[0].target.m_as("MiB") == pytest.approx(8)
    assert not ev.passed and "capacity unknown" not in ev.scorecard()
