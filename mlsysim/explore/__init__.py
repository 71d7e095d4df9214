"""The interactive explorer: a static, offline web page whose every formula is compiled from the sympy
equation sets to JavaScript (``mlsysim explore --out site/``).

``write_site(out, sets, scenario)`` writes ``index.html``, ``explorer.js`` and ``explorer.css``;
``build(sets, scenario)`` returns the page's data and compiled functions.
"""
from __future__ import annotations

from .compile import PROVENANCE
from .site import DEFAULT_SETS, build, write_files, write_site

__all__ = ["write_site", "write_files", "build", "PROVENANCE", "DEFAULT_SETS"]
