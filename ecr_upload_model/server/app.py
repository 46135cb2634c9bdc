"""ECR's JSON API as a standard WSGI application: mount it in any WSGI server.

Every call is ``POST /`` with ``X-Amz-Target``; what the HTTP request gets wrong is
answered with a typed error in the JSON API's form, in this order (the first that
applies answers), and the body is read only once every check that needs no body passed:

======================================  ======  =============================================
a path other than ``/``                 404     UnknownOperationException
a method other than POST                405     UnknownOperationException (``Allow: POST``)
credentials configured, and the         400     MissingAuthenticationToken, IncompleteSignature,
signature's headers wrong                       UnrecognizedClient, InvalidSignature (sigv4)
an ``X-Amz-Target`` of no operation     400     UnknownOperationException
no ``Content-Length`` (or chunked)      411     SerializationException
a ``Content-Length`` that is no count   400     SerializationException
a body over the operation's limit       413     SerializationException, connection closed
a body that ends or stops short         400     SerializationException, connection closed
the signature over the body             400     InvalidSignatureException
======================================  ======  =============================================

(``serve`` puts :func:`ecr_upload_model.oci.wsgi_app` in front of it: ``/v2/`` goes to
the OCI front end over the same registry, every other path here.)

Then :func:`ecr_upload_model.wire.handle` answers (its status, headers and body as they
are). Every answer carries ``x-amzn-RequestId``, a new uuid4 for each call.

>>> from ecr_upload_model import Registry
>>> app = make_app(Registry("123456789012"))
"""

from __future__ import annotations

import http
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pybase64

from ..errors import EcrError, SerializationException, UnknownOperationException, UsageError
from ..limits import MAX_BODY_BYTES
from ..oci import _fill
from ..operations import OPERATIONS, TARGET_PREFIX
from ..registry import Registry
from ..wire import encode_error, handle
from . import sigv4

__all__ = [
    "EcrApplication",
    "make_app",
]

StartResponse = Callable[..., Any]
Answer = tuple[int, dict[str, str], bytes]


def decode_base64(text: memoryview) -> bytes:
    """A part's strict base64, decoded by pybase64's SIMD code: about 40 times the
    standard library's speed on a 10 MiB part, where decoding was half of the server's
    time (docs/results.md). ``validate=True`` refuses what the standard library's strict
    mode refuses (tests/test_base64_decoders_agree.py)."""
    return pybase64.b64decode(text, validate=True)


def _error(error: EcrError, status: int | None = None, **headers: str) -> Answer:
    """``encode_error`` of ``error``, answered with ``status`` instead of its own."""
    if status is not None:
        error.http_status = status
    code, answer_headers, body = encode_error(error, request_id=str(uuid.uuid4()))
    return code, {**answer_headers, **headers}, body


class _Refused(Exception):
    """An answer given before ``wire.handle`` is reached."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer[0])
        self.answer = answer


def _refuse(error: EcrError, status: int | None = None, **headers: str) -> _Refused:
    return _Refused(_error(error, status, **headers))


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name, as WSGI hands them in."""
    headers = {
        key[5:].lower().replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            headers[name] = environ[key]
    return headers


class EcrApplication:
    """The WSGI callable of :func:`make_app`."""

    def __init__(
        self,
        registry: Registry,
        credentials: Mapping[str, str] | None,
        clock: Callable[[], float],
    ) -> None:
        self.registry = registry
        self.credentials = None if credentials is None else dict(credentials)
        self.clock = clock

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, headers, body = self.answer(environ)
        except _Refused as refused:
            status, headers, body = refused.answer
        start_response(f"{status} {http.HTTPStatus(status).phrase}", list(headers.items()))
        return [body]

    def answer(self, environ: Mapping[str, Any]) -> Answer:
        """The answer to one HTTP request; raises _Refused for one refused before
        ``wire.handle``."""
        if environ.get("PATH_INFO", "") not in ("", "/"):
            raise _refuse(
                UnknownOperationException(
                    f"No operation at {environ.get('PATH_INFO')!r}: ECR's API is POST / "
                    "with X-Amz-Target"
                ),
                404,
            )
        method = environ.get("REQUEST_METHOD", "")
        if method != "POST":
            raise _refuse(
                UnknownOperationException(f"ECR's API answers POST, not {method}"),
                405,
                Allow="POST",
            )
        headers = _headers(environ)
        signed = None
        if self.credentials is not None:
            try:
                signed = sigv4.check_headers(headers, self.credentials, self.clock())
            except EcrError as error:
                raise _refuse(error) from None
        target = headers.get("x-amz-target", "")
        prefix, _, name = target.partition(".")
        if prefix != TARGET_PREFIX or name not in OPERATIONS:
            return handle(self.registry, target, b"", request_id=str(uuid.uuid4()))
        body = self._body(environ, headers, MAX_BODY_BYTES[name])
        if signed is not None:
            try:
                sigv4.check_signature(
                    signed,
                    method=method,
                    path=environ.get("PATH_INFO", "") or "/",
                    query=environ.get("QUERY_STRING", ""),
                    headers=headers,
                    body=body,
                )
            except EcrError as error:
                raise _refuse(error) from None
        return handle(
            self.registry,
            target,
            body,
            request_id=str(uuid.uuid4()),
            base64_decoder=decode_base64,
        )

    def _body(
        self, environ: Mapping[str, Any], headers: Mapping[str, str], limit: int
    ) -> bytearray:
        """The body, read whole; refused before any byte is read when it is too long."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _refuse(
                SerializationException("A request body needs a Content-Length, not chunks"),
                411,
                Connection="close",
            )
        text = headers.get("content-length")
        if text is None:
            raise _refuse(
                SerializationException("A request body needs a Content-Length"),
                411,
                Connection="close",
            )
        if not (text.isascii() and text.isdigit()):
            raise _refuse(
                SerializationException(f"Content-Length {text!r} is not a number of bytes"),
                Connection="close",
            )
        length = int(text)
        if length > limit:
            raise _refuse(
                SerializationException(
                    f"The request body is {length} bytes, more than the {limit} of any "
                    f"{headers.get('x-amz-target', '').partition('.')[2]} request"
                ),
                413,
                Connection="close",
            )
        body = bytearray(length)
        try:
            # Into one buffer, by readinto where the server's stream has it: the body is
            # in memory once, however it arrived.
            count = _fill(environ["wsgi.input"], memoryview(body))
        except TimeoutError:
            raise _refuse(
                SerializationException(
                    f"The request body stopped before its {length} bytes: no byte came "
                    "within the server's timeout"
                ),
                Connection="close",
            ) from None
        except OSError as error:
            raise _refuse(
                SerializationException(
                    f"The request body ended before its {length} bytes ({error})"
                ),
                Connection="close",
            ) from None
        if count < length:
            raise _refuse(
                SerializationException(
                    f"The request body ended after {count} of its {length} bytes"
                ),
                Connection="close",
            )
        return body


def make_app(
    registry: Registry,
    *,
    credentials: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> EcrApplication:
    """The WSGI application answering ECR's JSON API from ``registry``.

    ``credentials`` (access key id to secret access key) makes it check the AWS
    Signature Version 4 of every call, against ``clock`` (seconds since the epoch) for
    the 15-minute window; without credentials any signature, or none, is accepted.
    """
    if credentials is not None and not (
        credentials
        and all(type(k) is str and k and type(v) is str and v for k, v in credentials.items())
    ):
        raise UsageError("credentials must map access key ids to secrets (non-empty texts)")
    return EcrApplication(registry, credentials, clock)
