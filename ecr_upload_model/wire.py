"""The AWS JSON 1.1 wire form: (target, body bytes) in, (status, headers, body bytes) out.

Every call is ``POST /`` with ``X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>``
and a JSON object as body (reference sheet, section 1). :func:`handle` makes a server's
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
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn

from ._in_place import parse_in_place
from ._shapes import MIN_LONG
from .errors import EcrError, SerializationException, UnknownOperationException, UsageError
from .identifiers import RepositoryGrammar
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
    "OPERATIONS",
    "TARGET_PREFIX",
    "AnyRequest",
    "AnyResponse",
    "Request",
    "Response",
    "decode_request",
    "encode_error",
    "encode_response",
    "handle",
    "parse_body",
]

CONTENT_TYPE: Final = "application/x-amz-json-1.1"
#: The ``x-amzn-RequestId`` of an answer when the caller gives none.
DEFAULT_REQUEST_ID: Final = "00000000-0000-0000-0000-000000000000"
#: A JSON integer of more characters than the smallest long cannot be any member of
#: these operations (each number is a long); refusing it early keeps parsing linear.
MAX_INTEGER_CHARACTERS: Final = len(str(MIN_LONG))

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


def _refuse_constant(name: str) -> NoReturn:
    raise SerializationException(f"{name} is not a JSON number")


def _parse_integer(text: str) -> int:
    if len(text) > MAX_INTEGER_CHARACTERS:
        raise SerializationException("NUMBER_VALUE is out of the range of a Long")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        duplicate = next(key for key, count in counts.items() if count > 1)
        raise SerializationException(f"The key '{duplicate}' appears twice in one object")
    return obj


def parse_body(body: bytes) -> object:
    """The JSON value of a request body, or SerializationException.

    Stricter than :func:`json.loads` on purpose, so that no two readers of one body can
    disagree on what it says (a proxy that checks a body and the server behind it):

    - the bytes must be UTF-8 (no BOM, no other encoding, no lone surrogates);
    - ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON and are refused;
    - an object with the same key twice is refused: parsers differ on which value counts;
    - an integer longer than any long is refused, and nesting too deep for the parser.

    Decoding to text is the one copy :func:`json.loads` would make of bytes anyway.
    """
    try:
        text = str(body, "utf-8")
    except UnicodeDecodeError as error:
        raise SerializationException(
            f"The request body is not UTF-8 (byte {error.start})"
        ) from None
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_int=_parse_integer,
            object_pairs_hook=_object,
        )
    except SerializationException:
        raise
    except json.JSONDecodeError as error:
        raise SerializationException(
            f"The request body is not JSON: {error.msg} at character {error.pos}"
        ) from None
    except RecursionError:
        raise SerializationException("The request body is nested too deeply") from None


def _decode(
    target: str, body: bytes, grammar: RepositoryGrammar
) -> tuple[Operation[AnyRequest, AnyResponse], AnyRequest]:
    operation = _operation(target)
    obj = parse_in_place(body, operation.request_type, parse_body)
    request = operation.request_type.from_wire(
        parse_body(body) if obj is None else obj, grammar=grammar
    )
    return operation, request


def decode_request(
    target: str, body: bytes, *, grammar: RepositoryGrammar = RepositoryGrammar.SEED
) -> AnyRequest:
    """The request a call makes; else UnknownOperation, Serialization or InvalidParameter."""
    return _decode(target, body, grammar)[1]


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
    registry: Registry, target: str, body: bytes, *, request_id: str = DEFAULT_REQUEST_ID
) -> tuple[int, dict[str, str], bytes]:
    """Answers one call (``X-Amz-Target`` value and raw body) from ``registry``.

    Only the package's typed errors are turned into answers: anything else is a bug.
    """
    try:
        operation, request = _decode(target, body, registry.grammar)
        response = ANSWERS[operation.name](registry, request)
    except EcrError as error:
        return encode_error(error, request_id=request_id)
    return encode_response(response, request_id=request_id)
