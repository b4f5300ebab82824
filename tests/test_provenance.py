"""Provenance: the commit survives a fresh clone's slow git filter; executed notebook, dataset and figure agree;
pip's record of where the package came from; no temporary file outlives a killed writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from greenaolo import io

ROOT = Path(__file__).resolve().parent.parent


def test_a_fresh_clone_with_the_notebook_filter_records_its_commit(tmp_path):
    """``make setup`` installs nbstripout as a git filter; the first ``git status`` of a fresh clone runs it
    on every racily clean notebook, which took over a minute on a loaded machine. A filter made slow on
    purpose here must not cost the dataset its commit."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "nbstripout", "--install"], cwd=clone, check=True)  # as make setup
    clean = subprocess.run(["git", "config", "filter.nbstripout.clean"], cwd=clone, capture_output=True, text=True,
                           check=True).stdout.strip()
    subprocess.run(["git", "config", "filter.nbstripout.clean", f"sleep 30; {clean}"], cwd=clone, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True,
                          check=True).stdout.strip()
    # The clone is racily clean now (checked out this second): git would run the filter on every notebook.
    assert io.git_commit(clone) == head  # its commit, clean: nothing in the clone differs from it
    (clone / "README.md").write_text("changed")
    assert io.git_commit(clone) == head + "+dirty"


def test_the_commit_is_kept_when_the_dirty_check_fails(tmp_path, monkeypatch):
    real = io._git

    def broken_status(cwd, *args, **kwargs):
        if args[0] == "status":
            raise subprocess.TimeoutExpired("git status", 10)
        return real(cwd, *args, **kwargs)

    monkeypatch.setattr(io, "_git", broken_status)
    commit = io.git_commit()
    assert commit.endswith("+unchecked") and len(commit) == 40 + len("+unchecked")


class _Dist:
    def __init__(self, text):
        self.text = text

    def read_text(self, name):
        assert name == "direct_url.json"
        return self.text


@pytest.mark.parametrize("record, expected", [
    ({"url": "file:///src/greenaolo", "dir_info": {"editable": True}}, "file:///src/greenaolo (editable)"),
    ({"url": "file:///dist/greenaolo-0.1.0-py3-none-any.whl", "archive_info": {"hashes": {"sha256": "ab12"}}},
     "file:///dist/greenaolo-0.1.0-py3-none-any.whl sha256=ab12"),
    ({"url": "https://github.com/x/greenaolo", "vcs_info": {"vcs": "git", "commit_id": "c0ffee"}},
     "https://github.com/x/greenaolo git c0ffee"),
    (None, "unknown"),
])
def test_installed_from_reads_pips_direct_url_record(monkeypatch, record, expected):
    import importlib.metadata

    text = None if record is None else json.dumps(record)
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: _Dist(text))
    assert io.installed_from() == expected


def test_stale_temporary_files_of_killed_writers_are_removed_on_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    target = tmp_path / "x.nc"
    stale = tmp_path / f".x.nc.{dead.pid}.k1ll3d.tmp"
    legacy = tmp_path / ".x.nc.abcdef.tmp"  # the old naming, without a process id
    live = tmp_path / f".x.nc.{os.getpid()}.writing.tmp"  # a writer still at work (this process)
    other = tmp_path / f".y.nc.{dead.pid}.k1ll3d.tmp"  # another output's: not ours to remove
    for f in (stale, legacy, live, other):
        f.write_bytes(b"partial")
    io.write_dataset(xr.Dataset({"a": ("x", np.arange(3.0), {"units": "1"})}), target, profile="quick", figure="f")
    assert target.exists()
    assert not stale.exists() and not legacy.exists()
    assert live.exists() and other.exists()


def test_a_figure_is_saved_as_a_complete_pair_or_not_at_all(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from greenaolo.plotting import save_figure

    fig = plt.figure()
    real = fig.savefig

    def png_fails(fname, *args, format=None, **kwargs):
        if format == "png":
            raise KeyboardInterrupt
        return real(fname, *args, format=format, **kwargs)

    monkeypatch.setattr(fig, "savefig", png_fails)
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, "f", tmp_path)
    assert list(tmp_path.iterdir()) == []  # no PDF without its PNG, no temporary file
