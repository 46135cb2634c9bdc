"""Uploads end: an idle upload is forgotten, and what it held is freed.

The clock is the test's own (a list of one float), so no test waits for time to pass.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from shared_values import REGISTRY_ID, SMALL
from test_registry import check, completion, initiate, part, sha256

from ecr_upload_model import (
    InitiateLayerUploadRequest,
    InvalidLayerPartException,
    Registry,
    RepositoryName,
    UploadNotFoundException,
    UsageError,
)
from ecr_upload_model.registry import (
    DEFAULT_IDLE_SECONDS,
    EMPTY_LAYER_DIGEST,
    sequential_upload_ids,
)

IDLE = 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def new_registry(clock: FakeClock | None, *, idle_seconds: float = IDLE) -> Registry:
    registry = Registry(
        REGISTRY_ID,
        limits=SMALL,
        upload_id_factory=sequential_upload_ids(),
        clock=clock,
        idle_seconds=idle_seconds,
    )
    registry.create_repository("team/app")
    return registry


def test_an_upload_idle_for_the_timeout_answers_upload_not_found() -> None:
    clock = FakeClock()
    registry = new_registry(clock)
    upload_id = initiate(registry)
    clock.now += IDLE
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    with pytest.raises(UploadNotFoundException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"")))
    assert registry.session(upload_id) is None


def test_the_oci_calls_find_an_upload_until_it_is_idle() -> None:
    clock = FakeClock()
    registry = new_registry(clock)
    app = RepositoryName("team/app")
    cancelled, emptied, idle = (initiate(registry) for _ in range(3))
    clock.now += IDLE - 1
    assert registry.upload_in_progress(app, idle).bytes_received == 0
    registry.cancel_layer_upload(app, cancelled)
    registry.complete_empty_layer_upload(completion(emptied, EMPTY_LAYER_DIGEST))
    clock.now += 1
    for call in (
        lambda: registry.upload_in_progress(app, idle),
        lambda: registry.cancel_layer_upload(app, idle),
        lambda: registry.complete_empty_layer_upload(completion(idle, EMPTY_LAYER_DIGEST)),
    ):
        with pytest.raises(UploadNotFoundException):
            call()


def test_each_accepted_call_restarts_the_idle_time() -> None:
    clock = FakeClock()
    registry = new_registry(clock)
    upload_id = initiate(registry)
    for first in range(0, 40, 8):
        clock.now += IDLE - 1
        registry.upload_layer_part(part(upload_id, first, b"abcdefgh"))
    clock.now += IDLE - 1
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcdefgh" * 5)))


def test_a_refused_call_does_not_keep_an_upload_alive() -> None:
    clock = FakeClock()
    registry = new_registry(clock)
    upload_id = initiate(registry)
    clock.now += IDLE - 1
    with pytest.raises(InvalidLayerPartException):
        registry.upload_layer_part(part(upload_id, 5, b"abcd"))  # not at byte 0: refused
    clock.now += 1
    assert registry.session(upload_id) is None


def test_a_completed_upload_is_forgotten_after_the_same_time_and_its_layer_stays() -> None:
    clock = FakeClock()
    registry = new_registry(clock)
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))
    clock.now += IDLE - 1
    session = registry.session(upload_id)
    assert session is not None
    assert session.completed
    clock.now += 1
    assert registry.session(upload_id) is None
    assert check(registry, str(sha256(b"abcd"))) == [(str(sha256(b"abcd")), 4)]


def test_expire_forgets_exactly_the_idle_uploads_and_counts_them() -> None:
    clock = FakeClock()
    registry = new_registry(clock)
    old = [initiate(registry) for _ in range(3)]
    clock.now += 10
    young = initiate(registry)
    registry.upload_layer_part(part(old[0], 0, b"abcd"))  # touched at +10: young again
    assert registry.expire(clock.now + IDLE - 5) == 2
    assert [registry.session(upload_id) is None for upload_id in (*old, young)] == [
        False,
        True,
        True,
        False,
    ]
    assert registry.expire(clock.now + IDLE) == 2
    assert registry.expire(clock.now + IDLE) == 0


def test_without_a_clock_nothing_expires_on_its_own() -> None:
    registry = new_registry(None)
    upload_id = initiate(registry)
    for _ in range(3):
        initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    # A caller without a clock expires with its own time; the registry's is 0 then.
    assert registry.expire(IDLE) == 4


@pytest.mark.parametrize("idle_seconds", [0, -1.0, float("nan"), "60", None, True])
def test_idle_seconds_must_be_a_positive_number(idle_seconds: object) -> None:
    with pytest.raises(UsageError, match="idle_seconds"):
        Registry(REGISTRY_ID, idle_seconds=idle_seconds)  # type: ignore[arg-type]


def test_an_idle_time_under_a_second_is_a_positive_number_too() -> None:
    assert Registry(REGISTRY_ID, idle_seconds=0.5).idle_seconds == 0.5


def test_the_default_idle_time_is_twelve_hours() -> None:
    assert Registry(REGISTRY_ID).idle_seconds == DEFAULT_IDLE_SECONDS == 12 * 3600


def measure(make: object) -> int:
    """Bytes still allocated after ``make()`` (its result kept), after a collection."""
    assert callable(make)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = make()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return after - before


def test_an_open_upload_costs_under_one_and_a_half_kib() -> None:
    registry = new_registry(FakeClock())
    request = InitiateLayerUploadRequest(repository_name=RepositoryName("team/app"))
    initiate(registry)  # the first call's one-time costs are not an upload's
    count = 5_000
    cost = measure(lambda: [registry.initiate_layer_upload(request) for _ in range(count)])
    # The responses are kept too (about 100 bytes each): they hold the upload ids.
    assert cost / count < 1536, f"{cost / count:.0f} bytes per open upload"


def test_abandoned_uploads_are_freed_by_the_next_initiation_after_the_timeout() -> None:
    clock = FakeClock()
    registry = new_registry(clock)
    request = InitiateLayerUploadRequest(repository_name=RepositoryName("team/app"))
    initiate(registry)

    def abandon_then_initiate() -> None:
        for _ in range(5_000):
            registry.initiate_layer_upload(request)
        clock.now += IDLE
        registry.initiate_layer_upload(request)

    assert measure(abandon_then_initiate) < 16 * 1024
