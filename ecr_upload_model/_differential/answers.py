"""What of two answers is compared, and what may honestly differ.

Compared: the HTTP status, the content type, the error code (``__type`` as botocore reads
it) and the modelled members. Not compared: upload ids and the registry id (each side's
are mapped to shared labels), messages, request ids, other headers, member order, the
order of BatchCheckLayerAvailability's lists, ``failureReason`` and ``mediaType``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Collection, Mapping
from typing import Final

import attrs

from ..errors import error_code
from ..wire import CONTENT_TYPE

#: The modelled members of the errors that have any (botocore's ECR model).
ERROR_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "InvalidLayerPartException": (
        "registryId",
        "repositoryName",
        "uploadId",
        "lastValidByteReceived",
    ),
    "KmsException": ("kmsError",),
}
#: Success members not compared: ``mediaType`` comes from an image manifest, which this
#: model has none of; ``failureReason`` is wording.
HONESTLY_DIFFERENT_MEMBERS: Final = frozenset({"mediaType", "failureReason"})
#: Members holding ids that each side issues for itself.
ALIASED_MEMBERS: Final = frozenset({"uploadId", "registryId"})
ABSENT: Final = "<absent>"


class Side(enum.Enum):
    """Who answered: the server under test, or the reference registry."""

    SERVER = "server"
    REFERENCE = "reference"


@attrs.define
class Aliases:
    """Each side's id for a thing, by the label both share (``<upload 1>``, ``<registry>``)."""

    labels: dict[Side, dict[str, str]] = attrs.Factory(lambda: {side: {} for side in Side})

    def bind(self, label: str, reference_id: str, server_id: str) -> None:
        self.labels[Side.REFERENCE].setdefault(reference_id, label)
        self.labels[Side.SERVER].setdefault(server_id, label)

    def label(self, side: Side, value: object) -> object:
        return self.labels[side].get(value, value) if isinstance(value, str) else value


@attrs.frozen
class Answer:
    """One side's answer to a call, as it came."""

    status: int
    content_type: str | None
    body: object  # the decoded JSON, or the raw bytes when they are not JSON

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str], body: bytes) -> Answer:
        content_type = next(
            (value for name, value in headers.items() if name.lower() == "content-type"), None
        )
        try:
            decoded: object = json.loads(body)
        except (ValueError, RecursionError):
            decoded = bytes(body)
        media_type = None if content_type is None else content_type.split(";")[0].strip().lower()
        return cls(status, media_type, decoded)

    @property
    def error(self) -> bool:
        return self.status >= 300

    def outcome(self) -> tuple[int, object]:
        """The status, and the error code (``__type`` as botocore reads it) of an error."""
        wire_type = self.member("__type") if self.error else None
        return self.status, error_code(wire_type) if isinstance(wire_type, str) else wire_type

    def member(self, name: str) -> object:
        return self.body.get(name) if isinstance(self.body, dict) else None

    def view(self, side: Side, aliases: Aliases) -> dict[str, object]:
        """What is compared: status, content type, error code and modelled members."""
        seen: dict[str, object] = {"status": self.status, "contentType": self.content_type}
        if not isinstance(self.body, dict):
            seen["body"] = f"not a JSON object: {shorten(repr(self.body))}"
            return seen
        names: Collection[str]
        if self.error:
            code = seen["__type"] = self.outcome()[1]
            names = ERROR_MEMBERS.get(code, ()) if isinstance(code, str) else ()
        else:
            names = sorted(set(self.body) - HONESTLY_DIFFERENT_MEMBERS)
        for name in names:
            seen[name] = _comparable(name, self.body.get(name), side, aliases)
        return seen

    def summary(self, side: Side, aliases: Aliases) -> str:
        seen = self.view(side, aliases)
        head = " ".join(str(seen.pop(key)) for key in ("status", "__type") if key in seen)
        content_type = seen.pop("contentType")
        text = f"{head} {json.dumps(seen, sort_keys=True)}"
        if content_type != CONTENT_TYPE:
            text += f" Content-Type: {content_type}"
        message = self.member("message") or self.member("Message")
        return text + (f"  ({shorten(str(message))})" if message else "")


def _comparable(name: str, value: object, side: Side, aliases: Aliases) -> object:
    if value is None:
        return ABSENT
    if name in ALIASED_MEMBERS:
        return aliases.label(side, value)
    if isinstance(value, list):
        items = [
            {key: item[key] for key in sorted(item) if key not in HONESTLY_DIFFERENT_MEMBERS}
            if isinstance(item, dict)
            else item
            for item in value
        ]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=repr))
    return value


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
