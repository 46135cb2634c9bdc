"""The package's modules import one another without a cycle, judged from their source.

An import cycle makes a module's names depend on which module was imported first, and
is how a layer comes to lean on the one above it. Each module is imported (so that all
of them exist), then its source is read: every import that can run is a dependency,
whether at import time or in a function (a function that imports a module importing its
own is the same knot, tied later); only imports under ``TYPE_CHECKING`` never run.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType

import pytest

import ecr_upload_model

PACKAGE = ecr_upload_model.__name__


def package_modules() -> list[ModuleType]:
    """Every module of the package, imported, the package itself included."""
    names = [info.name for info in pkgutil.walk_packages(ecr_upload_model.__path__, f"{PACKAGE}.")]
    return [ecr_upload_model, *(importlib.import_module(name) for name in sorted(names))]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


#: Functions whose imports are not counted, each for its reason.
COMPATIBILITY_ALIASES: Mapping[str, frozenset[str]] = {
    # EcrError.from_wire: the older name of planning.read_error_body, which it imports
    # when called (the client reads error bodies; errors.py imports nothing else).
    f"{PACKAGE}.errors": frozenset({"from_wire"}),
}


def _can_run(node: ast.AST, aliases: frozenset[str]) -> Iterator[ast.AST]:
    """The nodes under ``node`` that can run: all but those under ``TYPE_CHECKING`` and
    in the functions named in ``aliases``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name in aliases:
            continue
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _can_run(other, aliases)
            continue
        yield child
        yield from _can_run(child, aliases)


def imports_of(module: ModuleType, known: frozenset[str]) -> set[str]:
    """The modules of the package that ``module`` imports directly."""
    is_package = hasattr(module, "__path__")
    base = module.__name__ if is_package else module.__name__.rpartition(".")[0]
    aliases = COMPATIBILITY_ALIASES.get(module.__name__, frozenset())
    found = imports_in(inspect.getsource(module), base, known, aliases)
    found.discard(module.__name__)
    return found


def imports_in(
    source: str, base: str, known: frozenset[str], aliases: frozenset[str] = frozenset()
) -> set[str]:
    """The modules of the package that ``source`` can import, its relative imports
    resolved from the package ``base``."""
    found: set[str] = set()
    for node in _can_run(ast.parse(source), aliases):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            relative = "." * node.level + (node.module or "")
            origin = importlib.util.resolve_name(relative, base) if node.level else relative
            if origin.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                # ``from . import wire`` imports a module; ``from .wire import handle``
                # imports the module that defines the name.
                submodule = f"{origin}.{alias.name}"
                found.add(submodule if submodule in known else origin)
    return found


def first_cycle(graph: Mapping[str, set[str]]) -> Sequence[str] | None:
    """A cycle of ``graph`` (its nodes in order, the first repeated last), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for following in sorted(graph.get(node, ())):
            cycle = visit(following, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = frozenset(module.__name__ for module in modules)
    return {module.__name__: imports_of(module, known) for module in modules}


def test_the_package_imports_without_a_cycle() -> None:
    graph = import_graph()
    assert len(graph) >= 15  # every module was found
    cycle = first_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_errors_import_nothing_of_the_package() -> None:
    # The bottom layer: every other module raises its errors.
    assert import_graph()[f"{PACKAGE}.errors"] == set()


def test_the_core_does_not_import_the_client_the_test_toolkit_or_the_edge() -> None:
    graph = import_graph()
    core = {"errors", "limits", "identifiers", "_shapes", "_in_place", "operations", "session"}
    above = {"registry", "wire", "planning", "strategies", "testing", "cli", "boto3_transport"}
    for name in core:
        leaning = {module.rpartition(".")[2] for module in graph[f"{PACKAGE}.{name}"]} & above
        assert not leaning, f"{name} imports {sorted(leaning)}"


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, None),  # a diamond is no cycle
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"b"}}, ["b", "b"]),
    ],
)
def test_a_cycle_is_found_and_named(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert first_cycle(graph) == cycle


def test_every_import_that_can_run_counts() -> None:
    source = """
from typing import TYPE_CHECKING
from . import wire
from .errors import EcrError
if TYPE_CHECKING:
    from .planning import LayerPush
else:
    from .limits import MAX_LONG
try:
    from .session import UploadSession
except ImportError:
    pass
class Holder:
    from .registry import Registry
def later() -> None:
    from .testing import compare_with_reference
"""
    known = frozenset(module.__name__ for module in package_modules())
    found = imports_in(inspect.cleandoc(source), PACKAGE, known, frozenset({"alias"}))
    expected = {"wire", "errors", "limits", "session", "registry", "testing"}
    assert found == {f"{PACKAGE}.{name}" for name in expected}
