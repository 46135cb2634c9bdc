"""The client side of a layer push: plan the parts, build the requests, read the answers.

Everything here is pure: a client brings its own transport. :class:`LayerPush` is one
push as an immutable state machine, in the order real clients follow:
BatchCheckLayerAvailability first (nothing to send if the registry holds the layer),
InitiateLayerUpload, the parts one at a time with inclusive ranges, CompleteLayerUpload
(``LayerAlreadyExistsException`` counts as success). Ask it for the next request, send
that, and hand it the answer; it returns the next state. An answer that was lost is
survived by sending the same request again: a part that had landed comes back as
``InvalidLayerPartException``, and the push resumes from its ``lastValidByteReceived +
1``. Failures are retried as botocore's standard retry mode retries them, and the state
says how long to wait first (:class:`Backoff`); the caller waits. :func:`push_layer`
runs a whole push over a callable transport ``(target, body) -> (status, headers,
body)``, and sleeps through the waits.

Whatever a server answers, a push ends: a part size under a floor is refused, and so
is a run of calls that brings no progress (:class:`NoProgressError`).

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
import random as _random
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

import attrs

from ._shapes import List, Shape, Structure, member, validate_member
from .errors import (
    AWS_COMMON_ERRORS_BY_CODE,
    ERRORS_BY_CODE,
    EcrError,
    InvalidLayerPartException,
    InvalidParameterException,
    KmsException,
    LayerAlreadyExistsException,
    SerializationException,
    UnmodelledError,
    UploadNotFoundException,
    UsageError,
    error_code,
)
from .identifiers import LayerDigest, RegistryId, RepositoryGrammar, RepositoryName, UploadId
from .limits import API_MAX_PART_BYTES, DEFAULT_PART_SIZE, MAX_LAYER_DIGESTS, MIN_PART_BYTES
from .operations import (
    OPERATION_OF,
    PART_SIZE,
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    Layer,
    LayerAvailability,
    LayerFailure,
    Request,
    Response,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
    _Wire,
)

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_CALLS_WITHOUT_PROGRESS",
    "Answer",
    "Backoff",
    "BatchCheckLayerAvailabilityAnswer",
    "CompleteLayerUploadAnswer",
    "FailureKind",
    "InitiateLayerUploadAnswer",
    "LayerAnswer",
    "LayerBytes",
    "LayerFailureAnswer",
    "LayerPush",
    "NoProgressError",
    "Outcome",
    "PartRange",
    "PartSizeTooSmallError",
    "PushPhase",
    "Transport",
    "UnexpectedAnswerError",
    "UploadLayerPartAnswer",
    "check_part_size",
    "decode_answer",
    "describe_call",
    "encode_request",
    "failure_kind",
    "layer_digest",
    "plan_parts",
    "push_layer",
    "read_error",
    "read_error_body",
]

#: What a layer may be given as: any contiguous buffer of bytes.
LayerBytes: TypeAlias = bytes | bytearray | memoryview
#: An HTTP exchange: (X-Amz-Target, body) in, (status, headers, body) out.
Transport: TypeAlias = Callable[[str, bytes], tuple[int, Mapping[str, str], bytes]]


class UnexpectedAnswerError(UsageError):
    """An answer that does not fit the push: another step's, another upload's, or a
    byte position outside the layer (a server that breaks the API, or a misused push)."""


class PartSizeTooSmallError(UnexpectedAnswerError):
    """The registry asks for parts smaller than the caller's floor (``min_part_size``)."""


class NoProgressError(UnexpectedAnswerError):
    """Too many calls in a row brought the push no further: the server's answers loop.

    ``recent`` holds the last calls and their answers, one line each.
    """

    def __init__(self, message: str, *, recent: tuple[str, ...]) -> None:
        super().__init__(message)
        self.recent = recent


# ---------------------------------------------------------------------------------------
# Retries: botocore's standard retry mode (botocore 1.44, botocore/retries/standard.py)

#: Attempts of one call, the first included: ``DEFAULT_MAX_ATTEMPTS`` of botocore's
#: standard mode.
DEFAULT_MAX_ATTEMPTS: Final = 3
#: Codes retried as transient failures: ``TransientRetryableChecker``.
TRANSIENT_ERROR_CODES: Final = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
)
#: HTTP statuses retried as transient failures, whatever the code: ``TransientRetryableChecker``.
TRANSIENT_STATUSES: Final = frozenset({500, 502, 503, 504})
#: Codes retried as throttling: ``ThrottledRetryableChecker`` (``LimitExceededException``
#: among them, ECR's part-count quota included: botocore does not tell them apart).
THROTTLING_ERROR_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
#: HTTP statuses retried as throttling when the code is none of the operation's modelled
#: errors: ``ThrottlingStatusCodeChecker``.
THROTTLING_STATUSES: Final = frozenset({429})
#: The errors each operation declares in the API model (botocore's ECR service-2.json).
MODELLED_ERRORS: Final[Mapping[type, frozenset[str]]] = {
    InitiateLayerUploadRequest: frozenset(
        {"ServerException", "InvalidParameterException", "RepositoryNotFoundException"}
        | {"KmsException"}
    ),
    UploadLayerPartRequest: frozenset(
        {"ServerException", "InvalidParameterException", "InvalidLayerPartException"}
        | {"RepositoryNotFoundException", "UploadNotFoundException"}
        | {"LimitExceededException", "KmsException"}
    ),
    CompleteLayerUploadRequest: frozenset(
        {"ServerException", "InvalidParameterException", "RepositoryNotFoundException"}
        | {"UploadNotFoundException", "InvalidLayerException", "LayerPartTooSmallException"}
        | {"LayerAlreadyExistsException", "EmptyUploadException", "KmsException"}
    ),
    BatchCheckLayerAvailabilityRequest: frozenset(
        {"RepositoryNotFoundException", "InvalidParameterException", "ServerException"}
    ),
}


class FailureKind(enum.Enum):
    """Why a call is retried; each kind has its own backoff scale."""

    #: No answer (a connection error, a timeout), a 5xx, or a transient code.
    TRANSIENT = "transient"
    THROTTLING = "throttling"


#: Seconds of the first backoff ceiling: ``ExponentialBackoff``'s ``throttling_base_scale``
#: and ``non_throttling_base_scale``.
BACKOFF_SCALE_SECONDS: Final[Mapping[FailureKind, float]] = {
    FailureKind.THROTTLING: 1.0,
    FailureKind.TRANSIENT: 0.05,
}
#: The ceiling never grows past this: ``ExponentialBackoff``'s ``_MAX_BACKOFF``.
MAX_BACKOFF_SECONDS: Final = 20.0
#: An ``x-amz-retry-after`` (milliseconds) raises the wait to at most the jittered wait
#: plus this: ``ExponentialBackoff``'s ``_RETRY_AFTER_MAX_ADDITIONAL``.
RETRY_AFTER_MAX_ADDITIONAL_SECONDS: Final = 5.0
RETRY_AFTER_HEADER: Final = "x-amz-retry-after"


def failure_kind(request: Request, failure: EcrError | OSError) -> FailureKind | None:
    """How botocore's standard mode classes a failed call: throttling, transient, or
    ``None`` (not retried). No answer at all (OSError) is transient."""
    if isinstance(failure, OSError):
        return FailureKind.TRANSIENT
    code, status = failure.code, failure.http_status
    if code in THROTTLING_ERROR_CODES or (
        status in THROTTLING_STATUSES and code not in MODELLED_ERRORS[type(request)]
    ):
        return FailureKind.THROTTLING
    if code in TRANSIENT_ERROR_CODES or status in TRANSIENT_STATUSES:
        return FailureKind.TRANSIENT
    return None


@attrs.frozen
class Backoff:
    """The wait before attempt ``attempt + 1`` of a call, with full jitter.

    ``delay(u)`` for ``u`` drawn uniformly from [0, 1): ``u * ceiling``, where the ceiling
    is ``scale * 2 ** (attempt - 1)`` capped at 20 s; raised towards the server's
    ``retry_after`` by at most 5 s, as botocore's ``ExponentialBackoff`` does.

    >>> Backoff(FailureKind.THROTTLING, attempt=2).delay(0.5)
    1.0
    """

    kind: FailureKind
    #: The attempt that failed, from 1.
    attempt: int
    #: The server's ``x-amz-retry-after``, in seconds.
    retry_after: float | None = None

    @property
    def ceiling(self) -> float:
        return min(
            BACKOFF_SCALE_SECONDS[self.kind] * 2.0 ** (self.attempt - 1), MAX_BACKOFF_SECONDS
        )

    def delay(self, unit_random: float) -> float:
        jittered = unit_random * self.ceiling
        if self.retry_after is None:
            return jittered
        return max(jittered, min(self.retry_after, jittered + RETRY_AFTER_MAX_ADDITIONAL_SECONDS))


#: Answers in a row that may bring a push no further before it gives up (retried
#: failures are bounded by ``max_attempts`` instead). An honest registry's answers
#: always move a push on, to a later step or a later byte: the bound is met only by a
#: server whose answers loop, and is set well above one to be sure of that.
DEFAULT_MAX_CALLS_WITHOUT_PROGRESS: Final = 10
#: How many of the last calls a :class:`NoProgressError` names.
RECENT_CALLS_KEPT: Final = 4


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


def _check_positive(name: str, value: object) -> int:
    if type(value) is not int or value < 1:
        raise UsageError(f"{name} must be a positive int, not {value!r}")
    return value


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
# Answers as a client reads them: every member optional


def _optional(response_class: type, field: str, shape: Shape | None = None) -> Any:
    """The field of a response as an optional member: the API model's output shapes list
    no required member, so a client reads an absent one as ``None``."""
    metadata = attrs.fields_dict(response_class)[field].metadata
    return attrs.field(
        default=None,
        validator=validate_member,
        metadata=member(metadata["wire"], shape or metadata["shape"], required=False),
    )


@attrs.frozen(kw_only=True)
class InitiateLayerUploadAnswer(_Wire):
    """An InitiateLayerUpload answer as received; absent members are ``None``."""

    upload_id: UploadId | None = _optional(InitiateLayerUploadResponse, "upload_id")
    part_size: int | None = _optional(InitiateLayerUploadResponse, "part_size")


@attrs.frozen(kw_only=True)
class UploadLayerPartAnswer(_Wire):
    """An UploadLayerPart answer as received; absent members are ``None``."""

    registry_id: RegistryId | None = _optional(UploadLayerPartResponse, "registry_id")
    repository_name: RepositoryName | None = _optional(UploadLayerPartResponse, "repository_name")
    upload_id: UploadId | None = _optional(UploadLayerPartResponse, "upload_id")
    last_byte_received: int | None = _optional(UploadLayerPartResponse, "last_byte_received")


@attrs.frozen(kw_only=True)
class CompleteLayerUploadAnswer(_Wire):
    """A CompleteLayerUpload answer as received; absent members are ``None``."""

    registry_id: RegistryId | None = _optional(CompleteLayerUploadResponse, "registry_id")
    repository_name: RepositoryName | None = _optional(
        CompleteLayerUploadResponse, "repository_name"
    )
    upload_id: UploadId | None = _optional(CompleteLayerUploadResponse, "upload_id")
    layer_digest: LayerDigest | None = _optional(CompleteLayerUploadResponse, "layer_digest")


@attrs.frozen(kw_only=True)
class LayerAnswer(_Wire):
    """A layer of a BatchCheckLayerAvailability answer; absent members are ``None``."""

    layer_digest: LayerDigest | None = _optional(Layer, "layer_digest")
    layer_availability: LayerAvailability | None = _optional(Layer, "layer_availability")
    layer_size: int | None = _optional(Layer, "layer_size")
    media_type: str | None = _optional(Layer, "media_type")


@attrs.frozen(kw_only=True)
class LayerFailureAnswer(_Wire):
    """A failure of a BatchCheckLayerAvailability answer; absent members are ``None``."""

    layer_digest: str | None = _optional(LayerFailure, "layer_digest")
    failure_code: object = _optional(LayerFailure, "failure_code")
    failure_reason: str | None = _optional(LayerFailure, "failure_reason")


@attrs.frozen(kw_only=True)
class BatchCheckLayerAvailabilityAnswer(_Wire):
    """A BatchCheckLayerAvailability answer as received; absent members are ``None``."""

    layers: tuple[LayerAnswer, ...] | None = _optional(
        BatchCheckLayerAvailabilityResponse,
        "layers",
        List(Structure(LayerAnswer), 0, MAX_LAYER_DIGESTS),
    )
    failures: tuple[LayerFailureAnswer, ...] | None = _optional(
        BatchCheckLayerAvailabilityResponse,
        "failures",
        List(Structure(LayerFailureAnswer), 0, MAX_LAYER_DIGESTS),
    )


@attrs.frozen(kw_only=True)
class _InvalidLayerPartMembers(_Wire):
    """The modelled members of an InvalidLayerPartException body, each optional."""

    registry_id: RegistryId | None = _optional(UploadLayerPartResponse, "registry_id")
    repository_name: RepositoryName | None = _optional(UploadLayerPartResponse, "repository_name")
    upload_id: UploadId | None = _optional(UploadLayerPartResponse, "upload_id")
    last_valid_byte_received: int | None = attrs.field(
        default=None,
        validator=validate_member,
        metadata=member("lastValidByteReceived", PART_SIZE, required=False),
    )


Answer: TypeAlias = (
    InitiateLayerUploadAnswer
    | UploadLayerPartAnswer
    | CompleteLayerUploadAnswer
    | BatchCheckLayerAvailabilityAnswer
)
#: The answer class each request's answer is read into.
ANSWER_OF: Final[Mapping[type, type[Answer]]] = {
    InitiateLayerUploadRequest: InitiateLayerUploadAnswer,
    UploadLayerPartRequest: UploadLayerPartAnswer,
    CompleteLayerUploadRequest: CompleteLayerUploadAnswer,
    BatchCheckLayerAvailabilityRequest: BatchCheckLayerAvailabilityAnswer,
}
#: What :func:`push_layer` shows its observer for each call: the answer, or why none came.
Outcome: TypeAlias = Answer | Response | EcrError | OSError


# ---------------------------------------------------------------------------------------
# The push as a state machine


class PushPhase(enum.Enum):
    """Where a push stands: which request it sends next (in the order a push goes)."""

    #: BatchCheckLayerAvailability: does the repository hold the layer already?
    CHECK = "check"
    INITIATE = "initiate"
    UPLOAD = "upload"
    COMPLETE = "complete"
    #: The upload vanished at completion (its answer was lost, and the resent
    #: completion found no upload): BatchCheck again to learn whether it completed.
    VERIFY = "verify"
    DONE = "done"


_PHASE_ORDER: Final = {phase: rank for rank, phase in enumerate(PushPhase)}


def _view_repr(view: memoryview) -> str:
    return f"<{view.nbytes} bytes>"


@attrs.frozen(kw_only=True)
class LayerPush:
    """One layer push, immutable: ``next_request()``, then ``on_response``, ``on_error``
    or ``on_no_answer``.

    Build one with :meth:`start`. The layer's bytes stay the caller's: each part
    request holds a memoryview window of them, so the buffer must not change during
    the push. After a failure that is retried, ``backoff`` says how long to wait before
    sending ``next_request()`` again (the same request).

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
    #: A ``partSize`` answered under this is refused (when the layer needs more than
    #: one part): ECR's own minimum for every part but the last, by default.
    min_part_size: int = MIN_PART_BYTES
    phase: PushPhase = PushPhase.CHECK
    upload_id: UploadId | None = None
    #: The first byte of the next part: where the upload resumes.
    next_byte: int = 0
    #: The repository held the layer before the push sent anything.
    skipped: bool = False
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    #: The attempt at the current request, from 1.
    attempt: int = 1
    #: The wait before the next attempt, after a failure that is retried.
    backoff: Backoff | None = None
    max_calls_without_progress: int = DEFAULT_MAX_CALLS_WITHOUT_PROGRESS
    calls_without_progress: int = 0
    #: The furthest the push has come: the phase's rank and the first byte not yet held.
    furthest: tuple[int, int] = (0, 0)
    #: The last calls and their outcomes, one line each (for :class:`NoProgressError`).
    recent: tuple[str, ...] = ()

    @classmethod
    def start(
        cls,
        layer: LayerBytes,
        *,
        repository_name: RepositoryName | str,
        registry_id: RegistryId | str | None = None,
        part_size: int | None = None,
        min_part_size: int = MIN_PART_BYTES,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_calls_without_progress: int = DEFAULT_MAX_CALLS_WITHOUT_PROGRESS,
    ) -> LayerPush:
        """A push of ``layer`` into a repository; its digest is computed here.

        ``part_size`` overrides the ``partSize`` the registry answers (UsageError if it
        is 0 or above the API's maximum part). Parts under 5 MiB before the last are
        refused at completion (LayerPartTooSmallException), as ECR does.
        ``min_part_size`` is the floor of a ``partSize`` the registry may ask for;
        ``max_attempts`` the attempts of one call; ``max_calls_without_progress`` the
        bound on answers in a row that bring the push no further.
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
            min_part_size=check_part_size(min_part_size),
            max_attempts=_check_positive("max_attempts", max_attempts),
            max_calls_without_progress=_check_positive(
                "max_calls_without_progress", max_calls_without_progress
            ),
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

    def on_response(self, response: Answer | Response) -> LayerPush:
        """The state after a successful answer to ``next_request()``.

        UnexpectedAnswerError if it does not answer that request (PartSizeTooSmallError
        for a ``partSize`` under the floor, NoProgressError when the bound on answers
        without progress is reached); in VERIFY, the UploadNotFoundException that ends
        the push if the layer is still not held.
        """
        return self._counted(response, self._answered(response))

    def on_error(self, error: EcrError) -> LayerPush:
        """The state after an error answer to ``next_request()``, or ``error`` re-raised
        when it ends the push.

        Retried, with ``backoff`` set, up to ``max_attempts`` attempts: throttling,
        transient codes and 5xx statuses (:func:`failure_kind`). Survived:
        InvalidLayerPartException that moves the resume point (a part that landed but
        whose answer was lost; the push resumes from lastValidByteReceived + 1);
        LayerAlreadyExistsException at completion (the layer is there: success);
        UploadNotFoundException at completion (a completion that landed but whose answer
        was lost: the push checks whether the layer is held).
        """
        retry = self._retried(error)
        return retry if retry is not None else self._counted(error, self._refused(error))

    def on_no_answer(self, error: OSError) -> LayerPush:
        """The state after a call that got no answer (a connection error, a timeout):
        the same request again after ``backoff``, or ``error`` re-raised once
        ``max_attempts`` attempts have failed."""
        retry = self._retried(error)
        assert retry is not None  # every OSError is a transient failure
        return retry

    def _retried(self, failure: EcrError | OSError) -> LayerPush | None:
        """The state that sends the request again after a backoff; None if the failure
        is not retried; the failure re-raised once the attempts are spent."""
        request = self.next_request()
        kind = None if request is None else failure_kind(request, failure)
        if kind is None or request is None:
            return None
        if self.attempt >= self.max_attempts:
            raise failure
        retry_after = failure.retry_after if isinstance(failure, EcrError) else None
        return attrs.evolve(
            self,
            attempt=self.attempt + 1,
            backoff=Backoff(kind, self.attempt, retry_after),
            recent=self._recent(request, failure),
        )

    def _recent(self, request: Request, outcome: Outcome) -> tuple[str, ...]:
        return (*self.recent, describe_call(request, outcome))[-RECENT_CALLS_KEPT:]

    def _counted(self, outcome: Outcome, state: LayerPush) -> LayerPush:
        """``state`` after an answer, which ends the request's attempts: progress, or one
        more answer without it (NoProgressError once they reach the bound)."""
        request = self.next_request()
        assert request is not None  # a done push takes no answer
        recent = self._recent(request, outcome)
        state = attrs.evolve(state, attempt=1, backoff=None, recent=recent)
        furthest = (_PHASE_ORDER[state.phase], state.next_byte)
        if furthest > self.furthest:
            return attrs.evolve(state, furthest=furthest, calls_without_progress=0)
        calls = self.calls_without_progress + 1
        if calls >= self.max_calls_without_progress:
            raise NoProgressError(
                f"{calls} answers in a row brought the push of {self.layer_digest} no "
                f"further (max_calls_without_progress={self.max_calls_without_progress}); "
                "the last calls: " + "; ".join(recent),
                recent=recent,
            )
        return attrs.evolve(state, calls_without_progress=calls)

    def _answered(self, response: Answer | Response) -> LayerPush:
        match self.phase, response:
            case (
                (PushPhase.CHECK | PushPhase.VERIFY),
                BatchCheckLayerAvailabilityResponse() | BatchCheckLayerAvailabilityAnswer(),
            ):
                if self._held(response):
                    return attrs.evolve(
                        self, phase=PushPhase.DONE, skipped=self.phase is PushPhase.CHECK
                    )
                if self.phase is PushPhase.CHECK:
                    return attrs.evolve(self, phase=PushPhase.INITIATE)
                raise UploadNotFoundException(
                    f"Upload '{self.upload_id}' vanished before it completed, and the "
                    f"repository '{self.repository_name}' does not hold {self.layer_digest}"
                )
            case (PushPhase.INITIATE, InitiateLayerUploadResponse() | InitiateLayerUploadAnswer()):
                if response.upload_id is None:
                    raise UnexpectedAnswerError("the InitiateLayerUpload answer has no uploadId")
                started = attrs.evolve(
                    self, upload_id=response.upload_id, part_size=self._part_size(response)
                )
                return started._resumed_at(0)
            case (PushPhase.UPLOAD, UploadLayerPartResponse() | UploadLayerPartAnswer()):
                self._check_same_upload(response.upload_id)
                last = response.last_byte_received
                if last is None:  # absent: the part was taken whole
                    part = self.next_part
                    assert part is not None
                    last = part.last
                return self._resumed_at(last + 1)
            case (PushPhase.COMPLETE, CompleteLayerUploadResponse() | CompleteLayerUploadAnswer()):
                self._check_same_upload(response.upload_id)
                if response.layer_digest is not None and not response.layer_digest.matches(
                    self.layer_digest
                ):
                    raise UnexpectedAnswerError(
                        f"the upload completed as {response.layer_digest}, "
                        f"not as the layer's digest {self.layer_digest}"
                    )
                return attrs.evolve(self, phase=PushPhase.DONE)
        raise UnexpectedAnswerError(
            f"{type(response).__name__} does not answer the {self.phase.value} step of a push"
        )

    def _refused(self, error: EcrError) -> LayerPush:
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

    def _part_size(self, response: InitiateLayerUploadResponse | InitiateLayerUploadAnswer) -> int:
        """The caller's part size, else the registry's (the usual 10 MiB if it names none)."""
        if self.part_size is not None:
            return self.part_size
        if response.part_size is None:
            return DEFAULT_PART_SIZE
        try:
            part_size = check_part_size(response.part_size)
        except UsageError as error:
            raise UnexpectedAnswerError(f"the registry's partSize: {error}") from None
        if part_size < self.min_part_size and self.layer_size > part_size:
            raise PartSizeTooSmallError(
                f"the registry asks for parts of {part_size} bytes, under the floor of "
                f"{self.min_part_size} (min_part_size): the {self.layer_size}-byte layer "
                f"would take {-(-self.layer_size // part_size)} parts; lower min_part_size "
                "or give part_size to send it anyway"
            )
        return part_size

    def _resumed_at(self, first_byte: int) -> LayerPush:
        """Parts from ``first_byte`` on; the completion once the registry holds every byte."""
        if not 0 <= first_byte <= self.layer_size:
            raise UnexpectedAnswerError(
                f"the registry points at byte {first_byte} of a {self.layer_size}-byte layer"
            )
        phase = PushPhase.COMPLETE if first_byte == self.layer_size else PushPhase.UPLOAD
        return attrs.evolve(self, phase=phase, next_byte=first_byte)

    def _held(
        self, response: BatchCheckLayerAvailabilityResponse | BatchCheckLayerAvailabilityAnswer
    ) -> bool:
        return any(
            layer.layer_availability is LayerAvailability.AVAILABLE
            and layer.layer_digest is not None
            and layer.layer_digest.matches(self.layer_digest)
            for layer in response.layers or ()
        )

    def _check_same_upload(self, upload_id: UploadId | None) -> None:
        if upload_id is not None and upload_id != self.upload_id:
            raise UnexpectedAnswerError(
                f"the answer is about upload {upload_id}, not this push's {self.upload_id}"
            )


# ---------------------------------------------------------------------------------------
# The wire form of a client's calls (AWS JSON 1.1), and a driver over a transport


def encode_request(request: Request) -> tuple[str, bytes]:
    """The ``X-Amz-Target`` value and the JSON body of a request."""
    return OPERATION_OF[type(request)].target, json.dumps(request.to_wire()).encode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, its name matched without regard to case (as HTTP names are)."""
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``x-amz-retry-after`` (whole milliseconds) in seconds; a malformed one is ignored,
    as botocore ignores it."""
    text = _header(headers, RETRY_AFTER_HEADER)
    if text is None or not text.strip().isdigit():
        return None
    return int(text) / 1000


def read_error(status: int, headers: Mapping[str, str], body: bytes) -> EcrError:
    """The typed error an error answer carries, with its status, request id and
    ``x-amz-retry-after`` kept.

    The code is read as botocore reads it: ``__type`` of the JSON body, else the HTTP
    status (an empty body, a proxy's HTML page); a code the package does not model is an
    :class:`UnmodelledError` keeping the body. SerializationException only for a body
    that names a known error but breaks its members' shapes.
    """
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        obj = None
    if isinstance(obj, dict) and isinstance(obj.get("__type"), str):
        error = read_error_body(obj)
    else:
        message = obj.get("message", obj.get("Message")) if isinstance(obj, dict) else None
        error = UnmodelledError(
            message if isinstance(message, str) else None,
            code=str(status),
            body=obj if isinstance(obj, dict) else bytes(body),
        )
    error.http_status = status
    error.request_id = _header(headers, "x-amzn-requestid")
    error.retry_after = _retry_after_seconds(headers)
    return error


def read_error_body(obj: object) -> EcrError:
    """The typed error an ECR error body (its decoded JSON) describes.

    The code is read from ``__type`` as botocore reads it: a ``namespace#`` prefix and a
    ``:suffix`` are dropped. A code the package does not model is an
    :class:`UnmodelledError` that keeps the code and the body. A body that is not an
    object with a string ``__type``, or whose modelled members break their shapes, is a
    :class:`SerializationException`.

    >>> read_error_body({"__type": "com.amazonaws.ecr#EmptyUploadException", "message": "m"})
    EmptyUploadException('m')
    """
    if not isinstance(obj, Mapping):
        raise SerializationException("error body is not a JSON object")
    code = obj.get("__type")
    message = obj.get("message", obj.get("Message"))
    if not isinstance(code, str) or not (message is None or isinstance(message, str)):
        raise SerializationException("error body has no string __type and message")
    error_class = ERRORS_BY_CODE.get(error_code(code)) or AWS_COMMON_ERRORS_BY_CODE.get(
        error_code(code)
    )
    if error_class is None:
        return UnmodelledError(message, code=error_code(code), body=dict(obj))
    if error_class is InvalidLayerPartException:
        # The ids only inform, and one of another JSON type is left out; the resume point
        # must be a PartSize.
        given = {
            name: value
            for name, value in obj.items()
            if isinstance(value, str) or name == "lastValidByteReceived"
        }
        try:
            # Read by the wider grammar: a server may take OCI-style names.
            members = _InvalidLayerPartMembers.from_wire(given, grammar=RepositoryGrammar.OCI)
        except InvalidParameterException as error:
            # A body the server wrote wrong is unreadable, not the client's bad parameter.
            raise SerializationException(f"error body member: {error.message}") from None
        return InvalidLayerPartException(message, **attrs.asdict(members, recurse=False))
    if error_class is KmsException:
        kms_error = obj.get("kmsError")
        return KmsException(message, kms_error=kms_error if isinstance(kms_error, str) else None)
    return error_class(message)


def decode_answer(
    request: Request, status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> Answer:
    """The answer to ``request`` an HTTP answer carries, or the typed error it carries
    (raised; see :func:`read_error`).

    Members absent from a 200 answer are ``None``. A 200 whose body is not a JSON object
    of the answer's shape is a SerializationException.
    """
    if status != 200:
        raise read_error(status, headers or {}, body)
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        raise SerializationException(f"the answer (HTTP {status}) is not JSON") from None
    try:
        return ANSWER_OF[type(request)].from_wire(obj, grammar=RepositoryGrammar.OCI)
    except InvalidParameterException as error:
        # A member the server wrote wrong is unreadable, not the client's bad parameter.
        raise SerializationException(f"the answer's member: {error.message}") from None


def describe_call(request: Request, outcome: Outcome) -> str:
    """One line: the operation, a part's byte range, the status and what came back."""
    operation = type(request).__name__.removesuffix("Request")
    if isinstance(request, UploadLayerPartRequest):
        operation += f" bytes {request.part_first_byte}-{request.part_last_byte}"
    return f"{operation} -> {_describe_outcome(outcome)}"


def _describe_outcome(outcome: Outcome) -> str:
    match outcome:
        case InvalidLayerPartException(last_valid_byte_received=int(last_valid)):
            return f"{outcome.http_status} {outcome.code} lastValidByteReceived={last_valid}"
        case EcrError():
            return f"{outcome.http_status} {outcome.code}"
        case OSError():
            return f"no answer ({outcome})"
        case BatchCheckLayerAvailabilityResponse() | BatchCheckLayerAvailabilityAnswer():
            found = [
                "?" if layer.layer_availability is None else layer.layer_availability.value
                for layer in outcome.layers or ()
            ]
            missing = [
                getattr(failure.failure_code, "value", "?") for failure in outcome.failures or ()
            ]
            return "200 " + " ".join(found + missing)
        case InitiateLayerUploadResponse() | InitiateLayerUploadAnswer():
            return f"200 uploadId={outcome.upload_id} partSize={outcome.part_size}"
        case UploadLayerPartResponse() | UploadLayerPartAnswer():
            return f"200 lastByteReceived={outcome.last_byte_received}"
        case CompleteLayerUploadResponse() | CompleteLayerUploadAnswer():
            return f"200 layerDigest={outcome.layer_digest}"


def push_layer(
    transport: Transport,
    layer: LayerBytes,
    *,
    repository_name: RepositoryName | str,
    registry_id: RegistryId | str | None = None,
    part_size: int | None = None,
    min_part_size: int = MIN_PART_BYTES,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_calls_without_progress: int = DEFAULT_MAX_CALLS_WITHOUT_PROGRESS,
    observe: Callable[[Request, Outcome], None] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    random: Callable[[], float] = _random.random,
) -> LayerDigest:
    """Pushes a whole layer over ``transport`` and returns its digest.

    ``transport(target, body)`` returns ``(status, headers, body)``: for instance
    ``functools.partial(wire.handle, registry)``, :class:`~ecr_upload_model.boto3_transport.
    Boto3Transport`, or a function over a real HTTP client that adds the
    ``Content-Type`` header. A failure botocore's standard mode retries (no answer: the
    transport raises OSError; throttling; a 5xx) is retried up to ``max_attempts``
    attempts, after ``sleep(backoff.delay(random()))``; then it is raised. An error that
    ends the push (RepositoryNotFoundException, ...) is raised, and so is
    NoProgressError after ``max_calls_without_progress`` answers in a row that bring
    the push no further. ``observe(request, outcome)`` sees every call and its outcome.
    """
    push = LayerPush.start(
        layer,
        repository_name=repository_name,
        registry_id=registry_id,
        part_size=part_size,
        min_part_size=min_part_size,
        max_attempts=max_attempts,
        max_calls_without_progress=max_calls_without_progress,
    )
    while (request := push.next_request()) is not None:
        outcome: Outcome
        try:
            status, headers, body = transport(*encode_request(request))
            outcome = decode_answer(request, status, body, headers)
        except (OSError, EcrError) as error:
            outcome = error
        if observe is not None:
            observe(request, outcome)
        match outcome:
            case OSError():
                push = push.on_no_answer(outcome)
            case EcrError():
                push = push.on_error(outcome)
            case _:
                push = push.on_response(outcome)
        if push.backoff is not None:
            sleep(push.backoff.delay(random()))
    return push.layer_digest
