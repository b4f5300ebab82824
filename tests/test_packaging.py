"""The repository's own promises: dependency lists in step, notebooks without outputs, specs match cells."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from greenaolo.notebooks import NOTEBOOKS, defaults_in_notebook

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"pytorch": "torch", "netcdf4": "netcdf4"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_pyproject_and_environment_yml_list_the_same_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda = set()
    for entry in env:
        if isinstance(entry, dict):
            conda |= {_name(r) for r in entry["pip"] if not r.startswith("-e")}
        elif _name(entry) not in ("python", "pip"):
            conda.add(CONDA_TO_PYPI.get(_name(entry), _name(entry)))
    assert conda == pypi, f"only in environment.yml: {conda - pypi}; only in pyproject.toml: {pypi - conda}"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs: run nbstripout"


def test_every_notebook_file_has_a_spec_and_every_spec_a_file():
    files = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    figures = {name for name in files if not name.startswith("explore_")}
    assert figures == set(NOTEBOOKS)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_parameters_cell_matches_the_spec(name):
    found = defaults_in_notebook(name)
    spec = {p.name: p.default for p in NOTEBOOKS[name].all_params}
    assert found == spec


def test_makefile_builds_every_figure_notebook():
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^FIGURE_NOTEBOOKS := (.*)$", makefile, re.M).group(1).split()
    agents = re.search(r"^AOLO_AGENT_NOTEBOOKS := (.*)$", makefile, re.M).group(1).split()
    assert "$(AOLO_AGENT_NOTEBOOKS)" in listed
    listed = [n for n in listed if n != "$(AOLO_AGENT_NOTEBOOKS)"] + agents
    assert sorted(listed) == sorted(NOTEBOOKS)
    # Every notebook that reads trained runs is in the list that depends on them.
    assert sorted(agents) == sorted(n for n in NOTEBOOKS if "runs_dir" in {p.name for p in NOTEBOOKS[n].params})


def test_trained_runs_depend_on_every_module_training_imports():
    """A change to any module a training run imports retrains (Make's AOLO_TRAIN_LIB); none is left out."""
    import subprocess
    import sys

    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^AOLO_TRAIN_LIB := \$\(SHARED\) \$\(addprefix greenaolo/aolo/,(.*)\)$", makefile, re.M).group(1)
    listed = {f"greenaolo/aolo/{name}" for name in listed.split()}
    code = ("import sys, greenaolo.aolo.runs; print('\\n'.join(m.__file__ for n, m in sys.modules.items() "
            "if n.startswith('greenaolo.aolo') and getattr(m, '__file__', None)))")
    files = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    imported = {str(Path(f).resolve().relative_to(ROOT)) for f in files}
    assert imported, "no greenaolo.aolo module imported"
    assert imported <= listed, sorted(imported - listed)
    assert "greenaolo/aolo/hyperparams/agents.yaml" in listed
