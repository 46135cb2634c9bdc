"""The wire agrees with ECR's service model as the AWS SDK for Python (botocore, boto3)
carries it; botocore and boto3 are test-only dependencies.

- Requests that botocore's own serializer makes from the ECR service model decode with
  :func:`wire.decode_request` to the same values.
- Every answer and error the package encodes parses with botocore's ``json`` response
  parser to what a boto3 user reads: the output members, ``Error.Code``,
  ``Error.Message`` and the modelled members such as ``lastValidByteReceived``.
- A real boto3 client, whose HTTP is stubbed to call :func:`wire.handle`, pushes a layer.

The installed botocore may use the OCI repository-name grammar; the names here are valid
in both grammars.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import botocore.parsers
import botocore.serialize
import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HeadersDict
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
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
    KmsException,
    Layer,
    LayerAvailability,
    LayerDigest,
    LayerFailure,
    LayerFailureCode,
    Registry,
    RegistryId,
    RepositoryName,
    UploadId,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
)
from ecr_upload_model.errors import ERRORS_BY_CODE
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import (
    CONTENT_TYPE,
    OPERATIONS,
    TARGET_PREFIX,
    Response,
    decode_request,
    encode_error,
    encode_response,
    handle,
)

SERVICE = botocore.session.get_session().get_service_model("ecr")
SERIALIZER = botocore.serialize.create_serializer("json")
PARSER = botocore.parsers.create_parser("json")


def serialize(operation: str, params: Mapping[str, object]) -> tuple[str, bytes]:
    """The X-Amz-Target value and the body botocore sends for a call."""
    request = SERIALIZER.serialize_to_request(params, SERVICE.operation_model(operation))
    assert request["method"] == "POST"
    assert request["url_path"] == "/"
    assert request["headers"]["Content-Type"] == CONTENT_TYPE
    body = request["body"]
    assert isinstance(body, bytes)
    return str(request["headers"]["X-Amz-Target"]), body


def parse(operation: str, answer: tuple[int, dict[str, str], bytes]) -> dict[str, Any]:
    """What a boto3 user reads, as botocore's endpoint builds it (output, then the
    modelled members of an error)."""
    status, headers, body = answer
    # botocore hands its parser a case-insensitive HeadersDict, as here.
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    parsed = PARSER.parse(response, SERVICE.operation_model(operation).output_shape)
    error_shape = SERVICE.shape_for_error_code(parsed.get("Error", {}).get("Code", ""))
    if status >= 300 and error_shape is not None:
        parsed.update(PARSER.parse(response, error_shape))
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status
    assert parsed["ResponseMetadata"]["RequestId"] == headers["x-amzn-RequestId"]
    return parsed


# ---------------------------------------------------------------------------------------
# Requests: botocore's serializer in, the same values out

# Built from alphabets rather than regular expressions: as good here, and much faster.
registry_ids = st.none() | st.text("0123456789", min_size=12, max_size=12)
_name_components = st.text("abcxyz0189", min_size=1, max_size=8)
_separated = st.builds(
    "{}{}{}".format, _name_components, st.sampled_from(["", ".", "_", "-"]), _name_components
)
repository_names = st.sampled_from(["team/app", "ab", "a.b-c_d/e/f9", "x" * 256]) | st.lists(
    _separated, min_size=1, max_size=3
).map("/".join).filter(lambda name: len(name) >= 2)
upload_ids = st.uuids().map(str) | st.uuids().map(lambda value: str(value).upper())
part_sizes = st.integers(0, 2**63 - 1)
layer_digests = st.builds(
    "{}:{}".format,
    st.sampled_from(["sha256", "sha512", "tarsum.v1+sha256", "A-Z_0.9"]),
    st.text("0123456789abcdefABCDEF", min_size=1, max_size=64),
)


def with_registry_id(registry_id: str | None, params: Mapping[str, object]) -> dict[str, object]:
    return dict(params) if registry_id is None else {"registryId": registry_id, **params}


def registry_id_value(registry_id: str | None) -> RegistryId | None:
    return None if registry_id is None else RegistryId(registry_id)


def test_botocore_model_speaks_the_same_protocol_and_target_prefix() -> None:
    assert SERVICE.protocol == "json"
    assert SERVICE.metadata["jsonVersion"] == "1.1"
    assert SERVICE.metadata["targetPrefix"] == TARGET_PREFIX
    assert set(OPERATIONS) <= set(SERVICE.operation_names)


@given(registry_ids, repository_names)
def test_botocore_initiate_layer_upload_request_decodes_to_the_same_values(
    registry_id: str | None, repository: str
) -> None:
    target, body = serialize(
        "InitiateLayerUpload", with_registry_id(registry_id, {"repositoryName": repository})
    )
    assert decode_request(target, body) == InitiateLayerUploadRequest(
        registry_id=registry_id_value(registry_id), repository_name=RepositoryName(repository)
    )


@given(
    registry_ids,
    repository_names,
    upload_ids,
    st.tuples(part_sizes, part_sizes),
    st.binary(max_size=64),
)
def test_botocore_upload_layer_part_request_decodes_to_the_same_values(
    registry_id: str | None,
    repository: str,
    upload_id: str,
    byte_range: tuple[int, int],
    blob: bytes,
) -> None:
    first, last = byte_range
    params = {
        "repositoryName": repository,
        "uploadId": upload_id,
        "partFirstByte": first,
        "partLastByte": last,
        "layerPartBlob": blob,
    }
    target, body = serialize("UploadLayerPart", with_registry_id(registry_id, params))
    assert decode_request(target, body) == UploadLayerPartRequest(
        registry_id=registry_id_value(registry_id),
        repository_name=RepositoryName(repository),
        upload_id=UploadId(upload_id),
        part_first_byte=first,
        part_last_byte=last,
        layer_part_blob=blob,
    )


def test_botocore_largest_part_decodes_byte_for_byte() -> None:
    blob = hashlib.shake_256(b"layer").digest(20_971_520)
    params = {
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "partFirstByte": 0,
        "partLastByte": len(blob) - 1,
        "layerPartBlob": blob,
    }
    request = decode_request(*serialize("UploadLayerPart", params))
    assert isinstance(request, UploadLayerPartRequest)
    assert request.layer_part_blob == blob


@given(
    registry_ids, repository_names, upload_ids, st.lists(layer_digests, min_size=1, max_size=100)
)
def test_botocore_complete_layer_upload_request_decodes_to_the_same_values(
    registry_id: str | None, repository: str, upload_id: str, digests: list[str]
) -> None:
    params = {"repositoryName": repository, "uploadId": upload_id, "layerDigests": digests}
    target, body = serialize("CompleteLayerUpload", with_registry_id(registry_id, params))
    assert decode_request(target, body) == CompleteLayerUploadRequest(
        registry_id=registry_id_value(registry_id),
        repository_name=RepositoryName(repository),
        upload_id=UploadId(upload_id),
        layer_digests=tuple(LayerDigest(digest) for digest in digests),
    )


@given(
    registry_ids,
    repository_names,
    st.lists(layer_digests | st.text(max_size=1000), min_size=1, max_size=100),
)
def test_botocore_batch_check_request_decodes_to_the_same_values(
    registry_id: str | None, repository: str, digests: list[str]
) -> None:
    params = {"repositoryName": repository, "layerDigests": digests}
    target, body = serialize("BatchCheckLayerAvailability", with_registry_id(registry_id, params))
    assert decode_request(target, body) == BatchCheckLayerAvailabilityRequest(
        registry_id=registry_id_value(registry_id),
        repository_name=RepositoryName(repository),
        layer_digests=tuple(digests),
    )


# ---------------------------------------------------------------------------------------
# Answers: the package's encoding out, botocore's parser in

DIGEST = LayerDigest.sha256(hashlib.sha256(b"abcd").hexdigest())
RESPONSES: dict[str, tuple[Response, dict[str, object]]] = {
    "InitiateLayerUpload": (
        InitiateLayerUploadResponse(upload_id=UploadId(UPLOAD_ID), part_size=10_485_760),
        {"uploadId": UPLOAD_ID, "partSize": 10_485_760},
    ),
    "UploadLayerPart": (
        UploadLayerPartResponse(
            registry_id=RegistryId(REGISTRY_ID),
            repository_name=RepositoryName("team/app"),
            upload_id=UploadId(UPLOAD_ID),
            last_byte_received=2**63 - 1,
        ),
        {
            "registryId": REGISTRY_ID,
            "repositoryName": "team/app",
            "uploadId": UPLOAD_ID,
            "lastByteReceived": 2**63 - 1,
        },
    ),
    "CompleteLayerUpload": (
        CompleteLayerUploadResponse(
            registry_id=RegistryId(REGISTRY_ID),
            repository_name=RepositoryName("team/app"),
            upload_id=UploadId(UPLOAD_ID),
            layer_digest=DIGEST,
        ),
        {
            "registryId": REGISTRY_ID,
            "repositoryName": "team/app",
            "uploadId": UPLOAD_ID,
            "layerDigest": str(DIGEST),
        },
    ),
    "BatchCheckLayerAvailability": (
        BatchCheckLayerAvailabilityResponse(
            layers=(
                Layer(
                    layer_digest=DIGEST,
                    layer_availability=LayerAvailability.AVAILABLE,
                    layer_size=4,
                ),
            ),
            failures=(
                LayerFailure(
                    layer_digest="sha256:xyz",
                    failure_code=LayerFailureCode.INVALID_LAYER_DIGEST,
                    failure_reason="not a digest \u2014 at all",
                ),
            ),
        ),
        {
            "layers": [
                {"layerDigest": str(DIGEST), "layerAvailability": "AVAILABLE", "layerSize": 4}
            ],
            "failures": [
                {
                    "layerDigest": "sha256:xyz",
                    "failureCode": "InvalidLayerDigest",
                    "failureReason": "not a digest \u2014 at all",
                }
            ],
        },
    ),
}


@pytest.mark.parametrize("operation", RESPONSES)
def test_each_response_parses_with_botocore_to_what_a_boto3_user_reads(operation: str) -> None:
    response, expected = RESPONSES[operation]
    parsed = parse(operation, encode_response(response, request_id="req-7"))
    metadata = parsed.pop("ResponseMetadata")
    assert parsed == expected
    assert metadata["HTTPStatusCode"] == 200


def error_instance(code: str) -> EcrError:
    """An instance of the package's error for ``code``, with every modelled member set."""
    if code == InvalidLayerPartException.code:
        return InvalidLayerPartException(
            "First byte of the layer part is 0 instead of 4",
            registry_id=RegistryId(REGISTRY_ID),
            repository_name=RepositoryName("team/app"),
            upload_id=UploadId(UPLOAD_ID),
            last_valid_byte_received=3,
        )
    if code == KmsException.code:
        return KmsException("kms refused", kms_error="KMS.DisabledException")
    return ERRORS_BY_CODE[code](f"what {code} says")


MODELLED_ERRORS = [
    (operation, shape.name)
    for operation in OPERATIONS
    for shape in SERVICE.operation_model(operation).error_shapes
]


def test_the_package_has_an_error_for_every_error_botocore_models_for_these_operations() -> None:
    assert {code for _, code in MODELLED_ERRORS} <= set(ERRORS_BY_CODE)


@pytest.mark.parametrize(("operation", "code"), MODELLED_ERRORS)
def test_each_modelled_error_parses_with_botocore_with_its_members(
    operation: str, code: str
) -> None:
    error = error_instance(code)
    parsed = parse(operation, encode_error(error, request_id="req-7"))
    assert parsed["Error"] == {"Code": code, "Message": error.message}
    members = {
        name: value for name, value in parsed.items() if name not in {"Error", "ResponseMetadata"}
    }
    # botocore adds the error shape's members at the top level: the message again, and
    # the members proper to the error.
    assert members == {"message": error.message, **error.wire_members()}
    if code == "InvalidLayerPartException":
        assert members["lastValidByteReceived"] == 3
        assert members["uploadId"] == UPLOAD_ID


@pytest.mark.parametrize("code", ["SerializationException", "UnknownOperationException"])
def test_protocol_errors_outside_the_model_still_give_botocore_their_code(code: str) -> None:
    error = ERRORS_BY_CODE[code]("bad body")
    parsed = parse("UploadLayerPart", encode_error(error, request_id="req-7"))
    assert parsed["Error"] == {"Code": code, "Message": "bad body"}


# ---------------------------------------------------------------------------------------
# A real boto3 client whose HTTP is the package's wire entry


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self) -> Iterator[bytes]:
        yield self.data


@pytest.fixture
def ecr(monkeypatch: pytest.MonkeyPatch) -> tuple[BaseClient, Registry]:
    """A boto3 ECR client answered by a Registry; no network, no AWS configuration."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    registry = Registry(REGISTRY_ID, limits=SMALL, upload_id_factory=sequential_upload_ids())
    registry.create_repository("team/app")
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("ecr", config=Config(retries={"total_max_attempts": 1}))
    request_numbers = itertools.count(1)

    def answer(request: AWSPreparedRequest, **_: object) -> AWSResponse:
        # Once signed, botocore's prepared request holds header values as bytes.
        target = request.headers["X-Amz-Target"]
        body = request.body
        assert isinstance(target, bytes)
        assert isinstance(body, bytes)
        status, headers, raw = handle(
            registry, target.decode("ascii"), body, request_id=f"req-{next(request_numbers)}"
        )
        return AWSResponse(request.url, status, headers, _Body(raw))

    client.meta.events.register("before-send.ecr", answer)
    return client, registry


def test_boto3_client_pushes_a_whole_layer_through_the_wire(
    ecr: tuple[BaseClient, Registry],
) -> None:
    client, registry = ecr
    layer = bytes(range(10)) + b"tail"
    digest = f"sha256:{hashlib.sha256(layer).hexdigest()}"

    before = client.batch_check_layer_availability(repositoryName="team/app", layerDigests=[digest])
    assert before["layers"] == []
    assert before["failures"][0]["failureCode"] == "MissingLayerDigest"

    started = client.initiate_layer_upload(repositoryName="team/app")
    assert (started["uploadId"], started["partSize"]) == (UPLOAD_ID, SMALL.part_size)
    size = started["partSize"]
    for first in range(0, len(layer), size):
        blob = layer[first : first + size]
        answer = client.upload_layer_part(
            repositoryName="team/app",
            uploadId=started["uploadId"],
            partFirstByte=first,
            partLastByte=first + len(blob) - 1,
            layerPartBlob=blob,
        )
        assert answer["lastByteReceived"] == first + len(blob) - 1
        assert answer["registryId"] == REGISTRY_ID

    completed = client.complete_layer_upload(
        repositoryName="team/app",
        uploadId=started["uploadId"],
        # Hex letter case does not matter; the answer names the layer in lower case.
        layerDigests=[f"sha256:{hashlib.sha256(layer).hexdigest().upper()}"],
    )
    assert completed["layerDigest"] == digest
    assert completed["ResponseMetadata"]["HTTPStatusCode"] == 200

    after = client.batch_check_layer_availability(repositoryName="team/app", layerDigests=[digest])
    assert after["layers"] == [
        {"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": len(layer)}
    ]
    assert after["failures"] == []
    session = registry.session(UploadId(UPLOAD_ID))
    assert session is not None
    assert session.completed


def test_boto3_client_sees_a_refused_part_as_client_error_with_last_valid_byte(
    ecr: tuple[BaseClient, Registry],
) -> None:
    client, _ = ecr
    upload_id = client.initiate_layer_upload(repositoryName="team/app")["uploadId"]
    part = {
        "repositoryName": "team/app",
        "uploadId": upload_id,
        "partFirstByte": 0,
        "partLastByte": 3,
        "layerPartBlob": b"abcd",
    }
    client.upload_layer_part(**part)
    with pytest.raises(ClientError) as refused:
        client.upload_layer_part(**part)
    assert isinstance(refused.value, client.exceptions.InvalidLayerPartException)
    response = refused.value.response
    assert response["Error"]["Code"] == "InvalidLayerPartException"
    assert response["Error"]["Message"] == "First byte of the layer part is 0 instead of 4"
    assert response["lastValidByteReceived"] == 3
    assert response["uploadId"] == upload_id
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The client resumes from lastValidByteReceived + 1.
    resumed = client.upload_layer_part(
        **{**part, "partFirstByte": 4, "partLastByte": 7, "layerPartBlob": b"efgh"}
    )
    assert resumed["lastByteReceived"] == 7


def test_boto3_client_gets_each_completion_error_as_its_modelled_exception(
    ecr: tuple[BaseClient, Registry],
) -> None:
    client, _ = ecr

    def complete(upload_id: str, data: bytes) -> None:
        client.complete_layer_upload(
            repositoryName="team/app",
            uploadId=upload_id,
            layerDigests=[f"sha256:{hashlib.sha256(data).hexdigest()}"],
        )

    upload_id = client.initiate_layer_upload(repositoryName="team/app")["uploadId"]
    with pytest.raises(client.exceptions.EmptyUploadException):
        complete(upload_id, b"")
    client.upload_layer_part(
        repositoryName="team/app",
        uploadId=upload_id,
        partFirstByte=0,
        partLastByte=3,
        layerPartBlob=b"abcd",
    )
    with pytest.raises(client.exceptions.InvalidLayerException):
        complete(upload_id, b"abce")
    complete(upload_id, b"abcd")
    with pytest.raises(client.exceptions.UploadNotFoundException):
        complete(upload_id, b"abcd")
    with pytest.raises(client.exceptions.RepositoryNotFoundException):
        client.initiate_layer_upload(repositoryName="team/nope")
