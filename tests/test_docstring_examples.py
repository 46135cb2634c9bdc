"""The examples in the package's docstrings run, against the package under test."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ecr_upload_model

# __main__ runs the command line when imported.
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(ecr_upload_model.__path__, "ecr_upload_model.")
    if not info.name.endswith("__main__")
)


def test_every_module_is_examined() -> None:
    assert "ecr_upload_model.session" in MODULES


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_pass(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"
