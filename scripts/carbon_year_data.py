"""Derive the package's year of carbon intensity from Electricity Maps' stacked 2024 zone files.

Usage: ``python scripts/carbon_year_data.py SOURCE`` where SOURCE is the gzip CSV of Electricity Maps'
hourly 2024 data for US zones, one row per (hour, zone), with columns ``datetime_utc``, ``zone_id`` and
``carbon_intensity_lifecycle`` (the zone files the Green-LLM authors ship, stacked; see
``docs/greenllm_year.md``). It writes ``greenaolo/greenllm/data/carbon_intensity_2024_lifecycle.csv.gz``:
one row per UTC hour of 2024, one column per zone the paper's DCs map to (``ZONE_CODES``), the life-cycle
intensity in gCO2eq/kWh with the source's decimal text unchanged (so it parses to the same doubles) and
missing hours left empty. Only these nine columns ship: the package needs nothing else. The gzip stream
carries no file name or time, so the same source gives the same bytes.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from greenaolo.greenllm.carbon import YEAR_DATA  # noqa: E402
from greenaolo.greenllm.scenario import ZONE_CODES  # noqa: E402
from greenaolo.io import write_gzip_text  # noqa: E402


def main(source: str) -> None:
    long = pd.read_csv(source, dtype=str, keep_default_na=False)
    wide = long.pivot(index="datetime_utc", columns="zone_id", values="carbon_intensity_lifecycle")
    wide = wide[list(ZONE_CODES)].sort_index()
    if len(wide) != 8784:
        raise SystemExit(f"expected the 8,784 hours of 2024, found {len(wide)}")
    text = io.StringIO()
    wide.to_csv(text, lineterminator="\n")
    out = write_gzip_text(ROOT / "greenaolo" / "greenllm" / "data" / YEAR_DATA, text.getvalue())
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
