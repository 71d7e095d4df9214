"""A small registry: attribute and item access by name, lazy construction, close-match errors."""
from __future__ import annotations

import difflib
from typing import Any, Callable

from .errors import UnknownNameError


class Registry:
    """Entries by name. ``reg.H100`` / ``reg["H100"]`` / ``reg.get("h100")`` (case-insensitive).

    Entries may be registered as factories (built on first access, so import stays cheap).
    Unknown names raise :class:`UnknownNameError` listing close matches.
    """

    def __init__(self, kind: str):
        self._kind = kind
        self._items: dict[str, Any] = {}
        self._factories: dict[str, Callable[[], Any]] = {}
        self._order: list[str] = []  # registration order, stable whatever is built first

    def register(self, name: str, item: Any = None, *, factory: Callable[[], Any] | None = None):
        if name in self._items or name in self._factories:
            raise ValueError(f"{self._kind} registry already has {name!r}")
        if factory is not None:
            self._factories[name] = factory
        else:
            self._items[name] = item
        self._order.append(name)
        return item

    def names(self) -> list[str]:
        """Entry names in registration order."""
        return list(self._order)

    def get(self, name: str) -> Any:
        if not isinstance(name, str):
            raise UnknownNameError(f"{self._kind} names are strings; got {name!r}")
        if name in self._items:
            return self._items[name]
        if name in self._factories:
            item = self._factories.pop(name)()
            self._items[name] = item
            return item
        norm = {n.lower().replace("-", "_").replace(" ", "_"): n for n in self.names()}
        key = name.lower().replace("-", "_").replace(" ", "_")
        if key in norm:
            return self.get(norm[key])
        close = difflib.get_close_matches(name, self.names(), n=5, cutoff=0.5)
        if not close:
            close = difflib.get_close_matches(key, list(norm), n=5, cutoff=0.5)
            close = [norm[c] for c in close]
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(self.names())}"
        raise UnknownNameError(f"unknown {self._kind} {name!r}{hint}")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.get(name)
        except UnknownNameError as exc:
            raise AttributeError(str(exc)) from None

    def __getitem__(self, name: str):
        return self.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._items or name in self._factories

    def __iter__(self):
        for n in self.names():
            yield n

    def items(self):
        return [(n, self.get(n)) for n in self.names()]

    def __len__(self):
        return len(self.names())

    def __dir__(self):
        return list(super().__dir__()) + self.names()

    def __repr__(self):
        return f"<{self._kind} registry: {', '.join(self.names())}>"
