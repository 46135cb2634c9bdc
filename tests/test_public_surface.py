"""The public surface is declared: every public module lists its names in ``__all__``,
each of them exists, and what the package exports is public where it is defined.

A module whose name starts with an underscore (or lies in such a package) is private:
its names are the package's own, whatever they are called.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import ecr_upload_model
from ecr_upload_model import errors, operations, session, wire
from ecr_upload_model.operations import _Wire

PUBLIC_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(ecr_upload_model.__path__, "ecr_upload_model.")
    if not any(part.startswith("_") for part in info.name.split(".")[1:])
)


#: Public modules without ``__all__`` yet, each with why: listed, their test is expected
#: to fail (and fails loudly once they have one).
UNDECLARED: dict[str, str] = {}


def public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module.__name__} has no __all__"
    return list(names)


def test_the_public_modules_are_found() -> None:
    assert {"ecr_upload_model.session", "ecr_upload_model.testing"} <= set(PUBLIC_MODULES)
    assert "ecr_upload_model._faults" not in PUBLIC_MODULES


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=UNDECLARED[name], strict=True))
        if name in UNDECLARED
        else name
        for name in ["ecr_upload_model", *PUBLIC_MODULES]
    ],
)
def test_a_public_module_lists_its_names_and_each_exists(name: str) -> None:
    module = importlib.import_module(name)
    names = public_names(module)
    assert len(names) == len(set(names)), "a name listed twice"
    for public in names:
        assert not public.startswith("_"), public
        assert hasattr(module, public), f"{name}.__all__ names {public}, which it lacks"


def test_what_the_package_exports_is_public_where_it_is_defined() -> None:
    for name in ecr_upload_model.__all__:
        value = getattr(ecr_upload_model, name)
        home = importlib.import_module(value.__module__) if inspect.isclass(value) else None
        if home is not None and home.__name__ not in UNDECLARED:
            assert name in public_names(home), f"{name} is not public in {home.__name__}"


def test_every_error_and_every_wire_value_is_public() -> None:
    # A new error or request declared without its place in __all__ is not exported.
    declared = [
        (errors, value)
        for value in vars(errors).values()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
    ] + [
        (operations, value)
        for value in vars(operations).values()
        if inspect.isclass(value)
        and issubclass(value, _Wire)
        and value is not _Wire
        and value.__module__ == operations.__name__
    ]
    for module, value in declared:
        assert value.__name__ in public_names(module), f"{value.__name__} is not public"


def test_tables_of_rules_and_the_answers_by_operation_are_not_public() -> None:
    # How the rules are written down is the package's; what they decide is public.
    assert not hasattr(session, "PART_RULES")
    assert "CHECKED" not in public_names(operations)
    assert "ANSWERS" not in public_names(wire)
