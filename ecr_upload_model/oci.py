"""OCI distribution ``/v2/`` as ECR's proxy answers it: a front end without sockets.

``OciFrontEnd(registry).handle(method, path, query=..., headers=..., body=...)`` answers
one HTTP request of the OCI distribution API (the pushes and pulls of docker, podman,
skopeo, crane, oras, buildkit) with ``(status, headers, body)``. It runs the same
:class:`~ecr_upload_model.registry.Registry` as the JSON API (``wire.handle``): a POST
is an InitiateLayerUpload, each PATCH one or more UploadLayerParts, the final PUT a
CompleteLayerUpload, so an upload started here has the same upload id (in its
``Location``) as there, and a layer pushed by either is found by both. :func:`wsgi_app`
makes it a WSGI application.

A body is bytes, or a binary stream (a WSGI ``wsgi.input``) of ``Content-Length``
bytes (read to its end when the header is absent). The front end reads a stream one
part at a time and hands each part to the registry before reading the next, so a chunk
or a whole blob of gigabytes never sits in memory: no part is larger than
``limits.max_part_bytes``, and a chunk larger than that is cut into near-equal parts
(:func:`part_sizes`), each then at least half the maximum, so that no part but the
upload's last falls under ``limits.min_part_bytes`` when the client's chunks do not.
Reading the stream it is given is the front end's only I/O.

>>> from ecr_upload_model.registry import sequential_upload_ids
>>> registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
>>> _ = registry.create_repository("team/app")
>>> front_end = OciFrontEnd(registry)
>>> status, headers, body = front_end.handle("POST", "/v2/team/app/blobs/uploads/")
>>> status, headers["Location"]
(202, '/v2/team/app/blobs/uploads/00000000-0000-0000-0000-000000000000')
>>> status, headers, body = front_end.handle(
...     "PUT", headers["Location"], query=f"digest={sha256_digest(b'hello')}", body=b"hello"
... )
>>> status, headers["Docker-Content-Digest"] == str(sha256_digest(b"hello"))
(201, True)
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import enum
import hashlib
import json
import re
import urllib.parse
import wsgiref.util
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, BinaryIO, Final, NamedTuple, Protocol

import attrs

from .errors import (
    EcrError,
    EmptyUploadException,
    ImageDigestDoesNotMatchException,
    ImageNotFoundException,
    InvalidLayerException,
    InvalidLayerPartException,
    InvalidParameterException,
    LayerAlreadyExistsException,
    LayerPartTooSmallException,
    LayersNotFoundException,
    LimitExceededException,
    ReferencedImagesNotFoundException,
    RepositoryNotFoundException,
    UploadNotFoundException,
    UsageError,
)
from .identifiers import LayerDigest, RepositoryName, UploadId
from .limits import MAX_MANIFEST_BYTES, Limits
from .manifests import reference
from .operations import (
    BatchCheckLayerAvailabilityRequest,
    CompleteLayerUploadRequest,
    InitiateLayerUploadRequest,
    UploadLayerPartRequest,
)
from .registry import Registry

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "Body",
    "Dialect",
    "DialectRules",
    "OciError",
    "OciFrontEnd",
    "OciResponse",
    "Readable",
    "part_sizes",
    "sha256_digest",
    "wsgi_app",
]


class Readable(Protocol):
    """A binary stream the front end reads a body from (``readinto`` is used if it has one)."""

    def read(self, size: int, /) -> bytes: ...


#: A request body: all of it, or a stream to read it from.
Body = bytes | Readable


class OciResponse(NamedTuple):
    """An answer: the status, the headers (``Content-Length`` always among them) and the
    body, bytes or a binary stream of a layer's bytes (the caller closes it)."""

    status: int
    headers: dict[str, str]
    body: bytes | BinaryIO


@attrs.frozen
class DialectRules:
    """Where ECR's proxy and the OCI distribution spec answer differently."""

    #: The status of an accepted PATCH.
    patch_status: int
    #: Whether a 0-byte blob is stored (else it is refused as CompleteLayerUpload refuses
    #: an upload without parts, EmptyUpload).
    stores_empty_blob: bool
    #: Whether a blob is mounted from another repository only when a manifest of that
    #: repository names it (else whenever that repository holds it).
    mounts_only_referenced_blobs: bool


class Dialect(enum.Enum):
    """Whose answers the front end gives where ECR's proxy and the spec differ."""

    #: ECR's proxy, the default: the package models ECR, so that a client tested
    #: against it meets ECR's answers. PATCH answers 201 (the ECR team, debugging with
    #: the AWS .NET SDK team: changing it would break clients); a 0-byte blob is
    #: refused with EmptyUpload, also when pushed as a POST then a PUT (CloudTrail logs
    #: and oras-go users' reports); a blob is mounted only once a manifest of its
    #: repository names it (an AWS engineer, in ECR's public roadmap).
    ECR = DialectRules(patch_status=201, stores_empty_blob=False, mounts_only_referenced_blobs=True)
    #: The OCI distribution spec (and distribution, the CNCF registry).
    OCI = DialectRules(patch_status=202, stores_empty_blob=True, mounts_only_referenced_blobs=False)


class OciError(Exception):
    """A ``/v2/`` refusal: the HTTP status, the spec's error code, a message, a detail
    (any JSON value) and headers of its own (``Range``, ``WWW-Authenticate``...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        detail: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = dict(headers or {})


#: ECR's errors as ``/v2/`` answers: (HTTP status, the spec's code). LimitExceeded (the
#: parts-per-layer and layer-size quotas) is SIZE_INVALID, not TOOMANYREQUESTS: the blob
#: is too large, and a client told to retry later would fail the same way forever.
#: LayerAlreadyExists at the PUT is no error: the blob is there, 201.
ERROR_ANSWERS: Final[Mapping[type[EcrError], tuple[int, str]]] = {
    RepositoryNotFoundException: (404, "NAME_UNKNOWN"),
    UploadNotFoundException: (404, "BLOB_UPLOAD_UNKNOWN"),
    InvalidLayerPartException: (416, "BLOB_UPLOAD_INVALID"),
    InvalidLayerException: (400, "DIGEST_INVALID"),
    LayerPartTooSmallException: (400, "BLOB_UPLOAD_INVALID"),
    EmptyUploadException: (400, "BLOB_UPLOAD_INVALID"),
    LimitExceededException: (400, "SIZE_INVALID"),
    LayersNotFoundException: (400, "MANIFEST_BLOB_UNKNOWN"),
    ReferencedImagesNotFoundException: (400, "MANIFEST_BLOB_UNKNOWN"),
    ImageNotFoundException: (404, "MANIFEST_UNKNOWN"),
    ImageDigestDoesNotMatchException: (400, "DIGEST_INVALID"),
}
#: InvalidParameter by the member a ``/v2/`` request fills from its path or query.
PARAMETER_ANSWERS: Final[Mapping[str, tuple[int, str]]] = {
    "repositoryName": (400, "NAME_INVALID"),
    "uploadId": (404, "BLOB_UPLOAD_UNKNOWN"),
    "layerDigest": (400, "DIGEST_INVALID"),
    "layerDigests": (400, "DIGEST_INVALID"),
    "imageDigest": (400, "DIGEST_INVALID"),
    "imageTag": (400, "MANIFEST_INVALID"),
    "imageManifest": (400, "MANIFEST_INVALID"),
}

#: What ECR's proxy answers on ``/v2/`` without a password (only the realm is its own).
AUTH_SERVICE: Final = "ecr.amazonaws.com"
#: The spec's inclusive chunk range; clients are also seen to send ``bytes=`` and a total.
_CONTENT_RANGE: Final = re.compile(r"(?:bytes[ =])?([0-9]{1,19})-([0-9]{1,19})(?:/(?:[0-9]+|\*))?")
_LENGTH: Final = re.compile(r"[0-9]{1,19}")
#: A Host header safe to quote in a realm.
_HOST: Final = re.compile(
    r"[A-Za-z0-9.\-]{1,253}(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](?::[0-9]{1,5})?"
)
#: More query parameters than any endpoint takes: the rest is not parsed.
_MAX_QUERY_FIELDS: Final = 16
#: Blocks of a layer handed to the WSGI server.
_WSGI_BLOCK: Final = 1024 * 1024


def sha256_digest(data: bytes) -> LayerDigest:
    """The sha256 digest of ``data``, as ``/v2/`` names a blob."""
    return LayerDigest.sha256(hashlib.sha256(data).hexdigest())


def part_sizes(length: int, max_part_bytes: int) -> list[int]:
    """How a chunk of ``length`` bytes is cut into parts: the fewest parts of at most
    ``max_part_bytes``, of near-equal sizes (larger ones first, by one byte at most).

    Cut so, every part of a chunk longer than the maximum holds more than half of it:
    with ECR's limits (parts of 5 MiB to 20 MiB, or to 10 MiB), none is ever under the
    minimum, where cutting parts of the maximum would leave a small remainder.

    >>> part_sizes(25, 10)
    [9, 8, 8]
    >>> part_sizes(10, 10), part_sizes(0, 10)
    ([10], [])
    """
    if length <= 0:
        return []
    count = -(-length // max_part_bytes)
    size, larger = divmod(length, count)
    return [size + 1] * larger + [size] * (count - larger)


def _fill(stream: Readable, view: memoryview) -> int:
    """Reads into ``view`` until it is full or the stream ends; the bytes read."""
    readinto: Callable[[memoryview], int | None] | None = getattr(stream, "readinto", None)
    filled = 0
    while filled < len(view):
        if readinto is not None:
            count = readinto(view[filled:]) or 0
        else:
            chunk = stream.read(len(view) - filled)
            count = len(chunk)
            view[filled : filled + count] = chunk
        if not count:
            break
        filled += count
    return filled


class _Truncated(Exception):
    """The body ended before its length, or could not be read."""


def _parts(body: Body, length: int | None, limits: Limits) -> Iterator[memoryview]:
    """The body cut into parts (see :func:`part_sizes`), one at a time.

    A stream is read into one buffer, reused for each part: a part must be done with
    before the next is asked for. Without a length, the stream is read to its end,
    ``max_part_bytes + min_part_bytes`` ahead: parts of the maximum while more than
    that remains, then the rest cut as a chunk of known length, so that the last
    parts are no smaller than with a length.
    """
    if isinstance(body, bytes):
        view, offset = memoryview(body), 0
        for size in part_sizes(len(body), limits.max_part_bytes):
            yield view[offset : offset + size]
            offset += size
        return
    try:
        if length is not None:
            sizes = part_sizes(length, limits.max_part_bytes)
            buffer = memoryview(bytearray(max(sizes, default=0)))
            done = 0
            for size in sizes:
                got = _fill(body, buffer[:size])
                if got < size:
                    raise _Truncated(f"The body ended after {done + got} of its {length} bytes")
                yield buffer[:size]
                done += size
            return
        window = memoryview(bytearray(limits.max_part_bytes + limits.min_part_bytes))
        held = 0
        while True:
            held += _fill(body, window[held:])
            if held < len(window):  # the end: what is left is a chunk of known length
                offset = 0
                for size in part_sizes(held, limits.max_part_bytes):
                    yield window[offset : offset + size]
                    offset += size
                return
            yield window[: limits.max_part_bytes]
            rest = held - limits.max_part_bytes
            window[:rest] = window[limits.max_part_bytes : held]
            held = rest
    except OSError as error:  # the stream failed (a client gone): as if it had ended
        raise _Truncated(f"The body could not be read: {error}") from error


# ---------------------------------------------------------------------------------------
# The front end


class _Route(enum.Enum):
    BASE = "/v2/"
    BLOB = "/v2/<name>/blobs/<digest>"
    UPLOADS = "/v2/<name>/blobs/uploads/"
    UPLOAD = "/v2/<name>/blobs/uploads/<id>"
    MANIFEST = "/v2/<name>/manifests/<reference>"
    TAGS = "/v2/<name>/tags/list"


#: How a path names its endpoint: the separator after the repository name, tried in
#: this order, and what follows it (one segment, or nothing).
_PATH_SEPARATORS: Final = (
    ("/blobs/uploads/", _Route.UPLOAD),
    ("/blobs/", _Route.BLOB),
    ("/manifests/", _Route.MANIFEST),
)


def _route(path: str) -> tuple[_Route, str, str]:
    """(the endpoint, the repository name's text, the segment after it)."""
    if path in ("/v2", "/v2/"):
        return _Route.BASE, "", ""
    if path.startswith("/v2/"):
        rest = path[len("/v2/") :]
        for ending, route in (("/blobs/uploads", _Route.UPLOADS), ("/tags/list", _Route.TAGS)):
            if rest.endswith(ending):
                return route, rest[: -len(ending)], ""
        for separator, route in _PATH_SEPARATORS:
            name, found, segment = rest.rpartition(separator)
            if found and "/" not in segment:
                if route is _Route.UPLOAD and not segment:
                    return _Route.UPLOADS, name, ""
                return route, name, segment
    raise OciError(404, "UNSUPPORTED", f"No /v2/ endpoint has the path {path[:200]!r}")


@attrs.frozen
class _Call:
    """One request, its path read."""

    method: str
    #: None for ``/v2/`` itself.
    name: RepositoryName | None
    segment: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: Body

    @property
    def repository(self) -> RepositoryName:
        if self.name is None:
            raise UsageError("/v2/ names no repository")
        return self.name

    def parameter(self, name: str, code: str) -> str | None:
        values = self.query.get(name)
        if values is None:
            return None
        if len(values) > 1:
            raise OciError(400, code, f"The query gives {name!r} {len(values)} times")
        return values[0]

    def length(self) -> int | None:
        """The body's length: ``Content-Length``, which bytes given must have; None (read
        to the end) for a stream without it."""
        text = self.headers.get("content-length")
        if text is not None and _LENGTH.fullmatch(text) is None:
            raise OciError(400, "SIZE_INVALID", f"Content-Length {text[:40]!r} is not a length")
        if isinstance(self.body, bytes):
            if text is not None and int(text) != len(self.body):
                raise OciError(
                    400, "SIZE_INVALID", f"Content-Length {text} is not the body's {len(self.body)}"
                )
            return len(self.body)
        return None if text is None else int(text)


def _instance_of(*kinds: type | object) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kinds):  # type: ignore[arg-type]
            raise UsageError(
                f"{attribute.name} must be {' or '.join(map(_name, kinds))}, not {value!r}"
            )

    return check


def _name(kind: object) -> str:
    return getattr(kind, "__name__", str(kind))


@attrs.frozen
class OciFrontEnd:
    """The ``/v2/`` API over a registry, as ECR's proxy answers it.

    - ``dialect``: :attr:`Dialect.ECR` (the default) or :attr:`Dialect.OCI`, where the
      two differ (:class:`DialectRules`).
    - ``blob_mounting``: ECR's registry setting ``BLOB_MOUNTING`` (off by default, as
      in ECR): whether ``POST ...?mount=<digest>&from=<repository>`` mounts.
    - ``verify_password``: when given, every request needs HTTP Basic authentication
      with the user ``AWS`` and a password it accepts (the password of ECR's
      GetAuthorizationToken); else 401 and ``WWW-Authenticate``. ``realm`` is the
      realm it names (default: ``https://`` and the request's ``Host``, as ECR's is its
      own endpoint).
    """

    registry: Registry = attrs.field(validator=_instance_of(Registry))
    dialect: Dialect = attrs.field(default=Dialect.ECR, validator=_instance_of(Dialect))
    blob_mounting: bool = attrs.field(default=False, validator=_instance_of(bool))
    verify_password: Callable[[str], bool] | None = attrs.field(
        default=None, validator=_instance_of(Callable, type(None))
    )
    realm: str | None = attrs.field(default=None, validator=_instance_of(str, type(None)))

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: Body = b"",
    ) -> OciResponse:
        """Answers one request: its method, its path (percent-decoded, as a WSGI
        ``PATH_INFO``), its query string (still encoded), its headers (any case) and
        its body (bytes, or a stream of ``Content-Length`` bytes)."""
        if not all(isinstance(text, str) for text in (method, path, query)):
            raise UsageError("method, path and query must be str")
        if not (isinstance(body, bytes) or callable(getattr(body, "read", None))):
            raise UsageError(f"body must be bytes or a binary stream, not {type(body).__name__}")
        lowered = {name.lower(): value for name, value in (headers or {}).items()}
        if not all(isinstance(text, str) for item in lowered.items() for text in item):
            raise UsageError("headers must map str to str")
        try:
            self._authenticate(lowered)
            route, name, segment = _route(path)
            handler = _HANDLERS.get((route, method))
            if handler is None:
                allowed = ", ".join(sorted(m for r, m in _HANDLERS if r is route))
                raise OciError(
                    405,
                    "UNSUPPORTED",
                    f"{route.value} does not take {method[:20]!r}",
                    headers={"Allow": allowed},
                )
            call = _Call(
                method=method,
                # The name answers first (NAME_INVALID), as the repository does in ECR.
                name=None
                if route is _Route.BASE
                else RepositoryName(name, grammar=self.registry.grammar),
                segment=segment,
                query=_parse_query(query),
                headers=lowered,
                body=body,
            )
            return handler(self, call)
        except OciError as error:
            return _error_answer(error)
        except EcrError as error:
            return _error_answer(self._oci_error(error))

    # -----------------------------------------------------------------------------------
    # Authentication and errors

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        if self.verify_password is None:
            return
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, colon, password = decoded.partition(":")
            if colon and user == "AWS" and self.verify_password(password):
                return
        host = headers.get("host", "")
        realm = self.realm or (f"https://{host}" if _HOST.fullmatch(host) else "ecr_upload_model")
        raise OciError(
            401,
            "UNAUTHORIZED",
            "Authentication is required: HTTP Basic, user AWS, an ECR authorization password",
            headers={"WWW-Authenticate": f'Basic realm="{realm}",service="{AUTH_SERVICE}"'},
        )

    def _oci_error(self, error: EcrError) -> OciError:
        if isinstance(error, InvalidParameterException):
            answer = PARAMETER_ANSWERS.get(error.member or "")
        else:
            answer = next(
                (ERROR_ANSWERS[kind] for kind in type(error).__mro__ if kind in ERROR_ANSWERS), None
            )
        if answer is None:  # a row missing from the tables: a bug, not an answer
            raise error
        headers: dict[str, str] = {}
        if isinstance(error, InvalidLayerPartException) and error.upload_id is not None:
            last = error.last_valid_byte_received
            assert error.repository_name is not None
            headers = _upload_headers(error.repository_name, error.upload_id, last)
        return OciError(*answer, error.message, detail=error.to_wire(), headers=headers)

    # -----------------------------------------------------------------------------------
    # Endpoints

    def _base(self, call: _Call) -> OciResponse:
        return _answer(200, b"{}", {"Content-Type": "application/json"})

    def _blob(self, call: _Call) -> OciResponse:
        digest = LayerDigest(call.segment)
        check = self.registry.batch_check_layer_availability(
            BatchCheckLayerAvailabilityRequest(
                repository_name=call.repository, layer_digests=(call.segment,)
            )
        )
        if not check.layers:
            raise OciError(404, "BLOB_UNKNOWN", f"The repository holds no blob {digest}")
        headers = {
            "Content-Type": "application/octet-stream",
            "Docker-Content-Digest": str(digest),
            "Content-Length": str(check.layers[0].layer_size),
        }
        if call.method == "HEAD":
            return OciResponse(200, _common(headers), b"")
        stream = self.registry.open_layer(call.repository, digest)
        if stream is None:
            raise OciError(
                501,
                "UNSUPPORTED",
                "The registry's store keeps no layer bytes, so blobs cannot be pulled "
                "(MemoryStore(keep_layers=True) keeps them)",
            )
        return OciResponse(200, _common(headers), stream)

    def _start_upload(self, call: _Call) -> OciResponse:
        mount = call.parameter("mount", "DIGEST_INVALID")
        if mount is not None and self.blob_mounting:
            mounted = self._mount(call, mount, call.parameter("from", "NAME_INVALID"))
            if mounted is not None:
                return mounted
        digest_text = call.parameter("digest", "DIGEST_INVALID")
        digest = None if digest_text is None else LayerDigest(digest_text)
        started = self.registry.initiate_layer_upload(
            InitiateLayerUploadRequest(repository_name=call.repository)
        )
        if digest is None:
            headers = _upload_headers(call.repository, started.upload_id, None)
            headers["OCI-Chunk-Min-Length"] = str(self.registry.limits.min_part_bytes)
            return _answer(202, b"", headers)
        # The whole blob in one request: an upload of one request, cancelled if refused.
        try:
            return self._finish(call, started.upload_id, digest)
        except (EcrError, OciError):
            self._cancel_quietly(call.repository, started.upload_id)
            raise

    def _mount(self, call: _Call, mount: str, source: str | None) -> OciResponse | None:
        """The mount's answer, or None to open an upload instead (the spec's way when a
        registry cannot mount: a wrong digest or source name is such a case)."""
        try:
            digest = LayerDigest(mount)
            from_repository = RepositoryName(source or "", grammar=self.registry.grammar)
        except InvalidParameterException:
            return None
        layer = self.registry.mount_layer(
            call.repository,
            digest,
            from_repository,
            only_referenced=self.dialect.value.mounts_only_referenced_blobs,
        )
        if layer is None:
            return None
        return _answer(201, b"", _blob_headers(call.repository, digest))

    def _patch(self, call: _Call) -> OciResponse:
        upload_id = UploadId(call.segment)
        last = self._append(call, upload_id)
        headers = _upload_headers(call.repository, upload_id, last)
        return _answer(self.dialect.value.patch_status, b"", headers)

    def _put(self, call: _Call) -> OciResponse:
        digest = call.parameter("digest", "DIGEST_INVALID")
        if digest is None:
            raise OciError(400, "DIGEST_INVALID", "The PUT that ends an upload needs ?digest=")
        return self._finish(call, UploadId(call.segment), LayerDigest(digest))

    def _status(self, call: _Call) -> OciResponse:
        upload_id = UploadId(call.segment)
        session = self.registry.upload_in_progress(call.repository, upload_id)
        headers = _upload_headers(call.repository, upload_id, session.last_byte_received)
        return _answer(204, b"", headers)

    def _cancel(self, call: _Call) -> OciResponse:
        self.registry.cancel_layer_upload(call.repository, UploadId(call.segment))
        return _answer(204, b"", {})

    def _get_manifest(self, call: _Call) -> OciResponse:
        manifest = self.registry.manifest(call.repository, reference(call.segment))
        headers = {
            "Content-Type": manifest.media_type,
            "Docker-Content-Digest": str(manifest.digest),
            "Content-Length": str(len(manifest.content)),
        }
        body = b"" if call.method == "HEAD" else manifest.content
        return OciResponse(200, _common(headers), body)

    def _put_manifest(self, call: _Call) -> OciResponse:
        target = reference(call.segment)
        length = call.length()
        if length is not None and length > MAX_MANIFEST_BYTES:
            raise OciError(
                413, "SIZE_INVALID", f"A manifest holds at most {MAX_MANIFEST_BYTES} bytes"
            )
        content = _read_manifest(call.body, length)
        manifest = self.registry.put_manifest(
            call.repository,
            content,
            content_type=call.headers.get("content-type"),
            reference=target,
        )
        location = f"/v2/{call.repository}/manifests/{manifest.digest}"
        headers = {"Location": location, "Docker-Content-Digest": str(manifest.digest)}
        return _answer(201, b"", headers)

    def _tags(self, call: _Call) -> OciResponse:
        count_text = call.parameter("n", "UNSUPPORTED")
        last = call.parameter("last", "UNSUPPORTED")
        if count_text is not None and _LENGTH.fullmatch(count_text) is None:
            raise OciError(400, "UNSUPPORTED", "n must be a number of tags")
        tags = [str(tag) for tag in self.registry.image_tags(call.repository)]
        if last is not None:
            tags = tags[bisect.bisect_right(tags, last) :]
        headers = {"Content-Type": "application/json"}
        if count_text is not None:
            count = int(count_text)
            if 0 < count < len(tags):
                query = urllib.parse.urlencode({"n": count, "last": tags[count - 1]})
                headers["Link"] = f'</v2/{call.repository}/tags/list?{query}>; rel="next"'
            tags = tags[:count]
        body = json.dumps({"name": str(call.repository), "tags": tags}).encode()
        return _answer(200, body, headers)

    # -----------------------------------------------------------------------------------
    # Chunks and completions

    def _append(self, call: _Call, upload_id: UploadId) -> int | None:
        """Sends the body as parts at its ``Content-Range`` (else at the next byte, as
        docker streams a PATCH); the last byte the upload holds after."""
        length = call.length()
        content_range = call.headers.get("content-range")
        session = self.registry.upload_in_progress(call.repository, upload_id)
        next_byte = session.bytes_received
        if content_range is not None:
            matched = _CONTENT_RANGE.fullmatch(content_range.strip())
            if matched is None:
                raise OciError(
                    400,
                    "BLOB_UPLOAD_INVALID",
                    f"Content-Range {content_range[:60]!r} is not first-last",
                )
            next_byte, last = int(matched[1]), int(matched[2])
            if length is None:
                length = last - next_byte + 1
            if last - next_byte + 1 != length:
                raise OciError(
                    400,
                    "SIZE_INVALID",
                    f"Content-Range {next_byte}-{last} does not hold the {length} bytes sent",
                )
        if length == 0:
            return session.last_byte_received
        try:
            for part in _parts(call.body, length, self.registry.limits):
                self.registry.upload_layer_part(
                    UploadLayerPartRequest(
                        repository_name=call.repository,
                        upload_id=upload_id,
                        part_first_byte=next_byte,
                        part_last_byte=next_byte + len(part) - 1,
                        layer_part_blob=part,
                    )
                )
                next_byte += len(part)
        except _Truncated as truncated:
            # The parts sent before stay: the upload's status tells the client where
            # to go on from.
            raise OciError(400, "SIZE_INVALID", str(truncated)) from None
        return next_byte - 1

    def _finish(self, call: _Call, upload_id: UploadId, digest: LayerDigest) -> OciResponse:
        """Sends the body as the last chunk, then completes the upload as the digest."""
        self._append(call, upload_id)
        request = CompleteLayerUploadRequest(
            repository_name=call.repository, upload_id=upload_id, layer_digests=(digest,)
        )
        try:
            if self.dialect.value.stores_empty_blob:
                self.registry.complete_empty_layer_upload(request)
            else:
                self.registry.complete_layer_upload(request)
        except LayerAlreadyExistsException:
            # The blob is there: the push succeeded, and its upload is of no more use.
            self._cancel_quietly(call.repository, upload_id)
        return _answer(201, b"", _blob_headers(call.repository, digest))

    def _cancel_quietly(self, repository: RepositoryName, upload_id: UploadId) -> None:
        with contextlib.suppress(EcrError):  # gone already: nothing to cancel
            self.registry.cancel_layer_upload(repository, upload_id)


#: Each endpoint's handler by method (HEAD is GET without a body).
_HANDLERS: Final[Mapping[tuple[_Route, str], Callable[[OciFrontEnd, _Call], OciResponse]]] = {
    (_Route.BASE, "GET"): OciFrontEnd._base,
    (_Route.BLOB, "GET"): OciFrontEnd._blob,
    (_Route.BLOB, "HEAD"): OciFrontEnd._blob,
    (_Route.UPLOADS, "POST"): OciFrontEnd._start_upload,
    (_Route.UPLOAD, "PATCH"): OciFrontEnd._patch,
    (_Route.UPLOAD, "PUT"): OciFrontEnd._put,
    (_Route.UPLOAD, "GET"): OciFrontEnd._status,
    (_Route.UPLOAD, "DELETE"): OciFrontEnd._cancel,
    (_Route.MANIFEST, "GET"): OciFrontEnd._get_manifest,
    (_Route.MANIFEST, "HEAD"): OciFrontEnd._get_manifest,
    (_Route.MANIFEST, "PUT"): OciFrontEnd._put_manifest,
    (_Route.TAGS, "GET"): OciFrontEnd._tags,
}


# ---------------------------------------------------------------------------------------
# Answers


def _parse_query(query: str) -> dict[str, list[str]]:
    try:
        return urllib.parse.parse_qs(
            query, keep_blank_values=True, max_num_fields=_MAX_QUERY_FIELDS
        )
    except ValueError:
        raise OciError(400, "UNSUPPORTED", "The query has too many parameters") from None


def _read_manifest(body: Body, length: int | None) -> bytes:
    if isinstance(body, bytes):
        return body
    # At most one byte more than a manifest may hold: enough to refuse a longer one.
    size = MAX_MANIFEST_BYTES + 1 if length is None else length
    buffer = bytearray(size)
    try:
        read = _fill(body, memoryview(buffer))
    except OSError:
        read = -1
    if length is not None and read != length:
        raise OciError(400, "SIZE_INVALID", f"The body ended before its {length} bytes")
    if read > MAX_MANIFEST_BYTES:
        raise OciError(413, "SIZE_INVALID", f"A manifest holds at most {MAX_MANIFEST_BYTES} bytes")
    return bytes(buffer[:read])


def _common(headers: dict[str, str]) -> dict[str, str]:
    """Every answer says which API it speaks (docker checks)."""
    headers["Docker-Distribution-API-Version"] = "registry/2.0"
    return headers


def _answer(status: int, body: bytes, headers: dict[str, str]) -> OciResponse:
    headers["Content-Length"] = str(len(body))
    return OciResponse(status, _common(headers), body)


def _upload_headers(
    repository: RepositoryName, upload_id: UploadId, last_byte: int | None
) -> dict[str, str]:
    """Where an upload is and what it holds. With nothing held, ``Range`` is ``0-0``, as
    distribution answers (the spec gives no form for an empty range)."""
    return {
        "Location": f"/v2/{repository}/blobs/uploads/{upload_id}",
        "Range": f"0-{last_byte or 0}",
        "Docker-Upload-UUID": str(upload_id),
    }


def _blob_headers(repository: RepositoryName, digest: LayerDigest) -> dict[str, str]:
    return {"Location": f"/v2/{repository}/blobs/{digest}", "Docker-Content-Digest": str(digest)}


def _error_answer(error: OciError) -> OciResponse:
    entry: dict[str, object] = {"code": error.code, "message": error.message}
    if error.detail is not None:
        entry["detail"] = error.detail
    body = json.dumps({"errors": [entry]}).encode()
    return _answer(error.status, body, {"Content-Type": "application/json", **error.headers})


# ---------------------------------------------------------------------------------------
# WSGI


def wsgi_app(front_end: OciFrontEnd, *, fallback: WSGIApplication | None = None) -> WSGIApplication:
    """A WSGI application answering ``/v2/`` with ``front_end``; every other path goes
    to ``fallback`` (a server's JSON API, ``POST /``), or is answered 404 without one.

    The body is ``wsgi.input``, of ``CONTENT_LENGTH`` bytes; without the header, it is
    read to its end only if the server says it ends there (``wsgi.input_terminated``,
    as servers that decode a chunked body do), else it is empty (the WSGI rule).
    """

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if fallback is not None and path != "/v2" and not path.startswith("/v2/"):
            return fallback(environ, start_response)
        headers = {
            key[len("HTTP_") :].replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-")] = environ[key]
        has_body = "CONTENT-LENGTH" in headers or environ.get("wsgi.input_terminated")
        status, response_headers, body = front_end.handle(
            environ["REQUEST_METHOD"],
            path,
            query=environ.get("QUERY_STRING", ""),
            headers=headers,
            body=environ["wsgi.input"] if has_body else b"",
        )
        start_response(f"{status} {HTTPStatus(status).phrase}", list(response_headers.items()))
        if isinstance(body, bytes):
            return [body]
        wrapper = environ.get("wsgi.file_wrapper", wsgiref.util.FileWrapper)
        return wrapper(body, _WSGI_BLOCK)  # type: ignore[no-any-return]

    return application
