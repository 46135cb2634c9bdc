"""The AWS JSON 1.1 wire form: decoding requests, encoding answers, one-call handling."""

from __future__ import annotations

import base64
import json

import pytest

from ecr_upload_model import (
    Registry,
    SerializationException,
    UnknownOperationException,
    UploadLayerPartRequest,
)
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import CONTENT_TYPE, TARGET_PREFIX, decode_request, handle

UPLOAD_ID = "00000000-0000-0000-0000-000000000000"


def call(registry: Registry, operation: str, body: object) -> tuple[int, dict[str, object]]:
    status, headers, raw = handle(
        registry, f"{TARGET_PREFIX}.{operation}", json.dumps(body).encode(), request_id="r-1"
    )
    assert headers == {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": "r-1",
        "Content-Length": str(len(raw)),
    }
    answer = json.loads(raw)
    assert isinstance(answer, dict)
    return status, answer


def new_registry() -> Registry:
    registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
    registry.create_repository("team/app")
    return registry


def test_upload_layer_part_body_decodes_to_the_typed_request() -> None:
    body = {
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "partFirstByte": 0,
        "partLastByte": 2,
        "layerPartBlob": base64.b64encode(b"abc").decode(),
    }
    request = decode_request(f"{TARGET_PREFIX}.UploadLayerPart", json.dumps(body).encode())
    assert isinstance(request, UploadLayerPartRequest)
    assert bytes(request.layer_part_blob) == b"abc"


@pytest.mark.parametrize(
    "target", ["UploadLayerPart", f"{TARGET_PREFIX}.DeleteRepository", f"{TARGET_PREFIX}."]
)
def test_unknown_or_bare_target_is_unknown_operation(target: str) -> None:
    with pytest.raises(UnknownOperationException):
        decode_request(target, b"{}")


@pytest.mark.parametrize(
    "body",
    [b"\xff{}", b"{", b"[]", b'{"a": NaN}', b'{"a": 1, "a": 2}', b"[" * 100_000, b"1" * 5000],
)
def test_hostile_body_is_a_serialization_exception(body: bytes) -> None:
    with pytest.raises(SerializationException):
        decode_request(f"{TARGET_PREFIX}.InitiateLayerUpload", body)


def test_push_over_the_wire_and_a_refused_part_carries_last_valid_byte() -> None:
    registry = new_registry()
    status, started = call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"})
    assert (status, started["uploadId"]) == (200, UPLOAD_ID)
    part = {
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "partFirstByte": 0,
        "partLastByte": 2,
        "layerPartBlob": base64.b64encode(b"abc").decode(),
    }
    assert call(registry, "UploadLayerPart", part)[1]["lastByteReceived"] == 2
    status, error = call(registry, "UploadLayerPart", part)
    assert status == 400
    assert error["__type"] == "InvalidLayerPartException"
    assert error["lastValidByteReceived"] == 2
    assert (error["uploadId"], error["repositoryName"]) == (UPLOAD_ID, "team/app")
