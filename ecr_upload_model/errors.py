"""The ECR errors as one typed hierarchy, each named as ECR names it on the wire.

Every failure a caller can cause is an :class:`EcrError`; each knows its wire
``__type`` (``code``), its HTTP status and its modelled members, and ``to_wire()``
gives the JSON object ECR sends (botocore's ``service-2.json`` for ECR, 2015-09-21).

>>> error = InvalidLayerPartException("gap", last_valid_byte_received=9)
>>> error.to_wire()["lastValidByteReceived"]
9
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .identifiers import RegistryId, RepositoryName, UploadId

__all__ = [
    "AWS_COMMON_ERRORS_BY_CODE",
    "ERRORS_BY_CODE",
    "AccessDeniedException",
    "EcrError",
    "EmptyUploadException",
    "ExpiredTokenException",
    "ImageDigestDoesNotMatchException",
    "ImageNotFoundException",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidClientTokenId",
    "InvalidLayerException",
    "InvalidLayerPartException",
    "InvalidParameterException",
    "InvalidSignatureException",
    "InvalidSnapshotError",
    "InvalidTagParameterException",
    "KmsException",
    "LayerAlreadyExistsException",
    "LayerPartTooSmallException",
    "LayersNotFoundException",
    "LimitExceededException",
    "MissingAuthenticationTokenException",
    "NotAuthorized",
    "ReferencedImagesNotFoundException",
    "RepositoryAlreadyExistsException",
    "RepositoryNotEmptyException",
    "RepositoryNotFoundException",
    "RequestExpired",
    "SerializationException",
    "ServerException",
    "ServiceUnavailable",
    "ThrottlingException",
    "TooManyTagsException",
    "UnknownOperationException",
    "UnmodelledError",
    "UnrecognizedClientException",
    "UploadNotFoundException",
    "UsageError",
    "ValidationException",
    "WireObject",
    "error_code",
]

#: A JSON object as the standard library decodes one.
WireObject = dict[str, object]


def error_code(wire_type: str) -> str:
    """The error code in an ``__type`` as botocore reads it: no ``ns#`` prefix, no ``:suffix``.

    >>> error_code("com.amazonaws.ecr#EmptyUploadException:http://internal")
    'EmptyUploadException'
    """
    return wire_type.rpartition("#")[2].partition(":")[0]


class EcrError(Exception):
    """Base of every error this package raises for a caller's input."""

    #: The wire ``__type``: fixed per class, except for an :class:`UnmodelledError`.
    code: str
    #: The HTTP status: the class's own when a server answers with it; the status that
    #: came on the wire when a client read the error from an answer.
    http_status: int = 400
    #: The API model's documentation of the error: the message when none is given.
    default_message: ClassVar[str]
    #: The ``x-amzn-RequestId`` of the answer that carried the error (a client's reading).
    request_id: str | None = None
    #: The answer's ``x-amz-retry-after`` in seconds, when it carried one (a client's reading).
    retry_after: float | None = None

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """The message ECR sends: the one given, else the model's documentation."""
        given: str | None = self.args[0] if self.args else None
        return self.default_message if given is None else given

    def __str__(self) -> str:
        return self.message

    def wire_members(self) -> WireObject:
        """The modelled members beyond ``message``; absent ones are left out."""
        return {}

    def to_wire(self) -> WireObject:
        """The JSON object ECR answers with: ``__type``, ``message`` and the members."""
        return {"__type": self.code, "message": self.message, **self.wire_members()}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, EcrError)
        return self.to_wire() == other.to_wire()

    def __hash__(self) -> int:
        return hash((self.code, self.message))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    @staticmethod
    def from_wire(obj: object) -> EcrError:
        """The typed error an ECR error body describes: what
        :func:`ecr_upload_model.planning.read_error_body` reads, kept here for callers of
        this older name. The client reads error bodies, with the rest of its answers."""
        # Imported on call: this module imports nothing of the package, which imports it.
        from .planning import read_error_body  # noqa: PLC0415

        return read_error_body(obj)


class ServerException(EcrError):
    """The server failed; the only ECR error that is a fault (HTTP 500)."""

    code = "ServerException"
    http_status = 500
    default_message = "These errors are usually caused by a server-side issue."


class SerializationException(EcrError, ValueError):
    """The body is not JSON, not an object, or a member has the wrong JSON type."""

    code = "SerializationException"
    default_message = "The request body could not be read."


class UnknownOperationException(EcrError, LookupError):
    """The ``X-Amz-Target`` names no operation of this service."""

    code = "UnknownOperationException"
    default_message = "The operation is not known to this service."


class InvalidParameterException(EcrError, ValueError):
    """A member breaks a constraint of the API model (pattern, length, minimum, required)."""

    code = "InvalidParameterException"
    default_message = "The specified parameter is invalid."

    @classmethod
    def constraint(cls, member: str, constraint: str) -> InvalidParameterException:
        """ECR's message form, e.g. ``Invalid parameter at 'repositoryName' failed ...``."""
        # ``__new__`` alone (the exception's own, in C) keeps the message in ``args``: a
        # refused request is answered in half the time ``__init__`` would take (bench, 3).
        error = cls.__new__(
            cls, f"Invalid parameter at '{member}' failed to satisfy constraint: '{constraint}'"
        )
        error.member = member
        return error

    member: str | None = None


class RepositoryNotFoundException(EcrError, LookupError):
    """The repository does not exist in the registry."""

    code = "RepositoryNotFoundException"
    default_message = "The specified repository could not be found."


class UploadNotFoundException(EcrError, LookupError):
    """Unknown upload id, one of another repository or registry, or one completed."""

    code = "UploadNotFoundException"
    default_message = "The upload could not be found, or the specified upload ID is not valid."


class InvalidLayerPartException(EcrError, ValueError):
    """The part is not the next one: its range, its length or its first byte is wrong."""

    code = "InvalidLayerPartException"
    default_message = "The layer part size is not valid."

    def __init__(
        self,
        message: str | None = None,
        *,
        registry_id: RegistryId | None = None,
        repository_name: RepositoryName | None = None,
        upload_id: UploadId | None = None,
        last_valid_byte_received: int | None = None,
    ) -> None:
        super().__init__(message)
        self.registry_id = registry_id
        self.repository_name = repository_name
        self.upload_id = upload_id
        #: The last byte the upload holds; ``None`` when it holds none (then absent
        #: from the wire form: PartSize has a minimum of 0).
        self.last_valid_byte_received = last_valid_byte_received

    def wire_members(self) -> WireObject:
        members: WireObject = {
            "registryId": self.registry_id,
            "repositoryName": self.repository_name,
            "uploadId": self.upload_id,
        }
        wire = {name: str(value) for name, value in members.items() if value is not None}
        if self.last_valid_byte_received is not None:
            return {**wire, "lastValidByteReceived": self.last_valid_byte_received}
        return dict(wire)


class LimitExceededException(EcrError):
    """A service quota would be exceeded (parts per layer, layer size)."""

    code = "LimitExceededException"
    default_message = "The operation would exceed a service limit."


class KmsException(EcrError):
    """The operation failed because of KMS; carries KMS's own error code."""

    code = "KmsException"
    default_message = "The operation failed due to a KMS exception."

    def __init__(self, message: str | None = None, *, kms_error: str | None = None) -> None:
        super().__init__(message)
        self.kms_error = kms_error

    def wire_members(self) -> WireObject:
        return {} if self.kms_error is None else {"kmsError": self.kms_error}


class EmptyUploadException(EcrError):
    """CompleteLayerUpload on an upload that received no part."""

    code = "EmptyUploadException"
    default_message = "The specified layer upload does not contain any layer parts."


class LayerPartTooSmallException(EcrError):
    """CompleteLayerUpload where a part other than the last is under the minimum."""

    code = "LayerPartTooSmallException"
    default_message = "All layer parts except the last part should be at least 5MB."


class InvalidLayerException(EcrError):
    """CompleteLayerUpload where no given digest is the digest of the bytes received."""

    code = "InvalidLayerException"
    default_message = "The layer digest calculated does not match the digest specified."


class LayerAlreadyExistsException(EcrError):
    """CompleteLayerUpload of a layer the repository already holds."""

    code = "LayerAlreadyExistsException"
    default_message = "The image layer already exists in the associated repository."


class RepositoryAlreadyExistsException(EcrError):
    """CreateRepository of a repository the registry already holds."""

    code = "RepositoryAlreadyExistsException"
    default_message = "The specified repository already exists in the specified registry."


class RepositoryNotEmptyException(EcrError):
    """DeleteRepository of a repository that holds layers, without ``force``."""

    code = "RepositoryNotEmptyException"
    default_message = (
        "The specified repository contains images. To delete a repository that contains "
        "images, you must force the deletion with the force parameter."
    )


class InvalidTagParameterException(EcrError, ValueError):
    """A tag of CreateRepository breaks the tag rules (the registry keeps no tags)."""

    code = "InvalidTagParameterException"
    default_message = "An invalid parameter has been specified."


class TooManyTagsException(EcrError):
    """CreateRepository with more tags than a resource may carry."""

    code = "TooManyTagsException"
    default_message = "The list of tags on the repository is over the limit."


# PutImage and the image lookups: what ECR's proxy answers a manifest with, in ECR's names
# (botocore's ECR model); the OCI front end answers each with its /v2/ code.


class LayersNotFoundException(EcrError):
    """A manifest names a blob (config or layer) the repository does not hold."""

    code = "LayersNotFoundException"
    default_message = (
        "The specified layers could not be found, or the specified layer is not valid for "
        "this repository."
    )


class ReferencedImagesNotFoundException(EcrError):
    """A manifest list (index) names a manifest the repository does not hold."""

    code = "ReferencedImagesNotFoundException"
    default_message = "The manifest list is referencing an image that does not exist."


class ImageNotFoundException(EcrError, LookupError):
    """No image of that tag or digest in the repository."""

    code = "ImageNotFoundException"
    default_message = "The image requested does not exist in the specified repository."


class ImageDigestDoesNotMatchException(EcrError):
    """A manifest pushed by digest whose bytes have another digest."""

    code = "ImageDigestDoesNotMatchException"
    default_message = (
        "The specified image digest does not match the digest that Amazon ECR calculated "
        "for the image."
    )


ERRORS_BY_CODE: Mapping[str, type[EcrError]] = {
    error.code: error
    for error in (
        ServerException,
        SerializationException,
        UnknownOperationException,
        InvalidParameterException,
        RepositoryNotFoundException,
        UploadNotFoundException,
        InvalidLayerPartException,
        LimitExceededException,
        KmsException,
        EmptyUploadException,
        LayerPartTooSmallException,
        InvalidLayerException,
        LayerAlreadyExistsException,
        RepositoryAlreadyExistsException,
        RepositoryNotEmptyException,
        InvalidTagParameterException,
        TooManyTagsException,
        LayersNotFoundException,
        ReferencedImagesNotFoundException,
        ImageNotFoundException,
        ImageDigestDoesNotMatchException,
    )
}


# ---------------------------------------------------------------------------------------
# Errors any AWS service may answer, besides the operation's own (AWS's "Common Errors"
# list of the API reference, and the answers of AWS JSON services to unsigned or wrongly
# signed calls). A server of this package never answers them; a client reads them.


class AccessDeniedException(EcrError):
    """The caller's credentials may not make this call (IAM)."""

    code = "AccessDeniedException"
    default_message = "You do not have sufficient access to perform this action."


class IncompleteSignature(EcrError):
    """The request signature does not conform to AWS standards."""

    code = "IncompleteSignature"
    default_message = "The request signature does not conform to AWS standards."


class InternalFailure(EcrError):
    """The service failed for an unknown reason (HTTP 500)."""

    code = "InternalFailure"
    http_status = 500
    default_message = (
        "The request processing has failed because of an unknown error, exception or failure."
    )


class InvalidClientTokenId(EcrError):
    """The access key or token does not exist in AWS's records (HTTP 403)."""

    code = "InvalidClientTokenId"
    http_status = 403
    default_message = "The X.509 certificate or AWS access key ID provided does not exist."


class NotAuthorized(EcrError):
    """The caller has no permission to perform this action."""

    code = "NotAuthorized"
    default_message = "You do not have permission to perform this action."


class RequestExpired(EcrError):
    """The request reached the service more than 15 minutes after its date stamp."""

    code = "RequestExpired"
    default_message = (
        "The request reached the service more than 15 minutes after the date stamp on the "
        "request or more than 15 minutes after the request expiration date."
    )


class ServiceUnavailable(EcrError):
    """The service is unavailable for now (HTTP 503)."""

    code = "ServiceUnavailable"
    http_status = 503
    default_message = "The request has failed due to a temporary failure of the server."


class ThrottlingException(EcrError):
    """Too many calls: the service throttled this one.

    HTTP 429, as ECR's troubleshooting page shows it (AWS's common-errors list says 400;
    a client goes by the code, and keeps the status it was sent).
    """

    code = "ThrottlingException"
    http_status = 429
    default_message = "The request was denied due to request throttling."


class ValidationException(EcrError, ValueError):
    """The input fails a constraint the service checks before the operation does."""

    code = "ValidationException"
    default_message = "The input fails to satisfy the constraints specified by an AWS service."


class UnrecognizedClientException(EcrError):
    """The access key is not known to the service."""

    code = "UnrecognizedClientException"
    default_message = "The security token included in the request is invalid."


class InvalidSignatureException(EcrError):
    """The signature does not match the one the service computes, or has expired."""

    code = "InvalidSignatureException"
    default_message = (
        "The request signature we calculated does not match the signature you provided."
    )


class ExpiredTokenException(EcrError):
    """The session token has expired."""

    code = "ExpiredTokenException"
    default_message = "The security token included in the request is expired."


class MissingAuthenticationTokenException(EcrError):
    """The call carries no ``Authorization`` header."""

    code = "MissingAuthenticationTokenException"
    default_message = "Missing Authentication Token"


AWS_COMMON_ERRORS_BY_CODE: Mapping[str, type[EcrError]] = {
    error.code: error
    for error in (
        AccessDeniedException,
        IncompleteSignature,
        InternalFailure,
        InvalidClientTokenId,
        NotAuthorized,
        RequestExpired,
        ServiceUnavailable,
        ThrottlingException,
        ValidationException,
        UnrecognizedClientException,
        InvalidSignatureException,
        ExpiredTokenException,
        MissingAuthenticationTokenException,
    )
}


class UnmodelledError(EcrError):
    """An error answer whose code the package does not model: its code and body are kept.

    Not a :class:`SerializationException`, which says that a body could not be read. An
    error answer with no ``__type`` (an empty body, a proxy's HTML page) gets the HTTP
    status as its code, as botocore reads it.
    """

    default_message = "An error the package does not model."

    def __init__(self, message: str | None = None, *, code: str, body: object = None) -> None:
        super().__init__(message)
        self.code = code
        #: The decoded JSON object of the answer, or its raw bytes if it was not one.
        self.body = body

    def wire_members(self) -> WireObject:
        if not isinstance(self.body, dict):
            return {}
        return {
            name: value
            for name, value in self.body.items()
            if name not in {"__type", "message", "Message"}
        }

    def __reduce__(self) -> tuple[object, ...]:
        return (_unmodelled_error, (self.args, self.code, self.body))

    def __repr__(self) -> str:
        return f"UnmodelledError({self.message!r}, code={self.code!r})"


def _unmodelled_error(args: tuple[object, ...], code: str, body: object) -> UnmodelledError:
    message = args[0] if args else None
    return UnmodelledError(message if isinstance(message, str) else None, code=code, body=body)


class UsageError(ValueError):
    """A programming mistake in how this package is called (not a caller's request)."""


class InvalidSnapshotError(UsageError):
    """A session snapshot that is malformed, of another schema, or inconsistent."""
