"""Each member rule is written once, in its shape: reading a JSON value and building a
value in Python are held to the same rule, with the same message; and the answer to an
object, a list or a nested structure puts every wrong JSON type before any constraint."""

from __future__ import annotations

import base64
import datetime
import enum
import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecr_upload_model import (
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    EcrError,
    InitiateLayerUploadRequest,
    InvalidParameterException,
    LayerAvailability,
    LayerFailure,
    LayerFailureCode,
    RepositoryGrammar,
    RepositoryName,
    SerializationException,
    UploadLayerPartRequest,
    UsageError,
)
from ecr_upload_model._shapes import (
    Blob,
    Boolean,
    DecodedBlob,
    Identifier,
    List,
    Long,
    Shape,
    Structure,
    Text,
    Timestamp,
    enum_text,
    member,
    read,
    text_itself,
    validate_member,
    write,
)
from ecr_upload_model.identifiers import UPLOAD_ID, UploadId
from ecr_upload_model.limits import API_MAX_PART_BYTES, MAX_LONG, MIN_LONG, base64_length
from ecr_upload_model.operations import REPOSITORY_NAME

UPLOAD = "0a1b2c3d-0000-4000-8000-000000000000"
DIGEST = "sha256:" + "ab" * 32


def constraint(member: str, text: str) -> str:
    return f"Invalid parameter at '{member}' failed to satisfy constraint: '{text}'"


def outcome(action: Any) -> object:
    """What an action gives: its value, or its error's type and message."""
    try:
        return action()
    except EcrError as error:
        return type(error), error.message


def built(shape: Shape, value: object) -> object:
    """What building a value in Python gives: the value, or the error."""

    def build() -> object:
        shape.validate(value, "m")
        return value

    return outcome(build)


# ---------------------------------------------------------------------------------------
# Reading and building: one rule, one message

bounds = st.none() | st.integers(-1000, 1000)
near_longs = st.one_of(
    st.integers(-2000, 2000), st.sampled_from([MIN_LONG - 1, MIN_LONG, MAX_LONG, MAX_LONG + 1])
)


@given(minimum=bounds, maximum=bounds, value=near_longs)
def test_a_long_is_read_and_built_by_the_same_bounds(
    minimum: int | None, maximum: int | None, value: int
) -> None:
    shape = Long(minimum=minimum, maximum=maximum)
    read_back = outcome(lambda value=value: shape.read(value, "m"))
    if not MIN_LONG <= value <= MAX_LONG:
        # Not a long at all: the wire's JSON type, and a constraint on a Python value.
        assert read_back == (SerializationException, "NUMBER_VALUE is out of the range of a Long")
        side = (
            f"less than or equal to {MAX_LONG}"
            if value > 0
            else f"greater than or equal to {MIN_LONG}"
        )
        assert built(shape, value) == (
            InvalidParameterException,
            constraint("m", f"must be {side}"),
        )
        return
    assert built(shape, value) == read_back
    if minimum is not None and value < minimum:
        assert read_back == (
            InvalidParameterException,
            constraint("m", f"must be greater than or equal to {minimum}"),
        )
    elif maximum is not None and value > maximum:
        assert read_back == (
            InvalidParameterException,
            constraint("m", f"must be less than or equal to {maximum}"),
        )
    else:
        assert read_back == value


@given(max_length=st.none() | st.integers(0, 8), text=st.text(max_size=10))
def test_a_text_is_read_and_built_by_the_same_length(max_length: int | None, text: str) -> None:
    shape = Text(text_itself, str, max_length=max_length)
    read_back = outcome(lambda: shape.read(text, "m"))
    assert built(shape, text) == read_back
    too_long = max_length is not None and len(text) > max_length
    expected = (
        (
            InvalidParameterException,
            constraint("m", f"must have length less than or equal to {max_length}"),
        )
        if too_long
        else text
    )
    assert read_back == expected


class _Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@pytest.mark.parametrize("item", list(_Colour))
def test_an_enum_value_is_read_and_built_as_its_text(item: _Colour) -> None:
    shape = enum_text(_Colour)
    assert shape.read(item.value, "m") is item
    assert built(shape, item) is item
    assert built(shape, item.value) == (
        InvalidParameterException,
        constraint("m", "must be a _Colour"),
    )
    assert outcome(lambda: shape.read("green", "m")) == (
        InvalidParameterException,
        constraint("m", "must satisfy enum value set: [red, blue]"),
    )


@given(maximum=st.integers(0, 12), data=st.binary(max_size=16))
def test_a_blob_is_read_and_built_by_the_same_maximum(maximum: int, data: bytes) -> None:
    shape = Blob(maximum)
    text = base64.b64encode(data).decode("ascii")
    read_back = outcome(lambda: shape.read(text, "m"))
    decoded = outcome(lambda: shape.read(DecodedBlob(data, len(text)), "m"))
    assert read_back == decoded == built(shape, data) == built(shape, memoryview(data))
    too_long = (
        InvalidParameterException,
        constraint("m", f"must have length less than or equal to {maximum}"),
    )
    assert read_back == (too_long if len(data) > maximum else data)


@given(
    counts=st.tuples(st.integers(0, 3), st.integers(0, 3)).map(sorted),
    length=st.integers(0, 5),
)
def test_a_list_is_read_and_built_by_the_same_counts(counts: list[int], length: int) -> None:
    low, high = counts
    shape = List(Identifier(UploadId, UPLOAD_ID), low, high)
    read_back = outcome(lambda: shape.read([UPLOAD] * length, "m"))
    assert built(shape, (UploadId(UPLOAD),) * length) == read_back
    if length < low:
        assert read_back == (
            InvalidParameterException,
            constraint("m", f"must have length greater than or equal to {low}"),
        )
    elif length > high:
        assert read_back == (
            InvalidParameterException,
            constraint("m", f"must have length less than or equal to {high}"),
        )
    else:
        assert read_back == (UploadId(UPLOAD),) * length


def test_a_boolean_is_read_and_built_from_a_bool_only() -> None:
    shape = Boolean()
    for value in (True, False):
        assert outcome(lambda value=value: shape.read(value, "m")) is value
        assert built(shape, value) is value
    assert outcome(lambda: shape.read(1, "m")) == (
        SerializationException,
        "NUMBER_VALUE can not be converted to a Boolean",
    )
    assert built(shape, 1) == (InvalidParameterException, constraint("m", "must be a bool"))


def test_a_timestamp_is_seconds_on_the_wire_and_an_aware_datetime_in_python() -> None:
    shape = Timestamp()
    moment = datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc)
    seconds = int(moment.timestamp())
    for raw in (seconds, float(seconds)):
        assert shape.read(raw, "m") == moment
    # Written as whole seconds when it is whole, else with its fraction.
    assert json.dumps(shape.encode(moment)) == str(seconds)
    assert shape.encode(moment + datetime.timedelta(seconds=0.5)) == seconds + 0.5
    assert built(shape, moment) == moment
    assert built(shape, moment.replace(tzinfo=None)) == (
        InvalidParameterException,
        constraint("m", "must be an aware datetime"),
    )
    wrong: object
    for wrong, message in (
        ("2026-12-07", "STRING_VALUE can not be converted to a Timestamp"),
        (float("inf"), "NUMBER_VALUE can not be converted to a Timestamp"),
        (1e300, "1e+300 is out of the range of a Timestamp"),
    ):
        assert outcome(lambda wrong=wrong: shape.read(wrong, "m")) == (
            SerializationException,
            message,
        )


def test_a_blob_of_several_dimensions_is_judged_by_its_bytes() -> None:
    shape = Blob(5)
    square = memoryview(bytearray(6)).cast("B", (2, 3))  # len() is 2: 6 bytes
    assert built(shape, square) == (
        InvalidParameterException,
        constraint("m", "must have length less than or equal to 5"),
    )
    assert built(Blob(6), square) is square


# ---------------------------------------------------------------------------------------
# Every wrong JSON type before any constraint: in a list, in a nested structure


def test_a_list_item_of_the_wrong_json_type_answers_before_an_earlier_items_constraint() -> None:
    body = {"repositoryName": "team/app", "uploadId": UPLOAD, "layerDigests": ["nope", DIGEST, 5]}
    with pytest.raises(
        SerializationException, match="NUMBER_VALUE can not be converted to a String"
    ):
        CompleteLayerUploadRequest.from_wire(body)
    body["layerDigests"] = ["nope", 5]  # the very next item
    with pytest.raises(
        SerializationException, match="NUMBER_VALUE can not be converted to a String"
    ):
        CompleteLayerUploadRequest.from_wire(body)
    body["layerDigests"] = ["nope", DIGEST, "also not"]
    with pytest.raises(InvalidParameterException, match="regular expression"):
        CompleteLayerUploadRequest.from_wire(body)


def test_a_list_of_too_many_items_answers_an_items_wrong_json_type_first() -> None:
    digests: list[object] = ["nope"] * 101
    body = {"repositoryName": "team/app", "uploadId": UPLOAD, "layerDigests": digests}
    with pytest.raises(InvalidParameterException) as refused:
        CompleteLayerUploadRequest.from_wire(body)
    assert refused.value.message == constraint(
        "layerDigests", "must have length less than or equal to 100"
    )
    digests[-1] = None
    with pytest.raises(SerializationException, match="VALUE_NULL can not be converted to a String"):
        CompleteLayerUploadRequest.from_wire(body)


def test_a_nested_structures_wrong_json_type_answers_before_any_constraint() -> None:
    # A missing required member is a constraint; a number for a string is a JSON type,
    # wherever in the body it is.
    with pytest.raises(
        SerializationException, match="NUMBER_VALUE can not be converted to a String"
    ):
        BatchCheckLayerAvailabilityResponse.from_wire({"failures": [{"layerDigest": 5}]})
    layer = {"layerDigest": DIGEST, "layerAvailability": "MAYBE", "layerSize": 1}
    with pytest.raises(SerializationException, match="STRING_VALUE can not be converted to a List"):
        BatchCheckLayerAvailabilityResponse.from_wire({"layers": [layer], "failures": "x"})
    with pytest.raises(InvalidParameterException, match="enum value set"):
        BatchCheckLayerAvailabilityResponse.from_wire({"layers": [layer], "failures": []})


# ---------------------------------------------------------------------------------------
# The repository grammar, bound once per reader, reaches every nested name


def holder_class() -> type[Any]:
    """A class of names, in a list and in a nested structure, made anew: its readers are
    made by the test that reads it (so mutation testing judges how they are made)."""

    @attrs.frozen(kw_only=True)
    class Named:
        name: RepositoryName = attrs.field(
            validator=validate_member, metadata=member("name", Identifier(RepositoryName, None))
        )

    @attrs.frozen(kw_only=True)
    class Holder:
        names: tuple[RepositoryName, ...] = attrs.field(
            validator=validate_member,
            metadata=member("names", List(Identifier(RepositoryName, None), 1, 2)),
        )
        nested: Named | None = attrs.field(
            default=None,
            validator=validate_member,
            metadata=member("nested", Structure(Named), required=False),
        )

    return Holder


def test_the_grammar_a_reader_is_given_reaches_lists_and_nested_structures() -> None:
    holder = holder_class()
    obj = {"names": ["a__b"], "nested": {"name": "c--d"}}
    held = read(holder, obj, RepositoryGrammar.OCI)
    assert str(held.names[0]) == "a__b"
    assert held.nested is not None
    assert str(held.nested.name) == "c--d"
    for seed in ({"names": ["a__b"]}, {"names": ["ab"], "nested": {"name": "c--d"}}):
        with pytest.raises(InvalidParameterException, match="regular expression"):
            read(holder, seed)
    assert read(holder, {"names": ["ab"], "nested": None}).nested is None


# ---------------------------------------------------------------------------------------
# The blob read in place is handed beside the JSON object


def part(**members: object) -> dict[str, object]:
    return {
        "repositoryName": "team/app",
        "uploadId": UPLOAD,
        "partFirstByte": 0,
        "partLastByte": 2,
        **members,
    }


def test_a_blob_given_beside_the_object_is_read_as_its_blob_member() -> None:
    request = read(UploadLayerPartRequest, part(), blob=DecodedBlob(b"abc", 4))
    assert bytes(request.layer_part_blob) == b"abc"
    # The blob given counts; a blob member in the object does not.
    request = read(UploadLayerPartRequest, part(layerPartBlob="eHl6"), blob=DecodedBlob(b"abc", 4))
    assert bytes(request.layer_part_blob) == b"abc"


@pytest.mark.parametrize(
    ("blob", "error", "message"),
    [
        (DecodedBlob(None, 5), SerializationException, "'layerPartBlob' is not valid base64"),
        (
            # Too long a text is judged before whether it is base64.
            DecodedBlob(None, base64_length(20_971_520) + 1),
            InvalidParameterException,
            constraint("layerPartBlob", "must have length less than or equal to 20971520"),
        ),
        (
            DecodedBlob(bytes(20_971_521), base64_length(20_971_521)),
            InvalidParameterException,
            constraint("layerPartBlob", "must have length less than or equal to 20971520"),
        ),
    ],
)
def test_a_blob_given_beside_the_object_is_held_to_the_blobs_rules(
    blob: DecodedBlob, error: type[EcrError], message: str
) -> None:
    with pytest.raises(error) as refused:
        read(UploadLayerPartRequest, part(), blob=blob)
    assert refused.value.message == message


def test_a_bad_blob_given_beside_the_object_answers_before_an_earlier_constraint() -> None:
    with pytest.raises(SerializationException, match="not valid base64"):
        read(UploadLayerPartRequest, part(uploadId="nope"), blob=DecodedBlob(None, 5))


def test_a_blob_given_for_a_request_without_one_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="InitiateLayerUploadRequest has no blob member"):
        read(InitiateLayerUploadRequest, {"repositoryName": "team/app"}, blob=DecodedBlob(b"", 0))


def blob_classes() -> tuple[type[Any], type[Any]]:
    """A class with a blob member between two others, and one without a blob, made anew:
    their readers are made by the test that reads them (so mutation testing judges how a
    reader hands the blob given beside the object to its member)."""

    @attrs.frozen(kw_only=True)
    class WithBlob:
        name: RepositoryName = attrs.field(
            validator=validate_member, metadata=member("name", Identifier(RepositoryName, None))
        )
        data: bytes = attrs.field(validator=validate_member, metadata=member("data", Blob(8)))
        count: int = attrs.field(validator=validate_member, metadata=member("count", Long()))

    @attrs.frozen(kw_only=True)
    class WithoutBlob:
        count: int = attrs.field(validator=validate_member, metadata=member("count", Long()))

    return WithBlob, WithoutBlob


def test_a_reader_takes_the_blob_beside_the_object_or_the_text_in_it() -> None:
    with_blob, without_blob = blob_classes()
    given = read(with_blob, {"name": "team/app", "count": 1}, blob=DecodedBlob(b"abc", 4))
    assert (bytes(given.data), given.count) == (b"abc", 1)
    in_the_object = read(with_blob, {"name": "team/app", "data": "eHl6", "count": 2})
    assert (bytes(in_the_object.data), in_the_object.count) == (b"xyz", 2)
    # A blob given beside the object that is not base64 answers before an earlier
    # member's constraint, as a wrong JSON type does.
    with pytest.raises(SerializationException) as refused:
        read(with_blob, {"name": "Team", "count": 1}, blob=DecodedBlob(None, 5))
    assert refused.value.message == "'data' is not valid base64"
    with pytest.raises(UsageError) as misused:
        read(without_blob, {"count": 1}, blob=DecodedBlob(b"", 0))
    assert str(misused.value) == "WithoutBlob has no blob member to read a blob into"
    assert read(without_blob, {"count": 3}).count == 3


@pytest.mark.parametrize("enum", [LayerAvailability, LayerFailureCode])
def test_enum_shape_reads_each_value_and_writes_it_back(
    enum: type[LayerAvailability] | type[LayerFailureCode],
) -> None:
    # Made here, not at import: mutmut switches a mutant on per call, so a shape made
    # only while the package is imported could not be judged.
    shape = enum_text(enum)
    for item in enum:
        assert shape.read(item.value, "m") is item
        assert shape.encode(item) == item.value
        shape.validate(item, "m")


def test_enum_shape_refuses_another_text_naming_the_allowed_values() -> None:
    shape = enum_text(LayerAvailability)
    with pytest.raises(InvalidParameterException) as refused:
        shape.read("available", "layerAvailability")
    assert refused.value.message == (
        "Invalid parameter at 'layerAvailability' failed to satisfy constraint: "
        "'must satisfy enum value set: [AVAILABLE, UNAVAILABLE, ARCHIVED]'"
    )
    with pytest.raises(InvalidParameterException, match="must be a LayerAvailability"):
        shape.validate("AVAILABLE", "layerAvailability")


def test_any_class_declaring_members_is_read_and_written_by_the_one_mechanism() -> None:
    # Made here, not at import: a class read() has never seen, described by member().
    @attrs.frozen(kw_only=True)
    class _Sample:
        name: str = attrs.field(metadata=member("name", Text(text_itself, str)))
        count: int | None = attrs.field(
            default=None, metadata=member("count", Long(minimum=1), required=False)
        )

    sample = read(_Sample, {"name": "x", "count": 2, "other": 1})
    assert (sample.name, sample.count) == ("x", 2)
    assert write(sample) == {"name": "x", "count": 2}
    assert read(_Sample, {"name": "y"}).count is None
    with pytest.raises(InvalidParameterException, match=r"'name' failed .* 'must not be null'"):
        read(_Sample, {"count": 2})
    with pytest.raises(InvalidParameterException, match="greater than or equal to 1"):
        read(_Sample, {"name": "x", "count": 0})
    # A wrong JSON type after a constraint violation still answers first.
    with pytest.raises(SerializationException, match="STRING_VALUE can not be converted"):
        read(_Sample, {"count": "2"})


@pytest.mark.parametrize(
    ("shape_type", "obj", "message"),
    [
        (
            UploadLayerPartRequest,
            {"repositoryName": 5},
            "NUMBER_VALUE can not be converted to a String",
        ),
        (
            UploadLayerPartRequest,
            {"layerPartBlob": True},
            "TRUE_VALUE can not be converted to a Blob",
        ),
        (
            UploadLayerPartRequest,
            {"partFirstByte": False},
            "FALSE_VALUE can not be converted to a Long",
        ),
        (
            UploadLayerPartRequest,
            {"partFirstByte": [1]},
            "START_ARRAY can not be converted to a Long",
        ),
        (
            # Not a JSON value at all: named by its Python type.
            UploadLayerPartRequest,
            {"partFirstByte": b"1"},
            "bytes can not be converted to a Long",
        ),
        (
            UploadLayerPartRequest,
            {"partFirstByte": float("nan")},
            "nan can not be converted to a Long",
        ),
        (
            UploadLayerPartRequest,
            {"partFirstByte": 2**63},
            "NUMBER_VALUE is out of the range of a Long",
        ),
        (
            CompleteLayerUploadRequest,
            {"layerDigests": {}},
            "START_OBJECT can not be converted to a List",
        ),
        (LayerFailure, {"failureReason": 1.5}, "NUMBER_VALUE can not be converted to a String"),
        (
            BatchCheckLayerAvailabilityResponse,
            {"layers": ["x"]},
            "STRING_VALUE can not be converted to a Structure",
        ),
    ],
)
def test_wrong_json_type_is_named_by_its_token_and_the_shape(
    shape_type: Any, obj: dict[str, object], message: str
) -> None:
    with pytest.raises(SerializationException) as refused:
        shape_type.from_wire(obj)
    assert refused.value.message == message


def test_a_list_item_is_refused_under_the_list_members_name() -> None:
    with pytest.raises(InvalidParameterException) as refused:
        CompleteLayerUploadRequest.from_wire(
            {"repositoryName": "a/b", "uploadId": UPLOAD, "layerDigests": ["nope"]}
        )
    assert refused.value.member == "layerDigests"


def test_typed_construction_is_refused_naming_the_member_and_the_type() -> None:
    with pytest.raises(InvalidParameterException) as refused:
        BatchCheckLayerAvailabilityResponse(layers=("x",), failures=())  # type: ignore[arg-type]
    assert refused.value.message == (
        "Invalid parameter at 'layers' failed to satisfy constraint: 'must be a Layer'"
    )
    with pytest.raises(InvalidParameterException, match=r"'failureReason' .* 'must be a str'"):
        LayerFailure(
            layer_digest="x",
            failure_code=LayerFailureCode.MISSING_LAYER_DIGEST,
            failure_reason=1,  # type: ignore[arg-type]
        )


def test_a_blob_of_exactly_the_maximum_may_be_built_in_python() -> None:
    blob = memoryview(bytearray(API_MAX_PART_BYTES))
    request = UploadLayerPartRequest(
        repository_name=RepositoryName("a/b"),
        upload_id=UploadId(UPLOAD),
        part_first_byte=0,
        part_last_byte=API_MAX_PART_BYTES - 1,
        layer_part_blob=blob,
    )
    assert request.layer_part_blob is blob


def test_a_blob_view_that_is_not_contiguous_bytes_is_refused_saying_so() -> None:
    with pytest.raises(InvalidParameterException) as refused:
        UploadLayerPartRequest(
            repository_name=RepositoryName("a/b"),
            upload_id=UploadId(UPLOAD),
            part_first_byte=0,
            part_last_byte=1,
            layer_part_blob=memoryview(b"abcd")[::2],
        )
    assert refused.value.message == (
        "Invalid parameter at 'layerPartBlob' failed to satisfy constraint: "
        "'must be a contiguous memoryview of bytes'"
    )


def test_the_repository_name_shape_judges_by_the_grammar_it_is_given() -> None:
    oci = REPOSITORY_NAME.for_grammar(RepositoryGrammar.OCI)
    name = oci.read("a__b", "repositoryName")
    assert name == RepositoryName("a__b", grammar=RepositoryGrammar.OCI)
    for seed in (REPOSITORY_NAME, REPOSITORY_NAME.for_grammar(RepositoryGrammar.SEED)):
        with pytest.raises(InvalidParameterException, match="regular expression"):
            seed.read("a__b", "repositoryName")


def test_a_body_that_is_not_an_object_is_named_by_its_token() -> None:
    with pytest.raises(SerializationException) as refused:
        UploadLayerPartRequest.from_wire([])
    assert refused.value.message == "START_ARRAY can not be converted to a Structure"


def test_a_later_blob_of_bad_base64_answers_before_an_earlier_constraint_naming_itself() -> None:
    with pytest.raises(SerializationException) as refused:
        UploadLayerPartRequest.from_wire(
            {
                "repositoryName": "Not/Valid",
                "uploadId": UPLOAD,
                "partFirstByte": 0,
                "partLastByte": 0,
                "layerPartBlob": "!!!!",
            }
        )
    assert refused.value.message == "'layerPartBlob' is not valid base64"
