"""Datasets on disk: values and attributes survive a round trip; an interrupted write leaves nothing."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import xarray as xr

from greenaolo import io


def sample() -> xr.Dataset:
    return xr.Dataset(
        {"cost": (("method", "hour"), np.arange(6.0).reshape(2, 3), {"units": "USD", "long_name": "cost"})},
        coords={"method": ["M0", "M1"], "hour": [0, 1, 2]},
        attrs={"config": {"a": 1}, "flag": True, "note": None},
    )


def test_round_trip_keeps_values_and_attributes(tmp_path):
    path = io.write_dataset(sample(), tmp_path / "data" / "x.nc", profile="quick", figure="fig",
                            parameters={"seed": 3, "psi": 0.5}, seeds=[3, 4], solver="highs")
    ds = io.read_dataset(path)
    np.testing.assert_array_equal(ds.cost.values, sample().cost.values)
    assert list(ds.method.values) == ["M0", "M1"]
    assert ds.cost.attrs == {"units": "USD", "long_name": "cost"}
    assert json.loads(ds.attrs["config"]) == {"a": 1} and ds.attrs["flag"] == 1 and ds.attrs["note"] == "none"
    assert ds.attrs["profile"] == "quick" and ds.attrs["solver"] == "highs" and ds.attrs["figure"] == "fig"
    assert json.loads(ds.attrs["seeds"]) == [3, 4]
    assert json.loads(ds.attrs["parameters"]) == {"seed": 3, "psi": 0.5}
    for key in io.PROVENANCE_KEYS:
        assert key in ds.attrs
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty|\+unchecked)?|unknown", ds.attrs["git_commit"])
    assert ds.attrs["Conventions"] == "CF-1.10"
    assert ds.attrs["history"].startswith(ds.attrs["created"]) and "figure fig, profile quick" in ds.attrs["history"]


def test_interrupted_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "x.nc"

    def broken(self, target, *args, **kwargs):
        with open(target, "wb") as fh:  # half a file, then the interruption
            fh.write(b"CDF\x01 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(KeyboardInterrupt):
        io.write_dataset(sample(), path, profile="full", figure="fig")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    io.write_dataset(sample(), path, profile="full", figure="fig")
    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(KeyboardInterrupt):
        io.write_dataset(sample().assign(cost=lambda d: d.cost * 0), path, profile="full", figure="fig")
    assert [p.name for p in tmp_path.iterdir()] == ["x.nc"]
    monkeypatch.undo()
    assert float(io.read_dataset(path).cost.sum()) == 15.0


def test_reader_checks_provenance(tmp_path):
    bare = tmp_path / "bare.nc"
    sample().drop_attrs().to_netcdf(bare, engine="netcdf4")
    with pytest.raises(io.ProvenanceError, match=r"bare\.nc: provenance attributes missing: \['greenaolo_version'"):
        io.read_dataset(bare)
    assert io.read_dataset(bare, check=False).cost.shape == (2, 3)
    bad = tmp_path / "bad.nc"
    io.write_dataset(sample(), bad, profile="quick", figure="f")
    ds = io.read_dataset(bad).assign_attrs(seeds="not json")
    ds.to_netcdf(tmp_path / "bad2.nc", engine="netcdf4")
    with pytest.raises(io.ProvenanceError, match="attribute 'seeds' is not JSON"):
        io.read_dataset(tmp_path / "bad2.nc")
    with pytest.raises(FileNotFoundError):
        io.read_dataset(tmp_path / "absent.nc")


def test_bad_profile_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match=r"profile='medium' is invalid: expected one of \('quick', 'full'\)"):
        io.write_dataset(sample(), tmp_path / "x.nc", profile="medium", figure="f")
    assert not (tmp_path / "x.nc").exists()


def test_written_files_have_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = io.write_dataset(sample(), tmp_path / "x.nc", profile="quick", figure="f")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # as open() would make it, not mkstemp's 0600


def test_git_commit_outside_a_repository_is_unknown(tmp_path):
    assert io.git_commit(tmp_path) == "unknown"


# UDUNITS strings the package's convention allows, each checked once with UDUNITS-2's own parser
# (udunits2 2.2.28) but "USD", the one documented exception; and strings it must refuse.
VALID_UNITS = ["1", "%", "s", "h", "m", "W", "L", "g", "kg", "pJ", "uJ/bit", "kW h", "g/(kW h)", "kg/(kW h)",
               "L/(kW h)", "d-1", "h-1", "s-1", "Mbit/s", "kbyte", "USD", "USD/L", "USD/kg", "USD/(kW h)", "USD/s",
               "hours since 2024-01-01", "days since 2024-02-15 00:00:00"]
INVALID_UNITS = ["$", "$/L", "gCO2e", "kgCO2", "gCO2e/kWh", "kWh", "kWh/slot", "words", "env steps", "queries/day",
                 "n/a", "spikes/(neuron step)", "1/s", "", "KB/token", "Mbps"]


@pytest.mark.parametrize("units", VALID_UNITS)
def test_units_of_the_convention_are_accepted(units):
    assert io.units_problem(units) is None


@pytest.mark.parametrize("units", INVALID_UNITS)
def test_units_outside_the_convention_are_refused_with_the_rule(units):
    assert f"units={units!r} is not a UDUNITS string" in io.units_problem(units)


def test_a_dataset_with_bad_or_missing_units_is_refused_before_writing(tmp_path):
    ds = sample()
    ds["emissions"] = ("method", [1.0, 2.0], {"units": "kgCO2", "long_name": "grid CO2 emissions"})
    ds["count"] = ("method", [3, 4], {"long_name": "a count without units"})
    ds["worker"] = ("method", np.array(["tcp://a:1", "serial"], dtype=object), {"long_name": "a label: no units"})
    problems = io.dataset_units_problems(ds)
    assert [p.split(":")[0] for p in problems] == ["emissions", "count"]
    with pytest.raises(ValueError, match=r"2 variable\(s\) with invalid units: emissions: units='kgCO2'"):
        io.write_dataset(ds, tmp_path / "x.nc", profile="quick", figure="fig")
    assert not (tmp_path / "x.nc").exists()
    ds["emissions"].attrs["units"] = "kg"
    ds["count"].attrs["units"] = "1"
    assert io.dataset_units_problems(ds) == []
    io.write_dataset(ds, tmp_path / "x.nc", profile="quick", figure="fig")
