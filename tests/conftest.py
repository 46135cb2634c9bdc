"""Shared pytest configuration: the Hypothesis profiles.

Pick one with the HYPOTHESIS_PROFILE environment variable (nox passes it through):

- ``default``: 100 examples, for development;
- ``ci``: as default, and prints the blob that reproduces a failure;
- ``thorough``: 2,000 examples, for ``nox -s thorough``;
- ``mutation``: 25 examples drawn the same on every run, for ``nox -s mutation``, which
  runs the tests once per mutant: a mutant's fate is repeatable, and the run ends.

No profile suppresses a health check.

The store fixtures run a test over every RegistryStore (``stores_under_test.py``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings
from stores_under_test import Kind, NewSite, StoreSite, redis_server, store_site

settings.register_profile("default", max_examples=100, deadline=None, derandomize=False)
settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.register_profile("mutation", max_examples=25, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# ---------------------------------------------------------------------------------------
# Stores


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the session's own redis-server (started on first use)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def _site_maker(request: pytest.FixtureRequest) -> NewSite:
    kind: Kind = request.param
    url = request.getfixturevalue("redis_url") if kind is Kind.REDIS else None
    return functools.partial(store_site, kind, url)


_EVERY_KIND = [
    pytest.param(Kind.MEMORY, id="memory"),
    pytest.param(Kind.SQLITE, id="sqlite"),
    pytest.param(Kind.REDIS, id="redis", marks=pytest.mark.redis),
]


@pytest.fixture(scope="session", params=_EVERY_KIND)
def new_site(request: pytest.FixtureRequest) -> NewSite:
    """Makes a new store site of each kind in turn (for Hypothesis: one per example)."""
    return _site_maker(request)


@pytest.fixture(scope="session", params=_EVERY_KIND[1:])
def new_durable_site(request: pytest.FixtureRequest) -> NewSite:
    """Makes a new site of each store that survives a restart, in turn."""
    return _site_maker(request)


@pytest.fixture
def site(new_site: NewSite) -> Iterator[StoreSite]:
    """A new site of each store in turn."""
    with new_site() as made:
        yield made


@pytest.fixture
def durable_site(new_durable_site: NewSite) -> Iterator[StoreSite]:
    """A new site of each store that survives a restart, in turn."""
    with new_durable_site() as made:
        yield made
