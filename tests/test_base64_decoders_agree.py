"""A part's blob means the same whichever decoder the wire is given.

The server decodes with pybase64 (SIMD: about 40 times the standard library's speed on
a 10 MiB part); the model's rule is the standard library's strict decoder plus "the text
is exactly the quads its bytes need". pybase64 reaches its vector code on long texts
only, so the texts here are long as well as short, and damaged at any place.
"""

from __future__ import annotations

import base64
import binascii
import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from shared_values import REGISTRY_ID, REPOSITORY, UPLOAD_ID
from wsgi_calls import environ, serve

from ecr_upload_model import Registry, _shapes
from ecr_upload_model.server.app import decode_base64, make_app
from ecr_upload_model.wire import TARGET_PREFIX, handle

TARGET = f"{TARGET_PREFIX}.UploadLayerPart"


def decoded(text: bytes, decoder: _shapes.Base64Decoder) -> bytes | None:
    """The bytes of ``text`` under the model's rule with ``decoder``; None if refused."""
    try:
        return _shapes._b64decode(memoryview(text), decoder)
    except ValueError:
        return None


# Texts a decoder of another rule would read otherwise: padding misplaced or added,
# whitespace, the URL-safe alphabet, trailing bits that are not zero, non-ASCII.
EDGE_TEXTS = [
    b"",
    b"QQ==",
    b"QQ",
    b"QQ=",
    b"QQ===",
    b"Q===",
    b"====",
    b"=QQQ",
    b"QQ==QQ==",
    b"YWJj=",
    b"YWJj====",
    b"QR==",
    b"QUJ=",
    b"YW Jj",
    b"YWJj\n",
    b"\nYWJj",
    b"YW-_",
    b"YW\xc3\xa9",
    b"YWJ\x00",
]


def test_each_edge_text_is_refused_or_read_alike_by_both_decoders() -> None:
    for text in EDGE_TEXTS:
        assert decoded(text, decode_base64) == decoded(text, _shapes.strict_a2b), text


@given(
    data=st.binary(max_size=3000),
    at=st.integers(min_value=0),
    edit=st.sampled_from(["replace", "insert", "delete", "cut"]),
    byte=st.integers(min_value=0, max_value=255),
)
@example(data=bytes(96), at=40, edit="replace", byte=ord("="))
@example(data=bytes(96), at=64, edit="insert", byte=ord(" "))
@example(data=bytes(3000), at=3999, edit="replace", byte=ord("-"))
def test_a_long_text_damaged_anywhere_is_refused_or_read_alike_by_both_decoders(
    data: bytes, at: int, edit: str, byte: int
) -> None:
    text = base64.b64encode(data)
    at %= len(text) + 1
    damaged = {
        "replace": text[:at] + bytes([byte]) + text[at + 1 :],
        "insert": text[:at] + bytes([byte]) + text[at:],
        "delete": text[:at] + text[at + 1 :],
        "cut": text[:at],
    }[edit]
    assert decoded(text, decode_base64) == data
    assert decoded(damaged, decode_base64) == decoded(damaged, _shapes.strict_a2b)


def part_body(blob_text: bytes, upload_id: str = UPLOAD_ID, size: int = 3) -> bytes:
    members = json.dumps(
        {
            "repositoryName": REPOSITORY,
            "uploadId": upload_id,
            "partFirstByte": 0,
            "partLastByte": size - 1,
        }
    ).encode("ascii")
    return members[:-1] + b', "layerPartBlob": "' + blob_text + b'"}'


def test_the_wire_decodes_a_part_with_the_decoder_it_is_given() -> None:
    def refuse_everything(text: memoryview) -> bytes:
        raise binascii.Error("refused by this decoder")

    registry = Registry(REGISTRY_ID)
    body = part_body(b"YWJj")
    _, _, default = handle(registry, TARGET, body)
    _, _, refusing = handle(registry, TARGET, body, base64_decoder=refuse_everything)
    # The default reads the blob (the unknown repository is what it then refuses); the
    # other never gets that far.
    assert json.loads(default)["__type"] == "RepositoryNotFoundException"
    assert json.loads(refusing) == {
        "__type": "SerializationException",
        "message": "'layerPartBlob' is not valid base64",
    }


@pytest.mark.parametrize("text", [b"YWJj=", b"YW Jj", b"Y W J j", b"YWJj===="])
def test_a_lax_decoder_cannot_make_the_wire_take_padding_or_whitespace(text: bytes) -> None:
    """binascii's default mode skips what is not base64; the model's own rule, the text
    being exactly the quads its bytes need, refuses such a text all the same."""
    registry = Registry(REGISTRY_ID)
    _, _, answer = handle(registry, TARGET, part_body(text), base64_decoder=binascii.a2b_base64)
    assert json.loads(answer)["message"] == "'layerPartBlob' is not valid base64"


@pytest.mark.parametrize(
    "text", [b"QUJD" * 64, b"QUJD" * 64 + b"=", b"QUJD" * 64 + b"QQ==QUJD", b"QUJD" * 63 + b"QU-D"]
)
def test_the_server_answers_a_long_blob_as_the_model_does(text: bytes) -> None:
    """The same part sent to the server's application and to ``wire.handle`` with the
    model's decoder, each into a registry of its own: the same answer."""
    answers = []  # without the upload ids, which are each registry's own
    for call in ("server", "model"):
        registry = Registry(REGISTRY_ID)
        registry.create_repository(REPOSITORY)
        _, _, started = handle(
            registry, f"{TARGET_PREFIX}.InitiateLayerUpload", b'{"repositoryName": "team/app"}'
        )
        body = part_body(text, json.loads(started)["uploadId"], size=len(text) // 4 * 3)
        if call == "server":
            env = environ(
                "POST", "/", body=body, CONTENT_LENGTH=str(len(body)), HTTP_X_AMZ_TARGET=TARGET
            )
            status, _, answer = serve(make_app(registry), env)
            code = int(status.split()[0])
        else:
            code, _, answer = handle(registry, TARGET, body)
        obj = json.loads(answer)
        obj.pop("uploadId", None)
        answers.append((code, obj))
    assert answers[0] == answers[1]
    assert answers[0][0] == (200 if text == b"QUJD" * 64 else 400)
