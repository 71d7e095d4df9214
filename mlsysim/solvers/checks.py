"""Layout checks shared by the solvers, each written once.

Domain-neutral checks (a count is a whole number >= 1) live with the variable domains in
:func:`mlsysim.core.variables.check_count`; checks that need a model's architecture live here.
"""
from __future__ import annotations

from typing import Any

from ..core.errors import DomainError


def tp_problem(model: Any, tp: int) -> str | None:
    """Why tensor-parallel degree ``tp`` cannot split ``model``'s attention, or None if it can.

    Tensor parallelism (Megatron-LM, Shoeybi et al. 2019, Sec. 3) gives each of the ``tp`` devices
    ``num_heads / tp`` attention heads, so ``tp`` must divide ``num_heads``. With grouped-query attention
    the ``num_kv_heads`` KV heads are either split (``tp`` divides them) or replicated (they divide ``tp``).
    """
    tp = int(tp)
    if tp <= 1:
        return None
    heads = getattr(model, "num_heads", None)
    name = getattr(model, "name", None) or "the model"
    if heads is not None and heads % tp:
        return f"tp = {tp} does not divide {name}'s {heads} attention heads (tensor parallelism splits heads)"
    kv = getattr(model, "num_kv_heads", None)
    if kv is not None and kv % tp and tp % kv:
        return f"tp = {tp} and {name}'s {kv} KV heads: neither divides the other"
    return None


def valid_tp(model: Any, tp: int) -> bool:
    """Whether ``tp`` splits ``model``'s attention heads (see :func:`tp_problem`)."""
    return tp_problem(model, tp) is None


def check_tp(model: Any, tp: int, *, arg: str = "tp") -> None:
    """Raise :class:`DomainError` naming ``arg`` if ``tp`` cannot split ``model``'s attention heads."""
    why = tp_problem(model, tp)
    if why is not None:
        raise DomainError(why if arg == "tp" else why.replace("tp = ", f"{arg} = ", 1))


def memory_capacity_of(hardware: Any):
    """``(capacity, field)``: the memory a model must fit in on ``hardware``: its main-memory
    ``memory_capacity`` (HBM/DRAM), or, for a microcontroller (category ``"tiny"``) that publishes none,
    its on-chip ``sram``; ``(None, None)`` where the device publishes neither."""
    get = getattr(hardware, "get", None)
    if get is None:
        return None, None
    cap = get("memory_capacity")
    if cap is not None:
        return cap, "memory_capacity"
    if getattr(hardware, "category", "") == "tiny" and get("sram") is not None:
        return get("sram"), "sram"
    return None, None


__all__ = ["check_tp", "memory_capacity_of", "tp_problem", "valid_tp"]
