"""The codebase keeps the shape of its architecture: lint, format, layers, no cycles, types, sizes.

These run the project's own tools (configured in ``pyproject.toml``) so that the README's test
command, and therefore CI, fails on a finding. CONTRIBUTING.md says how to run each by hand.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40
#: A longer function says in its docstring why it is one unit, with these words.
ONE_UNIT_MARK = "One unit:"


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a tool of this virtualenv from the repository root, capturing its report."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_ruff_finds_nothing() -> None:
    result = run_tool("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied() -> None:
    result = run_tool("ruff", "format", "--no-cache", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_layer_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = run_tool("mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert result.returncode == 0, result.stdout + result.stderr


def import_cycles() -> list[list[str]]:
    """Strongly connected components of the import graph (``TYPE_CHECKING`` imports count)."""
    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycles() -> None:
    assert import_cycles() == []


@pytest.mark.parametrize("path", list(source_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path: Path) -> None:
    name = str(path.relative_to(ROOT))
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines (limit {MAX_MODULE_LINES}): split it"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
        and ONE_UNIT_MARK not in (ast.get_docstring(node) or "")
    ]
    assert not long, f"{name}: functions over {MAX_FUNCTION_LINES} lines without '{ONE_UNIT_MARK}': {long}"


def local_imports(source: str) -> list[str]:
    """The imports made inside a function body (``name:line``): imports belong at the top of
    the module, where the layer and cycle checks see them."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found.append(f"{node.name}:{inner.lineno}")
    return found


def test_no_function_local_imports() -> None:
    found = {str(p.relative_to(ROOT)): local_imports(p.read_text(encoding="utf-8")) for p in source_files()}
    assert {name: where for name, where in found.items() if where} == {}


def test_local_import_check_sees_them() -> None:
    source = "import os\n\ndef f():\n    from json import dumps\n    return dumps\n\nasync def g():\n    import re\n"
    assert local_imports(source) == ["f:4", "g:8"]


FIRST_PARTY = {*PACKAGES, "tests"}


def is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module or package of this repository."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_names(tree: ast.Module) -> dict[str, str]:
    """The local names a file binds to this repository's modules and to what they define
    (``import a.b as m``, ``from a import b``, ``from a.b import Name``), with the dotted name
    each stands for."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FIRST_PARTY:
                    local = alias.asname or alias.name.split(".")[0]
                    names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FIRST_PARTY:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def dotted_name(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def private_uses(path: Path) -> list[str]:
    """``from x import _name``, and ``m._name`` where ``m`` is a module of this repository or a
    name imported from one (a class, a function: ``Emulator._decode``), in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = imported_names(tree)
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FIRST_PARTY:
            found += [f"{where}: {a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = dotted_name(node.value)
            head, _, rest = (base or "").partition(".")
            if head in imported and (not rest or is_module(f"{imported[head]}.{rest}")):
                found.append(f"{where}:{node.lineno}: {base}.{node.attr}")
    return found


def test_no_private_names_used_across_modules() -> None:
    """``from x import _name``, ``module._name`` and ``Imported._name`` reach into another
    module's privates."""
    offenders = []
    for path in [*source_files(), *sorted((ROOT / "tests").rglob("*.py"))]:
        offenders += private_uses(path)
    assert not offenders, offenders


def test_private_name_check_sees_module_attributes(tmp_path: Path) -> None:
    """The check above catches a private reached through a module alias, a dotted path or a name
    imported from a module (not through an attribute chain on such a name: its type is unknown)."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import handlers.inbox.poll\n"
        "from handlers.inbox import poll as p\n"
        "from handlers.inbox.poll import poll_dms\n"
        "p._hidden()\n"
        "handlers.inbox.poll._hidden()\n"
        "poll_dms._attribute\n"
        "poll_dms.__name__\n"
        "p.poll_dms._unknown_type\n",
        encoding="utf-8",
    )
    found = sorted(private_uses(probe), key=lambda line: int(line.split(":")[1]))
    found = [line.split(": ", 1)[1] for line in found]
    assert found == ["p._hidden", "handlers.inbox.poll._hidden", "poll_dms._attribute"]
