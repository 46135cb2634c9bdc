"""ecr_upload_model: the reference model of Amazon ECR's layer upload.

Immutable values and a pure state machine for InitiateLayerUpload, UploadLayerPart,
CompleteLayerUpload and BatchCheckLayerAvailability; no I/O.
"""

from .errors import (
    EcrError,
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    InvalidParameterException,
    InvalidSnapshotError,
    KmsException,
    LayerAlreadyExistsException,
    LayerPartTooSmallException,
    LimitExceededException,
    RepositoryNotFoundException,
    SerializationException,
    ServerException,
    UnknownOperationException,
    UploadNotFoundException,
    UsageError,
)
from .identifiers import LayerDigest, RegistryId, RepositoryGrammar, RepositoryName, UploadId
from .limits import API_LIMITS, SERVICE_QUOTAS, Limits
from .operations import (
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    Layer,
    LayerAvailability,
    LayerFailure,
    LayerFailureCode,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
)
from .registry import Registry
from .session import SessionPhase, UploadSession

__all__ = [
    "API_LIMITS",
    "SERVICE_QUOTAS",
    "BatchCheckLayerAvailabilityRequest",
    "BatchCheckLayerAvailabilityResponse",
    "CompleteLayerUploadRequest",
    "CompleteLayerUploadResponse",
    "EcrError",
    "EmptyUploadException",
    "InitiateLayerUploadRequest",
    "InitiateLayerUploadResponse",
    "InvalidLayerException",
    "InvalidLayerPartException",
    "InvalidParameterException",
    "InvalidSnapshotError",
    "KmsException",
    "Layer",
    "LayerAlreadyExistsException",
    "LayerAvailability",
    "LayerDigest",
    "LayerFailure",
    "LayerFailureCode",
    "LayerPartTooSmallException",
    "LimitExceededException",
    "Limits",
    "Registry",
    "RegistryId",
    "RepositoryGrammar",
    "RepositoryName",
    "RepositoryNotFoundException",
    "SerializationException",
    "ServerException",
    "SessionPhase",
    "UnknownOperationException",
    "UploadId",
    "UploadLayerPartRequest",
    "UploadLayerPartResponse",
    "UploadNotFoundException",
    "UploadSession",
    "UsageError",
]
