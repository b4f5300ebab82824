"""Every figure notebook runs under papermill (quick profile) and writes its dataset and figure."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import papermill
import pytest
from typer.testing import CliRunner

from greenaolo.aolo.runs import ensure_runs, profile_algorithms
from greenaolo.cli import app
from greenaolo.io import dataset_units_problems, read_dataset
from greenaolo.notebooks import (
    NOTEBOOKS,
    NotebookNotFoundError,
    ParameterError,
    check_parameters,
    figure_notebooks,
    run_notebook,
)
from greenaolo.options import VARIANTS
from greenaolo.tasks import SCHEDULER_ENV, close_local_cluster

runner = CliRunner()
FIGURES = figure_notebooks()


def outputs(path) -> list[dict]:
    """Every output of every code cell of an executed notebook (stream text joined into one string)."""
    nb = json.loads(path.read_text())
    found = [o for cell in nb["cells"] if cell["cell_type"] == "code" for o in cell["outputs"]]
    for o in found:
        if isinstance(o.get("text"), list):
            o["text"] = "".join(o["text"])
    return found


def _run_smallest(name: str, out) -> None:
    """Run notebook ``name`` in the quick profile with every size parameter at its smallest valid value: the
    quick profile's code path, smaller still."""
    smallest = {p.name: p.type(p.low) for p in NOTEBOOKS[name].params if p.quick is not None}
    run_notebook(name, smallest, profile="quick", output_dir=out, executed_dir=out / "executed", progress=False)


def _serial_tasks() -> None:
    os.environ[SCHEDULER_ENV] = "serial"  # the kernels this process starts run their tasks in the kernel


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run every figure notebook once in the quick profile; share the outputs between tests.

    The AOLO notebooks share their trained runs: they are trained first, once, on local workers (the code
    each notebook calls; the notebooks then find them current). The notebooks run two at a time, each
    running its small tasks in its own kernel (a local Dask cluster costs more to start than they take)."""
    out = tmp_path_factory.mktemp("figures")
    seeds = range(min(p.low for p in NOTEBOOKS["aolo_benchmark"].params if p.name == "n_seeds"))
    for variant in VARIANTS:
        ensure_runs(out / "data" / "aolo_runs", profile="quick", seeds=seeds, algorithms=profile_algorithms("quick"),
                    variant=variant, scheduler="local", workers=2, progress=False)
    close_local_cluster()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), initializer=_serial_tasks) as pool:
        list(pool.map(_run_smallest, FIGURES, [out] * len(FIGURES)))
    return out


@pytest.mark.parametrize("name", FIGURES)
def test_notebook_shows_its_figure_inline_without_errors_or_warnings(executed, name):
    found = outputs(executed / "executed" / f"{name}.ipynb")
    assert any("image/png" in o.get("data", {}) for o in found), f"{name}: no inline figure"
    assert not [o for o in found if o["output_type"] == "error"]
    shown = ["".join(o["data"].get("text/plain", "")) for o in found if o["output_type"] == "execute_result"]
    assert not [text for text in shown if "Path(" in text], f"{name} shows a return value nobody asked for: {shown}"
    stderr = [o["text"] for o in found if o["output_type"] == "stream" and o["name"] == "stderr"]
    assert not stderr, f"{name} wrote to stderr: {stderr}"
    assert not [o for o in found if "Warning" in json.dumps(o.get("data", {})) + o.get("text", "")]


def test_carbon_model_table_total_is_the_sum_of_the_four_terms(executed):
    from greenaolo.aolo.config import AoloConfig
    from greenaolo.aolo.figures import policy_carbon_table
    from greenaolo.aolo.evaluation import evaluate_policy

    ds = read_dataset(executed / "data" / "aolo_carbon_model.nc")
    table = policy_carbon_table(ds)
    terms = ["inference_operational", "inference_embodied", "communication_operational", "communication_embodied"]
    np.testing.assert_allclose(table["total"], table[terms].sum(axis=1), rtol=1e-12)
    assert (table["total"] > 0.1).all()
    # ... and it is each policy's mean carbon, computed independently by evaluate_policy on the same requests.
    for policy in table.index:
        direct = evaluate_policy(policy, AoloConfig(), ds.sizes["request"], ds.attrs["evaluation_seed"])
        assert table.loc[policy, "total"] == pytest.approx(float(direct.carbon_g), rel=1e-9), policy
    # The notebook shows that table, totals included.
    html = [o["data"]["text/html"] for o in outputs(executed / "executed" / "aolo_carbon_model.ipynb")
            if "text/html" in o.get("data", {})]
    assert any(f"{table.loc['oracle', 'total']:.4f}" in "".join(h) for h in html)


@pytest.mark.parametrize("name", FIGURES)
def test_notebook_writes_its_dataset_and_figure(executed, name):
    ds = read_dataset(executed / "data" / f"{name}.nc")
    assert ds.attrs["profile"] == "quick" and ds.attrs["figure"] == name
    assert json.loads(ds.attrs["parameters"])["profile"] == "quick"
    for ext in ("png", "pdf"):
        assert (executed / f"{name}.{ext}").stat().st_size > 10_000
    assert all("long_name" in var.attrs for var in ds.data_vars.values())
    assert dataset_units_problems(ds) == []  # CF units, in every dataset a notebook writes
    assert not list(executed.glob("**/.*.tmp"))  # no temporary file left, in data/ either


@pytest.mark.parametrize("name", FIGURES)
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
    with pytest.raises(ParameterError, match=r"parameter profile='medium' is invalid: valid range is one of '', 'quick', 'full'"):
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


def test_run_accepts_an_edited_copy_and_finds_its_spec_in_its_metadata(tmp_path):
    copies = tmp_path / "mine"
    result = runner.invoke(app, ["notebooks", "--copy", str(copies)])
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in copies.glob("*.ipynb")) == sorted(NOTEBOOKS)
    again = runner.invoke(app, ["notebooks", "--copy", str(copies)])
    assert again.exit_code == 2 and "use --force" in again.output
    nb = json.loads((copies / "greenllm_table1.ipynb").read_text())
    nb["cells"][-1]["source"] = ["print('edited by a user', params['seed'])"]
    edited = tmp_path / "my table.ipynb"
    edited.write_text(json.dumps(nb))
    bad = runner.invoke(app, ["run", str(edited), "-p", "seed", "-1", "--output-dir", str(tmp_path / "out")])
    assert bad.exit_code == 2 and "seed=-1 is out of range" in bad.output  # greenllm_table1's own checks
    executed_nb = run_notebook(edited, {"seed": 7}, profile="quick", output_dir=tmp_path / "out",
                               executed_dir=tmp_path / "ex", progress=False)
    assert executed_nb == tmp_path / "ex" / "my table.ipynb"
    assert any("edited by a user 7" in o.get("text", "") for o in outputs(executed_nb))


def test_a_notebook_that_cannot_be_found_is_one_line_and_leaves_nothing(tmp_path):
    stray = tmp_path / "x.ipynb"
    stray.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    not_json = tmp_path / "broken.ipynb"
    not_json.write_text("{")
    for notebook, message in (("nosuch", "unknown notebook 'nosuch'"),
                              (str(tmp_path / "missing.ipynb"), "does not exist"),
                              (str(stray), "is not a greenaolo notebook"),
                              (str(not_json), "is not a readable notebook")):
        with pytest.raises(NotebookNotFoundError, match=message):
            run_notebook(notebook, profile="quick", output_dir=tmp_path / "out", executed_dir=tmp_path / "ex")
        result = runner.invoke(app, ["run", notebook, "--output-dir", str(tmp_path / "out"),
                                     "--executed-dir", str(tmp_path / "ex")])
        assert result.exit_code == 2 and message in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb", "x.ipynb"]


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
    assert (tmp_path / "m1.png").exists()  # in the figures tree, named after the dataset
    bad = runner.invoke(app, ["greenllm", "solve", "--psi-water", "0.1"])  # below the least water possible
    assert bad.exit_code == 2 and "water budget (constraint 6)" in bad.output


def test_cli_greenllm_solve_json_and_python_m():
    result = runner.invoke(app, ["greenllm", "solve", "--model", "M0", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert set(summary) >= {"energy_cost", "carbon_cost", "delay_cost", "total_cost", "emissions_kg", "water_l", "solver"}
    assert round(summary["total_cost"], 2) == 392.08
    bad = runner.invoke(app, ["greenllm", "solve", "--psi-theta", "-1"])
    assert bad.exit_code == 2 and "psi_theta=-1.0 is out of range: expected a number in [0, 1000]" in bad.output
    bad = runner.invoke(app, ["greenllm", "solve", "--lexicographic", "energy,water,delay"])
    assert bad.exit_code == 2 and "must be a permutation" in bad.output
    help_text = subprocess.run([sys.executable, "-m", "greenaolo", "--help"], capture_output=True, text=True, check=True)
    assert "greenllm" in help_text.stdout


# --- what each Green-LLM study's dataset must satisfy (checked on the quick run) -------------------------

def test_fig1_sweeps_match_direct_solves_and_order_the_models(executed):
    from greenaolo.greenllm.optimise import solve
    from greenaolo.greenllm.scenario import Scaling, paper_scenario

    ds = read_dataset(executed / "data" / "greenllm_fig1.nc")
    psi = float(ds.psi_theta[-1])
    direct = solve(paper_scenario(42, Scaling(theta=psi)), "M0", solver="highs")
    assert float(ds.theta_total_cost.sel(model="M0", psi_theta=psi)) == pytest.approx(float(direct.total_cost), rel=1e-7)
    # M0 minimises exactly the reported total, so it is never beaten; M2 minimises the carbon tax.
    for prefix in ("theta", "pw"):
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
    solved = ds.total_cost.notnull()
    assert bool((ds.total_cost >= lp - 1e-6).where(solved, True).all())
    # A variant without an incumbent at the (tiny) time limit is recorded as such, never as a cost.
    assert bool(((ds.solver == "none") == ~solved).all())


def test_milp_bounds_gaps_and_placements_are_consistent(executed):
    ds = read_dataset(executed / "data" / "greenllm_milp.nc")
    solved = ds.total_cost.notnull()
    assert bool(((ds.cost_bound <= ds.total_cost * (1 + 1e-9)) | ~solved).all())  # a bound, never above the cost
    done = ds.optimal == 1
    assert bool((ds.mip_gap <= ds.attrs["mip_gap_target"] + 1e-9).where(done, True).all())
    assert bool((ds.size_mip_gap <= ds.attrs["mip_gap_target"] + 1e-9).where(ds.size_optimal == 1, True).all())
    assert ds.sizes["size"] >= 1 and bool((ds.size_n_variables > 0).where(ds.size_total_cost.notnull(), True).all())
    if "placement" in ds:  # only placed models serve; each is downloaded once
        assert bool(((ds.served < 1e-6) | (ds.placement > 0.5)).all())
        for variant in ds.placed_variant.values:
            placed = ds.placement.sel(placed_variant=variant)
            assert float(ds.downloads.sel(variant=variant)) == pytest.approx(float(placed.isel(time=0).sum()))
            # every query of the paper's day is served (the MILP extension without unmet demand)
            assert float(ds.served.sel(placed_variant=variant).sum()) == pytest.approx(692_248, rel=1e-6)


def test_latency_quantiles_are_ordered(executed):
    ds = read_dataset(executed / "data" / "greenllm_latency.nc")
    assert bool((ds.latency_quantile.diff("quantile") >= 0).all())
    assert bool((ds.mean_latency < ds.mean_aggregate_delay).all())  # the aggregate "delay" is not a latency
    total = ds.queries.sum("latency_bin")
    np.testing.assert_allclose(total, 692_248, rtol=1e-6)


# --- the HTML report, built from the quick run's executed notebooks ---------------------------------------

def test_report_builds_offline_with_every_page_its_figure_claim_and_provenance(executed, tmp_path):
    import re
    from pathlib import Path

    from greenaolo.report import build_report, figure_table

    readme = Path(__file__).resolve().parent.parent / "README.md"
    index = build_report(executed / "executed", executed / "data", tmp_path / "report", readme=readme)
    html = index.parent
    rows = figure_table(readme)
    assert [r.output for r in rows] == [r.output for r in rows if r.output in FIGURES] and len(rows) == len(FIGURES)
    front = index.read_text()
    for row in rows:
        assert f'href="notebooks/{row.output}.html"' in front
        page = (html / "notebooks" / f"{row.output}.html").read_text()
        images = re.findall(r'<img[^>]+src="([^"]+)"', page)
        assert images and all((html / "notebooks" / src).resolve().is_file() for src in images), row.output
        dataset = read_dataset(executed / "data" / f"{row.output}.nc")
        assert dataset.attrs["git_commit"] in page and "The paper" in page
    # Every link to the docs resolves: the page exists in the site and carries the anchor.
    links = 0
    for page in html.rglob("*.html"):
        for href in re.findall(r'href="([^"]*docs/[^"]*)"', page.read_text()):
            target, _, anchor = href.partition("#")
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.name}: {href} leads nowhere"
            assert not anchor or f'id="{anchor}"' in path.read_text(), f"{page.name}: {href} has no anchor"
            links += 1
    assert links >= 5
    assert "full-profile result" in (html / "notebooks" / "greenllm_table2.html").read_text()  # Sphinx curls the quote
    assert "the <code class=\"docutils literal notranslate\"><span class=\"pre\">quick</span></code> profile" in (
        html / "notebooks" / "greenllm_table2.html").read_text()
    # Nothing is fetched by a page: no script, style or image from another host.
    for page in html.rglob("*.html"):
        text = page.read_text()
        remote = re.findall(r'<(?:script|img)[^>]+src="(https?:)?//[^"]*"|<link[^>]+href="(?:https?:)?//[^"]*"', text)
        assert not remote, f"{page.name} loads {remote}"


@pytest.mark.parametrize("name", ["greenllm_table1", "aolo_carbon_model"])
def test_executed_notebook_dataset_and_figure_carry_the_same_provenance(executed, name):
    import re

    from PIL import Image

    keys = ("greenaolo_version", "git_commit", "installed_from")
    notebook = json.loads((executed / "executed" / f"{name}.ipynb").read_text())["metadata"]["greenaolo"]["provenance"]
    dataset = read_dataset(executed / "data" / f"{name}.nc").attrs
    png = Image.open(executed / f"{name}.png").text
    subject = re.search(rb"/Subject \((.*?)(?<!\\)\)", (executed / f"{name}.pdf").read_bytes(), re.S).group(1)
    pdf = json.loads(subject.decode().replace("\\(", "(").replace("\\)", ")"))
    for key in keys:
        assert notebook[key] == dataset[key] == png[key] == pdf[key], key
    assert dataset["git_commit"] != "unknown" and png["created"] == dataset["created"]


@pytest.mark.slow
def test_two_notebooks_started_at_once_in_one_folder_both_run(tmp_path):
    """``make -j2`` starts two kernels at the same moment from one folder: each has its own sockets."""
    procs = [subprocess.Popen([sys.executable, "-m", "greenaolo", "run", "greenllm_table1", "--profile", "quick",
                               "--output-dir", str(tmp_path / f"out{i}"), "--executed-dir", str(tmp_path / f"ex{i}")],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err and "Invalid Signature" not in err
    assert all((tmp_path / f"out{i}" / "greenllm_table1.png").exists() for i in range(3))
    assert not list(tmp_path.glob("kernel*"))  # no socket files left in the working folder
