"""One generated explorer (Roofline + Serving + the Chatbot scorecard) shared by the explorer tests:
generating it inverts every (unknown, target) pair symbolically, which takes seconds."""
from __future__ import annotations

import pytest

from mlsysim.explore import build

SETS = ["Roofline", "Serving"]
SCENARIO = "Chatbot"


@pytest.fixture(scope="session")
def built():
    return build(SETS, SCENARIO)
