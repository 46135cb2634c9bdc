"""The four operations' requests and responses: from_wire, to_wire, and ECR's order of errors.

The wire form here is the decoded JSON object (what ``json.loads`` gives); the blob is
base64 text. Rows of the decision table of docs/ecr-layer-upload.md (section 7) that are decided
when a request is read are tested here; those decided by the session, in test_session.
"""

from __future__ import annotations

import array
import base64
import functools
import json
import math
import traceback
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    EcrError,
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    InvalidParameterException,
    Layer,
    LayerAvailability,
    LayerDigest,
    LayerFailure,
    LayerFailureCode,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    SerializationException,
    UploadId,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
    _shapes,
    identifiers,
)
from ecr_upload_model._shapes import MAX_KEPT_IDENTIFIER_LENGTH, MAX_KEPT_IDENTIFIERS
from ecr_upload_model.limits import (
    API_MAX_PART_BYTES,
    MAX_BATCHED_DIGEST_LENGTH,
    MAX_LAYER_DIGESTS,
    MAX_LONG,
)
from ecr_upload_model.strategies import (
    Violation,
    batch_check_layer_availability_requests,
    complete_layer_upload_requests,
    initiate_layer_upload_requests,
    invalid_registry_ids,
    invalid_repository_names,
    invalid_upload_ids,
    layer_digests,
    registry_ids,
    repository_names,
    upload_ids,
    upload_layer_part_requests,
)

T = TypeVar("T")
Wire = dict[str, object]

REGISTRY = "123456789012"
NAME = "team/app"
UPLOAD = "0a1b2c3d-0000-4000-8000-000000000000"
DIGEST = "sha256:" + "ab" * 32
SEED = RepositoryGrammar.SEED


def constraint(member: str, text: str) -> str:
    return f"Invalid parameter at '{member}' failed to satisfy constraint: '{text}'"


def b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode("ascii")


def part_wire(**members: object) -> Wire:
    """A valid UploadLayerPart request object, with ``members`` put in (None removes)."""
    wire: Wire = {
        "registryId": REGISTRY,
        "repositoryName": NAME,
        "uploadId": UPLOAD,
        "partFirstByte": 0,
        "partLastByte": 2,
        "layerPartBlob": b64(b"abc"),
    }
    wire.update(members)
    return {name: value for name, value in wire.items() if value is not None}


def refusal(read: Callable[[], object]) -> EcrError:
    with pytest.raises(EcrError) as refused:
        read()
    return refused.value


# ---------------------------------------------------------------------------------------
# Typed values of every request and response

blobs = st.binary(max_size=64)
part_sizes = st.integers(0, MAX_LONG)
optional_registry = st.none() | registry_ids()
few_digests = st.lists(layer_digests(), min_size=1, max_size=4).map(tuple)
batched_digests = st.lists(
    st.one_of(layer_digests().map(str), st.text(max_size=MAX_BATCHED_DIGEST_LENGTH)),
    min_size=1,
    max_size=4,
).map(tuple)
layers = st.builds(
    Layer,
    layer_digest=layer_digests(),
    layer_availability=st.sampled_from(LayerAvailability),
    layer_size=st.integers(-(2**63), MAX_LONG),
    media_type=st.none() | st.text(),
)
failures = st.builds(
    LayerFailure,
    layer_digest=st.text(max_size=MAX_BATCHED_DIGEST_LENGTH),
    failure_code=st.sampled_from(LayerFailureCode),
    failure_reason=st.text(),
)

TYPED: list[Any] = [
    pytest.param(
        st.builds(
            InitiateLayerUploadRequest,
            registry_id=optional_registry,
            repository_name=repository_names(),
        ),
        id="InitiateLayerUploadRequest",
    ),
    pytest.param(
        st.builds(InitiateLayerUploadResponse, upload_id=upload_ids(), part_size=part_sizes),
        id="InitiateLayerUploadResponse",
    ),
    pytest.param(
        st.builds(
            UploadLayerPartRequest,
            registry_id=optional_registry,
            repository_name=repository_names(),
            upload_id=upload_ids(),
            part_first_byte=part_sizes,
            part_last_byte=part_sizes,
            layer_part_blob=blobs,
        ),
        id="UploadLayerPartRequest",
    ),
    pytest.param(
        st.builds(
            UploadLayerPartResponse,
            registry_id=registry_ids(),
            repository_name=repository_names(),
            upload_id=upload_ids(),
            last_byte_received=part_sizes,
        ),
        id="UploadLayerPartResponse",
    ),
    pytest.param(
        st.builds(
            CompleteLayerUploadRequest,
            registry_id=optional_registry,
            repository_name=repository_names(),
            upload_id=upload_ids(),
            layer_digests=few_digests,
        ),
        id="CompleteLayerUploadRequest",
    ),
    pytest.param(
        st.builds(
            CompleteLayerUploadResponse,
            registry_id=registry_ids(),
            repository_name=repository_names(),
            upload_id=upload_ids(),
            layer_digest=layer_digests(),
        ),
        id="CompleteLayerUploadResponse",
    ),
    pytest.param(
        st.builds(
            BatchCheckLayerAvailabilityRequest,
            registry_id=optional_registry,
            repository_name=repository_names(),
            layer_digests=batched_digests,
        ),
        id="BatchCheckLayerAvailabilityRequest",
    ),
    pytest.param(
        st.builds(
            BatchCheckLayerAvailabilityResponse,
            layers=st.lists(layers, max_size=3).map(tuple),
            failures=st.lists(failures, max_size=3).map(tuple),
        ),
        id="BatchCheckLayerAvailabilityResponse",
    ),
]


def through_json(value: Any) -> Any:
    """The wire form of ``value`` as a server receives it: written as JSON, read back."""
    return json.loads(json.dumps(value.to_wire()))


@pytest.mark.parametrize("values", TYPED)
@given(data=st.data())
def test_typed_value_reads_back_from_its_wire_form_through_json(
    values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(values)
    wire = through_json(value)
    assert type(value).from_wire(wire) == value


# ---------------------------------------------------------------------------------------
# The answer to an object: its members' own answers, in ECR's order

#: JSON values near and far from valid members: wrong types, invalid registry ids,
#: repository names and upload ids, values valid for another member, nulls.
near_values = st.one_of(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=6,
    ),
    invalid_registry_ids().map(lambda pair: pair[1]),
    invalid_repository_names(RepositoryGrammar.OCI).map(lambda pair: pair[1]),
    invalid_upload_ids().map(lambda pair: pair[1]),
    st.sampled_from([REGISTRY, NAME, "a__b", UPLOAD, DIGEST, "YWJj", "YWJj=", 0, -1, MAX_LONG]),
    st.sampled_from([2**63, [DIGEST], [DIGEST, 1], {"layerDigest": DIGEST}]),
)


class Refused(NamedTuple):
    """A read's error: its type and message."""

    error: type[EcrError]
    message: str


def answer(read: Callable[[], object]) -> object:
    """What a read gives: its value, or its error."""
    try:
        return read()
    except EcrError as error:
        return Refused(type(error), error.message)


def ecrs_answer(cls: type, obj: dict[str, object], grammar: RepositoryGrammar) -> object:
    """The answer ECR's order makes of the answers of the members alone: the first wrong
    JSON type anywhere, else the first violated constraint in member order (a missing
    required member among them), else the value."""
    answers: dict[str, object] = {}
    for m in _shapes.members(cls):
        raw = obj.get(m.wire)
        if raw is None:
            missing = Refused(InvalidParameterException, constraint(m.wire, "must not be null"))
            answers[m.field] = missing if m.required else None
        else:
            shape = m.shape.for_grammar(grammar)
            answers[m.field] = answer(lambda s=shape, r=raw, w=m.wire: s.read(r, w))  # type: ignore[misc]
    refusals = [each for each in answers.values() if isinstance(each, Refused)]
    wrong_types = [each for each in refusals if each.error is SerializationException]
    if wrong_types or refusals:
        return (wrong_types or refusals)[0]
    return cls(**answers)


@pytest.mark.parametrize("values", TYPED)
@given(data=st.data(), grammar=st.sampled_from(RepositoryGrammar))
def test_an_object_answers_its_first_wrong_json_type_else_its_first_violated_constraint(
    values: st.SearchStrategy[Any], data: st.DataObject, grammar: RepositoryGrammar
) -> None:
    value = data.draw(values)
    cls = type(value)
    obj = through_json(value)
    names = st.sampled_from([m.wire for m in _shapes.members(cls)])
    # One to three changes, so that members refused for different reasons meet.
    for name, changed in data.draw(st.lists(st.tuples(names, near_values), max_size=3)):
        obj[name] = changed
    if data.draw(st.booleans(), "remove one"):
        obj.pop(data.draw(names, "removed"), None)
    expected = ecrs_answer(cls, obj, grammar)
    # Twice: the second read finds the identifiers the first one kept.
    assert answer(lambda: cls.from_wire(obj, grammar=grammar)) == expected
    assert answer(lambda: cls.from_wire(obj, grammar=grammar)) == expected


#: Values at the edges of the rules, each put in every member of every class in turn.
EDGE_VALUES: list[object] = [
    *(-1, 0, 1, MAX_LONG, MAX_LONG + 1, -(2**63), -(2**63) - 1, True, 1.0, math.nan, None),
    *("", "a", "ab", "a" * 256, "a" * 257, REGISTRY, REGISTRY + "0", REGISTRY[1:], NAME),
    *("a__b", "Team/app", "team//app", UPLOAD, UPLOAD.upper(), UPLOAD + "0", DIGEST),
    *("sha256:", "YWJj", "YWJj=", "YW Jj", "YWJ", "AVAILABLE", "InvalidLayerDigest", "x" * 1001),
    *([], [DIGEST], [DIGEST] * MAX_LAYER_DIGESTS, [DIGEST] * (MAX_LAYER_DIGESTS + 1), [None]),
    *([1], {}, {"layerDigest": DIGEST}),
]


@pytest.mark.parametrize("values", TYPED)
@given(data=st.data())
def test_every_edge_of_every_member_answers_in_ecrs_order(
    values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(values)
    cls = type(value)
    valid = through_json(value)
    for name in [m.wire for m in _shapes.members(cls)]:
        was = valid.get(name)
        edges = [*EDGE_VALUES]
        if isinstance(was, list) and was:  # the member's own items, too few and too many
            edges += [was[:1] * (MAX_LAYER_DIGESTS + 1), [*was, None], [*was, {}]]
        for edge in edges:
            obj = {**valid, name: edge}
            expected = ecrs_answer(cls, obj, SEED)
            assert answer(lambda o=obj: cls.from_wire(o)) == expected, (name, edge)  # type: ignore[misc]


def test_a_traceback_through_a_reader_shows_its_lines() -> None:
    cls = identifiers_class()  # its reader is made here
    with pytest.raises(InvalidParameterException) as refused:
        _shapes.read(cls, {}, RepositoryGrammar.OCI)
    shown = "".join(traceback.format_exception(refused.value))
    assert f"<ecr_upload_model reader of {cls.__qualname__}, OCI grammar>" in shown
    assert "raise _missing(_wire0)" in shown


def test_a_kept_identifier_is_still_refused_as_another_json_type() -> None:
    UploadLayerPartRequest.from_wire(part_wire())  # keeps "123456789012" ...
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(registryId=int(REGISTRY))))
    assert isinstance(error, SerializationException)
    assert error.message == "NUMBER_VALUE can not be converted to a String"


def test_a_name_kept_by_the_oci_reader_is_refused_by_the_seed_reader() -> None:
    wire = {"repositoryName": "a__b"}
    oci = InitiateLayerUploadRequest.from_wire(wire, grammar=RepositoryGrammar.OCI)
    assert str(oci.repository_name) == "a__b"
    error = refusal(lambda: InitiateLayerUploadRequest.from_wire(wire))
    assert isinstance(error, InvalidParameterException)


def identifiers_class() -> type[Any]:
    """A class of identifier shapes made anew, whose readers have kept nothing yet."""

    @attrs.frozen(kw_only=True)
    class Identifiers:
        name: RepositoryName = attrs.field(
            metadata=_shapes.member("name", _shapes.Identifier(RepositoryName, None))
        )
        upload_id: UploadId = attrs.field(
            metadata=_shapes.member("uploadId", _shapes.Identifier(UploadId, identifiers.UPLOAD_ID))
        )
        digest: LayerDigest = attrs.field(
            metadata=_shapes.member(
                "digest", _shapes.Identifier(LayerDigest, identifiers.LAYER_DIGEST)
            )
        )

    return Identifiers


def test_an_identifier_read_again_is_the_one_kept_until_max_kept_identifiers_more() -> None:
    """Readers keep the identifiers they make (equal texts give one value), at most
    MAX_KEPT_IDENTIFIERS of each shape, and none longer than a repository name may be."""
    cls = identifiers_class()

    def read(index: int) -> list[object]:
        digest = f"sha256:{index:0{MAX_KEPT_IDENTIFIER_LENGTH - 7}x}"  # 256 characters
        obj = {
            "name": f"team/app-{index}",
            "uploadId": f"{index:08x}-0000-4000-8000-000000000000",
            "digest": digest,
        }
        value = _shapes.read(cls, obj)
        return [value.name, value.upload_id, value.digest]

    first = read(0)
    assert all(a is b for a, b in zip(read(0), first, strict=True))
    for index in range(1, MAX_KEPT_IDENTIFIERS):  # as many as are kept: the first stays
        read(index)
    assert all(a is b for a, b in zip(read(0), first, strict=True))
    read(MAX_KEPT_IDENTIFIERS)  # one more: all are forgotten
    again = read(0)
    assert again == first
    assert all(a is not b for a, b in zip(again, first, strict=True))

    longer = {"name": "ab", "uploadId": UPLOAD, "digest": "sha256:" + "a" * 250}
    twice = [_shapes.read(cls, longer).digest for _ in range(2)]
    assert twice[0] == twice[1]
    assert twice[0] is not twice[1]  # longer than 256 characters: never kept


@pytest.mark.parametrize("name", ["a__b", "a--b", "team/a---b.c_d"])
def test_oci_names_are_read_under_the_oci_grammar(name: str) -> None:
    request = InitiateLayerUploadRequest.from_wire(
        {"repositoryName": name}, grammar=RepositoryGrammar.OCI
    )
    assert str(request.repository_name) == name


def test_oci_name_under_the_seed_grammar_is_refused() -> None:
    error = refusal(lambda: InitiateLayerUploadRequest.from_wire({"repositoryName": "a__b"}))
    assert isinstance(error, InvalidParameterException)
    assert error.member == "repositoryName"


def test_request_without_registry_id_writes_none() -> None:
    request = InitiateLayerUploadRequest.from_wire({"repositoryName": NAME})
    assert request.registry_id is None
    assert request.to_wire() == {"repositoryName": NAME}


def test_upload_layer_part_reads_every_member() -> None:
    request = UploadLayerPartRequest.from_wire(part_wire())
    assert request == UploadLayerPartRequest(
        registry_id=RegistryId(REGISTRY),
        repository_name=RepositoryName(NAME),
        upload_id=UploadId(UPLOAD),
        part_first_byte=0,
        part_last_byte=2,
        layer_part_blob=b"abc",
    )


def test_response_wire_forms_are_ecrs() -> None:
    assert UploadLayerPartResponse(
        registry_id=RegistryId(REGISTRY),
        repository_name=RepositoryName(NAME),
        upload_id=UploadId(UPLOAD),
        last_byte_received=9,
    ).to_wire() == {
        "registryId": REGISTRY,
        "repositoryName": NAME,
        "uploadId": UPLOAD,
        "lastByteReceived": 9,
    }
    assert InitiateLayerUploadResponse(upload_id=UploadId(UPLOAD), part_size=10).to_wire() == {
        "uploadId": UPLOAD,
        "partSize": 10,
    }
    assert CompleteLayerUploadResponse(
        registry_id=RegistryId(REGISTRY),
        repository_name=RepositoryName(NAME),
        upload_id=UploadId(UPLOAD),
        layer_digest=LayerDigest(DIGEST),
    ).to_wire() == {
        "registryId": REGISTRY,
        "repositoryName": NAME,
        "uploadId": UPLOAD,
        "layerDigest": DIGEST,
    }
    layer = Layer(
        layer_digest=LayerDigest(DIGEST),
        layer_availability=LayerAvailability.AVAILABLE,
        layer_size=3,
    )
    failure = LayerFailure(
        layer_digest="nope",
        failure_code=LayerFailureCode.INVALID_LAYER_DIGEST,
        failure_reason="invalid layer digest",
    )
    assert BatchCheckLayerAvailabilityResponse(layers=(layer,), failures=(failure,)).to_wire() == {
        "layers": [{"layerDigest": DIGEST, "layerAvailability": "AVAILABLE", "layerSize": 3}],
        "failures": [
            {
                "layerDigest": "nope",
                "failureCode": "InvalidLayerDigest",
                "failureReason": "invalid layer digest",
            }
        ],
    }


def test_memoryview_blob_writes_as_its_bytes_do() -> None:
    layer = bytearray(b"0123456789")
    window = memoryview(layer)[3:6]
    by_view = UploadLayerPartRequest(
        repository_name=RepositoryName(NAME),
        upload_id=UploadId(UPLOAD),
        part_first_byte=3,
        part_last_byte=5,
        layer_part_blob=window,
    )
    by_bytes = UploadLayerPartRequest(
        repository_name=RepositoryName(NAME),
        upload_id=UploadId(UPLOAD),
        part_first_byte=3,
        part_last_byte=5,
        layer_part_blob=b"345",
    )
    assert by_view == by_bytes
    assert by_view.to_wire() == by_bytes.to_wire()
    assert "345" not in repr(by_view)  # the blob is summarised, not printed


@pytest.mark.parametrize(
    "view",
    [memoryview(b"abcdef")[::2], memoryview(array.array("i", [1, 2]))],
    ids=["strided", "of-ints"],
)
def test_memoryview_blob_that_is_not_contiguous_bytes_is_invalid_parameter(
    view: memoryview,
) -> None:
    # A strided view cannot be written as base64; a view of ints would not read back equal.
    with pytest.raises(InvalidParameterException) as refused:
        build_part(layer_part_blob=view, part_last_byte=view.nbytes - 1)
    assert refused.value.member == "layerPartBlob"
    byte_view = memoryview(bytes(view))
    assert UploadLayerPartRequest.from_wire(
        build_part(layer_part_blob=byte_view, part_last_byte=view.nbytes - 1).to_wire()
    ) == build_part(layer_part_blob=bytes(view), part_last_byte=view.nbytes - 1)


def test_unknown_members_are_ignored() -> None:
    request = UploadLayerPartRequest.from_wire(part_wire(somethingElse=[1, {"x": None}]))
    assert request == UploadLayerPartRequest.from_wire(part_wire())


# ---------------------------------------------------------------------------------------
# The blob: 20,971,520 bytes at most, judged from the base64 text where it can be


def test_blob_of_the_api_maximum_is_accepted() -> None:
    request = UploadLayerPartRequest.from_wire(
        part_wire(partLastByte=API_MAX_PART_BYTES - 1, layerPartBlob=b64(bytes(API_MAX_PART_BYTES)))
    )
    assert len(request.layer_part_blob) == API_MAX_PART_BYTES == 20_971_520


def test_blob_one_byte_over_the_api_maximum_is_invalid_parameter() -> None:
    error = refusal(
        lambda: UploadLayerPartRequest.from_wire(
            part_wire(layerPartBlob=b64(bytes(API_MAX_PART_BYTES + 1)))
        )
    )
    assert isinstance(error, InvalidParameterException)
    assert error.message == constraint(
        "layerPartBlob", "must have length less than or equal to 20971520"
    )


# The longest base64 text of at most 20,971,520 bytes: 4 characters for each 3 bytes.
MAX_TEXT = 4 * math.ceil(API_MAX_PART_BYTES / 3)


def test_blob_text_too_long_for_the_maximum_is_refused_before_decoding() -> None:
    # Not base64 at all: had it been decoded, it would be a SerializationException.
    error = refusal(
        lambda: UploadLayerPartRequest.from_wire(part_wire(layerPartBlob="!" * (MAX_TEXT + 1)))
    )
    assert isinstance(error, InvalidParameterException)
    assert error.message == constraint(
        "layerPartBlob", "must have length less than or equal to 20971520"
    )


def test_blob_text_of_the_longest_length_that_decodes_over_the_maximum_is_refused() -> None:
    text = "A" * MAX_TEXT  # no padding: 3 bytes for each 4 characters, 20,971,521 bytes
    assert len(base64.b64decode(text)) == API_MAX_PART_BYTES + 1
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(layerPartBlob=text)))
    assert isinstance(error, InvalidParameterException)
    assert error.member == "layerPartBlob"


def test_blob_text_of_the_longest_length_that_decodes_to_the_maximum_is_accepted() -> None:
    text = "A" * (MAX_TEXT - 2) + "A="  # one padding character: 20,971,520 bytes
    request = UploadLayerPartRequest.from_wire(part_wire(layerPartBlob=text))
    assert len(request.layer_part_blob) == API_MAX_PART_BYTES


def test_blob_text_of_the_longest_length_that_is_not_base64_is_a_serialization_exception() -> None:
    error = refusal(
        lambda: UploadLayerPartRequest.from_wire(part_wire(layerPartBlob="!" * MAX_TEXT))
    )
    assert isinstance(error, SerializationException)


def test_typed_blob_over_the_api_maximum_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameterException) as refused:
        UploadLayerPartRequest(
            repository_name=RepositoryName(NAME),
            upload_id=UploadId(UPLOAD),
            part_first_byte=0,
            part_last_byte=API_MAX_PART_BYTES,
            layer_part_blob=bytes(API_MAX_PART_BYTES + 1),
        )
    assert refused.value.message == constraint(
        "layerPartBlob", "must have length less than or equal to 20971520"
    )


@pytest.mark.parametrize(
    "text",
    # Python 3.11's and 3.12's strict mode took "YWJj=" and "YWJj====" for b"abc".
    [
        "YWJ",
        "YW=j",
        "YWJj\n",
        "YWJj=",
        "YWJj==",
        "YWJj====",
        "YW==YQ==",
        "Y WJj",
        "=YWJ",
        "\u00ffWJj",
    ],
)
def test_blob_that_is_not_strict_base64_is_a_serialization_exception(text: str) -> None:
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(layerPartBlob=text)))
    assert isinstance(error, SerializationException)


def test_empty_blob_text_reads_as_an_empty_blob() -> None:
    # botocore sends b"" as "": reading it is fine, the session refuses the part.
    assert UploadLayerPartRequest.from_wire(part_wire(layerPartBlob="")).layer_part_blob == b""


# ---------------------------------------------------------------------------------------
# Longs: 0 to 2^63-1; past a long is a serialization matter, under 0 a constraint


@pytest.mark.parametrize("member", ["partFirstByte", "partLastByte"])
@pytest.mark.parametrize("value", [0, 1, MAX_LONG])
def test_part_byte_from_0_to_the_largest_long_is_accepted(member: str, value: int) -> None:
    request = UploadLayerPartRequest.from_wire(part_wire(**{member: value}))
    assert request.to_wire()[member] == value


@pytest.mark.parametrize("member", ["partFirstByte", "partLastByte"])
def test_negative_part_byte_is_invalid_parameter(member: str) -> None:
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(**{member: -1})))
    assert isinstance(error, InvalidParameterException)
    assert error.message == constraint(member, "must be greater than or equal to 0")


@pytest.mark.parametrize("member", ["partFirstByte", "partLastByte"])
@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_number_beyond_a_long_is_a_serialization_exception(member: str, value: int) -> None:
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(**{member: value})))
    assert isinstance(error, SerializationException)


def test_smallest_long_is_read_and_refused_by_the_minimum() -> None:
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(partFirstByte=-(2**63))))
    assert isinstance(error, InvalidParameterException)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5", "STRING_VALUE can not be converted to a Long"),
        (True, "TRUE_VALUE can not be converted to a Long"),
        (False, "FALSE_VALUE can not be converted to a Long"),
        (1.5, "NUMBER_VALUE can not be converted to a Long"),
        (2.0, "NUMBER_VALUE can not be converted to a Long"),
        ([1], "START_ARRAY can not be converted to a Long"),
        ({"n": 1}, "START_OBJECT can not be converted to a Long"),
    ],
)
def test_long_of_the_wrong_json_type_is_a_serialization_exception(
    value: object, message: str
) -> None:
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(partFirstByte=value)))
    assert isinstance(error, SerializationException)
    assert error.message == message


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_or_infinity_is_a_serialization_exception(value: float) -> None:
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(partLastByte=value)))
    assert isinstance(error, SerializationException)


@pytest.mark.parametrize("member", ["registryId", "repositoryName", "uploadId"])
@pytest.mark.parametrize(
    ("value", "token"),
    [(123456789012, "NUMBER_VALUE"), (True, "TRUE_VALUE"), (["x"], "START_ARRAY")],
)
def test_string_of_the_wrong_json_type_is_a_serialization_exception(
    member: str, value: object, token: str
) -> None:
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(**{member: value})))
    assert isinstance(error, SerializationException)
    assert error.message == f"{token} can not be converted to a String"


@pytest.mark.parametrize("value", [7, True, [], {}])
def test_blob_of_the_wrong_json_type_is_a_serialization_exception(value: object) -> None:
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(layerPartBlob=value)))
    assert isinstance(error, SerializationException)


@pytest.mark.parametrize("body", [[], "{}", 1, None, True, [part_wire()]])
def test_body_that_is_not_a_json_object_is_a_serialization_exception(body: object) -> None:
    for request_type in (
        InitiateLayerUploadRequest,
        UploadLayerPartRequest,
        CompleteLayerUploadRequest,
        BatchCheckLayerAvailabilityRequest,
    ):
        assert isinstance(refusal(lambda r=request_type: r.from_wire(body)), SerializationException)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------
# null, missing members, and the order of the answers


@pytest.mark.parametrize(
    "member", ["repositoryName", "uploadId", "partFirstByte", "partLastByte", "layerPartBlob"]
)
@pytest.mark.parametrize("how", ["absent", "null"])
def test_missing_or_null_required_member_must_not_be_null(member: str, how: str) -> None:
    wire = part_wire()
    if how == "absent":
        del wire[member]
    else:
        wire[member] = None
    error = refusal(lambda: UploadLayerPartRequest.from_wire(wire))
    assert isinstance(error, InvalidParameterException)
    assert error.message == constraint(member, "must not be null")


def test_null_registry_id_is_the_default_registry() -> None:
    wire = part_wire()
    wire["registryId"] = None
    assert UploadLayerPartRequest.from_wire(wire).registry_id is None


PART_MEMBERS = [
    "registryId",
    "repositoryName",
    "uploadId",
    "partFirstByte",
    "partLastByte",
    "layerPartBlob",
]
# A value of the right JSON type that breaks a constraint of each member.
BROKEN = {
    "registryId": "12345678901",
    "repositoryName": "A",
    "uploadId": "not-an-upload-id",
    "partFirstByte": -1,
    "partLastByte": -5,
    "layerPartBlob": "!" * (MAX_TEXT + 1),
}
WRONG_TYPE = {
    "registryId": 12,
    "repositoryName": 12,
    "uploadId": 12,
    "partFirstByte": "0",
    "partLastByte": "0",
    "layerPartBlob": 12,
}


@given(st.sets(st.sampled_from(PART_MEMBERS), min_size=1))
def test_first_violated_member_in_member_order_answers(broken: set[str]) -> None:
    error = refusal(
        lambda: UploadLayerPartRequest.from_wire(part_wire(**{m: BROKEN[m] for m in broken}))
    )
    assert isinstance(error, InvalidParameterException)
    assert error.member == next(m for m in PART_MEMBERS if m in broken)


@given(
    st.sets(st.sampled_from(PART_MEMBERS), min_size=1),
    st.sets(st.sampled_from(PART_MEMBERS)),
    st.sets(st.sampled_from(PART_MEMBERS)),
)
def test_serialization_answers_before_any_constraint(
    wrong_type: set[str], broken: set[str], missing: set[str]
) -> None:
    members: dict[str, object] = {m: BROKEN[m] for m in broken}
    members.update(dict.fromkeys(missing))
    members.update({m: WRONG_TYPE[m] for m in wrong_type})
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(**members)))
    assert isinstance(error, SerializationException)


@given(
    st.sets(st.sampled_from(PART_MEMBERS[1:]), min_size=1),
    st.sets(st.sampled_from(PART_MEMBERS)),
)
def test_missing_required_member_answers_in_member_order_among_constraints(
    missing: set[str], broken: set[str]
) -> None:
    members: dict[str, object] = {m: BROKEN[m] for m in broken}
    members.update(dict.fromkeys(missing))
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(**members)))
    assert isinstance(error, InvalidParameterException)
    first = next(m for m in PART_MEMBERS if m in missing | broken)
    assert error.member == first
    expected = "must not be null" if first in missing else None
    if expected is not None:
        assert error.message == constraint(first, expected)


@pytest.mark.parametrize(
    ("invalid", "member"),
    [
        (invalid_registry_ids(), "registryId"),
        (invalid_repository_names(), "repositoryName"),
        (invalid_upload_ids(), "uploadId"),
    ],
)
@given(data=st.data())
def test_invalid_identifier_on_the_wire_is_refused_by_its_rule(
    invalid: st.SearchStrategy[tuple[Violation, object]], member: str, data: st.DataObject
) -> None:
    violation, value = data.draw(invalid)
    error = refusal(lambda: UploadLayerPartRequest.from_wire(part_wire(**{member: value})))
    if violation is Violation.WRONG_TYPE:
        assert isinstance(error, SerializationException)
    else:
        assert isinstance(error, InvalidParameterException)
        assert error.member == member


# ---------------------------------------------------------------------------------------
# Lists of digests


def complete_wire(digests: object) -> Wire:
    return {"repositoryName": NAME, "uploadId": UPLOAD, "layerDigests": digests}


def batch_wire(digests: object) -> Wire:
    return {"repositoryName": NAME, "layerDigests": digests}


@pytest.mark.parametrize("wire", [complete_wire, batch_wire])
def test_digest_lists_of_1_and_100_are_accepted(wire: Callable[[object], Wire]) -> None:
    for count in (1, MAX_LAYER_DIGESTS):
        read = (
            CompleteLayerUploadRequest
            if wire is complete_wire
            else BatchCheckLayerAvailabilityRequest
        ).from_wire(wire([DIGEST] * count))
        assert len(read.layer_digests) == count == (1 if count == 1 else 100)


@pytest.mark.parametrize(
    ("request_type", "wire"),
    [(CompleteLayerUploadRequest, complete_wire), (BatchCheckLayerAvailabilityRequest, batch_wire)],
)
@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "must have length greater than or equal to 1"),
        (101, "must have length less than or equal to 100"),
    ],
)
def test_digest_lists_of_0_or_101_are_invalid_parameter(
    request_type: Any, wire: Callable[[object], Wire], count: int, text: str
) -> None:
    error = refusal(lambda: request_type.from_wire(wire([DIGEST] * count)))
    assert isinstance(error, InvalidParameterException)
    assert error.message == constraint("layerDigests", text)


def test_complete_refuses_a_malformed_digest_at_layer_digests() -> None:
    error = refusal(lambda: CompleteLayerUploadRequest.from_wire(complete_wire([DIGEST, "sha256"])))
    assert isinstance(error, InvalidParameterException)
    assert error.member == "layerDigests"


@pytest.mark.parametrize("text", ["", "sha256", "not a digest at all", "x" * 1000])
def test_batch_check_reads_any_digest_text_up_to_1000_characters(text: str) -> None:
    request = BatchCheckLayerAvailabilityRequest.from_wire(batch_wire([text]))
    assert request.layer_digests == (text,)


def test_batch_check_refuses_a_digest_text_of_1001_characters() -> None:
    error = refusal(lambda: BatchCheckLayerAvailabilityRequest.from_wire(batch_wire(["x" * 1001])))
    assert isinstance(error, InvalidParameterException)
    assert error.message == constraint(
        "layerDigests", "must have length less than or equal to 1000"
    )


@pytest.mark.parametrize("digests", ["sha256:ab", [1], [None], [[DIGEST]], {"0": DIGEST}])
def test_digest_list_of_the_wrong_json_type_is_a_serialization_exception(digests: object) -> None:
    for request_type, wire in (
        (CompleteLayerUploadRequest, complete_wire),
        (BatchCheckLayerAvailabilityRequest, batch_wire),
    ):
        error = refusal(lambda r=request_type, w=wire: r.from_wire(w(digests)))  # type: ignore[misc]
        assert isinstance(error, SerializationException)


def test_null_inside_a_digest_list_is_named_as_json_names_it() -> None:
    error = refusal(lambda: CompleteLayerUploadRequest.from_wire(complete_wire([None])))
    assert isinstance(error, SerializationException)
    assert error.message == "VALUE_NULL can not be converted to a String"


def test_layer_availability_outside_its_enum_is_invalid_parameter() -> None:
    wire = {"layerDigest": DIGEST, "layerAvailability": "MAYBE", "layerSize": 1}
    error = refusal(lambda: Layer.from_wire(wire))
    assert isinstance(error, InvalidParameterException)
    assert error.message == constraint(
        "layerAvailability", "must satisfy enum value set: [AVAILABLE, UNAVAILABLE, ARCHIVED]"
    )


# ---------------------------------------------------------------------------------------
# Typed construction: wrong Python values are InvalidParameterException, never TypeError


def build_part(**members: object) -> UploadLayerPartRequest:
    arguments: dict[str, object] = {
        "repository_name": RepositoryName(NAME),
        "upload_id": UploadId(UPLOAD),
        "part_first_byte": 0,
        "part_last_byte": 2,
        "layer_part_blob": b"abc",
    }
    arguments.update(members)
    return UploadLayerPartRequest(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "member", "text"),
    [
        ("registry_id", REGISTRY, "registryId", "must be a RegistryId"),
        ("repository_name", NAME, "repositoryName", "must be a RepositoryName"),
        ("repository_name", None, "repositoryName", "must not be null"),
        ("upload_id", UPLOAD, "uploadId", "must be a UploadId"),
        ("part_first_byte", True, "partFirstByte", "must be an int"),
        ("part_first_byte", 1.0, "partFirstByte", "must be an int"),
        ("part_first_byte", "0", "partFirstByte", "must be an int"),
        ("part_first_byte", -1, "partFirstByte", "must be greater than or equal to 0"),
        ("part_last_byte", 2**63, "partLastByte", f"must be less than or equal to {MAX_LONG}"),
        ("part_last_byte", None, "partLastByte", "must not be null"),
        ("layer_part_blob", "abc", "layerPartBlob", "must be bytes or a memoryview"),
        ("layer_part_blob", [97], "layerPartBlob", "must be bytes or a memoryview"),
    ],
)
def test_typed_request_of_a_wrong_value_is_invalid_parameter(
    field: str, value: object, member: str, text: str
) -> None:
    with pytest.raises(InvalidParameterException) as refused:
        build_part(**{field: value})
    assert refused.value.message == constraint(member, text)


def test_typed_request_accepts_the_largest_long() -> None:
    assert build_part(part_last_byte=MAX_LONG).part_last_byte == MAX_LONG


@pytest.mark.parametrize(
    ("digests", "text"),
    [
        ([LayerDigest(DIGEST)], "must be a tuple"),
        ((), "must have length greater than or equal to 1"),
        ((LayerDigest(DIGEST),) * 101, "must have length less than or equal to 100"),
        ((DIGEST,), "must be a LayerDigest"),
    ],
)
def test_typed_complete_request_of_wrong_digests_is_invalid_parameter(
    digests: object, text: str
) -> None:
    with pytest.raises(InvalidParameterException) as refused:
        CompleteLayerUploadRequest(
            repository_name=RepositoryName(NAME),
            upload_id=UploadId(UPLOAD),
            layer_digests=digests,  # type: ignore[arg-type]
        )
    assert refused.value.message == constraint("layerDigests", text)


def test_typed_batch_check_of_a_digest_text_too_long_is_invalid_parameter() -> None:
    # The wire refuses it (above): the typed value must not be one the wire refuses.
    with pytest.raises(InvalidParameterException) as refused:
        BatchCheckLayerAvailabilityRequest(
            repository_name=RepositoryName(NAME), layer_digests=("x" * 1001,)
        )
    assert refused.value.message == constraint(
        "layerDigests", "must have length less than or equal to 1000"
    )
    with pytest.raises(InvalidParameterException):
        LayerFailure(
            layer_digest="x" * 1001,
            failure_code=LayerFailureCode.MISSING_LAYER_DIGEST,
            failure_reason="not found",
        )


# ---------------------------------------------------------------------------------------
# Any JSON, to every from_wire: a value or a typed error, nothing else

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=12,
)
# Values that sit at the edges of the members' rules.
EDGES = st.one_of(
    JSON,
    st.sampled_from([0, -1, MAX_LONG, MAX_LONG + 1, -(2**63) - 1, "", "=", "A" * 5]),
    st.integers(),
)


@functools.cache
def mutated(objects: st.SearchStrategy[Wire]) -> st.SearchStrategy[Wire]:
    """Valid objects with one member (named or not) given another value, or removed."""

    @st.composite
    def one_member_changed(draw: st.DrawFn) -> Wire:
        obj = dict(draw(objects))
        name = draw(st.sampled_from(sorted(obj)) | st.text(max_size=3))
        if draw(st.booleans()):
            obj.pop(name, None)
        else:
            obj[name] = draw(EDGES)
        return obj

    return one_member_changed()


TYPES_AND_OBJECTS: list[Any] = [
    pytest.param(request_type, objects, id=request_type.__name__)
    for request_type, objects in [
        (InitiateLayerUploadRequest, initiate_layer_upload_requests()),
        (UploadLayerPartRequest, upload_layer_part_requests()),
        (CompleteLayerUploadRequest, complete_layer_upload_requests()),
        (BatchCheckLayerAvailabilityRequest, batch_check_layer_availability_requests()),
    ]
]


def _typed_objects(index: int) -> st.SearchStrategy[Wire]:
    values: st.SearchStrategy[Any] = TYPED[index].values[0]
    return values.map(lambda value: value.to_wire())


TYPES_AND_OBJECTS += [
    pytest.param(response_type, _typed_objects(index), id=response_type.__name__)
    for index, response_type in [
        (1, InitiateLayerUploadResponse),
        (3, UploadLayerPartResponse),
        (5, CompleteLayerUploadResponse),
        (7, BatchCheckLayerAvailabilityResponse),
    ]
]


@pytest.mark.parametrize(("read_type", "objects"), TYPES_AND_OBJECTS)
@given(data=st.data())
def test_any_json_object_reads_as_a_value_or_raises_a_typed_error(
    read_type: Any, objects: st.SearchStrategy[Wire], data: st.DataObject
) -> None:
    how = data.draw(st.sampled_from(["valid", "one member changed", "any JSON"]))
    obj = data.draw(
        {"valid": objects, "one member changed": mutated(objects), "any JSON": JSON}[how]
    )
    if how == "valid":
        # A valid object is read, and written back unchanged.
        assert read_type.from_wire(obj).to_wire() == obj
        return
    try:
        value = read_type.from_wire(obj)
    except EcrError:
        return
    assert type(value) is read_type
    # What was read is what the shape says: writing it gives a readable object again.
    assert read_type.from_wire(value.to_wire()) == value
