"""Checks of user-given values and files: every message names the owner and parameter (or the file), the value
and the valid range (or the line).

Numbers may be any real number (Python's or numpy's: ``np.float32(1e6)``, ``np.int64(20)``) and come back
as Python ``float`` or ``int``; NaN and infinities are refused. Where the meaning needs an integer or a
boolean, only an integer or a boolean is accepted, and a wrong type is a :class:`TypeError`.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any

__all__ = ["boolean", "number", "parse_yaml", "read_yaml"]


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


def read_yaml(path: str | os.PathLike, error: type[ValueError] = ValueError) -> Any:
    """The parsed content of a YAML file; an unreadable file or a syntax error is one ``error`` naming the file
    (a folder, a missing file, not UTF-8, or the line and column of the syntax error)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise error(f"{path} is a folder, not a YAML file") from None
    except FileNotFoundError:
        raise error(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise error(f"{path} is not a UTF-8 text file") from None
    except OSError as err:
        raise error(f"{path} cannot be read: {err.strerror}") from None
    return parse_yaml(text, str(path), error)


def parse_yaml(text: str, source: str, error: type[ValueError] = ValueError) -> Any:
    """``text`` parsed as YAML; a syntax error is one ``error`` naming ``source``, the line and the column."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise error(f"{source}:{where}: not valid YAML ({problem})") from None
