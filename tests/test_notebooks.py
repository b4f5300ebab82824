"""Every figure notebook runs under papermill (quick profile) and writes its dataset and figure."""

from __future__ import annotations

import json
import subprocess
import sys

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
        run_notebook(name, profile="quick", output_dir=out, executed_dir=out / "executed", progress=False)
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
    assert not list(executed.glob(".*.tmp"))


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
