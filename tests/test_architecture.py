"""The functional core stays pure: no I/O modules in the allocation and model code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent.parent / "server"

# Modules that must be pure functions over frozen inputs (style-anchors lesson 2).
PURE = (
    "cpuset",
    "topology",
    "shapes",
    "hints",
    "cpu_assignment",
    "cpu_policy",
    "memory_policy",
    "quantity",
    "pod",
    "errors",
)
FORBIDDEN = {
    "os",
    "io",
    "pathlib",
    "shutil",
    "socket",
    "subprocess",
    "grpc",
    "tempfile",
    "structlog",
    "psutil",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_module_does_no_io(module: str) -> None:
    """Allocation policies and the machine model import no I/O or service modules."""
    bad = _imports(SERVER / f"{module}.py") & FORBIDDEN
    assert not bad, f"server/{module}.py imports {sorted(bad)}"


def test_no_open_calls_in_pure_modules() -> None:
    """No pure module calls open() directly."""
    for module in PURE:
        tree = ast.parse((SERVER / f"{module}.py").read_text())
        calls = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "open"
        ]
        assert not calls, f"server/{module}.py calls open()"
