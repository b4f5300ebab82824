"""Checks of user-given values: every message names the owner and parameter, the value and the valid range.

Numbers may be any real number (Python's or numpy's: ``np.float32(1e6)``, ``np.int64(20)``) and come back
as Python ``float`` or ``int``; NaN and infinities are refused. Where the meaning needs an integer or a
boolean, only an integer or a boolean is accepted, and a wrong type is a :class:`TypeError`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["boolean", "number"]


def number(owner: str, name: str, value: Any, low: float, high: float, *, integer: bool = False,
           unit: str = "", error: type[ValueError] = ValueError) -> int | float:
    """``value`` as a Python ``int`` (``integer``) or ``float``, checked to lie in ``[low, high]``.

    :param owner: what the value belongs to (``"Extensions"``), for the message; ``""`` for none.
    :param error: the ValueError subclass raised for a value out of range.
    :raises TypeError: text, a boolean, another type, or a non-integer where an integer is needed.
    """
    kind = "an integer" if integer else "a number"
    where = f"[{low:g}, {high:g}]" + (f" {unit}" if unit else "")
    label = f"{owner}.{name}={value!r}" if owner else f"{name}={value!r}"
    if isinstance(value, str):
        raise TypeError(f"{label} is text, not a number: expected {kind} in {where}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{label} has type {type(value).__name__}: expected {kind} in {where}")
    if integer and not isinstance(value, numbers.Integral):
        raise TypeError(f"{label} is not an integer: expected {kind} in {where}")
    converted = int(value) if integer else float(value)
    if not math.isfinite(converted) or not low <= converted <= high:
        raise error(f"{label} is out of range: expected {kind} in {where}")
    return converted


def boolean(owner: str, name: str, value: Any) -> bool:
    """``value`` if it is a boolean (Python's or numpy's); anything else, ``"no"`` included, is a TypeError."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{owner}.{name}={value!r} has type {type(value).__name__}: expected True or False")
