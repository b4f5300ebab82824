"""Every reference in the code, the notebooks and the docs resolves inside the repository.

The two papers' account lives in ``docs/greenllm.md`` and ``docs/aolo.md``; docstrings, comments, notebooks,
tests and the README cite it. Scanned: ``greenaolo/`` (``.py``, ``.yaml``, ``.md``), ``notebooks/*.ipynb``
(the source of every cell, outputs excluded), ``tests/*.py`` (but this file, whose examples of broken
references are on purpose), ``scripts/*.py``, ``README.md`` and ``docs/*.md``. The rules:

1. **Docs links resolve.** Every ``docs/NAME.md`` names an existing file, and in ``docs/NAME.md#anchor``
   the anchor is defined in that file. An anchor is defined by an HTML anchor ``<a id="anchor"></a>`` (or
   ``name=``), by a heading ending in ``{#anchor}``, or as the GitHub slug of a heading (lower case,
   punctuation but ``-`` and ``_`` dropped, spaces turned to ``-``). The pages use HTML anchors, which do
   not change when a title is reworded.
2. **Markdown links resolve.** In ``docs/*.md`` and ``README.md``, every link ``[text](target)`` that is not
   a URL names an existing file relative to the page, and its ``#anchor`` (alone: the page itself) is
   defined as in rule 1.
3. **Repository paths exist.** A path starting with ``greenaolo/``, ``tests/``, ``scripts/``,
   ``notebooks/`` or ``docs/`` and ending in ``.py``, ``.yaml``, ``.md``, ``.ipynb``, ``.csv`` or ``.csv.gz`` names an
   existing file, and a dotted module reference (``greenaolo.greenllm.optimise.solve``) imports.
4. **Nothing points outside.** No reference to the team's private notes (a ``papers/`` file of either
   paper) or to the ``../shared/`` folder, and no numbered "section 2.B" or a section sign: the docs pages
   have no numbered sections, so such a number can only point at the notes.
5. **Ambiguity and fact codes are explained.** A code is an ``A`` or an ``F`` followed by one or two digits
   as a word of its own (``A8``, ``F14``; not ``A100``). Outside ``docs/``, each one must have a link to its
   own anchor, ``docs/greenllm.md#a8`` or ``docs/aolo.md#a8`` (the code in lower case), within
   :data:`CODE_WINDOW` characters before or after it; rule 1 then checks that the anchor exists, so the
   code is defined on the page the link names. Inside a docs page, a code is either defined on that page
   (``<a id="a8"></a>``) or has a link to ``#a8`` (on this page or another) within the same window.
"""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE_WINDOW = 100

DOCS_LINK = re.compile(r"(?<![\w/.-])docs/([\w.-]+\.md)(?:#([\w-]+))?")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
REPO_PATH = re.compile(r"(?<![\w/.-])((?:greenaolo|tests|scripts|notebooks|docs)/[\w/.-]*?\.(?:py|yaml|md|ipynb|csv\.gz|csv))\b")
MODULE_REF = re.compile(r"(?<![\w./-])greenaolo(?:\.[A-Za-z_]\w*)+")
CODE = re.compile(r"(?<![\w#/.-])([AF])(\d{1,2})(?![\w])")
# Built from parts so that this file does not match its own patterns.
OUTSIDE = [
    re.compile(r"(?<![\w/.-])" + "papers" + r"/(?:greenllm|aolo)\.md"),
    re.compile(r"\.\./" + "shared" + "/"),
    re.compile(r"\b[Ss]ections? \d+(?:\.\d+)*[A-Z]?\b"),
    re.compile("\u00a7"),
]
HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.MULTILINE)
HEADING_ANCHOR = re.compile(r"\{#([\w-]+)\}\s*$")


def scanned_files() -> list[Path]:
    files = [p for p in (ROOT / "greenaolo").rglob("*") if p.suffix in (".py", ".yaml", ".md")]
    files += sorted((ROOT / "notebooks").glob("*.ipynb"))
    files += sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
    files += [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    # This file is left out: its examples of broken references are on purpose.
    return sorted(p for p in files if "__pycache__" not in p.parts and p != Path(__file__).resolve())


@cache
def text_of(path: Path) -> str:
    """The file's text; for a notebook, its cells' sources (outputs left out), separated by blank lines."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return raw
    return "\n\n".join("".join(cell["source"]) for cell in json.loads(raw)["cells"])


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    title = re.sub(r"<[^>]+>", "", title).strip().lower()
    return re.sub(r"[^\w\- ]", "", title).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    text = text_of(path)
    found = set(HTML_ANCHOR.findall(text))
    for title in HEADING.findall(text):
        explicit = HEADING_ANCHOR.search(title)
        found.add(explicit.group(1) if explicit else slug(title))
    return frozenset(found)


def where(path: Path, text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"{path.relative_to(ROOT)}:{line}" if path.suffix != ".ipynb" else f"{path.relative_to(ROOT)} (cell text line {line})"


def docs_link_problems(path: Path, text: str) -> list[str]:
    problems = []
    for m in DOCS_LINK.finditer(text):
        target = ROOT / "docs" / m.group(1)
        if not target.is_file():
            problems.append(f"{where(path, text, m.start())}: {m.group(0)} does not exist")
        elif m.group(2) and m.group(2) not in anchors(target):
            problems.append(f"{where(path, text, m.start())}: {m.group(0)}: no anchor #{m.group(2)} in docs/{m.group(1)}")
    return problems


def markdown_link_problems(path: Path, text: str) -> list[str]:
    problems = []
    for m in MARKDOWN_LINK.finditer(text):
        target = m.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{where(path, text, m.start())}: link to {target}: {file_part} does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{where(path, text, m.start())}: link to {target}: no anchor #{anchor} in {file_part or path.name}")
    return problems


def repo_path_problems(path: Path, text: str) -> list[str]:
    return [f"{where(path, text, m.start())}: {m.group(1)} does not exist"
            for m in REPO_PATH.finditer(text) if not (ROOT / m.group(1)).exists()]


@cache
def mapped_packages() -> dict[str, Path]:
    """Packages that ``pyproject.toml`` maps from another folder (they import only once installed)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: ROOT / folder for name, folder in setuptools.get("package-dir", {}).items() if name}


def resolves(dotted: str) -> bool:
    """``greenaolo.a.b.c`` is a module, or an attribute chain on the longest importable module prefix, or a
    package that ``pyproject.toml`` maps from an existing folder."""
    if dotted in mapped_packages():
        return mapped_packages()[dotted].is_dir()
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:n]))
        except ModuleNotFoundError:
            continue
        for attr in parts[n:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def module_problems(path: Path, text: str) -> list[str]:
    return [f"{where(path, text, m.start())}: {m.group(0)} does not import"
            for m in MODULE_REF.finditer(text) if not resolves(m.group(0).rstrip("."))]


def outside_problems(path: Path, text: str) -> list[str]:
    return [f"{where(path, text, m.start())}: {m.group(0)!r} points outside the repository (use docs/...md#anchor)"
            for pattern in OUTSIDE for m in pattern.finditer(text)]


def code_problems(path: Path, text: str) -> list[str]:
    in_docs = path.parent == ROOT / "docs"
    problems = []
    for m in CODE.finditer(text):
        anchor = m.group(0).lower()
        near = text[max(0, m.start() - CODE_WINDOW): m.end() + CODE_WINDOW]
        if in_docs:
            ok = anchor in anchors(path) or re.search(rf"#{anchor}\b", near)
        else:
            ok = re.search(rf"docs/(?:greenllm|aolo)\.md#{anchor}\b", near)
        if not ok:
            problems.append(f"{where(path, text, m.start())}: {m.group(0)} without a link to its anchor "
                            f"(docs/greenllm.md#{anchor} or docs/aolo.md#{anchor})")
    return problems


CHECKS = [docs_link_problems, repo_path_problems, module_problems, outside_problems, code_problems]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_every_reference_resolves(check):
    problems = [p for path in scanned_files() for p in check(path, text_of(path))]
    assert not problems, "\n".join(problems)


def test_markdown_links_in_docs_and_readme_resolve():
    problems = [p for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
                for p in markdown_link_problems(path, text_of(path))]
    assert not problems, "\n".join(problems)


def test_the_paper_pages_define_the_anchors_the_code_relies_on():
    """Each page defines its facts and ambiguities by code, so ``docs/PAGE.md#a8`` style links can resolve."""
    greenllm, aolo = anchors(ROOT / "docs" / "greenllm.md"), anchors(ROOT / "docs" / "aolo.md")
    assert {f"a{n}" for n in range(1, 17)} | {f"f{n}" for n in range(1, 21)} | {f"c{n}" for n in range(1, 13)} <= greenllm
    assert {f"a{n}" for n in range(1, 15)} | {f"f{n}" for n in range(1, 10)} | {f"eq-{n}" for n in range(1, 19)} <= aolo


@pytest.mark.parametrize(
    "text, problem",
    [
        ("see docs/greenllm.md#a8", None),
        ("see docs/greenllm.md#no-such-anchor", "no anchor"),
        ("see docs/nowhere.md", "does not exist"),
        ("ambiguity A8 (docs/greenllm.md#a8)", None),
        ("ambiguity A8 (docs/aolo.md#a5)", "A8 without a link"),
        ("ambiguity A8", "A8 without a link"),
        ("an A100 GPU", None),
        ("as in " + "papers" + "/aolo.md", "points outside"),
        ("section 2.B of the notes", "points outside"),
        ("greenaolo.greenllm.optimise.solve", None),
        ("greenaolo.greenllm.csv.load_csv_scenario", "does not import"),
        ("greenaolo/greenllm/csv.py", "does not exist"),
    ],
)
def test_the_checks_catch_a_broken_reference(text, problem):
    """The rules above, on one line of a (notional) Python file in greenaolo/: good references pass,
    broken ones fail."""
    path = ROOT / "greenaolo" / "probe.py"
    found = [p for check in CHECKS for p in check(path, text)]
    if problem is None:
        assert not found, found
    else:
        assert any(problem in p for p in found), found


def test_the_markdown_check_catches_a_broken_link():
    page = ROOT / "docs" / "greenllm.md"
    found = markdown_link_problems(page, "[ok](#a8) [ok](aolo.md#a5) [bad](#nowhere) [bad](missing.md) [url](https://x.org)")
    assert len(found) == 2 and "#nowhere" in found[0] and "missing.md" in found[1], found
