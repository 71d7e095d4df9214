"""LaTeX export of mlsysim's equation sets for the textbook.

* :func:`export` regenerates the repository's ``equations/`` folder (``python -m mlsysim.latex --out equations/``).
* :func:`render_set` renders one set: a labelled ``align`` block, a symbol table and its sources.
* :func:`worked_example` renders formula = numbers substituted = result (the numbers ``evaluate`` computed);
  :func:`worked_inverse` does the same for an inverse question answered by ``solve``;
  :func:`worked_breakdown` shows one additive decomposition (a step time split into its parts, with shares).
* :func:`solved_form` renders the closed-form inverse of a target with its regime conditions (``cases``).
* :class:`DisplayConfig` / :data:`DISPLAY`: the one place where number formatting is set.
* :func:`escape_latex`, :class:`TeX`, :func:`environment`, :func:`si_unit`: the jinja2/LaTeX plumbing.

Importing this package is cheap; jinja2 and sympy are used on first render.
"""
from __future__ import annotations

from .export import export, examples, inverse_questions, render_files
from .render import (DISPLAY, DisplayConfig, SolvedForm, TeX, WorkedExample, WorkedInverse, environment, escape_latex,
                     label_of, render_set, si_unit, slug, solved_form, worked_breakdown, worked_example,
                     worked_inverse)

from ..core.hooks import register_renderer

# the engine's EquationSet.worked_example / solve_latex reach these through its renderer registry
register_renderer("worked_example", worked_example)
register_renderer("solved_form", solved_form)

__all__ = ["export", "render_files", "examples", "inverse_questions", "render_set", "worked_example",
           "worked_breakdown", "worked_inverse", "solved_form", "DisplayConfig", "DISPLAY", "TeX", "escape_latex",
           "environment", "si_unit", "label_of", "slug", "SolvedForm", "WorkedExample", "WorkedInverse"]
