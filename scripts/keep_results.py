"""Keep a run's results with the code: ``python scripts/keep_results.py [FIGURES [EXECUTED]]`` (``make keep``).

Keeps ``make reproduce``'s datasets, trained runs' table and executed notebooks (FIGURES, default ``figures``;
EXECUTED, default ``build/notebooks``) in ``results/<profile>/`` (:func:`greenaolo.kept.keep`; the quick
profile without notebooks). After a full run it also writes ``results/greenllm_measured_full.csv.gz`` (per day
and comparison) and ``results/greenllm_measured_full_sensitivity.csv`` (demand splits, movable shares) from
``greenllm_measured.nc``. The README's numbers are recomputed from them by ``tests/test_kept_results.py``.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from greenaolo.greenllm.measured_year import kept_sensitivity, kept_table  # noqa: E402
from greenaolo.io import read_dataset  # noqa: E402
from greenaolo.kept import KeptError, keep  # noqa: E402


def main(figures: str = "figures", executed: str = "build/notebooks") -> None:
    ds = read_dataset(Path(figures) / "data" / "greenllm_measured.nc")
    try:
        folder = keep(figures, executed, ROOT / "results", notebooks=ds.attrs.get("profile") == "full")
    except KeptError as exc:
        raise SystemExit(str(exc)) from None
    print(f"kept {folder}")
    if ds.attrs.get("profile") != "full":
        return
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    table = kept_table(ds)
    table.attrs = {}
    text = table.to_csv(index=False, lineterminator="\n", float_format="%.17g")
    with open(out / "greenllm_measured_full.csv.gz", "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                                                 mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())
    kept_sensitivity(ds).to_csv(out / "greenllm_measured_full_sensitivity.csv", index=False, lineterminator="\n",
                                float_format="%.17g")
    (out / "greenllm_measured_full.json").write_text(
        '{"commit": "%s", "created": "%s", "llm": "%s", "gpu": "%s"}\n'
        % (ds.attrs.get("git_commit", ""), ds.attrs.get("created", ""), ds.attrs.get("llm"), ds.attrs.get("gpu")))
    print(f"kept {len(table):,} rows in {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
