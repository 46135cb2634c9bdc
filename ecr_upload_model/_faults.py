"""The catalogue of faults: each kind of wrong call with the error ECR answers it with,
and how a faulty part is shaped.

One catalogue for the Hypothesis strategies (which put faults into a layer's typed
requests) and the differential tester (which sends them on the wire): a fault is named,
described and judged once. A part's shape is made here from a point of the upload (the
bytes held, the part accepted last) and a way to pick a number, which the caller brings
(a Hypothesis draw), so that this module needs no Hypothesis.

>>> Fault.GAP.error.__name__
'InvalidLayerPartException'
>>> point = PartPoint(held=8, latest=(4, 7), part_size=4, max_part_bytes=16, reach=3)
>>> PART_SHAPES[Fault.GAP](point, lambda low, high: low)  # the smallest gap
PartShape(first=9, last=9, blob_size=1)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Final

import attrs

from .errors import (
    EcrError,
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    InvalidParameterException,
    LayerAlreadyExistsException,
    LayerPartTooSmallException,
    RepositoryNotFoundException,
    UploadNotFoundException,
)
from .limits import MAX_LONG

__all__ = ["AFTER_A_PART", "PART_FAULTS", "PART_SHAPES", "Fault", "PartPoint", "PartShape"]


class Fault(enum.Enum):
    """A kind of call that is wrong, or at an edge: its value is a short label; ``error``
    is the error ECR answers it with (``None``: the call is answered, not refused), and
    ``description`` says what it is.

    The order of ECR's checks decides which error a call with several faults draws (a
    missing repository before an unknown upload before a part's own rules).
    """

    error: type[EcrError] | None
    description: str

    def __new__(cls, label: str, error: type[EcrError] | None, description: str) -> Fault:
        fault = object.__new__(cls)
        fault._value_ = label
        fault.error, fault.description = error, description
        return fault

    # A part's own shape, once the part reaches its upload.
    GAP = "gap", InvalidLayerPartException, "a part that starts after the next byte expected"
    OVERLAP = (
        "overlap",
        InvalidLayerPartException,
        "a part that starts before the next byte expected and ends at or after it",
    )
    RESEND = "re-send", InvalidLayerPartException, "the part accepted last, sent again"
    TOO_LARGE = (
        "part too large",
        InvalidLayerPartException,
        "a part of limits.max_part_bytes + 1 bytes where the next is expected (over the "
        "API's largest part, no typed request holds it, and the wire refuses it first: "
        "InvalidParameterException)",
    )
    LENGTH_MISMATCH = (
        "length not matching the range",
        InvalidLayerPartException,
        "a blob whose length is not its byte range's (neither empty)",
    )
    REVERSED_RANGE = (
        "range ends before it starts",
        InvalidLayerPartException,
        "partLastByte before partFirstByte",
    )
    EMPTY_BLOB = (
        "empty blob",
        InvalidLayerPartException,
        "an empty blob: an inclusive byte range holds at least one byte",
    )
    # The upload or the repository a call names.
    FOREIGN_UPLOAD_ID = (
        "foreign upload id",
        UploadNotFoundException,
        "the id of another upload (in the differential tester, one of another repository)",
    )
    UNKNOWN_UPLOAD_ID = (
        "unknown upload id",
        UploadNotFoundException,
        "an upload id that was never issued",
    )
    COMPLETED_UPLOAD = (
        "completed upload",
        UploadNotFoundException,
        "a part or a completion for an upload already completed",
    )
    MISSING_REPOSITORY = (
        "missing repository",
        RepositoryNotFoundException,
        "a repository that does not exist",
    )
    # The completion.
    EMPTY_UPLOAD = "empty upload", EmptyUploadException, "completing an upload that holds no part"
    SMALL_PART = (
        "small part",
        LayerPartTooSmallException,
        "a part under limits.min_part_bytes followed by another part (refused at completion)",
    )
    WRONG_DIGEST = (
        "wrong digest",
        InvalidLayerException,
        "completing with digests that are not the layer's",
    )
    DUPLICATE_LAYER = (
        "duplicate layer",
        LayerAlreadyExistsException,
        "completing a layer the repository already holds",
    )
    # Digests at the edge of the pattern: answered, not refused.
    UNUSUAL_DIGEST = (
        "unusual digest",
        None,
        "a well-formed digest of another algorithm or in upper-case hex",
    )
    MALFORMED_DIGEST = (
        "malformed digest",
        None,
        "checking the availability of a digest that breaks the pattern (answered with an "
        "InvalidLayerDigest failure)",
    )
    # Any request.
    INVALID_PARAMETER = (
        "invalid parameter",
        InvalidParameterException,
        "a member that breaks its constraint, refused before all else (SerializationException "
        "when it breaks its JSON type)",
    )


#: Part faults that need a part accepted before them.
AFTER_A_PART: Final = frozenset({Fault.OVERLAP, Fault.RESEND})


@attrs.frozen
class PartPoint:
    """Where a faulty part is put in: what the upload holds there."""

    #: The bytes the upload holds: the next part is expected at this byte.
    held: int
    #: The range of the part accepted last, or ``None`` before any.
    latest: tuple[int, int] | None
    #: The size of a correct part here: a faulty one is about as large.
    part_size: int
    #: The largest part the limits take.
    max_part_bytes: int
    #: How far from the next byte expected a faulty part may start or end (at least 1).
    reach: int


@attrs.frozen
class PartShape:
    """A part's range and the length of its blob: the caller fills the blob."""

    first: int
    last: int
    blob_size: int


#: Picks a number from ``low`` to ``high``, both included (a Hypothesis draw shrinks it
#: towards ``low``: the least faulty part).
Pick = Callable[[int, int], int]


def _gap(at: PartPoint, pick: Pick) -> PartShape:
    size = pick(1, at.part_size)
    first = at.held + pick(1, min(at.reach, MAX_LONG - size + 1 - at.held))
    return PartShape(first, first + size - 1, size)


def _overlap(at: PartPoint, pick: Pick) -> PartShape:
    first = at.held - pick(1, min(at.reach, at.held))
    size = pick(at.held - first + 1, at.held - first + at.part_size)
    return PartShape(first, first + size - 1, size)


def _resend(at: PartPoint, pick: Pick) -> PartShape:
    assert at.latest is not None  # AFTER_A_PART
    first, last = at.latest
    return PartShape(first, last, last - first + 1)


def _too_large(at: PartPoint, pick: Pick) -> PartShape:
    size = at.max_part_bytes + 1
    return PartShape(at.held, at.held + size - 1, size)


def _length_mismatch(at: PartPoint, pick: Pick) -> PartShape:
    size = pick(1, at.part_size)
    # Any length from 1 to one more than a part, but the range's.
    blob_size = pick(1, at.part_size)
    return PartShape(at.held, at.held + size - 1, blob_size + (blob_size >= size))


def _reversed_range(at: PartPoint, pick: Pick) -> PartShape:
    first = max(at.held, 1)
    return PartShape(first, first - pick(1, min(at.reach, first)), pick(1, at.part_size))


def _empty_blob(at: PartPoint, pick: Pick) -> PartShape:
    return PartShape(at.held, at.held, 0)


#: How each part fault is shaped at a point of the upload.
PART_SHAPES: Final[Mapping[Fault, Callable[[PartPoint, Pick], PartShape]]] = {
    Fault.GAP: _gap,
    Fault.OVERLAP: _overlap,
    Fault.RESEND: _resend,
    Fault.TOO_LARGE: _too_large,
    Fault.LENGTH_MISMATCH: _length_mismatch,
    Fault.REVERSED_RANGE: _reversed_range,
    Fault.EMPTY_BLOB: _empty_blob,
}
#: The faults of a part's own shape, in the order of the catalogue.
PART_FAULTS: Final = tuple(PART_SHAPES)
