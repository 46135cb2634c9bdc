"""Shared pytest configuration: the Hypothesis profiles.

Pick one with the HYPOTHESIS_PROFILE environment variable (nox passes it through):

- ``default``: 100 examples, for development;
- ``ci``: as default, and prints the blob that reproduces a failure;
- ``thorough``: 2,000 examples, for ``nox -s thorough``.

No profile suppresses a health check.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", max_examples=100, deadline=None, derandomize=False)
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
