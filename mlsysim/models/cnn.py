"""Convolutional workloads: published parameter and multiply-accumulate totals, costs by equation.

For CNNs the parameter and MAC totals are published per architecture and input size (torchvision
tables, papers), so they are stored as sourced values rather than derived; FLOPs, weight bytes and
activation bytes are computed by ``Equations.CNNCost``.
"""
from __future__ import annotations

from ..core.equation_sets import Equations
from ..core.equation_sets.transformer import FLOPS_PER_MAC
from ..core.errors import DomainError, UnknownVariableError
from ..core.sources import Source, Sourced
from ._common import check_count, check_positive, check_source, element_bytes, fmt_count


class CNNWorkload:
    """A CNN described by its published totals.

    Parameters
    ----------
    name : str
        Display name.
    parameters : float or Sourced
        Parameter count [1].
    macs : float or Sourced
        Multiply-accumulates of one inference at ``input_shape`` [1] (torchvision's "GFLOPS" column
        counts MACs).
    input_shape : tuple of int
        Input tensor shape the MACs refer to, e.g. ``(3, 224, 224)``.
    peak_activation_elements : int or Sourced, optional
        Elements of the largest activation tensor [1] (for activation memory).
    source : Source, optional
        Source of the values given as plain numbers; defaults to a Source of kind ``assumption``.
    """

    _FIELDS = ("parameters", "macs", "peak_activation_elements")

    def __init__(self, *, name: str, parameters, macs, input_shape, peak_activation_elements=None,
                 source: Source | None = None):
        if not isinstance(name, str) or not name.strip():
            raise DomainError(f"CNNWorkload: name must be a non-empty string; got {name!r}")
        own = f"CNNWorkload {name!r}"
        self.name = name
        self.source = check_source(source, own)
        self._values: dict[str, Sourced] = {}
        for field, value in (("parameters", parameters), ("macs", macs),
                             ("peak_activation_elements", peak_activation_elements)):
            if value is None:
                continue
            if isinstance(value, Sourced):
                v, src = value.value, value.source
            else:
                v, src = value, self.source
            if field == "peak_activation_elements":
                v = check_count(field, v, owner=own)
            else:
                v = check_positive(field, v, owner=own)
            self._values[field] = Sourced(v, src)
        if not isinstance(input_shape, (tuple, list)) or not input_shape:
            raise DomainError(f"{own}: input_shape must be a tuple of whole numbers such as (3, 224, 224); "
                              f"got {input_shape!r}")
        self.input_shape = tuple(check_count("input_shape", d, owner=own) for d in input_shape)
        self._cache: dict = {}

    @property
    def parameters(self) -> float:
        """Parameter count [1] (published)."""
        return self._values["parameters"].value

    @property
    def macs(self) -> float:
        """Multiply-accumulates per inference at ``input_shape`` [1] (published)."""
        return self._values["macs"].value

    @property
    def peak_activation_elements(self):
        """Elements of the largest activation tensor [1], or None when not given."""
        s = self._values.get("peak_activation_elements")
        return None if s is None else s.value

    def source_of(self, field: str) -> Source:
        """Source of ``parameters``, ``macs`` or ``peak_activation_elements``."""
        if field not in self._values:
            raise UnknownVariableError(f"{self.name} has no sourced field {field!r}; it has {', '.join(self._values)}")
        return self._values[field].source

    def architecture(self) -> dict:
        """``{equation variable: number}`` for ``Equations.CNNCost``."""
        return {k: s.value for k, s in self._values.items()}

    def knowns_for(self, equation_set, **extra) -> dict:
        """Knowns of ``equation_set`` (object or registry name) from this model, updated with ``extra``."""
        eqset = Equations[equation_set] if isinstance(equation_set, str) else equation_set
        base = dict(self.architecture())
        base["flops_per_mac"] = FLOPS_PER_MAC
        base.update(extra)
        return {k: v for k, v in base.items() if k in eqset.inputs}

    def _computed(self, output, **extra):
        key = (output, tuple(sorted((k, (float(v.magnitude), str(v.units))) for k, v in extra.items())))
        if key not in self._cache:
            eqset = Equations.CNNCost
            self._cache[key] = eqset.evaluate(outputs=[output], **self.knowns_for(eqset, **extra))[output]
        return self._cache[key]

    @property
    def flops(self):
        """FLOPs of one inference [FLOP]: 2 per multiply-accumulate (``Equations.CNNCost``)."""
        return self._computed("flops")

    def weight_bytes(self, precision="int8"):
        """Bytes of the weights at ``precision`` [byte]."""
        return self._computed("weight_bytes", bytes_per_element=element_bytes(precision))

    def activation_bytes(self, precision="int8"):
        """Bytes of the largest activation tensor at ``precision`` [byte]."""
        if "peak_activation_elements" not in self._values:
            raise DomainError(f"{self.name}: no peak_activation_elements was given, so activation_bytes is unknown")
        return self._computed("activation_bytes", bytes_per_element=element_bytes(precision))

    def __repr__(self):
        return (f"<CNNWorkload {self.name}: {fmt_count(self.parameters)} params, {fmt_count(self.macs)} MACs at "
                f"{'x'.join(map(str, self.input_shape))}>")
