"""A small name -> factory registry with "did you mean ...?" errors (timm / pyiqa style)."""
from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterator, TypeVar

from textif.core.errors import TextIFError

T = TypeVar("T")


class UnknownNameError(TextIFError, KeyError):
    """Raised for a name that is not in a registry; the message suggests close names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Maps lower-case names to objects (usually factories).

    >>> models = Registry("model")
    >>> @models.register("textif-small")
    ... def small(): ...
    >>> models.get("textif-smal")
    Traceback (most recent call last):
    ...
    textif.core.registry.UnknownNameError: unknown model 'textif-smal'; did you mean 'textif-small'? ...
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        key = name.lower()

        def deco(obj: T) -> T:
            if key in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[key] = obj
            return obj

        return deco

    def add(self, name: str, obj: T) -> T:
        return self.register(name)(obj)

    def get(self, name: str) -> T:
        key = str(name).lower()
        if key in self._items:
            return self._items[key]
        close = difflib.get_close_matches(key, self._items.keys(), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(
            f"unknown {self.kind} {name!r}{hint} (available: {', '.join(sorted(self._items))})"
        )

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
