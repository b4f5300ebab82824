"""CITATION.cff is valid Citation File Format 1.2.0 and cites what the package re-implements and ships."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _schema() -> dict:
    """CFF 1.2.0's JSON schema, as cffconvert ships it (make setup installs cffconvert without its pinned,
    outdated dependencies: only this file is read, the module is never imported)."""
    spec = importlib.util.find_spec("cffconvert")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("cffconvert (its CFF schema) is not installed: make setup installs it")
    path = Path(next(iter(spec.submodule_search_locations))) / "schemas" / "1.2.0" / "schema.json"
    return json.loads(path.read_text())


def test_citation_file_is_valid_cff():
    import jsonschema

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    jsonschema.validate(citation, _schema())  # raises with the offending field


def test_citation_cites_the_papers_the_code_and_every_shipped_dataset():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    text = json.dumps(citation["references"])
    for needed in ("arXiv:2507.09942", "arXiv:2503.04418", "github.com/JJmingcc/Green_LLM", "ODbL-1.0"):
        assert needed in text, needed
    shipped = sorted(p.name for p in (ROOT / "greenaolo").rglob("*.csv*"))
    for name in shipped:
        assert name in text, f"{name} ships in the package but CITATION.cff does not cite it"
    assert citation["version"] in (ROOT / "pyproject.toml").read_text()


def test_a_broken_citation_is_refused():
    import jsonschema

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    del citation["authors"]
    with pytest.raises(jsonschema.ValidationError, match="authors"):
        jsonschema.validate(citation, _schema())
