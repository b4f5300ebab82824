"""The packages' public names, imported on first use: the one ``__getattr__``/``__dir__`` pair that
``greenaolo``, ``greenaolo.greenllm`` and ``greenaolo.aolo`` share (PEP 562), so importing a package stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(module: str, namespace: dict[str, Any],
                    public: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` for the names ``public`` maps to the modules holding them.

    :param module: the package's ``__name__`` (for the error message).
    :param namespace: its ``globals()``: a name imported once is stored there, so later lookups are plain.
    """

    def __getattr__(name: str) -> Any:
        if name not in public:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(public[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
