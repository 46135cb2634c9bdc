"""Retries as botocore's standard retry mode: which failures, how many attempts, how long
the waits (with a fixed random source and a fake clock: nothing sleeps)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from client_scripts import (
    REPOSITORY,
    Answer,
    FakeClock,
    ScriptedTransport,
    error_answer,
    first_calls,
    new_registry,
)
from hypothesis import given
from hypothesis import strategies as st

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    CompleteLayerUploadRequest,
    EcrError,
    InitiateLayerUploadRequest,
    LayerDigest,
    RepositoryNotFoundException,
    UploadId,
    UploadLayerPartRequest,
)
from ecr_upload_model.errors import AWS_COMMON_ERRORS_BY_CODE, ERRORS_BY_CODE
from ecr_upload_model.planning import (
    DEFAULT_MAX_ATTEMPTS,
    MODELLED_ERRORS,
    THROTTLING_ERROR_CODES,
    TRANSIENT_ERROR_CODES,
    Backoff,
    FailureKind,
    LayerPush,
    failure_kind,
    push_layer,
    read_error,
)
from ecr_upload_model.wire import Request

#: The fixed "random" draw: waits are half their ceiling.
HALF = 0.5
#: Waits of the first two retries at HALF: botocore's base of 1 s for throttling...
THROTTLING_WAITS = [0.5, 1.0]
#: ... and of 50 ms for other failures.
TRANSIENT_WAITS = [0.025, 0.05]


def push_with(
    answer: Answer | None, failures: int, error: OSError | None = None
) -> tuple[ScriptedTransport, FakeClock]:
    """A push whose first ``failures`` calls get ``answer`` (or raise ``error``)."""
    registry = new_registry()
    clock = FakeClock()
    if error is not None:
        remaining = iter(range(failures))

        def script(operation: str, body: dict[str, Any], real: Any) -> Answer | None:
            if next(remaining, None) is not None:
                raise error
            return None

        transport = ScriptedTransport(registry, script)
    else:
        assert answer is not None
        transport = ScriptedTransport(registry, first_calls(failures, answer))
    push_layer(
        transport,
        b"a layer",
        repository_name=REPOSITORY,
        min_part_size=1,
        sleep=clock.sleep,
        random=lambda: HALF,
    )
    return transport, clock


RETRIED: list[tuple[str, Answer, list[float]]] = [
    ("429 ThrottlingException", error_answer(429, "ThrottlingException"), THROTTLING_WAITS),
    ("400 ThrottlingException", error_answer(400, "ThrottlingException"), THROTTLING_WAITS),
    ("LimitExceededException", error_answer(400, "LimitExceededException"), THROTTLING_WAITS),
    ("PriorRequestNotComplete", error_answer(400, "PriorRequestNotComplete"), THROTTLING_WAITS),
    ("429 of a code not modelled", error_answer(429, "TooManyThings"), THROTTLING_WAITS),
    ("429 with no body", (429, {}, b""), THROTTLING_WAITS),
    ("503 ServiceUnavailable", error_answer(503, "ServiceUnavailable"), TRANSIENT_WAITS),
    ("500 InternalFailure", error_answer(500, "InternalFailure"), TRANSIENT_WAITS),
    ("500 ServerException", error_answer(500, "ServerException"), TRANSIENT_WAITS),
    ("502 HTML page", (502, {}, b"<html>Bad Gateway</html>"), TRANSIENT_WAITS),
    ("504 no body", (504, {}, b""), TRANSIENT_WAITS),
    ("RequestTimeoutException", error_answer(400, "RequestTimeoutException"), TRANSIENT_WAITS),
]


@pytest.mark.parametrize(
    ("answer", "waits"), [case[1:] for case in RETRIED], ids=[case[0] for case in RETRIED]
)
def test_retried_failures_wait_as_botocores_standard_mode_then_the_push_completes(
    answer: Answer, waits: list[float]
) -> None:
    transport, clock = push_with(answer, failures=2)
    assert clock.waits == waits
    assert transport.calls[:3] == ["BatchCheckLayerAvailability"] * 3
    assert transport.calls[-1] == "CompleteLayerUpload"


def test_a_call_without_an_answer_is_a_transient_failure() -> None:
    transport, clock = push_with(None, failures=2, error=ConnectionResetError("reset"))
    assert clock.waits == TRANSIENT_WAITS
    assert transport.calls[-1] == "CompleteLayerUpload"


@pytest.mark.parametrize("answer", [case[1] for case in RETRIED], ids=[c[0] for c in RETRIED])
def test_after_three_attempts_the_failure_is_raised_typed(answer: Answer) -> None:
    with pytest.raises(EcrError) as raised:
        push_with(answer, failures=DEFAULT_MAX_ATTEMPTS)
    assert raised.value.http_status == answer[0]


NOT_RETRIED = [
    "AccessDeniedException",
    "ValidationException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "RequestExpired",
    "MissingAuthenticationTokenException",
    "InvalidParameterException",
]


@pytest.mark.parametrize("code", NOT_RETRIED)
def test_other_errors_end_the_push_at_once_without_a_wait(code: str) -> None:
    registry = new_registry()
    clock = FakeClock()
    transport = ScriptedTransport(registry, first_calls(1, error_answer(400, code)))
    with pytest.raises(EcrError) as raised:
        push_layer(transport, b"x", repository_name=REPOSITORY, sleep=clock.sleep)
    assert raised.value.code == code
    assert type(raised.value) is {**ERRORS_BY_CODE, **AWS_COMMON_ERRORS_BY_CODE}[code]
    assert (transport.calls, clock.waits) == (["BatchCheckLayerAvailability"], [])


def test_a_429_of_an_error_the_operation_models_is_that_error_and_not_retried() -> None:
    registry = new_registry()
    transport = ScriptedTransport(
        registry, first_calls(1, error_answer(429, "RepositoryNotFoundException"))
    )
    with pytest.raises(RepositoryNotFoundException):
        push_layer(transport, b"x", repository_name=REPOSITORY, sleep=FakeClock().sleep)
    assert transport.calls == ["BatchCheckLayerAvailability"]


def test_retry_after_raises_the_wait_by_at_most_five_seconds() -> None:
    slow = (429, {"X-Amz-Retry-After": "3000"}, b'{"__type": "ThrottlingException"}')
    _, clock = push_with(slow, failures=1)
    assert clock.waits == [3.0]  # max(0.5, min(3, 0.5 + 5))
    very_slow = (429, {"x-amz-retry-after": "60000"}, b'{"__type": "ThrottlingException"}')
    _, clock = push_with(very_slow, failures=1)
    assert clock.waits == [5.5]  # capped at the jittered wait plus 5 s
    malformed = (429, {"x-amz-retry-after": "soon"}, b'{"__type": "ThrottlingException"}')
    _, clock = push_with(malformed, failures=1)
    assert clock.waits == [0.5]  # ignored, as botocore ignores it


def test_attempts_count_per_call_and_start_again_after_an_answer() -> None:
    # Two throttles on every call: each call succeeds at its third attempt.
    registry = new_registry()
    clock = FakeClock()
    seen: dict[str, int] = {}

    def twice_each(operation: str, body: dict[str, Any], real: Any) -> Answer | None:
        key = f"{operation} {body.get('partFirstByte')}"
        seen[key] = seen.get(key, 0) + 1
        return error_answer(429, "ThrottlingException") if seen[key] <= 2 else None

    push_layer(
        ScriptedTransport(registry, twice_each),
        bytes(20),
        repository_name=REPOSITORY,
        min_part_size=1,
        sleep=clock.sleep,
        random=lambda: HALF,
    )
    calls = 2 + 3 + 1  # check, initiate, three 8-byte parts, complete
    assert clock.waits == THROTTLING_WAITS * calls


def test_the_state_machine_says_the_wait_and_leaves_the_request_as_it_was() -> None:
    push = LayerPush.start(b"abc", repository_name=REPOSITORY)
    request = push.next_request()
    throttled = read_error(429, {}, b'{"__type": "ThrottlingException"}')
    retry = push.on_error(throttled)
    assert retry.next_request() == request
    assert retry.backoff == Backoff(FailureKind.THROTTLING, attempt=1)
    again = retry.on_no_answer(TimeoutError("timed out"))
    assert again.backoff == Backoff(FailureKind.TRANSIENT, attempt=2)
    with pytest.raises(TimeoutError):
        again.on_no_answer(TimeoutError("timed out"))


# ---------------------------------------------------------------------------------------
# The same decisions and waits as botocore's own code


@given(
    kind=st.sampled_from(FailureKind),
    attempt=st.integers(1, 12),
    unit=st.floats(0, 1, exclude_max=True),
)
def test_backoff_is_botocores_exponential_backoff(
    kind: FailureKind, attempt: int, unit: float
) -> None:
    from botocore.retries.standard import ExponentialBackoff, RetryContext

    class Detector:
        def is_throttling_error_from_context(self, context: object) -> bool:
            return kind is FailureKind.THROTTLING

    botocore_backoff = ExponentialBackoff(random=lambda: unit, throttling_detector=Detector())
    expected = botocore_backoff.delay_amount(RetryContext(attempt_number=attempt))
    assert Backoff(kind, attempt).delay(unit) == pytest.approx(expected, rel=1e-12, abs=0)


CODES = sorted(
    {*THROTTLING_ERROR_CODES, *TRANSIENT_ERROR_CODES, *ERRORS_BY_CODE, *AWS_COMMON_ERRORS_BY_CODE}
)
REQUESTS: list[Request] = [
    BatchCheckLayerAvailabilityRequest(repository_name=REPOSITORY, layer_digests=("x",)),
    InitiateLayerUploadRequest(repository_name=REPOSITORY),
]


@given(
    code=st.sampled_from(CODES) | st.text(min_size=1, max_size=12),
    status=st.sampled_from([400, 403, 404, 413, 429, 500, 501, 502, 503, 504]),
    operation=st.sampled_from(sorted(MODELLED_ERRORS, key=lambda cls: cls.__name__)),
)
def test_which_failures_are_retried_and_how_is_botocores_decision(
    code: str, status: int, operation: type
) -> None:
    import botocore.session
    from botocore.awsrequest import AWSResponse
    from botocore.retries.standard import (
        RetryContext,
        RetryEventAdapter,
        StandardRetryConditions,
        ThrottlingErrorDetector,
    )

    model = botocore.session.get_session().get_service_model("ecr")
    context = RetryContext(
        attempt_number=1,
        operation_model=model.operation_model(operation.__name__.removesuffix("Request")),
        parsed_response={"Error": {"Code": code}},
        http_response=AWSResponse("https://ecr", status, {}, NoBody()),
    )
    retried = StandardRetryConditions(max_attempts=3).is_retryable(context)
    throttling = ThrottlingErrorDetector(RetryEventAdapter()).is_throttling_error_from_context(
        context
    )
    error = read_error(status, {}, json.dumps({"__type": code}).encode())
    kind = failure_kind(_request_of(operation), error)
    assert (kind is not None) == retried
    if retried:
        assert (kind is FailureKind.THROTTLING) == throttling


class NoBody:
    def stream(self) -> Iterator[bytes]:
        return iter(())


def _request_of(operation: type) -> Request:
    requests: Mapping[type, Request] = {
        BatchCheckLayerAvailabilityRequest: REQUESTS[0],
        InitiateLayerUploadRequest: REQUESTS[1],
        UploadLayerPartRequest: UploadLayerPartRequest(
            repository_name=REPOSITORY,
            upload_id=UploadId("00000000-0000-0000-0000-000000000000"),
            part_first_byte=0,
            part_last_byte=0,
            layer_part_blob=b"x",
        ),
        CompleteLayerUploadRequest: CompleteLayerUploadRequest(
            repository_name=REPOSITORY,
            upload_id=UploadId("00000000-0000-0000-0000-000000000000"),
            layer_digests=(LayerDigest("sha256:" + "a" * 64),),
        ),
    }
    return requests[operation]
