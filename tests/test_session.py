"""UploadSession: the decision table's rows for parts and completion, its properties, and
its snapshots. (RepositoryNotFound is the registry's answer: see test_registry.)"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_values import SMALL

from ecr_upload_model import (
    API_LIMITS,
    SERVICE_QUOTAS,
    CompleteLayerUploadRequest,
    EcrError,
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    InvalidSnapshotError,
    LayerDigest,
    LayerPartTooSmallException,
    LimitExceededException,
    Limits,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    SessionPhase,
    UploadId,
    UploadLayerPartRequest,
    UploadNotFoundException,
    UploadSession,
    UsageError,
)
from ecr_upload_model.limits import MAX_LONG, MIN_PART_BYTES
from ecr_upload_model.session import MAX_PART_COUNT, SNAPSHOT_SCHEMA, _instance_of
from ecr_upload_model.strategies import (
    LayerUpload,
    faulty_layer_uploads,
    layer_uploads,
)

REGISTRY = RegistryId("123456789012")
OTHER_REGISTRY = RegistryId("210987654321")
NAME = RepositoryName("team/app")
OTHER_NAME = RepositoryName("team/other")
UPLOAD = UploadId("0a1b2c3d-0000-4000-8000-000000000000")
OTHER_UPLOAD = UploadId("ffffffff-ffff-4fff-bfff-ffffffffffff")
DIGEST = "sha256:" + "0" * 64


def new_session(limits: Limits = SMALL) -> UploadSession:
    return UploadSession(
        registry_id=REGISTRY, repository_name=NAME, upload_id=UPLOAD, limits=limits
    )


def part(
    first: int,
    blob: bytes,
    *,
    last: int | None = None,
    registry_id: RegistryId | None = None,
    repository_name: RepositoryName = NAME,
    upload_id: UploadId = UPLOAD,
) -> UploadLayerPartRequest:
    """The part of ``blob`` from ``first``; its range ends at ``last`` if given."""
    return UploadLayerPartRequest(
        registry_id=registry_id,
        repository_name=repository_name,
        upload_id=upload_id,
        part_first_byte=first,
        part_last_byte=first + len(blob) - 1 if last is None else last,
        layer_part_blob=blob,
    )


def sha256(data: bytes) -> LayerDigest:
    return LayerDigest.sha256(hashlib.sha256(data).hexdigest())


def completion(
    *digests: LayerDigest,
    registry_id: RegistryId | None = None,
    repository_name: RepositoryName = NAME,
    upload_id: UploadId = UPLOAD,
) -> CompleteLayerUploadRequest:
    return CompleteLayerUploadRequest(
        registry_id=registry_id,
        repository_name=repository_name,
        upload_id=upload_id,
        layer_digests=digests,
    )


def holding(*blobs: bytes, limits: Limits = SMALL) -> UploadSession:
    """A session that accepted ``blobs`` as its parts, in order."""
    session, first = new_session(limits), 0
    for blob in blobs:
        session, _ = session.upload_part(part(first, blob))
        first += len(blob)
    return session


def refused(session: UploadSession, request: UploadLayerPartRequest) -> EcrError:
    """The error ``session`` refuses ``request`` with; the session is unchanged by it."""
    before = attrs.evolve(session)
    with pytest.raises(EcrError) as refusal:
        session.upload_part(request)
    assert session == before
    return refusal.value


# ---------------------------------------------------------------------------------------
# Accepted parts


def test_first_part_is_accepted_and_answered_with_its_last_byte() -> None:
    session, response = new_session().upload_part(part(0, b"abcd"))
    assert response.last_byte_received == 3
    assert response.to_wire() == {
        "registryId": "123456789012",
        "repositoryName": "team/app",
        "uploadId": "0a1b2c3d-0000-4000-8000-000000000000",
        "lastByteReceived": 3,
    }
    assert session.last_byte_received == 3
    assert session.part_count == 1


def test_next_part_starts_at_the_byte_after_the_last_received() -> None:
    session = holding(b"abcd", b"efgh")
    session, response = session.upload_part(part(8, b"ij"))
    assert response.last_byte_received == 9
    assert session.bytes_received == 10
    assert session.part_count == 3


def test_request_without_registry_id_addresses_the_sessions_registry() -> None:
    _, by_default = new_session().upload_part(part(0, b"abcd"))
    _, by_name = new_session().upload_part(part(0, b"abcd", registry_id=REGISTRY))
    assert by_default == by_name
    assert by_default.registry_id == REGISTRY


def test_one_byte_part_is_accepted() -> None:
    session, response = new_session().upload_part(part(0, b"a"))
    assert response.last_byte_received == 0 == session.last_byte_received


def test_fresh_session_holds_nothing() -> None:
    session = new_session()
    assert session.last_byte_received is None
    assert session.bytes_received == 0
    assert session.part_count == 0
    assert not session.completed
    assert session.revision == 0


# ---------------------------------------------------------------------------------------
# Refused parts (docs/ecr-layer-upload.md, section 7)


def test_first_part_not_at_zero_is_refused_without_a_last_valid_byte() -> None:
    error = refused(new_session(), part(5, b"abcd"))
    assert isinstance(error, InvalidLayerPartException)
    assert error.last_valid_byte_received is None
    assert "lastValidByteReceived" not in error.to_wire()
    assert error.message == "First byte of the layer part is 5 instead of 0"


@pytest.mark.parametrize(
    ("first", "blob"),
    [
        (9, b"ijkl"),  # a gap of one byte
        (100, b"ijkl"),  # a gap of many
        (6, b"ghijkl"),  # an overlap
        (0, b"abcdefghijkl"),  # from 0 again, beyond the held bytes
        (4, b"efgh"),  # the part accepted last, sent again
        (0, b"abcd"),  # the first part, sent again
    ],
    ids=["gap-1", "gap-many", "overlap", "restart", "re-send", "first-again"],
)
def test_part_not_at_the_next_byte_is_refused_with_the_last_byte_held(
    first: int, blob: bytes
) -> None:
    session = holding(b"abcd", b"efgh")
    error = refused(session, part(first, blob))
    assert isinstance(error, InvalidLayerPartException)
    assert error.last_valid_byte_received == 7
    assert error.to_wire() == {
        "__type": "InvalidLayerPartException",
        "message": f"First byte of the layer part is {first} instead of 8",
        "registryId": "123456789012",
        "repositoryName": "team/app",
        "uploadId": "0a1b2c3d-0000-4000-8000-000000000000",
        "lastValidByteReceived": 7,
    }


def test_range_ending_before_it_starts_is_refused() -> None:
    error = refused(holding(b"abcd"), part(4, b"ef", last=3))
    assert isinstance(error, InvalidLayerPartException)
    assert error.last_valid_byte_received == 3


@pytest.mark.parametrize("last", [4, 5, 7, 100], ids=["shorter-1", "shorter", "longer", "far"])
def test_blob_whose_length_is_not_its_ranges_is_refused(last: int) -> None:
    error = refused(holding(b"abcd"), part(4, b"efg", last=last))
    assert isinstance(error, InvalidLayerPartException)
    assert error.last_valid_byte_received == 3


@pytest.mark.parametrize("first", [0, 4])
def test_empty_blob_is_refused(first: int) -> None:
    session = new_session() if first == 0 else holding(b"abcd")
    error = refused(session, part(first, b"", last=first))
    assert isinstance(error, InvalidLayerPartException)
    assert error.last_valid_byte_received == session.last_byte_received


def test_part_over_the_configured_part_maximum_is_refused() -> None:
    largest = SMALL.max_part_bytes
    assert new_session().upload_part(part(0, bytes(largest)))[1].last_byte_received == largest - 1
    error = refused(new_session(), part(0, bytes(largest + 1)))
    assert isinstance(error, InvalidLayerPartException)
    assert error.last_valid_byte_received is None


def test_part_over_the_10_mib_quota_but_within_the_api_maximum_is_refused() -> None:
    ten_mib = SERVICE_QUOTAS.max_part_bytes
    assert ten_mib == 10_485_760
    session = new_session(SERVICE_QUOTAS)
    assert session.upload_part(part(0, bytes(ten_mib)))[1].last_byte_received == ten_mib - 1
    error = refused(session, part(0, bytes(ten_mib + 1)))
    assert isinstance(error, InvalidLayerPartException)


def test_part_beyond_the_part_count_quota_is_limit_exceeded() -> None:
    limits = attrs.evolve(SMALL, max_parts=2)
    session = holding(b"abcd", b"efgh", limits=limits)
    error = refused(session, part(8, b"ij"))
    assert isinstance(error, LimitExceededException)


def test_part_that_would_make_the_layer_too_large_is_limit_exceeded() -> None:
    limits = attrs.evolve(SMALL, max_layer_bytes=10)
    session = holding(b"abcd", b"efgh", limits=limits)
    assert isinstance(refused(session, part(8, b"ijk")), LimitExceededException)
    full, response = session.upload_part(part(8, b"ij"))
    assert response.last_byte_received == 9
    assert isinstance(refused(full, part(10, b"k")), LimitExceededException)


def test_part_rules_answer_before_quotas() -> None:
    limits = attrs.evolve(SMALL, max_parts=1)
    session = holding(b"abcd", limits=limits)
    assert isinstance(refused(session, part(9, b"x")), InvalidLayerPartException)
    assert isinstance(refused(session, part(4, b"x")), LimitExceededException)


@pytest.mark.parametrize(
    "request_",
    [
        part(4, b"efgh", upload_id=OTHER_UPLOAD),
        part(4, b"efgh", repository_name=OTHER_NAME),
        part(4, b"efgh", registry_id=OTHER_REGISTRY),
    ],
    ids=["other-upload", "other-repository", "other-registry"],
)
def test_part_of_another_upload_repository_or_registry_is_upload_not_found(
    request_: UploadLayerPartRequest,
) -> None:
    assert isinstance(refused(holding(b"abcd"), request_), UploadNotFoundException)


def test_upload_not_found_answers_before_the_part_rules() -> None:
    error = refused(holding(b"abcd"), part(99, b"", last=3, upload_id=OTHER_UPLOAD))
    assert isinstance(error, UploadNotFoundException)


def test_refused_part_changes_nothing_and_the_next_correct_part_is_accepted() -> None:
    session = holding(b"abcd")
    for wrong in (part(9, b"x"), part(0, b"abcd"), part(4, b"", last=4), part(4, b"ef", last=9)):
        refused(session, wrong)
    session, response = session.upload_part(part(4, b"efgh"))
    assert response.last_byte_received == 7


def test_part_after_completion_is_upload_not_found() -> None:
    session, _ = holding(b"abcd").complete(completion(sha256(b"abcd")), sha256(b"abcd"))
    assert isinstance(refused(session, part(4, b"efgh")), UploadNotFoundException)


def test_revision_rises_by_one_on_each_accepted_transition_only() -> None:
    session = new_session()
    session, _ = session.upload_part(part(0, b"abcd"))
    assert session.revision == 1
    refused(session, part(0, b"abcd"))
    session, _ = session.upload_part(part(4, b"ef"))
    assert session.revision == 2
    session, _ = session.complete(completion(sha256(b"abcdef")), sha256(b"abcdef"))
    assert session.revision == 3


# ---------------------------------------------------------------------------------------
# Properties of parts


def accept_or_refuse(
    session: UploadSession, request: UploadLayerPartRequest
) -> tuple[UploadSession, bool]:
    """The session after ``request`` and whether it was accepted, checking that a refusal
    changes nothing and carries the last byte held."""
    try:
        following, response = session.upload_part(request)
    except (InvalidLayerPartException, UploadNotFoundException, LimitExceededException) as error:
        last_valid = getattr(error, "last_valid_byte_received", session.last_byte_received)
        assert last_valid == session.last_byte_received
        return session, False
    assert response.last_byte_received == following.last_byte_received
    return following, True


@given(faulty_layer_uploads(limits=SMALL, part_sizes=st.integers(1, SMALL.max_part_bytes)))
def test_valid_parts_are_accepted_and_every_fault_refused_as_the_table_says(
    upload: LayerUpload,
) -> None:
    session = upload.session(SMALL)
    for step in upload.steps:
        before = session
        if step.fault is None:
            session, response = session.upload_part(step.request)
            assert response.last_byte_received == step.request.part_last_byte
            continue
        error = step.fault.error
        assert error is not None  # every fault of a layer's parts is refused
        with pytest.raises(error) as refusal:
            session.upload_part(step.request)
        assert session == before
        if isinstance(refusal.value, InvalidLayerPartException):
            assert refusal.value.last_valid_byte_received == session.last_byte_received
    assert session.bytes_received == len(upload.layer)
    assert session.part_count == sum(step.fault is None for step in upload.steps)


@given(faulty_layer_uploads(limits=SMALL, part_sizes=st.integers(1, SMALL.max_part_bytes)))
def test_accepted_bytes_are_a_contiguous_prefix_of_the_layer(upload: LayerUpload) -> None:
    session, accepted = upload.session(SMALL), bytearray()
    for step in upload.steps:
        session, was_accepted = accept_or_refuse(session, step.request)
        if was_accepted:
            accepted += step.request.layer_part_blob
            assert upload.layer.startswith(accepted)
        assert session.bytes_received == len(accepted)
        expected_last = len(accepted) - 1 if accepted else None
        assert session.last_byte_received == expected_last
    assert bytes(accepted) == upload.layer


# Parts of any range and length, near one another, to any of a few uploads.
random_parts = st.builds(
    lambda first, length, blob, upload_id: part(
        first, blob, last=first + length - 1 if length else first, upload_id=upload_id
    ),
    st.integers(0, 40),
    st.integers(0, 20),
    st.binary(max_size=20),
    st.sampled_from([UPLOAD, UPLOAD, UPLOAD, OTHER_UPLOAD]),
)


@given(st.lists(random_parts, max_size=40))
def test_any_parts_leave_exactly_a_contiguous_prefix_from_byte_zero(
    requests: list[UploadLayerPartRequest],
) -> None:
    session, accepted = new_session(), bytearray()
    for request in requests:
        session, was_accepted = accept_or_refuse(session, request)
        if was_accepted:
            assert request.part_first_byte == len(accepted)
            accepted += request.layer_part_blob
    assert session.bytes_received == len(accepted)
    assert session.last_byte_received == (len(accepted) - 1 if accepted else None)


@given(layer_uploads(part_sizes=st.integers(1, SMALL.max_part_bytes), limits=SMALL), st.data())
def test_refused_part_leaves_session_unchanged_and_the_rest_is_accepted(
    upload: LayerUpload, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(upload.steps)))
    session = upload.session(SMALL)
    for step in upload.steps[:cut]:
        session, _ = session.upload_part(step.request)
    before = attrs.evolve(session)
    request = attrs.evolve(
        data.draw(random_parts), repository_name=upload.repository_name, upload_id=upload.upload_id
    )
    try:
        session.upload_part(request)
    except EcrError:
        assert session == before
        for step in upload.steps[cut:]:
            session, _ = session.upload_part(step.request)
        assert session.bytes_received == len(upload.layer)


# ---------------------------------------------------------------------------------------
# Completion (decision table: Empty, LayerPartTooSmall, InvalidLayer, in that order)


def test_completing_an_upload_with_no_parts_is_empty_upload() -> None:
    session = new_session()
    with pytest.raises(EmptyUploadException) as refusal:
        session.complete(completion(sha256(b"")), sha256(b""))
    assert "cannot be completed because it does not have any parts" in refusal.value.message


def test_completion_with_the_digest_of_the_bytes_completes_the_upload() -> None:
    session, response = holding(b"abcd", b"ef").complete(
        completion(sha256(b"abcdef")), sha256(b"abcdef")
    )
    assert session.completed
    assert session.layer_digest == sha256(b"abcdef")
    assert response.to_wire() == {
        "registryId": "123456789012",
        "repositoryName": "team/app",
        "uploadId": "0a1b2c3d-0000-4000-8000-000000000000",
        "layerDigest": str(sha256(b"abcdef")),
    }


def test_completion_with_another_digest_is_invalid_layer() -> None:
    with pytest.raises(InvalidLayerException):
        holding(b"abcd").complete(completion(sha256(b"abce")), sha256(b"abcd"))


def test_completion_matches_any_of_the_digests_given() -> None:
    _, response = holding(b"abcd").complete(
        completion(sha256(b"x"), sha256(b"abcd"), sha256(b"y")), sha256(b"abcd")
    )
    assert response.layer_digest == sha256(b"abcd")


def test_completion_digest_matches_in_any_hex_letter_case() -> None:
    computed = sha256(b"abcd")
    upper = LayerDigest(f"sha256:{computed.hex.upper()}")
    session, response = holding(b"abcd").complete(completion(upper), computed)
    assert session.completed
    assert response.layer_digest == computed


def test_completion_digest_of_another_algorithm_letter_case_is_invalid_layer() -> None:
    computed = sha256(b"abcd")
    with pytest.raises(InvalidLayerException):
        holding(b"abcd").complete(completion(LayerDigest(f"SHA256:{computed.hex}")), computed)


@pytest.mark.parametrize(
    ("sizes", "too_small"),
    [
        ((3, 4), True),  # a first part of min - 1, then the last
        ((4, 4, 1), False),  # parts of exactly the minimum; the last may be shorter
        ((4, 3, 4), True),  # a middle part of min - 1
        ((1,), False),  # a lone part is the last part
        ((4, 1), False),
    ],
)
def test_non_final_part_under_the_minimum_is_layer_part_too_small(
    sizes: tuple[int, ...], too_small: bool
) -> None:
    assert SMALL.min_part_bytes == 4
    blobs = [bytes([n]) * size for n, size in enumerate(sizes)]
    layer = b"".join(blobs)
    session = holding(*blobs)
    if too_small:
        with pytest.raises(LayerPartTooSmallException):
            session.complete(completion(sha256(layer)), sha256(layer))
    else:
        assert session.complete(completion(sha256(layer)), sha256(layer))[0].completed


@pytest.mark.parametrize(
    ("first_size", "too_small"), [(MIN_PART_BYTES - 1, True), (MIN_PART_BYTES, False)]
)
def test_non_final_part_of_5_mib_less_one_byte_is_too_small_and_of_5_mib_is_not(
    first_size: int, too_small: bool
) -> None:
    assert MIN_PART_BYTES == 5 * 1024 * 1024
    blobs = [bytes(first_size), b"tail"]
    layer = b"".join(blobs)
    session = holding(*blobs, limits=API_LIMITS)
    if too_small:
        with pytest.raises(LayerPartTooSmallException):
            session.complete(completion(sha256(layer)), sha256(layer))
    else:
        assert session.complete(completion(sha256(layer)), sha256(layer))[0].completed


def test_layer_part_too_small_answers_before_invalid_layer() -> None:
    with pytest.raises(LayerPartTooSmallException):
        holding(b"a", b"b").complete(completion(sha256(b"other")), sha256(b"ab"))


def test_empty_upload_answers_before_invalid_layer() -> None:
    with pytest.raises(EmptyUploadException):
        new_session().complete(completion(sha256(b"other")), sha256(b""))


@pytest.mark.parametrize(
    "request_",
    [
        completion(sha256(b"abcd"), upload_id=OTHER_UPLOAD),
        completion(sha256(b"abcd"), repository_name=OTHER_NAME),
        completion(sha256(b"abcd"), registry_id=OTHER_REGISTRY),
    ],
    ids=["other-upload", "other-repository", "other-registry"],
)
def test_completion_of_another_upload_repository_or_registry_is_upload_not_found(
    request_: CompleteLayerUploadRequest,
) -> None:
    with pytest.raises(UploadNotFoundException):
        holding(b"abcd").complete(request_, sha256(b"abcd"))


def test_upload_not_found_answers_before_empty_upload() -> None:
    with pytest.raises(UploadNotFoundException):
        new_session().complete(completion(sha256(b""), upload_id=OTHER_UPLOAD), sha256(b""))


def test_completing_twice_is_upload_not_found() -> None:
    session, _ = holding(b"abcd").complete(completion(sha256(b"abcd")), sha256(b"abcd"))
    with pytest.raises(UploadNotFoundException):
        session.complete(completion(sha256(b"abcd")), sha256(b"abcd"))


def test_refused_completion_changes_nothing_and_the_upload_goes_on() -> None:
    session = holding(b"abcd")
    before = attrs.evolve(session)
    with pytest.raises(InvalidLayerException):
        session.complete(completion(sha256(b"abcdef")), sha256(b"abcd"))
    assert session == before
    session, _ = session.upload_part(part(4, b"ef"))
    session, response = session.complete(completion(sha256(b"abcdef")), sha256(b"abcdef"))
    assert response.layer_digest == sha256(b"abcdef")


# ---------------------------------------------------------------------------------------
# Construction


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("registry_id", "123456789012"),
        ("repository_name", "team/app"),
        ("upload_id", str(UPLOAD)),
        ("limits", None),
    ],
)
def test_session_of_a_wrong_type_is_a_usage_error(field: str, value: object) -> None:
    arguments: dict[str, Any] = {
        "registry_id": REGISTRY,
        "repository_name": NAME,
        "upload_id": UPLOAD,
        "limits": SMALL,
        field: value,
    }
    with pytest.raises(UsageError, match=field):
        UploadSession(**arguments)


# ---------------------------------------------------------------------------------------
# Snapshots


# Uploads under limits of each kind, names of either grammar.
UPLOADS_UNDER_LIMITS = st.one_of(
    [
        st.tuples(
            st.just(limits),
            faulty_layer_uploads(
                layer_sizes=st.integers(0, 200),
                part_sizes=st.integers(1, min(limits.max_part_bytes, 32)),
                limits=limits,
                grammar=grammar,
            ),
        )
        for limits in (SMALL, API_LIMITS, attrs.evolve(SMALL, max_parts=5, max_layer_bytes=50))
        for grammar in RepositoryGrammar
    ]
)


@st.composite
def reachable_sessions(draw: st.DrawFn) -> UploadSession:
    """A session some sequence of parts (faults included) and perhaps a completion made."""
    limits, upload = draw(UPLOADS_UNDER_LIMITS)
    session = upload.session(limits)
    for step in upload.steps:
        session, _ = accept_or_refuse(session, step.request)
    if draw(st.booleans()):
        request = completion(
            sha256(upload.layer),
            registry_id=None,
            repository_name=upload.repository_name,
            upload_id=upload.upload_id,
        )
        with contextlib.suppress(EcrError):
            session, _ = session.complete(request, sha256(upload.layer))
    return session


@given(reachable_sessions())
def test_snapshot_of_any_reachable_session_reads_back_equal(session: UploadSession) -> None:
    snapshot = session.to_snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot  # JSON-safe
    assert UploadSession.from_snapshot(json.loads(json.dumps(snapshot))) == session


def test_snapshot_has_a_schema_version() -> None:
    assert new_session().to_snapshot()["schema"] == SNAPSHOT_SCHEMA


def snapshot_of(session: UploadSession, **changes: object) -> dict[str, object]:
    snapshot = session.to_snapshot()
    snapshot.update(changes)
    return snapshot


@pytest.mark.parametrize(
    "snapshot",
    [
        None,
        [],
        "snapshot",
        {},
        snapshot_of(new_session(), schema="ecr_upload_model.UploadSession/2"),
        snapshot_of(new_session(), schema=None),
        {k: v for k, v in new_session().to_snapshot().items() if k != "uploadId"},
        snapshot_of(new_session(), registryId="12345"),
        snapshot_of(new_session(), registryId=123456789012),
        snapshot_of(new_session(), repositoryName="Team/App"),
        snapshot_of(new_session(), uploadId="not-an-id"),
        snapshot_of(new_session(), limits={"max_part_bytes": 0}),
        snapshot_of(new_session(), limits={"unknown": 1}),
        snapshot_of(new_session(), limits={}),
        snapshot_of(new_session(), limits={**attrs.asdict(SMALL), "unknown": 1}),
        snapshot_of(new_session(), limits={"max_part_bytes": 16, "min_part_bytes": 4}),
        snapshot_of(new_session(), limits=[]),
        snapshot_of(new_session(), partCount=True),
        snapshot_of(new_session(), partCount=-1),
        snapshot_of(new_session(), revision=MAX_LONG + 1),
        snapshot_of(new_session(), revision="0"),
        snapshot_of(new_session(), hasSmallPartBeforeLatest=0),
        snapshot_of(new_session(), lastByteReceived=1.0),
        snapshot_of(new_session(), layerDigest="sha256"),
    ],
    ids=lambda snapshot: "malformed",
)
def test_malformed_or_foreign_snapshot_is_refused(snapshot: object) -> None:
    with pytest.raises(InvalidSnapshotError):
        UploadSession.from_snapshot(snapshot)


HELD = holding(b"abcd", b"ef")


@pytest.mark.parametrize(
    "changes",
    [
        {"partCount": 0},  # bytes held without a part
        {"lastByteReceived": None},  # parts without bytes
        {"latestPartSize": 7},  # a latest part larger than what is held
        {"latestPartSize": 0},  # a latest part of nothing
        {"partCount": 7},  # more parts than bytes
        {"revision": 1},  # fewer transitions than parts
        {"revision": 3},  # more transitions than parts (and no completion)
        {"hasSmallPartBeforeLatest": True, "partCount": 1, "revision": 1},
        {"layerDigest": str(sha256(b"")), "partCount": 0, "lastByteReceived": None},
        # 3 parts in 6 bytes: an earlier part was under the 4-byte minimum, yet no flag.
        {"partCount": 3, "revision": 3},
        # 2 parts: the earlier one holds 4, under the flag that says it was small.
        {"hasSmallPartBeforeLatest": True},
        {"partCount": 0, "lastByteReceived": None, "revision": 0},  # a latest part of 2
        # an earlier part one byte over the maximum
        {"lastByteReceived": SMALL.max_part_bytes + 2, "latestPartSize": 2},
        {"limits": {**attrs.asdict(SMALL), "max_parts": 1}},  # more parts than the quota
        {"limits": {**attrs.asdict(SMALL), "max_layer_bytes": 5}},  # a layer over its quota
    ],
)
def test_inconsistent_snapshot_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidSnapshotError):
        UploadSession.from_snapshot(snapshot_of(HELD, **changes))


def test_progress_is_not_an_argument_of_the_constructor() -> None:
    # One way to start a session: its ids. The progress comes from transitions only.
    with pytest.raises(TypeError, match="part_count"):
        UploadSession(
            registry_id=REGISTRY,
            repository_name=NAME,
            upload_id=UPLOAD,
            part_count=1,  # type: ignore[call-arg]
        )
    with pytest.raises(TypeError, match="last_byte_received"):
        attrs.evolve(new_session(), last_byte_received=3)  # type: ignore[call-arg]


def test_phase_follows_the_accepted_transitions_only() -> None:
    session = new_session()
    assert session.phase is SessionPhase.EMPTY
    with pytest.raises(EmptyUploadException):
        session.complete(completion(sha256(b"")), sha256(b""))
    assert session.phase is SessionPhase.EMPTY
    session = holding(b"abcd")
    assert session.phase is SessionPhase.RECEIVING
    refused(session, part(9, b"x"))
    assert session.phase is SessionPhase.RECEIVING
    session, _ = session.complete(completion(sha256(b"abcd")), sha256(b"abcd"))
    assert session.phase is SessionPhase.COMPLETED


@pytest.mark.parametrize(
    "changes",
    [
        {"partCount": 1, "revision": 1},  # a part, but no bytes
        # one part cannot have a small part before it
        {
            "lastByteReceived": 5,
            "partCount": 1,
            "latestPartSize": 6,
            "hasSmallPartBeforeLatest": True,
            "revision": 1,
        },
        {
            "lastByteReceived": 5,
            "partCount": 1,
            "latestPartSize": 5,
            "revision": 1,
        },  # 6 bytes, 5 held
    ],
)
def test_snapshot_of_a_session_no_transitions_reach_is_refused_saying_so(
    changes: dict[str, object],
) -> None:
    with pytest.raises(InvalidSnapshotError, match="no upload reaches this session"):
        UploadSession.from_snapshot(snapshot_of(new_session(), **changes))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=6,
)


@given(reachable_sessions(), st.data())
def test_snapshot_with_a_member_changed_reads_back_faithfully_or_is_refused(
    session: UploadSession, data: st.DataObject
) -> None:
    snapshot = session.to_snapshot()
    name = data.draw(st.sampled_from(sorted(snapshot)))
    snapshot[name] = data.draw(st.one_of(JSON, st.integers(-2, MAX_LONG + 1)))
    try:
        read = UploadSession.from_snapshot(snapshot)
    except InvalidSnapshotError:
        return
    assert read.to_snapshot() == snapshot


#: Counts at the edges of what a snapshot may hold, and on either side of them.
EDGE_COUNTS = st.sampled_from(
    [None, 0, 1, 2, 3, 4, 16, 17, MAX_PART_COUNT - 1, MAX_PART_COUNT, MAX_LONG, MAX_LONG + 1]
)
LIMITS_FIELDS = [field.name for field in attrs.fields(Limits)]


@st.composite
def edge_snapshots(draw: st.DrawFn) -> dict[str, object]:
    """Snapshots of any counts, limits and flags: most are refused, some are read."""
    limits = {name: draw(st.one_of(EDGE_COUNTS, JSON)) for name in LIMITS_FIELDS}
    if draw(st.booleans()):  # often valid limits, so that the counts are what is judged
        limits = attrs.asdict(draw(st.sampled_from([SMALL, API_LIMITS, SERVICE_QUOTAS])))
    snapshot = snapshot_of(
        new_session(),
        limits=limits,
        lastByteReceived=draw(EDGE_COUNTS),
        partCount=draw(EDGE_COUNTS),
        latestPartSize=draw(EDGE_COUNTS),
        hasSmallPartBeforeLatest=draw(st.booleans()),
        layerDigest=draw(st.sampled_from([None, str(sha256(b"")), "sha256"])),
    )
    snapshot["revision"] = draw(st.one_of(EDGE_COUNTS, st.just(snapshot["partCount"])))
    return snapshot


@given(edge_snapshots())
def test_any_snapshot_is_a_session_or_invalid_snapshot_error_never_another_error(
    snapshot: dict[str, object],
) -> None:
    with contextlib.suppress(InvalidSnapshotError):
        UploadSession.from_snapshot(snapshot)


@pytest.mark.parametrize("field", ["max_part_bytes", "min_part_bytes", "part_size"])
def test_snapshot_whose_limits_lack_a_required_number_is_invalid(field: str) -> None:
    limits = {**attrs.asdict(SMALL), field: None}
    with pytest.raises(InvalidSnapshotError, match=f"{field} must be a positive int, not None"):
        UploadSession.from_snapshot(snapshot_of(new_session(), limits=limits))


@given(st.one_of(edge_snapshots(), reachable_sessions().map(UploadSession.to_snapshot)))
def test_every_successor_of_an_accepted_snapshot_is_written_and_read_back(
    snapshot: dict[str, object],
) -> None:
    try:
        session = UploadSession.from_snapshot(snapshot)
    except InvalidSnapshotError:
        return
    successors = []
    first = session.bytes_received
    if first <= MAX_LONG:  # a next part is a request a client can make
        blob = b"x" * min(session.limits.part_size, MAX_LONG - first + 1)
        request = part(
            first, blob, repository_name=session.repository_name, upload_id=session.upload_id
        )
        with contextlib.suppress(EcrError):
            successors.append(session.upload_part(request)[0])
    with contextlib.suppress(EcrError):
        digest = sha256(b"")
        done = completion(
            digest,
            registry_id=None,
            repository_name=session.repository_name,
            upload_id=session.upload_id,
        )
        # The digest the store computed is the one the client names: only the rules decide.
        successors.append(session.complete(done, digest)[0])
    for successor in successors:
        assert UploadSession.from_snapshot(successor.to_snapshot()) == successor


def test_a_session_of_the_most_parts_it_counts_refuses_another_and_still_completes() -> None:
    limits = Limits(min_part_bytes=1, part_size=1)
    session = UploadSession.from_snapshot(
        snapshot_of(
            new_session(limits=limits),
            lastByteReceived=MAX_PART_COUNT - 1,
            partCount=MAX_PART_COUNT,
            latestPartSize=1,
            revision=MAX_PART_COUNT,
        )
    )
    with pytest.raises(LimitExceededException, match=f"already holds {MAX_PART_COUNT} parts"):
        session.upload_part(part(MAX_PART_COUNT, b"x"))
    request = completion(
        sha256(b""),
        registry_id=None,
        repository_name=session.repository_name,
        upload_id=session.upload_id,
    )
    done, _ = session.complete(request, sha256(b""))
    assert done.revision == MAX_LONG
    assert UploadSession.from_snapshot(done.to_snapshot()) == done


#: The message of a session no transitions reach: the rule broken, then the counts.
UNREACHABLE = "no upload reaches this session: the rule '{}' fails for {}"


@pytest.mark.parametrize(
    ("limits", "progress", "message"),
    [
        (
            SMALL,
            {"lastByteReceived": 4},
            UNREACHABLE.format(
                "an upload without parts holds nothing and is not completed",
                "0 parts, 5 bytes, the latest of 0",
            ),
        ),
        (
            SMALL,
            {"lastByteReceived": 0, "partCount": 1},
            UNREACHABLE.format(
                "the latest part fits the limits", "1 parts, 1 bytes, the latest of 0"
            ),
        ),
        (
            # One part, larger than what the upload holds.
            SMALL,
            {"lastByteReceived": 2, "partCount": 1, "latestPartSize": 5},
            UNREACHABLE.format(
                "earlier parts hold enough bytes", "1 parts, 3 bytes, the latest of 5"
            ),
        ),
        (
            SMALL,
            # An earlier part one byte over the maximum.
            {"lastByteReceived": SMALL.max_part_bytes + 1, "partCount": 2, "latestPartSize": 1},
            UNREACHABLE.format(
                "earlier parts fit the limits",
                f"2 parts, {SMALL.max_part_bytes + 2} bytes, the latest of 1",
            ),
        ),
        (
            SMALL,
            {
                "lastByteReceived": 4,
                "partCount": 1,
                "latestPartSize": 5,
                "hasSmallPartBeforeLatest": True,
            },
            UNREACHABLE.format(
                "a small part before the latest needs two parts",
                "1 parts, 5 bytes, the latest of 5",
            ),
        ),
        (
            SMALL,
            {
                "lastByteReceived": 1,
                "partCount": 2,
                "latestPartSize": 1,
                "hasSmallPartBeforeLatest": True,
                "layerDigest": DIGEST,
            },
            UNREACHABLE.format(
                "a completed upload has no small part before its last",
                "2 parts, 2 bytes, the latest of 1",
            ),
        ),
        (
            attrs.evolve(SMALL, max_parts=1),
            {"lastByteReceived": 4, "partCount": 2, "latestPartSize": 1},
            UNREACHABLE.format("the parts fit the quota", "2 parts, 5 bytes, the latest of 1"),
        ),
        (
            attrs.evolve(SMALL, max_layer_bytes=2),
            {"lastByteReceived": 2, "partCount": 1, "latestPartSize": 3},
            UNREACHABLE.format("the layer fits the quota", "1 parts, 3 bytes, the latest of 3"),
        ),
    ],
)
def test_snapshot_no_upload_reaches_is_refused_naming_the_rule_it_breaks(
    limits: Limits, progress: dict[str, Any], message: str
) -> None:
    revision = progress.get("partCount", 0) + ("layerDigest" in progress)
    snapshot = fresh_snapshot(limits=attrs.asdict(limits), revision=revision, **progress)
    with pytest.raises(InvalidSnapshotError) as refused:
        UploadSession.from_snapshot(snapshot)
    assert str(refused.value) == f"not a session snapshot: {message}"


@pytest.mark.parametrize(
    ("limits", "held", "request_", "wire"),
    [
        (
            attrs.evolve(SMALL, max_parts=1),
            [b"abcd"],
            {"part_first_byte": 4, "part_last_byte": 5, "layer_part_blob": b"ef"},
            {
                "__type": "LimitExceededException",
                "message": "The upload already holds 1 parts, the most a layer may have",
            },
        ),
        (
            attrs.evolve(SMALL, max_layer_bytes=5),
            [],
            {"part_first_byte": 0, "part_last_byte": 5, "layer_part_blob": b"abcdef"},
            {
                "__type": "LimitExceededException",
                "message": "The part would make the layer 6 bytes, over the maximum 5",
            },
        ),
        (
            # No registryId: the message names the session's registry.
            SMALL,
            [],
            {
                "upload_id": OTHER_UPLOAD,
                "part_first_byte": 0,
                "part_last_byte": 0,
                "layer_part_blob": b"a",
            },
            {
                "__type": "UploadNotFoundException",
                "message": f"Upload '{OTHER_UPLOAD}' is not found in repository "
                "'team/app' of registry '123456789012'",
            },
        ),
        (
            SMALL,
            [],
            {
                "registry_id": RegistryId("210987654321"),
                "part_first_byte": 0,
                "part_last_byte": 0,
                "layer_part_blob": b"a",
            },
            {
                "__type": "UploadNotFoundException",
                "message": f"Upload '{UPLOAD}' is not found in repository "
                "'team/app' of registry '210987654321'",
            },
        ),
    ],
)
def test_refused_part_is_answered_with_a_message_saying_what_it_breaks(
    limits: Limits, held: list[bytes], request_: dict[str, Any], wire: dict[str, object]
) -> None:
    session = holding(*held, limits=limits)
    arguments: dict[str, Any] = {
        "repository_name": session.repository_name,
        "upload_id": session.upload_id,
        **request_,
    }
    with pytest.raises(EcrError) as refused:
        session.upload_part(UploadLayerPartRequest(**arguments))
    assert refused.value.to_wire() == wire


@pytest.mark.parametrize(
    ("held", "wire"),
    [
        (
            [b"ab", b"cd"],
            {
                "__type": "LayerPartTooSmallException",
                "message": "All layer parts except the last part should be at least 4 bytes",
            },
        ),
        (
            [b"abcd"],
            {
                "__type": "InvalidLayerException",
                "message": f"The layer digest calculated for upload '{UPLOAD}' is "
                f"sha256:{'1' * 64}, which is none of the digests specified",
            },
        ),
    ],
)
def test_refused_completion_is_answered_with_a_message_saying_what_is_wrong(
    held: list[bytes], wire: dict[str, object]
) -> None:
    session = holding(*held)
    request = completion(LayerDigest(DIGEST))
    with pytest.raises(EcrError) as refused:
        session.complete(request, LayerDigest("sha256:" + "1" * 64))
    assert refused.value.to_wire() == wire


def fresh_snapshot(*, without: str = "", **changes: object) -> dict[str, object]:
    """The snapshot of a new session under SMALL, written out; ``without`` drops a member."""
    snapshot: dict[str, object] = {
        "schema": "ecr_upload_model.UploadSession/1",
        "registryId": str(REGISTRY),
        "repositoryName": "team/app",
        "uploadId": str(UPLOAD),
        "limits": attrs.asdict(SMALL),
        "lastByteReceived": None,
        "partCount": 0,
        "latestPartSize": 0,
        "hasSmallPartBeforeLatest": False,
        "layerDigest": None,
        "revision": 0,
        **changes,
    }
    snapshot.pop(without, None)
    return snapshot


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        (None, "the schema is not 'ecr_upload_model.UploadSession/1'"),
        (fresh_snapshot(registryId=123456789012), "'registryId' is 123456789012, not a str"),
        # A missing count must not quietly read as 0.
        (fresh_snapshot(without="partCount"), "'partCount' is None, not a int"),
        (fresh_snapshot(without="latestPartSize"), "'latestPartSize' is None, not a int"),
        (fresh_snapshot(without="revision"), "'revision' is None, not a int"),
        # Nor a missing flag as false, or a missing name as the text "None".
        (
            fresh_snapshot(without="hasSmallPartBeforeLatest"),
            "'hasSmallPartBeforeLatest' is None, not a bool",
        ),
        (fresh_snapshot(without="repositoryName"), "'repositoryName' is None, not a str"),
        (
            fresh_snapshot(partCount=-1),
            "'partCount' is -1, outside 0 to 9223372036854775807",
        ),
        (
            fresh_snapshot(limits={"unknown": 1}),
            "'limits' has the fields ['unknown'], not ['max_layer_bytes', 'max_part_bytes', "
            "'max_parts', 'min_part_bytes', 'part_size']",
        ),
        (fresh_snapshot(revision=5), "'revision' is 5, not 0"),
        (
            fresh_snapshot(lastByteReceived=4),
            UNREACHABLE.format(
                "an upload without parts holds nothing and is not completed",
                "0 parts, 5 bytes, the latest of 0",
            ),
        ),
    ],
)
def test_snapshot_refusal_says_what_is_wrong(snapshot: object, message: str) -> None:
    with pytest.raises(InvalidSnapshotError) as refused:
        UploadSession.from_snapshot(snapshot)
    assert str(refused.value) == f"not a session snapshot: {message}"


@pytest.mark.parametrize(
    "session",
    [
        new_session(),
        holding(b"abcd"),
        holding(b"a" * SMALL.max_part_bytes),  # the latest part of the most bytes
        # The earlier parts of the most bytes with a small one among them.
        holding(b"a" * SMALL.max_part_bytes, b"abc", b"x"),
        holding(b"abcd", b"ef", limits=attrs.evolve(SMALL, max_layer_bytes=6)),
    ],
    ids=["empty", "receiving", "largest-latest", "largest-earlier", "largest-layer"],
)
def test_snapshot_of_a_session_at_the_limits_reads_back_equal(session: UploadSession) -> None:
    snapshot = session.to_snapshot()
    assert UploadSession.from_snapshot(snapshot) == session
    assert UploadSession.from_snapshot(snapshot).phase is session.phase


def test_snapshot_of_the_most_parts_a_session_counts_is_read_back() -> None:
    # MAX_PART_COUNT - 1 parts of one byte (under the minimum, hence the flag), then one of
    # two; completed, its revision is the largest long.
    snapshot = fresh_snapshot(
        limits=attrs.asdict(Limits()),
        lastByteReceived=MAX_PART_COUNT,
        partCount=MAX_PART_COUNT,
        latestPartSize=2,
        hasSmallPartBeforeLatest=True,
        revision=MAX_PART_COUNT,
    )
    session = UploadSession.from_snapshot(snapshot)
    assert (session.part_count, session.last_byte_received, session.revision) == (
        MAX_PART_COUNT,
        MAX_PART_COUNT,
        MAX_LONG - 1,
    )
    assert session.to_snapshot() == snapshot
    with pytest.raises(InvalidSnapshotError, match="the parts fit the quota"):
        UploadSession.from_snapshot(
            {**snapshot, "partCount": MAX_LONG, "lastByteReceived": MAX_LONG, "revision": MAX_LONG}
        )


def test_type_check_of_a_session_field_names_the_field_and_the_types() -> None:
    # Made here, not at import: the session's fields are checked by checks made at import.
    field = attrs.fields(Limits).part_size
    _instance_of((int, str))(None, field, "text")
    with pytest.raises(UsageError) as refused:
        _instance_of((int, str))(None, field, None)
    assert str(refused.value) == "part_size must be a int or str, not None"
    with pytest.raises(UsageError) as refused:
        _instance_of(int)(None, field, 1.5)
    assert str(refused.value) == "part_size must be a int, not 1.5"
