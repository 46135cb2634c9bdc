"""Hypothesis strategies for Amazon ECR's layer upload (an optional extra).

Install with ``pip install 'ecr_upload_model[hypothesis]'``; the core never imports
this module. Every strategy is built from the package's own rules: the published
patterns of :mod:`~ecr_upload_model.identifiers` (their texts are generated and judged
by ``_pattern_texts``, with Python's ``re``: an oracle independent of the linear patterns
the package validates with), the numbers of :mod:`~ecr_upload_model.limits` and the
catalogue of faults. No number or pattern is written here again.

- valid identifiers: :func:`registry_ids`, :func:`repository_names`, :func:`upload_ids`,
  :func:`layer_digests`;
- invalid identifiers labelled by the rule they break (:class:`Violation`):
  :func:`invalid_registry_ids`, :func:`invalid_repository_names`,
  :func:`invalid_upload_ids`, :func:`invalid_layer_digests`;
- valid wire requests (decoded JSON objects) of the four operations;
- a layer's parts, valid (:func:`layer_uploads`) or with faults put in
  (:func:`faulty_layer_uploads`, labelled by :class:`Fault`).

>>> from hypothesis import given, settings
>>> @settings(max_examples=10)
... @given(repository_names())
... def test_a_name_reads_back(name):
...     assert RepositoryName(str(name)) == name
>>> test_a_name_reads_back()
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
from collections.abc import Collection, Sequence
from typing import TypeVar

import attrs
from hypothesis import reject
from hypothesis import strategies as st

from ._faults import AFTER_A_PART, PART_FAULTS, PART_SHAPES, Fault, PartPoint
from ._pattern_texts import accepts, alphabet, stretch, texts, within_length
from ._shapes import List
from .errors import UsageError, WireObject
from .identifiers import (
    LAYER_DIGEST,
    REGISTRY_ID,
    UPLOAD_ID,
    LayerDigest,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    TextRule,
    UploadId,
)
from .limits import API_LIMITS, API_MAX_PART_BYTES, MAX_LONG, Limits
from .operations import (
    BATCHED_LAYER_DIGEST_LIST,
    BATCHED_OPERATION_LAYER_DIGEST,
    LAYER_DIGEST_LIST,
    PART_SIZE,
    UploadLayerPartRequest,
)
from .session import UploadSession

__all__ = [
    "LAYER_UPLOAD_FAULTS",
    "SMALL_BLOBS",
    "SMALL_LAYERS",
    "SMALL_PARTS",
    "Fault",
    "LayerUpload",
    "PartStep",
    "Violation",
    "batch_check_layer_availability_requests",
    "complete_layer_upload_requests",
    "faulty_layer_uploads",
    "initiate_layer_upload_requests",
    "invalid_layer_digests",
    "invalid_registry_ids",
    "invalid_repository_names",
    "invalid_upload_ids",
    "layer_digests",
    "layer_uploads",
    "registry_ids",
    "repository_names",
    "upload_ids",
    "upload_layer_part_requests",
]

#: A size given as a number, or as a strategy that draws one.
Size = int | st.SearchStrategy[int]

# Small by default, so that tests stay fast; every size is a parameter.
SMALL_BLOBS: st.SearchStrategy[int] = st.integers(1, 64)
SMALL_LAYERS: st.SearchStrategy[int] = st.integers(0, 1024)
SMALL_PARTS: st.SearchStrategy[int] = st.integers(1, 256)

T = TypeVar("T")


# ---------------------------------------------------------------------------------------
# Valid identifiers


@functools.cache
def registry_ids() -> st.SearchStrategy[RegistryId]:
    """Registry ids: 12 ASCII digits, by RegistryId's published pattern.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(registry_ids())
    ... def test_twelve_digits(registry_id):
    ...     assert str(registry_id).isascii() and str(registry_id).isdigit()
    >>> test_twelve_digits()
    """
    return texts(REGISTRY_ID).map(RegistryId)


@functools.cache
def repository_names(
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
) -> st.SearchStrategy[RepositoryName]:
    """Repository names of ``grammar``, the shortest and longest allowed included.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(repository_names(grammar=RepositoryGrammar.OCI))
    ... def test_oci_names(name):
    ...     assert RepositoryName(str(name), grammar=RepositoryGrammar.OCI) == name
    >>> test_oci_names()
    """
    return texts(grammar.value).map(lambda text: RepositoryName(text, grammar=grammar))


@functools.cache
def upload_ids() -> st.SearchStrategy[UploadId]:
    """Upload ids: UUID-shaped text in any letter case.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(upload_ids())
    ... def test_uuid_shape(upload_id):
    ...     assert [len(group) for group in str(upload_id).split("-")] == [8, 4, 4, 4, 12]
    >>> test_uuid_shape()
    """
    return texts(UPLOAD_ID).map(UploadId)


def layer_digests(algorithms: Sequence[str] | None = ("sha256",)) -> st.SearchStrategy[LayerDigest]:
    """Layer digests: the lowercase hexdigest of some bytes under one of ``algorithms``
    (names ``hashlib`` knows); with ``algorithms=None``, any text of the published
    pattern (any algorithm name, any number of hex digits in either case).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(layer_digests(algorithms=["sha256", "sha512"]))
    ... def test_known_algorithms(digest):
    ...     assert digest.algorithm in {"sha256", "sha512"}
    >>> test_known_algorithms()
    """
    return _layer_digests(None if algorithms is None else tuple(algorithms))


@functools.cache
def _layer_digests(algorithms: tuple[str, ...] | None) -> st.SearchStrategy[LayerDigest]:
    if algorithms is None:
        return texts(LAYER_DIGEST).map(LayerDigest)
    for algorithm in algorithms:
        if algorithm not in hashlib.algorithms_available or hashlib.new(algorithm).digest_size == 0:
            raise UsageError(f"{algorithm!r} is not a fixed-size hashlib algorithm")
        if not accepts(LAYER_DIGEST, f"{algorithm}:{hashlib.new(algorithm).hexdigest()}"):
            raise UsageError(f"{algorithm!r} cannot name a layer digest")
    if not algorithms:
        raise UsageError("layer_digests needs at least one algorithm, or None for any")
    return st.builds(
        lambda algorithm, data: LayerDigest(
            f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
        ),
        st.sampled_from(algorithms),
        st.binary(max_size=32),
    )


# ---------------------------------------------------------------------------------------
# Invalid identifiers, labelled


class Violation(enum.Enum):
    """The rule an invalid identifier breaks."""

    #: Shorter than the minimum length, or missing a part the pattern needs.
    TOO_SHORT = "too short"
    #: Longer than the maximum length, or than the pattern allows.
    TOO_LONG = "too long"
    #: A character the pattern admits nowhere (ASCII punctuation, an uppercase letter
    #: in a name, a non-ASCII letter, ...).
    BAD_CHARACTER = "bad character"
    #: A separator (`.`, `_`, `-`, `/`, `:`) where none may stand: first, last, doubled,
    #: moved or missing.
    BAD_SEPARATOR = "bad separator"
    #: A decimal digit outside ASCII (Arabic-Indic, Devanagari, ...): ``\\d`` would
    #: match it, ``[0-9]`` does not.
    NON_ASCII_DIGIT = "non-ASCII digit"
    #: A valid text followed by ``\\n``, which ``$`` (unlike a whole match) lets through.
    TRAILING_NEWLINE = "trailing newline"
    #: A JSON value other than a string or null: a number, a boolean, a list, an object.
    WRONG_TYPE = "wrong type"


_EVERY_VIOLATION = tuple(Violation)


#: Characters to put in: any, ASCII more often than not.
_CHARACTERS = st.one_of(st.characters(codec="ascii"), st.characters())
#: Decimal digits outside ASCII (Arabic-Indic, Devanagari, fullwidth, ...).
_NON_ASCII_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())
#: JSON values that are not strings (or null): the text goes in a list or an object.
_NOT_TEXT = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.sampled_from([list, dict]),
)


@functools.cache
def _foreign_characters(published: str) -> st.SearchStrategy[str]:
    """Characters the pattern admits nowhere (not a newline, not a decimal digit: those
    have labels of their own)."""
    admitted = alphabet(published)
    return _CHARACTERS.filter(lambda c: c not in admitted and c != "\n" and not c.isdecimal())


def _index(draw: st.DrawFn, size: int) -> int:
    return draw(st.integers(0, size - 1))


def _refused_one(draw: st.DrawFn, rule: TextRule, candidates: list[str]) -> str:
    refused = [text for text in candidates if not accepts(rule, text)]
    if not refused:
        reject()
    return refused[_index(draw, len(refused))]


def _mutant(draw: st.DrawFn, rule: TextRule, violation: Violation, text: str) -> str:
    """An invalid text that breaks ``rule`` by ``violation``, made from a valid ``text``."""
    if violation is Violation.TOO_SHORT:
        if rule.min_length is not None:
            return text[: _index(draw, min(rule.min_length, len(text)))]
        cuts = [text[:k] for k in range(len(text))] + [text[k:] for k in range(1, len(text))]
        return _refused_one(draw, rule, cuts)
    if violation is Violation.TOO_LONG:
        if rule.max_length is not None:
            return stretch(text, draw(st.integers(rule.max_length + 1, 2 * rule.max_length)))
        return text + text[-draw(st.integers(1, len(text))) :]
    if violation is Violation.BAD_CHARACTER:
        foreign = draw(_foreign_characters(rule.published))
        return _replace(text, _index(draw, len(text)), foreign)
    if violation is Violation.NON_ASCII_DIGIT:
        positions = [i for i, c in enumerate(text) if c.isalnum()]
        return _replace(text, positions[_index(draw, len(positions))], draw(_NON_ASCII_DIGITS))
    if violation is Violation.TRAILING_NEWLINE:
        return text + "\n"
    if violation is Violation.BAD_SEPARATOR:
        separators = sorted(c for c in alphabet(rule.published) if not c.isalnum())
        return _refused_one(draw, rule, _misplaced_separators(text, separators))
    raise AssertionError(violation)  # WRONG_TYPE is not made from a text


def _replace(text: str, index: int, character: str) -> str:
    return text[:index] + character + text[index + 1 :]


def _misplaced_separators(text: str, separators: Sequence[str]) -> list[str]:
    """Every text with one separator put first or last, doubled, removed, or moved by one."""
    candidates = [edit for s in separators for edit in (s + text, text + s)]
    for i, c in enumerate(text):
        if c in separators:
            candidates += [text[:i] + c + text[i:], text[:i] + text[i + 1 :]]
            candidates += [_swap(text, i, j) for j in (i - 1, i + 1) if 0 <= j < len(text)]
    return candidates


def _swap(text: str, i: int, j: int) -> str:
    characters = list(text)
    characters[i], characters[j] = characters[j], characters[i]
    return "".join(characters)


def _not_text(draw: st.DrawFn, text: str) -> object:
    value = draw(_NOT_TEXT)
    if value is list:
        return [text]
    if value is dict:
        return {"value": text}
    return value


def _has_length_bounds(rule: TextRule) -> bool:
    return rule.min_length is not None or rule.max_length is not None


def _length_violation(violation: Violation) -> bool:
    return violation in (Violation.TOO_SHORT, Violation.TOO_LONG)


def _invalid(
    rule: TextRule,
    valid: st.SearchStrategy[str],
    applicable: Collection[Violation],
    violations: Collection[Violation] | None,
) -> st.SearchStrategy[tuple[Violation, object]]:
    chosen = applicable if violations is None else [v for v in violations if v in applicable]
    if not chosen:
        raise UsageError(f"none of {violations} applies to {rule.member}")

    violations_chosen = st.sampled_from(sorted(chosen, key=_EVERY_VIOLATION.index))

    @st.composite
    def pairs(draw: st.DrawFn) -> tuple[Violation, object]:
        violation = draw(violations_chosen)
        text = draw(valid)
        if violation is Violation.WRONG_TYPE:
            return violation, _not_text(draw, text)
        if rule.max_length is not None and not _length_violation(violation):
            # Only the pattern may be broken: room for a character more.
            text = text[: rule.max_length - 1] if len(text) >= rule.max_length else text
            if not accepts(rule, text):
                reject()
        mutant = _mutant(draw, rule, violation, text)
        if accepts(rule, mutant) or (
            _has_length_bounds(rule) and within_length(rule, mutant) == _length_violation(violation)
        ):
            reject()  # the mutation missed: it is valid, or breaks another rule than named
        return violation, mutant

    return pairs()


_NO_LENGTH_BOUNDS = frozenset(_EVERY_VIOLATION) - {Violation.BAD_SEPARATOR}


def invalid_registry_ids(
    violations: Collection[Violation] | None = None,
) -> st.SearchStrategy[tuple[Violation, object]]:
    """``(violation, value)`` pairs: a value no RegistryId accepts, and why.

    Every :class:`Violation` applies but ``BAD_SEPARATOR`` (the pattern has none).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(invalid_registry_ids([Violation.NON_ASCII_DIGIT]))
    ... def test_non_ascii_digits_are_refused(pair):
    ...     violation, value = pair
    ...     assert not value.isascii()
    >>> test_non_ascii_digits_are_refused()
    """
    return _invalid(REGISTRY_ID, texts(REGISTRY_ID), _NO_LENGTH_BOUNDS, violations)


def invalid_repository_names(
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
    violations: Collection[Violation] | None = None,
) -> st.SearchStrategy[tuple[Violation, object]]:
    """``(violation, value)`` pairs: a value no RepositoryName of ``grammar`` accepts.

    ``TOO_SHORT`` and ``TOO_LONG`` break only the length bounds (the text would match
    the pattern); the others break only the pattern (the length is within bounds).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(invalid_repository_names(violations=[Violation.TOO_LONG]))
    ... def test_too_long(pair):
    ...     assert len(pair[1]) > 256
    >>> test_too_long()
    """
    return _invalid(grammar.value, texts(grammar.value), _EVERY_VIOLATION, violations)


def invalid_upload_ids(
    violations: Collection[Violation] | None = None,
) -> st.SearchStrategy[tuple[Violation, object]]:
    """``(violation, value)`` pairs: a value no UploadId accepts, and why.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(invalid_upload_ids([Violation.BAD_SEPARATOR]))
    ... def test_dashes_out_of_place(pair):
    ...     assert "-" in pair[1] or len(pair[1]) < 36
    >>> test_dashes_out_of_place()
    """
    return _invalid(UPLOAD_ID, texts(UPLOAD_ID), _EVERY_VIOLATION, violations)


def invalid_layer_digests(
    violations: Collection[Violation] | None = None,
) -> st.SearchStrategy[tuple[Violation, object]]:
    """``(violation, value)`` pairs: a value no LayerDigest accepts, and why.

    Every :class:`Violation` applies but ``TOO_LONG`` (the pattern has no maximum);
    ``TOO_SHORT`` is an empty algorithm or an empty hex part.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(invalid_layer_digests([Violation.TRAILING_NEWLINE]))
    ... def test_trailing_newline(pair):
    ...     assert pair[1].endswith("\\n")
    >>> test_trailing_newline()
    """
    applicable = frozenset(_EVERY_VIOLATION) - {Violation.TOO_LONG}
    return _invalid(LAYER_DIGEST, texts(LAYER_DIGEST), applicable, violations)


# ---------------------------------------------------------------------------------------
# Valid wire requests


def _text_of(values: st.SearchStrategy[object]) -> st.SearchStrategy[str]:
    return values.map(str)


def _request(
    required: dict[str, st.SearchStrategy[object]],
) -> st.SearchStrategy[WireObject]:
    """A request object: the required members, and ``registryId`` or not."""
    return st.fixed_dictionaries(required, optional={"registryId": _text_of(registry_ids())})


def initiate_layer_upload_requests(
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
) -> st.SearchStrategy[WireObject]:
    """InitiateLayerUpload request objects (decoded JSON), ``registryId`` optional.

    >>> from hypothesis import given, settings
    >>> from ecr_upload_model import InitiateLayerUploadRequest
    >>> @settings(max_examples=10)
    ... @given(initiate_layer_upload_requests())
    ... def test_reads(obj):
    ...     InitiateLayerUploadRequest.from_wire(obj)
    >>> test_reads()
    """
    return _request({"repositoryName": _text_of(repository_names(grammar))})


def upload_layer_part_requests(
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
    *,
    blob_sizes: Size = SMALL_BLOBS,
) -> st.SearchStrategy[WireObject]:
    """UploadLayerPart request objects: a base64 blob of ``blob_sizes`` bytes and the
    inclusive range it fills (anywhere from byte 0 to the largest long).

    >>> from hypothesis import given, settings
    >>> from ecr_upload_model import UploadLayerPartRequest
    >>> @settings(max_examples=10)
    ... @given(upload_layer_part_requests(blob_sizes=3))
    ... def test_reads(obj):
    ...     request = UploadLayerPartRequest.from_wire(obj)
    ...     assert request.part_last_byte - request.part_first_byte == 2
    >>> test_reads()
    """

    sizes = _size(blob_sizes)
    addressed = _request(
        {
            "repositoryName": _text_of(repository_names(grammar)),
            "uploadId": _text_of(upload_ids()),
        }
    )

    @st.composite
    def requests(draw: st.DrawFn) -> WireObject:
        size = draw(sizes)
        span = max(size, 1)  # an empty blob still names one byte: last == first
        first = draw(st.integers(PART_SIZE.minimum, MAX_LONG - span + 1))
        blob = draw(st.binary(min_size=size, max_size=size))
        return {
            **draw(addressed),
            "partFirstByte": first,
            "partLastByte": first + span - 1,
            "layerPartBlob": base64.b64encode(blob).decode("ascii"),
        }

    return requests()


def complete_layer_upload_requests(
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
    *,
    algorithms: Sequence[str] | None = ("sha256",),
) -> st.SearchStrategy[WireObject]:
    """CompleteLayerUpload request objects: 1 to 100 digests (see :func:`layer_digests`).

    >>> from hypothesis import given, settings
    >>> from ecr_upload_model import CompleteLayerUploadRequest
    >>> @settings(max_examples=10)
    ... @given(complete_layer_upload_requests())
    ... def test_reads(obj):
    ...     assert CompleteLayerUploadRequest.from_wire(obj).layer_digests
    >>> test_reads()
    """
    digests = _lists(LAYER_DIGEST_LIST, _text_of(layer_digests(algorithms)))
    return _request(
        {
            "repositoryName": _text_of(repository_names(grammar)),
            "uploadId": _text_of(upload_ids()),
            "layerDigests": digests,
        }
    )


def batch_check_layer_availability_requests(
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
) -> st.SearchStrategy[WireObject]:
    """BatchCheckLayerAvailability request objects: 1 to 100 digests, each a valid digest
    or any text up to the 1000-character limit (the check answers those as failures).

    >>> from hypothesis import given, settings
    >>> from ecr_upload_model import BatchCheckLayerAvailabilityRequest
    >>> @settings(max_examples=10)
    ... @given(batch_check_layer_availability_requests())
    ... def test_reads(obj):
    ...     BatchCheckLayerAvailabilityRequest.from_wire(obj)
    >>> test_reads()
    """
    digest = st.one_of(
        _text_of(layer_digests()), st.text(max_size=BATCHED_OPERATION_LAYER_DIGEST.max_length)
    )
    return _request(
        {
            "repositoryName": _text_of(repository_names(grammar)),
            "layerDigests": _lists(BATCHED_LAYER_DIGEST_LIST, digest),
        }
    )


def _lists(shape: List, items: st.SearchStrategy[T]) -> st.SearchStrategy[list[T]]:
    """Lists of ``items`` as many as ``shape`` allows."""
    return st.lists(items, min_size=shape.min_items, max_size=shape.max_items)


# ---------------------------------------------------------------------------------------
# A layer's parts


#: The faults :func:`faulty_layer_uploads` puts in: a part's own shape, or another
#: upload's id (the catalogue's others need a registry: see :mod:`~ecr_upload_model.testing`).
LAYER_UPLOAD_FAULTS: tuple[Fault, ...] = (*PART_FAULTS, Fault.FOREIGN_UPLOAD_ID)


@attrs.frozen
class PartStep:
    """One UploadLayerPart request of a sequence; ``fault`` is ``None`` for the next
    valid part (accepted), else what is wrong with it (refused, changing nothing)."""

    fault: Fault | None
    request: UploadLayerPartRequest


@attrs.frozen
class LayerUpload:
    """A layer, the ids of its upload, and the parts sent to upload it, in order.

    The valid steps, in order, are the layer cut into ``part_size`` parts (the last
    shorter); a 0-byte layer has none.
    """

    registry_id: RegistryId
    repository_name: RepositoryName
    upload_id: UploadId
    layer: bytes
    part_size: int
    steps: tuple[PartStep, ...]

    def session(self, limits: Limits = API_LIMITS) -> UploadSession:
        """A fresh session of this upload."""
        return UploadSession(
            registry_id=self.registry_id,
            repository_name=self.repository_name,
            upload_id=self.upload_id,
            limits=limits,
        )


def _size(size: Size) -> st.SearchStrategy[int]:
    return st.just(size) if isinstance(size, int) else size


def _window(layer: bytes, first: int, size: int) -> bytes:
    """``size`` bytes of the layer from ``first``, zeros past its end."""
    chunk = layer[first : first + size]
    return chunk + bytes(size - len(chunk))


@attrs.frozen
class _Upload:
    """What every part of one upload shares."""

    registry_id: RegistryId
    repository_name: RepositoryName
    upload_id: UploadId
    addresses_registry: bool

    def request(
        self, first: int, last: int, blob: bytes, upload_id: UploadId | None = None
    ) -> UploadLayerPartRequest:
        return UploadLayerPartRequest(
            registry_id=self.registry_id if self.addresses_registry else None,
            repository_name=self.repository_name,
            upload_id=self.upload_id if upload_id is None else upload_id,
            part_first_byte=first,
            part_last_byte=last,
            layer_part_blob=blob,
        )


@st.composite
def _layer(
    draw: st.DrawFn, layer_sizes: Size, part_sizes: Size, limits: Limits, grammar: RepositoryGrammar
) -> tuple[_Upload, bytes, int, list[PartStep]]:
    upload = _Upload(
        draw(registry_ids()),
        draw(repository_names(grammar)),
        draw(upload_ids()),
        draw(st.booleans()),
    )
    size = draw(_size(layer_sizes))
    layer = draw(st.binary(min_size=size, max_size=size))
    part_size = min(draw(_size(part_sizes)), limits.max_part_bytes)
    if part_size < 1:
        raise UsageError(f"a part size must be at least 1, not {part_size}")
    steps = [
        PartStep(None, upload.request(first, first + len(blob) - 1, blob))
        for first in range(0, size, part_size)
        for blob in [layer[first : first + part_size]]
    ]
    return upload, layer, part_size, steps


def layer_uploads(
    layer_sizes: Size = SMALL_LAYERS,
    part_sizes: Size = SMALL_PARTS,
    *,
    limits: Limits = API_LIMITS,
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
) -> st.SearchStrategy[LayerUpload]:
    """A layer and its valid parts: inclusive ranges of ``part_size`` bytes (at most
    ``limits.max_part_bytes``), the last part shorter; no part for a 0-byte layer.

    Sizes are numbers or strategies; keep them small (the layer's bytes are drawn).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(layer_uploads(layer_sizes=10, part_sizes=4))
    ... def test_ranges(upload):
    ...     ranges = [(s.request.part_first_byte, s.request.part_last_byte) for s in upload.steps]
    ...     assert ranges == [(0, 3), (4, 7), (8, 9)]
    >>> test_ranges()
    """
    return _layer(layer_sizes, part_sizes, limits, grammar).map(
        lambda drawn: LayerUpload(
            drawn[0].registry_id,
            drawn[0].repository_name,
            drawn[0].upload_id,
            drawn[1],
            drawn[2],
            tuple(drawn[3]),
        )
    )


@attrs.frozen
class _Point:
    """Where a faulty part is put in: what the upload holds there."""

    upload: _Upload
    layer: bytes
    part_size: int
    limits: Limits
    #: The bytes held, and the part accepted last (None before any).
    held: int
    latest: UploadLayerPartRequest | None

    def part(
        self, first: int, last: int, size: int, upload_id: UploadId | None = None
    ) -> UploadLayerPartRequest:
        """A part of range ``first``-``last`` whose blob is ``size`` bytes of the layer."""
        return self.upload.request(first, last, _window(self.layer, first, size), upload_id)


def _applicable(fault: Fault, at: _Point) -> bool:
    """Whether ``fault`` can be put in at ``at``."""
    if fault in AFTER_A_PART:
        return at.latest is not None
    if fault is Fault.TOO_LARGE:
        # Over the API maximum no typed request exists: the wire refuses it first.
        return at.limits.max_part_bytes < API_MAX_PART_BYTES
    return True


def _faulty_part(draw: st.DrawFn, fault: Fault, at: _Point) -> UploadLayerPartRequest:
    """A part with ``fault``, made for the bytes held at ``at``."""
    if fault is Fault.FOREIGN_UPLOAD_ID:
        other = draw(upload_ids())
        if other == at.upload.upload_id:
            reject()
        size = draw(st.integers(1, at.part_size))
        return at.part(at.held, at.held + size - 1, size, other)
    latest = at.latest
    point = PartPoint(
        held=at.held,
        latest=None if latest is None else (latest.part_first_byte, latest.part_last_byte),
        part_size=at.part_size,
        max_part_bytes=at.limits.max_part_bytes,
        reach=MAX_LONG,  # a gap, say, may start anywhere a long reaches
    )
    shape = PART_SHAPES[fault](point, lambda low, high: draw(st.integers(low, high)))
    return at.part(shape.first, shape.last, shape.blob_size)


def faulty_layer_uploads(
    layer_sizes: Size = SMALL_LAYERS,
    part_sizes: Size = SMALL_PARTS,
    *,
    limits: Limits = API_LIMITS,
    faults: Collection[Fault] = LAYER_UPLOAD_FAULTS,
    max_faults: int = 8,
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
) -> st.SearchStrategy[LayerUpload]:
    """A layer's valid parts (see :func:`layer_uploads`) with up to ``max_faults``
    faulty parts put in between them, each labelled by its :class:`Fault`.

    Each faulty part is made for the bytes held at its point: a refused part changes
    nothing, so the valid parts that follow are still accepted. ``TOO_LARGE`` is put in
    only when ``limits.max_part_bytes`` is under the API maximum (its blob holds one
    byte more than that limit: use small limits); ``OVERLAP`` and ``RESEND`` only
    after a part.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(faulty_layer_uploads(faults=[Fault.GAP], max_faults=1))
    ... def test_gaps_are_labelled(upload):
    ...     assert {step.fault for step in upload.steps} <= {None, Fault.GAP}
    >>> test_gaps_are_labelled()
    """
    if not faults:
        raise UsageError("faulty_layer_uploads needs at least one fault")
    others = set(faults) - set(LAYER_UPLOAD_FAULTS)
    if others:
        raise UsageError(
            f"faulty_layer_uploads puts in the faults of LAYER_UPLOAD_FAULTS only, not "
            f"{sorted(map(repr, others))}"
        )

    @st.composite
    def uploads(draw: st.DrawFn) -> LayerUpload:
        upload, layer, part_size, valid = draw(_layer(layer_sizes, part_sizes, limits, grammar))
        positions = draw(st.lists(st.integers(0, len(valid)), max_size=max_faults))
        steps: list[PartStep] = []
        at = _Point(upload, layer, part_size, limits, held=0, latest=None)
        for index in range(len(valid) + 1):
            for _ in range(positions.count(index)):
                kinds = [fault for fault in faults if _applicable(fault, at)]
                if kinds:
                    fault = draw(st.sampled_from(kinds))
                    steps.append(PartStep(fault, _faulty_part(draw, fault, at)))
            if index < len(valid):
                steps.append(valid[index])
                latest = valid[index].request
                at = attrs.evolve(at, held=latest.part_last_byte + 1, latest=latest)
        return LayerUpload(
            upload.registry_id,
            upload.repository_name,
            upload.upload_id,
            layer,
            part_size,
            tuple(steps),
        )

    return uploads()
