"""The measured inputs and the measured Green-LLM scenario: raw values read back, conversions by hand."""

from __future__ import annotations

import gzip
import io
import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greenaolo import measured
from greenaolo.greenllm.measured import DEFAULT_ZONES, measured_scenario
from greenaolo.greenllm.measured_year import _plans, _shared_lps, measured_year_study
from greenaolo.greenllm.optimise import solve
from greenaolo.greenllm.year import ReusedLP

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def raw(name: str) -> pd.DataFrame:
    """A shipped table as text, exactly as written."""
    data = resources.files("greenaolo.data").joinpath(name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def july() -> object:
    return measured_scenario("2024-07-15")


def test_carbon_and_prices_of_the_scenario_are_the_shipped_values(july):
    carbon = raw("carbon_lca_2024.csv.gz").set_index("datetime_utc")
    prices = raw("prices_2024.csv.gz").set_index("datetime_utc")
    for zone, hour in (("SG", 0), ("US-TEX-ERCO", 13), ("JP-TK", 23)):
        stamp = f"2024-07-15 {hour:02d}:00:00"
        assert july.carbon_intensity.sel(dc=zone, time=hour).item() == float(carbon.loc[stamp, zone]) / 1000
    # A converted price by hand: Tokyo's JEPX price in JPY/MWh at the Fed's 2023 average of 140.5001 JPY per USD.
    stamp = "2024-07-15 03:00:00"
    jpy = float(prices.loc[stamp, "JP-TK"])
    assert july.price.sel(dc="JP-TK", time=3).item() == pytest.approx(jpy / 140.5001 / 1000, rel=1e-12)
    # A euro-free, dollar price is unchanged apart from MWh -> kWh.
    usd = float(prices.loc["2024-07-15 18:00:00", "US-CAL-CISO"])
    assert july.price.sel(dc="US-CAL-CISO", time=18).item() == pytest.approx(max(usd, 0) / 1000, rel=1e-12)


def test_india_half_hour_rows_go_to_the_hour_they_start_in():
    prices = raw("prices_2024.csv.gz").set_index("datetime_utc")
    inr = float(prices.loc["2024-03-01 06:30:00", "IN-WE"])
    scenario = measured_scenario("2024-03-01")
    assert scenario.price.sel(dc="IN-WE", time=6).item() == pytest.approx(inr / 82.5708 / 1000, rel=1e-12)


def test_wue_by_hand_from_temperature_and_humidity(july):
    weather = raw("weather_2024.csv.gz")
    row = weather[(weather.zone == "US-TEX-ERCO") & (weather.datetime_utc == "2024-07-15 20:00:00")].iloc[0]
    t, rh = float(row.temperature_2m_c), float(row.relative_humidity_2m_pct)
    tw = (t * math.atan(0.151977 * math.sqrt(rh + 8.313659)) + math.atan(t + rh) - math.atan(rh - 1.676331)
          + 0.00391838 * rh ** 1.5 * math.atan(0.023101 * rh) - 4.686035)
    f = tw * 9 / 5 + 32
    wue = max(0.05, 6 / 5 * (6e-5 * f ** 3 - 0.01 * f ** 2 + 0.61 * f - 10.4))
    assert july.wet_bulb.sel(dc="US-TEX-ERCO", time=20).item() == pytest.approx(tw, abs=1e-12)
    assert july.wue.sel(dc="US-TEX-ERCO", time=20).item() == pytest.approx(wue, rel=1e-12)


def test_stull_formula_on_his_worked_value():
    # 20 degC and 50 % RH give 13.7 degC in Stull (2011), Fig. 1's example.
    assert measured.wet_bulb_stull(20.0, 50.0) == pytest.approx(13.7, abs=0.05)


def test_demand_follows_the_profile_in_local_time_and_sums_to_the_rate(july):
    profile = measured.hour_of_day_profile("all")
    types = raw("AzureLLMInferenceTrace_conv.csv.gz"), raw("AzureLLMInferenceTrace_code.csv.gz")
    n_conv, n_code = len(types[0]), len(types[1])
    assert july.demand.sum().item() == pytest.approx(profile.mean() * 3600 * 24, rel=1e-9)
    share = july.demand.sum(["area", "time"]) / july.demand.sum()
    assert share.sel(query="conversation").item() == pytest.approx(n_conv / (n_conv + n_code), rel=1e-12)
    assert july.output_tokens.sel(query="code").item() == pytest.approx(types[1].GeneratedTokens.astype(float).mean())
    # Tokyo (UTC+9) at 11:00 UTC is 20:00 local: the profile's hour 20, over its mean, times Tokyo's share.
    tokyo = july.demand.sel(area="JP-TK", time=11).sum().item()
    assert tokyo == pytest.approx(profile[20] * 3600 / len(DEFAULT_ZONES), rel=1e-9)


def test_energy_per_token_and_gpu_time_come_from_the_chosen_measurement(july):
    table = raw("mlenergy_v3_llm_configs.csv.gz")
    rows = table[(table.nickname == "Llama 3.1 8B Instruct") & (table.gpu_model == "H100")
                 & (table.task == "lm-arena-chat")]
    best = rows.loc[rows.energy_per_token_joules.astype(float).idxmin()]
    assert july.token_energy_out.values[0] == float(best.energy_per_token_joules) / 3.6e6
    assert july.proc_delay.values[0, 0] == float(best.median_itl_ms) / 1000
    assert july.attrs["max_batch"] == int(best.max_num_seqs)


def test_latency_is_measured_where_both_regions_are_in_the_matrix_else_fitted_on_distance():
    matrix = raw("gcp_latency_matrix.csv")
    tokyo, seoul = matrix.origin.tolist().index("JP-TK"), matrix.origin.tolist().index("KR")
    latency, estimated, (a, b) = measured.latency_ms(["JP-TK", "KR", "US-NY-NYIS"])
    assert latency.loc["JP-TK", "KR"] == float(matrix.iloc[tokyo, seoul + 1])
    assert not estimated.loc["JP-TK", "KR"] and estimated.loc["JP-TK", "US-NY-NYIS"]
    assert 0 < a < 50 and 0.005 < b < 0.03  # a fixed overhead plus about light in fibre (0.01 ms per km)
    # US-MIDA-PJM is us-east4 (Ashburn), the first of the matrix's two US-MIDA-PJM rows.
    first = matrix.origin.tolist().index("US-MIDA-PJM")
    assert measured.latency_ms(["US-MIDA-PJM", "JP-TK"])[0].iloc[0, 1] == float(matrix.iloc[first, tokyo + 1])


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared data folder is not beside the checkout")
def test_shipped_tables_equal_the_shared_sources():
    source = pd.read_csv(SHARED / "global" / "carbon_2023.csv.gz", dtype=str, keep_default_na=False)
    ours = raw("carbon_lca_2023.csv.gz").set_index("datetime_utc")
    sample = source.sample(200, random_state=0)
    for _, row in sample.iterrows():
        assert ours.loc[row.datetime_utc, row.zone] == row.carbon_intensity_lca
    for name, folder in (("mlenergy_v3_llm_configs.csv.gz", "energy"), ("gcp_latency_matrix.csv", "latency")):
        assert resources.files("greenaolo.data").joinpath(name).read_bytes() == (SHARED / folder / name).read_bytes()


@pytest.mark.parametrize("kwargs, message", [
    ({"day": "2022-12-31"}, "outside the data"),
    ({"day": "2024-13-01"}, "not a valid date"),
    ({"day": "2024-01-02", "zones": ["DE-LU"]}, "no shipped price series"),
    ({"day": "2024-01-02", "zones": ["CL-SIC"]}, "no 2024 prices"),
    ({"day": "2024-01-02", "llm": "GPT-9"}, "was not measured"),
    ({"day": "2024-01-02", "gpu": "A100"}, "measured on"),
    ({"day": "2024-01-02", "pue": 0.9}, "pue=0.9 is out of range"),
    ({"day": "2024-01-02", "area_weights": {"XX": 1}}, "not among the zones"),
])
def test_bad_options_are_refused_with_what_exists(kwargs, message):
    with pytest.raises(ValueError, match=message):
        measured_scenario(**kwargs)


def test_negative_prices_are_floored_and_flagged():
    # South Australia... here Victoria: 2024-10-06 has negative real-time prices at midday local time.
    prices = measured.prices_usd(2024)[0]["AU-VIC"]
    day = prices[prices < 0].index[0].date().isoformat()
    scenario = measured_scenario(day)
    assert scenario.price_floored.sel(dc="AU-VIC").any()
    assert (scenario.price.where(scenario.price_floored) == 0).sum() == scenario.price_floored.sum()


def test_reused_lp_with_prices_and_routes_matches_fresh_solves(july):
    lp = ReusedLP(july)
    theta = july.carbon_intensity.values * 1.1
    price = july.price.values[:, ::-1].copy()
    planned = july.copy()
    planned["carbon_intensity"] = july.carbon_intensity.copy(data=theta)
    planned["price"] = july.price.copy(data=price)
    for model in ("M0", "M1"):
        fresh = solve(planned, model, solver="highs")
        row = lp.score(lp.plan(model, theta, price=price), theta, theta, price=price)
        assert row["energy_cost"] == pytest.approx(float(fresh.energy_cost), rel=1e-6)
        assert row["emissions"] == pytest.approx(float(fresh.emissions), rel=1e-6)
        assert row["water"] == pytest.approx(float(fresh.water), rel=1e-6)
    local = ReusedLP(july, routes=np.eye(july.sizes["dc"], dtype=bool))
    x = local.plan("M0", july.carbon_intensity.values)
    served = local.score(x, july.carbon_intensity.values, july.carbon_intensity.values)["served"]
    assert np.allclose(served, july.demand.sum(["query", "time"]).values)  # every area at its own DC
    assert local.score(x, july.carbon_intensity.values, july.carbon_intensity.values)["network_latency"] == pytest.approx(5.0, rel=1e-12)


def test_a_day_of_the_study_scores_each_plan_on_what_happened():
    lps = _shared_lps("{}")
    out = _plans(lps, measured.parse_day("2024-07-15"), DEFAULT_ZONES, None)
    emissions = out["emissions"]  # (routing, model, setting)
    # Local routing: one plan, whatever the model; global M2 emits least, M1 the most of the global plans.
    assert np.allclose(emissions[2, :, 0], emissions[2, 0, 0])
    assert emissions[0, 2, 0] <= emissions[0, 0, 0] <= emissions[0, 1, 0] + 1e-9
    # More routes can only lower each model's own objective: global M2 <= regional M2 <= local.
    assert emissions[0, 2, 0] <= emissions[1, 2, 0] + 1e-9 <= emissions[2, 2, 0] + 2e-9
    # Forecast plans are scored on the actual intensity: never below the perfect plan's carbon for M2.
    assert np.all(emissions[0, 2, 1:] >= emissions[0, 2, 0] - 1e-6)


def test_the_study_covers_both_years_and_the_first_day_has_no_forecast():
    ds = measured_year_study(["2023-01-01", "2024-01-01"], processes=1, chunk_days=1)
    assert ds.emissions.sel(day="2023-01-01", routing="global", setting="persistence").isnull().all()
    assert ds.emissions.sel(day="2024-01-01", routing="global", setting="persistence").notnull().all()
    assert ds.attrs["llm"] == "Llama 3.1 8B Instruct" and "ODbL" in ds.attrs["data_sources"]


def test_cli_solves_the_measured_scenario_and_refuses_a_day_without_data():
    from typer.testing import CliRunner

    from greenaolo.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["greenllm", "solve", "--scenario", "measured", "--date", "2023-08-01", "--solver", "highs",
                             "--zones", "JP-TK,KR,SG", "--json"])
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.output.strip().splitlines()[-1])
    direct = solve(measured_scenario("2023-08-01", ["JP-TK", "KR", "SG"]), "M0", solver="highs")
    assert summary["total_cost"] == pytest.approx(float(direct.total_cost), rel=1e-9)
    for args, message in ((["--date", "2025-01-01"], "outside the data"), ([], "needs --date"),
                          (["--date", "2024-01-01", "--zones", "GB"], "no shipped price series")):
        bad = runner.invoke(app, ["greenllm", "solve", "--scenario", "measured", *args])
        assert bad.exit_code == 2 and message in bad.output


def tiny(carbon, capacity_factor=2.0):
    """One area, one DC, one query type, len(carbon) hours, one query of 1 kWh an hour, no renewables."""
    from greenaolo.greenllm.scenario import scenario_from_arrays

    n_t = len(carbon)
    return scenario_from_arrays(
        area=["a"], dc=["d"], query=["q"], n_time=n_t, demand=np.ones((1, 1, n_t)), input_tokens=[0.0],
        output_tokens=[1.0], token_energy_in=[0.0], token_energy_out=[1.0], pue=[1.0], renewable=np.zeros((1, n_t)),
        grid_limit=np.full((1, n_t), 100.0), price=np.full((1, n_t), 0.1), carbon_intensity=np.array([carbon]),
        carbon_tax=[0.05], wue=np.ones((1, n_t)), ewif=np.zeros((1, n_t)), water_budget=1e9,
        resource_per_token=np.array([[0.0, 1.0, 0.0]]), capacity=np.array([[1.0], [capacity_factor], [1.0]]),
        data_per_token=np.zeros((1, 1, n_t)), bandwidth=np.ones((1, 1)), rtt=np.zeros((1, 1)),
        proc_delay=np.zeros((1, 1)), delay_cap=np.full((1, 1), 1e9), delay_penalty=[0.0])


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_deferrable_demand_moves_to_the_cleanest_hours_as_brute_force_says(share):
    from greenaolo.greenllm.model import Extensions

    carbon = [0.3, 0.1, 0.2]
    ds = solve(tiny(carbon), "M2", solver="highs", extensions=Extensions(deferrable=share))
    # Brute force: the movable pool (share x 3 queries) fills the cleanest hours up to capacity 2 per hour, on
    # top of the (1 - share) served on time in every hour.
    load = np.full(3, 1.0 - share)
    pool = 3 * share
    for hour in np.argsort(carbon):
        take = min(pool, 2.0 - load[hour])
        load[hour] += take
        pool -= take
    assert float(ds.emissions) == pytest.approx(float(np.dot(carbon, load)), abs=1e-9)
    assert ds.grid_power.sum().item() == pytest.approx(3.0, abs=1e-9)
    reused = ReusedLP(tiny(carbon), extensions=Extensions(deferrable=share))
    row = reused.score(reused.plan("M2", np.array([carbon])), np.array([carbon]), np.array([carbon]))
    assert row["emissions"] == pytest.approx(float(ds.emissions), abs=1e-9)
    assert row["water"] == pytest.approx(3.0, abs=1e-9) and row["served"][0] == pytest.approx(3.0, abs=1e-9)


def test_the_paper_scenario_can_take_the_measured_round_trip_times_and_keeps_every_draw():
    from greenaolo.greenllm.scenario import paper_scenario

    matrix = raw("gcp_latency_matrix.csv")
    paper, ours = paper_scenario(42), paper_scenario(42, rtt="measured")
    # Iowa (us-central1, matrix row 26) to Dallas (us-south1, column 30), and Los Angeles to Las Vegas.
    assert ours.rtt.isel(area=0, dc=4).item() == float(matrix.iloc[25, 30]) / 1000
    assert ours.rtt.isel(area=6, dc=8).item() == float(matrix.iloc[31, 34]) / 1000
    assert np.array_equal(np.diag(ours.rtt.values), np.diag(paper.rtt.values))
    for name in ("demand", "price", "renewable", "wue", "bandwidth"):
        assert np.array_equal(ours[name].values, paper[name].values)
    with pytest.raises(ValueError, match="rtt='ping' is unknown"):
        paper_scenario(42, rtt="ping")
