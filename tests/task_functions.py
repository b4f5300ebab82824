"""Module-level task functions for tests/test_tasks.py (Dask pickles functions by reference, so workers and
a killed subprocess must import them by the same name)."""

from __future__ import annotations

import os
import time

import numpy as np


def noisy_point(x: float, seed: int) -> dict:
    """Numbers whose last bits matter: a seeded draw, its sum, an array and a string."""
    draws = np.random.default_rng(seed).standard_normal(5) * x
    return {"total": float(draws.sum()), "draws": draws, "label": f"x={x}", "count": int(seed)}


def fails_at(x: float, bad: float) -> dict:
    if x == bad:
        raise ZeroDivisionError(f"point x={x} is broken on purpose")
    return {"y": x * 2.0}


def slow_logged(x: int, log: str, seconds: float) -> dict:
    """Sleep, then append ``x`` to ``log``: how many times each point really ran."""
    time.sleep(seconds)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{x} {os.getpid()}\n")
    return {"y": float(x) ** 2}
