"""Green-LLM over 2024: the year's carbon data, its gaps, the forecasts, the reused LP, the year study."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greenaolo.greenllm import carbon
from greenaolo.greenllm.scenario import DC_TABLE, paper_scenario

#: The authors' consolidated day (Dataset/Carbon/consolidated_carbon_intensity_march24_filled.csv), which the
#: paper instance used before the year file: the reference its bits must still match.
PAPER_DAY_FILE = Path(__file__).parent / "data" / "carbon_intensity_2024-03-24_lifecycle.csv"


def authors_day() -> np.ndarray:
    table = pd.read_csv(PAPER_DAY_FILE)
    columns = {c.split(" (")[0]: c for c in table.columns}
    return np.stack([table[columns[zone]].to_numpy(float) for zone in DC_TABLE["carbon_zone"]]) / 1000.0


def test_the_paper_day_from_the_year_file_is_the_authors_day_bit_for_bit(m0):
    day = carbon.day_intensity("2024-03-24")
    assert day.dtype == np.float64 and day.shape == (9, 24)
    assert np.array_equal(day, authors_day())  # exact: the same doubles, not approximately
    assert np.array_equal(paper_scenario(42).carbon_intensity.values, authors_day())
    assert not carbon.carbon_intensity("2024-03-24").filled.any()
    assert round(float(m0.total_cost), 2) == 392.08
