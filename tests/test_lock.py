"""requirements.lock: every package pinned with hashes, satisfying pyproject.toml, installed as locked; the
datasets record the versions that decide their numbers; `greenaolo doctor` says when the environment drifts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def _locked() -> dict[str, str]:
    text = LOCK.read_text()
    blocks = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
    pinned = re.findall(r"^([A-Za-z0-9_.\-]+)==", text, re.M)
    assert len(blocks) == len(pinned), "a locked package without its hashes"
    return {canonicalize_name(name): version for name, version, _ in blocks}


def test_the_lock_satisfies_pyproject_and_leaves_out_only_torch():
    locked = _locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"] + project["optional-dependencies"]["lab"]
    for line in requirements:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name == "torch":  # installed first, by itself (its build depends on the index: TORCH_INDEX)
            assert name not in locked
            continue
        assert name in locked, f"{req.name} is required but not locked: run make lock"
        assert req.specifier.contains(locked[name], prereleases=True), f"{req.name}=={locked[name]} violates {req}"
    assert not [n for n in locked if n.startswith("nvidia") or n.startswith("cuda")]  # no CUDA in a CPU setup


def test_the_environment_has_the_locked_versions():
    """What make setup installed is what the lock says (a fresh clone in CI runs this)."""
    differ = {}
    for name, version in _locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differ[name] = (version, installed)
    assert not differ, f"installed versions differ from requirements.lock (locked, installed): {differ}"


def test_datasets_record_the_versions_that_decide_their_numbers():
    from greenaolo.io import DECIDING_PACKAGES, provenance

    versions = json.loads(provenance()["package_versions"])
    assert set(versions) == set(DECIDING_PACKAGES)
    assert versions["highspy"] == metadata.version("highspy") and versions["torch"] == metadata.version("torch")


def test_doctor_names_a_package_that_differs_from_the_lock(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK.read_text().replace(f"numpy=={metadata.version('numpy')} ", "numpy==0.0.1 "))
    done = subprocess.run([sys.executable, "-m", "greenaolo", "doctor", "--lock", str(lock)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and f"numpy: locked 0.0.1, installed {metadata.version('numpy')}" in done.stdout
    done = subprocess.run([sys.executable, "-m", "greenaolo", "doctor", "--lock", str(LOCK)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "every locked package is installed at its locked version" in done.stdout
