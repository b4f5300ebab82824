"""The package as a user installs it: a wheel, in a fresh virtual environment outside the repository.

Slow (a full install of the dependencies, from pip's cache when it has them), so one test does it all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from greenaolo.notebooks import NOTEBOOKS

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with this environment's setuptools (no download).
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, ROOT, cwd=out)
    (found,) = out.glob("greenaolo-*.whl")
    return found


def test_the_wheel_ships_every_notebook_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"greenaolo/notebook_files/{n}.ipynb" for n in NOTEBOOKS} <= names
    hyperparams = ROOT / "greenaolo" / "aolo" / "hyperparams"
    data = [p for p in hyperparams.rglob("*") if p.suffix in (".yaml", ".journal")]
    assert {"agents.yaml", "tuning.yaml", "tuned.yaml"} <= {p.name for p in data}
    assert {f"greenaolo/aolo/hyperparams/{p.relative_to(hyperparams)}" for p in data} <= names  # studies/ too
    assert "greenaolo/greenllm/data/carbon_intensity_2024_lifecycle.csv.gz" in names
    assert not [n for n in names if n.startswith(("notebooks/", "tests/"))]


def test_a_wheel_in_a_fresh_venv_runs_a_notebook_and_registers_the_environment(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # torch first, pinned: an unpinned torch pulls a CUDA build of several GB. --no-compile: Python compiles
    # what it imports anyway; byte-compiling every installed file up front is most of an install's time
    # (torch alone, one after the other on a busy machine: 48 s compiled, 18 s with --no-compile).
    _run(py, "-m", "pip", "install", "--quiet", "--no-compile", "torch==2.13.0", cwd=tmp_path, env=env)
    _run(py, "-m", "pip", "install", "--quiet", "--no-compile", wheel, cwd=tmp_path, env=env)

    work = tmp_path / "user"  # nowhere near the repository
    work.mkdir()
    where = _run(py, "-c", "import greenaolo; print(greenaolo.__file__)", cwd=work, env=env).stdout
    assert str(venv) in where and str(ROOT) not in where

    listing = _run(venv / "bin" / "greenaolo", "notebooks", cwd=work, env=env).stdout
    assert "greenllm_table1" in listing and str(venv) in listing.splitlines()[0]

    _run(venv / "bin" / "greenaolo", "run", "greenllm_table1", "--profile", "quick", cwd=work, env=env)
    assert (work / "figures" / "greenllm_table1.png").stat().st_size > 10_000
    executed = json.loads((work / "build" / "notebooks" / "greenllm_table1.ipynb").read_text())
    assert any("image/png" in o.get("data", {}) for c in executed["cells"] for o in c.get("outputs", []))

    code = ("import gymnasium, greenaolo; env = gymnasium.make('greenaolo/Aolo-v0'); "
            "obs, _ = env.reset(seed=0); print(env.observation_space.contains(obs))")
    assert _run(py, "-c", code, cwd=work, env=env).stdout.strip() == "True"

    failed = subprocess.run([venv / "bin" / "greenaolo", "run", "nosuch"], cwd=work, env=env, capture_output=True,
                            text=True)
    assert failed.returncode == 2 and "unknown notebook 'nosuch'" in failed.stderr
    assert sorted(p.name for p in work.iterdir()) == ["build", "figures"]
