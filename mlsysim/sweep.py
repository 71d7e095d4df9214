"""Design-space sweeps: ``mlsysim.sweep(target, **axes)``.

A sweep evaluates an equation set (or a solver) over the Cartesian product of its array axes. The grid
is flattened and evaluated **vectorised**, through the equation set's lambdified kernels, in chunks of
``chunk_size`` points (one call per chunk, never one per point), and returned as a table: a pandas
``DataFrame`` when pandas is installed, else a :class:`SweepTable`.

Axes
----
Each keyword is a variable of the equation set (or an argument of the solver's ``solve``):

* a 1-D Quantity array (``Q_(np.geomspace(1, 10, 50), "TB/s")``) or, for a plain number (a count, an
  efficiency), a 1-D numpy array, a list or a ``range``: one axis;
* a range tuple ``(start, stop, num)`` or ``(start, stop, num, "log")`` with units on ``start`` and
  ``stop`` (``(Q_(1, "TB/s"), Q_(8, "TB/s"), 50, "log")``): linear or geometric spacing, ends included
  (a tuple of numbers is always a range; give explicit values as a list or an array). Values within
  1e-9 of a whole number are snapped to it, so ``(1, 64, 7, "log")`` is exactly 1, 2, 4, ..., 64;
* a list of names or objects (``hardware=["H100", "H200"]``, solvers only): a categorical axis; each
  value is one vectorised call (a loop over the few categories, never over points);
* a dask array (or a Quantity wrapping one): a lazy axis; the result is a lazy :class:`SweepTable`
  whose columns are dask arrays, evaluated chunk by chunk when computed (for grids larger than memory).
  Each axis is brought into memory (it is 1-D); the grid is not. The engine's input validation needs
  concrete arrays (a dask array given straight to ``EquationSet.evaluate`` is rejected as "not a
  number"), so each chunk is evaluated as numpy inside a dask task;
* anything else (a scalar Quantity, a number, a string such as ``precision="fp8"``): a fixed known.

Columns are the axes (in the units given), the outputs asked for (default: the target's headline
outputs, in their nomenclature units), ``fits`` for solvers that report it, and with ``regimes=True``
``regime_<name>`` for every max/min (regime) output. Only the columns asked for are computed: one fused
kernel per chunk (see :mod:`mlsysim.core.fused`).
"""
from __future__ import annotations

import difflib
import itertools
import math
import sys
import threading
import time
from typing import Any, Iterable, Mapping

import numpy as np
import pint

from .core.errors import DomainError, MlsysimError, UnitError, UnknownVariableError
from .core.results import EvalResult
from .core.units import Q_
from .core.variables import VARIABLES

#: Points evaluated per vectorised call (and per progress report).
CHUNK_SIZE = 1_000_000
#: Rows shown by the text and HTML representations of a :class:`SweepTable` (head and tail).
DISPLAY_ROWS = 5
#: Relative distance to a whole number within which range values are snapped to it (float noise of
#: ``np.geomspace(1, 64, 7)``); counts must be whole.
SNAP_TOL = 1e-9


class MissingDependencyError(MlsysimError, ImportError):
    """An optional dependency (pandas, dask, matplotlib) is needed for what was asked."""


# ----------------------------------------------------------------------------------------- helpers
def _is_dask(x) -> bool:
    mod = type(x).__module__
    return mod.startswith("dask.") and hasattr(x, "compute")


def _magnitude(x):
    return x.magnitude if isinstance(x, pint.Quantity) else x


def _unit_str(u) -> str:
    s = f"{u:~C}"
    return "" if s in ("", "dimensionless") else s


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


class _Axis:
    """One swept input: ``values`` is a 1-D numpy array (or dask array) of magnitudes in ``unit``."""

    def __init__(self, name: str, values, unit: str = "", categorical: bool = False):
        self.name = name
        self.values = values
        self.unit = unit
        self.categorical = categorical

    def __len__(self):
        return int(self.values.shape[0]) if not self.categorical else len(self.values)

    @property
    def lazy(self) -> bool:
        return _is_dask(self.values)

    def take(self, idx):
        """The axis values at flat indices ``idx`` as the target expects them (Quantity or array)."""
        v = self.values[idx]
        return Q_(v, self.unit) if self.unit else v


def _check_units(name: str, unit: str, var) -> None:
    """A dimensioned variable needs a unit of its dimension; a plain number needs no unit."""
    if var is None:
        return
    if var.dimensionless:
        if unit and not Q_(1, unit).dimensionless:
            raise UnitError(f"sweep axis {name} is a plain number ({var.description}); got values in {unit}")
        return
    if not unit:
        raise UnitError(f"sweep axis {name} needs units of {var.pint_unit.dimensionality} (e.g. {var.unit}); got "
                        f"plain numbers. Wrap them: Q_(np.array([...]), '{var.unit}') or (Q_(a, '{var.unit}'), "
                        f"Q_(b, '{var.unit}'), num)")
    if Q_(1, unit).dimensionality != var.pint_unit.dimensionality:
        raise UnitError(f"sweep axis {name} needs units of {var.pint_unit.dimensionality} (e.g. {var.unit}); got "
                        f"{unit} ({Q_(1, unit).dimensionality})")


def _check_count(name: str, values, var) -> None:
    if var is None or var.domain not in ("count", "count0") or _is_dask(values):
        return
    v = np.asarray(values, dtype=float)
    if np.any(np.abs(v - np.round(v)) > SNAP_TOL * np.maximum(1.0, np.abs(v))):
        bad = v[np.abs(v - np.round(v)) > SNAP_TOL * np.maximum(1.0, np.abs(v))][:3]
        raise DomainError(f"sweep axis {name} is a count (a whole number); the values include "
                          f"{', '.join(f'{b:g}' for b in bad)}. Use whole numbers, e.g. range(1, 65) or a "
                          f"geometric range (1, 64, 7, 'log')")


def _range_axis(name: str, spec: tuple, var):
    """``(start, stop, num[, "lin"|"log"])`` -> (magnitudes, unit)."""
    if len(spec) not in (3, 4):
        raise DomainError(f"sweep axis {name}: a range is (start, stop, num) or (start, stop, num, 'log'); got "
                          f"a tuple of {len(spec)} items {spec!r}. Pass a list or an array for explicit values")
    start, stop, num = spec[:3]
    scale = spec[3] if len(spec) == 4 else "lin"
    if scale not in ("lin", "log"):
        raise DomainError(f"sweep axis {name}: the range spacing must be 'lin' or 'log'; got {scale!r}")
    if isinstance(num, (bool, np.bool_)) or not isinstance(num, (int, np.integer)) or num < 1:
        raise DomainError(f"sweep axis {name}: the number of points of a range must be a whole number >= 1; "
                          f"got {num!r}")
    q0, q1 = isinstance(start, pint.Quantity), isinstance(stop, pint.Quantity)
    if q0 != q1:
        raise UnitError(f"sweep axis {name}: the range ends must both carry units or both be plain numbers; got "
                        f"{start!r} and {stop!r}")
    if q0:
        unit = start.units
        try:
            b = float(stop.to(unit).magnitude)
        except pint.DimensionalityError:
            raise UnitError(f"sweep axis {name}: the range ends have mismatched units {start.units:~C} and "
                            f"{stop.units:~C}") from None
        a = float(start.magnitude)
        unit = _unit_str(unit)
    else:
        if not (_is_number(start) and _is_number(stop)):
            raise DomainError(f"sweep axis {name}: range ends must be numbers or Quantities; got {start!r}, {stop!r}")
        a, b, unit = float(start), float(stop), ""
    if not (math.isfinite(a) and math.isfinite(b)):
        raise DomainError(f"sweep axis {name}: range ends must be finite; got {a:g} and {b:g}")
    if scale == "log":
        if a <= 0 or b <= 0:
            raise DomainError(f"sweep axis {name}: a 'log' range needs positive ends; got {a:g} and {b:g}")
        values = np.geomspace(a, b, int(num))
    else:
        values = np.linspace(a, b, int(num))
    near = np.round(values)
    snap = np.abs(values - near) <= SNAP_TOL * np.maximum(1.0, np.abs(values))
    values = np.where(snap, near, values)
    return values, unit


def _make_axis(name: str, value, var, solver: bool):
    """An :class:`_Axis`, or ``None`` when ``value`` is a fixed known."""
    if isinstance(value, tuple) and value and all(_is_number(v) or isinstance(v, pint.Quantity)
                                                  for v in value[:2]):
        values, unit = _range_axis(name, value, var)  # a tuple of numbers is always a range spec
    elif isinstance(value, (list, tuple, range)):
        items = list(value)
        if not items:
            raise DomainError(f"sweep axis {name} is empty; give at least one value")
        if any(isinstance(v, pint.Quantity) for v in items):
            if not all(isinstance(v, pint.Quantity) for v in items):
                raise UnitError(f"sweep axis {name}: mix of Quantities and plain numbers {items!r}; give every "
                                f"value a unit")
            unit = items[0].units
            try:
                values = np.array([float(v.to(unit).magnitude) for v in items])
            except pint.DimensionalityError:
                raise UnitError(f"sweep axis {name}: values have mismatched units "
                                f"({', '.join(sorted({f'{v.units:~C}' for v in items}))})") from None
            unit = _unit_str(unit)
        elif all(_is_number(v) for v in items):
            values, unit = np.asarray(items, dtype=float), ""
        elif solver:
            return _Axis(name, items, "", categorical=True)
        else:
            raise DomainError(f"sweep axis {name}: an equation set's axis takes numbers or Quantities; got "
                              f"{items!r}")
    elif isinstance(value, pint.Quantity):
        m = value.magnitude
        if _is_dask(m) or isinstance(m, np.ndarray):
            if np.ndim(m) == 0:
                return None
            values, unit = m, _unit_str(value.units)
        else:
            return None
    elif isinstance(value, np.ndarray) or _is_dask(value):
        if np.ndim(value) == 0:
            return None
        values, unit = value, ""
    else:
        return None
    # common checks for numeric axes
    if np.ndim(values) != 1:
        raise DomainError(f"sweep axis {name} must be 1-D (the sweep forms the grid); got shape "
                          f"{tuple(np.shape(values))}")
    if values.shape[0] == 0:
        raise DomainError(f"sweep axis {name} is empty; give at least one value")
    if not _is_dask(values):
        values = np.asarray(values)
        if values.dtype.kind not in "iuf":
            raise DomainError(f"sweep axis {name} must be numeric; got an array of dtype {values.dtype}")
        values = values.astype(float)
    elif values.dtype.kind not in "iuf":
        raise DomainError(f"sweep axis {name} must be numeric; got a dask array of dtype {values.dtype}")
    _check_units(name, unit, var)
    _check_count(name, values, var)
    return _Axis(name, values, unit)


# ----------------------------------------------------------------------------------------- progress
class _Progress:
    """Per-chunk progress: tqdm when installed, else a one-line counter on stderr."""

    def __init__(self, total_points: int, total_chunks: int, enabled: bool, label: str):
        self.enabled = enabled
        self.total_points = total_points
        self.total_chunks = total_chunks
        self.done_points = 0
        self.done_chunks = 0
        self.label = label
        self._lock = threading.Lock()
        self._bar = None
        self._t0 = time.perf_counter()
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total_points, desc=label, unit="pt", unit_scale=True, file=sys.stderr)

    def update(self, points: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.done_points += points
            self.done_chunks += 1
            if self._bar is not None:
                self._bar.update(points)
                return
            pct = 100.0 * self.done_points / max(1, self.total_points)
            end = "\n" if self.done_chunks >= self.total_chunks else ""
            sys.stderr.write(f"\r{self.label}: chunk {self.done_chunks}/{self.total_chunks}, "
                             f"{self.done_points:,}/{self.total_points:,} points ({pct:.0f}%, "
                             f"{time.perf_counter() - self._t0:.1f} s){end}")
            sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ----------------------------------------------------------------------------------------- targets
class _EquationTarget:
    """Sweep an :class:`~mlsysim.core.equations.EquationSet` (outputs chosen up front)."""

    def __init__(self, eqset, outputs, regimes=False):
        self.eqset = eqset
        self.name = eqset.name
        self.outputs = list(outputs) if outputs is not None else None
        self.regimes = regimes
        self.shape = None  # the grid's shape when the axes are given shaped to broadcast (see sweep)

    def var(self, name):
        if name not in self.eqset.variables:
            close = difflib.get_close_matches(name, self.eqset.variables, n=4)
            raise UnknownVariableError(
                f"sweep: {self.name} has no variable {name!r}" + (f"; did you mean {', '.join(close)}?" if close else
                                                                  f"; its inputs are {', '.join(self.eqset.inputs)}"))
        return VARIABLES[name]

    def run(self, knowns: dict, n: int) -> tuple[dict, dict]:
        names = self.outputs if self.outputs is not None else [d for d in self.eqset.headline if d not in knowns]
        out = self.eqset.evaluate(outputs=names, **knowns)  # one fused kernel for exactly these columns
        cols, units = {}, {}
        for name in names:
            q = out[name]
            cols[name] = _full(q.magnitude, n, shape=self.shape)
            units[name] = _unit_str(q.units)
        if self.regimes:
            for name in names:
                if self.eqset.defining(name).is_regime:
                    cols[f"regime_{name}"] = _full(out.regime(name), n, dtype=object, shape=self.shape)
                    units[f"regime_{name}"] = ""
        return cols, units


class _SolverTarget:
    """Sweep a solver whose ``solve`` accepts numpy arrays (ServingSolver, SingleNodeSolver, ...)."""

    def __init__(self, solver, outputs, regimes=False):
        self.solver = solver
        self.name = f"{type(solver).__name__}.solve"
        self.outputs = list(outputs) if outputs is not None else None
        self.regimes = regimes
        self.shape = None  # the grid's shape when the axes are given shaped to broadcast (see sweep)
        eqs = getattr(solver, "equations", None)
        self.variables = set(getattr(eqs, "variables", []) or [])

    def var(self, name):
        return VARIABLES.get(name) if name in self.variables or name in VARIABLES else None

    def run(self, knowns: dict, n: int) -> tuple[dict, dict]:
        try:
            res = self.solver.solve(**knowns)
        except MlsysimError as exc:
            hint = ""
            if hasattr(self.solver, "search"):
                hint = f" ({type(self.solver).__name__} takes whole-number layouts one at a time: use its search())"
            raise type(exc)(f"sweep over {self.name}: {exc}{hint}") from None
        except TypeError as exc:  # an unexpected keyword of solve()
            raise UnknownVariableError(f"sweep over {self.name}: {exc}") from None
        cols, units = {}, {}
        out = getattr(res, "evaluation", None)
        if isinstance(out, EvalResult):  # an EvalResult behind a solver result (computed lazily per column)
            eqset = out._set
            names = self.outputs if self.outputs is not None else eqset.headline + ["fits"]
            unknown = [o for o in names if o != "fits" and o not in out]
            if unknown:
                raise UnknownVariableError(f"sweep over {self.name}: no output {', '.join(unknown)}; it gives "
                                           f"{', '.join(list(out) + ['fits'])}")
            for name in names:
                if name == "fits":
                    fits = getattr(res, "fits", None)
                    if fits is not None:
                        cols["fits"] = _full(np.asarray(fits, dtype=bool), n, dtype=bool, shape=self.shape)
                        units["fits"] = ""
                    continue
                q = out[name]
                cols[name] = _full(q.magnitude, n, shape=self.shape)
                units[name] = _unit_str(q.units)
            if self.regimes:
                for name in names:
                    if name in eqset.derived and eqset.defining(name).is_regime:
                        cols[f"regime_{name}"] = _full(out.regime(name), n, dtype=object, shape=self.shape)
                        units[f"regime_{name}"] = ""
            return cols, units
        elif isinstance(getattr(res, "_values", None), Mapping):  # sustainability / TCO results
            for name, q in res._values.items():
                if isinstance(q, pint.Quantity):
                    cols[name] = _full(q.magnitude, n, shape=self.shape)
                    units[name] = _unit_str(q.units)
        else:
            raise DomainError(f"sweep over {self.name}: its result ({type(res).__name__}) exposes no evaluated "
                              f"quantities to tabulate")
        if self.outputs is not None:
            missing = [o for o in self.outputs if o not in cols]
            if missing:
                raise UnknownVariableError(f"sweep over {self.name}: no output {', '.join(missing)}; it gives "
                                           f"{', '.join(cols)}")
            keep = set(self.outputs) | {c for c in cols if c.startswith("regime_") or c == "fits"}
            cols = {k: v for k, v in cols.items() if k in keep}
        return cols, units


def _full(values, n: int, dtype=float, shape=None):
    """``values`` as a length-``n`` array (scalars broadcast; an array over the grid's ``shape`` raveled)."""
    a = np.asarray(values, dtype=dtype if dtype is not float else None)
    if a.ndim == 0:
        return np.full(n, a.item(), dtype=dtype)
    if shape is not None and a.shape != (n,):
        return np.broadcast_to(a, shape).reshape(-1)
    if a.shape != (n,):
        a = np.broadcast_to(a, (n,))
    return a


class _LazyColumn:
    """A column computed on first access (an axis repeated over the grid: not needed to compute the outputs)."""

    def __init__(self, make, n: int):
        self.make = make
        self.shape = (n,)


class _Columns(dict):
    """The table's columns; a :class:`_LazyColumn` is materialised (once) when read."""

    def __getitem__(self, k):
        v = dict.__getitem__(self, k)
        if isinstance(v, _LazyColumn):
            v = v.make()
            dict.__setitem__(self, k, v)
        return v

    def values(self):
        return [self[k] for k in self]

    def items(self):
        return [(k, self[k]) for k in self]

    def get(self, k, default=None):
        return self[k] if k in self else default


def _resolve_target(target, outputs, regimes=False):
    from .core.equation_sets import Equations
    from .core.equations import EquationSet

    if isinstance(target, str):
        target = Equations.get(target)
    if isinstance(target, EquationSet):
        return _EquationTarget(target, outputs, regimes)
    if isinstance(target, type) and callable(getattr(target, "solve", None)):
        try:
            target = target()
        except TypeError as exc:
            raise DomainError(f"sweep: cannot create {target.__name__}() without arguments ({exc}); pass an "
                              f"instance") from None
    if callable(getattr(target, "solve", None)):
        return _SolverTarget(target, outputs, regimes)
    raise DomainError(f"sweep target must be an equation set (or its name, e.g. 'Roofline') or a solver "
                               f"with solve(); got {target!r}")


# ----------------------------------------------------------------------------------------- the table
class SweepTable:
    """The result of :func:`sweep` without pandas: columns of equal length, with units.

    ``table["tpot"]`` is a Quantity array (a plain array for unitless, boolean and regime columns);
    ``table.magnitude(name)`` the bare array; ``table.units[name]`` its unit; ``len(table)`` the number
    of grid points; iteration gives the column names (as a ``DataFrame``'s does); ``attrs`` holds
    ``units``, ``axes``, ``target`` and ``fixed`` as ``DataFrame.attrs`` does. ``to_dict()`` gives plain
    data, ``to_frame()`` a pandas DataFrame. A lazy table (from dask axes) has dask columns; ``compute()``
    evaluates it chunk by chunk.
    """

    def __init__(self, columns: Mapping[str, Any], units: Mapping[str, str], *, axes: Iterable[str] = (),
                 target: str = "", fixed: Mapping[str, str] | None = None, _progress=None):
        self._cols = _Columns(columns)
        self.units = dict(units)
        self.axes = list(axes)
        self.target = target
        self.fixed = dict(fixed or {})
        self._progress = _progress
        lengths = {k: int(v.shape[0]) for k, v in dict.items(self._cols)}
        if len(set(lengths.values())) > 1:
            raise DomainError(f"SweepTable columns differ in length: {lengths}")
        self._n = next(iter(lengths.values())) if lengths else 0

    # -- DataFrame-like access
    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    @property
    def attrs(self) -> dict:
        return {"units": dict(self.units), "axes": list(self.axes), "target": self.target, "fixed": dict(self.fixed)}

    @property
    def shape(self) -> tuple[int, int]:
        return (self._n, len(self._cols))

    @property
    def lazy(self) -> bool:
        """True when the columns are dask arrays, not yet computed."""
        return any(_is_dask(v) for v in dict.values(self._cols))

    def __len__(self):
        return self._n

    def __iter__(self):
        return iter(self._cols)

    def __contains__(self, name):
        return name in self._cols

    def keys(self):
        return self._cols.keys()

    def magnitude(self, name: str):
        """The bare column (numpy or dask array) in ``units[name]``."""
        try:
            return self._cols[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), list(self._cols), n=3)
            raise UnknownVariableError(f"sweep table has no column {name!r}"
                                       + (f"; did you mean {', '.join(close)}?" if close else
                                          f"; columns: {', '.join(self._cols)}")) from None

    def __getitem__(self, name: str):
        a = self.magnitude(name)
        u = self.units.get(name, "")
        return Q_(a, u) if u else a

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        cols = self.__dict__.get("_cols", {})
        if name in cols:
            return self[name]
        raise AttributeError(f"SweepTable has no attribute or column {name!r}")

    # -- conversions
    def compute(self) -> "SweepTable":
        """Evaluate a lazy table (all columns in one pass over the chunks); an eager table returns itself."""
        if not self.lazy:
            return self
        import dask

        names = list(self._cols)
        try:
            values = dask.compute(*[self._cols[k] for k in names])
        finally:
            if self._progress is not None:
                self._progress.close()
        return SweepTable(dict(zip(names, values)), self.units, axes=self.axes, target=self.target, fixed=self.fixed)

    def to_dict(self) -> dict:
        """``{column: {"value": list, "unit": str}}`` (computes a lazy table)."""
        t = self.compute()
        return {k: {"value": np.asarray(v).tolist(), "unit": t.units.get(k, "")} for k, v in t._cols.items()}

    def to_frame(self):
        """A pandas DataFrame: one column per quantity (magnitudes), units in ``df.attrs["units"]``."""
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependencyError("SweepTable.to_frame needs pandas (pip install pandas)") from None
        t = self.compute()
        data = {}
        for k, v in t._cols.items():
            v = np.asarray(v)
            data[k] = pd.Categorical(v) if v.dtype == object else v
        df = pd.DataFrame(data)
        df.attrs.update(t.attrs)
        return df

    # -- display
    def _rows(self):
        t = self if not self.lazy else None
        n = self._n
        if t is None or n == 0:
            return [], False
        if n <= 2 * DISPLAY_ROWS:
            idx = list(range(n))
            gap = False
        else:
            idx = list(range(DISPLAY_ROWS)) + list(range(n - DISPLAY_ROWS, n))
            gap = True
        rows = []
        for i in idx:
            rows.append([_cell(self._cols[k][i]) for k in self._cols])
        return rows, gap

    def _headers(self):
        return [f"{k} [{self.units[k]}]" if self.units.get(k) else k for k in self._cols]

    def _caption(self):
        fixed = ", ".join(f"{k}={v}" for k, v in self.fixed.items())
        lazy = " (lazy: call .compute())" if self.lazy else ""
        return (f"sweep of {self.target}: {self._n:,} points over {', '.join(self.axes) or 'no axis'}"
                + (f"; fixed {fixed}" if fixed else "") + lazy)

    def __repr__(self):
        heads = self._headers()
        rows, gap = self._rows()
        if not rows:
            return self._caption() + "\n  columns: " + ", ".join(heads)
        widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(heads)]
        fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
        lines = [self._caption(), fmt(heads)]
        for i, r in enumerate(rows):
            if gap and i == DISPLAY_ROWS:
                lines.append(fmt(["..."] * len(heads)))
            lines.append(fmt(r))
        return "\n".join(lines)

    def _repr_html_(self):
        import html

        heads = "".join(f"<th>{html.escape(h)}</th>" for h in self._headers())
        rows, gap = self._rows()
        body = []
        for i, r in enumerate(rows):
            if gap and i == DISPLAY_ROWS:
                body.append("<tr>" + "".join("<td>&hellip;</td>" for _ in r) + "</tr>")
            body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>")
        return (f"<table class=\"mlsysim-sweep\"><caption>{html.escape(self._caption())}</caption>"
                f"<thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _cell(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    if isinstance(x, (np.bool_, bool)):
        return str(bool(x))
    return str(x)


# ----------------------------------------------------------------------------------------- sweep
def sweep(target, *, outputs: Iterable[str] | None = None, chunk_size: int = CHUNK_SIZE, progress: bool | None = None,
          as_frame: bool | None = None, regimes: bool = False, **axes):
    """Evaluate ``target`` over the Cartesian product of the array axes, vectorised.

    Parameters
    ----------
    target : EquationSet, str, or solver
        An equation set (``mlsysim.Equations.Roofline``) or its registry name (``"Roofline"``), or a solver
        instance or class whose ``solve`` accepts numpy arrays (``ServingSolver``, ``SingleNodeSolver``,
        ``SustainabilitySolver``).
    outputs : list of str, optional
        Derived quantities to compute, and only these (one fused kernel per chunk). Default: the target's
        headline outputs (``EquationSet.headline``: what nothing else in the set is computed from, plus the
        max/min regime quantities; for a solver, those of its set plus ``fits``). Missing inputs raise
        :class:`~mlsysim.core.errors.UnderdeterminedError` naming them.
    chunk_size : int
        Grid points per vectorised call [1] (default 1e6): bounds the memory of one call.
    progress : bool, optional
        Report progress per chunk (tqdm if installed, else a counter on stderr). Default: only when the
        grid has more than one chunk.
    as_frame : bool, optional
        ``True``: a pandas DataFrame; ``False``: a :class:`SweepTable`; default: a DataFrame when pandas is
        installed (and no axis is a dask array), else a SweepTable.
    regimes : bool
        Add a ``regime_<name>`` column (which regime binds, per point) for every max/min output asked for.
        Off by default: the labels cost a pass over the branches and an object column.
    **axes
        Axes (arrays, ranges ``(start, stop, num[, "log"])``, lists) and fixed knowns (scalars); see the
        module docstring. Dimensioned variables need units [their nomenclature dimension].

    Returns
    -------
    pandas.DataFrame or SweepTable
        One row per grid point (axes vary in C order: the last axis fastest). Columns: axes [units as
        given], derived quantities [nomenclature units], ``fits`` [bool] for solvers that report it,
        ``regime_<name>`` [str]. Units in ``attrs["units"]``.

    Raises
    ------
    UnitError
        An axis without units where the variable has some, with units of the wrong dimension, or range
        ends with mismatched units.
    DomainError
        An empty or multi-dimensional axis, a malformed range, non-whole values for a count, values
        outside the variable's domain.
    UnknownVariableError, UnderdeterminedError
        An axis or output the target does not have; inputs missing for the outputs asked.
    MissingDependencyError
        ``as_frame=True`` without pandas.
    """
    if isinstance(chunk_size, (bool, np.bool_)) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise DomainError(f"chunk_size must be a whole number >= 1 [points]; got {chunk_size!r}")
    if isinstance(outputs, str):
        outputs = [outputs]
    tgt = _resolve_target(target, outputs, regimes)
    solver = isinstance(tgt, _SolverTarget)
    fixed: dict[str, Any] = {}
    grid: list[_Axis] = []
    for name, value in axes.items():
        var = tgt.var(name)
        ax = _make_axis(name, value, var, solver)
        if ax is None:
            fixed[name] = value
        else:
            grid.append(ax)
    numeric = [a for a in grid if not a.categorical]
    categorical = [a for a in grid if a.categorical]
    lazy = any(a.lazy for a in numeric)
    if lazy:
        try:
            import dask  # noqa: F401
        except ImportError:  # pragma: no cover - a dask array implies dask
            raise MissingDependencyError("dask axes need dask (pip install 'dask[array]')") from None
        for a in numeric:  # each axis is 1-D and fits in memory; the grid need not
            if a.lazy:
                a.values = np.asarray(a.values.compute(), dtype=float)
                _check_count(a.name, a.values, tgt.var(a.name))
    shape = tuple(len(a) for a in numeric)
    n_numeric = int(np.prod(shape)) if shape else 1
    n_total = n_numeric * int(np.prod([len(a) for a in categorical])) if categorical else n_numeric
    chunks = [(s, min(s + int(chunk_size), n_numeric)) for s in range(0, n_numeric, int(chunk_size))]
    combos = list(itertools.product(*[range(len(a)) for a in categorical])) if categorical else [()]
    n_chunks = len(chunks) * len(combos)
    show = (n_chunks > 1) if progress is None else bool(progress)
    bar = _Progress(n_total, n_chunks, show, f"mlsysim.sweep {tgt.name}")
    fixed_repr = {k: (f"{v:~C}" if isinstance(v, pint.Quantity) else str(getattr(v, "name", v)))
                  for k, v in fixed.items()}
    axis_names = [a.name for a in grid]

    # the whole grid in one call: give the target each axis shaped to broadcast (as hand-written numpy would),
    # so that work on one axis is done once per axis value, not once per grid point
    whole_grid = not lazy and len(chunks) == 1 and len(numeric) > 1

    def evaluate_chunk(combo, start, stop, report=True):
        knowns = dict(fixed)
        cols: dict = {}
        units: dict = {}
        n = stop - start
        for a, ci in zip(categorical, combo):
            knowns[a.name] = a.values[ci]
        if whole_grid:
            shaped = {}
            for i, a in enumerate(numeric):
                sh = [1] * len(shape)
                sh[i] = len(a)
                shaped[a.name] = a.values.reshape(sh)
                knowns[a.name] = Q_(shaped[a.name], a.unit) if a.unit else shaped[a.name]
            tgt.shape = shape
        else:
            coords = np.unravel_index(np.arange(start, stop), shape) if shape else ()
            for a, c in zip(numeric, coords):
                knowns[a.name] = a.take(c)
            tgt.shape = None
        out, out_units = tgt.run(knowns, n)
        for a in grid:  # axes first, in the order given
            if a.categorical:
                v = a.values[combo[categorical.index(a)]]
                cols[a.name] = np.full(n, str(getattr(v, "key", getattr(v, "name", v))), dtype=object)
            elif whole_grid:
                cols[a.name] = _LazyColumn(lambda v=shaped[a.name]: np.broadcast_to(v, shape).reshape(-1), n)
            else:
                cols[a.name] = a.values[coords[numeric.index(a)]]
            units[a.name] = a.unit
        for k, v in out.items():
            if k not in cols:
                cols[k] = v
                units[k] = out_units[k]
        if report:
            bar.update(n)
        return cols, units

    if lazy:
        table = _lazy_table(evaluate_chunk, combos, chunks, axis_names, tgt.name, fixed_repr, bar)
        if as_frame:
            return table.to_frame()
        return table

    parts = []
    try:
        for combo in combos:
            for start, stop in chunks:
                parts.append(evaluate_chunk(combo, start, stop))
    finally:
        bar.close()
    units = parts[0][1]
    if len(parts) == 1:
        columns = parts[0][0]
    else:
        columns = {k: np.concatenate([_Columns(p[0])[k] for p in parts]) for k in parts[0][0]}
    table = SweepTable(columns, units, axes=axis_names, target=tgt.name, fixed=fixed_repr)
    if as_frame is None:
        try:
            import pandas  # noqa: F401
        except ImportError:
            return table
        return table.to_frame()
    return table.to_frame() if as_frame else table


def _first(fn, *args):
    return fn(*args)[0]


def _lazy_table(evaluate_chunk, combos, chunks, axis_names, target_name, fixed_repr, bar) -> SweepTable:
    """Dask columns, one delayed evaluation per chunk (probed once, eagerly, on its first point)."""
    import dask
    import dask.array as da

    probe_cols, units = evaluate_chunk(combos[0], 0, 1, False)  # validates every input now, not at compute time
    dtypes = {k: np.asarray(v).dtype for k, v in probe_cols.items()}
    pieces: dict[str, list] = {k: [] for k in probe_cols}
    for combo in combos:
        for start, stop in chunks:
            d = dask.delayed(_first, pure=False)(evaluate_chunk, combo, start, stop)
            for k in probe_cols:
                pieces[k].append(da.from_delayed(d[k], shape=(stop - start,), dtype=dtypes[k]))
    columns = {k: da.concatenate(v) if len(v) > 1 else v[0] for k, v in pieces.items()}
    return SweepTable(columns, units, axes=axis_names, target=target_name, fixed=fixed_repr, _progress=bar)


__all__ = ["sweep", "SweepTable", "MissingDependencyError", "CHUNK_SIZE"]


class _CallableModule(type(sys)):
    """``mlsysim.sweep`` is both this module and the function: importing the module (``from mlsysim.sweep
    import SweepTable``) binds the module as the package attribute, so the module itself calls :func:`sweep`."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
