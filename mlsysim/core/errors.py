"""The mlsysim exception hierarchy: every error a user can trigger is an :class:`MlsysimError`.

Messages name the input, the value given and what is expected.
"""
from __future__ import annotations


class MlsysimError(Exception):
    """Base class of every error mlsysim raises on purpose."""


class UnitError(MlsysimError, TypeError):
    """A value has the wrong unit (dimension), or a unit string cannot be parsed."""


class DomainError(MlsysimError, ValueError):
    """A value is outside its variable's domain (negative, zero, NaN, infinite, not an integer, > 1 ...)."""


class UnknownVariableError(MlsysimError, KeyError):
    """A keyword names no variable of the equation set (or of the nomenclature)."""

    def __str__(self):  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownNameError(MlsysimError, KeyError):
    """A registry has no entry of that name (the message lists close matches)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class UnderdeterminedError(MlsysimError, ValueError):
    """Not enough knowns were given to compute or solve what was asked."""


class MissingValueError(UnderdeterminedError, AttributeError):
    """A registry entry publishes no value for a field that was asked for (e.g. a device without a
    ``memory_capacity``). An ``AttributeError`` too, so ``hasattr``/``getattr(..., default)`` keep working."""


class OverdeterminedError(MlsysimError, ValueError):
    """More was given than the relation allows (e.g. a derived value and all its inputs, disagreeing)."""


class InfeasibleError(MlsysimError, ValueError):
    """The target cannot be met by any value of the unknown; ``binding`` names the constraint that binds."""

    def __init__(self, message: str, binding: str | None = None, floor=None):
        super().__init__(message)
        self.binding = binding
        self.floor = floor


class SourceError(MlsysimError, ValueError):
    """A value or equation was created without a proper :class:`~mlsysim.core.sources.Source`."""


class DimensionError(MlsysimError, TypeError):
    """An equation is dimensionally inconsistent; the message names the offending term."""


class SolveError(MlsysimError, RuntimeError):
    """Neither the symbolic nor the numeric solver could invert the relation."""


class OptionError(MlsysimError, ValueError):
    """An option (a method name, a mode) is not one of its allowed values; the message lists them."""


class DefinitionError(MlsysimError, ValueError):
    """An equation or equation set is ill-formed (duplicate key, a cycle, a display form that differs)."""


__all__ = [n for n in dir() if n.endswith("Error")]
