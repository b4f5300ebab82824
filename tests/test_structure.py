"""The code's structure: no import circle among the package's modules, and each module says what it is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "greenaolo"


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its body (a lazy import inside a function
    is still a dependency)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                           for alias in node.names]
            graph[name] |= {t for t in targets if t in known and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_every_module_starts_with_a_docstring_that_says_what_it_is():
    for name, path in modules().items():
        doc = ast.get_docstring(ast.parse(path.read_text()))
        if path.name == "__init__.py" and path.stat().st_size == 0:
            continue
        assert doc and len(doc.splitlines()[0]) > 20, name


def test_the_readme_layout_names_every_module():
    """The README's Layout section is the map: every module of the package is named in it, in its folder's
    paragraph (``greenllm/``, ``aolo/`` or the top level), and it names no module that does not exist."""
    readme = (PACKAGE.parent / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("```")[1]
    blocks = {"greenllm": layout.split("  greenllm/", 1)[1].split("  aolo/", 1)[0],
              "aolo": layout.split("  aolo/", 1)[1].split("\n  solvers.py", 1)[0],
              "": "\n  solvers.py" + layout.split("\n  solvers.py", 1)[1].split("\nnotebooks/", 1)[0]}
    for name, path in modules().items():
        if path.name in ("__init__.py", "__main__.py"):
            continue
        folder = path.parent.name if path.parent != PACKAGE else ""
        assert path.name in blocks[folder], f"{name} ({path.name}) is missing from the README's Layout, {folder or 'top level'}"
    named = {(folder, word) for folder, text in blocks.items() for word in re.findall(r"\b(\w+\.py)\b", text)}
    for folder, word in named:
        assert (PACKAGE / folder / word).is_file(), f"the README's Layout names {folder}/{word}, which does not exist"


def test_the_public_api_resolves_and_import_stays_cheap():
    """Every name in the packages' __all__ resolves; `import greenaolo` loads neither the solvers nor torch."""
    import subprocess
    import sys

    code = ("import sys, greenaolo, greenaolo.greenllm as g, greenaolo.aolo as a\n"
            "heavy = [m for m in ('linopy', 'torch', 'highspy', 'stable_baselines3') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "for m in (greenaolo, g, a):\n"
            "    missing = [n for n in m.__all__ if getattr(m, n, None) is None]\n"
            "    assert not missing, (m.__name__, missing)\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
