"""Inputs that are hostile rather than wrong, each refused with the right typed error.

The inputs are large (megabytes, thousands of digits) so that a path that is quadratic
in them would hang the suite; nothing here is timed.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from shared_values import UPLOAD_ID

from ecr_upload_model import (
    CompleteLayerUploadRequest,
    InitiateLayerUploadRequest,
    InvalidParameterException,
    Registry,
    RepositoryGrammar,
    RepositoryName,
    SerializationException,
    UploadLayerPartRequest,
)
from ecr_upload_model.limits import (
    API_MAX_PART_BYTES,
    MAX_BODY_BYTES,
    MAX_JSON_VALUES,
    MAX_REPOSITORY_NAME_LENGTH,
)
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import TARGET_PREFIX, handle

MB = 1_000_000
DIGEST = "sha256:" + "0" * 64


def answer(operation: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """The status and JSON body a registry with ``team/app`` and one upload answers."""
    registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
    registry.create_repository("team/app")
    handle(registry, f"{TARGET_PREFIX}.InitiateLayerUpload", b'{"repositoryName": "team/app"}')
    status, _, raw = handle(registry, f"{TARGET_PREFIX}.{operation}", body)
    obj = json.loads(raw)
    assert isinstance(obj, dict)
    return status, obj


def part_body(**members: object) -> bytes:
    obj: dict[str, object] = {
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "partFirstByte": 0,
        "partLastByte": 2,
        "layerPartBlob": "YWJj",
    }
    obj.update(members)
    return json.dumps(obj).encode("ascii")


def refused_as(operation: str, body: bytes, code: str) -> str:
    status, obj = answer(operation, body)
    assert (status, obj["__type"]) == (400, code), obj
    message = obj["message"]
    assert isinstance(message, str)
    return message


def test_the_plain_part_body_is_accepted() -> None:
    """The bodies below differ from this one only in their hostile part."""
    status, obj = answer("UploadLayerPart", part_body())
    assert (status, obj["lastByteReceived"]) == (200, 2)


# ---------------------------------------------------------------------------------------
# Bodies of many megabytes


@pytest.mark.parametrize(
    "body",
    [
        b"[" * (8 * MB) + b"]" * (8 * MB),
        b'{"repositoryName": ' + b"[" * (8 * MB) + b"]" * (8 * MB) + b"}",
        b'{"repositoryName": ' + b'{"a": ' * MB + b"1" + b"}" * MB + b"}",
    ],
    ids=["nested arrays", "nested arrays in a member", "nested objects in a member"],
)
def test_deeply_nested_body_is_a_serialization_exception(body: bytes) -> None:
    message = refused_as("UploadLayerPart", body, "SerializationException")
    assert "nested too deeply" in message


def test_body_of_a_wide_array_is_a_serialization_exception() -> None:
    body = b"[" + b"0," * MB + b"0]"
    refused_as("UploadLayerPart", body, "SerializationException")


def test_long_repository_name_is_refused_by_its_length() -> None:
    name = "a" * (10 * MB)
    with pytest.raises(InvalidParameterException, match="less than or equal to 256"):
        InitiateLayerUploadRequest.from_wire({"repositoryName": name})
    within_the_body_limit = name[: MAX_BODY_BYTES["InitiateLayerUpload"] - 100]
    message = refused_as(
        "InitiateLayerUpload",
        json.dumps({"repositoryName": within_the_body_limit}).encode("ascii"),
        "InvalidParameterException",
    )
    assert "must have length less than or equal to 256" in message
    for grammar in RepositoryGrammar:
        with pytest.raises(InvalidParameterException, match="less than or equal to 256"):
            RepositoryName(name + "!", grammar=grammar)


def test_name_at_the_length_limit_with_an_adversarial_ending_is_refused_by_its_pattern() -> None:
    for unit in ("a", "a/", "a-", "a.", "a__"):
        name = (unit * MAX_REPOSITORY_NAME_LENGTH)[: MAX_REPOSITORY_NAME_LENGTH - 1] + "!"
        for grammar in RepositoryGrammar:
            with pytest.raises(InvalidParameterException, match="regular expression"):
                RepositoryName(name, grammar=grammar)


@pytest.mark.parametrize(
    "digest",
    ["a" * (10 * MB), "sha256:" + "a" * (10 * MB) + "!", "a:" * (5 * MB), "-" * (10 * MB) + ":"],
    ids=["no colon", "bad last char", "many colons", "no hex"],
)
def test_ten_megabyte_layer_digest_is_refused_by_its_pattern(digest: str) -> None:
    """LayerDigest has no maximum length: only a linear pattern keeps this quick (the wire
    refuses so long a body by its size before reading it)."""
    body = {"repositoryName": "team/app", "uploadId": UPLOAD_ID, "layerDigests": [digest]}
    with pytest.raises(InvalidParameterException, match="must satisfy regular expression"):
        CompleteLayerUploadRequest.from_wire(body)
    message = refused_as(
        "CompleteLayerUpload", json.dumps(body).encode("ascii"), "SerializationException"
    )
    assert "more than the 165836 of any CompleteLayerUpload request" in message


def test_many_digests_are_refused_by_their_count() -> None:
    body = {"repositoryName": "team/app", "uploadId": UPLOAD_ID, "layerDigests": [DIGEST] * MB}
    with pytest.raises(InvalidParameterException, match="less than or equal to 100"):
        CompleteLayerUploadRequest.from_wire(body)


# ---------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize("digits", [20, 4_301, 100_000])
@pytest.mark.parametrize("sign", ["", "-"])
def test_integer_of_thousands_of_digits_is_a_serialization_exception(
    digits: int, sign: str
) -> None:
    """Python's int() would refuse more than 4,300 digits with a ValueError of its own."""
    number = sign + "9" * digits
    body = part_body().replace(b'"partFirstByte": 0', f'"partFirstByte": {number}'.encode())
    refused_as("UploadLayerPart", body, "SerializationException")


@pytest.mark.parametrize("digits", [4_301, 100_000])
def test_integer_longer_than_any_long_is_refused_even_in_a_member_nobody_reads(
    digits: int,
) -> None:
    unknown_member = part_body().replace(b"{", b'{"x": [%s], ' % (b"9" * digits), 1)
    refused_as("UploadLayerPart", unknown_member, "SerializationException")


def test_huge_python_integers_and_floats_are_serialization_exceptions() -> None:
    for value in (2**63, -(2**63) - 1, 10**5000, 1.5, 1e300, float("nan"), math.inf, -math.inf):
        with pytest.raises(SerializationException):
            UploadLayerPartRequest.from_wire(json.loads(part_body()) | {"partLastByte": value})


@pytest.mark.parametrize(
    "token", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"1" + b"0" * 100_000 + b".0"]
)
def test_nan_infinities_and_huge_floats_are_serialization_exceptions(token: bytes) -> None:
    body = part_body().replace(b'"partLastByte": 2', b'"partLastByte": ' + token)
    refused_as("UploadLayerPart", body, "SerializationException")


# ---------------------------------------------------------------------------------------
# Duplicate keys, text that is not UTF-8


@pytest.mark.parametrize(
    "body",
    [
        b'{"repositoryName": "team/app", "repositoryName": "team/other"}',
        b'{"repositoryName": "team/app", "x": {"a": 1, "a": 1}}',
        b'{"repositoryName": "team/app", "repositoryName": "team/app"}',
    ],
)
def test_duplicate_keys_are_a_serialization_exception(body: bytes) -> None:
    message = refused_as("InitiateLayerUpload", body, "SerializationException")
    assert "twice" in message


def test_duplicate_keys_among_as_many_members_as_a_body_may_hold_are_found() -> None:
    members = b", ".join(b'"k%d": 0' % index for index in range(MAX_JSON_VALUES - 3))
    body = b'{"repositoryName": "team/app", ' + members + b', "k7": 1}'
    message = refused_as("InitiateLayerUpload", body, "SerializationException")
    assert "'k7'" in message


@pytest.mark.parametrize(
    "body",
    [
        b'{"repositoryName": "team/\xff"}',
        b'{"repositoryName": "team/\xc3"}',
        b'{"repositoryName": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8
        b"\xef\xbb\xbf" + b'{"repositoryName": "team/app"}',
        '{"repositoryName": "team/app"}'.encode("utf-16"),
        b'{"repositoryName": "team/app", "x": "' + b"\xff" * 60_000 + b'"}',
    ],
    ids=["invalid byte", "truncated sequence", "surrogate", "BOM", "UTF-16", "60 kB of 0xff"],
)
def test_body_that_is_not_utf8_is_a_serialization_exception(body: bytes) -> None:
    message = refused_as("InitiateLayerUpload", body, "SerializationException")
    assert "UTF-8" in message


def test_escaped_lone_surrogate_in_a_name_is_refused_by_its_pattern() -> None:
    message = refused_as(
        "InitiateLayerUpload", b'{"repositoryName": "team/\\ud800"}', "InvalidParameterException"
    )
    assert "regular expression" in message


# ---------------------------------------------------------------------------------------
# Blobs


@pytest.mark.parametrize(
    "blob",
    [
        "YW Jj",
        "YWJj\n",
        "YW\tJj",
        "\nYWJj",
        "YWJ-",
        "YWJ_",
        "YW-_",
        "YWJ",
        "YWI==",
        "YWJj=",
        "YWJj====",
        "=YWJj",
        "YWJjé",
        base64.b64encode(bytes(MB)).decode("ascii")[:-4] + "A A=",
    ],
)
def test_blob_that_is_not_strict_base64_is_a_serialization_exception(blob: str) -> None:
    message = refused_as("UploadLayerPart", part_body(layerPartBlob=blob), "SerializationException")
    assert "'layerPartBlob' is not valid base64" in message


@pytest.mark.parametrize("character", ["A", "!", " "])
def test_blob_text_too_long_for_the_maximum_is_refused_by_its_length_alone(
    character: str,
) -> None:
    """Judged before decoding, decodable or not (docs/ecr-layer-upload.md, section 7)."""
    text = character * (4 * (API_MAX_PART_BYTES // 3 + 1) + 4)
    message = refused_as(
        "UploadLayerPart", part_body(layerPartBlob=text), "InvalidParameterException"
    )
    assert "must have length less than or equal to 20971520" in message
