"""The stateful test of the registry (test_registry_stateful) over the durable stores,
with one more step: the server restarts, and everything it held must still be there.

A restart closes the store and opens another over the same state, as a new process
would: what the registry answers must not change, the running digests of the uploads
in progress are computed again from their part files, and every layer reads back whole.
"""

from __future__ import annotations

import contextlib
import hashlib

from hypothesis import settings
from hypothesis.stateful import invariant, rule, run_state_machine_as_test
from stores_under_test import NewSite, StoreSite
from test_registry_stateful import REPOSITORIES, RegistryMachine

from ecr_upload_model import LayerDigest, RepositoryName


def examples_per_store() -> int:
    """A restart costs a store's opening, and a durable store syncs every write: a fifth
    of the memory store's examples (20 by default, 400 under the thorough profile)."""
    profile = settings.default
    assert profile is not None
    return max(15, profile.max_examples // 5)


class RestartingRegistryMachine(RegistryMachine):
    #: Each run makes a site of its own with it (set by the test, per kind of store).
    new_site: NewSite

    def __init__(self) -> None:
        self.cleanup = contextlib.ExitStack()
        self.site: StoreSite = self.cleanup.enter_context(self.new_site())
        self.store = self.site.open()
        super().__init__(self.store)

    def teardown(self) -> None:
        self.cleanup.close()

    @rule()
    def restart(self) -> None:
        self.site.close(self.store)
        self.store = self.site.open()
        self.registry = self.registry_over(self.store)

    @invariant()
    def every_layer_reads_back_whole(self) -> None:
        for repository in REPOSITORIES:
            for hex_digest, size in self.model_layers[repository].items():
                file = self.store.open_layer(
                    RepositoryName(repository), LayerDigest.sha256(hex_digest)
                )
                assert file is not None
                with file:
                    data = file.read()
                assert (len(data), hashlib.sha256(data).hexdigest()) == (size, hex_digest)


def test_a_durable_registry_answers_as_the_model_across_restarts(
    new_durable_site: NewSite,
) -> None:
    class OverThisStore(RestartingRegistryMachine):
        new_site = staticmethod(new_durable_site)

    run_state_machine_as_test(
        OverThisStore,
        settings=settings(max_examples=examples_per_store(), stateful_step_count=25),
    )
