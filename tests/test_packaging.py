"""The repository's own promises: dependency lists in step, notebooks without outputs, specs match cells."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from greenaolo.notebooks import KERNELSPEC, NOTEBOOKS, defaults_in_notebook, figure_notebooks

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"pytorch": "torch", "netcdf4": "netcdf4", "python-build": "build"}


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
    assert files == set(NOTEBOOKS)
    assert {n for n in NOTEBOOKS if n.startswith("explore_")} == {n for n, s in NOTEBOOKS.items() if s.kind == "exploration"}


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_open_clean_in_jupyterlab_with_the_installed_kernel(path):
    """JupyterLab marks a notebook modified when its kernelspec differs from the kernel's own; the spec's
    name in the metadata lets an edited copy under another name run with the same checks."""
    from jupyter_client.kernelspec import KernelSpecManager

    installed = KernelSpecManager().get_kernel_spec(KERNELSPEC["name"])
    metadata = nbformat.read(path, as_version=4).metadata
    assert metadata.kernelspec == {"display_name": installed.display_name, "language": installed.language,
                                   "name": KERNELSPEC["name"]}
    assert metadata.greenaolo == {"notebook": path.stem}


def test_notebooks_cite_nothing_outside_the_repository():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        text = path.read_text()
        assert "papers/" not in text and "../shared" not in text, path.name
        for doc in re.findall(r"docs/[\w/.-]+\.md", text):
            assert (ROOT / doc).is_file(), f"{path.name} cites {doc}, which does not exist"


def test_setuptools_packages_are_every_package_folder_and_the_notebooks():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "greenaolo").rglob("*")
               if p.suffix in (".py", ".yaml", ".csv") and "__pycache__" not in p.parts}
    assert listed == folders | {"greenaolo.notebook_files"}


def test_import_greenaolo_registers_the_environment():
    import subprocess
    import sys

    code = ("import gymnasium, greenaolo; env = gymnasium.make('greenaolo/Aolo-v0'); "
            "print(env.observation_space.shape); env2 = gymnasium.make('greenaolo:greenaolo/Aolo-v0')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    shorthand = "import gymnasium; gymnasium.make('greenaolo:greenaolo/Aolo-v0')"  # greenaolo not imported first
    subprocess.run([sys.executable, "-c", shorthand], capture_output=True, text=True, check=True)


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
    assert sorted(listed) == figure_notebooks()
    # Every notebook that reads trained runs is in the list that depends on them.
    assert sorted(agents) == [n for n in figure_notebooks() if "runs_dir" in {p.name for p in NOTEBOOKS[n].params}]


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
