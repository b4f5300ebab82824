"""Every figure notebook runs under papermill (quick profile) and writes its dataset and figure."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import papermill
import pytest
from typer.testing import CliRunner

from greenaolo.cli import app
from greenaolo.io import read_dataset
from greenaolo.notebooks import NOTEBOOKS, ParameterError, check_parameters, run_notebook

runner = CliRunner()


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run every notebook once in the quick profile; share the outputs between tests."""
    out = tmp_path_factory.mktemp("figures")
    for name in sorted(NOTEBOOKS):
        # Every size parameter at its smallest valid value: the quick profile's code path, smaller still.
        smallest = {p.name: p.type(p.low) for p in NOTEBOOKS[name].params if p.quick is not None}
        run_notebook(name, smallest, profile="quick", output_dir=out, executed_dir=out / "executed", progress=False)
    return out


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_writes_its_dataset_and_figure(executed, name):
    ds = read_dataset(executed / "data" / f"{name}.nc")
    assert ds.attrs["profile"] == "quick" and ds.attrs["figure"] == name
    assert json.loads(ds.attrs["parameters"])["profile"] == "quick"
    for ext in ("png", "pdf"):
        assert (executed / f"{name}.{ext}").stat().st_size > 10_000
    for var in ds.data_vars.values():
        assert "units" in var.attrs and "long_name" in var.attrs, var.name
    assert not list(executed.glob("**/.*.tmp"))  # no temporary file left, in data/ either


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_plot_redraws_a_figure_from_its_dataset_alone(executed, tmp_path, name):
    dataset = tmp_path / "data" / f"{name}.nc"
    dataset.parent.mkdir()
    dataset.write_bytes((executed / "data" / f"{name}.nc").read_bytes())
    result = runner.invoke(app, ["plot", str(dataset)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_table2_reports_the_published_m0_and_records_the_solver(executed):
    ds = read_dataset(executed / "data" / "greenllm_table2.nc")
    assert round(float(ds.total_cost.sel(model="M0")), 2) == 392.08
    assert ds.attrs["solver"] in ("highs", "gurobi", "gurobi,highs")
    assert (executed / "greenllm_table2.csv").read_text().startswith("model,")


def test_table1_writes_csv_and_latex(executed):
    assert "us-central1" in (executed / "greenllm_table1.csv").read_text()
    assert "\\begin{tabular}" in (executed / "greenllm_table1.tex").read_text()


def test_bad_parameters_are_refused_before_the_notebook_runs(tmp_path):
    with pytest.raises(ParameterError, match=r"notebook 'greenllm_table1' has no parameter 'sed': valid parameters"):
        run_notebook("greenllm_table1", {"sed": 1}, profile="quick", output_dir=tmp_path)
    with pytest.raises(ParameterError, match=r"parameter tolerance=5.0 is out of range: valid range is float in \[0.0, 1.0\]"):
        check_parameters("greenllm_table2", tolerance=5.0)
    with pytest.raises(ParameterError, match=r"parameter profile='medium' is invalid: valid range is one of 'quick', 'full'"):
        check_parameters("greenllm_table1", profile="medium")
    with pytest.raises(ParameterError, match=r"parameter seed='x' is not a int"):
        check_parameters("greenllm_table1", seed="x")
    with pytest.raises(ParameterError, match="unknown notebook 'fig9'"):
        check_parameters("fig9")
    assert not list(tmp_path.iterdir())


def test_a_notebook_checks_its_own_parameters_when_run_by_papermill_directly(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match=r"seed=-1 is out of range"):
        papermill.execute_notebook(
            str(NOTEBOOKS["greenllm_table1"].path), str(tmp_path / "out.ipynb"),
            parameters={"seed": -1, "output_dir": str(tmp_path)}, kernel_name="python3", progress_bar=False,
        )
    assert not (tmp_path / "data").exists()


def test_cli_lists_notebooks_with_parameters():
    result = runner.invoke(app, ["notebooks"])
    assert result.exit_code == 0
    assert "greenllm_table2" in result.output
    assert "tolerance    float  default 0.001" in result.output


def test_cli_run_rejects_bad_parameters(tmp_path):
    result = runner.invoke(app, ["run", "greenllm_table1", "-p", "seed", "-3", "--output-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "seed=-3 is out of range" in result.output
    result = runner.invoke(app, ["run", "greenllm_table1", "-p", "seed"])
    assert result.exit_code == 2 and "-p NAME VALUE" in result.output


def test_cli_solve_output_redraws_and_infeasible_is_a_clean_error(tmp_path):
    out = tmp_path / "data" / "m1.nc"
    result = runner.invoke(app, ["greenllm", "solve", "--model", "M1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert read_dataset(out).attrs["figure"] == "greenllm_solution"
    assert runner.invoke(app, ["plot", str(out)]).exit_code == 0
    assert (tmp_path / "greenllm_solution.png").exists()
    bad = runner.invoke(app, ["greenllm", "solve", "--psi-water", "0.1"])  # below the least water possible
    assert bad.exit_code == 2 and "no optimal solution" in bad.output


def test_cli_greenllm_solve_json_and_python_m():
    result = runner.invoke(app, ["greenllm", "solve", "--model", "M0", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert set(summary) >= {"energy_cost", "carbon_cost", "delay_cost", "total_cost", "emissions_kg", "water_l", "solver"}
    assert round(summary["total_cost"], 2) == 392.08
    bad = runner.invoke(app, ["greenllm", "solve", "--psi-theta", "-1"])
    assert bad.exit_code == 2 and "psi_theta=-1.0 is invalid" in bad.output
    bad = runner.invoke(app, ["greenllm", "solve", "--lexicographic", "energy,water,delay"])
    assert bad.exit_code == 2 and "must be a permutation" in bad.output
    help_text = subprocess.run([sys.executable, "-m", "greenaolo", "--help"], capture_output=True, text=True, check=True)
    assert "greenllm" in help_text.stdout


# --- what each Green-LLM study's dataset must satisfy (checked on the quick run) -------------------------

def test_fig1_sweeps_match_direct_solves_and_order_the_models(executed):
    from greenaolo.greenllm.model import solve
    from greenaolo.greenllm.scenario import Scaling, paper_scenario

    ds = read_dataset(executed / "data" / "greenllm_fig1.nc")
    psi = float(ds.psi_theta[-1])
    direct = solve(paper_scenario(42, Scaling(theta=psi)), "M0", solver="highs")
    assert float(ds.theta_total_cost.sel(model="M0", psi_theta=psi)) == pytest.approx(float(direct.total_cost), rel=1e-7)
    # M0 minimises exactly the reported total, so it is never beaten; M2 minimises the carbon tax.
    for prefix, dim in (("theta", "psi_theta"), ("pw", "psi_pw")):
        total = ds[f"{prefix}_total_cost"]
        assert bool((total.sel(model="M0") <= total.min("model") + 1e-6).all())
    # Emissions grow with carbon intensity only through routing: M1 ignores theta, so its emissions scale with Psi.
    m1 = ds.theta_emissions.sel(model="M1")
    np.testing.assert_allclose(m1 / ds.psi_theta, m1.isel(psi_theta=0) / ds.psi_theta[0], rtol=1e-6)


def test_fig2_m0_advantage_is_never_negative(executed):
    # A consistency check, not evidence for the caption: M0 minimises exactly the reported total.
    ds = read_dataset(executed / "data" / "greenllm_fig2.nc")
    assert float(ds.m0_advantage.min()) >= -1e-6
    # Delay does not enter M1 or M2, so their delay moves with Psi_rho only inside the tie-break's band
    # (the primary objective may give up a relative 1e-6, which buys at most a little delay).
    for m in ("M1", "M2"):
        delay = ds.rho_delay.sel(model=m)
        np.testing.assert_allclose(delay, delay.isel(psi_rho=0), rtol=1e-4)
    m0 = ds.rho_delay.sel(model="M0")
    assert float(m0.isel(psi_rho=-1)) < float(m0.isel(psi_rho=0))  # M0 buys delay down as it gets dearer


def test_pareto_points_respect_their_limits_and_cost_at_least_m0(executed):
    ds = read_dataset(executed / "data" / "greenllm_pareto.nc")
    feasible = ds.total_cost.notnull()
    assert int(feasible.sum()) + ds.attrs["infeasible_points"] == ds.total_cost.size
    assert bool((ds.emissions <= ds.emissions_limit * (1 + 1e-6) + 1e-6).where(feasible, True).all())
    assert bool((ds.water <= ds.water_limit * (1 + 1e-6) + 1e-6).where(feasible, True).all())
    m0 = float(ds.model_total_cost.sel(model="M0"))
    assert bool((ds.total_cost >= m0 - 1e-6).where(feasible, True).all())
    # The loosest corner is M0 itself.
    assert float(ds.total_cost.isel(emissions_limit=-1, water_limit=-1)) == pytest.approx(m0, rel=1e-6)


def test_water_budget_binds_below_unconstrained_use_only(executed):
    ds = read_dataset(executed / "data" / "greenllm_water.nc")
    slack = ds.water_budget > ds.attrs["unconstrained_water"] + 1e-6
    assert bool((ds.water_shadow_price.where(slack) == 0).where(slack, True).all())
    assert bool((ds.water_shadow_price.where(~slack, 1.0) > 0).all())
    assert bool((ds.total_cost.diff("water_budget") <= 1e-6).all())  # more water never costs more
    assert bool((ds.water <= ds.water_budget + 1e-6).all())


def test_milp_variants_cost_at_least_the_lp(executed):
    ds = read_dataset(executed / "data" / "greenllm_milp.nc")
    lp = float(ds.total_cost.sel(variant="LP (paper)"))
    assert round(lp, 2) == 392.08 and int(ds.optimal.sel(variant="LP (paper)")) == 1
    assert bool((ds.total_cost >= lp - 1e-6).all())


def test_latency_quantiles_are_ordered(executed):
    ds = read_dataset(executed / "data" / "greenllm_latency.nc")
    assert bool((ds.latency_quantile.diff("quantile") >= 0).all())
    assert bool((ds.mean_latency < ds.mean_aggregate_delay).all())  # the aggregate "delay" is not a latency
    total = ds.queries.sum("latency_bin")
    np.testing.assert_allclose(total, 692_248, rtol=1e-6)
