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

__all__ = ["TooLargeError", "boolean", "env_flag", "memory_bound", "memory_guard", "number", "parse_yaml", "read_yaml"]


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


#: The most memory one build may plan to use: half of the machine's (the rest is the OS's, the notebook's and
#: the solver's working space). Sizes above it are refused before anything is allocated.
MEMORY_FRACTION = 0.5


class TooLargeError(ValueError):
    """A size whose estimated memory exceeds :func:`memory_bound`: refused before allocating."""


def memory_bound() -> int:
    """:data:`MEMORY_FRACTION` of this machine's physical memory, in bytes."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 16 GiB
        total = 16 * 2**30
    return int(total * MEMORY_FRACTION)


def memory_guard(what: str, estimate: float, advice: str) -> None:
    """Refuse ``what`` when its estimated memory exceeds :func:`memory_bound`, with the estimate in the message.

    :param what: the thing being built, with its sizes (``"synthetic_scenario(10000, 10000, 8760)"``).
    :param estimate: its estimated peak memory (bytes).
    :param advice: what to do instead (one clause).
    :raises TooLargeError: above the bound.
    """
    bound = memory_bound()
    if estimate > bound:
        raise TooLargeError(
            f"{what} would need about {estimate / 2**30:,.1f} GiB of memory, above the bound of "
            f"{bound / 2**30:,.1f} GiB ({MEMORY_FRACTION:.0%} of this machine's memory): {advice}")


def env_flag(name: str, default: bool) -> bool:
    """An on/off environment variable (``1``/``0``, ``true``/``false``, ``yes``/``no``, ``on``/``off``); unset
    means ``default``. :raises ValueError: naming the variable and its value."""
    value = os.environ.get(name)
    if value is None:
        return default
    text = value.strip().lower()
    if text not in ("0", "1", "false", "true", "no", "yes", "off", "on"):
        raise ValueError(f"{name}={text!r} is invalid: expected 0 or 1")
    return text in ("1", "true", "yes", "on")

