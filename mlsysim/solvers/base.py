"""The one base class of layer E: :class:`Solver`, its :class:`Binding`, and the inverse they share.

How a solver adopts it (the ``mlsysim/solvers`` README)
-------------------------------------------------------
A solver is a *binding* from registry objects (models, hardware, grids, fleets) to the knowns of one
equation set, plus result formatting. It holds no physics: every number it reports comes from the set.

1. Subclass :class:`Solver` and set the class attributes:

   * ``equation_set`` -- the name of the set in ``mlsysim.Equations`` (``"Carbon"``, ``"Serving"``, ...);
   * ``assumption_catalogue`` -- ``{name: Assumption}`` of every assumed coefficient the solver may fill in;
   * ``registry_arguments`` -- ``{name: description}`` of arguments that are not equation variables
     (``fleet``, ``hardware``, ``model``, ``region``, ``precision`` ...);
   * optionally ``measured_outputs`` -- derived variables a caller may give as a measurement (``power``).

   :meth:`Solver.accepted_arguments` is then *generated* from the set's inputs, the nomenclature
   (:data:`mlsysim.core.variables.VARIABLES`), the assumption catalogue and ``registry_arguments``; the
   CLI builds its flags from it, and :meth:`Solver.check_arguments` rejects anything else with an
   :class:`UnknownVariableError` that suggests close names.

2. Implement :meth:`Solver.bind` ``(**kwargs) -> Binding``: look registry entries up, put every known
   with its :class:`~mlsysim.core.sources.Source` (``binding.put``), fill assumptions
   (``binding.assume``), and record the entries used in ``binding.entries``. ``bind`` is public: the CLI,
   LaTeX worked examples, sweeps and plots call it; nothing outside a solver calls a private method.
   :meth:`Solver.solve_for` calls ``self.bind(**kwargs, _unknown=name)``, so ``bind`` accepts a keyword
   ``_unknown`` (the variable being solved for; e.g. to skip a default for it) and may ignore it.

3. Implement :meth:`Solver.solve` ``(**kwargs) -> result`` (a forward evaluation of the set on the
   binding's knowns).

4. Inherit :meth:`Solver.solve_for` ``(unknown, **kwargs, <target>=value) -> Solution`` (the engine's
   :class:`~mlsysim.core.equations.Solution`). It behaves the same for every solver:

   * ``unknown`` not an input of the set -> :class:`UnknownVariableError` (with close matches);
   * no target -> :class:`UnderdeterminedError`; two targets, or the unknown also given ->
     :class:`OverdeterminedError`;
   * a target no value meets -> :class:`InfeasibleError` whose ``.binding`` names what binds;
   * a count unknown (``num_devices``, ``batch_size`` ...) is rounded by the engine to the whole number
     that still meets the target (``EquationSet.solve(limit=...)``), then moved, if
     :meth:`Solver.admissible` refuses it, to the nearest whole number it accepts (divisibility, devices
     per node); ``Solution.note`` says so and ``Solution.continuous`` keeps the exact answer.

   Hooks to override where a solver needs to: :meth:`Solver.inverse_targets` (e.g. a measured power is
   the target when the unknown is an input of the power model), :meth:`Solver.inverse_knowns` (which
   knowns the target needs), :meth:`Solver.admissible` (structural constraints on a count), and the
   class attribute ``lower_limit_targets`` (targets that are minimums, like a throughput, rather than the
   default upper limits: times, memory, carbon, cost).

Shared checks: counts are validated by :func:`mlsysim.core.variables.check_count` (domain-neutral, next to
the ``Var`` domains); layout checks such as "attention heads divisible by tp" live once in
:mod:`mlsysim.solvers.checks`.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import numpy as np

from ..core.assumptions import Assumption
from ..core.equations import Solution, fmt_quantity
from ..core.errors import InfeasibleError, OverdeterminedError, UnderdeterminedError, UnknownVariableError
from ..core.sources import Source
from ..core.units import Q_
from ..core.variables import VARIABLES

#: Source of a value the caller passed.
GIVEN = "value given by the caller"


def given_source(name: str, replaces: Source | None = None) -> Source:
    """Source of a caller-given value of ``name`` (noting the registry value it replaces, if any)."""
    note = f"{name} passed to the solver" + (f"; replaces {replaces.short()}" if replaces is not None else "")
    return Source(GIVEN, kind="assumption", note=note)


@dataclass
class Binding:
    """What a solver hands to its equation set.

    Attributes
    ----------
    knowns : dict
        Variable name -> value (pint Quantity, or a plain number for counts and fractions).
    assumptions : dict
        Name -> :class:`~mlsysim.core.assumptions.Assumption` for every assumed coefficient used (the
        default, or the caller's override of it, each with its Source).
    sources : dict
        Variable name -> :class:`~mlsysim.core.sources.Source` of every known (registry entries' own
        sources, assumptions, or "value given by the caller").
    entries : dict
        Registry objects used, by role (``"hardware"``, ``"fleet"``, ``"region"``, ``"model"`` ...).
    """

    knowns: dict = field(default_factory=dict)
    assumptions: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)

    def put(self, name: str, value: Any, source: Source) -> None:
        """Record a known and its source."""
        self.knowns[name] = value
        self.sources[name] = source

    def assume(self, a: Assumption, given: Any = None) -> None:
        """Use the caller's value if given (recorded as an override of the assumption), else the default."""
        used = a if given is None else a.with_value(given)
        self.put(a.name, used.value, used.source)
        self.assumptions[a.name] = used

    def drop(self, name: str) -> None:
        """Forget a known (and its assumption and source)."""
        self.knowns.pop(name, None)
        self.assumptions.pop(name, None)
        self.sources.pop(name, None)

    def label(self, role: str) -> str | None:
        """Readable name of the registry entry used in ``role`` (None if none)."""
        return entry_label(self.entries.get(role))


def entry_label(obj: Any) -> str | None:
    """A registry entry's key or name (a string passes through)."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    return getattr(obj, "key", None) or getattr(obj, "name", None) or repr(obj)


class NotedSolution(Solution):
    """The engine's :class:`Solution` built from another one with a new value and ``note`` (the engine's
    ``Solution`` carries ``note`` and shows it; solver result types may subclass this)."""

    @classmethod
    def of(cls, sol: Solution, *, value=None, all_values=None, note: str = "") -> NotedSolution:
        out = cls(sol.unknown, sol.value if value is None else value, sol.regime, sol.feasible, sol.reason,
                  sol.all if all_values is None else all_values, sol.method, sol.target)
        out.bound = sol.bound
        out.alternatives = list(getattr(sol, "alternatives", []) or [])
        out.continuous = getattr(sol, "continuous", None)
        out.note = note or getattr(sol, "note", "")
        return out


class Solver:
    """Base class of every solver: ``bind`` -> :class:`Binding`, ``solve`` -> result, ``solve_for`` ->
    :class:`~mlsysim.core.equations.Solution`. See the module docstring for how a solver adopts it."""

    #: name of the equation set in ``mlsysim.Equations``
    equation_set: ClassVar[str] = ""
    #: every assumed coefficient this solver may use, by name
    assumption_catalogue: ClassVar[Mapping[str, Assumption]] = {}
    #: arguments that are not equation variables (registry entries, precision ...): name -> description
    registry_arguments: ClassVar[Mapping[str, str]] = {}
    #: derived variables a caller may give as a measurement (e.g. ``power``)
    measured_outputs: ClassVar[tuple] = ()
    #: targets that are minimums (met when the result is >= the target); all others are upper limits
    lower_limit_targets: ClassVar[frozenset] = frozenset()

    # -- the equation set and the generated signature ------------------------------------------
    @property
    def equations(self):
        """The equation set this solver binds to."""
        from ..core.equation_sets import Equations

        return Equations.get(self.equation_set)

    @classmethod
    def accepted_arguments(cls) -> dict[str, str]:
        """Every keyword ``bind``/``solve`` accept, generated: name -> one-line description with unit.

        Registry arguments first, then the equation set's inputs (from the nomenclature), the measured
        outputs, and the assumption catalogue's names. Targets of ``solve_for`` are :meth:`targets`.
        """
        from ..core.equation_sets import Equations

        eq = Equations.get(cls.equation_set)
        out: dict[str, str] = dict(cls.registry_arguments)
        for name in [*eq.inputs, *cls.measured_outputs, *cls.assumption_catalogue]:
            if name in out:
                continue
            v = VARIABLES.get(name)
            desc = v.description if v is not None else cls.assumption_catalogue[name].description
            unit = f" [{v.unit}]" if v is not None and v.unit else ""
            a = cls.assumption_catalogue.get(name)
            out[name] = desc + unit + (f" (assumption: {a.value})" if a is not None else "")
        return out

    @classmethod
    def targets(cls) -> dict[str, str]:
        """Quantities ``solve_for`` can take as its target: the set's derived variables -> description (a
        measured output such as ``power`` is an argument; it is the target only where the unknown is an input
        of its own relation, see :meth:`inverse_targets`)."""
        from ..core.equation_sets import Equations

        eq = Equations.get(cls.equation_set)
        return {d: VARIABLES[d].description + (f" [{VARIABLES[d].unit}]" if VARIABLES[d].unit else "")
                for d in eq.derived if d not in cls.measured_outputs}

    @classmethod
    def check_arguments(cls, kwargs: Mapping[str, Any], *, allow_targets: bool = False) -> None:
        """Raise :class:`UnknownVariableError` for a keyword the solver does not accept."""
        accepted = set(cls.accepted_arguments())
        if allow_targets:
            accepted |= set(cls.targets())
        bad = [k for k in kwargs if k not in accepted]
        if bad:
            hints = []
            for k in bad:
                close = difflib.get_close_matches(k, sorted(accepted), n=3)
                hints.append(f"{k!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
            raise UnknownVariableError(f"{cls.__name__} takes no argument {', '.join(hints)}; it accepts "
                                       f"{', '.join(cls.accepted_arguments())}")

    # -- what each solver implements -----------------------------------------------------------
    def bind(self, **kwargs) -> Binding:
        """The knowns of the equation set, the assumptions used (with sources) and every input's source."""
        raise NotImplementedError(f"{type(self).__name__} must implement bind()")

    def solve(self, **kwargs):
        """Forward: every quantity the inputs determine, as the solver's result type."""
        raise NotImplementedError(f"{type(self).__name__} must implement solve()")

    # -- the shared inverse --------------------------------------------------------------------
    def inverse_targets(self, unknown: str, targets: dict, kwargs: dict) -> dict:
        """Hook: adjust the targets taken from ``kwargs`` (both may be edited). Default: unchanged."""
        return targets

    def inverse_knowns(self, binding: Binding, unknown: str, target: str, kwargs: Mapping[str, Any]) -> dict:
        """Hook: the knowns handed to ``EquationSet.solve`` (default: those the target depends on)."""
        eq = self.equations
        need = eq.input_deps(target)
        return {k: v for k, v in binding.knowns.items() if k in need and k != unknown}

    def admissible(self, unknown: str, value: int, binding: Binding) -> bool:
        """Hook: whether a whole-number answer for a count unknown is structurally valid (default: yes)."""
        return True

    def solve_for(self, unknown: str, **kwargs) -> Solution:
        """Find the input ``unknown`` that meets exactly one target given by keyword.

        Takes the same arguments as :meth:`solve` plus one target (a derived quantity of the set, e.g.
        ``carbon=Q_(50, "t")``). Counts are rounded to the whole number that still meets the target
        (``Solution.note`` says so).

        Raises
        ------
        UnknownVariableError
            ``unknown`` is not an input of the equation set (nor a measurable output, like ``power``).
        UnderdeterminedError
            No target given.
        OverdeterminedError
            More than one target, or the unknown also given.
        InfeasibleError
            No value meets the target; ``.binding`` names the constraint that binds.
        """
        eq = self.equations
        name = type(self).__name__
        unknowns = [*eq.inputs, *self.measured_outputs]
        if not isinstance(unknown, str) or unknown not in unknowns:
            close = difflib.get_close_matches(str(unknown), unknowns, n=4)
            raise UnknownVariableError(
                f"{name}.solve_for: {unknown!r} is not an input of Equations.{eq.name}"
                + (f"; did you mean {', '.join(close)}?" if close else f"; its inputs are {', '.join(unknowns)}"))
        kwargs = dict(kwargs)
        targets = {k: kwargs.pop(k) for k in list(kwargs) if k in eq.derived and k not in self.measured_outputs}
        targets = self.inverse_targets(unknown, targets, kwargs)
        targets = {k: v for k, v in targets.items() if v is not None}
        if not targets:
            raise UnderdeterminedError(f"{name}.solve_for({unknown!r}) needs one target: one of "
                                       f"{', '.join(eq.derived)} (e.g. {eq.derived[-1]}=...)")
        if len(targets) > 1:
            raise OverdeterminedError(f"{name}.solve_for({unknown!r}) takes one target; got {', '.join(targets)}")
        if kwargs.get(unknown) is not None:
            raise OverdeterminedError(f"{unknown} is the unknown; do not also pass it")
        (tname, tval), = targets.items()
        binding = self.bind(**kwargs, _unknown=unknown)
        binding.knowns.pop(unknown, None)
        knowns = self.inverse_knowns(binding, unknown, tname, kwargs)
        knowns.pop(unknown, None)
        limit = "min" if tname in self.lower_limit_targets else "max"
        try:
            sol = eq.solve(unknown, **knowns, **{tname: tval}, limit=limit)
        except InfeasibleError as e:
            if e.binding is None:
                e.binding = tname
            raise
        # the engine rounds a count to the whole number that keeps the target (its note says so); a solver
        # with structural constraints (divisibility, devices per node) moves it to the nearest admissible one
        if VARIABLES[unknown].domain in ("count", "count0") and np.ndim(sol.value.magnitude) == 0 \
                and bool(np.all(sol.feasible)) and not self.admissible(unknown, int(round(float(sol.value.m_as("")))),
                                                                        binding):
            return self._admissible_count(sol, unknown, tname, tval, knowns, binding, limit)
        return sol

    def _admissible_count(self, sol: Solution, unknown: str, tname: str, tval, knowns: dict, binding: Binding,
                          limit: str) -> Solution:
        """The admissible whole number nearest the exact answer that still meets the target."""
        eq = self.equations
        exact = sol.continuous if sol.continuous is not None else sol.value
        x = float(exact.m_as(""))
        minimum = 1 if VARIABLES[unknown].domain == "count" else 0
        tv = VARIABLES[tname]
        target_base = tval.to(tv.base_unit).magnitude if hasattr(tval, "units") else float(tval)

        def at(c: int):
            s = eq.solve(tname, **knowns, **{unknown: c})
            return float(s.value.to(tv.base_unit).magnitude), s

        def meets(t: float) -> bool:
            slack = 1e-12 * max(abs(target_base), 1e-300)
            return t >= target_base - slack if limit == "min" else t <= target_base + slack

        def nearest(start: int, step: int):
            c, top = start, max(64, int(4 * start) + 64)
            while minimum <= c <= top:
                if self.admissible(unknown, c, binding):
                    return c
                c += step
            return None

        lo = nearest(max(minimum, math.floor(x + 1e-9)), -1)
        hi = nearest(max(minimum, math.ceil(x - 1e-9)), +1)
        found = []
        for c in dict.fromkeys(c for c in (lo, hi) if c is not None):
            t, s = at(c)
            if meets(t):
                found.append((c, s))
        if not found:
            raise InfeasibleError(f"no admissible whole {unknown} meets {tname} = {fmt_quantity(tval, name=tname)}: "
                                  f"the exact answer is {x:.6g} and neither {lo} nor {hi} meets it", binding=tname)
        best, s = min(found, key=lambda f: abs(f[0] - x))
        out = NotedSolution.of(sol, value=Q_(best, ""), all_values=s.all)
        out.continuous = exact
        out.note = (f"{unknown} = {x:.6g} meets {tname} exactly; {best} is the nearest whole number the layout "
                    f"allows that keeps {tname} within its {'minimum' if limit == 'min' else 'limit'} "
                    f"({fmt_quantity(s.value, name=tname)})")
        return out


__all__ = ["GIVEN", "Binding", "NotedSolution", "Solver", "entry_label", "given_source"]
