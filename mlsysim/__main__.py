"""``python -m mlsysim``: the command line (see :mod:`mlsysim.cli`)."""
import sys

from .cli import main

sys.exit(main())
