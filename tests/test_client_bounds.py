"""A push ends whatever the server answers: answers that loop meet a bound on answers
without progress, and a part size under the caller's floor is refused, not obeyed."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from client_scripts import (
    REPOSITORY,
    Answer,
    FakeClock,
    ScriptedTransport,
    error_answer,
    new_registry,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_upload_model import EcrError, Limits, UsageError
from ecr_upload_model.limits import DEFAULT_PART_SIZE, MIN_PART_BYTES
from ecr_upload_model.planning import (
    DEFAULT_MAX_CALLS_WITHOUT_PROGRESS,
    LayerPush,
    NoProgressError,
    PartSizeTooSmallError,
    push_layer,
)

LAYER = bytes(range(40))  # five 8-byte parts


def part_answer(body: dict[str, Any], last_byte_received: int) -> Answer:
    answer = {
        "registryId": "123456789012",
        "repositoryName": body["repositoryName"],
        "uploadId": body["uploadId"],
        "lastByteReceived": last_byte_received,
    }
    return 200, {}, json.dumps(answer).encode()


def push_through(script: Any, layer: bytes = LAYER, **options: Any) -> ScriptedTransport:
    transport = ScriptedTransport(new_registry(), script)
    push_layer(transport, layer, repository_name=REPOSITORY, sleep=FakeClock().sleep, **options)
    return transport


def test_a_200_that_holds_the_part_short_of_it_again_and_again_meets_the_bound() -> None:
    # The first part lands; then every part is "accepted" as ending before it starts.
    def liar(operation: str, body: dict[str, Any], real: Any) -> Answer | None:
        if operation == "UploadLayerPart" and body["partFirstByte"] > 0:
            return part_answer(body, body["partFirstByte"] - 1)
        return None

    with pytest.raises(NoProgressError) as raised:
        push_through(liar, min_part_size=1)
    error = raised.value
    assert f"max_calls_without_progress={DEFAULT_MAX_CALLS_WITHOUT_PROGRESS}" in str(error)
    assert error.recent[-1] == "UploadLayerPart bytes 8-15 -> 200 lastByteReceived=7"
    assert len(error.recent) == 4


def test_invalid_layer_part_answers_that_alternate_meet_the_bound() -> None:
    # Between the resume points 8 and 16, for ever (the issue: 10,000 calls and going).
    answers = iter([15, 7] * 10_000)

    def liar(operation: str, body: dict[str, Any], real: Any) -> Answer | None:
        if operation == "UploadLayerPart" and body["partFirstByte"] > 0:
            return error_answer(
                400, "InvalidLayerPartException", lastValidByteReceived=next(answers)
            )
        return None

    transport = ScriptedTransport(new_registry(), liar)
    with pytest.raises(NoProgressError) as raised:
        push_layer(transport, LAYER, repository_name=REPOSITORY, min_part_size=1)
    parts = transport.calls.count("UploadLayerPart")
    # The first part, the answer that first reaches byte 16, then the bound.
    assert parts == 2 + DEFAULT_MAX_CALLS_WITHOUT_PROGRESS
    assert "lastValidByteReceived=" in raised.value.recent[-1]


def test_the_bound_is_the_callers() -> None:
    def liar(operation: str, body: dict[str, Any], real: Any) -> Answer | None:
        if operation == "UploadLayerPart" and body["partFirstByte"] > 0:
            return part_answer(body, body["partFirstByte"] - 1)
        return None

    transport = ScriptedTransport(new_registry(), liar)
    with pytest.raises(NoProgressError):
        push_layer(
            transport,
            LAYER,
            repository_name=REPOSITORY,
            min_part_size=1,
            max_calls_without_progress=2,
        )
    assert transport.calls.count("UploadLayerPart") == 1 + 2


LIES = st.one_of(
    st.builds(lambda last: ("part", last), st.integers(-1, len(LAYER) + 2)),
    st.builds(lambda last: ("refuse", last), st.none() | st.integers(0, len(LAYER) + 2)),
    st.just(("throttle", None)),
    st.just(("truth", None)),
)


@settings(max_examples=200)
@given(lies=st.lists(LIES, max_size=80), max_calls=st.integers(1, 12))
def test_whatever_a_server_answers_a_push_ends_within_its_bound_with_a_typed_outcome(
    lies: list[tuple[str, int | None]], max_calls: int
) -> None:
    script_lies = iter(lies)

    def liar(operation: str, body: dict[str, Any], real: Any) -> Answer | None:
        kind, last = next(script_lies, ("truth", None))
        if operation != "UploadLayerPart" or kind == "truth":
            return None
        if kind == "throttle":
            return error_answer(429, "ThrottlingException")
        if kind == "part":
            return part_answer(body, last if last is not None else 0)
        if last is None:
            return error_answer(400, "InvalidLayerPartException")
        return error_answer(400, "InvalidLayerPartException", "refused", lastValidByteReceived=last)

    transport = ScriptedTransport(new_registry(), liar)
    with contextlib.suppress(EcrError, UsageError):  # an end, as long as it is typed
        push_layer(
            transport,
            LAYER,
            repository_name=REPOSITORY,
            min_part_size=1,
            max_calls_without_progress=max_calls,
            sleep=FakeClock().sleep,
        )
    # Each answer without progress counts towards the bound, each retry towards its call's
    # three attempts; progress is a later step or a later byte (40 bytes, 5 steps).
    assert len(transport.calls) <= (len(LAYER) + 5) * max_calls * 3


def test_a_registry_part_size_under_the_floor_is_refused_before_any_part() -> None:
    registry = new_registry(Limits(max_part_bytes=64, min_part_bytes=1, part_size=1))
    transport = ScriptedTransport(registry, lambda operation, body, real: None)
    with pytest.raises(PartSizeTooSmallError) as raised:
        push_layer(transport, bytes(25_600), repository_name=REPOSITORY)
    assert str(raised.value) == (
        f"the registry asks for parts of 1 bytes, under the floor of {MIN_PART_BYTES} "
        "(min_part_size): the 25600-byte layer would take 25600 parts; lower min_part_size "
        "or give part_size to send it anyway"
    )
    assert "UploadLayerPart" not in transport.calls


def test_the_floor_is_the_callers_and_a_layer_of_one_part_is_not_held_to_it() -> None:
    limits = Limits(max_part_bytes=64, min_part_bytes=1, part_size=16)
    transport = ScriptedTransport(new_registry(limits), lambda operation, body, real: None)
    push_layer(transport, bytes(40), repository_name=REPOSITORY, min_part_size=16)
    assert transport.calls.count("UploadLayerPart") == 3
    transport = ScriptedTransport(new_registry(limits), lambda operation, body, real: None)
    push_layer(transport, bytes(16), repository_name=REPOSITORY)  # one part: any size fits
    assert transport.calls.count("UploadLayerPart") == 1


def test_without_a_part_size_in_the_answer_parts_are_the_usual_ten_mib() -> None:
    def no_part_size(operation: str, body: dict[str, Any], real: Any) -> Answer | None:
        if operation != "InitiateLayerUpload":
            return None
        status, headers, answer = real()
        return status, headers, json.dumps({"uploadId": json.loads(answer)["uploadId"]}).encode()

    push = LayerPush.start(bytes(40), repository_name=REPOSITORY)
    assert push.part_size is None
    transport = push_through(no_part_size, layer=bytes(40))
    assert transport.calls.count("UploadLayerPart") == 1
    assert DEFAULT_PART_SIZE > 40


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_calls_without_progress", 0),
        ("max_calls_without_progress", True),
        ("max_attempts", 0),
        ("max_attempts", "3"),
        ("min_part_size", 0),
        ("min_part_size", 1.5),
    ],
)
def test_a_bound_that_is_not_a_positive_count_is_a_usage_error(option: str, value: object) -> None:
    with pytest.raises(UsageError, match=option.replace("min_part_size", "part size")):
        LayerPush.start(b"x", repository_name=REPOSITORY, **{option: value})  # type: ignore[arg-type]
