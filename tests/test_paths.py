"""One home for the outputs whatever the working directory, notebooks that open clean, and Make stamps that
ignore what JupyterLab rewrites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenaolo import paths
from greenaolo.notebooks import KERNELSPEC, NOTEBOOKS, ParameterError, check_parameters, notebook_source, params_table

ROOT = Path(__file__).resolve().parent.parent


def test_the_home_is_the_checkouts_figures_from_any_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.OUTPUT_DIR_VARIABLE, raising=False)
    assert paths.checkout_root() == ROOT
    for folder in (ROOT / "notebooks", tmp_path):  # where JupyterLab starts a kernel, and anywhere else
        monkeypatch.chdir(folder)
        assert paths.output_dir() == ROOT / "figures"
        assert paths.runs_dir() == ROOT / "figures" / "data" / "aolo_runs"
        params = check_parameters("greenllm_table1", profile="quick", output_dir="")
        assert params["output_dir"] == str(ROOT / "figures")


def test_the_environment_variable_wins_and_a_wheel_uses_the_current_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.OUTPUT_DIR_VARIABLE, str(tmp_path / "mine"))
    assert paths.output_dir() == tmp_path / "mine"
    monkeypatch.setenv(paths.OUTPUT_DIR_VARIABLE, "  ")
    with pytest.raises(ValueError, match="GREENAOLO_OUTPUT_DIR is set but empty"):
        paths.output_dir()
    with pytest.raises(ParameterError, match="parameter output_dir='': GREENAOLO_OUTPUT_DIR is set but empty"):
        check_parameters("greenllm_table1", output_dir="")
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(paths.OUTPUT_DIR_VARIABLE, str(tmp_path / "file"))
    with pytest.raises(ValueError, match="is a file, not a folder"):
        paths.output_dir()
    monkeypatch.delenv(paths.OUTPUT_DIR_VARIABLE)
    monkeypatch.setattr(paths, "checkout_root", lambda: None)  # as from an installed wheel
    monkeypatch.chdir(tmp_path)
    assert paths.output_dir() == tmp_path / "figures"


def test_the_default_profile_is_the_last_reproduced_else_quick(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "checkout_root", lambda: tmp_path)
    assert paths.default_profile() == "quick"
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "profile").write_text("full\n")
    assert paths.default_profile() == "full"
    assert check_parameters("greenllm_fig1", profile="")["profile"] == "full"
    (tmp_path / "build" / "profile").write_text("nonsense\n")  # never trusted
    assert paths.default_profile() == "quick"


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebooks_carry_the_metadata_the_kernel_writes(name):
    """JupyterLab marks a notebook modified when the kernel's language_info differs from the file's."""
    from ipykernel.ipkernel import IPythonKernel

    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    assert nb["metadata"]["kernelspec"] == KERNELSPEC
    assert nb["metadata"]["language_info"] == IPythonKernel.language_info
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert 'profile, output_dir = params["profile"], params["output_dir"]' in code  # the resolved home


def test_a_notebook_saved_with_outputs_keeps_its_source_stamp(tmp_path):
    source = ROOT / "notebooks" / "greenllm_table1.ipynb"
    nb = json.loads(source.read_text())
    before = notebook_source(source)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]
            cell["execution_count"] = 7
    nb["metadata"]["widgets"] = {"state": {}}
    saved = tmp_path / "saved.ipynb"
    saved.write_text(json.dumps(nb))
    assert notebook_source(saved) == before
    nb["cells"][-1]["source"] = ["print('edited')"]
    saved.write_text(json.dumps(nb))
    assert notebook_source(saved) != before


def test_string_parameters_are_listed_as_text():
    rows = {(name, p): valid for name, p, _, _, valid in params_table()}
    assert rows[("greenllm_fig1", "scheduler")] == "any text"
    assert rows[("greenllm_fig1", "profile")] == "one of '', 'quick', 'full'"
    assert not [v for v in rows.values() if "[-inf, inf]" in v]


def test_a_notebook_in_jupyterlab_says_what_it_would_train_and_trains_nothing(monkeypatch, tmp_path):
    from greenaolo.aolo.runs import MissingRunsError, ensure_runs

    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "aolo_benchmark.ipynb"))  # JupyterLab sets it
    monkeypatch.delenv("GREENAOLO_TRAIN_IN_LAB", raising=False)
    with pytest.raises(MissingRunsError, match=r"^4 quick-profile default runs are missing or stale in .*"
                                               r"\(sac, sdrl; seeds \[0, 1\]\): training them takes about"):
        ensure_runs(tmp_path, profile="quick", seeds=[0, 1])
    assert list(tmp_path.iterdir()) == []
