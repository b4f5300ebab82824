"""Derive the package's measured inputs (``greenaolo/data/``) from the project's shared data folders.

Usage: ``python scripts/measured_data.py SHARED_DATA`` where SHARED_DATA is the folder holding ``global/``,
``latency/``, ``energy/`` and ``demand/`` (each with its README: source repository, commit, licence,
units, gaps). The package reads only what this script writes; it never reads the shared folder.

What it writes (``greenaolo/data/README.md`` says the same, with citations and licences):

* ``carbon_lca_YYYY.csv.gz`` (2023, 2024): one row per UTC hour, one column per zone, Electricity Maps'
  hourly **life-cycle** carbon intensity in gCO2eq/kWh (the source's decimal text unchanged);
* ``prices_YYYY.csv.gz``: one row per UTC hour, one column per zone in :data:`SHIPPED_PRICES`, the price
  per MWh in the zone's own currency exactly as in the source; a missing hour is an empty field;
* ``weather_YYYY.csv.gz``: the source rows of the zones (UTC hour, 2 m temperature in degC, relative
  humidity in %), unchanged;
* ``regions.csv``, ``price_markets.csv``: the columns of the shared tables the package uses;
* ``gcp_latency_matrix.csv``, ``gcp_regions.csv``, ``mlenergy_v3_llm_configs.csv.gz``,
  ``servegen_language_rate_hour_of_day.csv`` and the two ``AzureLLMInferenceTrace_*.csv.gz``: byte copies.

Gzip streams carry no file name or time, so the same source gives the same bytes.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from greenaolo.io import write_gzip_text  # noqa: E402

OUT = ROOT / "greenaolo" / "data"
YEARS = (2023, 2024)
#: Every zone with hourly carbon intensity (16): the measured scenario's candidate sites.
ZONES = ("AU-NSW", "AU-VIC", "BR-SP", "CA-ON", "CL-SIC", "DE-LU", "GB", "IN-WE", "JP-TK", "KR", "SG",
         "US-CAL-CISO", "US-MIDA-PJM", "US-NY-NYIS", "US-TEX-ERCO", "ZA")
#: Price series that ship: every zone's but DE-LU's and GB's, EPEX SPOT day-ahead prices whose terms of use
#: allow internal use only ("docs/measured.md#prices" says what was checked for each source).
SHIPPED_PRICES = tuple(z for z in ZONES if z not in ("DE-LU", "GB"))
REGION_COLUMNS = ("zone", "location_name", "country", "em_zone_id", "weather_lat_requested",
                  "weather_lon_requested", "weather_source_timezone", "latency_matrix_label_by_location")
MARKET_COLUMNS = ("region", "product", "node_or_zone", "currency", "source_time_basis", "repo_fx_to_usd",
                  "confidence", "caveats")
COPIES = {"latency": ("gcp_latency_matrix.csv", "gcp_regions.csv"),
          "energy": ("mlenergy_v3_llm_configs.csv.gz",),
          "demand": ("servegen_language_rate_hour_of_day.csv", "AzureLLMInferenceTrace_code.csv.gz",
                     "AzureLLMInferenceTrace_conv.csv.gz")}


def write_gzip(frame: pd.DataFrame, name: str, index: bool = True) -> None:
    text = io.StringIO()
    frame.to_csv(text, lineterminator="\n", index=index)
    path = write_gzip_text(OUT / name, text.getvalue())
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")


def main(shared: str) -> None:
    src = Path(shared)
    OUT.mkdir(exist_ok=True)
    for year in YEARS:
        carbon = pd.read_csv(src / "global" / f"carbon_{year}.csv.gz", dtype=str, keep_default_na=False)
        wide = carbon.pivot(index="datetime_utc", columns="zone", values="carbon_intensity_lca")[list(ZONES)]
        if wide.isna().any().any() or (wide == "").any().any():
            raise SystemExit(f"carbon {year}: a missing value (the source is complete)")
        write_gzip(wide.sort_index(), f"carbon_lca_{year}.csv.gz")
        prices = pd.read_csv(src / "global" / f"prices_{year}.csv.gz", dtype=str, keep_default_na=False)
        prices = prices[prices.region.isin(SHIPPED_PRICES)]
        wide = prices.pivot(index="datetime_utc", columns="region", values="price_per_mwh")
        wide = wide.reindex(columns=[z for z in SHIPPED_PRICES if z in wide.columns]).fillna("")
        write_gzip(wide.sort_index(), f"prices_{year}.csv.gz")
        weather = pd.read_csv(src / "global" / f"weather_{year}.csv.gz", dtype=str, keep_default_na=False)
        write_gzip(weather[weather.zone.isin(ZONES)], f"weather_{year}.csv.gz", index=False)
    regions = pd.read_csv(src / "global" / "regions.csv", dtype=str, keep_default_na=False)
    regions[regions.zone.isin(ZONES)][list(REGION_COLUMNS)].to_csv(OUT / "regions.csv", index=False,
                                                                   lineterminator="\n")
    markets = pd.read_csv(src / "global" / "price_markets.csv", dtype=str, keep_default_na=False)
    markets[markets.region.isin(SHIPPED_PRICES)][list(MARKET_COLUMNS)].to_csv(
        OUT / "price_markets.csv", index=False, lineterminator="\n")
    for folder, names in COPIES.items():
        for name in names:
            shutil.copyfile(src / folder / name, OUT / name)
    print(f"wrote the tables and copies into {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1])
