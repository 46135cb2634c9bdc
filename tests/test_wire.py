"""The AWS JSON 1.1 wire form: decoding requests, encoding answers, one-call handling."""

from __future__ import annotations

import base64
import hashlib
import json
import tracemalloc
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_values import REGISTRY_ID, SMALL, UPLOAD_ID

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    EcrError,
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    InvalidLayerPartException,
    InvalidParameterException,
    KmsException,
    Layer,
    LayerAvailability,
    LayerDigest,
    LayerFailure,
    LayerFailureCode,
    Limits,
    Registry,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    SerializationException,
    ServerException,
    UnknownOperationException,
    UploadId,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
    UsageError,
)
from ecr_upload_model.errors import ERRORS_BY_CODE
from ecr_upload_model.limits import API_MAX_PART_BYTES, MAX_LAYER_DIGESTS
from ecr_upload_model.operations import (
    CreateRepositoryRequest,
    DeleteRepositoryRequest,
    DescribeRepositoriesRequest,
    GetAuthorizationTokenRequest,
)
from ecr_upload_model.planning import read_error_body
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import (
    CONTENT_TYPE,
    DEFAULT_REQUEST_ID,
    OPERATIONS,
    TARGET_PREFIX,
    Response,
    decode_request,
    encode_error,
    encode_response,
    handle,
    parse_body,
)

OTHER_REGISTRY_ID = "210987654321"
UNKNOWN_UPLOAD_ID = "ffffffff-ffff-4fff-bfff-ffffffffffff"


def target(operation: str) -> str:
    return f"{TARGET_PREFIX}.{operation}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def new_registry(limits: Limits = SMALL) -> Registry:
    registry = Registry(REGISTRY_ID, limits=limits, upload_id_factory=sequential_upload_ids())
    registry.create_repository("team/app")
    registry.create_repository("team/other")
    return registry


def call(registry: Registry, operation: str, body: Mapping[str, object]) -> tuple[int, Any]:
    """One call through ``handle``; checks the headers every answer carries."""
    status, headers, raw = handle(
        registry, target(operation), json.dumps(body).encode(), request_id="req-1"
    )
    assert headers == {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": "req-1",
        "Content-Length": str(len(raw)),
    }
    answer = json.loads(raw)
    assert isinstance(answer, dict)
    return status, answer


def part_body(first: int, blob: bytes, **members: object) -> dict[str, object]:
    return {
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "partFirstByte": first,
        "partLastByte": first + len(blob) - 1,
        "layerPartBlob": b64(blob),
        **members,
    }


def completion_body(*digests: str, **members: object) -> dict[str, object]:
    return {
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "layerDigests": list(digests),
        **members,
    }


def error_type(answer: tuple[int, Any]) -> tuple[int, object]:
    status, body = answer
    return status, body.get("__type")


# ---------------------------------------------------------------------------------------
# Decoding requests


def test_each_operation_body_decodes_to_the_typed_request() -> None:
    repository = RepositoryName("team/app")
    upload_id = UploadId(UPLOAD_ID)
    digest = digest_of(b"abc")
    expected = {
        "InitiateLayerUpload": (
            {"registryId": REGISTRY_ID, "repositoryName": "team/app"},
            InitiateLayerUploadRequest(
                registry_id=RegistryId(REGISTRY_ID), repository_name=repository
            ),
        ),
        "UploadLayerPart": (
            part_body(0, b"abc"),
            UploadLayerPartRequest(
                repository_name=repository,
                upload_id=upload_id,
                part_first_byte=0,
                part_last_byte=2,
                layer_part_blob=b"abc",
            ),
        ),
        "CompleteLayerUpload": (
            completion_body(digest),
            CompleteLayerUploadRequest(
                repository_name=repository,
                upload_id=upload_id,
                layer_digests=(LayerDigest(digest),),
            ),
        ),
        "BatchCheckLayerAvailability": (
            {"repositoryName": "team/app", "layerDigests": [digest, "not a digest"]},
            BatchCheckLayerAvailabilityRequest(
                repository_name=repository, layer_digests=(digest, "not a digest")
            ),
        ),
        "CreateRepository": (
            {"repositoryName": "team/app"},
            CreateRepositoryRequest(repository_name=repository),
        ),
        "DescribeRepositories": (
            {"registryId": REGISTRY_ID, "nextToken": "team/a", "maxResults": 1000},
            DescribeRepositoriesRequest(
                registry_id=RegistryId(REGISTRY_ID), next_token="team/a", max_results=1000
            ),
        ),
        "DeleteRepository": (
            {"repositoryName": "team/app", "force": False},
            DeleteRepositoryRequest(repository_name=repository, force=False),
        ),
        "GetAuthorizationToken": (
            {"registryIds": [REGISTRY_ID, OTHER_REGISTRY_ID]},
            GetAuthorizationTokenRequest(
                registry_ids=(RegistryId(REGISTRY_ID), RegistryId(OTHER_REGISTRY_ID))
            ),
        ),
    }
    assert set(expected) == set(OPERATIONS)
    for operation, (body, request) in expected.items():
        decoded = decode_request(target(operation), json.dumps(body).encode())
        assert decoded == request
        assert decoded.to_wire() == body


def test_unknown_members_are_ignored_and_null_counts_as_absent() -> None:
    body = b'{"repositoryName": "team/app", "registryId": null, "future": {"x": [1]}}'
    assert decode_request(target("InitiateLayerUpload"), body) == InitiateLayerUploadRequest(
        repository_name=RepositoryName("team/app")
    )


@pytest.mark.parametrize(
    "bad_target",
    [
        "UploadLayerPart",
        target("PutImage"),
        target(""),
        target("UploadLayerPart.x"),
        TARGET_PREFIX,
        "",
        "AmazonEC2ContainerRegistry_V20150921 .UploadLayerPart",
        "amazonec2containerregistry_v20150921.UploadLayerPart",
        "Other_V1.UploadLayerPart",
        target("uploadlayerpart"),
    ],
)
def test_unknown_bare_or_malformed_target_is_unknown_operation(bad_target: str) -> None:
    with pytest.raises(UnknownOperationException):
        decode_request(bad_target, b'{"repositoryName": "team/app"}')


def test_target_is_read_before_the_body() -> None:
    with pytest.raises(UnknownOperationException):
        decode_request(target("Nope"), b"\xff not json")


HOSTILE_BODIES = {
    "not UTF-8": b'{"repositoryName": "team/\xff"}',
    "UTF-16": '{"repositoryName": "team/app"}'.encode("utf-16"),
    "UTF-8 with BOM": b'\xef\xbb\xbf{"repositoryName": "team/app"}',
    "lone surrogate": b'{"repositoryName": "\xed\xa0\x80"}',
    "empty": b"",
    "not JSON": b"repositoryName=team/app",
    "truncated": b'{"repositoryName": "team/app"',
    "trailing data": b'{"repositoryName": "team/app"} {}',
    "array": b'["repositoryName", "team/app"]',
    "string": b'"team/app"',
    "number": b"12",
    "null": b"null",
    "NaN": b'{"repositoryName": "team/app", "x": NaN}',
    "Infinity": b'{"repositoryName": "team/app", "x": Infinity}',
    "-Infinity": b'{"repositoryName": "team/app", "x": -Infinity}',
    "duplicate key": b'{"repositoryName": "team/app", "repositoryName": "team/other"}',
    "nested duplicate key": b'{"repositoryName": "team/app", "x": [{"a": 1, "a": 1}]}',
    "deep nesting": b'{"repositoryName": "team/app", "x": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
    "thousands of digits": b'{"repositoryName": "team/app", "x": 1' + b"0" * 5000 + b"}",
    "integer longer than a long": b'{"repositoryName": "team/app", "x": 123456789012345678901}',
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_body_is_a_serialization_exception(body: bytes) -> None:
    with pytest.raises(SerializationException) as refused:
        decode_request(target("InitiateLayerUpload"), body)
    assert refused.value.message


def test_a_body_that_starts_with_a_bom_is_refused_where_json_loads_refuses_it() -> None:
    text = '\ufeff{"repositoryName": "team/app"}'
    with pytest.raises(json.JSONDecodeError) as loads_refused:
        json.loads(text)
    with pytest.raises(SerializationException) as refused:
        decode_request(target("InitiateLayerUpload"), text.encode())
    error = loads_refused.value
    assert refused.value.message == (
        f"The request body is not JSON: {error.msg} at character {error.pos}"
    )


def test_duplicate_key_message_names_the_key() -> None:
    with pytest.raises(SerializationException, match="'repositoryName'"):
        decode_request(
            target("InitiateLayerUpload"), b'{"repositoryName": "a1", "repositoryName": "b1"}'
        )


def test_numbers_at_the_edges_of_a_long_are_read_as_the_shape_says() -> None:
    top = part_body(2**63 - 1, b"a")
    top["partLastByte"] = 2**63 - 1
    request = decode_request(target("UploadLayerPart"), json.dumps(top).encode())
    assert isinstance(request, UploadLayerPartRequest)
    assert request.part_first_byte == 2**63 - 1
    too_big = {**top, "partLastByte": 2**63}
    with pytest.raises(SerializationException):
        decode_request(target("UploadLayerPart"), json.dumps(too_big).encode())
    negative = {**top, "partFirstByte": -(2**63)}
    with pytest.raises(InvalidParameterException):
        decode_request(target("UploadLayerPart"), json.dumps(negative).encode())


# ---------------------------------------------------------------------------------------
# Encoding answers


def test_responses_are_compact_json_that_reads_back_to_the_same_value() -> None:
    layer = Layer(
        layer_digest=LayerDigest(digest_of(b"a")),
        layer_availability=LayerAvailability.AVAILABLE,
        layer_size=1,
    )
    failure = LayerFailure(
        layer_digest="x",
        failure_code=LayerFailureCode.INVALID_LAYER_DIGEST,
        failure_reason="why \u00e9",
    )
    registry_id, repository, upload_id = (
        RegistryId(REGISTRY_ID),
        RepositoryName("team/app"),
        UploadId(UPLOAD_ID),
    )
    responses: list[Response] = [
        InitiateLayerUploadResponse(upload_id=UploadId(UPLOAD_ID), part_size=10_485_760),
        UploadLayerPartResponse(
            registry_id=registry_id,
            repository_name=repository,
            upload_id=upload_id,
            last_byte_received=9,
        ),
        CompleteLayerUploadResponse(
            registry_id=registry_id,
            repository_name=repository,
            upload_id=upload_id,
            layer_digest=LayerDigest(digest_of(b"a")),
        ),
        BatchCheckLayerAvailabilityResponse(layers=(layer,), failures=(failure,)),
    ]
    for response in responses:
        status, headers, body = encode_response(response, request_id="abc")
        assert status == 200
        assert headers == {
            "Content-Type": CONTENT_TYPE,
            "x-amzn-RequestId": "abc",
            "Content-Length": str(len(body)),
        }
        assert body.isascii()
        assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()
        assert type(response).from_wire(json.loads(body)) == response


ERRORS: list[EcrError] = [
    error_class() for error_class in ERRORS_BY_CODE.values() if error_class is not KmsException
] + [
    KmsException("kms said no", kms_error="KMS.Disabled"),
    InvalidLayerPartException(
        "gap",
        registry_id=RegistryId(REGISTRY_ID),
        repository_name=RepositoryName("team/app"),
        upload_id=UploadId(UPLOAD_ID),
        last_valid_byte_received=0,
    ),
]


@pytest.mark.parametrize("error", ERRORS, ids=repr)
def test_every_error_is_encoded_with_its_status_type_message_and_members(error: EcrError) -> None:
    status, headers, body = encode_error(error, request_id="abc")
    assert status == error.http_status == (500 if isinstance(error, ServerException) else 400)
    assert headers["Content-Type"] == CONTENT_TYPE
    assert headers["Content-Length"] == str(len(body))
    assert json.loads(body) == error.to_wire()
    assert read_error_body(json.loads(body)) == error


def test_last_valid_byte_zero_is_sent_and_nothing_received_leaves_it_out() -> None:
    _, _, zero = encode_error(InvalidLayerPartException(last_valid_byte_received=0), request_id="r")
    _, _, none = encode_error(InvalidLayerPartException(), request_id="r")
    assert json.loads(zero)["lastValidByteReceived"] == 0
    assert "lastValidByteReceived" not in json.loads(none)


@pytest.mark.parametrize("request_id", ["a\r\nSet-Cookie: x", "tab\there", "caf\u00e9"])
def test_request_id_that_would_break_the_header_is_a_usage_error(request_id: str) -> None:
    with pytest.raises(UsageError):
        handle(new_registry(), target("InitiateLayerUpload"), b"{}", request_id=request_id)


def test_default_request_id_is_sent_when_none_is_given() -> None:
    _, headers, _ = handle(new_registry(), target("InitiateLayerUpload"), b"{}")
    assert headers["x-amzn-RequestId"] == DEFAULT_REQUEST_ID


# ---------------------------------------------------------------------------------------
# Handling: each operation's answers and errors on the wire


def test_whole_push_over_the_wire() -> None:
    registry = new_registry()
    digest = digest_of(b"abcdefgh")
    check = {"repositoryName": "team/app", "layerDigests": [digest]}
    assert call(registry, "BatchCheckLayerAvailability", check)[1]["failures"] == [
        {
            "layerDigest": digest,
            "failureCode": "MissingLayerDigest",
            "failureReason": f"The repository 'team/app' holds no layer with digest '{digest}'",
        }
    ]
    assert call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"}) == (
        200,
        {"uploadId": UPLOAD_ID, "partSize": SMALL.part_size},
    )
    assert call(registry, "UploadLayerPart", part_body(0, b"abcd")) == (
        200,
        {
            "registryId": REGISTRY_ID,
            "repositoryName": "team/app",
            "uploadId": UPLOAD_ID,
            "lastByteReceived": 3,
        },
    )
    assert call(registry, "UploadLayerPart", part_body(4, b"efgh"))[1]["lastByteReceived"] == 7
    assert call(registry, "CompleteLayerUpload", completion_body(digest)) == (
        200,
        {
            "registryId": REGISTRY_ID,
            "repositoryName": "team/app",
            "uploadId": UPLOAD_ID,
            "layerDigest": digest,
        },
    )
    assert call(registry, "BatchCheckLayerAvailability", check) == (
        200,
        {
            "layers": [{"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": 8}],
            "failures": [],
        },
    )


def test_refused_part_answers_400_with_last_valid_byte_and_the_ids() -> None:
    registry = new_registry()
    call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"})
    call(registry, "UploadLayerPart", part_body(0, b"abcd"))
    status, error = call(registry, "UploadLayerPart", part_body(0, b"abcd"))
    assert status == 400
    assert error == {
        "__type": "InvalidLayerPartException",
        "message": "First byte of the layer part is 0 instead of 4",
        "registryId": REGISTRY_ID,
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "lastValidByteReceived": 3,
    }


def test_initiate_errors_on_the_wire() -> None:
    registry = new_registry()
    answers = [
        call(registry, "InitiateLayerUpload", body)
        for body in (
            {"repositoryName": "team/nope"},
            {"repositoryName": "team/app", "registryId": OTHER_REGISTRY_ID},
            {"repositoryName": "Team/App"},
            {},
            {"repositoryName": 7},
        )
    ]
    assert [error_type(answer) for answer in answers] == [
        (400, "RepositoryNotFoundException"),
        (400, "RepositoryNotFoundException"),
        (400, "InvalidParameterException"),
        (400, "InvalidParameterException"),
        (400, "SerializationException"),
    ]
    assert answers[2][1]["message"] == (
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy "
        "regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''"
    )


def test_upload_layer_part_errors_on_the_wire() -> None:
    registry = new_registry(Limits(max_part_bytes=64, min_part_bytes=4, part_size=8, max_parts=1))
    call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"})
    call(registry, "UploadLayerPart", part_body(0, b"abcd"))
    cases = [
        (part_body(4, b"e", repositoryName="team/nope"), "RepositoryNotFoundException"),
        (part_body(4, b"e", uploadId=UNKNOWN_UPLOAD_ID), "UploadNotFoundException"),
        (part_body(4, b"e", repositoryName="team/other"), "UploadNotFoundException"),
        (part_body(9, b"e"), "InvalidLayerPartException"),
        (part_body(4, b"e"), "LimitExceededException"),
        (part_body(4, b"e", partFirstByte=-1), "InvalidParameterException"),
        (part_body(4, b"e", uploadId="not-a-uuid"), "InvalidParameterException"),
        (part_body(4, b"e", partFirstByte="4"), "SerializationException"),
        (part_body(4, b"e", partFirstByte=True), "SerializationException"),
        (part_body(4, b"e", partFirstByte=4.0), "SerializationException"),
        (part_body(4, b"e", layerPartBlob="not base64!"), "SerializationException"),
    ]
    assert [error_type(call(registry, "UploadLayerPart", body)) for body, _ in cases] == [
        (400, code) for _, code in cases
    ]


def test_complete_layer_upload_errors_on_the_wire() -> None:
    registry = new_registry()
    for _ in range(3):
        call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"})
    second, third = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
    call(registry, "UploadLayerPart", part_body(0, b"abc", uploadId=second))
    call(registry, "UploadLayerPart", part_body(3, b"defg", uploadId=second))
    call(registry, "UploadLayerPart", part_body(0, b"abcd", uploadId=third))
    call(registry, "CompleteLayerUpload", completion_body(digest_of(b"abcd"), uploadId=third))
    call(registry, "UploadLayerPart", part_body(0, b"abcd"))
    cases = [
        (completion_body(digest_of(b"abcd"), repositoryName="team/nope"), "RepositoryNotFound"),
        (completion_body(digest_of(b"abcd"), uploadId=UNKNOWN_UPLOAD_ID), "UploadNotFound"),
        (completion_body(digest_of(b"abcd"), repositoryName="team/other"), "UploadNotFound"),
        (completion_body(digest_of(b"abcd"), uploadId=third), "UploadNotFound"),
        (completion_body(digest_of(b"abcdefg"), uploadId=second), "LayerPartTooSmall"),
        (completion_body(digest_of(b"abce")), "InvalidLayer"),
        (completion_body(digest_of(b"abcd")), "LayerAlreadyExists"),
        (completion_body("sha256:xyz"), "InvalidParameter"),
        (completion_body(), "InvalidParameter"),
        (completion_body(*[digest_of(b"")] * (MAX_LAYER_DIGESTS + 1)), "InvalidParameter"),
        (completion_body(digest_of(b"abcd"), layerDigests="sha256:ab"), "Serialization"),
    ]
    assert [error_type(call(registry, "CompleteLayerUpload", body)) for body, _ in cases] == [
        (400, f"{code}Exception") for _, code in cases
    ]
    call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"})
    empty = completion_body(digest_of(b""), uploadId="00000000-0000-0000-0000-000000000003")
    assert error_type(call(registry, "CompleteLayerUpload", empty)) == (
        400,
        "EmptyUploadException",
    )


def test_batch_check_errors_on_the_wire() -> None:
    registry = new_registry()
    cases: list[tuple[dict[str, object], str]] = [
        ({"repositoryName": "team/nope", "layerDigests": ["x"]}, "RepositoryNotFoundException"),
        ({"repositoryName": "team/app", "layerDigests": []}, "InvalidParameterException"),
        (
            {"repositoryName": "team/app", "layerDigests": ["x"] * (MAX_LAYER_DIGESTS + 1)},
            "InvalidParameterException",
        ),
        ({"repositoryName": "team/app", "layerDigests": ["x" * 1001]}, "InvalidParameterException"),
        ({"repositoryName": "team/app", "layerDigests": [1]}, "SerializationException"),
        ({"repositoryName": "team/app"}, "InvalidParameterException"),
    ]
    assert [
        error_type(call(registry, "BatchCheckLayerAvailability", body)) for body, _ in cases
    ] == [(400, code) for _, code in cases]
    ok = {"repositoryName": "team/app", "layerDigests": ["x" * 1000, ""]}
    status, answer = call(registry, "BatchCheckLayerAvailability", ok)
    assert status == 200
    assert [failure["failureCode"] for failure in answer["failures"]] == [
        "InvalidLayerDigest",
        "InvalidLayerDigest",
    ]


# ---------------------------------------------------------------------------------------
# The hot path: the largest part


def largest_part_body(size: int) -> bytes:
    # Spliced in as bytes: json.dumps of 28 MB of text would only slow the test down.
    template = json.dumps(part_body(0, b"x", partLastByte=size - 1, layerPartBlob="BLOB"))
    return template.encode().replace(b'"BLOB"', b'"' + base64.b64encode(bytes(size)) + b'"')


def test_part_of_the_api_maximum_is_accepted_and_one_byte_more_is_invalid_parameter() -> None:
    registry = new_registry(Limits())
    call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"})
    status, _, body = handle(
        registry, target("UploadLayerPart"), largest_part_body(API_MAX_PART_BYTES + 1)
    )
    assert (status, json.loads(body)["__type"]) == (400, "InvalidParameterException")
    status, _, body = handle(
        registry, target("UploadLayerPart"), largest_part_body(API_MAX_PART_BYTES)
    )
    assert (status, json.loads(body)["lastByteReceived"]) == (200, API_MAX_PART_BYTES - 1)


def test_largest_part_is_handled_with_at_most_two_body_sized_copies_in_memory() -> None:
    # The body's text and the blob's base64 text live at once; the decoded blob comes
    # after the body's text is dropped. Any further copy (of the body, the text or the
    # blob) would show here.
    registry = new_registry(Limits())
    call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"})
    body = largest_part_body(API_MAX_PART_BYTES)
    tracemalloc.start()
    try:
        status, _, _ = handle(registry, target("UploadLayerPart"), body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    assert peak < 2.1 * len(body)


# ---------------------------------------------------------------------------------------
# Hostile input: an answer, never an exception, and a refusal changes nothing

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["team/app", UPLOAD_ID, UNKNOWN_UPLOAD_ID, digest_of(b"abcd"), b64(b"e")]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
member_bodies = st.fixed_dictionaries(
    {},
    optional={
        "registryId": st.sampled_from([REGISTRY_ID, OTHER_REGISTRY_ID]) | json_values,
        "repositoryName": st.sampled_from(["team/app", "team/other", "team/nope"]) | json_values,
        "uploadId": st.sampled_from([UPLOAD_ID, UNKNOWN_UPLOAD_ID]) | json_values,
        "partFirstByte": st.integers(-2, 6) | json_values,
        "partLastByte": st.integers(-2, 9) | json_values,
        "layerPartBlob": st.binary(max_size=8).map(b64) | json_values,
        "layerDigests": st.lists(
            st.sampled_from([digest_of(b"abcd"), digest_of(b"abcde"), "x"]), max_size=3
        )
        | json_values,
    },
)
bodies = st.one_of(
    member_bodies.map(lambda body: json.dumps(body).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
    st.tuples(member_bodies, st.integers(0, 200), st.binary(min_size=1, max_size=3)).map(
        lambda spliced: (
            json.dumps(spliced[0]).encode()[: spliced[1]]
            + spliced[2]
            + json.dumps(spliced[0]).encode()[spliced[1] :]
        )
    ),
)


@given(st.sampled_from([*OPERATIONS, "Nope"]), bodies)
def test_hostile_calls_get_an_answer_and_a_refusal_changes_nothing(
    operation: str, body: bytes
) -> None:
    registry = new_registry()
    handle(registry, target("InitiateLayerUpload"), b'{"repositoryName": "team/app"}')
    handle(registry, target("UploadLayerPart"), json.dumps(part_body(0, b"abcd")).encode())
    before = registry.session(UploadId(UPLOAD_ID))
    status, headers, raw = handle(registry, target(operation), body)
    answer = json.loads(raw)
    assert headers["Content-Length"] == str(len(raw))
    if status == 200:
        assert "__type" not in answer
    else:
        assert status == 400
        assert answer["__type"] in ERRORS_BY_CODE
        assert isinstance(answer["message"], str)
        assert registry.session(UploadId(UPLOAD_ID)) == before
        assert registry.session(UploadId("00000000-0000-0000-0000-000000000001")) is None


def test_unknown_operation_message_names_the_operation_or_the_foreign_target() -> None:
    registry = Registry("123456789012")
    for target, named in (
        (f"{TARGET_PREFIX}.UploadLayerPart.x", "'UploadLayerPart.x'"),
        ("Other_V1.UploadLayerPart", "'Other_V1.UploadLayerPart'"),
    ):
        _, _, body = handle(registry, target, b"{}")
        assert json.loads(body)["message"] == (
            f"The operation {named} is not known to this service"
        )


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (b"NaN", "NaN is not a JSON number"),
        (b"-Infinity", "-Infinity is not a JSON number"),
        (b"9" * 40, "NUMBER_VALUE is out of the range of a Long"),
        (b"[" * 100_000, "The request body is nested too deeply"),
    ],
)
def test_body_refusals_say_what_is_wrong(token: bytes, message: str) -> None:
    with pytest.raises(SerializationException) as refused:
        parse_body(b'{"x": ' + token + b"}")
    assert refused.value.message == message


def test_a_registry_of_the_oci_grammar_reads_its_names_over_the_wire() -> None:
    registry = Registry("123456789012", grammar=RepositoryGrammar.OCI)
    registry.create_repository("a__b")
    status, _, _ = handle(
        registry, f"{TARGET_PREFIX}.InitiateLayerUpload", b'{"repositoryName": "a__b"}'
    )
    assert status == 200


def test_a_part_read_in_place_reads_its_name_by_the_grammar_given() -> None:
    body = json.dumps(
        {
            "repositoryName": "a__b",
            "uploadId": UPLOAD_ID,
            "partFirstByte": 0,
            "partLastByte": 2,
            "layerPartBlob": "YWJj",
        }
    ).encode()
    request = decode_request(
        f"{TARGET_PREFIX}.UploadLayerPart", body, grammar=RepositoryGrammar.OCI
    )
    assert isinstance(request, UploadLayerPartRequest)
    assert request.repository_name == RepositoryName("a__b", grammar=RepositoryGrammar.OCI)
    assert bytes(request.layer_part_blob) == b"abc"


def test_request_id_that_would_break_a_header_is_refused_naming_it() -> None:
    with pytest.raises(UsageError, match=r"printable ASCII, not 'a\\nb'"):
        handle(Registry("123456789012"), "x", b"{}", request_id="a\nb")
