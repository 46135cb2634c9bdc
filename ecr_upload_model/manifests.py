"""Image manifests and tags, as ECR's PutImage and the OCI ``/v2/`` manifest endpoints take them.

A manifest is kept as the exact bytes pushed, named by their sha256 digest (the OCI
distribution spec: "the registry MUST store the manifest in the exact byte
representation provided by the client"). What the registry reads of it is its media
type and the digests it names: the config and layers of an image manifest, which the
repository must hold as layers, and the manifests of an index, which the repository
must hold as manifests. A ``subject`` is not looked up: the spec has registries take a
manifest whose subject is not pushed yet.

>>> manifest = Manifest.parse(
...     b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", '
...     b'"manifests": []}',
...     content_type=None,
... )
>>> manifest.kind, manifest.manifests
(<ManifestKind.INDEX: 'index'>, ())
>>> str(ImageTag("v1.0"))
'v1.0'
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Final, NoReturn

import attrs

from .errors import InvalidParameterException, UsageError
from .identifiers import LayerDigest, TextRule
from .limits import MAX_IMAGE_TAG_LENGTH, MAX_MANIFEST_BYTES, OCI_MAX_TAG_LENGTH

__all__ = ["MEDIA_TYPES", "ImageTag", "Manifest", "ManifestKind", "reference"]


class ManifestKind(enum.Enum):
    """What a manifest names."""

    #: An image manifest: a config and layers, blobs of the repository.
    IMAGE = "image"
    #: An index (a manifest list): manifests of the repository.
    INDEX = "index"


#: The media types taken: the OCI image spec's manifest and index, and Docker's image
#: manifest v2 schema 2 and its manifest list.
MEDIA_TYPES: Final[Mapping[str, ManifestKind]] = {
    "application/vnd.oci.image.manifest.v1+json": ManifestKind.IMAGE,
    "application/vnd.oci.image.index.v1+json": ManifestKind.INDEX,
    "application/vnd.docker.distribution.manifest.v2+json": ManifestKind.IMAGE,
    "application/vnd.docker.distribution.manifest.list.v2+json": ManifestKind.INDEX,
}

#: The members of each kind that hold descriptors: (member, a list or one descriptor).
_DESCRIPTOR_MEMBERS: Final[Mapping[ManifestKind, tuple[tuple[str, bool], ...]]] = {
    ManifestKind.IMAGE: (("config", False), ("layers", True)),
    ManifestKind.INDEX: (("manifests", True),),
}

_TAG_LENGTH: Final = min(OCI_MAX_TAG_LENGTH, MAX_IMAGE_TAG_LENGTH)
# A character class and a bounded run of another: no pattern here can backtrack.
_TAG_PATTERN: Final = f"[a-zA-Z0-9_][a-zA-Z0-9._-]{{0,{_TAG_LENGTH - 1}}}"
IMAGE_TAG: Final = TextRule(
    "imageTag", _TAG_PATTERN, re.compile(_TAG_PATTERN, re.ASCII), 1, _TAG_LENGTH
)


@attrs.frozen(init=False)
class ImageTag:
    """A tag: the OCI grammar, at most 128 characters (ECR's own bound, 300, is wider)."""

    value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "value", IMAGE_TAG.check(value))

    def __str__(self) -> str:
        return self.value


def reference(text: str) -> ImageTag | LayerDigest:
    """A manifest's reference on ``/v2/``: a digest (it has a ``:``) or else a tag.

    InvalidParameterException (at ``imageDigest`` or ``imageTag``) when it is neither.
    """
    if ":" in text:
        return LayerDigest(text, member="imageDigest")
    return ImageTag(text)


def _invalid(problem: str) -> NoReturn:
    raise InvalidParameterException.constraint("imageManifest", problem)


def _refuse_constant(name: str) -> NoReturn:
    _invalid(f"{name} is not JSON")


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # Readers differ on which of two values counts: the registry must not guess.
        _invalid("an object has the same key twice")
    return obj


def _json(content: bytes) -> object:
    try:
        return json.loads(
            str(content, "utf-8"), parse_constant=_refuse_constant, object_pairs_hook=_object
        )
    except UnicodeDecodeError as error:
        _invalid(f"must be UTF-8 (byte {error.start} is not)")
    except json.JSONDecodeError as error:
        _invalid(f"must be JSON: {error.msg} at character {error.pos}")
    except RecursionError:
        _invalid("must not be nested so deeply")


def _descriptor_digest(value: object, where: str) -> LayerDigest:
    if not isinstance(value, dict):
        _invalid(f"{where} must be a descriptor (an object)")
    if not isinstance(value.get("mediaType"), str):
        _invalid(f"{where}.mediaType must be a string")
    size = value.get("size")
    if type(size) is not int or size < 0:
        _invalid(f"{where}.size must be a non-negative integer")
    digest = value.get("digest")
    if not isinstance(digest, str):
        _invalid(f"{where}.digest must be a string")
    try:
        return LayerDigest(digest)
    except InvalidParameterException:
        _invalid(f"{where}.digest must be a digest (algorithm:hex), not {digest[:100]!r}")


@attrs.frozen
class Manifest:
    """A manifest as pushed: its bytes, their digest, its media type and what it names.

    Made by :meth:`parse` only, so that one that exists is valid.
    """

    media_type: str
    content: bytes = attrs.field(repr=lambda content: f"<{len(content)} bytes>")
    digest: LayerDigest
    #: The blobs an image manifest names (config, then layers); empty for an index.
    blobs: tuple[LayerDigest, ...]
    #: The manifests an index names; empty for an image manifest.
    manifests: tuple[LayerDigest, ...]

    @property
    def kind(self) -> ManifestKind:
        return MEDIA_TYPES[self.media_type]

    @classmethod
    def parse(cls, content: bytes, content_type: str | None) -> Manifest:
        """The manifest ``content`` is, pushed with the header ``content_type``.

        Its media type is its ``mediaType`` member, else the content type (parameters
        aside) if that is one of :data:`MEDIA_TYPES`; when both say one, they must
        agree (the OCI spec has clients send the ``mediaType`` as ``Content-Type``).
        InvalidParameterException at ``imageManifest`` for anything else than a
        manifest of :data:`MEDIA_TYPES`.
        """
        if not isinstance(content, bytes):
            raise UsageError(f"content must be bytes, not {type(content).__name__}")
        if not content:
            _invalid("must have length greater than or equal to 1")
        if len(content) > MAX_MANIFEST_BYTES:
            _invalid(f"must have length less than or equal to {MAX_MANIFEST_BYTES}")
        obj = _json(content)
        if not isinstance(obj, dict):
            _invalid("must be a JSON object")
        declared = obj.get("mediaType")
        if declared is not None and not isinstance(declared, str):
            _invalid("mediaType must be a string")
        given = None if content_type is None else content_type.partition(";")[0].strip()
        if given not in MEDIA_TYPES:
            given = None  # a generic type (a server's default text/plain) says nothing
        if declared is not None and given is not None and given != declared:
            _invalid(f"was sent as {given!r} but its mediaType is {declared!r}")
        media_type = declared or given or ""
        kind = MEDIA_TYPES.get(media_type)
        if kind is None:
            _invalid(f"must be one of the media types {sorted(MEDIA_TYPES)}, not {media_type!r}")
        schema_version = obj.get("schemaVersion")
        if type(schema_version) is not int or schema_version != 2:
            _invalid("schemaVersion must be 2")
        named: list[LayerDigest] = []
        for name, is_list in _DESCRIPTOR_MEMBERS[kind]:
            value = obj.get(name)
            if is_list:
                if not isinstance(value, list):
                    _invalid(f"{name} must be a list of descriptors")
                named.extend(
                    _descriptor_digest(item, f"{name}[{index}]") for index, item in enumerate(value)
                )
            else:
                named.append(_descriptor_digest(value, name))
        return cls(
            media_type=media_type,
            content=content,
            digest=LayerDigest.sha256(hashlib.sha256(content).hexdigest()),
            blobs=tuple(named) if kind is ManifestKind.IMAGE else (),
            manifests=tuple(named) if kind is ManifestKind.INDEX else (),
        )
