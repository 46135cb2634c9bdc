"""Every answer a client can get is typed: the ECR errors, AWS's common errors, codes the
package does not model, and 200 answers with members left out."""

from __future__ import annotations

import hashlib
import json
import pickle

import pytest
from client_scripts import REPOSITORY, Answer, ScriptedTransport, error_answer, new_registry
from hypothesis import given
from hypothesis import strategies as st

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    CompleteLayerUploadRequest,
    EcrError,
    InitiateLayerUploadRequest,
    LayerDigest,
    SerializationException,
    UploadId,
    UploadLayerPartRequest,
)
from ecr_upload_model.errors import (
    AWS_COMMON_ERRORS_BY_CODE,
    ERRORS_BY_CODE,
    AccessDeniedException,
    ExpiredTokenException,
    InternalFailure,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    RequestExpired,
    ServiceUnavailable,
    ThrottlingException,
    UnmodelledError,
    UnrecognizedClientException,
    ValidationException,
)
from ecr_upload_model.planning import (
    ANSWER_OF,
    BatchCheckLayerAvailabilityAnswer,
    LayerAnswer,
    UploadLayerPartAnswer,
    decode_answer,
    push_layer,
    read_error,
)
from ecr_upload_model.wire import Request

UPLOAD_ID = UploadId("00000000-0000-0000-0000-000000000000")
INITIATE = InitiateLayerUploadRequest(repository_name=REPOSITORY)


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (429, "ThrottlingException", ThrottlingException),
        (400, "ThrottlingException", ThrottlingException),
        (400, "AccessDeniedException", AccessDeniedException),
        (503, "ServiceUnavailable", ServiceUnavailable),
        (500, "InternalFailure", InternalFailure),
        (400, "ValidationException", ValidationException),
        (400, "UnrecognizedClientException", UnrecognizedClientException),
        (400, "InvalidSignatureException", InvalidSignatureException),
        (400, "ExpiredTokenException", ExpiredTokenException),
        (400, "RequestExpired", RequestExpired),
        (403, "MissingAuthenticationTokenException", MissingAuthenticationTokenException),
    ],
)
def test_aws_common_errors_are_typed_keeping_status_message_and_request_id(
    status: int, code: str, error_class: type[EcrError]
) -> None:
    answer_status, headers, body = error_answer(status, f"com.amazonaws#{code}", "said so")
    with pytest.raises(error_class) as raised:
        decode_answer(INITIATE, answer_status, body, headers)
    error = raised.value
    assert (error.code, error.http_status, error.message) == (code, status, "said so")
    assert error.request_id == "req-1"


@pytest.mark.parametrize("code", sorted({*ERRORS_BY_CODE, *AWS_COMMON_ERRORS_BY_CODE}))
def test_every_modelled_code_reads_back_as_its_own_class(code: str) -> None:
    error_class = {**ERRORS_BY_CODE, **AWS_COMMON_ERRORS_BY_CODE}[code]
    error = read_error(418, {"X-Amzn-RequestId": "r-9"}, json.dumps({"__type": code}).encode())
    assert type(error) is error_class
    assert (error.http_status, error.request_id) == (418, "r-9")


def test_an_unknown_code_is_unmodelled_and_keeps_its_code_and_body() -> None:
    body = {"__type": "com.amazon.coral#BrandNewException", "message": "new", "quota": 7}
    error = read_error(400, {}, json.dumps(body).encode())
    assert isinstance(error, UnmodelledError)
    assert not isinstance(error, SerializationException)
    assert (error.code, error.message, error.body) == ("BrandNewException", "new", body)
    assert error.to_wire() == {"__type": "BrandNewException", "message": "new", "quota": 7}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, b"<html><body><b>Http/1.1 Service Unavailable</b></body></html>"),
        (429, b""),
        (502, b"[1]"),
        (500, b'{"message": "no type"}'),
        (400, b"\xff"),
    ],
)
def test_an_error_answer_without_a_code_takes_its_status_as_code_as_botocore_does(
    status: int, body: bytes
) -> None:
    error = read_error(status, {}, body)
    assert isinstance(error, UnmodelledError)
    assert (error.code, error.http_status) == (str(status), status)
    assert error.body == (json.loads(body) if body.startswith(b"{") else body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"__type": "NewException", "Message": "capital", "x": 1}, "capital"),
        ({"__type": "NewException", "message": None, "x": 1}, UnmodelledError.default_message),
        ({"message": 5, "x": 1}, UnmodelledError.default_message),
    ],
)
def test_an_unmodelled_error_answers_its_own_message_once_and_the_other_members(
    body: dict[str, object], message: str
) -> None:
    error = read_error(500, {}, json.dumps(body).encode())
    assert error.message == message
    assert error.to_wire() == {"__type": error.code, "message": message, "x": 1}


def test_an_unmodelled_error_survives_pickling() -> None:
    error = read_error(400, {}, b'{"__type": "NewException", "message": "m", "x": [1]}')
    again = pickle.loads(pickle.dumps(error))
    assert again == error
    assert again.to_wire() == {"__type": "NewException", "message": "m", "x": [1]}


def test_a_200_answer_with_a_malformed_member_is_unreadable_not_the_clients_fault() -> None:
    body = json.dumps({"uploadId": "not-an-id", "partSize": 5}).encode()
    with pytest.raises(SerializationException, match="uploadId"):
        decode_answer(INITIATE, 200, body)


# ---------------------------------------------------------------------------------------
# Members left out of 200 answers

FULL_ANSWERS: list[tuple[Request, dict[str, object]]] = [
    (INITIATE, {"uploadId": str(UPLOAD_ID), "partSize": 10485760}),
    (
        UploadLayerPartRequest(
            repository_name=REPOSITORY,
            upload_id=UPLOAD_ID,
            part_first_byte=0,
            part_last_byte=0,
            layer_part_blob=b"x",
        ),
        {
            "registryId": "123456789012",
            "repositoryName": "team/app",
            "uploadId": str(UPLOAD_ID),
            "lastByteReceived": 0,
        },
    ),
    (
        CompleteLayerUploadRequest(
            repository_name=REPOSITORY,
            upload_id=UPLOAD_ID,
            layer_digests=(LayerDigest("sha256:" + "a" * 64),),
        ),
        {
            "registryId": "123456789012",
            "repositoryName": "team/app",
            "uploadId": str(UPLOAD_ID),
            "layerDigest": "sha256:" + "a" * 64,
        },
    ),
    (
        BatchCheckLayerAvailabilityRequest(repository_name=REPOSITORY, layer_digests=("x",)),
        {
            "layers": [
                {"layerDigest": "sha256:" + "a" * 64, "layerAvailability": "AVAILABLE"},
                {"layerSize": 4, "mediaType": "m"},
            ],
            "failures": [{"layerDigest": "x"}, {"failureCode": "MissingLayerDigest"}],
        },
    ),
]


@given(case=st.sampled_from(FULL_ANSWERS), data=st.data())
def test_members_left_out_of_an_answer_read_as_none(
    case: tuple[Request, dict[str, object]], data: st.DataObject
) -> None:
    request, full = case
    kept = data.draw(st.sets(st.sampled_from(sorted(full))), label="kept")
    answer = decode_answer(request, 200, json.dumps({k: full[k] for k in kept}).encode())
    assert type(answer) is ANSWER_OF[type(request)]
    wire = answer.to_wire()
    assert set(wire) == kept  # what came is read; nothing is invented
    for name in set(full) - kept:
        field = next(f for f in answer.__attrs_attrs__ if f.metadata["wire"] == name)
        assert getattr(answer, field.name) is None


def test_nested_layers_and_failures_keep_what_came() -> None:
    request, full = FULL_ANSWERS[3]
    answer = decode_answer(request, 200, json.dumps(full).encode())
    assert isinstance(answer, BatchCheckLayerAvailabilityAnswer)
    assert answer.layers is not None
    assert answer.layers[1] == LayerAnswer(layer_size=4, media_type="m")
    assert answer.failures is not None
    assert answer.failures[0].failure_code is None


def strip_members(operation: str, body: dict[str, object], real: object) -> Answer:
    """The registry's answer with every member it may leave out left out."""
    assert callable(real)
    status, headers, answer = real()
    if status != 200:
        return status, headers, answer
    obj = json.loads(answer)
    # The push cannot go on without an upload id: that one member stays.
    kept = {"uploadId": obj["uploadId"]} if operation == "InitiateLayerUpload" else {}
    return status, headers, json.dumps(kept).encode()


def test_a_push_completes_against_a_server_that_leaves_every_optional_member_out() -> None:
    registry = new_registry()
    transport = ScriptedTransport(registry, strip_members)
    outcomes: list[object] = []
    data = bytes(range(30))
    digest = push_layer(
        transport,
        data,
        repository_name=REPOSITORY,
        min_part_size=1,
        observe=lambda request, outcome: outcomes.append(outcome),
    )
    assert digest == LayerDigest.sha256(hashlib.sha256(data).hexdigest())
    assert registry.batch_check_layer_availability(
        BatchCheckLayerAvailabilityRequest(repository_name=REPOSITORY, layer_digests=(str(digest),))
    ).layers
    # No partSize: the 30 bytes went as one part of the usual 10 MiB; no lastByteReceived:
    # the part counts as taken whole.
    assert transport.calls == [
        "BatchCheckLayerAvailability",
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
    ]
    assert UploadLayerPartAnswer() in outcomes
