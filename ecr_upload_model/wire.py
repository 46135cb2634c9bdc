"""The AWS JSON 1.1 wire form: (target, body bytes) in, (status, headers, body bytes) out.

Every call is ``POST /`` with ``X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>``
and a JSON object as body (docs/ecr-layer-upload.md, section 1). :func:`handle` makes a server's
handler one line; :func:`decode_request`, :func:`encode_response` and
:func:`encode_error` are its parts, for servers that keep their own sessions.

Nothing but an :class:`~ecr_upload_model.errors.EcrError` comes out of a hostile body:
the target is read first (a server routes before it reads), then the body is parsed
strictly (:func:`parse_body`), then the operation's shape reads it.

>>> registry = Registry("123456789012")
>>> status, headers, body = handle(registry, f"{TARGET_PREFIX}.PutImage", b"{}")
>>> status, headers["Content-Type"], json.loads(body)["__type"]
(400, 'application/x-amz-json-1.1', 'UnknownOperationException')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

from . import _shapes, _strict_json
from ._in_place import parse_in_place
from ._shapes import Base64Decoder, strict_a2b
from .errors import EcrError, SerializationException, UnknownOperationException, UsageError
from .identifiers import RepositoryGrammar
from .limits import BODY_SLACK_BYTES, MAX_BODY_BYTES
from .operations import (
    OPERATIONS,
    TARGET_PREFIX,
    AnyRequest,
    AnyResponse,
    Operation,
    Request,
    Response,
)
from .registry import Registry

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_REQUEST_ID",
    "MAX_BODY_BYTES",
    "OPERATIONS",
    "TARGET_PREFIX",
    "AnyRequest",
    "AnyResponse",
    "Base64Decoder",
    "Body",
    "Request",
    "Response",
    "check_body_size",
    "decode_request",
    "encode_error",
    "encode_response",
    "handle",
    "max_body_bytes",
    "parse_body",
]

CONTENT_TYPE: Final = "application/x-amz-json-1.1"
#: The ``x-amzn-RequestId`` of an answer when the caller gives none.
DEFAULT_REQUEST_ID: Final = "00000000-0000-0000-0000-000000000000"

#: How the reference registry answers each operation.
ANSWERS: Final[Mapping[str, Callable[[Registry, Any], AnyResponse]]] = {
    "InitiateLayerUpload": Registry.initiate_layer_upload,
    "UploadLayerPart": Registry.upload_layer_part,
    "CompleteLayerUpload": Registry.complete_layer_upload,
    "BatchCheckLayerAvailability": Registry.batch_check_layer_availability,
    "CreateRepository": Registry.create_repository_call,
    "DescribeRepositories": Registry.describe_repositories,
    "DeleteRepository": Registry.delete_repository,
    "GetAuthorizationToken": Registry.get_authorization_token,
}


# ---------------------------------------------------------------------------------------
# Requests


def _operation(target: str) -> Operation[AnyRequest, AnyResponse]:
    prefix, dot, name = target.partition(".")
    operation = OPERATIONS.get(name) if prefix == TARGET_PREFIX and dot else None
    if operation is None:
        raise UnknownOperationException(
            f"The operation '{name if prefix == TARGET_PREFIX else target}' is not known "
            "to this service"
        )
    return operation


#: What a body may be: bytes, or a buffer of them.
Body: TypeAlias = bytes | bytearray | memoryview


def _view(body: Body) -> memoryview:
    """A byte view of ``body`` (no copy), or UsageError for anything but bytes."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise UsageError(
            f"a request body must be bytes, bytearray or memoryview, not {type(body).__name__}"
        )
    view = memoryview(body)
    if not view.c_contiguous:
        raise UsageError("a request body given as a memoryview must be contiguous")
    # Always cast: a view of other items, or of more than one dimension, is measured and
    # read as its bytes (len() of a 2-D view is its rows).
    return view.cast("B")


def parse_body(body: Body) -> object:
    """The JSON value of a request body, or SerializationException.

    Stricter than :func:`json.loads` on purpose, so that no two readers of one body can
    disagree on what it says (a proxy that checks a body and the server behind it):

    - the bytes must be UTF-8 (no BOM, no other encoding, no lone surrogates);
    - ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON and are refused;
    - an object with the same key twice is refused: parsers differ on which value counts;
    - an integer longer than any long is refused;
    - nesting deeper than ``MAX_NESTING_DEPTH`` and more than ``MAX_JSON_VALUES`` values
      are refused before parsing, in linear time (``limits``).

    Decoding to text is the one copy :func:`json.loads` would make of bytes anyway.
    """
    return _strict_json.parse(_view(body))


def max_body_bytes(target: str) -> int:
    """The longest body a call of ``target`` (an ``X-Amz-Target`` value) may have.

    A server may refuse a longer ``Content-Length`` before reading the body
    (:func:`check_body_size` gives the error); ``handle`` refuses it all the same.
    """
    return MAX_BODY_BYTES[_operation(target).name]


def check_body_size(target: str, size: int) -> None:
    """UnknownOperationException for an unknown target, SerializationException for a
    body of ``size`` bytes longer than the operation's :func:`max_body_bytes`."""
    limit = max_body_bytes(target)
    if size > limit:
        raise _too_large(_operation(target).name, size, limit)


def _too_large(name: str, size: int, limit: int) -> SerializationException:
    return SerializationException(
        f"The request body is {size} bytes, more than the {limit} of any {name} request"
    )


def _decode(
    target: str, body: Body, grammar: RepositoryGrammar, base64_decoder: Base64Decoder
) -> tuple[Operation[AnyRequest, AnyResponse], AnyRequest]:
    operation = _operation(target)
    view = _view(body)
    limit = MAX_BODY_BYTES[operation.name]
    if len(view) > limit:
        raise _too_large(operation.name, len(view), limit)
    too_large = SerializationException(
        f"The request body without its blob is more than {BODY_SLACK_BYTES} bytes"
    )
    in_place = parse_in_place(view, operation.request_type, too_large, base64_decoder)
    if in_place is not None:
        obj, blob = in_place
        return operation, _shapes.read(operation.request_type, obj, grammar, blob=blob)
    if len(view) > BODY_SLACK_BYTES and _shapes.blob_member(operation.request_type):
        raise too_large
    return operation, operation.request_type.from_wire(_strict_json.parse(view), grammar=grammar)


def decode_request(
    target: str,
    body: Body,
    *,
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
    base64_decoder: Base64Decoder = strict_a2b,
) -> AnyRequest:
    """The request a call makes; else UnknownOperation, Serialization or InvalidParameter.

    ``base64_decoder`` decodes a part's blob as the body holds it: the standard
    library's strict decoder, or a faster one that refuses exactly what it refuses (the
    server gives pybase64's, about 40 times as fast). Whichever decodes, the blob's text
    must still be exactly the quads its bytes need.
    """
    return _decode(target, body, grammar, base64_decoder)[1]


# ---------------------------------------------------------------------------------------
# Answers


def _answer(
    status: int, obj: Mapping[str, object], request_id: str
) -> tuple[int, dict[str, str], bytes]:
    # The request id is written into a header: refuse what would break the header.
    if not (request_id.isascii() and request_id.isprintable()):
        raise UsageError(f"request_id must be printable ASCII, not {request_id!r}")
    body = json.dumps(obj, separators=(",", ":")).encode("ascii")
    headers = {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": request_id,
        "Content-Length": str(len(body)),
    }
    return status, headers, body


def encode_response(response: AnyResponse, *, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """HTTP 200 with the response's members."""
    return _answer(200, response.to_wire(), request_id)


def encode_error(error: EcrError, *, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """The error's HTTP status with ``{"__type", "message", members}``."""
    return _answer(error.http_status, error.to_wire(), request_id)


def handle(
    registry: Registry,
    target: str,
    body: Body,
    *,
    request_id: str = DEFAULT_REQUEST_ID,
    base64_decoder: Base64Decoder = strict_a2b,
) -> tuple[int, dict[str, str], bytes]:
    """Answers one call (``X-Amz-Target`` value and raw body) from ``registry``
    (``base64_decoder`` as in :func:`decode_request`).

    Only the package's typed errors are turned into answers: anything else is a bug.
    """
    try:
        operation, request = _decode(target, body, registry.grammar, base64_decoder)
        response = ANSWERS[operation.name](registry, request)
    except EcrError as error:
        return encode_error(error, request_id=request_id)
    return encode_response(response, request_id=request_id)
