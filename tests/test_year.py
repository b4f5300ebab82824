"""Green-LLM over 2024: the year's carbon data, its gaps, the forecasts, the reused LP, the year study."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greenaolo.greenllm import carbon
from greenaolo.greenllm.scenario import DC_TABLE, paper_scenario
from greenaolo.io import dataset_units_problems

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


# --- gap filling ------------------------------------------------------------------------------------------

def test_fill_gaps_averages_neighbours_interpolates_runs_and_flags_them():
    nan = np.nan
    values = np.array([[1.0, nan, 3.0, nan, nan, nan, 7.0, nan],
                       [5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]])
    filled, flagged = carbon.fill_gaps(values)
    np.testing.assert_array_equal(filled[0], [1, 2, 3, 4, 5, 6, 7, 7])  # a lone gap: the neighbours' mean
    np.testing.assert_array_equal(filled[1], values[1])
    np.testing.assert_array_equal(flagged[0], np.isnan(values[0]))
    assert not flagged[1].any()
    with pytest.raises(ValueError, match="no observed hour"):
        carbon.fill_gaps(np.full((1, 3), np.nan))


def test_the_year_fills_the_412_missing_hours_of_south_carolina_from_their_neighbours():
    year = carbon.carbon_intensity("2024-01-01", "2025-01-01")
    assert year.sizes == {"dc": 9, "time": 8784}
    filled = year.filled.sum("time").to_series()
    assert filled["us-east1"] == 412 and filled.drop("us-east1").sum() == 0  # US-SE-SEPA only
    assert bool(np.isfinite(year.carbon_intensity).all())
    sepa = year.carbon_intensity.sel(dc="us-east1").to_series()
    hour = pd.Timestamp("2024-01-03 19:00")  # a lone gap: the mean of 18:00 and 20:00
    assert bool(year.filled.sel(dc="us-east1", time=hour))
    assert sepa[hour] == pytest.approx((sepa[hour - pd.Timedelta("1h")] + sepa[hour + pd.Timedelta("1h")]) / 2,
                                       rel=1e-12)
    run = sepa["2024-09-30 03:00":"2024-09-30 16:00"].to_numpy()  # a 12-hour gap: a straight line
    np.testing.assert_allclose(np.diff(run), (run[-1] - run[0]) / 13, rtol=1e-9)
    # A window is a slice of the same year.
    window = carbon.carbon_intensity("2024-09-30 03:00", "2024-09-30 17:00")
    np.testing.assert_array_equal(window.carbon_intensity.sel(dc="us-east1").values, run)


# --- forecasts --------------------------------------------------------------------------------------------

def test_forecasts_use_only_the_days_before_and_need_their_history():
    raw = np.array(carbon._raw_year()[1])
    day = dt.date(2024, 7, 15)
    start = (day - dt.date(2024, 1, 1)).days * 24
    previous = carbon.fill_gaps(raw[:, :start])[0]
    persistence = carbon.forecast(day, "persistence")
    np.testing.assert_array_equal(persistence, previous[:, -24:] / 1000)
    np.testing.assert_allclose(carbon.forecast(day, "mean7"), previous[:, -168:].reshape(9, 7, 24).mean(1) / 1000,
                               rtol=1e-12)
    # No look-ahead: anything from the day on (even gaps) changes no forecast; the day before does.
    altered = raw.copy()
    altered[:, start:] = np.where(np.arange(altered.shape[1] - start) % 3 == 0, np.nan, 9999.0)
    for method in carbon.FORECASTS:
        np.testing.assert_array_equal(carbon.forecast(day, method, altered), carbon.forecast(day, method))
    altered[:, start - 1] = 9999.0
    assert not np.array_equal(carbon.forecast(day, "persistence", altered), persistence)
    # A gap at the very end of the history holds the last observation, never the day's own first hour.
    gap = raw.copy()
    gap[:, start - 1] = np.nan
    np.testing.assert_array_equal(carbon.forecast(day, "persistence", gap)[:, -1], raw[:, start - 2] / 1000)
    # The data starts on 1 January: no forecast without a full history.
    assert carbon.forecast("2024-01-01", "persistence") is None
    assert carbon.forecast("2024-01-02", "persistence") is not None
    assert carbon.forecast("2024-01-07", "mean7") is None
    assert carbon.forecast("2024-01-08", "mean7") is not None


@pytest.mark.parametrize("text", ["2024-13-01", "2024-02-30", "2024-7-15", "20240715", "2024-W29-1", "yesterday", ""])
def test_malformed_dates_are_refused_in_one_line(text):
    with pytest.raises(ValueError, match=r"is not a valid date: expected YYYY-MM-DD"):
        carbon.parse_day(text)


@pytest.mark.parametrize("text", ["2023-12-31", "2025-01-01"])
def test_dates_outside_2024_are_refused(text):
    with pytest.raises(ValueError, match=r"outside the data: expected a day of 2024"):
        carbon.parse_day(text)


# --- the reused LP equals fresh builds --------------------------------------------------------------------

def assert_same_day(reused: dict, fresh: dict, rtol: float) -> None:
    from greenaolo.greenllm.year import PLAN_TERMS

    for name in (*PLAN_TERMS, "served"):
        np.testing.assert_array_equal(np.isnan(reused[name]), np.isnan(fresh[name]), err_msg=name)
        np.testing.assert_allclose(reused[name], fresh[name], rtol=rtol, atol=1e-9, err_msg=name)


@pytest.mark.slow
def test_reusing_one_build_equals_a_fresh_build_per_plan_with_highs():
    from greenaolo.greenllm.year import ReusedLP, fresh_day, reused_day

    scenario = paper_scenario(42)
    lp = ReusedLP(scenario)
    # The second day starts warm from the first's bases; 2 January has no 7-day mean.
    for day in ("2024-01-02", "2024-07-15"):
        assert_same_day(reused_day(lp, day), fresh_day(scenario, day, solver="highs"), rtol=1e-7)


def test_the_reused_lp_equals_fresh_gurobi_builds_on_an_instance_the_pip_licence_takes():
    from greenaolo.greenllm.scenario import synthetic_scenario
    from greenaolo.greenllm.year import ReusedLP, fresh_day
    from greenaolo.greenllm.year import _stack as stack
    from greenaolo.solvers import gurobi_licence

    small = synthetic_scenario(3, 3, 24, n_query=2, seed=0)
    built = ReusedLP(small)
    fits, why = gurobi_licence().fits(built.n_cols, len(built.lp["b"]) + 1)
    if not fits:
        pytest.skip(f"Gurobi cannot take the small instance here: {why}")
    for day in ("2024-08-01",):
        # The first three DCs' intensity of that day and its forecasts.
        thetas = {s: (None if t is None else t[:3]) for s, t in
                  {"perfect": carbon.day_intensity(day), **{m: carbon.forecast(day, m) for m in carbon.FORECASTS}}.items()}
        rows = {(m, s): built.score(built.plan(m, thetas[s]), thetas["perfect"], thetas[s])
                for m in ("M0", "M1", "M2", "M3") for s in carbon.SETTINGS}
        reused = stack(rows, ("M0", "M1", "M2", "M3"), carbon.SETTINGS)
        assert_same_day(reused, fresh_day(small, day, solver="gurobi", thetas=thetas), rtol=1e-6)


# --- the year study's dataset ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def study():
    from greenaolo.greenllm.year import year_study

    # 1 January (no forecast), 2 January (persistence only) and two consecutive days with every setting.
    return year_study(["2024-01-01", "2024-01-02", "2024-06-04", "2024-06-05"], processes=1, chunk_days=2)


def test_the_year_dataset_is_consistent_and_forecasts_never_beat_perfect_foresight(study):
    from greenaolo.greenllm.model import MODELS

    ds = study
    assert dict(ds.sizes) == {"day": 4, "model": 4, "setting": 3, "dc": 9, "chunk": 2}
    assert all("long_name" in var.attrs for var in ds.data_vars.values())
    assert dataset_units_problems(ds) == []
    # Forecasts exist only with their full history; everything else is finite.
    missing = ds.total_cost.isnull().any("model").to_pandas()
    assert missing.loc["2024-01-01"].tolist() == [False, True, True]
    assert missing.loc["2024-01-02"].tolist() == [False, False, True]
    assert not missing.iloc[2:].to_numpy().any()
    ok = ds.total_cost.notnull()
    np.testing.assert_allclose(ds.total_cost.where(ok), (ds.energy_cost + ds.carbon_cost + ds.delay_cost).where(ok),
                               rtol=1e-12)
    served = ds.served.sum("dc", skipna=False).values  # every query is served, where there is a plan
    np.testing.assert_array_equal(np.isnan(served), ~ok.values)
    np.testing.assert_allclose(served[ok.values], 692_248, rtol=1e-9)
    # Perfect foresight plans on the actual intensity: what it expects is what it gets.
    perfect = ds.sel(setting="perfect")
    np.testing.assert_allclose(perfect.planned_emissions, perfect.emissions, rtol=1e-12)
    np.testing.assert_allclose(perfect.carbon_cost / perfect.emissions, (ds.carbon_cost / ds.emissions).sel(setting="perfect"))
    # Each model's own objective, realised: perfect foresight is never beaten by a plan made on a forecast
    # (M1 and M2 within their tie-break's relative 1e-6).
    for model, (w_e, w_c, w_d) in MODELS.items():
        realised = (w_e * ds.energy_cost + w_c * ds.carbon_cost + w_d * ds.delay_cost).sel(model=model)
        best = realised.sel(setting="perfect")
        assert bool((best <= realised * (1 + 2e-6) + 1e-9).where(ok.sel(model=model), True).all()), model
    # M1 ignores theta: its energy cost is the same whatever it was told about the intensity.
    m1 = ds.energy_cost.sel(model="M1")
    np.testing.assert_allclose(m1.where(ok.sel(model="M1")), m1.sel(setting="perfect").broadcast_like(m1).where(
        ok.sel(model="M1")), rtol=2e-6)
    assert ds.filled_hours.values.tolist() == [0, 0, 9, 1]  # South Carolina: 2024-06-04 07:00-15:00, 06-05 05:00
    assert float(ds.forecast_error.sel(setting="perfect").max()) == 0


def test_the_year_study_does_not_depend_on_how_days_are_chunked(study):
    from greenaolo.greenllm.year import year_study

    again = year_study(["2024-06-04", "2024-06-05"], processes=1, chunk_days=1)
    for name in ("total_cost", "emissions", "served"):
        np.testing.assert_allclose(again[name], study[name].isel(day=slice(2, 4)), rtol=1e-9, err_msg=name)


def test_the_paper_day_in_the_year_is_the_paper_instance(m0):
    from greenaolo.greenllm.year import ReusedLP, reused_day

    row = reused_day(ReusedLP(paper_scenario(42)), "2024-03-24", models=("M0",), settings=("perfect",))
    assert float(row["total_cost"][0, 0]) == pytest.approx(float(m0.total_cost), rel=1e-9)
    assert float(row["emissions"][0, 0]) == pytest.approx(float(m0.emissions), rel=1e-7)


# --- the command line -----------------------------------------------------------------------------------

def test_cli_solves_any_day_of_2024_and_refuses_bad_dates_in_one_line():
    import json

    from typer.testing import CliRunner

    from greenaolo.cli import app

    runner = CliRunner()
    paper = runner.invoke(app, ["greenllm", "solve", "--date", "2024-03-24", "--solver", "highs", "--json"])
    assert paper.exit_code == 0, paper.output
    assert round(json.loads(paper.output.strip().splitlines()[-1])["total_cost"], 2) == 392.08
    july = runner.invoke(app, ["greenllm", "solve", "--date", "2024-07-15", "--solver", "highs", "--json"])
    assert july.exit_code == 0 and "carbon intensity of 2024-07-15 (UTC)" in july.output
    summary = json.loads(july.output.strip().splitlines()[-1])
    assert summary["date"] == "2024-07-15" and round(summary["total_cost"], 2) != 392.08
    for text, message in (("2024-13-01", "is not a valid date: expected YYYY-MM-DD"),
                          ("15/07/2024", "is not a valid date: expected YYYY-MM-DD"),
                          ("2023-12-31", "outside the data: expected a day of 2024"),
                          ("2025-01-01", "outside the data: expected a day of 2024")):
        bad = runner.invoke(app, ["greenllm", "solve", "--date", text])
        assert bad.exit_code == 2 and message in bad.output, bad.output
        assert len(bad.output.strip().splitlines()) == 1 and bad.output.startswith("error: --date:")


@pytest.mark.slow
def test_bench_reports_fresh_against_reused_day_solves_and_the_year_wall_time(tmp_path):
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, str(root / "scripts" / "bench.py"), "--only", "year", "--year-sample", "2",
                    "--year-days", "2", "--output", str(out)], check=True, capture_output=True, text=True, env=env,
                   cwd=tmp_path, timeout=600)
    year = json.loads(out.read_text())["greenllm_year"]
    assert year["study_days"] == 2 and year["study_wall_s"] > 0
    assert year["fresh_over_reused"] > 1  # a fresh build per plan is never the faster (it is ~15x slower)
