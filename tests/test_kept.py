"""Keeping a run's results with the code (greenaolo.kept): what is kept, its manifest, its budget, the redraw."""

from __future__ import annotations

import base64
import json

import nbformat
import numpy as np
import pytest
import xarray as xr

from greenaolo import kept
from greenaolo.io import write_dataset
from greenaolo.plotting import REGISTRY, new_figure


@pytest.fixture()
def a_run(tmp_path, monkeypatch):
    """A finished run as ``make reproduce`` leaves it: one figure's dataset and executed notebook (with its
    image), two trained runs' datasets."""
    def draw_square(ds):
        fig = new_figure((2, 2))
        fig.add_subplot().plot(ds.x.values, ds.x.values ** 2)
        return fig

    monkeypatch.setitem(REGISTRY, "test_square", draw_square)
    figures = tmp_path / "figures"
    write_dataset(xr.Dataset({"x": ("i", np.arange(5.0), {"units": "1"})}), figures / "data" / "test_square.nc", profile="quick",
                  figure="test_square")
    for seed in (0, 1):
        ds = xr.Dataset({name: ((), 0.1 * seed + i, {"units": "1"}) for i, name in enumerate(kept.RUN_SCALARS)},
                        coords={"step": [0, 600, 1200]})
        for i, name in enumerate(kept.RUN_CURVES):
            ds[name] = ("step", np.array([3.0, 2.0, 1.0]) * (i + 1) + seed, {"units": "1"})
        ds.attrs.update(algorithm="sac", variant="default", seed=seed)
        write_dataset(ds, figures / "data" / "aolo_runs" / f"sac_default_seed{seed}.nc", profile="quick",
                      figure="aolo_run")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("draw(ds)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(b"PNG").decode(),
                                                                 "text/plain": "<Figure>"}),
                    nbformat.v4.new_output("stream", text="M0 = 392.08 $/day\n")]
    nb.cells = [cell]
    nb.metadata["greenaolo"] = {"status": "completed"}
    nb.metadata["widgets"] = {"state": {}}
    (tmp_path / "executed").mkdir()
    nbformat.write(nb, tmp_path / "executed" / "test_square.ipynb")
    return figures, tmp_path / "executed"


def test_keep_stores_the_datasets_the_runs_table_and_the_notebooks_without_images(a_run, tmp_path):
    figures, executed = a_run
    folder = kept.keep(figures, executed, tmp_path / "results")
    assert folder == tmp_path / "results" / "quick"
    manifest = kept.check_kept(folder)
    name = "test_square"
    assert set(manifest["files"]) == {f"data/{name}.nc", "aolo_runs.csv.gz", f"notebooks/{name}.ipynb.gz"}
    assert manifest["profile"] == "quick" and manifest["total_bytes"] <= kept.BUDGET_BYTES["quick"]
    from greenaolo.io import read_dataset

    original, copy = read_dataset(figures / "data" / "test_square.nc"), read_dataset(folder / "data" / "test_square.nc")
    assert copy.identical(original) and copy.x.encoding["zlib"]  # compressed, without loss
    # the runs' table: the scalars and every curve point, by run
    import pandas as pd

    table = pd.read_csv(folder / "aolo_runs.csv.gz")
    scalars = table[table.step == -1].set_index("seed")
    assert scalars.loc[1, "carbon_g"] == pytest.approx(0.1) and scalars.loc[1, "gap_to_oracle"] == pytest.approx(6.1)
    curve = table[(table.seed == 1) & (table.step >= 0)].sort_values("step")
    assert curve.curve_carbon_g.tolist() == [7.0, 5.0, 3.0] and curve.step.tolist() == [0, 600, 1200]
    # the notebook: text kept, the image taken out and marked, widget state dropped
    nb = kept.read_notebook(folder / "notebooks" / "test_square.ipynb.gz")
    image, text = nb.cells[0].outputs
    assert "image/png" not in image["data"] and image["metadata"][kept.FIGURE_OUTPUT] is True
    assert text["text"] == "M0 = 392.08 $/day\n" and "widgets" not in nb.metadata
    # the report's redraw puts the figure drawn from the kept dataset back
    png = kept.figure_png(read_dataset(folder / "data" / "test_square.nc"))
    assert png.startswith(b"\x89PNG")
    back = kept.redraw_figures(nb, png)
    assert base64.b64decode(back.cells[0].outputs[0]["data"]["image/png"]) == png
    assert kept.FIGURE_OUTPUT not in back.cells[0].outputs[0]["metadata"]


def test_a_changed_kept_file_is_named(a_run, tmp_path):
    folder = kept.keep(*a_run, tmp_path / "results")
    path = folder / "data" / "test_square.nc"
    data = bytearray(path.read_bytes())
    data[-20] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(kept.KeptError, match="test_square.nc differs from what MANIFEST.json records"):
        kept.check_kept(folder)
    (folder / "extra.nc").write_bytes(b"")
    with pytest.raises(kept.KeptError, match="not in its manifest: \\['extra.nc'\\]"):
        kept.check_kept(folder)


def test_keep_refuses_over_budget_or_unfinished_and_leaves_the_kept_results_alone(a_run, tmp_path, monkeypatch):
    figures, executed = a_run
    folder = kept.keep(figures, executed, tmp_path / "results")
    before = (folder / "MANIFEST.json").read_text()
    monkeypatch.setitem(kept.BUDGET_BYTES, "quick", 1000)
    with pytest.raises(kept.KeptError, match="above the budget of 1,000; the largest: "):
        kept.keep(figures, executed, tmp_path / "results")
    assert (folder / "MANIFEST.json").read_text() == before and not (tmp_path / "results" / ".quick.new").exists()
    monkeypatch.undo()
    nb = nbformat.read(executed / "test_square.ipynb", as_version=4)
    nb.metadata["greenaolo"]["status"] = "interrupted"
    nbformat.write(nb, executed / "test_square.ipynb")
    with pytest.raises(kept.KeptError, match="did not finish"):
        kept.keep(figures, executed, tmp_path / "results")
    assert json.loads((folder / "MANIFEST.json").read_text()) == json.loads(before)


def test_compare_names_the_variables_that_differ_and_ignores_run_records(a_run, tmp_path):
    figures, executed = a_run
    folder = kept.keep(figures, executed, tmp_path / "results")
    assert kept.compare(figures / "data", folder / "data") == {"test_square": []}
    from greenaolo.io import read_dataset

    ds = read_dataset(figures / "data" / "test_square.nc")
    ds["point_seconds"] = ("i", np.arange(5.0), {"units": "s"})  # where and how long: not a result
    write_dataset(ds, tmp_path / "again" / "test_square.nc", profile="quick", figure="test_square")
    assert kept.compare(tmp_path / "again", folder / "data") == {"test_square": []}
    ds["x"] = ds.x.copy(data=ds.x.values + np.r_[0, 0, 0, 0, 1e-12])
    write_dataset(ds, tmp_path / "again" / "test_square.nc", profile="quick", figure="test_square")
    assert kept.compare(tmp_path / "again", folder / "data") == {"test_square": ["x"]}
    (tmp_path / "again" / "test_square.nc").unlink()
    assert kept.compare(tmp_path / "again", folder / "data") == {"test_square": ["missing"]}
