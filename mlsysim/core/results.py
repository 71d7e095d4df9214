"""What the engine returns: :class:`EvalResult` (forward evaluation), :class:`Solution` (an inverse), and
:func:`fmt_quantity` (readable text for a Quantity)."""
from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .display import display_text
from .errors import UnderdeterminedError, UnitError
from .units import Q_
from .variables import VARIABLES

if TYPE_CHECKING:  # pragma: no cover
    from .equation_set import EquationSet


class EvalResult(Mapping):
    """Every quantity an :meth:`EquationSet.evaluate` call computed (and the inputs it was given).

    Access by attribute or key: ``out.latency``, ``out["latency"]``; ``out.regime("latency")`` says
    which regime binds ("compute"/"memory"), elementwise for arrays.
    """

    def __init__(self, eqset: "EquationSet", magnitudes: dict, regimes: dict, given: dict,
                 bypassed: tuple = (), not_computed: Mapping | None = None):
        self._set = eqset
        #: keys of the relations not used because their left-hand side was given (a measured power, ...)
        self.bypassed = tuple(bypassed)
        #: ``{name: [missing inputs]}``: derived quantities the knowns did not determine (evaluate without outputs)
        self.not_computed = dict(not_computed or {})
        self._mag = magnitudes  # name -> base-unit magnitude (derived)
        self._regimes = regimes  # equation key -> index (int or array)
        self._given = given  # name -> Quantity as given
        self._wrapped: dict = {}
        self._pending: dict = {}  # name -> None: derived quantities computed on first access (lazy arrays)
        self._compute: Any = None  # callable(names) -> {name: magnitude} for pending quantities

    def _defer(self, names, compute) -> None:
        """Compute ``names`` on first access with ``compute(names) -> {name: magnitude}`` (a fused kernel)."""
        self._pending.update(dict.fromkeys(n for n in names if n not in self._mag))
        self._compute = compute

    def _ensure(self, names) -> None:
        todo = tuple(n for n in names if n in self._pending)
        if todo:
            got = self._compute(todo)
            for n, v in got.items():
                self._mag.setdefault(n, v)
                self._pending.pop(n, None)

    def compute(self) -> "EvalResult":
        """Compute every quantity not computed yet, in one fused call (lazy array results); returns self."""
        self._ensure(list(self._pending))
        return self

    def __getitem__(self, name):
        if name in self._wrapped:
            return self._wrapped[name]
        if name in self._pending:
            self._ensure((name,))
        if name in self._mag:
            q = VARIABLES[name].quantity(self._mag[name])
            self._wrapped[name] = q
            return q
        if name in self._given:
            return self._given[name]
        if name in self.not_computed:
            raise UnderdeterminedError(f"{self._set.name}: {name} was not computed; it needs "
                                       f"{', '.join(self.not_computed[name])}")
        raise KeyError(name)

    def __contains__(self, name):
        return name in self._mag or name in self._pending or name in self._given

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self), n=3)
            raise AttributeError(f"{self._set.name} result has no {name!r}"
                                 + (f"; did you mean {', '.join(close)}?" if close else "")) from None

    def _derived_names(self) -> list:
        return list(self._mag) + [k for k in self._pending if k not in self._mag]

    def __iter__(self):
        d = self._derived_names()
        return iter(d + [k for k in self._given if k not in d])

    def __len__(self):
        d = self._derived_names()
        return len(d) + len([k for k in self._given if k not in d])

    def _given_mag(self):
        return self._set._convert(self._given)

    def magnitude(self, name: str):
        """Base-unit magnitude (float or array) of a derived quantity, without wrapping."""
        if name in self._pending:
            self._ensure((name,))
        return self._mag[name]

    def regime(self, name: str):
        """Binding regime of the regime equation defining ``name`` (a str, or an array of str)."""
        eq = self._set.defining(name)
        if not eq.is_regime:
            raise KeyError(f"{name} is not defined by a regime equation")
        if eq.key in self.bypassed:
            raise KeyError(f"{name} was given, not computed by {self._set.name}.{eq.key}: it has no binding regime")
        idx = self._regimes[eq.key]
        if idx is None:
            idx = self._regimes[eq.key] = self._set._regime_index(eq, {**self._given_mag(), **self._mag})
        labels = list(eq.regimes)
        if np.ndim(idx) == 0:
            return labels[int(idx)]
        return np.asarray(labels, dtype=object)[idx]

    @property
    def regimes(self) -> dict:
        """``{variable: binding regime}`` for every regime equation evaluated."""
        return {self._set.equations[k].lhs.name: self.regime(self._set.equations[k].lhs.name)
                for k in self._regimes}

    def to_dict(self) -> dict:
        """Plain data: ``{name: {"value": magnitude, "unit": str}}`` plus ``regimes``."""
        self.compute()
        out: dict[str, Any] = {}
        for k in self:
            q = self[k]
            m = q.magnitude if hasattr(q, "magnitude") else q
            out[k] = {"value": m.tolist() if isinstance(m, np.ndarray) else m,
                      "unit": f"{q.units:~C}" if hasattr(q, "units") else ""}
        regs = self.regimes
        out["regimes"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in regs.items()}
        if self.bypassed:
            out["bypassed"] = list(self.bypassed)
        return out

    def __repr__(self):
        lines = [f"{self._set.name} result:"]
        self.compute()
        for k in self._mag:
            lines.append(f"  {k:<22} {fmt_quantity(self[k], name=k)}")
        for k, r in self.regimes.items():
            if isinstance(r, np.ndarray):
                vals, counts = np.unique(r.astype(str), return_counts=True)
                r = ", ".join(f"{v}: {c}" for v, c in zip(vals, counts))
            lines.append(f"  regime of {k}: {r}")
        if self.bypassed:
            lines.append(f"  given (relation bypassed): {', '.join(self.bypassed)}")
        if self.not_computed:
            lines.append(f"  not computed (missing inputs): {', '.join(self.not_computed)}")
        return "\n".join(lines)

    def _repr_html_(self):
        self.compute()
        rows = "".join(f"<tr><td><code>{k}</code></td><td>{fmt_quantity(self[k])}</td></tr>" for k in self._mag)
        return f"<table><caption>{self._set.name}</caption>{rows}</table>"


def fmt_quantity(q, digits: int = 4, name: str | None = None) -> str:
    """Readable text for a scalar or array Quantity (the display unit of the variable ``name`` or of the
    quantity's dimension, :func:`mlsysim.core.display.display_text`; else an SI prefix; long times in h/days)."""
    if not hasattr(q, "units"):
        return repr(q)
    shown = display_text(q, digits, name)
    if shown is not None:
        return shown
    m = q.magnitude
    if isinstance(m, np.ndarray) and m.ndim > 0:
        return f"array{m.shape} [{np.nanmin(m):.{digits}g} .. {np.nanmax(m):.{digits}g}] {q.units:~C}"
    q = Q_(float(m), q.units)
    if q.dimensionless or not np.isfinite(q.magnitude) or q.magnitude == 0:
        x = float(q.to("").magnitude) if q.dimensionless else q.magnitude
        if q.dimensionless and np.isfinite(x) and x == round(x) and abs(x) < 1e15:
            return f"{int(round(x)):,}"
        return f"{x:.{digits}g} {'' if q.dimensionless else f'{q.units:~C}'}".strip()
    try:
        if q.check("1/[time]"):
            qc = q.to("1/s")
        elif q.check("[time]"):
            secs = q.m_as("s")
            if secs >= 2 * 86400:
                qc = q.to("day")
            elif secs >= 2 * 3600:
                qc = q.to("h")
            elif secs >= 1:
                qc = q.to("s")
            else:
                qc = q.to("s").to_compact()
        else:
            qc = q.to_compact()
    except Exception:  # to_compact cannot handle every compound unit
        qc = q
    return f"{float(qc.magnitude):.{digits}g} {qc.units:~C}".strip()


class Solution:
    """The value of an unknown found by :meth:`EquationSet.solve`.

    ``value`` is a Quantity (scalar or array; NaN where infeasible for arrays), ``regime`` names the
    binding regime(s), ``feasible``/``reason`` say where and why a target could not be met, and
    ``all`` holds every quantity of the set evaluated at the solution (when computable).
    Quantity-like helpers (``to``, ``m_as``, ``magnitude``, ``units``) delegate to ``value``.
    """

    def __init__(self, unknown: str, value, regime, feasible, reason, all_values: EvalResult | None, method: str,
                 target: str):
        self.unknown = unknown
        self.value = value
        self.regime = regime
        self.feasible = feasible
        self.reason = reason
        self.all = all_values
        self.method = method
        self.target = target

    def to(self, u):
        return self.value.to(u)

    def m_as(self, u):
        return self.value.m_as(u)

    @property
    def magnitude(self):
        return self.value.magnitude

    @property
    def units(self):
        return self.value.units

    def __float__(self):
        if not self.value.dimensionless:
            raise UnitError(f"{self.unknown} has units {self.value.units:~C}; use .m_as(unit) instead of float()")
        return float(self.value.magnitude)

    bound = ""
    #: other values of the unknown that also meet the target (e.g. the second root of a quadratic)
    alternatives: list = []
    #: how the value was rounded (a count unknown: the whole number next to the exact answer that meets the target)
    note = ""
    #: the exact (unrounded) answer; equals ``value`` unless a count was rounded
    continuous = None

    def __repr__(self):
        reg = self.regime
        note = ""
        if isinstance(self.bound, str) and self.bound:
            note = {"min": f"; minimum: any larger {self.unknown} also meets {self.target}",
                    "max": f"; maximum: any smaller {self.unknown} also meets {self.target}",
                    "any": f"; {self.target} does not depend on {self.unknown} here"}[self.bound]
        if isinstance(reg, dict):
            reg = ", ".join(f"{k}: {v if not isinstance(v, np.ndarray) else 'array'}" for k, v in reg.items())
        if self.alternatives:
            note += "; also met by " + ", ".join(fmt_quantity(a) for a in self.alternatives)
        if self.note:
            note += "; " + self.note
        value = fmt_quantity(self.value, name=self.unknown)
        return f"Solution({self.unknown} = {value}; regime: {reg or '-'}{note}; via {self.method})"

    __str__ = __repr__

