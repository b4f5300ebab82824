"""The browsable report: a static HTML site of the executed notebooks, built offline with Sphinx and myst-nb.

``make report`` (after ``make reproduce``) calls :func:`build_report`. Each figure notebook becomes one page:
its executed cells with their inline figure, the code folded, headed by the paper's claim and what our
full-profile run shows (the README's figure table, the one place those sentences live) and the
provenance of the dataset the page's figure was drawn from. The index page is that table, with links.

Why Sphinx + myst-nb: both install from PyPI and build with no network access; the theme (Furo) ships its
CSS and JS in its wheel. Jupyter Book 2 / mystmd downloads its theme at build time, and plain nbconvert
gives pages, not a site. Nothing on a page loads from a CDN: widget views (progress bars) are dropped
from the pages' copies, and myst-nb's widget scripts are switched off.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from greenaolo.notebooks import NOTEBOOKS, completed

__all__ = ["FigureRow", "ReportError", "build_report", "figure_table", "page_header", "site_size"]

#: The site's Sphinx configuration (written beside the pages' sources, so an installed package builds it too).
SPHINX_CONF = """\
project = "greenaolo"
html_title = "greenaolo: the reproduction"
extensions = ["myst_nb"]
nb_execution_mode = "off"  # the pages are the notebooks `make reproduce` executed
nb_ipywidgets_js = {}  # no widget scripts from a CDN
nb_merge_streams = True
html_theme = "furo"
html_show_sourcelink = False
html_copy_source = False
html_show_copyright = False
html_static_path = ["_static"]
html_css_files = ["greenaolo-site.css"]
myst_all_links_external = True  # every link is written as its final href (pages, docs and anchors)
suppress_warnings = ["myst.header"]
"""
#: Readable tables (pandas' default double borders off) and a wider index.
SITE_CSS = """\
table.dataframe, table.greenaolo-table { border-collapse: collapse; border: none; font-size: 0.85em; }
table.dataframe th, table.dataframe td { border: none; border-bottom: 1px solid #ddd; padding: 0.2em 0.6em; }
article table { font-size: 0.85em; }
@media (min-width: 82em) { .content { width: 60em; } }
"""
#: A link to one of the repository's docs (a Markdown file under the docs folder, with an optional anchor).
DOCS_LINK = re.compile(r"\]\((?:\.\./)?docs/([A-Za-z0-9_]+)\.md(#[A-Za-z0-9_-]+)?\)")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Dataset attributes shown in a page's provenance block, in this order.
PROVENANCE = ("created", "git_commit", "greenaolo_version", "profile", "solver", "seeds", "parameters")


class ReportError(RuntimeError):
    """The report cannot be built: a missing input, or Sphinx failed."""


@dataclass(frozen=True)
class FigureRow:
    """One row of the README's figure table: the output's name, the paper's claim, what our run shows."""

    output: str
    claim: str
    finding: str


def figure_table(readme: str | os.PathLike) -> list[FigureRow]:
    """The rows of the README's "Figures and tables" table (Markdown), in order.

    :raises ReportError: if the README has no such table.
    """
    text = Path(readme).read_text(encoding="utf-8")
    section = re.search(r"^## Figures and tables\n(.*?)(?=^## )", text, re.S | re.M)
    if section is None:
        raise ReportError(f"{readme} has no '## Figures and tables' section")
    rows = []
    for line in section.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows.append(FigureRow(cells[0].strip("`"), cells[2], cells[3]))
    if not rows:
        raise ReportError(f"{readme}: the 'Figures and tables' section has no table rows")
    return rows


def docs_links(markdown: str, prefix: str) -> str:
    """Links to a doc of the docs folder (with its anchor) rewritten to the site's copy of that page (``prefix`` is the way
    from the linking page to the site's root: ``""`` for the index, ``"../"`` for a notebook's page)."""
    return DOCS_LINK.sub(lambda m: f"]({prefix}docs/{m[1]}.html{m[2] or ''})", markdown)


def page_header(row: FigureRow, title: str, attrs: dict[str, object]) -> str:
    """The Markdown that heads a notebook's page: its title, the claim, the README's full-profile finding
    (labelled as such) and this page's own run: its profile and provenance."""
    profile = attrs.get("profile", "unknown")
    lines = [
        f"# {title}",
        "",
        f"**The paper's claim.** {docs_links(row.claim, '../')}",
        "",
        f"**The README's full-profile result** (not necessarily this page's run). {docs_links(row.finding, '../')}",
        "",
        f"**This page's run: the `{profile}` profile.** Its numbers and figure below are that run's; the figure "
        f"is drawn from the dataset `figures/data/{row.output}.nc`, whose attributes these are.",
        "",
        "| attribute | value |",
        "|---|---|",
    ]
    for key in PROVENANCE:
        if key in attrs:
            value = str(attrs[key]).replace("|", "\\|")
            lines.append(f"| `{key}` | `{value}` |")
    return "\n".join(lines)


def _page(nb: nbformat.NotebookNode, header: str) -> nbformat.NotebookNode:
    """The page's copy of an executed notebook: the header first, the notebook's own title dropped (the
    header repeats it), code folded, widget views (progress bars) and widget state removed."""
    page = copy.deepcopy(nb)
    page.metadata.pop("widgets", None)
    cells = list(page.cells)
    if cells and cells[0].cell_type == "markdown" and cells[0].source.lstrip().startswith("# "):
        first = cells[0].source.lstrip().split("\n", 1)
        cells[0].source = first[1].lstrip() if len(first) > 1 else ""
    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = docs_links(cell.source, "../")
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        cell.metadata["tags"] = sorted(tags | {"hide-input"})
        # A progress bar's view has no meaning off a live kernel, and its text is the bar's first state.
        cell.outputs = [o for o in cell.get("outputs", []) if WIDGET_VIEW not in o.get("data", {})]
    page.cells = [nbformat.v4.new_markdown_cell(header)] + cells
    return page


def build_report(
    executed_dir: str | os.PathLike = "build/notebooks",
    data_dir: str | os.PathLike = "figures/data",
    out_dir: str | os.PathLike = "build/report",
    *,
    readme: str | os.PathLike = "README.md",
    redraw: bool = False,
) -> Path:
    """Build the HTML site from the executed notebooks and their datasets; return its ``index.html``.

    :param executed_dir: the executed notebooks (``make reproduce`` writes them to ``build/notebooks``).
    :param data_dir: the datasets the notebooks wrote (their provenance heads each page).
    :param out_dir: ``out_dir/source`` gets the pages' sources, ``out_dir/html`` the site.
    :param readme: the README whose figure table gives each page's claim and finding, and the index.
    :param redraw: the notebooks are kept ones (:mod:`greenaolo.kept`), their images taken out: draw each
        page's figure again from its dataset.
    :raises ReportError: if a notebook of the table has not been executed, or Sphinx fails.
    """
    from greenaolo.io import read_dataset
    from greenaolo.kept import figure_png, read_notebook, redraw_figures

    executed_dir, data_dir, out_dir = Path(executed_dir), Path(data_dir), Path(out_dir)
    rows = figure_table(readme)
    def found(name: str) -> Path:  # an executed notebook, or a kept one (gzipped: greenaolo.kept)
        plain, kept = executed_dir / f"{name}.ipynb", executed_dir / f"{name}.ipynb.gz"
        return kept if kept.is_file() and not plain.is_file() else plain

    missing = [r.output for r in rows if not found(r.output).is_file()]
    if missing:
        raise ReportError(
            f"not executed yet: {', '.join(missing)} (run `make reproduce` first; looked in {executed_dir})")
    executed = {r.output: read_notebook(found(r.output)) for r in rows}  # read once
    unfinished = [r.output for r in rows if not completed(executed[r.output])]
    if unfinished:
        raise ReportError(f"did not finish (interrupted or failed): {', '.join(unfinished)} in {executed_dir}; "
                          "run `make reproduce` again")
    source = out_dir / "source"
    shutil.rmtree(source, ignore_errors=True)
    (source / "notebooks").mkdir(parents=True)
    profiles = set()
    for row in rows:
        ds = read_dataset(data_dir / f"{row.output}.nc")
        attrs = dict(ds.attrs)
        if redraw:
            executed[row.output] = redraw_figures(executed[row.output], figure_png(ds))
        stamp = executed[row.output].metadata.get("greenaolo", {}).get("dataset_created")
        if stamp is not None and stamp != str(attrs.get("created", "")):
            raise ReportError(f"{data_dir / (row.output + '.nc')} was written by another run than "
                              f"{executed_dir / (row.output + '.ipynb')} (created {attrs.get('created')}, the notebook "
                              f"wrote {stamp}): run `make reproduce` again")
        profiles.add(str(attrs.get("profile")))
        title = NOTEBOOKS[row.output].title if row.output in NOTEBOOKS else row.output
        page = _page(executed[row.output], page_header(row, title, attrs))
        nbformat.write(page, source / "notebooks" / f"{row.output}.ipynb")
    if len(profiles) > 1:
        raise ReportError(f"the datasets in {data_dir} come from several profiles ({', '.join(sorted(profiles))}): "
                          "run `make reproduce` with one profile first")
    (source / "index.md").write_text(_index(rows, sorted(profiles)), encoding="utf-8")
    (source / "conf.py").write_text(SPHINX_CONF, encoding="utf-8")
    (source / "_static").mkdir()
    (source / "_static" / "greenaolo-site.css").write_text(SITE_CSS, encoding="utf-8")
    docs = _docs_dir()
    if docs is not None:
        (source / "docs").mkdir()
        for page in sorted(docs.glob("*.md")):
            shutil.copyfile(page, source / "docs" / page.name)
    html = out_dir / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", str(source), str(html)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise ReportError(f"sphinx-build failed:\n{result.stderr.strip()}")
    return html / "index.html"


def _index(rows: list[FigureRow], profiles: list[str]) -> str:
    """The index page: the README's figure table, each output linked to its page, and the hidden toctree."""
    lines = [
        "# greenaolo: the reproduction, figure by figure",
        "",
        "Every figure and table of Green-LLM (Cheng & Nguyen, arXiv 2507.09942) and AOLO (Wang, Du, Gao & Kim, "
        "arXiv 2503.04418), and the studies beyond them, as executed by `make reproduce`. This table is the "
        "README's (its numbers are from the `full` profile); the pages were executed with the "
        f"`{'`, `'.join(profiles)}` profile, and each shows the notebook, its figure and its dataset's provenance.",
        "",
        "| Output | The paper's claim | What our full-profile run shows (README) |",
        "|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| [{r.output}](notebooks/{r.output}.html) | {docs_links(r.claim, '')} | {docs_links(r.finding, '')} |")
    docs = sorted(p.stem for p in _docs_dir().glob("*.md")) if _docs_dir() is not None else []
    lines += ["", "```{toctree}", ":hidden:", ""] + [f"notebooks/{r.output}" for r in rows]
    lines += [f"docs/{d}" for d in docs] + ["```", ""]
    return "\n".join(lines)


def _docs_dir() -> Path | None:
    """The repository's ``docs/`` (a checkout), or ``None`` (an installed wheel: the site links to no docs)."""
    from greenaolo.paths import checkout_root

    root = checkout_root()
    return root / "docs" if root is not None and (root / "docs").is_dir() else None


def finished(executed: str | os.PathLike) -> bool:
    """Whether an executed notebook ran to its end: :func:`greenaolo.notebooks.run_notebook` records
    ``metadata.greenaolo.status = "completed"`` only then (papermill alone records an interrupted run as
    completed)."""
    return completed(nbformat.read(executed, as_version=4))


def site_size(html_dir: str | os.PathLike) -> int:
    """Bytes in the built site (every file under ``html_dir``)."""
    return sum(p.stat().st_size for p in Path(html_dir).rglob("*") if p.is_file())
