"""UploadSession: one layer upload's state machine, pure and immutable.

Everything that decides whether a part or a completion is accepted lives here; the
session knows nothing of bytes on a wire or in a store. A transition returns the next
session and the response, or raises a typed error and leaves the session as it was: a
refused part is never half-applied, and the next correct part is accepted.

The session never holds a part's bytes: the server stores them and computes the
layer's digest, which it hands to :meth:`UploadSession.complete`.

>>> from ecr_upload_model import RegistryId, RepositoryName, UploadId
>>> session = UploadSession(
...     registry_id=RegistryId("123456789012"),
...     repository_name=RepositoryName("team/app"),
...     upload_id=UploadId("0a1b2c3d-0000-4000-8000-000000000000"),
... )
>>> session.phase
<SessionPhase.EMPTY: 'empty'>
>>> request = UploadLayerPartRequest(
...     repository_name=session.repository_name,
...     upload_id=session.upload_id,
...     part_first_byte=0,
...     part_last_byte=2,
...     layer_part_blob=b"abc",
... )
>>> session, response = session.upload_part(request)
>>> response.last_byte_received, session.phase
(2, <SessionPhase.RECEIVING: 'receiving'>)
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Final, NamedTuple, TypeVar

import attrs

from .errors import (
    EcrError,
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    InvalidParameterException,
    InvalidSnapshotError,
    LayerPartTooSmallException,
    LimitExceededException,
    UploadNotFoundException,
    UsageError,
)
from .identifiers import LayerDigest, RegistryId, RepositoryGrammar, RepositoryName, UploadId
from .limits import API_LIMITS, MAX_LONG, Limits
from .operations import (
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
)

__all__ = ["MAX_PART_COUNT", "SNAPSHOT_SCHEMA", "SessionPhase", "UploadSession"]

#: The most parts a session can count: its revision (the parts, plus one for the
#: completion) is a long in a snapshot, so an upload of this many parts can still complete.
MAX_PART_COUNT: Final = MAX_LONG - 1

#: The snapshot format's name and version; a snapshot of another is refused.
SNAPSHOT_SCHEMA: Final = "ecr_upload_model.UploadSession/1"


class SessionPhase(enum.Enum):
    """Where an upload stands, which decides the calls it takes."""

    #: No part accepted: the next part starts at byte 0; a completion is EmptyUpload.
    EMPTY = "empty"
    #: Parts accepted: the next part starts after the last byte held, or it completes.
    RECEIVING = "receiving"
    #: Completed as a layer: the upload is gone, and every call on it is UploadNotFound.
    COMPLETED = "completed"


@attrs.frozen
class _Progress:
    """What the accepted transitions left; only they and :meth:`UploadSession.from_snapshot`
    make one."""

    phase: SessionPhase = SessionPhase.EMPTY
    part_count: int = 0
    #: The last byte the upload holds, or ``None`` when it holds none.
    last_byte_received: int | None = None
    #: The size of the latest part: the one that is the last part if none follows.
    latest_part_size: int = 0
    #: Whether a part before the latest fell under ``limits.min_part_bytes``.
    small_part_before_latest: bool = False
    #: The digest the upload completed as.
    layer_digest: LayerDigest | None = None

    @property
    def bytes_received(self) -> int:
        return 0 if self.last_byte_received is None else self.last_byte_received + 1


# ---------------------------------------------------------------------------------------
# The rules of a transition: rows of (error, the input breaks it, the message), in the
# order they answer. The first row broken refuses the call.

_Checked = TypeVar("_Checked")
_Rule = tuple[type[EcrError], Callable[[_Checked], bool], Callable[[_Checked], str]]


class _Part(NamedTuple):
    """What the part rules look at."""

    first: int
    last: int
    size: int
    expected_first: int
    max_size: int
    parts_held: int
    max_parts: int
    max_layer_bytes: int | None


#: The part rules: its own (InvalidLayerPartException), then the quotas
#: (LimitExceededException), as the package documents ECR's order.
_PART_RULES: Final[tuple[_Rule[_Part], ...]] = (
    (
        InvalidLayerPartException,
        lambda p: p.last < p.first,
        lambda p: f"partLastByte {p.last} is before partFirstByte {p.first}",
    ),
    (
        InvalidLayerPartException,
        lambda p: p.size == 0,
        lambda p: "The layer part is empty: an inclusive byte range holds at least one byte",
    ),
    (
        InvalidLayerPartException,
        lambda p: p.size != p.last - p.first + 1,
        lambda p: (
            f"The layer part holds {p.size} bytes but its range {p.first}-{p.last} "
            f"holds {p.last - p.first + 1}"
        ),
    ),
    (
        # ECR's own message for a part that is not the next (a re-sent part included: ECR
        # does not take a part twice).
        InvalidLayerPartException,
        lambda p: p.first != p.expected_first,
        lambda p: f"First byte of the layer part is {p.first} instead of {p.expected_first}",
    ),
    (
        InvalidLayerPartException,
        lambda p: p.size > p.max_size,
        lambda p: f"The layer part holds {p.size} bytes, more than the maximum {p.max_size}",
    ),
    (
        LimitExceededException,
        lambda p: p.parts_held >= p.max_parts,
        lambda p: f"The upload already holds {p.parts_held} parts, the most a layer may have",
    ),
    (
        LimitExceededException,
        lambda p: p.max_layer_bytes is not None and p.last >= p.max_layer_bytes,
        lambda p: (
            f"The part would make the layer {p.last + 1} bytes, over the maximum "
            f"{p.max_layer_bytes}"
        ),
    ),
)


class _Completion(NamedTuple):
    """What the completion rules look at."""

    held: _Progress
    upload_id: UploadId
    min_part_bytes: int
    digests: tuple[LayerDigest, ...]
    computed: LayerDigest


#: The completion rules. Whether the repository already holds the layer is the
#: registry's question, asked after these.
_COMPLETION_RULES: Final[tuple[_Rule[_Completion], ...]] = (
    (
        EmptyUploadException,
        lambda c: c.held.phase is SessionPhase.EMPTY,
        lambda c: (
            f"The layer upload '{c.upload_id}' cannot be completed because it does not have "
            "any parts"
        ),
    ),
    (
        LayerPartTooSmallException,
        lambda c: c.held.small_part_before_latest,
        lambda c: (
            f"All layer parts except the last part should be at least {c.min_part_bytes} bytes"
        ),
    ),
    (
        # Hex letter case does not matter (LayerDigest.matches).
        InvalidLayerException,
        lambda c: not any(digest.matches(c.computed) for digest in c.digests),
        lambda c: (
            f"The layer digest calculated for upload '{c.upload_id}' is {c.computed}, which "
            "is none of the digests specified"
        ),
    ),
)


def _instance_of(
    kind: type | tuple[type, ...],
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = " or ".join(k.__name__ for k in kinds)

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, kinds):
            raise UsageError(f"{attribute.name} must be a {names}, not {value!r}")

    return check


@attrs.frozen(kw_only=True)
class UploadSession:
    """One upload: what the rules need of it, and no more.

    Start one with the ids alone (``limits`` is optional): that is the one way to begin an
    upload. Its progress (``phase`` and the counts) is set only by its transitions, and by
    :meth:`from_snapshot`, which refuses a snapshot no sequence of transitions reaches.
    """

    registry_id: RegistryId = attrs.field(validator=_instance_of(RegistryId))
    repository_name: RepositoryName = attrs.field(validator=_instance_of(RepositoryName))
    upload_id: UploadId = attrs.field(validator=_instance_of(UploadId))
    limits: Limits = attrs.field(default=API_LIMITS, validator=_instance_of(Limits))
    _progress: _Progress = attrs.field(
        default=_Progress(), alias="_progress", validator=_instance_of(_Progress)
    )

    @property
    def phase(self) -> SessionPhase:
        return self._progress.phase

    @property
    def last_byte_received(self) -> int | None:
        """The last byte the upload holds, or ``None`` when it holds none."""
        return self._progress.last_byte_received

    @property
    def part_count(self) -> int:
        return self._progress.part_count

    @property
    def bytes_received(self) -> int:
        return self._progress.bytes_received

    @property
    def layer_digest(self) -> LayerDigest | None:
        """The digest the upload completed as; ``None`` until it completes."""
        return self._progress.layer_digest

    @property
    def completed(self) -> bool:
        return self._progress.phase is SessionPhase.COMPLETED

    @property
    def revision(self) -> int:
        """The number of accepted transitions: a store's compare-and-swap column."""
        return self.part_count + self.completed

    # -----------------------------------------------------------------------------------
    # Transitions

    def upload_part(
        self, request: UploadLayerPartRequest
    ) -> tuple[UploadSession, UploadLayerPartResponse]:
        """Accepts the next part, or raises InvalidLayerPart / UploadNotFound / LimitExceeded."""
        self._check_addressed(request.registry_id, request.repository_name, request.upload_id)
        held, limits = self._progress, self.limits
        part = _Part(
            first=request.part_first_byte,
            last=request.part_last_byte,
            size=memoryview(request.layer_part_blob).nbytes,
            expected_first=held.bytes_received,
            max_size=limits.max_part_bytes,
            parts_held=held.part_count,
            max_parts=_max_parts(limits),
            max_layer_bytes=limits.max_layer_bytes,
        )
        self._check(_PART_RULES, part)
        following = _Progress(
            phase=SessionPhase.RECEIVING,
            part_count=held.part_count + 1,
            last_byte_received=part.last,
            latest_part_size=part.size,
            small_part_before_latest=held.small_part_before_latest
            or (
                held.phase is SessionPhase.RECEIVING
                and held.latest_part_size < limits.min_part_bytes
            ),
        )
        response = UploadLayerPartResponse(
            registry_id=self.registry_id,
            repository_name=self.repository_name,
            upload_id=self.upload_id,
            last_byte_received=part.last,
        )
        return attrs.evolve(self, _progress=following), response

    def complete(
        self, request: CompleteLayerUploadRequest, computed_digest: LayerDigest
    ) -> tuple[UploadSession, CompleteLayerUploadResponse]:
        """Completes the upload as ``computed_digest``, the digest of the bytes stored.

        Raises, in this order: UploadNotFound, EmptyUpload, LayerPartTooSmall,
        InvalidLayer (no digest of the request matches ``computed_digest``; hex letter
        case does not matter). Whether the repository already holds the layer is the
        registry's question, not the session's.
        """
        self._check_addressed(request.registry_id, request.repository_name, request.upload_id)
        completion = _Completion(
            held=self._progress,
            upload_id=self.upload_id,
            min_part_bytes=self.limits.min_part_bytes,
            digests=request.layer_digests,
            computed=computed_digest,
        )
        self._check(_COMPLETION_RULES, completion)
        following = attrs.evolve(
            self._progress, phase=SessionPhase.COMPLETED, layer_digest=computed_digest
        )
        response = CompleteLayerUploadResponse(
            registry_id=self.registry_id,
            repository_name=self.repository_name,
            upload_id=self.upload_id,
            layer_digest=computed_digest,
        )
        return attrs.evolve(self, _progress=following), response

    def _check_addressed(
        self, registry_id: RegistryId | None, repository_name: RepositoryName, upload_id: UploadId
    ) -> None:
        # A request without registryId addresses the default registry: the session's.
        if (
            upload_id != self.upload_id
            or repository_name != self.repository_name
            or (registry_id is not None and registry_id != self.registry_id)
            or self.completed
        ):
            raise UploadNotFoundException(
                f"Upload '{upload_id}' is not found in repository '{repository_name}' "
                f"of registry '{registry_id or self.registry_id}'"
            )

    def _check(self, rules: tuple[_Rule[_Checked], ...], checked: _Checked) -> None:
        """Raises the error of the first rule ``checked`` breaks."""
        for error, breaks, message in rules:
            if breaks(checked):
                raise self._refusal(error, message(checked))

    def _refusal(self, error: type[EcrError], message: str) -> EcrError:
        if error is InvalidLayerPartException:
            # It says where the upload stands, so that a client can resume.
            return InvalidLayerPartException(
                message,
                registry_id=self.registry_id,
                repository_name=self.repository_name,
                upload_id=self.upload_id,
                last_valid_byte_received=self.last_byte_received,
            )
        return error(message)

    # -----------------------------------------------------------------------------------
    # Snapshots, for servers that keep sessions in a shared store

    def to_snapshot(self) -> dict[str, object]:
        """A JSON-safe dict of the whole session, with its schema version."""
        progress = self._progress
        return {
            "schema": SNAPSHOT_SCHEMA,
            "registryId": str(self.registry_id),
            "repositoryName": str(self.repository_name),
            "uploadId": str(self.upload_id),
            "limits": attrs.asdict(self.limits),
            "lastByteReceived": progress.last_byte_received,
            "partCount": progress.part_count,
            "latestPartSize": progress.latest_part_size,
            "hasSmallPartBeforeLatest": progress.small_part_before_latest,
            "layerDigest": None if progress.layer_digest is None else str(progress.layer_digest),
            "revision": self.revision,
        }

    @classmethod
    def from_snapshot(cls, obj: object) -> UploadSession:
        """The session a snapshot describes; InvalidSnapshotError if it describes none
        (malformed, of another schema, or a session no sequence of transitions reaches).

        ``revision`` is in the snapshot for a store's use; it must be the session's.
        """
        try:
            return _from_snapshot(obj)
        except (InvalidParameterException, UsageError) as error:
            raise InvalidSnapshotError(f"not a session snapshot: {error}") from None


def _from_snapshot(obj: object) -> UploadSession:
    if type(obj) is not dict or obj.get("schema") != SNAPSHOT_SCHEMA:
        raise UsageError(f"the schema is not {SNAPSHOT_SCHEMA!r}")

    def get(name: str, kind: type, *, optional: bool = False) -> object:
        value = obj.get(name)
        if (value is None and optional) or type(value) is kind:
            return value
        raise UsageError(f"{name!r} is {value!r}, not a {kind.__name__}")

    def count(name: str, *, optional: bool = False) -> int | None:
        value = get(name, int, optional=optional)
        assert value is None or isinstance(value, int)
        if value is not None and not 0 <= value <= MAX_LONG:
            raise UsageError(f"{name!r} is {value}, outside 0 to {MAX_LONG}")
        return value

    limits = get("limits", dict)
    assert isinstance(limits, dict)
    # Every field, no other: a missing one must not quietly become its default.
    fields = {field.name for field in attrs.fields(Limits)}
    if set(limits) != fields:
        raise UsageError(
            f"'limits' has the fields {sorted(map(str, limits))}, not {sorted(fields)}"
        )
    limits_value = Limits(**limits)
    digest = get("layerDigest", str, optional=True)
    registry_id = RegistryId(str(get("registryId", str)))
    # The name was valid when the session began; the OCI grammar admits every name of
    # both grammars.
    repository_name = RepositoryName(str(get("repositoryName", str)), grammar=RepositoryGrammar.OCI)
    upload_id = UploadId(str(get("uploadId", str)))
    last_byte_received = count("lastByteReceived", optional=True)
    part_count = count("partCount") or 0
    latest_part_size = count("latestPartSize") or 0
    small_part_before_latest = bool(get("hasSmallPartBeforeLatest", bool))
    layer_digest = None if digest is None else LayerDigest(str(digest))
    # A snapshot names no phase: the digest and the parts say it.
    if layer_digest is not None:
        phase = SessionPhase.COMPLETED
    elif part_count:
        phase = SessionPhase.RECEIVING
    else:
        phase = SessionPhase.EMPTY
    progress = _Progress(
        phase=phase,
        part_count=part_count,
        last_byte_received=last_byte_received,
        latest_part_size=latest_part_size,
        small_part_before_latest=small_part_before_latest,
        layer_digest=layer_digest,
    )
    _check_reachable(progress, limits_value)
    session = UploadSession(
        registry_id=registry_id,
        repository_name=repository_name,
        upload_id=upload_id,
        limits=limits_value,
        _progress=progress,
    )
    if count("revision") != session.revision:
        raise UsageError(f"'revision' is {obj.get('revision')!r}, not {session.revision}")
    return session


def _max_parts(limits: Limits) -> int:
    return MAX_PART_COUNT if limits.max_parts is None else min(limits.max_parts, MAX_PART_COUNT)


def _check_reachable(progress: _Progress, limits: Limits) -> None:
    """Refuses progress that no sequence of transitions from a new session could reach.

    Transitions make only reachable progress: this judges what comes in from outside, a
    snapshot, whose counts are already known to be longs of 0 or more.
    """
    received, parts, latest = (
        progress.bytes_received,
        progress.part_count,
        progress.latest_part_size,
    )
    small, completed = progress.small_part_before_latest, progress.phase is SessionPhase.COMPLETED
    # The parts before the latest hold received - latest bytes: each at most the largest
    # part, and at least the smallest unless one of them was small.
    earlier_parts, earlier_bytes = parts - 1, received - latest
    fewest_earlier_bytes = earlier_parts * (1 if small else limits.min_part_bytes)
    most_earlier_bytes = earlier_parts * limits.max_part_bytes - (
        limits.max_part_bytes - limits.min_part_bytes + 1 if small else 0
    )
    rules = (
        (
            parts > 0 or (received == 0 and latest == 0 and not small and not completed),
            "an upload without parts holds nothing and is not completed",
        ),
        (parts == 0 or 1 <= latest <= limits.max_part_bytes, "the latest part fits the limits"),
        # Before the byte counts, which refuse such a session too, with a vaguer reason.
        (parts >= 2 or not small, "a small part before the latest needs two parts"),
        (parts == 0 or fewest_earlier_bytes <= earlier_bytes, "earlier parts hold enough bytes"),
        (parts == 0 or earlier_bytes <= most_earlier_bytes, "earlier parts fit the limits"),
        (not (completed and small), "a completed upload has no small part before its last"),
        (parts <= _max_parts(limits), "the parts fit the quota"),
        (
            limits.max_layer_bytes is None or received <= limits.max_layer_bytes,
            "the layer fits the quota",
        ),
    )
    for holds, rule in rules:
        if not holds:
            raise UsageError(
                f"no upload reaches this session: the rule '{rule}' fails for "
                f"{parts} parts, {received} bytes, the latest of {latest}"
            )
