"""The client side of a layer push: plan the parts, build the requests, read the answers.

Everything here is pure: a client brings its own transport. :class:`LayerPush` is one
push as an immutable state machine, in the order real clients follow (reference
sheet, section 6): BatchCheckLayerAvailability first (nothing to send if the registry
holds the layer), InitiateLayerUpload, the parts one at a time with inclusive ranges,
CompleteLayerUpload (``LayerAlreadyExistsException`` counts as success). Ask it for
the next request, send that, and hand it the answer; it returns the next state. An
answer that was lost is survived by sending the same request again: a part that had
landed comes back as ``InvalidLayerPartException``, and the push resumes from its
``lastValidByteReceived + 1`` (section 4). :func:`push_layer` runs a whole push over a
callable transport ``(target, body) -> (status, headers, body)``.

Parts are windows of the caller's buffer (memoryview slices): nothing is copied.

>>> [(part.first, part.last) for part in plan_parts(25, 10)]
[(0, 9), (10, 19), (20, 24)]
>>> push = LayerPush.start(b"abc", repository_name="team/app")
>>> type(push.next_request()).__name__
'BatchCheckLayerAvailabilityRequest'
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Final, TypeAlias

import attrs

from .errors import (
    EcrError,
    InvalidLayerPartException,
    LayerAlreadyExistsException,
    SerializationException,
    ServerException,
    UploadNotFoundException,
    UsageError,
)
from .identifiers import LayerDigest, RegistryId, RepositoryName, UploadId
from .limits import API_MAX_PART_BYTES, DEFAULT_PART_SIZE
from .operations import (
    OPERATION_OF,
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    LayerAvailability,
    Request,
    Response,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
)

#: What a layer may be given as: any contiguous buffer of bytes.
LayerBytes: TypeAlias = bytes | bytearray | memoryview
#: An HTTP exchange: (X-Amz-Target, body) in, (status, headers, body) out.
Transport: TypeAlias = Callable[[str, bytes], tuple[int, Mapping[str, str], bytes]]
#: What :func:`push_layer` shows its observer for each call: the answer, or why none came.
Outcome: TypeAlias = Response | EcrError | OSError

#: Attempts per call when the answer is lost, as in botocore's "standard" retry mode
#: (botocore/data/_retry.json: max_attempts 3).
DEFAULT_MAX_ATTEMPTS: Final = 3


class UnexpectedAnswerError(UsageError):
    """An answer that does not fit the push: another step's, another upload's, or a
    byte position outside the layer (a server that breaks the API, or a misused push)."""


# ---------------------------------------------------------------------------------------
# Planning the parts


@attrs.frozen
class PartRange:
    """Bytes ``first`` to ``last`` of a layer, inclusive (as UploadLayerPart counts)."""

    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


def check_part_size(part_size: object) -> int:
    """``part_size`` if a part may hold that many bytes (1 to the API maximum), else UsageError."""
    if type(part_size) is not int or not 1 <= part_size <= API_MAX_PART_BYTES:
        raise UsageError(
            f"a part size must be a whole number of bytes from 1 to {API_MAX_PART_BYTES} "
            f"(the API's largest part), not {part_size!r}"
        )
    return part_size


def _check_layer_size(layer_size: object) -> int:
    if type(layer_size) is not int or layer_size < 0:
        raise UsageError(f"a layer size must be a whole number of bytes, not {layer_size!r}")
    return layer_size


def part_at(first_byte: int, layer_size: int, part_size: int) -> PartRange:
    """The part that starts at ``first_byte``: ``part_size`` bytes, or the rest of the layer."""
    return PartRange(first_byte, min(first_byte + part_size, layer_size) - 1)


def plan_parts(layer_size: int, part_size: int, *, first_byte: int = 0) -> tuple[PartRange, ...]:
    """The parts of a layer from ``first_byte`` on: all ``part_size`` but the last.

    A 0-byte layer has no part. UsageError for a part size of 0 or above the API's
    maximum part, a negative layer size, or a first byte outside the layer.

    >>> plan_parts(0, 10)
    ()
    >>> plan_parts(25, 10, first_byte=12)
    (PartRange(first=12, last=21), PartRange(first=22, last=24))
    """
    layer_size = _check_layer_size(layer_size)
    part_size = check_part_size(part_size)
    if type(first_byte) is not int or not 0 <= first_byte <= layer_size:
        raise UsageError(f"first_byte must lie from 0 to the layer size, not {first_byte!r}")
    return tuple(
        part_at(first, layer_size, part_size) for first in range(first_byte, layer_size, part_size)
    )


def _byte_view(layer: LayerBytes) -> memoryview:
    """The layer as a flat memoryview of bytes over the caller's buffer (no copy)."""
    try:
        return memoryview(layer).cast("B")
    except TypeError:
        raise UsageError(
            f"a layer must be a contiguous buffer of bytes, not {type(layer).__name__}"
        ) from None


def layer_digest(layer: LayerBytes) -> LayerDigest:
    """The sha256 digest of a layer, hashed window by window over the caller's buffer.

    >>> str(layer_digest(b""))
    'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    view = _byte_view(layer)
    hasher = hashlib.sha256()
    for first in range(0, view.nbytes, DEFAULT_PART_SIZE):
        hasher.update(view[first : first + DEFAULT_PART_SIZE])
    return LayerDigest.sha256(hasher.hexdigest())


# ---------------------------------------------------------------------------------------
# The push as a state machine


class PushPhase(enum.Enum):
    """Where a push stands: which request it sends next."""

    #: BatchCheckLayerAvailability: does the repository hold the layer already?
    CHECK = "check"
    INITIATE = "initiate"
    UPLOAD = "upload"
    COMPLETE = "complete"
    #: The upload vanished at completion (its answer was lost, and the resent
    #: completion found no upload): BatchCheck again to learn whether it completed.
    VERIFY = "verify"
    DONE = "done"


def _view_repr(view: memoryview) -> str:
    return f"<{view.nbytes} bytes>"


@attrs.frozen(kw_only=True)
class LayerPush:
    """One layer push, immutable: ``next_request()``, then ``on_response`` or ``on_error``.

    Build one with :meth:`start`. The layer's bytes stay the caller's: each part
    request holds a memoryview window of them, so the buffer must not change during
    the push. If an answer is lost (a timeout, a dropped connection, a ServerException),
    send ``next_request()`` again: the state did not move.

    >>> push = LayerPush.start(b"", repository_name="team/app")
    >>> push = push.on_response(BatchCheckLayerAvailabilityResponse(layers=(), failures=()))
    >>> push.phase
    <PushPhase.INITIATE: 'initiate'>
    """

    layer: memoryview = attrs.field(eq=False, repr=_view_repr)
    repository_name: RepositoryName
    registry_id: RegistryId | None = None
    layer_digest: LayerDigest
    #: Bytes per part: the caller's choice, or (``None`` until then) the ``partSize``
    #: InitiateLayerUpload answers.
    part_size: int | None = None
    phase: PushPhase = PushPhase.CHECK
    upload_id: UploadId | None = None
    #: The first byte of the next part: where the upload resumes.
    next_byte: int = 0
    #: The repository held the layer before the push sent anything.
    skipped: bool = False

    @classmethod
    def start(
        cls,
        layer: LayerBytes,
        *,
        repository_name: RepositoryName | str,
        registry_id: RegistryId | str | None = None,
        part_size: int | None = None,
    ) -> LayerPush:
        """A push of ``layer`` into a repository; its digest is computed here.

        ``part_size`` overrides the ``partSize`` the registry answers (UsageError if it
        is 0 or above the API's maximum part). Parts under 5 MiB before the last are
        refused at completion (LayerPartTooSmallException), as ECR does.
        """
        view = _byte_view(layer)
        return cls(
            layer=view,
            repository_name=(
                repository_name
                if isinstance(repository_name, RepositoryName)
                else RepositoryName(repository_name)
            ),
            registry_id=(
                registry_id
                if registry_id is None or isinstance(registry_id, RegistryId)
                else RegistryId(registry_id)
            ),
            layer_digest=layer_digest(view),
            part_size=None if part_size is None else check_part_size(part_size),
        )

    @property
    def layer_size(self) -> int:
        return self.layer.nbytes

    @property
    def done(self) -> bool:
        return self.phase is PushPhase.DONE

    @property
    def next_part(self) -> PartRange | None:
        """The range the next UploadLayerPart carries, or None outside the upload phase."""
        if self.phase is not PushPhase.UPLOAD or self.part_size is None:
            return None
        return part_at(self.next_byte, self.layer_size, self.part_size)

    # -----------------------------------------------------------------------------------
    # Requests

    def next_request(self) -> Request | None:
        """The request to send now; the same one again until an answer is handed in.

        None when the push is done.
        """
        match self.phase:
            case PushPhase.CHECK | PushPhase.VERIFY:
                return BatchCheckLayerAvailabilityRequest(
                    registry_id=self.registry_id,
                    repository_name=self.repository_name,
                    layer_digests=(str(self.layer_digest),),
                )
            case PushPhase.INITIATE:
                return InitiateLayerUploadRequest(
                    registry_id=self.registry_id, repository_name=self.repository_name
                )
            case PushPhase.UPLOAD:
                part = self.next_part
                assert part is not None  # UPLOAD is entered with a part size
                return UploadLayerPartRequest(
                    registry_id=self.registry_id,
                    repository_name=self.repository_name,
                    upload_id=self._upload_id(),
                    part_first_byte=part.first,
                    part_last_byte=part.last,
                    layer_part_blob=self.layer[part.first : part.last + 1],
                )
            case PushPhase.COMPLETE:
                return CompleteLayerUploadRequest(
                    registry_id=self.registry_id,
                    repository_name=self.repository_name,
                    upload_id=self._upload_id(),
                    layer_digests=(self.layer_digest,),
                )
            case PushPhase.DONE:
                return None

    def _upload_id(self) -> UploadId:
        assert self.upload_id is not None  # set on leaving INITIATE, never cleared
        return self.upload_id

    # -----------------------------------------------------------------------------------
    # Answers

    def on_response(self, response: Response) -> LayerPush:
        """The state after a successful answer to ``next_request()``.

        UnexpectedAnswerError if it does not answer that request; in VERIFY, the
        UploadNotFoundException that ends the push if the layer is still not held.
        """
        match self.phase, response:
            case (PushPhase.CHECK, BatchCheckLayerAvailabilityResponse()):
                if self._held(response):
                    return attrs.evolve(self, phase=PushPhase.DONE, skipped=True)
                return attrs.evolve(self, phase=PushPhase.INITIATE)
            case (PushPhase.VERIFY, BatchCheckLayerAvailabilityResponse()):
                if self._held(response):
                    return attrs.evolve(self, phase=PushPhase.DONE)
                raise UploadNotFoundException(
                    f"Upload '{self.upload_id}' vanished before it completed, and the "
                    f"repository '{self.repository_name}' does not hold {self.layer_digest}"
                )
            case (PushPhase.INITIATE, InitiateLayerUploadResponse()):
                part_size = self.part_size
                if part_size is None:
                    try:
                        part_size = check_part_size(response.part_size)
                    except UsageError as error:
                        raise UnexpectedAnswerError(f"the registry's partSize: {error}") from None
                started = attrs.evolve(self, upload_id=response.upload_id, part_size=part_size)
                return started._resumed_at(0)
            case (PushPhase.UPLOAD, UploadLayerPartResponse()):
                self._check_same_upload(response.upload_id)
                return self._resumed_at(response.last_byte_received + 1)
            case (PushPhase.COMPLETE, CompleteLayerUploadResponse()):
                self._check_same_upload(response.upload_id)
                if not response.layer_digest.matches(self.layer_digest):
                    raise UnexpectedAnswerError(
                        f"the upload completed as {response.layer_digest}, "
                        f"not as the layer's digest {self.layer_digest}"
                    )
                return attrs.evolve(self, phase=PushPhase.DONE)
        raise UnexpectedAnswerError(
            f"{type(response).__name__} does not answer the {self.phase.value} step of a push"
        )

    def on_error(self, error: EcrError) -> LayerPush:
        """The state after an error answer to ``next_request()``, or ``error`` re-raised
        when it ends the push.

        Survived: InvalidLayerPartException that moves the resume point (a part that
        landed but whose answer was lost; the push resumes from lastValidByteReceived
        + 1); LayerAlreadyExistsException at completion (the layer is there: success);
        UploadNotFoundException at completion (a completion that landed but whose answer
        was lost: the push checks whether the layer is held).
        """
        match self.phase, error:
            case (PushPhase.UPLOAD, InvalidLayerPartException()):
                last_valid = error.last_valid_byte_received
                resume = 0 if last_valid is None else last_valid + 1
                if resume != self.next_byte:
                    return self._resumed_at(resume)
                # The refused part starts where the registry wants the next one: the part
                # itself is wrong (its size, a quota), and sending it again cannot help.
            case (PushPhase.COMPLETE, LayerAlreadyExistsException()):
                return attrs.evolve(self, phase=PushPhase.DONE)
            case (PushPhase.COMPLETE, UploadNotFoundException()):
                return attrs.evolve(self, phase=PushPhase.VERIFY)
        raise error

    def _resumed_at(self, first_byte: int) -> LayerPush:
        """Parts from ``first_byte`` on; the completion once the registry holds every byte."""
        if not 0 <= first_byte <= self.layer_size:
            raise UnexpectedAnswerError(
                f"the registry points at byte {first_byte} of a {self.layer_size}-byte layer"
            )
        phase = PushPhase.COMPLETE if first_byte == self.layer_size else PushPhase.UPLOAD
        return attrs.evolve(self, phase=phase, next_byte=first_byte)

    def _held(self, response: BatchCheckLayerAvailabilityResponse) -> bool:
        return any(
            layer.layer_availability is LayerAvailability.AVAILABLE
            and layer.layer_digest.matches(self.layer_digest)
            for layer in response.layers
        )

    def _check_same_upload(self, upload_id: UploadId) -> None:
        if upload_id != self.upload_id:
            raise UnexpectedAnswerError(
                f"the answer is about upload {upload_id}, not this push's {self.upload_id}"
            )


# ---------------------------------------------------------------------------------------
# The wire form of a client's calls (AWS JSON 1.1), and a driver over a transport


def encode_request(request: Request) -> tuple[str, bytes]:
    """The ``X-Amz-Target`` value and the JSON body of a request."""
    return OPERATION_OF[type(request)].target, json.dumps(request.to_wire()).encode()


def decode_answer(request: Request, status: int, body: bytes) -> Response:
    """The response to ``request`` an HTTP answer carries, or the EcrError it carries.

    A body that is not JSON, or not the answer's shape, is a SerializationException
    (or the InvalidParameterException of the member that breaks its shape).
    """
    response_class = OPERATION_OF[type(request)].response_type
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        raise SerializationException(f"the answer (HTTP {status}) is not JSON") from None
    if status == 200:
        return response_class.from_wire(obj)
    if type(obj) is not dict:
        raise SerializationException(f"the error answer (HTTP {status}) is not a JSON object")
    raise EcrError.from_wire(obj)


def push_layer(
    transport: Transport,
    layer: LayerBytes,
    *,
    repository_name: RepositoryName | str,
    registry_id: RegistryId | str | None = None,
    part_size: int | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    observe: Callable[[Request, Outcome], None] | None = None,
) -> LayerDigest:
    """Pushes a whole layer over ``transport`` and returns its digest.

    ``transport(target, body)`` returns ``(status, headers, body)``: for instance
    ``functools.partial(wire.handle, registry)``, or a function over a real HTTP
    client that adds the ``Content-Type`` header. A call whose answer is lost (the
    transport raises OSError, such as ConnectionError or TimeoutError, or the answer is
    a ServerException) is sent again, up to ``max_attempts`` times in a row; then that
    error is raised. An error that ends the push (RepositoryNotFoundException, ...) is
    raised. ``observe(request, outcome)`` sees every call and its outcome.
    """
    if type(max_attempts) is not int or max_attempts < 1:
        raise UsageError(f"max_attempts must be a positive int, not {max_attempts!r}")
    push = LayerPush.start(
        layer, repository_name=repository_name, registry_id=registry_id, part_size=part_size
    )
    failed_attempts = 0
    while (request := push.next_request()) is not None:
        outcome: Outcome
        try:
            status, _, body = transport(*encode_request(request))
            outcome = decode_answer(request, status, body)
        except (OSError, EcrError) as error:
            outcome = error
        if observe is not None:
            observe(request, outcome)
        if isinstance(outcome, (OSError, ServerException)):
            failed_attempts += 1
            if failed_attempts >= max_attempts:
                raise outcome
            continue
        failed_attempts = 0
        push = (
            push.on_error(outcome) if isinstance(outcome, EcrError) else push.on_response(outcome)
        )
    return push.layer_digest
