"""Requests and responses of the four operations of a layer push, as immutable values.

Each is read from the decoded JSON object of its wire form with ``from_wire`` (raising
the error ECR would, in ECR's order) and written back with ``to_wire``. Built in
Python, each field is checked by the same shape (a wrong value is an
InvalidParameterException).

>>> request = UploadLayerPartRequest.from_wire(
...     {
...         "repositoryName": "team/app",
...         "uploadId": "0a1b2c3d-0000-4000-8000-000000000000",
...         "partFirstByte": 0,
...         "partLastByte": 2,
...         "layerPartBlob": "YWJj",
...     }
... )
>>> bytes(request.layer_part_blob)
b'abc'
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final, Generic, TypeAlias, TypeVar

import attrs

from . import _shapes, identifiers
from ._shapes import Blob, Identifier, List, Long, Structure, Text, member, validate_member
from .errors import WireObject
from .identifiers import (
    LayerDigest,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    UploadId,
)
from .limits import API_MAX_PART_BYTES, MAX_BATCHED_DIGEST_LENGTH, MAX_LAYER_DIGESTS

Self = TypeVar("Self")

# The shapes of the API model (botocore's ecr service-2.json), each written once.
REGISTRY_ID = Identifier(RegistryId, identifiers.REGISTRY_ID)
#: Judged by the grammar the reader is given (the seed's by default).
REPOSITORY_NAME = Identifier(RepositoryName, None)
UPLOAD_ID = Identifier(UploadId, identifiers.UPLOAD_ID)
LAYER_DIGEST = Identifier(LayerDigest, identifiers.LAYER_DIGEST)
PART_SIZE = Long(minimum=0)
LAYER_SIZE_IN_BYTES = Long(minimum=None)
LAYER_PART_BLOB = Blob(API_MAX_PART_BYTES)
LAYER_DIGEST_LIST = List(LAYER_DIGEST, 1, MAX_LAYER_DIGESTS)


#: BatchedOperationLayerDigest: any string of 0 to 1000 characters (no pattern).
BATCHED_OPERATION_LAYER_DIGEST = Text(
    _shapes.text_itself, str, max_length=MAX_BATCHED_DIGEST_LENGTH
)
FREE_TEXT = Text(_shapes.text_itself, str)


class _Wire:
    """``from_wire`` and ``to_wire`` through the member shapes of the class's fields."""

    __slots__ = ()  # the attrs classes are slotted: no ``__dict__`` from their base

    @classmethod
    def from_wire(
        cls: type[Self], obj: object, *, grammar: RepositoryGrammar = RepositoryGrammar.SEED
    ) -> Self:
        """Reads the decoded JSON object of the wire form; ECR's error on a bad one."""
        return _shapes.read(cls, obj, grammar)

    def to_wire(self) -> WireObject:
        """The JSON object of the wire form (blobs as base64 text)."""
        return _shapes.write(self)


# Every field below is ``attrs.field(validator=CHECKED, metadata=member(...))``: the
# metadata names the wire member and its shape, which ``from_wire``, ``to_wire`` and the
# validator all read. The field order is the API model's member order, which decides
# which violation answers first.
CHECKED = validate_member


# ---------------------------------------------------------------------------------------
# InitiateLayerUpload


@attrs.frozen(kw_only=True)
class InitiateLayerUploadRequest(_Wire):
    """Starts an upload into a repository."""

    registry_id: RegistryId | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("registryId", REGISTRY_ID, required=False)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )


@attrs.frozen(kw_only=True)
class InitiateLayerUploadResponse(_Wire):
    """The new upload's id and the part size ECR expects."""

    upload_id: UploadId = attrs.field(validator=CHECKED, metadata=member("uploadId", UPLOAD_ID))
    part_size: int = attrs.field(validator=CHECKED, metadata=member("partSize", PART_SIZE))


# ---------------------------------------------------------------------------------------
# UploadLayerPart


def _blob_repr(blob: bytes | memoryview) -> str:
    return f"<{memoryview(blob).nbytes} bytes>"


@attrs.frozen(kw_only=True)
class UploadLayerPartRequest(_Wire):
    """One part of a layer: bytes ``part_first_byte`` to ``part_last_byte``, inclusive.

    ``layer_part_blob`` may be a memoryview over the caller's buffer (a client builds
    parts without copying its layer); it is compared by content and never hashed.
    """

    registry_id: RegistryId | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("registryId", REGISTRY_ID, required=False)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )
    upload_id: UploadId = attrs.field(validator=CHECKED, metadata=member("uploadId", UPLOAD_ID))
    part_first_byte: int = attrs.field(
        validator=CHECKED, metadata=member("partFirstByte", PART_SIZE)
    )
    part_last_byte: int = attrs.field(validator=CHECKED, metadata=member("partLastByte", PART_SIZE))
    layer_part_blob: bytes | memoryview = attrs.field(
        validator=CHECKED,
        metadata=member("layerPartBlob", LAYER_PART_BLOB),
        repr=_blob_repr,
        hash=False,
    )


@attrs.frozen(kw_only=True)
class UploadLayerPartResponse(_Wire):
    """The part was accepted: the upload now holds bytes 0 to ``last_byte_received``."""

    registry_id: RegistryId = attrs.field(
        validator=CHECKED, metadata=member("registryId", REGISTRY_ID)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )
    upload_id: UploadId = attrs.field(validator=CHECKED, metadata=member("uploadId", UPLOAD_ID))
    last_byte_received: int = attrs.field(
        validator=CHECKED, metadata=member("lastByteReceived", PART_SIZE)
    )


# ---------------------------------------------------------------------------------------
# CompleteLayerUpload


@attrs.frozen(kw_only=True)
class CompleteLayerUploadRequest(_Wire):
    """Ends an upload; ``layer_digests`` are the client's digests of the whole layer."""

    registry_id: RegistryId | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("registryId", REGISTRY_ID, required=False)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )
    upload_id: UploadId = attrs.field(validator=CHECKED, metadata=member("uploadId", UPLOAD_ID))
    layer_digests: tuple[LayerDigest, ...] = attrs.field(
        validator=CHECKED, metadata=member("layerDigests", LAYER_DIGEST_LIST)
    )


@attrs.frozen(kw_only=True)
class CompleteLayerUploadResponse(_Wire):
    """The upload is a layer now, named by the digest of its bytes."""

    registry_id: RegistryId = attrs.field(
        validator=CHECKED, metadata=member("registryId", REGISTRY_ID)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )
    upload_id: UploadId = attrs.field(validator=CHECKED, metadata=member("uploadId", UPLOAD_ID))
    layer_digest: LayerDigest = attrs.field(
        validator=CHECKED, metadata=member("layerDigest", LAYER_DIGEST)
    )


# ---------------------------------------------------------------------------------------
# BatchCheckLayerAvailability


class LayerAvailability(enum.Enum):
    """API model shape LayerAvailability."""

    AVAILABLE = "AVAILABLE"
    UNAVAILABLE = "UNAVAILABLE"
    ARCHIVED = "ARCHIVED"


class LayerFailureCode(enum.Enum):
    """API model shape LayerFailureCode."""

    INVALID_LAYER_DIGEST = "InvalidLayerDigest"
    MISSING_LAYER_DIGEST = "MissingLayerDigest"


@attrs.frozen(kw_only=True)
class BatchCheckLayerAvailabilityRequest(_Wire):
    """Asks which of up to 100 digests the repository holds.

    The digests are BatchedOperationLayerDigest: any text of up to 1000 characters; a
    malformed one is answered as a failure, not refused.
    """

    registry_id: RegistryId | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("registryId", REGISTRY_ID, required=False)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )
    layer_digests: tuple[str, ...] = attrs.field(
        validator=CHECKED,
        metadata=member("layerDigests", List(BATCHED_OPERATION_LAYER_DIGEST, 1, MAX_LAYER_DIGESTS)),
    )


@attrs.frozen(kw_only=True)
class Layer(_Wire):
    """A layer the repository holds."""

    layer_digest: LayerDigest = attrs.field(
        validator=CHECKED, metadata=member("layerDigest", LAYER_DIGEST)
    )
    layer_availability: LayerAvailability = attrs.field(
        validator=CHECKED,
        metadata=member("layerAvailability", _shapes.enum_text(LayerAvailability)),
    )
    layer_size: int = attrs.field(
        validator=CHECKED, metadata=member("layerSize", LAYER_SIZE_IN_BYTES)
    )
    media_type: str | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("mediaType", FREE_TEXT, required=False)
    )


@attrs.frozen(kw_only=True)
class LayerFailure(_Wire):
    """A digest the check could not answer with a layer: malformed, or not held."""

    layer_digest: str = attrs.field(
        validator=CHECKED, metadata=member("layerDigest", BATCHED_OPERATION_LAYER_DIGEST)
    )
    failure_code: LayerFailureCode = attrs.field(
        validator=CHECKED,
        metadata=member("failureCode", _shapes.enum_text(LayerFailureCode)),
    )
    failure_reason: str = attrs.field(
        validator=CHECKED, metadata=member("failureReason", FREE_TEXT)
    )


@attrs.frozen(kw_only=True)
class BatchCheckLayerAvailabilityResponse(_Wire):
    """The held layers and the failures, each digest of the request in one of them."""

    layers: tuple[Layer, ...] = attrs.field(
        validator=CHECKED, metadata=member("layers", List(Structure(Layer), 0, MAX_LAYER_DIGESTS))
    )
    failures: tuple[LayerFailure, ...] = attrs.field(
        validator=CHECKED,
        metadata=member("failures", List(Structure(LayerFailure), 0, MAX_LAYER_DIGESTS)),
    )


# ---------------------------------------------------------------------------------------
# The four operations: one table, read by the server's wire layer and the client alike

#: The service's target prefix (botocore's ECR model, ``targetPrefix``): a call's
#: ``X-Amz-Target`` is ``f"{TARGET_PREFIX}.{name}"``.
TARGET_PREFIX: Final = "AmazonEC2ContainerRegistry_V20150921"

Request: TypeAlias = (
    InitiateLayerUploadRequest
    | UploadLayerPartRequest
    | CompleteLayerUploadRequest
    | BatchCheckLayerAvailabilityRequest
)
Response: TypeAlias = (
    InitiateLayerUploadResponse
    | UploadLayerPartResponse
    | CompleteLayerUploadResponse
    | BatchCheckLayerAvailabilityResponse
)

RequestT = TypeVar("RequestT", bound=Request)
ResponseT = TypeVar("ResponseT", bound=Response)


@attrs.frozen
class Operation(Generic[RequestT, ResponseT]):
    """One operation: its name, the shape of its request and of its response."""

    name: str
    request_type: type[RequestT]
    response_type: type[ResponseT]

    @property
    def target(self) -> str:
        """The ``X-Amz-Target`` header value of a call."""
        return f"{TARGET_PREFIX}.{self.name}"


_ALL: Final[tuple[Operation[Request, Response], ...]] = (
    Operation("InitiateLayerUpload", InitiateLayerUploadRequest, InitiateLayerUploadResponse),
    Operation("UploadLayerPart", UploadLayerPartRequest, UploadLayerPartResponse),
    Operation("CompleteLayerUpload", CompleteLayerUploadRequest, CompleteLayerUploadResponse),
    Operation(
        "BatchCheckLayerAvailability",
        BatchCheckLayerAvailabilityRequest,
        BatchCheckLayerAvailabilityResponse,
    ),
)
#: The four operations by name (the part of ``X-Amz-Target`` after the prefix).
OPERATIONS: Final[Mapping[str, Operation[Request, Response]]] = {op.name: op for op in _ALL}
#: The operation each request class is the request of.
OPERATION_OF: Final[Mapping[type, Operation[Request, Response]]] = {
    op.request_type: op for op in _ALL
}
