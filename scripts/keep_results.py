"""Keep a run's results with the code: ``python scripts/keep_results.py [FIGURES [EXECUTED]]`` (``make keep``).

Keeps ``make reproduce``'s datasets, trained runs' table and executed notebooks (FIGURES, default ``figures``;
EXECUTED, default ``build/notebooks``) in ``results/<profile>/`` (:func:`greenaolo.kept.keep`; the quick
profile without notebooks: its datasets are the expectations ``make verify`` compares a quick run with). The
README's figure table is rendered from ``results/full`` (``make readme``) and checked against it by
``tests/test_kept_results.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from greenaolo.io import read_dataset  # noqa: E402
from greenaolo.kept import KeptError, keep  # noqa: E402


def main(figures: str = "figures", executed: str = "build/notebooks") -> None:
    first = next(iter(sorted((Path(figures) / "data").glob("*.nc"))), None)
    if first is None:
        raise SystemExit(f"no datasets in {figures}/data: run `make reproduce` first")
    profile = read_dataset(first).attrs.get("profile")
    try:
        folder = keep(figures, executed, ROOT / "results", notebooks=profile == "full")
    except KeptError as exc:
        raise SystemExit(str(exc)) from None
    print(f"kept {folder}")


if __name__ == "__main__":
    main(*sys.argv[1:])
