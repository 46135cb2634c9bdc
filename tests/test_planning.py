"""The client side: part plans, the LayerPush state machine, and whole pushes that resume."""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_values import REGISTRY_ID, SMALL

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    EcrError,
    EmptyUploadException,
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    InvalidLayerPartException,
    Layer,
    LayerAlreadyExistsException,
    LayerAvailability,
    LayerDigest,
    LayerPartTooSmallException,
    Limits,
    Registry,
    RegistryId,
    RepositoryName,
    RepositoryNotFoundException,
    SerializationException,
    ServerException,
    UploadId,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
    UploadNotFoundException,
    UsageError,
)
from ecr_upload_model.limits import API_MAX_PART_BYTES
from ecr_upload_model.planning import (
    InitiateLayerUploadAnswer,
    LayerPush,
    Outcome,
    PartRange,
    PushPhase,
    Transport,
    UnexpectedAnswerError,
    UploadLayerPartAnswer,
    decode_answer,
    encode_request,
    layer_digest,
    plan_parts,
    push_layer,
)
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import Request, decode_request, encode_error, handle

UPLOAD_ID = UploadId("00000000-0000-0000-0000-000000000007")
OTHER_UPLOAD_ID = UploadId("00000000-0000-0000-0000-000000000008")
REPOSITORY = RepositoryName("team/app")


def sha256(data: bytes) -> LayerDigest:
    return LayerDigest.sha256(hashlib.sha256(data).hexdigest())


def new_registry(limits: Limits = SMALL) -> Registry:
    registry = Registry(REGISTRY_ID, limits=limits, upload_id_factory=sequential_upload_ids())
    registry.create_repository(REPOSITORY)
    return registry


def held_size(registry: Registry, digest: LayerDigest) -> int | None:
    """The size of the layer the repository holds under ``digest``, else None."""
    answer = registry.batch_check_layer_availability(
        BatchCheckLayerAvailabilityRequest(repository_name=REPOSITORY, layer_digests=(str(digest),))
    )
    return answer.layers[0].layer_size if answer.layers else None


# ---------------------------------------------------------------------------------------
# Planning the parts


@given(layer_size=st.integers(0, 5_000), part_size=st.integers(1, 6_000), data=st.data())
def test_plan_covers_the_layer_once_in_inclusive_ranges(
    layer_size: int, part_size: int, data: st.DataObject
) -> None:
    first_byte = data.draw(st.integers(0, layer_size), label="first_byte")
    parts = plan_parts(layer_size, part_size, first_byte=first_byte)
    covered = [byte for part in parts for byte in range(part.first, part.last + 1)]
    assert covered == list(range(first_byte, layer_size))
    assert all(part.size == part_size for part in parts[:-1])
    assert all(0 < part.size <= part_size for part in parts)
    assert all(part.last == part.first + part.size - 1 for part in parts)


def test_plan_of_a_zero_byte_layer_has_no_part() -> None:
    assert plan_parts(0, 10) == ()


def test_plan_ends_with_a_shorter_part() -> None:
    assert plan_parts(25, 10) == (PartRange(0, 9), PartRange(10, 19), PartRange(20, 24))


def test_plan_accepts_the_api_maximum_part_size() -> None:
    assert plan_parts(API_MAX_PART_BYTES + 1, API_MAX_PART_BYTES) == (
        PartRange(0, API_MAX_PART_BYTES - 1),
        PartRange(API_MAX_PART_BYTES, API_MAX_PART_BYTES),
    )


@pytest.mark.parametrize("part_size", [0, -1, API_MAX_PART_BYTES + 1, True, 1.5, "8"])
def test_plan_refuses_a_part_size_outside_one_to_the_api_maximum(part_size: object) -> None:
    with pytest.raises(UsageError, match=f"from 1 to {API_MAX_PART_BYTES}"):
        plan_parts(100, part_size)  # type: ignore[arg-type]


@pytest.mark.parametrize(("layer_size", "first_byte"), [(-1, 0), (10, 11), (10, -1)])
def test_plan_refuses_a_layer_size_or_first_byte_that_is_impossible(
    layer_size: int, first_byte: int
) -> None:
    with pytest.raises(UsageError):
        plan_parts(layer_size, 4, first_byte=first_byte)


def test_layer_digest_is_the_sha256_of_the_bytes_across_windows() -> None:
    data = bytes(range(256)) * 50_000  # several 10 MiB hashing windows
    assert layer_digest(data) == sha256(data)
    assert layer_digest(memoryview(bytearray(data))) == sha256(data)


def test_a_layer_that_is_not_a_contiguous_buffer_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="contiguous buffer"):
        LayerPush.start(memoryview(b"abcdef")[::2], repository_name=REPOSITORY)
    with pytest.raises(UsageError, match="contiguous buffer"):
        LayerPush.start("text", repository_name=REPOSITORY)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# The state machine, driven by hand


def not_held() -> BatchCheckLayerAvailabilityResponse:
    return BatchCheckLayerAvailabilityResponse(layers=(), failures=())


def held(digest: LayerDigest, size: int) -> BatchCheckLayerAvailabilityResponse:
    layer = Layer(
        layer_digest=digest, layer_availability=LayerAvailability.AVAILABLE, layer_size=size
    )
    return BatchCheckLayerAvailabilityResponse(layers=(layer,), failures=())


def accepted(last: int, upload_id: UploadId = UPLOAD_ID) -> UploadLayerPartResponse:
    return UploadLayerPartResponse(
        registry_id=RegistryId(REGISTRY_ID),
        repository_name=REPOSITORY,
        upload_id=upload_id,
        last_byte_received=last,
    )


def refused(last_valid: int | None) -> InvalidLayerPartException:
    return InvalidLayerPartException("refused", last_valid_byte_received=last_valid)


def uploading(data: bytes | bytearray, part_size: int = 10) -> LayerPush:
    """A push of ``data`` just past InitiateLayerUpload."""
    push = LayerPush.start(data, repository_name=REPOSITORY, min_part_size=1).on_response(
        not_held()
    )
    return push.on_response(InitiateLayerUploadResponse(upload_id=UPLOAD_ID, part_size=part_size))


def part_range(push: LayerPush) -> tuple[int, int]:
    request = push.next_request()
    assert isinstance(request, UploadLayerPartRequest)
    return request.part_first_byte, request.part_last_byte


def test_push_checks_initiates_sends_parts_in_order_and_completes() -> None:
    data = bytes(range(25))
    push = LayerPush.start(
        data, repository_name=REPOSITORY, registry_id=REGISTRY_ID, min_part_size=1
    )
    check = push.next_request()
    assert isinstance(check, BatchCheckLayerAvailabilityRequest)
    assert check.layer_digests == (str(sha256(data)),)
    assert check.registry_id == RegistryId(REGISTRY_ID)
    push = push.on_response(not_held())
    assert isinstance(push.next_request(), InitiateLayerUploadRequest)
    push = push.on_response(InitiateLayerUploadResponse(upload_id=UPLOAD_ID, part_size=10))
    sent = []
    while push.phase is PushPhase.UPLOAD:
        request = push.next_request()
        assert isinstance(request, UploadLayerPartRequest)
        assert request.upload_id == UPLOAD_ID
        sent.append(
            (request.part_first_byte, request.part_last_byte, bytes(request.layer_part_blob))
        )
        push = push.on_response(accepted(request.part_last_byte))
    assert sent == [(0, 9, data[0:10]), (10, 19, data[10:20]), (20, 24, data[20:25])]
    completion = push.next_request()
    assert isinstance(completion, CompleteLayerUploadRequest)
    assert completion.layer_digests == (sha256(data),)
    push = push.on_response(
        CompleteLayerUploadResponse(
            registry_id=RegistryId(REGISTRY_ID),
            repository_name=REPOSITORY,
            upload_id=UPLOAD_ID,
            layer_digest=sha256(data),
        )
    )
    assert push.done
    assert push.next_request() is None
    assert not push.skipped


def test_push_sends_nothing_more_when_the_repository_holds_the_layer() -> None:
    push = LayerPush.start(b"abc", repository_name=REPOSITORY, min_part_size=1)
    push = push.on_response(held(sha256(b"abc"), 3))
    assert push.done
    assert push.skipped
    assert push.next_request() is None


def test_push_of_a_layer_another_digest_is_held_for_goes_on() -> None:
    push = LayerPush.start(b"abc", repository_name=REPOSITORY, min_part_size=1)
    assert push.on_response(held(sha256(b"xyz"), 3)).phase is PushPhase.INITIATE


def test_part_requests_are_windows_of_the_callers_buffer_not_copies() -> None:
    buffer = bytearray(b"0123456789abcdefghij")
    push = uploading(buffer)
    request = push.next_request()
    assert isinstance(request, UploadLayerPartRequest)
    blob = request.layer_part_blob
    assert isinstance(blob, memoryview)
    assert blob.obj is buffer
    buffer[0:1] = b"X"  # the request sees the caller's own bytes
    assert bytes(blob) == b"X123456789"


def test_the_same_request_comes_again_until_an_answer_is_handed_in() -> None:
    push = uploading(bytes(25))
    assert part_range(push) == part_range(push) == (0, 9)


def test_partsize_from_initiate_sets_the_parts_and_the_callers_part_size_overrides_it() -> None:
    assert part_range(uploading(bytes(25), part_size=7)) == (0, 6)
    push = LayerPush.start(bytes(25), repository_name=REPOSITORY, part_size=4)
    push = push.on_response(not_held())
    push = push.on_response(InitiateLayerUploadResponse(upload_id=UPLOAD_ID, part_size=10))
    assert part_range(push) == (0, 3)


@pytest.mark.parametrize("part_size", [0, API_MAX_PART_BYTES + 1])
def test_a_registry_partsize_no_part_can_have_is_an_unexpected_answer(part_size: int) -> None:
    push = LayerPush.start(b"abc", repository_name=REPOSITORY, min_part_size=1).on_response(
        not_held()
    )
    with pytest.raises(UnexpectedAnswerError, match="partSize"):
        push.on_response(InitiateLayerUploadResponse(upload_id=UPLOAD_ID, part_size=part_size))


def test_a_callers_part_size_of_zero_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(UsageError, match="part size"):
        LayerPush.start(b"abc", repository_name=REPOSITORY, part_size=0)


def test_a_zero_byte_layer_sends_no_part_and_goes_to_completion() -> None:
    push = uploading(b"")
    assert push.phase is PushPhase.COMPLETE
    assert isinstance(push.next_request(), CompleteLayerUploadRequest)


def test_refused_part_resumes_from_the_byte_after_last_valid_byte_received() -> None:
    push = uploading(bytes(25)).on_response(accepted(9))
    assert part_range(push) == (10, 19)
    # The answer to 10-19 was lost and the part landed: its re-send is refused.
    push = push.on_error(refused(19))
    assert part_range(push) == (20, 24)


def test_refusal_naming_the_last_byte_of_the_layer_moves_on_to_completion() -> None:
    push = uploading(bytes(25)).on_response(accepted(19))
    push = push.on_error(refused(24))
    assert isinstance(push.next_request(), CompleteLayerUploadRequest)


def test_refusal_with_no_byte_received_resumes_from_byte_zero() -> None:
    push = uploading(bytes(25)).on_response(accepted(9))
    assert part_range(push.on_error(refused(None))) == (0, 9)


@pytest.mark.parametrize("last_valid", [None, 9])
def test_refusal_of_the_part_the_registry_expects_ends_the_push(last_valid: int | None) -> None:
    # The registry wants the very part it refused: the part itself is wrong (too large
    # for its limits, say), and sending it again would be refused again.
    push = uploading(bytes(25))
    if last_valid is not None:
        push = push.on_response(accepted(last_valid))
    error = refused(last_valid)
    with pytest.raises(InvalidLayerPartException) as raised:
        push.on_error(error)
    assert raised.value is error


def test_layer_already_exists_at_completion_counts_as_success() -> None:
    push = uploading(bytes(5)).on_response(accepted(4))
    push = push.on_error(LayerAlreadyExistsException())
    assert push.done


def test_upload_not_found_at_completion_checks_whether_the_layer_is_held() -> None:
    data = bytes(5)
    push = uploading(data).on_response(accepted(4)).on_error(UploadNotFoundException())
    assert push.phase is PushPhase.VERIFY
    assert isinstance(push.next_request(), BatchCheckLayerAvailabilityRequest)
    assert push.on_response(held(sha256(data), 5)).done
    with pytest.raises(UploadNotFoundException, match="vanished"):
        push.on_response(not_held())


@pytest.mark.parametrize("error", [RepositoryNotFoundException(), UploadNotFoundException()])
def test_other_errors_end_the_push(error: EcrError) -> None:
    with pytest.raises(type(error)):
        uploading(bytes(25)).on_error(error)


def test_an_answer_of_another_step_is_unexpected_and_leaves_the_push_as_it_was() -> None:
    push = uploading(bytes(25))
    with pytest.raises(UnexpectedAnswerError, match="BatchCheckLayerAvailabilityResponse"):
        push.on_response(not_held())
    assert part_range(push) == (0, 9)


def test_an_answer_about_another_upload_is_unexpected() -> None:
    with pytest.raises(UnexpectedAnswerError, match="not this push"):
        uploading(bytes(25)).on_response(accepted(9, upload_id=OTHER_UPLOAD_ID))


def test_a_resume_point_beyond_the_layer_is_unexpected() -> None:
    push = uploading(bytes(25))
    with pytest.raises(UnexpectedAnswerError, match="byte 26 of a 25-byte layer"):
        push.on_response(accepted(25))
    with pytest.raises(UnexpectedAnswerError, match="byte 31 of a 25-byte layer"):
        push.on_error(refused(30))


def test_a_completion_as_another_digest_is_unexpected() -> None:
    push = uploading(bytes(5)).on_response(accepted(4))
    with pytest.raises(UnexpectedAnswerError, match="completed as"):
        push.on_response(
            CompleteLayerUploadResponse(
                registry_id=RegistryId(REGISTRY_ID),
                repository_name=REPOSITORY,
                upload_id=UPLOAD_ID,
                layer_digest=sha256(b"other"),
            )
        )


# ---------------------------------------------------------------------------------------
# The client's wire form


@given(data=st.binary(min_size=1, max_size=64), first=st.integers(0, 1000))
def test_encoded_requests_decode_to_the_same_request(data: bytes, first: int) -> None:
    requests: list[Request] = [
        BatchCheckLayerAvailabilityRequest(repository_name=REPOSITORY, layer_digests=("x",)),
        InitiateLayerUploadRequest(registry_id=RegistryId(REGISTRY_ID), repository_name=REPOSITORY),
        UploadLayerPartRequest(
            repository_name=REPOSITORY,
            upload_id=UPLOAD_ID,
            part_first_byte=first,
            part_last_byte=first + len(data) - 1,
            layer_part_blob=memoryview(data),
        ),
        CompleteLayerUploadRequest(
            repository_name=REPOSITORY, upload_id=UPLOAD_ID, layer_digests=(sha256(data),)
        ),
    ]
    for request in requests:
        assert decode_request(*encode_request(request)) == request


def test_error_answers_decode_to_the_typed_error_with_its_members() -> None:
    request = InitiateLayerUploadRequest(repository_name=REPOSITORY)
    _, _, body = encode_error(refused(41), request_id="r")
    with pytest.raises(InvalidLayerPartException) as raised:
        decode_answer(request, 400, body)
    assert raised.value.last_valid_byte_received == 41


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"not json"),
        (200, b"[1]"),
        (200, b"\xff"),
        (200, b"[" * 100_000),
    ],
)
def test_an_unreadable_answer_is_a_serialization_exception(status: int, body: bytes) -> None:
    request = InitiateLayerUploadRequest(repository_name=REPOSITORY)
    with pytest.raises(SerializationException):
        decode_answer(request, status, body)


# ---------------------------------------------------------------------------------------
# Whole pushes through the reference registry


def recorded_push(
    registry: Registry, data: bytes, **options: object
) -> tuple[LayerDigest, list[tuple[Request, Outcome]]]:
    calls: list[tuple[Request, Outcome]] = []
    digest = push_layer(
        functools.partial(handle, registry),
        data,
        repository_name=REPOSITORY,
        min_part_size=1,
        observe=lambda request, outcome: calls.append((request, outcome)),
        **options,  # type: ignore[arg-type]
    )
    return digest, calls


def operations(calls: list[tuple[Request, Outcome]]) -> list[str]:
    return [type(request).__name__.removesuffix("Request") for request, _ in calls]


def test_push_through_the_reference_registry_stores_the_layer() -> None:
    registry = new_registry()
    data = bytes(range(100))
    digest, calls = recorded_push(registry, data)
    assert digest == sha256(data)
    assert held_size(registry, digest) == 100
    assert operations(calls) == [
        "BatchCheckLayerAvailability",
        "InitiateLayerUpload",
        *["UploadLayerPart"] * 13,  # 8-byte parts, from the registry's partSize
        "CompleteLayerUpload",
    ]


def test_push_of_a_held_layer_only_checks() -> None:
    registry = new_registry()
    recorded_push(registry, b"layer")
    digest, calls = recorded_push(registry, b"layer")
    assert digest == sha256(b"layer")
    assert operations(calls) == ["BatchCheckLayerAvailability"]


def test_push_of_a_zero_byte_layer_ends_with_empty_upload_and_sends_no_part() -> None:
    calls: list[tuple[Request, Outcome]] = []
    with pytest.raises(EmptyUploadException):
        push_layer(
            functools.partial(handle, new_registry()),
            b"",
            repository_name=REPOSITORY,
            min_part_size=1,
            observe=lambda request, outcome: calls.append((request, outcome)),
        )
    assert "UploadLayerPart" not in operations(calls)


def test_push_with_parts_under_five_mib_ends_with_layer_part_too_small() -> None:
    registry = new_registry(Limits())  # the API's own limits: 5 MiB minimum
    with pytest.raises(LayerPartTooSmallException):
        recorded_push(registry, bytes(20), part_size=10)
    # One part of any size is the last part, and is fine.
    digest, _ = recorded_push(registry, bytes(20), part_size=20)
    assert held_size(registry, digest) == 20


def test_push_of_parts_over_the_registrys_maximum_fails_without_resending_forever() -> None:
    registry = new_registry(Limits(max_part_bytes=8, min_part_bytes=1, part_size=8))
    calls: list[tuple[Request, Outcome]] = []
    with pytest.raises(InvalidLayerPartException):
        push_layer(
            functools.partial(handle, registry),
            bytes(32),
            repository_name=REPOSITORY,
            part_size=16,
            observe=lambda request, outcome: calls.append((request, outcome)),
        )
    assert operations(calls).count("UploadLayerPart") == 1


def test_push_into_a_missing_repository_raises_repository_not_found() -> None:
    with pytest.raises(RepositoryNotFoundException):
        push_layer(functools.partial(handle, new_registry()), b"x", repository_name="no/such")


def test_a_lost_answer_is_retried_up_to_max_attempts_then_raised() -> None:
    attempts = []

    def unreachable(target: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        attempts.append(target)
        raise ConnectionResetError("connection reset by peer")

    with pytest.raises(ConnectionResetError):
        push_layer(
            unreachable, b"x", repository_name=REPOSITORY, max_attempts=4, sleep=lambda _: None
        )
    assert len(attempts) == 4


@pytest.mark.parametrize("max_attempts", [0, -1, True])
def test_max_attempts_must_be_positive(max_attempts: int) -> None:
    with pytest.raises(UsageError, match="max_attempts"):
        push_layer(
            functools.partial(handle, new_registry()),
            b"x",
            repository_name=REPOSITORY,
            max_attempts=max_attempts,
        )


class Fault(enum.Enum):
    """What an unreliable network does to one call."""

    NONE = enum.auto()
    #: The call never arrives: a connection error, nothing applied.
    LOST_REQUEST = enum.auto()
    #: The call is applied but its answer is lost: a timeout.
    LOST_ANSWER = enum.auto()
    #: The server fails without applying the call (HTTP 500).
    SERVER_ERROR = enum.auto()
    #: A retrying proxy: the call is applied, its answer dropped, and it is sent again.
    DUPLICATED = enum.auto()


def unreliable(registry: Registry, faults: Iterator[Fault]) -> Transport:
    def transport(target: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        fault = next(faults, Fault.NONE)
        if fault is Fault.LOST_REQUEST:
            raise ConnectionError("connection refused")
        if fault is Fault.SERVER_ERROR:
            return encode_error(ServerException(), request_id="r")
        answer = handle(registry, target, body)
        if fault is Fault.LOST_ANSWER:
            raise TimeoutError("read timed out")
        if fault is Fault.DUPLICATED:
            return handle(registry, target, body)
        return answer

    return transport


@given(
    data=st.binary(min_size=1, max_size=200),
    part_size=st.integers(1, 64),
    faults=st.lists(st.sampled_from(Fault), max_size=30),
)
def test_push_over_an_unreliable_network_stores_the_layer_and_never_resends_a_resumed_byte(
    data: bytes, part_size: int, faults: list[Fault]
) -> None:
    registry = new_registry(Limits(max_part_bytes=64, min_part_bytes=1, part_size=part_size))
    calls: list[tuple[Request, Outcome]] = []
    digest = push_layer(
        unreliable(registry, iter(faults)),
        data,
        repository_name=REPOSITORY,
        min_part_size=1,
        max_attempts=len(faults) + 1,  # every fault is survived
        sleep=lambda seconds: None,
        observe=lambda request, outcome: calls.append((request, outcome)),
    )
    assert digest == sha256(data)
    assert held_size(registry, digest) == len(data)

    # Where the client must send from next, by what it was told: the byte after the
    # last one the registry holds; after a lost answer, the same part again.
    expected_first: int | None = None
    for request, outcome in calls:
        if isinstance(request, UploadLayerPartRequest):
            assert request.part_first_byte == expected_first
            assert request.part_last_byte == min(expected_first + part_size, len(data)) - 1
            assert (
                bytes(request.layer_part_blob) == data[expected_first : request.part_last_byte + 1]
            )
            if isinstance(outcome, UploadLayerPartAnswer):
                assert outcome.last_byte_received is not None
                expected_first = outcome.last_byte_received + 1
            elif isinstance(outcome, InvalidLayerPartException):
                assert outcome.last_valid_byte_received is not None
                expected_first = outcome.last_valid_byte_received + 1
        elif isinstance(request, CompleteLayerUploadRequest):
            assert expected_first == len(data)
        elif isinstance(outcome, InitiateLayerUploadAnswer):
            expected_first = 0


def test_a_part_whose_answer_was_lost_is_sent_again_then_the_push_skips_past_it() -> None:
    registry = new_registry()
    data = bytes(range(20))  # parts 0-7, 8-15, 16-19
    # Calls: check, initiate, part 0-7 (applied, answer lost), its re-send, ...
    faults = iter([Fault.NONE, Fault.NONE, Fault.LOST_ANSWER])
    calls: list[tuple[Request, Outcome]] = []
    push_layer(
        unreliable(registry, faults),
        data,
        repository_name=REPOSITORY,
        min_part_size=1,
        sleep=lambda seconds: None,
        observe=lambda request, outcome: calls.append((request, outcome)),
    )
    parts = [
        (request.part_first_byte, request.part_last_byte, type(outcome).__name__)
        for request, outcome in calls
        if isinstance(request, UploadLayerPartRequest)
    ]
    assert parts == [
        (0, 7, "TimeoutError"),
        (0, 7, "InvalidLayerPartException"),  # it had landed: lastValidByteReceived 7
        (8, 15, "UploadLayerPartAnswer"),
        (16, 19, "UploadLayerPartAnswer"),
    ]
    assert held_size(registry, sha256(data)) == 20


def send_through(registry: Registry, push: LayerPush) -> LayerPush:
    request = push.next_request()
    assert request is not None
    status, _, body = handle(registry, *encode_request(request))
    try:
        response = decode_answer(request, status, body)
    except EcrError as error:
        return push.on_error(error)
    return push.on_response(response)


def test_two_pushes_of_one_layer_racing_both_succeed() -> None:
    registry = new_registry()
    first, second = (
        LayerPush.start(b"same layer", repository_name=REPOSITORY, min_part_size=1) for _ in "ab"
    )
    # Both find the layer missing and upload it; the later completion is answered
    # LayerAlreadyExistsException, which is success.
    while not (first.done and second.done):
        first = first if first.done else send_through(registry, first)
        second = second if second.done else send_through(registry, second)
    assert not first.skipped
    assert not second.skipped
    assert held_size(registry, sha256(b"same layer")) == 10
