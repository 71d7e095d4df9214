"""The solve carbon / solve tco flags are generated from the solvers' signatures (issue #12.1)."""
import argparse

import pytest

from mlsysim.cli import build_parser, main
from mlsysim.solvers import SustainabilitySolver, TCOSolver


def _subparser(*path):
    p = build_parser()
    for name in path:
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        p = sub.choices[name]
    return p


@pytest.mark.parametrize("cmd, cls", [("carbon", SustainabilitySolver), ("tco", TCOSolver)])
def test_every_accepted_argument_and_target_has_a_flag(cmd, cls):
    dests = {a.dest for a in _subparser("solve", cmd)._actions}
    assert set(cls.accepted_arguments()) <= dests
    assert set(cls.targets()) <= dests
    # and nothing beyond them, --for and --json
    assert dests - set(cls.accepted_arguments()) - set(cls.targets()) == {"help", "unknown", "json"}


def test_a_generated_flag_reaches_the_solver(capsys):
    # --idle-power was not an option before the flags were generated. H100 TDP 700 W, idle 100 W, u = 0.5:
    # P = 100 + 0.5 x 600 = 400 W; 1 device, 10 h, PUE 1.5, 500 g/kWh: 0.4 x 10 x 1.5 x 0.5 = 3 kg per device;
    # a 30 kg budget allows 10 devices
    rc = main(["solve", "carbon", "--for", "num_devices", "--hardware", "H100", "--duration", "10h",
               "--utilization", "0.5", "--idle-power", "100W", "--pue", "1.5", "--carbon-intensity", "500g/kWh",
               "--carbon", "30kg"])
    assert rc == 0
    assert capsys.readouterr().out.startswith("num_devices = 10 meets carbon = 30 kg")


@pytest.mark.parametrize("flag, value, words", [
    ("--pue", "0.5", "pue must be a finite number >= 1; got 0.5"),
    ("--num-devices", "0", "num_devices must be a whole number >= 1; got 0"),
    ("--utilization", "1.5", "utilization must be a finite number with 0 < x <= 1; got 1.5"),
])
def test_generated_flags_check_the_variable_domain(capsys, flag, value, words):
    try:
        rc = main(["solve", "carbon", "--for", "duration", "--hardware", "H100", "--region", "Poland",
                   flag, value, "--carbon", "5t"])
    except SystemExit as exc:  # argparse exits on a bad option value
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1
