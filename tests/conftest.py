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


@pytest.fixture(autouse=True, scope="session")
def _readers_made_by_the_code_under_test() -> None:
    """mutmut (``nox -s mutation``) runs a mutant's tests in a fork of a process that has
    run them all once: it forgets the readers and member tables made before the fork, so
    that the mutant's shapes make them again."""
    if "MUTANT_UNDER_TEST" in os.environ:
        _shapes._READERS.clear()
        _shapes._MEMBERS.clear()
