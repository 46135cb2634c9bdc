"""Requests and responses of the four operations of a layer push, and of the repository
operations around it (create, describe, delete, the login token), as immutable values.

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

import datetime
import enum
from collections.abc import Mapping
from typing import Final, Generic, TypeAlias, TypeVar

import attrs

from . import _shapes, identifiers
from ._shapes import (
    Blob,
    Boolean,
    Identifier,
    List,
    Long,
    Structure,
    Text,
    Timestamp,
    member,
    validate_member,
)
from .errors import WireObject
from .identifiers import (
    LayerDigest,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    UploadId,
)
from .limits import (
    API_MAX_PART_BYTES,
    MAX_AUTHORIZATION_REGISTRY_IDS,
    MAX_BATCHED_DIGEST_LENGTH,
    MAX_DESCRIBE_RESULTS,
    MAX_DESCRIBED_NAMES,
    MAX_LAYER_DIGESTS,
)

Self = TypeVar("Self")

# The shapes below and CHECKED are how the values are declared, not part of them.
__all__ = [
    "OPERATIONS",
    "OPERATION_OF",
    "TARGET_PREFIX",
    "AuthorizationData",
    "BatchCheckLayerAvailabilityRequest",
    "BatchCheckLayerAvailabilityResponse",
    "CompleteLayerUploadRequest",
    "CompleteLayerUploadResponse",
    "CreateRepositoryRequest",
    "CreateRepositoryResponse",
    "DeleteRepositoryRequest",
    "DeleteRepositoryResponse",
    "DescribeRepositoriesRequest",
    "DescribeRepositoriesResponse",
    "GetAuthorizationTokenRequest",
    "GetAuthorizationTokenResponse",
    "InitiateLayerUploadRequest",
    "InitiateLayerUploadResponse",
    "Layer",
    "LayerAvailability",
    "LayerFailure",
    "LayerFailureCode",
    "Operation",
    "Repository",
    "Request",
    "Response",
    "UploadLayerPartRequest",
    "UploadLayerPartResponse",
]

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
BATCHED_LAYER_DIGEST_LIST = List(BATCHED_OPERATION_LAYER_DIGEST, 1, MAX_LAYER_DIGESTS)
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
        metadata=member("layerDigests", BATCHED_LAYER_DIGEST_LIST),
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
# The repository operations: create, describe and delete a repository, and the token a
# client logs in to the registry's /v2/ endpoint with

#: Arn and Url: strings without a constraint in the API model.
ARN = FREE_TEXT
URL = FREE_TEXT
CREATION_TIMESTAMP = Timestamp()
FORCE_FLAG = Boolean()
NEXT_TOKEN = FREE_TEXT
MAX_RESULTS = Long(minimum=1, maximum=MAX_DESCRIBE_RESULTS)
#: Base64: a string matching ``^\S+$`` (API model); the registry writes only base64 text.
BASE64 = FREE_TEXT


@attrs.frozen(kw_only=True)
class Repository(_Wire):
    """A repository as the repository operations describe it (the members the registry
    keeps; ECR's tag mutability, scanning and encryption settings are not modelled)."""

    repository_arn: str = attrs.field(validator=CHECKED, metadata=member("repositoryArn", ARN))
    registry_id: RegistryId = attrs.field(
        validator=CHECKED, metadata=member("registryId", REGISTRY_ID)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )
    repository_uri: str = attrs.field(validator=CHECKED, metadata=member("repositoryUri", URL))
    created_at: datetime.datetime = attrs.field(
        validator=CHECKED, metadata=member("createdAt", CREATION_TIMESTAMP)
    )


@attrs.frozen(kw_only=True)
class CreateRepositoryRequest(_Wire):
    """Creates an empty repository. Tags and the image settings of ECR's request are
    members the registry does not model: ignored, as every member the shape does not name."""

    registry_id: RegistryId | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("registryId", REGISTRY_ID, required=False)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )


@attrs.frozen(kw_only=True)
class CreateRepositoryResponse(_Wire):
    """The repository created."""

    repository: Repository = attrs.field(
        validator=CHECKED, metadata=member("repository", Structure(Repository))
    )


@attrs.frozen(kw_only=True)
class DescribeRepositoriesRequest(_Wire):
    """The named repositories (RepositoryNotFound for the first one missing), or a page of
    every repository in the order of their names: ``max_results`` of them, from the
    ``next_token`` a previous page answered."""

    registry_id: RegistryId | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("registryId", REGISTRY_ID, required=False)
    )
    repository_names: tuple[RepositoryName, ...] | None = attrs.field(
        default=None,
        validator=CHECKED,
        metadata=member(
            "repositoryNames", List(REPOSITORY_NAME, 1, MAX_DESCRIBED_NAMES), required=False
        ),
    )
    next_token: str | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("nextToken", NEXT_TOKEN, required=False)
    )
    max_results: int | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("maxResults", MAX_RESULTS, required=False)
    )


@attrs.frozen(kw_only=True)
class DescribeRepositoriesResponse(_Wire):
    """A page of repositories, and the token of the next page when there is one."""

    repositories: tuple[Repository, ...] = attrs.field(
        validator=CHECKED,
        metadata=member("repositories", List(Structure(Repository), 0, MAX_DESCRIBE_RESULTS)),
    )
    next_token: str | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("nextToken", NEXT_TOKEN, required=False)
    )


@attrs.frozen(kw_only=True)
class DeleteRepositoryRequest(_Wire):
    """Deletes a repository; one that holds layers only with ``force``."""

    registry_id: RegistryId | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("registryId", REGISTRY_ID, required=False)
    )
    repository_name: RepositoryName = attrs.field(
        validator=CHECKED, metadata=member("repositoryName", REPOSITORY_NAME)
    )
    force: bool | None = attrs.field(
        default=None, validator=CHECKED, metadata=member("force", FORCE_FLAG, required=False)
    )


@attrs.frozen(kw_only=True)
class DeleteRepositoryResponse(_Wire):
    """The repository deleted, as it was."""

    repository: Repository = attrs.field(
        validator=CHECKED, metadata=member("repository", Structure(Repository))
    )


@attrs.frozen(kw_only=True)
class GetAuthorizationTokenRequest(_Wire):
    """A token for each registry named (the caller's own when none is)."""

    registry_ids: tuple[RegistryId, ...] | None = attrs.field(
        default=None,
        validator=CHECKED,
        metadata=member(
            "registryIds",
            List(REGISTRY_ID, 1, MAX_AUTHORIZATION_REGISTRY_IDS),
            required=False,
        ),
    )


@attrs.frozen(kw_only=True)
class AuthorizationData(_Wire):
    """``authorization_token`` is base64 of ``AWS:<password>``: HTTP Basic credentials for
    ``proxy_endpoint`` until ``expires_at``."""

    authorization_token: str = attrs.field(
        validator=CHECKED, metadata=member("authorizationToken", BASE64)
    )
    expires_at: datetime.datetime = attrs.field(
        validator=CHECKED, metadata=member("expiresAt", CREATION_TIMESTAMP)
    )
    proxy_endpoint: str = attrs.field(validator=CHECKED, metadata=member("proxyEndpoint", URL))


@attrs.frozen(kw_only=True)
class GetAuthorizationTokenResponse(_Wire):
    """One authorization for each registry asked for."""

    authorization_data: tuple[AuthorizationData, ...] = attrs.field(
        validator=CHECKED,
        metadata=member(
            "authorizationData",
            List(Structure(AuthorizationData), 0, MAX_AUTHORIZATION_REGISTRY_IDS),
        ),
    )


# ---------------------------------------------------------------------------------------
# The operations: one table, read by the server's wire layer and the client alike

#: The service's target prefix (botocore's ECR model, ``targetPrefix``): a call's
#: ``X-Amz-Target`` is ``f"{TARGET_PREFIX}.{name}"``.
TARGET_PREFIX: Final = "AmazonEC2ContainerRegistry_V20150921"

#: The requests and responses of a layer push (what a pushing client sends and reads).
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
RepositoryRequest: TypeAlias = (
    CreateRepositoryRequest
    | DescribeRepositoriesRequest
    | DeleteRepositoryRequest
    | GetAuthorizationTokenRequest
)
RepositoryResponse: TypeAlias = (
    CreateRepositoryResponse
    | DescribeRepositoriesResponse
    | DeleteRepositoryResponse
    | GetAuthorizationTokenResponse
)
#: The requests and responses of every operation (what a server reads and answers).
AnyRequest: TypeAlias = Request | RepositoryRequest
AnyResponse: TypeAlias = Response | RepositoryResponse

RequestT = TypeVar("RequestT", bound=AnyRequest)
ResponseT = TypeVar("ResponseT", bound=AnyResponse)


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


_ALL: Final[tuple[Operation[AnyRequest, AnyResponse], ...]] = (
    Operation("InitiateLayerUpload", InitiateLayerUploadRequest, InitiateLayerUploadResponse),
    Operation("UploadLayerPart", UploadLayerPartRequest, UploadLayerPartResponse),
    Operation("CompleteLayerUpload", CompleteLayerUploadRequest, CompleteLayerUploadResponse),
    Operation(
        "BatchCheckLayerAvailability",
        BatchCheckLayerAvailabilityRequest,
        BatchCheckLayerAvailabilityResponse,
    ),
    Operation("CreateRepository", CreateRepositoryRequest, CreateRepositoryResponse),
    Operation("DescribeRepositories", DescribeRepositoriesRequest, DescribeRepositoriesResponse),
    Operation("DeleteRepository", DeleteRepositoryRequest, DeleteRepositoryResponse),
    Operation("GetAuthorizationToken", GetAuthorizationTokenRequest, GetAuthorizationTokenResponse),
)
#: Every operation the package models, by name (the part of ``X-Amz-Target`` after the
#: prefix).
OPERATIONS: Final[Mapping[str, Operation[AnyRequest, AnyResponse]]] = {op.name: op for op in _ALL}
#: The four operations of a layer push.
LAYER_OPERATIONS: Final[Mapping[str, Operation[AnyRequest, AnyResponse]]] = {
    op.name: op for op in _ALL[:4]
}
#: The operation each request class is the request of.
OPERATION_OF: Final[Mapping[type, Operation[AnyRequest, AnyResponse]]] = {
    op.request_type: op for op in _ALL
}
