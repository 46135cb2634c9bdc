"""The numbers of ECR's layer upload, each written once with its source.

Two presets: ``API_LIMITS`` (the API's own rules, which every ECR-compatible server
applies; the default everywhere) and ``SERVICE_QUOTAS`` (the hosted service's quotas,
for servers that want to behave like it).

>>> SERVICE_QUOTAS.max_part_bytes
10485760
"""

from __future__ import annotations

from typing import Any

import attrs

from .errors import UsageError

__all__ = [
    "API_LIMITS",
    "API_MAX_PART_BYTES",
    "AUTHORIZATION_TOKEN_SECONDS",
    "BODY_SLACK_BYTES",
    "DEFAULT_DESCRIBE_RESULTS",
    "DEFAULT_PART_SIZE",
    "MAX_AUTHORIZATION_REGISTRY_IDS",
    "MAX_BATCHED_DIGEST_LENGTH",
    "MAX_BLOB_TEXT_EXPANSION",
    "MAX_BODY_BYTES",
    "MAX_DESCRIBED_NAMES",
    "MAX_DESCRIBE_RESULTS",
    "MAX_IMAGE_TAG_LENGTH",
    "MAX_JSON_BYTES_PER_CHARACTER",
    "MAX_JSON_VALUES",
    "MAX_LAYER_DIGESTS",
    "MAX_LONG",
    "MAX_MANIFEST_BYTES",
    "MAX_NESTING_DEPTH",
    "MAX_REPOSITORY_NAME_LENGTH",
    "MIB",
    "MIN_PART_BYTES",
    "MIN_REPOSITORY_NAME_LENGTH",
    "OCI_MAX_TAG_LENGTH",
    "QUOTA_MAX_LAYER_BYTES",
    "QUOTA_MAX_PARTS",
    "QUOTA_MAX_PART_BYTES",
    "SERVICE_QUOTAS",
    "Limits",
]

MIB = 1024 * 1024

#: LayerPartBlob ``max`` in the API model (seed page: "20971520 bytes (or about 20MB)").
API_MAX_PART_BYTES = 20_971_520
#: "All layer parts except the last part should be at least 5MB": ECR user guide,
#: service quotas; enforced at CompleteLayerUpload as LayerPartTooSmallException.
MIN_PART_BYTES = 5 * MIB
#: Service quotas page: maximum layer part size 10 MiB.
QUOTA_MAX_PART_BYTES = 10 * MIB
#: Service quotas page: maximum number of layer parts, 4,200.
QUOTA_MAX_PARTS = 4_200
#: Service quotas page: maximum layer size, 52,000 MiB.
QUOTA_MAX_LAYER_BYTES = 52_000 * MIB
#: PartSize is a ``long`` in the API model: a signed 64-bit integer.
MAX_LONG = 2**63 - 1
MIN_LONG = -(2**63)
#: InitiateLayerUpload's ``partSize``: what emulators return (docs/ecr-layer-upload.md, section 4).
DEFAULT_PART_SIZE = 10 * MIB
#: LayerDigestList and BatchedOperationLayerDigestList: 1 to 100 items (API model).
MAX_LAYER_DIGESTS = 100
#: BatchedOperationLayerDigest: a string of 0 to 1000 characters (API model).
MAX_BATCHED_DIGEST_LENGTH = 1000
#: RepositoryName: length 2 to 256 (API model).
MIN_REPOSITORY_NAME_LENGTH = 2
MAX_REPOSITORY_NAME_LENGTH = 256
#: DescribeRepositories: RepositoryNameList holds 1 to 100 names, MaxResults is 1 to
#: 1000 (API model); without maxResults a page holds up to 100 (the operation's page).
MAX_DESCRIBED_NAMES = 100
MAX_DESCRIBE_RESULTS = 1000
DEFAULT_DESCRIBE_RESULTS = 100
#: GetAuthorizationTokenRegistryIdList: 1 to 10 registry ids (API model).
MAX_AUTHORIZATION_REGISTRY_IDS = 10
#: "The authorization token is valid for 12 hours" (GetAuthorizationToken's page).
AUTHORIZATION_TOKEN_SECONDS = 12 * 60 * 60

# OCI /v2/: the manifests and tags of ECR's proxy.

#: ImageManifest: length 1 to 4,194,304 in the API model (PutImage), ECR's documented
#: maximum manifest size of 4 MiB. The OCI distribution spec asks registries to take
#: manifests of at least 4 megabytes and to refuse larger ones with 413.
MAX_MANIFEST_BYTES = 4_194_304
#: ImageTag: length 1 to 300 in the API model.
MAX_IMAGE_TAG_LENGTH = 300
#: A tag on /v2/ matches ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``: at most 128 characters
#: (OCI distribution spec). Within ECR's 300, so on /v2/ the spec's bound is the one
#: that holds.
OCI_MAX_TAG_LENGTH = 128


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not int or value < 1:
        raise UsageError(f"{attribute.name} must be a positive int, not {value!r}")


def _positive_or_none(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _positive(instance, attribute, value)


@attrs.frozen
class Limits:
    """The size and count rules a session applies to its parts.

    ``max_parts`` and ``max_layer_bytes`` are ``None`` for "no cap" (the API sets none).
    A part over ``max_part_bytes`` but within ``API_MAX_PART_BYTES`` is refused with
    InvalidLayerPartException; beyond the API maximum it never gets past validation.
    """

    max_part_bytes: int = attrs.field(default=API_MAX_PART_BYTES, validator=_positive)
    min_part_bytes: int = attrs.field(default=MIN_PART_BYTES, validator=_positive)
    max_parts: int | None = attrs.field(default=None, validator=_positive_or_none)
    max_layer_bytes: int | None = attrs.field(default=None, validator=_positive_or_none)
    #: What InitiateLayerUpload answers as ``partSize``.
    part_size: int = attrs.field(default=DEFAULT_PART_SIZE, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_part_bytes > API_MAX_PART_BYTES:
            raise UsageError(f"max_part_bytes cannot exceed the API maximum {API_MAX_PART_BYTES}")
        if not self.min_part_bytes <= self.part_size <= self.max_part_bytes:
            raise UsageError("part_size must lie between min_part_bytes and max_part_bytes")


API_LIMITS = Limits()
SERVICE_QUOTAS = Limits(
    max_part_bytes=QUOTA_MAX_PART_BYTES,
    max_parts=QUOTA_MAX_PARTS,
    max_layer_bytes=QUOTA_MAX_LAYER_BYTES,
)

# ---------------------------------------------------------------------------------------
# What a server reads of one request body: the package's own bounds (ECR publishes none),
# each large enough for every valid request however a JSON writer spells it, and small
# enough that reading a body costs memory and time in proportion to its own size.

#: Room in every body for what no count bounds: member names, whitespace, the registry
#: id, the repository name (256 characters, 1,536 bytes even as ``\u`` escapes), the
#: upload id, the byte range, and members the shape ignores.
BODY_SLACK_BYTES = 64 * 1024
#: The most bytes JSON spends on one character: one outside the Basic Multilingual Plane
#: as two ``\u`` escapes (``\ud83d\ude00``), as ``json.dumps`` (and so botocore) writes it.
MAX_JSON_BYTES_PER_CHARACTER = 12
#: JSON lets a writer escape ``/`` as ``\/`` (PHP's ``json_encode`` does by default), so a
#: blob's base64 text, all of whose characters may be ``/``, can take twice its length.
MAX_BLOB_TEXT_EXPANSION = 2
#: A valid request nests 2 deep (an object holding a list of strings); deeper nesting is
#: refused before the parser recurses, so no thread's stack limits what a body may do.
MAX_NESTING_DEPTH = 32
#: The JSON values one body may hold: a valid request holds at most 106 (100 digests in a
#: list, 5 members); each value costs about 100 bytes parsed, whatever its text.
MAX_JSON_VALUES = 1024


def base64_length(size: int) -> int:
    """The length of the base64 text of ``size`` bytes: 4 characters for every 3 bytes
    or fewer."""
    return 4 * -(-size // 3)


#: The largest body of each operation, by operation name.
MAX_BODY_BYTES = {
    "InitiateLayerUpload": BODY_SLACK_BYTES,
    # LayerDigest has no maximum length: a digest is counted as long as a
    # BatchedOperationLayerDigest may be, in ASCII (its pattern is ASCII), quoted, a comma.
    "CompleteLayerUpload": BODY_SLACK_BYTES + MAX_LAYER_DIGESTS * (MAX_BATCHED_DIGEST_LENGTH + 3),
    "BatchCheckLayerAvailability": BODY_SLACK_BYTES
    + MAX_LAYER_DIGESTS * (MAX_BATCHED_DIGEST_LENGTH * MAX_JSON_BYTES_PER_CHARACTER + 3),
    # The blob's text and the rest; without its blob, a part's body is at most
    # BODY_SLACK_BYTES.
    "UploadLayerPart": BODY_SLACK_BYTES
    + MAX_BLOB_TEXT_EXPANSION * base64_length(API_MAX_PART_BYTES),
    # The repository operations take a few names (DescribeRepositories at most 100 of 256
    # ASCII characters: 26 KB) and members the registry ignores (CreateRepository's 50
    # tags of up to 384 characters: 20 KB): within the slack.
    "CreateRepository": BODY_SLACK_BYTES,
    "DescribeRepositories": BODY_SLACK_BYTES,
    "DeleteRepository": BODY_SLACK_BYTES,
    "GetAuthorizationToken": BODY_SLACK_BYTES,
}
