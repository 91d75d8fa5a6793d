"""The API core's modules talk through public names only, import each other one way, and build
each error once with its final message (read from their source, so a new module is covered)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import core.llm

PACKAGE = "core.llm"
SOURCE = Path(core.llm.__file__).parent
ERROR_FIELDS = ("args", "partial_text", "attempts")  # what rewriting an error after the fact would touch


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), filename=str(path)) for path in sorted(SOURCE.glob("*.py"))}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def own_names(tree: ast.Module) -> set[str]:
    """Every name the module itself defines: functions, classes, module and class variables, and
    the attributes its code assigns (self._x = ...)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
    return names


def imported_modules(tree: ast.Module) -> set[str]:
    """The core.llm modules `tree` imports anywhere (at the top, under TYPE_CHECKING, in a function);
    "__init__" for the package itself."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            rest = node.module[len(PACKAGE):].lstrip(".")
            found.add(rest.split(".")[0] if rest else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name[len(PACKAGE) + 1:].split(".")[0])
    return found


def private_uses(tree: ast.Module) -> list[str]:
    """Private names of other modules this module reaches for."""
    own = own_names(tree)
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            uses += [f"import {alias.name}" for alias in node.names if is_private(alias.name)]
        elif isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in own:
            uses.append(f"line {node.lineno}: .{node.attr}")
    return uses


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_reaches_into_another_modules_private_names(name):
    assert private_uses(modules()[name]) == []


def test_the_modules_import_each_other_one_way():
    graph = {name: imported_modules(tree) - {name} for name, tree in modules().items()}
    cycles = []

    def visit(name: str, path: list[str]) -> None:
        for target in sorted(graph.get(name, ())):
            if target in path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert cycles == []


def test_the_stream_and_the_task_poller_use_the_transport_not_the_client():
    graph = {name: imported_modules(tree) for name, tree in modules().items()}
    assert "transport" in graph["stream"] and "transport" in graph["task"]
    assert "client" not in graph["stream"] | graph["task"] | graph["transport"]


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_error_is_rewritten_after_it_is_made(name):
    """Errors are built with their final message, partial text and attempts; nothing assigns
    `err.args`, `err.partial_text` or `err.attempts` afterwards (only an error's own __init__)."""
    rewrites = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(modules()[name])
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr in ERROR_FIELDS
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert rewrites == []
