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
>>> request = UploadLayerPartRequest(
...     repository_name=session.repository_name,
...     upload_id=session.upload_id,
...     part_first_byte=0,
...     part_last_byte=2,
...     layer_part_blob=b"abc",
... )
>>> session, response = session.upload_part(request)
>>> response.last_byte_received
2
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple

import attrs

from .errors import (
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


class _Part(NamedTuple):
    """What the part rules look at."""

    first: int
    last: int
    size: int
    expected_first: int
    max_size: int


#: The rules of a part, in the order they answer: (the part breaks it, the message).
#: Each refusal is InvalidLayerPartException (reference sheet, section 7).
PART_RULES: Final[tuple[tuple[Callable[[_Part], bool], Callable[[_Part], str]], ...]] = (
    (
        lambda p: p.last < p.first,
        lambda p: f"partLastByte {p.last} is before partFirstByte {p.first}",
    ),
    (
        lambda p: p.size == 0,
        lambda p: "The layer part is empty: an inclusive byte range holds at least one byte",
    ),
    (
        lambda p: p.size != p.last - p.first + 1,
        lambda p: (
            f"The layer part holds {p.size} bytes but its range {p.first}-{p.last} "
            f"holds {p.last - p.first + 1}"
        ),
    ),
    (
        # ECR's own wording (apple/container#1895): re-sends are not idempotent.
        lambda p: p.first != p.expected_first,
        lambda p: f"First byte of the layer part is {p.first} instead of {p.expected_first}",
    ),
    (
        lambda p: p.size > p.max_size,
        lambda p: f"The layer part holds {p.size} bytes, more than the maximum {p.max_size}",
    ),
)

#: The most parts a session can count: its revision (the parts, plus one for the
#: completion) is a long in a snapshot, so an upload of this many parts can still complete.
MAX_PART_COUNT: Final = MAX_LONG - 1

#: The snapshot format's name and version; a snapshot of another is refused.
SNAPSHOT_SCHEMA: Final = "ecr_upload_model.UploadSession/1"


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

    Build one with the ids alone (``limits`` is optional); every other field is the
    session's progress, which only its transitions (and :meth:`from_snapshot`) set. A
    session that no sequence of transitions could reach is refused (UsageError).
    """

    registry_id: RegistryId = attrs.field(validator=_instance_of(RegistryId))
    repository_name: RepositoryName = attrs.field(validator=_instance_of(RepositoryName))
    upload_id: UploadId = attrs.field(validator=_instance_of(UploadId))
    limits: Limits = attrs.field(default=API_LIMITS, validator=_instance_of(Limits))
    #: The last byte the upload holds, or ``None`` when it holds none.
    last_byte_received: int | None = attrs.field(
        default=None, validator=_instance_of((int, type(None)))
    )
    part_count: int = attrs.field(default=0, validator=_instance_of(int))
    #: The size of the latest part: the one that is the last part if none follows.
    latest_part_size: int = attrs.field(default=0, validator=_instance_of(int))
    #: Whether a part before the latest fell under ``limits.min_part_bytes``.
    has_small_part_before_latest: bool = attrs.field(default=False, validator=_instance_of(bool))
    #: The digest the upload completed as; ``None`` while it is in progress.
    layer_digest: LayerDigest | None = attrs.field(
        default=None, validator=_instance_of((LayerDigest, type(None)))
    )

    def __attrs_post_init__(self) -> None:
        _check_reachable(self)

    @property
    def revision(self) -> int:
        """The number of accepted transitions: a store's compare-and-swap column."""
        return self.part_count + self.completed

    @property
    def bytes_received(self) -> int:
        return 0 if self.last_byte_received is None else self.last_byte_received + 1

    @property
    def completed(self) -> bool:
        return self.layer_digest is not None

    # -----------------------------------------------------------------------------------
    # Transitions

    def upload_part(
        self, request: UploadLayerPartRequest
    ) -> tuple[UploadSession, UploadLayerPartResponse]:
        """Accepts the next part, or raises InvalidLayerPart / UploadNotFound / LimitExceeded."""
        self._check_addressed(request.registry_id, request.repository_name, request.upload_id)
        part = _Part(
            first=request.part_first_byte,
            last=request.part_last_byte,
            size=memoryview(request.layer_part_blob).nbytes,
            expected_first=self.bytes_received,
            max_size=self.limits.max_part_bytes,
        )
        for breaks, message in PART_RULES:
            if breaks(part):
                raise self._invalid_part(message(part))
        self._check_quotas(part)
        following = attrs.evolve(
            self,
            last_byte_received=part.last,
            part_count=self.part_count + 1,
            latest_part_size=part.size,
            has_small_part_before_latest=self.has_small_part_before_latest
            or (self.part_count > 0 and self.latest_part_size < self.limits.min_part_bytes),
        )
        response = UploadLayerPartResponse(
            registry_id=self.registry_id,
            repository_name=self.repository_name,
            upload_id=self.upload_id,
            last_byte_received=part.last,
        )
        return following, response

    def complete(
        self, request: CompleteLayerUploadRequest, computed_digest: LayerDigest
    ) -> tuple[UploadSession, CompleteLayerUploadResponse]:
        """Completes the upload as ``computed_digest``, the digest of the bytes stored.

        Raises, in this order (reference sheet, section 7): UploadNotFound,
        EmptyUpload, LayerPartTooSmall, InvalidLayer (no digest of the request matches
        ``computed_digest``; hex letter case does not matter). Whether the repository
        already holds the layer is the registry's question, not the session's.
        """
        self._check_addressed(request.registry_id, request.repository_name, request.upload_id)
        if self.part_count == 0:
            raise EmptyUploadException(
                f"The layer upload '{self.upload_id}' cannot be completed because it does "
                "not have any parts"
            )
        if self.has_small_part_before_latest:
            raise LayerPartTooSmallException(
                "All layer parts except the last part should be at least "
                f"{self.limits.min_part_bytes} bytes"
            )
        if not any(digest.matches(computed_digest) for digest in request.layer_digests):
            raise InvalidLayerException(
                f"The layer digest calculated for upload '{self.upload_id}' is "
                f"{computed_digest}, which is none of the digests specified"
            )
        following = attrs.evolve(self, layer_digest=computed_digest)
        response = CompleteLayerUploadResponse(
            registry_id=self.registry_id,
            repository_name=self.repository_name,
            upload_id=self.upload_id,
            layer_digest=computed_digest,
        )
        return following, response

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

    def _invalid_part(self, message: str) -> InvalidLayerPartException:
        return InvalidLayerPartException(
            message,
            registry_id=self.registry_id,
            repository_name=self.repository_name,
            upload_id=self.upload_id,
            last_valid_byte_received=self.last_byte_received,
        )

    def _check_quotas(self, part: _Part) -> None:
        max_layer_bytes = self.limits.max_layer_bytes
        if self.part_count >= _max_parts(self.limits):
            raise LimitExceededException(
                f"The upload already holds {self.part_count} parts, the most a layer may have"
            )
        if max_layer_bytes is not None and part.last >= max_layer_bytes:
            raise LimitExceededException(
                f"The part would make the layer {part.last + 1} bytes, over the maximum "
                f"{max_layer_bytes}"
            )

    # -----------------------------------------------------------------------------------
    # Snapshots, for servers that keep sessions in a shared store

    def to_snapshot(self) -> dict[str, object]:
        """A JSON-safe dict of the whole session, with its schema version."""
        return {
            "schema": SNAPSHOT_SCHEMA,
            "registryId": str(self.registry_id),
            "repositoryName": str(self.repository_name),
            "uploadId": str(self.upload_id),
            "limits": attrs.asdict(self.limits),
            "lastByteReceived": self.last_byte_received,
            "partCount": self.part_count,
            "latestPartSize": self.latest_part_size,
            "hasSmallPartBeforeLatest": self.has_small_part_before_latest,
            "layerDigest": None if self.layer_digest is None else str(self.layer_digest),
            "revision": self.revision,
        }

    @classmethod
    def from_snapshot(cls, obj: object) -> UploadSession:
        """The session a snapshot describes; InvalidSnapshotError if it describes none.

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
    session = UploadSession(
        registry_id=RegistryId(str(get("registryId", str))),
        # The name was valid when the session began; the OCI grammar admits every name
        # of both grammars.
        repository_name=RepositoryName(
            str(get("repositoryName", str)), grammar=RepositoryGrammar.OCI
        ),
        upload_id=UploadId(str(get("uploadId", str))),
        limits=limits_value,
        last_byte_received=count("lastByteReceived", optional=True),
        part_count=count("partCount") or 0,
        latest_part_size=count("latestPartSize") or 0,
        has_small_part_before_latest=bool(get("hasSmallPartBeforeLatest", bool)),
        layer_digest=None if digest is None else LayerDigest(str(digest)),
    )
    if count("revision") != session.revision:
        raise UsageError(f"'revision' is {obj.get('revision')!r}, not {session.revision}")
    return session


def _max_parts(limits: Limits) -> int:
    return MAX_PART_COUNT if limits.max_parts is None else min(limits.max_parts, MAX_PART_COUNT)


def _check_reachable(session: UploadSession) -> None:
    """Refuses a session that no sequence of transitions from a new one could reach."""
    limits = session.limits
    received, parts, latest = session.bytes_received, session.part_count, session.latest_part_size
    small = session.has_small_part_before_latest
    # The parts before the latest hold received - latest bytes: each at most the largest
    # part, and at least the smallest unless one of them was small.
    earlier_parts, earlier_bytes = parts - 1, received - latest
    fewest_earlier_bytes = earlier_parts * (1 if small else limits.min_part_bytes)
    most_earlier_bytes = earlier_parts * limits.max_part_bytes - (
        limits.max_part_bytes - limits.min_part_bytes + 1 if small else 0
    )
    rules = (
        (parts >= 0 and latest >= 0, "counts are not negative"),
        (
            parts > 0 or (received == 0 and latest == 0 and not small and not session.completed),
            "an upload without parts holds nothing and is not completed",
        ),
        (parts == 0 or 1 <= latest <= limits.max_part_bytes, "the latest part fits the limits"),
        # Before the byte counts, which refuse such a session too, with a vaguer reason.
        (parts >= 2 or not small, "a small part before the latest needs two parts"),
        (parts == 0 or fewest_earlier_bytes <= earlier_bytes, "earlier parts hold enough bytes"),
        (parts == 0 or earlier_bytes <= most_earlier_bytes, "earlier parts fit the limits"),
        (not (session.completed and small), "a completed upload has no small part before its last"),
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
