"""Application scenarios: a workload, a platform, targets and a deployment, evaluated level by level.

A :class:`Scenario` composes the solvers; it computes no number itself. ``scenario.evaluate()`` runs
the hierarchy of constraints and returns an :class:`Evaluation`:

* **Level 1, feasibility**: the model fits in memory (per device after sharding for a training fleet;
  SRAM for a microcontroller) and, where the scenario has a power budget, the average device power
  (``Equations.Carbon``'s power model at the deployment's duty cycle) is within it;
* **Level 2, performance**: latency (``SingleNodeSolver``), TTFT/TPOT/request latency
  (``ServingSolver``) or step time / time-to-train (``DistributedSolver``) against the targets;
* **Level 3, macro/economics**: energy and carbon over a year of deployment (``SustainabilitySolver``)
  and TCO over the hardware lifetime (``TCOSolver``) for the whole deployed fleet; for a training
  scenario, energy, carbon and TCO of the training run.

``evaluation.scorecard()`` is the text report; ``to_dict()`` plain JSON-able data;
``_repr_html_()`` an HTML table for Jupyter.

Examples
--------
>>> import mlsysim
>>> print(mlsysim.Applications.Doorbell.evaluate().scorecard())          # doctest: +SKIP
>>> s = mlsysim.Applications.Doorbell.replace(hardware="CortexM4")        # doctest: +SKIP
>>> custom = mlsysim.Scenario(name="My chatbot", model="Llama3_70B", hardware="H200",
...                           targets={"tpot": mlsysim.Q_(40, "ms")}, precision="fp8",
...                           seq_len=4096, region="Quebec")               # doctest: +SKIP

Target names
------------
``power`` [W]
    Level 1: budget for the average power of one device (duty cycle included).
``latency`` [time]
    Level 2, single-node inference: time of one batched forward pass.
``ttft``, ``tpot``, ``request_latency`` [time]
    Level 2, LLM serving.
``step_time``, ``time_to_train`` [time]
    Level 2, training on a fleet.
``energy`` [energy], ``carbon`` [mass], ``tco`` [USD]
    Level 3 budgets: per year of deployment for the whole deployed fleet (energy, carbon), over the
    lifetime (tco); for a training scenario, of the training run.

Every target is an upper limit. A target is a pint Quantity, or a
:class:`~mlsysim.core.sources.Sourced` Quantity when it has its own source (otherwise the scenario's
``source`` applies).
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pint

from ..core import defaults as D
from ..core.assumptions import Assumption
from ..core.errors import (DomainError, MlsysimError, UnderdeterminedError, UnitError, UnknownNameError,
                           UnknownVariableError)
from ..core.references import DUBEY_2024, cite
from ..core.registry import Registry
from ..core.sources import Source, Sourced, assumption, derived, require_source
from ..core.units import Q_
from ..core.variables import check_count

# ---------------------------------------------------------------------------------------- targets
#: target name -> (level, unit it must convert to, label, modes it applies to)
TARGETS: dict[str, tuple[int, str, str, tuple[str, ...]]] = {
    "power": (1, "W", "Average power", ("inference", "serving", "training")),
    "latency": (2, "s", "Latency", ("inference",)),
    "ttft": (2, "s", "TTFT", ("serving",)),
    "tpot": (2, "s", "TPOT", ("serving",)),
    "request_latency": (2, "s", "Request latency", ("serving",)),
    "step_time": (2, "s", "Step time", ("training",)),
    "time_to_train": (2, "s", "Time to train", ("training",)),
    "mfu": (2, "", "MFU", ("training",)),
    "goodput": (2, "", "Goodput", ("training",)),
    "time_to_train_with_failures": (2, "s", "Time to train with failures", ("training",)),
    "energy": (3, "J", "Energy", ("inference", "serving", "training")),
    "carbon": (3, "kg", "Carbon", ("inference", "serving", "training")),
    "tco": (3, "USD", "TCO", ("inference", "serving", "training")),
}

MODES = ("inference", "serving", "training")

#: assumptions a scenario may carry, by where they go: the performance solver or the economics solvers
PERFORMANCE_ASSUMPTIONS = ("compute_efficiency", "memory_bandwidth", "peak_flops", "bytes_per_element", "overhead",
                           "activation_traffic_bytes", "power", "dp_overlap", "link_efficiency")
#: what a training scenario needs to report goodput: failures, checkpoint writes and restarts (Equations.Goodput)
RELIABILITY_ASSUMPTIONS = ("device_mtbf", "storage_bandwidth", "restart_time")
ECONOMICS_ASSUMPTIONS = ("pue", "facility_rate", "maintenance_rate", "unit_price", "electricity_price",
                         "idle_power", "carbon_intensity")

#: one year of deployment: the period of the Level 3 energy and carbon of a deployed application
YEAR = Q_(1.0, "year")

_LEVEL_TITLES = {1: "Feasibility", 2: "Performance", 3: "Macro/Economics"}


def _registry(module: str, name: str):
    import importlib

    return getattr(importlib.import_module(module), name)


def _resolve_model(model):
    if isinstance(model, str):
        return _registry("mlsysim.models", "Models").get(model)
    if model is None or not hasattr(model, "parameters"):
        raise UnknownNameError(f"Scenario: model must be a Models name or a workload object; got {model!r}")
    return model


def _resolve_hardware(hardware):
    if isinstance(hardware, str):
        return _registry("mlsysim.hardware", "Hardware").get(hardware)
    if hardware is None or not hasattr(hardware, "peak_flops"):
        raise UnknownNameError(f"Scenario: hardware must be a Hardware name or entry; got {hardware!r}")
    return hardware


def _resolve_fleet(fleet):
    if isinstance(fleet, str):
        return _registry("mlsysim.systems", "Systems").get(fleet)
    if fleet is None or not hasattr(fleet, "num_devices"):
        raise UnknownNameError(f"Scenario: fleet must be a Systems name or a Fleet; got {fleet!r}")
    return fleet


def _resolve_region(region):
    if region is None or not isinstance(region, str):
        return region
    return _registry("mlsysim.infra", "Infra").get(region)


def _label(obj) -> str:
    if obj is None:
        return "-"
    if isinstance(obj, str):
        return obj
    return str(getattr(obj, "key", None) or getattr(obj, "name", None) or obj)


def _is_decoder(model) -> bool:
    return hasattr(model, "kv_bytes_per_token") and getattr(model, "kind", "decoder") == "decoder"


def _num(x: float, digits: int) -> str:
    """``digits`` significant figures, without exponent notation below 1e15."""
    return f"{x:,.0f}" if abs(x) >= 10 ** digits and abs(x) < 1e15 else f"{x:.{digits}g}"


def _is(q, unit: str) -> bool:
    """``q`` has the dimension of ``unit``."""
    return q.dimensionality == Q_(1, unit).dimensionality


def _fmt(q, digits: int = 4) -> str:
    """A scalar Quantity as readable text (SI prefix; days for long times; kg/t for emissions)."""
    from ..core.equations import fmt_quantity

    if q is None:
        return "n/a"
    if not isinstance(q, pint.Quantity):
        return f"{q:.{digits}g}" if isinstance(q, (int, float)) else str(q)
    if _is(q, "kg"):
        kg = float(q.m_as("kg"))
        return f"{_num(kg / 1000, digits)} t" if abs(kg) >= 1000 else f"{_num(kg, digits)} kg"
    if _is(q, "USD"):
        return f"${float(q.m_as('USD')):,.0f}"
    if _is(q, "J"):
        j = float(q.m_as("J"))
        for u, scale in (("GWh", 3.6e12), ("MWh", 3.6e9), ("kWh", 3.6e6), ("Wh", 3.6e3)):
            if abs(j) >= scale:
                return f"{_num(j / scale, digits)} {u}"
        return f"{j:.{digits}g} J"
    if _is(q, "s") and q.m_as("s") >= 2 * 86400:
        return f"{float(q.m_as('day')):.{digits}g} days"
    return fmt_quantity(q, digits)


def _check_fraction(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DomainError(f"Scenario: {name} must be a number in (0, 1]; got {value!r}")
    if not (0 < float(value) <= 1):
        raise DomainError(f"Scenario: {name} must be in (0, 1] (a fraction of the time the device is busy); "
                          f"got {value!r}")
    return float(value)


def _source_or_none(entry, name: str):
    """The registry Source of ``entry.name``, or None where it has none."""
    try:
        return entry.source_of(name)
    except MlsysimError:
        return None


def _article(word: str) -> str:
    """'a' or 'an' before ``word`` (by its first letter: an inference, a serving, a training)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _check_count(name, value, allow_none=False):
    return check_count(name, value, owner="Scenario", allow_none=allow_none)


def _check_targets(targets: Mapping[str, Any] | None, default_source: Source | None) -> dict[str, Sourced]:
    out: dict[str, Sourced] = {}
    for name, value in (targets or {}).items():
        if name not in TARGETS:
            import difflib

            close = difflib.get_close_matches(str(name), list(TARGETS), n=3)
            raise UnknownVariableError(
                f"Scenario: unknown target {name!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
                + f" (targets: {', '.join(TARGETS)})")
        src = default_source
        if isinstance(value, Sourced):
            value, src = value.value, value.source
        if isinstance(value, str):
            from ..core.units import parse_quantity

            value = parse_quantity(value)
        unit = TARGETS[name][1]
        if not isinstance(value, pint.Quantity) or not _is(value, unit):
            raise UnitError(f"Scenario: target {name} needs a quantity convertible to {unit}; got {value!r}")
        if not np.ndim(value.magnitude) == 0 or not (float(value.magnitude) > 0):
            raise DomainError(f"Scenario: target {name} must be a positive scalar; got {value}")
        if src is None:
            raise UnderdeterminedError(f"Scenario: target {name} has no source: pass source=Source(...) or give "
                                       f"the target as Sourced(value, source)")
        out[name] = Sourced(value, require_source(src, f"target {name}"))
    return out


def _check_assumptions(items, what) -> tuple[Assumption, ...]:
    items = tuple(items or ())
    allowed = PERFORMANCE_ASSUMPTIONS + ECONOMICS_ASSUMPTIONS + RELIABILITY_ASSUMPTIONS
    for a in items:
        if not isinstance(a, Assumption):
            raise UnknownVariableError(f"Scenario: {what} must be Assumption objects; got {a!r}")
        if a.name not in allowed:
            raise UnknownVariableError(f"Scenario: assumption {a.name!r} is not one a scenario passes on; "
                                       f"allowed: {', '.join(allowed)}")
    return items


# ---------------------------------------------------------------------------------------- scenario
class Scenario:
    """An application: a workload on a platform, with targets, a deployment and the assumptions used.

    Parameters
    ----------
    name : str
        Title of the scenario (shown in the scorecard).
    model : str or workload
        A ``Models`` name or a workload object.
    hardware : str or HardwareSpec, optional
        The device (give ``hardware`` or ``fleet``).
    fleet : str or Fleet, optional
        A training cluster (a ``Systems`` name or a :class:`~mlsysim.systems.fleet.Fleet`): the scenario
        is a training run evaluated by ``DistributedSolver``.
    targets : dict, optional
        Target name -> Quantity (or Sourced Quantity), each an upper limit; see the module docstring.
    region : str or GridRegion, optional
        Grid for Level 3 (carbon intensity [g/kWh], electricity price [USD/kWh], typical PUE [1]).
    duty_cycle : float
        Fraction of the time a deployed device is busy, (0, 1] [1]; it is the ``utilization`` of the
        ``Equations.Carbon`` power model (default 1: always busy).
    fleet_size : int
        Number of deployed devices (doorbells, vehicles, GPUs serving) [1] for Level 3.
    precision : str, optional
        Numeric precision (``"int8"``, ``"fp16"``, ``"bf16"`` ...); default ``"fp16"`` (``"bf16"`` for
        training).
    batch_size : int
        Samples per forward pass, or sequences decoded together [1].
    lifetime : Quantity, optional
        Hardware lifetime [time]: the TCO period of a deployment and the amortization period
        (default: the TCO solver's ``lifetime`` assumption, 4 years).
    source : Source
        Where the targets come from (MLPerf, a paper, or kind ``"assumption"`` with the reasoning).
    description : str
        One line on the application.
    seq_len, prompt_tokens, output_tokens : int, optional
        Serving: context and request shape [tokens].
    training_tokens : float, optional
        Training: tokens of the run [1] (for ``time_to_train``).
    layout : dict, optional
        Training: ``DistributedSolver.solve`` keywords (``tp``, ``pp``, ``global_batch``, ``seq_len``,
        ``zero_stage``, ``recompute``, ``sequence_parallel``, ...).
    assumptions : sequence of Assumption
        Assumed values the scenario passes to the solvers (``pue``, ``facility_rate`` of an edge device,
        ``bytes_per_element`` of a weight-quantized model ...); kept when the hardware is replaced.
    hardware_assumptions : sequence of Assumption
        Assumed values that belong to the scenario's device or its software stack (``power``,
        ``memory_bandwidth`` of a microcontroller, TFLM ``compute_efficiency``); dropped by
        :meth:`replace` when the hardware changes.
    datacenter : str or DatacenterProfile, optional
        Datacentre profile whose PUE [1] and WUE [L/kWh] replace the region's typical ones.
    mode : {"inference", "serving", "training"}, optional
        Which solver evaluates Level 2; inferred: a fleet trains; a decoder LLM with TTFT/TPOT targets
        (or prompt/output tokens) is served; anything else is single-node inference.
    """

    def __init__(self, name: str, model, hardware=None, fleet=None, targets: Mapping[str, Any] | None = None,
                 region=None, duty_cycle: float = 1.0, fleet_size: int = 1, precision: str | None = None,
                 batch_size: int = 1, lifetime=None, source: Source | None = None, description: str = "",
                 seq_len: int | None = None, prompt_tokens: int | None = None, output_tokens: int | None = None,
                 training_tokens: float | None = None, layout: Mapping[str, Any] | None = None,
                 assumptions: Sequence[Assumption] = (), hardware_assumptions: Sequence[Assumption] = (),
                 mode: str | None = None, datacenter=None):
        if not isinstance(name, str) or not name.strip():
            raise DomainError(f"Scenario: name must be a non-empty string; got {name!r}")
        self.name = name
        self.model = _resolve_model(model)
        if (hardware is None) == (fleet is None):
            raise UnderdeterminedError(f"Scenario {name!r}: give either hardware= (one device) or fleet= (a "
                                       f"training cluster), not {'both' if hardware is not None else 'neither'}")
        self.fleet = _resolve_fleet(fleet) if fleet is not None else None
        self.hardware = self.fleet.hardware if self.fleet is not None else _resolve_hardware(hardware)
        self.region = _resolve_region(region)
        self.datacenter = _resolve_region(datacenter)
        self.duty_cycle = _check_fraction("duty_cycle", duty_cycle)
        self.fleet_size = _check_count("fleet_size", fleet_size)
        self.batch_size = _check_count("batch_size", batch_size)
        self.seq_len = _check_count("seq_len", seq_len, allow_none=True)
        self.prompt_tokens = _check_count("prompt_tokens", prompt_tokens, allow_none=True)
        self.output_tokens = _check_count("output_tokens", output_tokens, allow_none=True)
        if training_tokens is not None and (isinstance(training_tokens, bool) or not isinstance(
                training_tokens, (int, float)) or not training_tokens > 0):
            raise DomainError(f"Scenario: training_tokens must be a positive number of tokens; got {training_tokens!r}")
        self.training_tokens = training_tokens
        if lifetime is not None and (not isinstance(lifetime, pint.Quantity) or not _is(lifetime, "s")
                                     or not float(lifetime.magnitude) > 0):
            raise UnitError(f"Scenario: lifetime must be a positive time such as Q_(4, 'year'); got {lifetime!r}")
        self.lifetime = lifetime
        if source is not None:
            require_source(source, f"scenario {name!r}")
        self.source = source
        self.description = description
        self.targets = _check_targets(targets, source)
        self.layout = dict(layout or {})
        self.assumptions = _check_assumptions(assumptions, "assumptions")
        self.hardware_assumptions = _check_assumptions(hardware_assumptions, "hardware_assumptions")
        if mode is None:
            if self.fleet is not None:
                mode = "training"
            elif _is_decoder(self.model) and (any(t in self.targets for t in ("ttft", "tpot", "request_latency"))
                                              or prompt_tokens is not None):
                mode = "serving"
            else:
                mode = "inference"
        if mode not in MODES:
            raise UnknownNameError(f"Scenario: mode must be one of {', '.join(MODES)}; got {mode!r}")
        if mode == "training" and self.fleet is None:
            raise UnderdeterminedError(f"Scenario {name!r}: a training scenario needs fleet=")
        if mode == "serving" and not _is_decoder(self.model):
            raise DomainError(f"Scenario {name!r}: serving needs a decoder LLM; {self.model.name} is not one")
        self.mode = mode
        for t in self.targets:
            if mode not in TARGETS[t][3]:
                raise DomainError(f"Scenario {name!r}: target {t!r} does not apply to {_article(mode)} {mode} "
                                  f"scenario; "
                                  f"targets for {mode}: "
                                  f"{', '.join(k for k, v in TARGETS.items() if mode in v[3])}")
        self.precision = precision if precision is not None else ("bf16" if mode == "training" else "fp16")

    # ------------------------------------------------------------------ copies
    _FIELDS = ("name", "model", "hardware", "fleet", "targets", "region", "duty_cycle", "fleet_size", "precision",
               "batch_size", "lifetime", "source", "description", "seq_len", "prompt_tokens", "output_tokens",
               "training_tokens", "layout", "assumptions", "hardware_assumptions", "mode", "datacenter")

    def replace(self, **overrides) -> "Scenario":
        """A copy with some fields replaced (``scenario.replace(hardware="CortexM4", region="Quebec")``).

        Replacing the hardware (or the fleet) drops ``hardware_assumptions`` (they described the old
        device) unless new ones are given; on a training scenario ``hardware=`` keeps the fleet's shape
        and swaps its devices. ``targets`` given here are merged into the existing ones.
        """
        for k in overrides:
            if k not in self._FIELDS:
                raise UnknownVariableError(f"Scenario.replace: unknown field {k!r}; fields: {', '.join(self._FIELDS)}")
        kw = {k: getattr(self, k) for k in self._FIELDS}
        kw["targets"] = dict(self.targets)
        hw_changed = False
        if "hardware" in overrides and overrides["hardware"] is not None:
            new_hw = _resolve_hardware(overrides["hardware"])
            hw_changed = new_hw.key != self.hardware.key
            if self.fleet is not None and "fleet" not in overrides:
                overrides = dict(overrides)
                overrides["fleet"] = self.fleet.replace(hardware=new_hw)
                overrides.pop("hardware")
        if "fleet" in overrides and overrides["fleet"] is not None:
            new_fleet = _resolve_fleet(overrides["fleet"])
            hw_changed = hw_changed or new_fleet.hardware.key != self.hardware.key
            overrides = dict(overrides, fleet=new_fleet)
            kw["hardware"] = None
        if self.fleet is not None and "fleet" not in overrides:
            kw["hardware"] = None
        elif self.fleet is None and "fleet" not in overrides:
            kw["fleet"] = None
        if "targets" in overrides:
            kw["targets"].update(overrides.pop("targets") or {})
        if hw_changed and "hardware_assumptions" not in overrides:
            kw["hardware_assumptions"] = ()
        if "model" in overrides and "mode" not in overrides:
            kw["mode"] = None
        kw.update(overrides)
        if "name" not in overrides:
            kw["name"] = self._renamed(kw)
        return Scenario(**kw)

    def _renamed(self, kw: dict) -> str:
        """The name of a copy whose device or model changed: the old device/model named in the title is
        replaced by the new one ("Llama-3-8B on H100" -> "Llama-3-8B on MI300X"); a title that names
        neither says what changed ("Chatbot (interactive) [hardware: MI300X]")."""
        name = self.name
        changes = []
        new_fleet = kw.get("fleet")
        new_hw = new_fleet.hardware if new_fleet is not None else _resolve_hardware(kw["hardware"])
        new_model = _resolve_model(kw["model"])
        for role, old, new in (("hardware", self.hardware, new_hw), ("model", self.model, new_model)):
            old_key, new_key = getattr(old, "key", None) or old.name, getattr(new, "key", None) or new.name
            if old_key == new_key and old.name == new.name:
                continue
            # the longest spelling first, so "Llama-3-8B" is not half-replaced by "Llama"
            for spelling, repl in sorted(((old.name, new.name), (old_key, new_key)), key=lambda p: -len(p[0])):
                if spelling and spelling in name:
                    name = name.replace(spelling, repl)
                    break
            else:
                changes.append(f"{role}: {new_key}")
        if self.fleet is not None and new_fleet is not None and new_fleet.name != self.fleet.name \
                and new_fleet.hardware.key == self.hardware.key:
            changes.append(f"fleet: {new_fleet.name}")
        return name + (f" [{', '.join(changes)}]" if changes else "")

    # ------------------------------------------------------------------ evaluation
    def _assumed(self, names) -> dict:
        out = {}
        for a in (*self.assumptions, *self.hardware_assumptions):
            if a.name in names:
                out[a.name] = a.value
        return out

    def evaluate(self) -> "Evaluation":
        """Run the three levels of constraints; every number comes from a solver.

        Returns
        -------
        Evaluation
            ``checks`` (one per line of the scorecard), ``results`` (the solver results), ``passed``.

        Raises
        ------
        MlsysimError
            The solvers' errors (a device without a published value the scenario needs, an invalid
            layout ...), with their messages.
        """
        ev = Evaluation(self)
        perf = self._assumed(PERFORMANCE_ASSUMPTIONS)
        if self.mode == "training":
            self._evaluate_training(ev, perf)
        else:
            self._evaluate_device(ev, perf)
        # say so when a value the verdict used is only secondary or assumed (issue 14, trust levels)
        used = {f"peak_flops:{self.precision}", "memory_bandwidth", "memory_capacity", "tdp", "unit_price"} - set(perf)
        for f, src in self.hardware.unverified_fields().items():
            if f in used and src.kind in ("secondary", "assumption"):
                ev.notes.append(f"rests on an unverified ({src.kind}) value {self.hardware.key}.{f}: {src.note}")
        return ev

    # -- one device: inference or serving
    def _evaluate_device(self, ev: "Evaluation", perf: dict):
        from ..solvers import ServingSolver, SingleNodeSolver

        hw = self.hardware
        if "memory_bandwidth" not in perf and hw.get("memory_bandwidth") is None:
            raise UnderdeterminedError(
                f"{hw.key} has no published memory_bandwidth: give the scenario an Assumption('memory_bandwidth', "
                f"Q_(..., 'GB/s'), source) in hardware_assumptions")
        if self.mode == "serving":
            kw = {k: v for k, v in perf.items() if k in ("compute_efficiency", "memory_bandwidth", "peak_flops",
                                                        "bytes_per_element", "overhead", "activation_traffic_bytes")}
            # the scorecard (and the explorer's live copy of it, which evaluates Equations.Serving) uses the flat
            # roofline: the default compute efficiency is given (the solver's default is per operation)
            kw.setdefault("compute_efficiency", D.COMPUTE_EFFICIENCY.value)
            r = ServingSolver().solve(self.model, hw, seq_len=self.seq_len, batch_size=self.batch_size,
                                      precision=self.precision, prompt_tokens=self.prompt_tokens,
                                      output_tokens=self.output_tokens, **kw)
            ev.results["serving"] = r
            ev._memory_check(r.memory_required, r.memory_capacity, "per device",
                             weights=getattr(r, "weight_bytes", None))
            for t in ("ttft", "tpot", "request_latency"):
                ev._target_check(t, getattr(r, t))
            ev.extra["tokens_per_second"] = r.tokens_per_second
        else:
            kw = {k: v for k, v in perf.items() if k in ("compute_efficiency", "memory_bandwidth", "peak_flops",
                                                        "bytes_per_element", "overhead", "activation_traffic_bytes",
                                                        "power")}
            if _is_decoder(self.model) and self.seq_len is not None:
                kw["seq_len"] = self.seq_len
            kw.pop("power", None) if _is_decoder(self.model) else None
            r = SingleNodeSolver().solve(self.model, hw, batch_size=self.batch_size, precision=self.precision,
                                         **kw)
            ev.results["inference"] = r
            ev._memory_check(r.memory_required, r.memory_capacity, "", weights=getattr(r, "weight_bytes", None))
            ev._target_check("latency", r.latency, always=True)
            ev.extra["throughput"] = r.throughput
        self._economics(ev, duration=YEAR, num_devices=self.fleet_size, period="Annual")

    # -- a fleet: training
    def _evaluate_training(self, ev: "Evaluation", perf: dict):
        from ..solvers import DistributedSolver

        kw = {k: v for k, v in perf.items() if k in ("compute_efficiency", "dp_overlap", "link_efficiency")}
        layout = dict(self.layout)
        layout.setdefault("precision", self.precision)
        r = DistributedSolver().solve(model=self.model, fleet=self.fleet, **layout, **kw)
        ev.results["training"] = r
        ev._memory_check(r.memory_per_device, r.memory_capacity, "per device after sharding")
        ev._target_check("step_time", r.step_time)
        if self.training_tokens is not None:
            ttt = r.time_to_train(self.training_tokens)
            ev._target_check("time_to_train", ttt, always=True)
            self._economics(ev, duration=ttt, num_devices=self.fleet.num_devices, period="Training",
                            fleet=self.fleet)
        else:
            ev.notes.append("no training_tokens: time to train and Level 3 not evaluated")
        ev.extra["mfu"] = r.mfu
        ev._info_check("mfu", r.mfu, f"MFU: {float(r.mfu):.3f} (model FLOPs / (step time x devices x peak))")
        rel = self._assumed(RELIABILITY_ASSUMPTIONS)
        if self.training_tokens is not None and set(rel) == set(RELIABILITY_ASSUMPTIONS):
            self._goodput(ev, ttt, rel, layout["precision"])

    def _goodput(self, ev: "Evaluation", time_to_train, rel: dict, precision: str):
        """Goodput under failures (Equations.Checkpointing at Young's interval, Equations.Goodput): the job's
        MTBF from the per-device rate, one checkpoint of the weights plus Adam state at the storage bandwidth."""
        from ..core.equation_sets import Equations
        from ..core.equation_sets.parallelism import ADAM_K_BYTES
        from ..core.precision import bytes_per_element

        n = self.fleet.num_devices
        state = self.model.parameters * (bytes_per_element(precision) + Q_(ADAM_K_BYTES, "byte"))
        g = Equations.Goodput
        job = g.evaluate(outputs=["mtbf", "checkpoint_time"], device_mtbf=rel["device_mtbf"], num_devices=n,
                         checkpoint_bytes=state, storage_bandwidth=rel["storage_bandwidth"])
        tau = Equations.Checkpointing.evaluate(outputs=["checkpoint_interval"], checkpoint_time=job.checkpoint_time,
                                               mtbf=job.mtbf).checkpoint_interval
        good = g.evaluate(outputs=["goodput"], checkpoint_interval=tau, checkpoint_time=job.checkpoint_time,
                          restart_time=rel["restart_time"], mtbf=job.mtbf).goodput
        ev.extra.update(goodput=good, mtbf=job.mtbf, checkpoint_interval=tau)
        ev._info_check("goodput", good,
                       f"Goodput: {float(good.m):.3f} (job MTBF {job.mtbf.m_as('h'):.3g} h; a "
                       f"{state.m_as('TB'):.3g} TB checkpoint takes {job.checkpoint_time.m_as('s'):.3g} s, "
                       f"every {tau.m_as('min'):.3g} min (Young); restart {rel['restart_time'].m_as('min'):.3g} min)")
        with_failures = (time_to_train / good.m).to("day")
        ev.extra["time_to_train_with_failures"] = with_failures
        ev._info_check("time_to_train_with_failures", with_failures,
                       f"Time to train with failures: {with_failures.m_as('day'):,.1f} days")

    # -- Level 3 (and the Level 1 power budget)
    def _economics(self, ev: "Evaluation", duration, num_devices, period, fleet=None):
        from ..solvers.sustainability import LIFETIME, SustainabilitySolver, TCOSolver

        econ = self._assumed(ECONOMICS_ASSUMPTIONS)
        hw_kw = {"fleet": fleet} if fleet is not None else {"hardware": self.hardware}
        power = self._assumed(("power",)).get("power")
        if power is not None and self.hardware.get("tdp") is None:
            econ["tdp"] = power  # the device's active power stands in for the TDP it does not publish
        if self.region is None:
            ev.notes.append("no region: Level 3 (energy, carbon, TCO) not evaluated")
            return
        if self.hardware.get("tdp") is None and "tdp" not in econ:
            ev.notes.append(f"{self.hardware.key} publishes no TDP and the scenario assumes no power: Level 3 "
                            f"not evaluated")
            return
        sust_kw = {k: v for k, v in econ.items() if k not in ("unit_price", "electricity_price", "maintenance_rate",
                                                             "facility_rate")}
        s = SustainabilitySolver().solve(**hw_kw, num_devices=num_devices, duration=duration, region=self.region,
                                         datacenter=self.datacenter, utilization=self.duty_cycle, **sust_kw)
        ev.results["sustainability"] = s
        # the idle power is the registry's where it is sourced; otherwise the named assumption is stated
        ev.assumed.extend(a for a in s.assumptions if a.name == "idle_power")
        if "power" in self.targets:
            # the power budget is per device; the carbon power model gives the average device power
            ev._target_check("power", s.power, level=1)
        ev._target_check("energy", s.energy, always=True, label=f"{period} energy")
        ev._target_check("carbon", s.carbon, always=True, label=f"{period} carbon")
        lifetime = self.lifetime if self.lifetime is not None else LIFETIME.value
        tco_duration = duration if period == "Training" else lifetime
        tco_label = "TCO" if period == "Training" else f"TCO ({float(lifetime.m_as('year')):g} yr)"
        try:
            t = TCOSolver().solve(**hw_kw, num_devices=num_devices, duration=tco_duration, region=self.region,
                                  datacenter=self.datacenter, utilization=self.duty_cycle, lifetime=lifetime, **econ)
        except UnderdeterminedError as exc:
            ev._info_check("tco", None, f"{tco_label}: n/a ({exc}; in a scenario: "
                                        f"assumptions=[Assumption('unit_price', Q_(..., 'USD'), source)])")
            return
        ev.results["tco"] = t
        ev._target_check("tco", t.tco, always=True, label=tco_label)


# ---------------------------------------------------------------------------------------- evaluation
@dataclass
class Check:
    """One line of a scorecard.

    Attributes
    ----------
    level : int
        1 feasibility, 2 performance, 3 macro/economics.
    name : str
        Target name (``latency``, ``memory`` ...).
    label : str
        Text label.
    value : Quantity or None
        The computed value [its unit].
    target : Quantity or None
        The limit (None: reported without a target).
    passed : bool or None
        True/False against the target; None when there is no target (information only).
    message : str
        The line's text; a failure says which constraint binds and by how much.
    source : Source or None
        Where the target comes from.
    """

    level: int
    name: str
    label: str
    value: Any
    target: Any
    passed: bool | None
    message: str
    source: Source | None = None

    @property
    def status(self) -> str:
        return {True: "PASS", False: "FAIL", None: "INFO"}[self.passed]

    def to_dict(self) -> dict:
        def q(v):
            if v is None:
                return None
            if isinstance(v, pint.Quantity):
                return {"value": float(v.magnitude), "unit": f"{v.units:~C}"}
            return {"value": float(v), "unit": ""}

        return {"level": self.level, "name": self.name, "label": self.label, "status": self.status,
                "passed": self.passed, "value": q(self.value), "target": q(self.target), "message": self.message,
                "source": str(self.source) if self.source is not None else None}


def _excess(value, target) -> str:
    """How far ``value`` exceeds ``target``, as text ("by 56%" or "by 3.2x")."""
    ratio = float((value / target).m_as(""))
    return f"by {100 * (ratio - 1):.0f}%" if ratio < 10 else f"by {ratio:.3g}x"


class Evaluation:
    """The result of :meth:`Scenario.evaluate`: checks by level, the solver results and the verdict.

    Attributes
    ----------
    scenario : Scenario
    checks : list of Check
    results : dict
        Solver results by role: ``"inference"``, ``"serving"`` or ``"training"``; ``"sustainability"``,
        ``"tco"``.
    notes : list of str
        What could not be evaluated, and why.
    """

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.checks: list[Check] = []
        self.results: dict[str, Any] = {}
        self.notes: list[str] = []
        self.extra: dict[str, Any] = {}
        #: assumptions the solvers filled in for a value the registry does not publish (e.g. idle power)
        self.assumed: list[Assumption] = []

    # -- building
    def _memory_check(self, required, capacity, where, weights=None):
        """Level 1 memory: ``required`` against the device's memory (main memory, or a microcontroller's
        SRAM, as :func:`mlsysim.solvers.checks.memory_capacity_of` says); on a microcontroller that
        publishes flash, also its ``weights`` against the flash they are stored in."""
        from ..solvers.checks import memory_capacity_of

        hw = self.scenario.hardware
        field_used = "memory_capacity"
        if capacity is None:
            capacity, field_used = memory_capacity_of(hw)
        where = f" {where}" if where else ""
        if capacity is None:
            self.checks.append(Check(1, "memory", "Memory", required, None, None,
                                     f"Memory{where}: {_fmt(required)} (device capacity unknown)"))
            return
        kind = "SRAM" if field_used == "sram" else "capacity"
        ok = bool(required.m_as("B") <= capacity.m_as("B"))
        if ok:
            msg = f"Model fits in memory{where} ({_fmt(required)} / {_fmt(capacity)}{' SRAM' * (kind == 'SRAM')})"
        else:
            msg = (f"Model does not fit in memory{where}: {_fmt(required)} exceeds the {_fmt(capacity)} {kind} "
                   f"{_excess(required, capacity)}")
        self.checks.append(Check(1, "memory", "Memory", required, capacity, ok, msg, _source_or_none(hw, field_used)))
        flash = hw.get("flash") if hw.get("memory_capacity") is None else None
        if flash is not None and weights is not None:
            ok = bool(weights.m_as("B") <= flash.m_as("B"))
            msg = (f"Weights fit in flash ({_fmt(weights)} / {_fmt(flash)})" if ok else
                   f"Weights do not fit in flash: {_fmt(weights)} exceeds the {_fmt(flash)} flash "
                   f"{_excess(weights, flash)}")
            self.checks.append(Check(1, "flash", "Flash", weights, flash, ok, msg, _source_or_none(hw, "flash")))

    def _target_check(self, name, value, *, always=False, level=None, label=None):
        lvl, unit, default_label, _ = TARGETS[name]
        level = level or lvl
        label = label or default_label
        tgt = self.scenario.targets.get(name)
        if tgt is None:
            if always:
                self.checks.append(Check(level, name, label, value, None, None, f"{label}: {_fmt(value)}"))
            return
        limit = tgt.value
        ok = bool(value.m_as(unit) <= limit.m_as(unit))
        if ok:
            msg = f"{label}: {_fmt(value)} (Target: {_fmt(limit)})"
        else:
            msg = (f"{label}: {_fmt(value)} (Target: {_fmt(limit)}): {label.lower()} {_fmt(value)} exceeds the "
                   f"{_fmt(limit)} target {_excess(value, limit)}")
        self.checks.append(Check(level, name, label, value, limit, ok, msg, tgt.source))

    def _info_check(self, name, value, message):
        self.checks.append(Check(TARGETS[name][0], name, TARGETS[name][2], value, None, None, message))

    # -- verdict
    @property
    def passed(self) -> bool:
        """True when no check fails (checks without a target do not count)."""
        return all(c.passed is not False for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.passed is False]

    def level(self, n: int) -> list[Check]:
        """The checks of level ``n`` (1, 2 or 3)."""
        return [c for c in self.checks if c.level == n]

    def level_passed(self, n: int) -> bool:
        return all(c.passed is not False for c in self.level(n))

    def check(self, name: str) -> Check:
        """The check of target ``name`` (``"latency"``, ``"memory"``, ``"carbon"`` ...)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise UnknownNameError(f"no check {name!r} in this evaluation; it has {', '.join(c.name for c in self.checks)}")

    # -- output
    def _platform(self) -> str:
        s = self.scenario
        if s.fleet is not None:
            return f"{s.fleet.name} ({s.fleet.num_devices:,} x {s.hardware.key})"
        return s.hardware.key

    def scorecard(self) -> str:
        """The scorecard as text (print it)."""
        s = self.scenario
        lines = [f"=== SYSTEM EVALUATION: {s.name} ===",
                 f"{s.model.name} on {self._platform()}, {s.precision}, {s.mode}"
                 + (f", region {_label(s.region)}" if s.region is not None else "")
                 + (f", {s.fleet_size:,} deployed, duty cycle {s.duty_cycle:.3g}" if s.mode != "training" else "")]
        for n in (1, 2, 3):
            checks = self.level(n)
            head = f"Level {n}: {_LEVEL_TITLES[n]}"
            if not checks:
                lines.append(f"{head:<26}-> [ -- ] not evaluated")
                continue
            if n == 3 and all(c.passed is None for c in checks):
                lines.append(f"{head:<26}-> [INFO] " + " | ".join(c.message for c in checks))
                continue
            for i, c in enumerate(checks):
                lines.append(f"{head if i == 0 else '':<26}-> [{c.status}] {c.message}")
        lines.append(f"Verdict: {'PASS' if self.passed else 'FAIL'}"
                     + ("" if self.passed else f" ({'; '.join(c.label for c in self.failures)})"))
        for note in self.notes:
            lines.append(f"note: {note}")
        for a in self.assumed:
            lines.append(f"assumed: {a.name} = {_fmt(a.value)} ({a.source.citation}): {s.hardware.key} publishes no "
                         f"{a.name}; give the scenario assumptions=[Assumption({a.name!r}, Q_(..., 'W'), source)]")
        return "\n".join(lines)

    def __str__(self):
        return self.scorecard()

    def __repr__(self):
        return self.scorecard()

    def to_dict(self) -> dict:
        """Plain JSON-able data: the scenario, every check, the verdict, the assumptions and sources."""
        s = self.scenario

        def q(v):
            if isinstance(v, pint.Quantity):
                return {"value": float(np.asarray(v.magnitude)), "unit": f"{v.units:~C}"}
            return float(v) if isinstance(v, (int, float, np.floating)) else v

        return {
            "scenario": s.name, "model": s.model.name, "hardware": s.hardware.key,
            "fleet": s.fleet.name if s.fleet is not None else None, "mode": s.mode, "precision": s.precision,
            "region": _label(s.region) if s.region is not None else None, "duty_cycle": s.duty_cycle,
            "fleet_size": s.fleet_size, "passed": self.passed,
            "levels": {str(n): self.level_passed(n) for n in (1, 2, 3)},
            "checks": [c.to_dict() for c in self.checks],
            "extra": {k: q(v) for k, v in self.extra.items()},
            "targets": {k: {**q(t.value), "source": str(t.source)} for k, t in s.targets.items()},
            "assumptions": [{"name": a.name, "value": str(a.value), "source": str(a.source)}
                            for a in (*s.assumptions, *s.hardware_assumptions, *self.assumed)],
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        e = html.escape
        rows = []
        for c in self.checks:
            color = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INFO": "#57606a"}[c.status]
            rows.append(f"<tr><td>{c.level}: {e(_LEVEL_TITLES[c.level])}</td>"
                        f"<td style='color:{color};font-weight:bold'>{c.status}</td><td>{e(c.label)}</td>"
                        f"<td>{e(_fmt(c.value))}</td><td>{e(_fmt(c.target)) if c.target is not None else ''}</td>"
                        f"<td>{e(c.message)}</td></tr>")
        verdict = "PASS" if self.passed else "FAIL"
        return (f"<div><b>System evaluation: {e(self.scenario.name)}</b> "
                f"({e(self.scenario.model.name)} on {e(self._platform())}) &mdash; <b>{verdict}</b>"
                "<table><thead><tr><th>Level</th><th>Status</th><th>Quantity</th><th>Value</th><th>Target</th>"
                f"<th>Detail</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
                + "".join(f"<p><i>note: {e(n)}</i></p>" for n in self.notes) + "</div>")


# ---------------------------------------------------------------------------------------- sources
MLPERF_INFERENCE_CONF = Source(
    "MLCommons, MLPerf Inference, loadgen/mlperf.conf (Server-scenario latency constraints, p99)",
    kind="benchmark", year=2024, locator="llama3_1-8b interactive: TTFT 500 ms, TPOT 30 ms",
    url="https://github.com/mlcommons/inference/blob/master/loadgen/mlperf.conf")
LLAMA3_PAPER = cite(
    DUBEY_2024, "Sec. 3 (405B parameters pre-trained on 15.6T tokens; sequence length 8,192; 16M-token batches); "
            "Sec. 3.3 (16K H100 GPUs)")
SPEECH_COMMANDS = Source(
    "P. Warden, 'Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition', arXiv:1804.03209",
    kind="paper", year=2018, locator="Sec. 5 (one-second utterances)", url="https://arxiv.org/abs/1804.03209")
MLPERF_TINY_REF = Source(
    "MLCommons, MLPerf Tiny v0.5 closed reference results, NUCLEO-L4R5ZI (published_cases.json "
    "mlperf_tiny_v05_reference)", kind="benchmark", year=2021,
    locator="results/Nucleo-L4R5ZI/{kws,vww}/energy: 40.8 mW (KWS), 40.3 mW (VWW) average power",
    url="https://github.com/mlcommons/tiny_results_v0.5")

EDGE_PUE = Assumption("pue", 1.0, assumption(
    "no datacentre around an edge device",
    "the device sits in a home, vehicle or phone, not in a datacentre: no cooling or power-distribution "
    "overhead is charged (PUE = 1)"), "power usage effectiveness of an edge deployment")
EDGE_FACILITY = Assumption("facility_rate", Q_(0.0, "USD/W/year"), assumption(
    "no datacentre facility cost for an edge device",
    "the datacentre facility charge per provisioned watt does not apply to a device in a home, vehicle or "
    "phone"), "facility overhead per watt")
EDGE_MAINTENANCE = Assumption("maintenance_rate", Q_(0.0, "1/year"), assumption(
    "no maintenance contract for consumer or embedded devices",
    "embedded and consumer devices are replaced, not serviced under a contract; the datacentre maintenance "
    "rate does not apply"), "annual maintenance / purchase price")
EDGE_ECONOMICS = (EDGE_PUE, EDGE_FACILITY, EDGE_MAINTENANCE)


def _kernel_efficiency(name: str, applied: str) -> Assumption:
    """A scenario's ``compute_efficiency`` from one of ``mlsysim.hardware.tiny``'s fitted kernel efficiencies, its
    source note saying how it is applied here."""
    from ..hardware import tiny

    a = getattr(tiny, name)
    return Assumption("compute_efficiency", a.value, derived(a.source.citation, f"{name} ({a.source.note}); {applied}"),
                      a.description)


def _tflm_efficiency():
    return _kernel_efficiency("TFLM_REFERENCE_EFFICIENCY", "applied to this MCU's int8 peak as the efficiency of TFLM "
                              "kernels on a microcontroller (fitted on a Cortex-M4, so an estimate elsewhere)")


def _espnn_efficiency():
    return _kernel_efficiency("ESPNN_EFFICIENCY", "TFLite Micro with ESP-NN on the ESP32-S3, against its int8 peak")


# ---------------------------------------------------------------------------------------- registry
def _doorbell() -> Scenario:
    esp_power = Assumption("power", Q_(0.1, "W"), assumption(
        "ESP32-S3 active power during inference (planning value)",
        "the hardware registry publishes no ESP32 power; a dual-core 240 MHz MCU with the radio off draws tens "
        "of mA at 3.3 V, so 0.1 W (about 30 mA at 3.3 V) is a round planning value, not a measurement; "
        "override with hardware_assumptions=[Assumption('power', Q_(..., 'W'), source)]"),
        "average device power while running inference")
    esp_price = Assumption("unit_price", Q_(5.0, "USD"), assumption(
        "ESP32-S3 module unit price (planning value)",
        "Espressif publishes no list price; single ESP32-S3-WROOM modules sell for a few US dollars at "
        "distributors, so USD 5 is a round planning value for the compute module of the doorbell (camera, "
        "battery and enclosure not included); override with hardware_assumptions=[Assumption('unit_price', ...)]"),
        "purchase price of one device")
    target_src = assumption(
        "smart-doorbell design targets",
        "200 ms: the person detector must answer well within a second of someone stepping into view so the "
        "camera can start recording and notify; 20 mW average: a battery doorbell (a few Wh of battery, "
        "months between charges) leaves a budget of the order of tens of mW for vision; planning values")
    return Scenario(
        name="Smart Doorbell", model="MobileNetV1_VWW", hardware="ESP32", precision="int8", batch_size=1,
        targets={"latency": Q_(200, "ms"), "power": Q_(20, "mW")}, region="US_Avg", duty_cycle=0.1,
        fleet_size=1, lifetime=Q_(5, "year"), source=target_src,
        description="person detection (MLPerf Tiny visual wake words) on an ESP32-S3 battery doorbell, TFLite "
                    "Micro with Espressif's ESP-NN kernels",
        assumptions=EDGE_ECONOMICS, hardware_assumptions=(_espnn_efficiency(), esp_power, esp_price))


def _keyword_spotting() -> Scenario:
    power = Assumption("power", Q_(40.8, "mW"), derived(
        MLPERF_TINY_REF.short(),
        "the MLPerf Tiny v0.5 reference board (Cortex-M4F at 120 MHz) averaged 40.8 mW during keyword spotting; "
        "the Nano 33 BLE's Cortex-M4F runs at 64 MHz, so this measured figure is kept as an upper value (the "
        "hardware registry publishes no power for the board)"),
        "average device power while running inference")
    return Scenario(
        name="Keyword Spotting", model="DSCNN_KWS", hardware="Arduino", precision="int8",
        targets={"latency": Sourced(Q_(1, "s"), derived(
            SPEECH_COMMANDS.short(),
            "the DS-CNN classifies one-second audio windows (Speech Commands); with non-overlapping windows "
            "each inference must finish before the next window arrives, within 1 s"))},
        region="US_Avg", duty_cycle=1.0, fleet_size=1, lifetime=Q_(5, "year"),
        source=SPEECH_COMMANDS, description="always-on wake-word detection (MLPerf Tiny KWS) on an Arduino Nano 33 BLE",
        assumptions=EDGE_ECONOMICS, hardware_assumptions=(_tflm_efficiency(), power))


def _autodrive() -> Scenario:
    target_src = assumption(
        "autonomous-driving perception budget",
        "cameras at 30 frames/s leave 33 ms per frame for the whole perception-planning-control loop; the "
        "perception network gets 20 ms of it, inside the 10-30 ms range used for planning such systems; eight "
        "cameras are processed as one batch (the camera count of Tesla's HW3 vehicles, Talpes et al. 2020); "
        "planning values")
    duty = assumption("vehicle duty cycle",
                      "a passenger car is driven about one hour per day: 1/24 = 0.042 of the time; a planning "
                      "value")
    return Scenario(
        name="Autonomous Driving Perception", model="ResNet50", hardware="Jetson", precision="int8", batch_size=8,
        targets={"latency": Q_(20, "ms")}, region="US_Avg", duty_cycle=round(1 / 24, 4), fleet_size=1000,
        lifetime=Q_(8, "year"), source=target_src,
        description="multi-camera perception backbone (ResNet-50, 8 cameras) on a Jetson AGX Orin, 1000 vehicles "
                    f"[duty cycle: {duty.note}; lifetime 8 years: a planning value for a vehicle computer]",
        assumptions=EDGE_ECONOMICS)


def _chatbot() -> Scenario:
    shape = assumption("chat request shape and concurrency",
                       "a chat turn of 1,024 prompt tokens and 256 generated tokens, 16 conversations decoded "
                       "together; one GPU busy 60 % of the time; planning values")
    return Scenario(
        name="Chatbot (interactive)", model="Llama3_8B", hardware="H100", precision="fp16", batch_size=16,
        prompt_tokens=1024, output_tokens=256,
        targets={"ttft": Q_(500, "ms"), "tpot": Q_(30, "ms")}, region="US_Avg", duty_cycle=0.6, fleet_size=1,
        source=MLPERF_INFERENCE_CONF,
        description=f"Llama 3 8B served on one H100 against MLPerf's interactive limits [{shape.note}]")


def _on_device_llm() -> Scenario:
    int4 = Assumption("bytes_per_element", Q_(0.5, "byte"), derived(
        "4-bit weight-only quantization", "weights stored in 4 bits = 0.5 byte per parameter (the usual format "
        "for an 8B model on a phone); arithmetic at the device's int8 rate"), "bytes per stored weight")
    phone_power = Assumption("power", Q_(5, "W"), assumption(
        "phone SoC power under sustained generation (planning value)",
        "Apple publishes no power figure for the A17 Pro; a handheld phone can dissipate only a few watts "
        "continuously before it throttles, so 5 W is a round planning value, not a measurement"),
        "average device power while generating")
    target_src = assumption(
        "on-device assistant targets",
        "TPOT 100 ms = 10 tokens/s, faster than people read; TTFT 1 s for a 512-token prompt keeps the "
        "assistant responsive; the phone generates 5 % of the day; planning values")
    return Scenario(
        name="On-device LLM", model="Llama3_8B", hardware="iPhone", precision="int8", batch_size=1,
        prompt_tokens=512, output_tokens=256, targets={"ttft": Q_(1, "s"), "tpot": Q_(100, "ms")},
        region="US_Avg", duty_cycle=0.05, fleet_size=1, lifetime=Q_(3, "year"), source=target_src,
        description="Llama 3 8B with 4-bit weights on an iPhone 15 Pro (A17 Pro)",
        assumptions=(int4, *EDGE_ECONOMICS), hardware_assumptions=(phone_power,))


def _frontier() -> Scenario:
    target = assumption(
        "frontier pre-training schedule",
        "90 days: a frontier pre-training run is planned to finish within about a quarter (the Llama 3 paper "
        "reports a 54-day snapshot of its 405B pre-training on 16K H100s); a planning value")
    # Meta's own layout (Dubey et al. 2024, 'The Llama 3 Herd of Models', Table 4, 16K-GPU row): TP 8, CP 1,
    # PP 16 over 126 layers (uneven: one layer fewer on the first and last stages, Sec. 3.3.2), DP 128, sequence
    # 8,192, 16M tokens per batch = 2,048 sequences. Not published, assumed: micro-batch 1; the interleaved
    # schedule (Sec. 3.3.2) at v = 4 (Megatron-LM's interleaved runs, Narayanan et al. 2021); full recomputation
    # (selective does not fit 80 GiB in this model); ZeRO-1 sharded optimizer; fused (flash) attention, no dropout.
    interruptions = cite(DUBEY_2024, "Sec. 3.3.4, Table 5: 419 unexpected interruptions in a 54-day snapshot on "
                                     "16,384 GPUs")
    storage = cite(DUBEY_2024, "Sec. 3.3.1 (Tectonic: sustained throughput 2 TB/s, peak 7 TB/s)")
    # per-device MTBF implied by the snapshot: 54 days x 24 h / 419 interruptions = 3.09 h for the job; x 16,384
    reliability = [
        Assumption("device_mtbf", Q_(54 * 24 / 419 * 16384, "h"), interruptions,
                   "per-GPU MTBF implied by Meta's interruptions (job MTBF 3.09 h x 16,384 GPUs)"),
        Assumption("storage_bandwidth", Q_(2, "TB/s"), storage, "sustained checkpoint write bandwidth"),
        Assumption("restart_time", Q_(10, "min"), assumption(
            "frontier restart time", "10 min to detect a failure, reschedule and reload the last checkpoint: a "
            "planning value (Meta reports no restart time; Sec. 3.3.4 describes automated recovery)")),
    ]
    layout = dict(tp=8, cp=1, pp=16, dp=128, global_batch=2048, seq_len=8192, micro_batch_size=1, zero_stage=1,
                  recompute="full", sequence_parallel=True, pipeline_interleave=4, attention_kernel="flash",
                  dropout=False)
    return Scenario(
        name="Frontier LLM Training", model="Llama3_405B", fleet="Llama3_Cluster", precision="bf16",
        training_tokens=15.6e12, layout=layout, targets={"time_to_train": Q_(90, "day")}, region="US_Avg",
        datacenter="Hyperscale", assumptions=reliability,
        duty_cycle=1.0, source=target,
        description="Llama 3 405B pre-trained on 15.6T tokens on 16,384 H100 with Meta's layout (Llama 3 paper, "
                    "Table 4): TP 8, CP 1, PP 16 over 126 layers (uneven stages), DP 128; 2,048 x 8,192 tokens "
                    "= 16M tokens per batch; per-operation model on the calibrated H100 laws; the scorecard "
                    "reports MFU (Meta: 38-43%)")


Applications = Registry("application")
for _name, _factory in {"Doorbell": _doorbell, "KeywordSpotting": _keyword_spotting, "AutoDrive": _autodrive,
                        "Chatbot": _chatbot, "OnDeviceLLM": _on_device_llm, "Frontier": _frontier}.items():
    Applications.register(_name, factory=_factory)

__all__ = ["Scenario", "Evaluation", "Check", "Applications", "TARGETS", "EDGE_ECONOMICS"]
