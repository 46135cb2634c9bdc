"""Shared pytest configuration: Hypothesis profiles, and fresh readers for mutation testing.

Pick one with the HYPOTHESIS_PROFILE environment variable (nox passes it through):

- ``default``: 100 examples, for development;
- ``ci``: as default, and prints the blob that reproduces a failure;
- ``thorough``: 2,000 examples, for ``nox -s thorough``.

No profile suppresses a health check.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from ecr_upload_model import _shapes

settings.register_profile("default", max_examples=100, deadline=None, derandomize=False)
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _readers_made_by_the_code_under_test() -> None:
    """Under mutmut (``nox -s mutation``), each test reads with readers it makes itself.

    The readers and member tables are made once per process; mutmut runs the tests of
    a mutant in a fork of a process that made them already, and gives a function only
    the tests that called it. Forgotten before each test, they are made by the mutant's
    shapes, and every test that reads is a test of them.
    """
    if "MUTANT_UNDER_TEST" in os.environ:
        _shapes._READERS.clear()
        _shapes._MEMBERS.clear()
