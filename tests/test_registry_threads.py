"""Registries shared by threads: nothing is lost, and every outcome is a serial one.

Each race starts its threads at one barrier with parts of at least 1 MiB: hashing a
buffer that large releases the GIL, which is what opened the window between a check and
its store before calls were swapped in by revision. The number of trials follows the
Hypothesis profile (``thorough`` runs twenty times as many).

Every race runs over each store (``site``). Its calls go to two registries over the
same state, in turn: two processes of one server (for the memory store, two registries
sharing the one store), so a durable store also reads back what the other accepted.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_values import REGISTRY_ID
from stores_under_test import NewSite, StoreSite
from test_registry import check, completion, initiate, name, part, sha256

from ecr_upload_model import (
    CompleteLayerUploadResponse,
    EcrError,
    InvalidLayerPartException,
    LayerAlreadyExistsException,
    LayerDigest,
    LayerFailureCode,
    Limits,
    Registry,
    UploadId,
    UploadNotFoundException,
)
from ecr_upload_model.registry import RegistryStore, sequential_upload_ids

T = TypeVar("T")
MIB = 1024 * 1024
#: Parts of 1 to 5 MiB are all allowed, the small ones before the last too.
LIMITS = Limits(min_part_bytes=1, part_size=MIB)
THREADS = 4


def trials() -> int:
    """Races of each kind: 20 under the default profile, 400 under ``thorough``."""
    profile = settings.default
    assert profile is not None
    return max(20, profile.max_examples // 5)


def new_registry(store: RegistryStore | None = None) -> Registry:
    return new_registries(store)[0]


def new_registries(*stores: RegistryStore | None) -> list[Registry]:
    """A registry over each store (the first makes the repository), sharing upload ids."""
    ids = sequential_upload_ids()
    registries = [
        Registry(REGISTRY_ID, limits=LIMITS, upload_id_factory=ids, store=store)
        for store in stores or (None,)
    ]
    registries[0].create_repository("team/app")
    return registries


def two_processes(site: StoreSite) -> tuple[Registry, Registry]:
    first, second = new_registries(site.open(), site.open())
    return first, second


def race(*calls: Callable[[], T]) -> list[T | EcrError]:
    """Runs the calls in threads started at one barrier; each one's answer or error."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[T | EcrError | None] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        barrier.wait()
        try:
            outcomes[index] = call()
        except EcrError as error:
            outcomes[index] = error
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return [outcome for outcome in outcomes if outcome is not None]


def accepted(outcomes: list[T | EcrError]) -> list[T]:
    return [outcome for outcome in outcomes if not isinstance(outcome, EcrError)]


@pytest.mark.parametrize("seed", range(trials()))
def test_the_same_part_sent_by_four_threads_at_once_is_accepted_once(
    seed: int, site: StoreSite
) -> None:
    rng = random.Random(seed)
    registry, other = two_processes(site)
    upload_id = initiate(registry)
    layer = rng.randbytes(rng.randint(1, 5) * MIB)
    request = part(upload_id, 0, layer)
    outcomes = race(
        *[lambda: registry.upload_layer_part(request), lambda: other.upload_layer_part(request)]
        * (THREADS // 2)
    )
    assert len(accepted(outcomes)) == 1
    for refusal in outcomes:
        if isinstance(refusal, EcrError):
            assert isinstance(refusal, InvalidLayerPartException)
            assert refusal.last_valid_byte_received == len(layer) - 1
    # The running digest holds the bytes once: the true digest completes the upload.
    registry.complete_layer_upload(completion(upload_id, sha256(layer)))
    assert check(registry, str(sha256(layer))) == [(str(sha256(layer)), len(layer))]


@pytest.mark.parametrize("seed", range(trials()))
def test_a_part_racing_the_completion_ends_as_one_of_the_two_serial_orders(
    seed: int, site: StoreSite
) -> None:
    rng = random.Random(seed)
    registry, other = two_processes(site)
    upload_id = initiate(registry)
    first, second = rng.randbytes(MIB), rng.randbytes(2 * MIB)
    registry.upload_layer_part(part(upload_id, 0, first))
    # Either digest completes the upload: the bytes held when it runs decide which.
    digests = (sha256(first), sha256(first + second))
    part_outcome, completion_outcome = race(
        lambda: registry.upload_layer_part(part(upload_id, len(first), second)),
        lambda: other.complete_layer_upload(completion(upload_id, *digests)),
    )
    assert isinstance(completion_outcome, CompleteLayerUploadResponse)
    if isinstance(part_outcome, EcrError):  # the completion came first
        assert isinstance(part_outcome, UploadNotFoundException)
        layer = first
    else:  # the part came first
        layer = first + second
    assert completion_outcome.layer_digest == sha256(layer)
    session = registry.session(upload_id)
    assert session is not None
    assert session.completed
    assert session.bytes_received == len(layer)
    assert check(registry, *map(str, digests)) == [
        (str(sha256(layer)), len(layer)),
        *[(str(d), LayerFailureCode.MISSING_LAYER_DIGEST) for d in digests if d != sha256(layer)],
    ]


@pytest.mark.parametrize("seed", range(trials()))
def test_two_completions_of_one_upload_complete_it_once(seed: int, site: StoreSite) -> None:
    rng = random.Random(seed)
    registries = two_processes(site)
    upload_id = initiate(registries[0])
    layer = rng.randbytes(MIB)
    registries[0].upload_layer_part(part(upload_id, 0, layer))
    outcomes = race(
        *[
            lambda registry=registry: registry.complete_layer_upload(
                completion(upload_id, sha256(layer))
            )
            for registry in registries
        ]
    )
    assert len(accepted(outcomes)) == 1
    assert any(isinstance(outcome, UploadNotFoundException) for outcome in outcomes), outcomes


@pytest.mark.parametrize("seed", range(trials()))
def test_two_uploads_of_one_layer_completing_at_once_store_it_once(
    seed: int, site: StoreSite
) -> None:
    rng = random.Random(seed)
    registries = two_processes(site)
    registry = registries[0]
    layer = rng.randbytes(MIB)
    uploads = [initiate(registry), initiate(registry)]
    for upload_id in uploads:
        registry.upload_layer_part(part(upload_id, 0, layer))
    outcomes = race(
        *[
            lambda upload_id=upload_id, completing=completing: completing.complete_layer_upload(
                completion(upload_id, sha256(layer))
            )
            for upload_id, completing in zip(uploads, registries, strict=True)
        ]
    )
    assert len(accepted(outcomes)) == 1
    loser = next(
        upload_id
        for upload_id, outcome in zip(uploads, outcomes, strict=True)
        if isinstance(outcome, LayerAlreadyExistsException)
    )
    session = registry.session(loser)
    assert session is not None
    assert not session.completed  # a refused completion leaves its upload open


@pytest.mark.parametrize("seed", range(trials()))
def test_batch_check_during_a_completion_sees_the_layer_whole_or_not_at_all(
    seed: int, site: StoreSite
) -> None:
    rng = random.Random(seed)
    registry, other = two_processes(site)
    upload_id = initiate(registry)
    layer = rng.randbytes(2 * MIB)
    registry.upload_layer_part(part(upload_id, 0, layer))
    digest = str(sha256(layer))
    seen: list[object] = []

    def keep_checking() -> None:
        for _ in range(50):
            seen.extend(check(other, digest))

    race(
        keep_checking,
        lambda: registry.complete_layer_upload(completion(upload_id, sha256(layer))),
    )
    assert set(seen) <= {(digest, len(layer)), (digest, LayerFailureCode.MISSING_LAYER_DIGEST)}
    assert check(registry, digest) == [(digest, len(layer))]


# ---------------------------------------------------------------------------------------
# Any mix of concurrent calls ends in a state some serial order of the accepted ones makes


#: A call of the property: ("part", upload index, first byte, size) or ("complete", upload
#: index, the number of bytes whose digest it names).
Call = tuple[str, int, int, int]
PAYLOAD = random.Random(14).randbytes(4 * MIB)


def calls(uploads: int) -> st.SearchStrategy[list[Call]]:
    sizes = st.sampled_from([MIB, 2 * MIB])
    starts = st.sampled_from([0, MIB, 2 * MIB])
    a_part = st.tuples(st.just("part"), st.integers(0, uploads - 1), starts, sizes)
    a_completion = st.tuples(
        st.just("complete"),
        st.integers(0, uploads - 1),
        st.just(0),
        st.sampled_from([0, *[MIB * n for n in (1, 2, 3, 4)]]),
    )
    return st.lists(st.one_of(a_part, a_completion), min_size=2, max_size=6)


def run(registry: Registry, upload_ids: list[UploadId], call: Call) -> object:
    kind, index, first, size = call
    upload_id = upload_ids[index]
    if kind == "part":
        return registry.upload_layer_part(part(upload_id, first, PAYLOAD[first : first + size]))
    digests = (
        [sha256(PAYLOAD[:n]) for n in range(MIB, 4 * MIB + 1, MIB)]
        if size == 0
        else [sha256(PAYLOAD[:size])]
    )
    return registry.complete_layer_upload(completion(upload_id, *digests))


def state(registry: Registry, upload_ids: list[UploadId]) -> object:
    digests = [str(sha256(PAYLOAD[:n])) for n in range(MIB, 4 * MIB + 1, MIB)]
    return [registry.session(upload_id) for upload_id in upload_ids], check(registry, *digests)


@settings(max_examples=25)
@given(uploads=st.integers(1, 2), data=st.data())
def test_concurrent_calls_end_as_a_serial_order_of_the_accepted_ones(
    new_site: NewSite, uploads: int, data: st.DataObject
) -> None:
    chosen = data.draw(calls(uploads))
    with new_site() as site:
        registries = two_processes(site)
        registry = registries[0]
        upload_ids = [initiate(registry) for _ in range(uploads)]
        outcomes = race(
            *[
                lambda call=call, calling=registries[turn % 2]: run(calling, upload_ids, call)
                for turn, call in enumerate(chosen)
            ]
        )
        held = state(registry, upload_ids)
    # Within an upload, accepted parts follow each other by position and a completion
    # ends it; across uploads, only a completion's order matters (the layer they share),
    # and the accepted completion of a layer was the first to store it.
    serial = sorted(
        (
            call
            for call, outcome in zip(chosen, outcomes, strict=True)
            if not isinstance(outcome, EcrError)
        ),
        key=lambda call: (call[0] == "complete", call[1], call[2]),
    )
    replay = new_registry()
    replay_ids = [initiate(replay) for _ in range(uploads)]
    assert replay_ids == upload_ids
    for call in serial:
        run(replay, replay_ids, call)  # raises if this order would refuse an accepted call
    assert state(replay, replay_ids) == held


def test_a_refused_call_in_a_race_changes_nothing(site: StoreSite) -> None:
    """Each accepted part is in the digest once, each refused one not at all."""
    rng = random.Random(15)
    registries = two_processes(site)
    registry = registries[0]
    upload_id = initiate(registry)
    held = bytearray()
    for _ in range(trials() // 2):
        candidates = [rng.randbytes(MIB) for _ in range(THREADS)]
        requests = [part(upload_id, len(held), blob) for blob in candidates]
        outcomes = race(
            *[
                lambda request=request, sending=registries[turn % 2]: sending.upload_layer_part(
                    request
                )
                for turn, request in enumerate(requests)
            ]
        )
        winners = [
            blob
            for blob, outcome in zip(candidates, outcomes, strict=True)
            if not isinstance(outcome, EcrError)
        ]
        assert len(winners) == 1
        held += winners[0]
    with pytest.raises(EcrError):
        registry.complete_layer_upload(completion(upload_id, LayerDigest.sha256("0" * 64)))
    done = registry.complete_layer_upload(
        completion(upload_id, LayerDigest.sha256(hashlib.sha256(held).hexdigest()))
    )
    assert done.layer_digest == sha256(bytes(held))
    stored = registry._store.open_layer(name("team/app"), done.layer_digest)
    if stored is not None:  # a durable store: its bytes are the accepted parts alone
        with stored:
            assert stored.read() == held
