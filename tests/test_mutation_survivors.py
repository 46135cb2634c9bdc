"""Tests that kill mutants the other test files let live (``nox -s mutation``).

Each says which behaviour the surviving mutant broke. Helpers that the package calls
only while it is imported (``enum_text``) are called here at run time: mutmut switches
a mutant on per call, so a helper run only at import cannot be judged otherwise.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs
import pytest
from test_session import OTHER_UPLOAD, REGISTRY, SMALL, completion, holding

from ecr_upload_model import (
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    EcrError,
    InitiateLayerUploadRequest,
    InvalidLayerPartException,
    InvalidParameterException,
    InvalidSnapshotError,
    LayerAlreadyExistsException,
    LayerAvailability,
    LayerDigest,
    LayerFailure,
    LayerFailureCode,
    Limits,
    Registry,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    RepositoryNotFoundException,
    SerializationException,
    UploadId,
    UploadLayerPartRequest,
    UploadNotFoundException,
    UploadSession,
    UsageError,
)
from ecr_upload_model._shapes import Long, Text, enum_text, member, read, text_itself, write
from ecr_upload_model.limits import API_MAX_PART_BYTES, MAX_LONG
from ecr_upload_model.operations import REPOSITORY_NAME
from ecr_upload_model.planning import read_error_body
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.session import MAX_PART_COUNT, _instance_of
from ecr_upload_model.wire import TARGET_PREFIX, handle, parse_body

UPLOAD_ID = "0a1b2c3d-0000-4000-8000-000000000000"
DIGEST = "sha256:" + "0" * 64


@pytest.mark.parametrize("enum", [LayerAvailability, LayerFailureCode])
def test_enum_shape_reads_each_value_and_writes_it_back(
    enum: type[LayerAvailability] | type[LayerFailureCode],
) -> None:
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


# ---------------------------------------------------------------------------------------
# _shapes: the one reading mechanism, on a class it has never seen, and its messages


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
            {"repositoryName": "a/b", "uploadId": UPLOAD_ID, "layerDigests": ["nope"]}
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
        upload_id=UploadId(UPLOAD_ID),
        part_first_byte=0,
        part_last_byte=API_MAX_PART_BYTES - 1,
        layer_part_blob=blob,
    )
    assert request.layer_part_blob is blob


def test_a_blob_view_that_is_not_contiguous_bytes_is_refused_saying_so() -> None:
    with pytest.raises(InvalidParameterException) as refused:
        UploadLayerPartRequest(
            repository_name=RepositoryName("a/b"),
            upload_id=UploadId(UPLOAD_ID),
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


# ---------------------------------------------------------------------------------------
# errors: reading an error body back


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "error body is not a JSON object"),
        ({"__type": 1, "message": "m"}, "error body has no string __type and message"),
        (
            {"__type": "InvalidLayerPartException", "lastValidByteReceived": -1},
            "error body member: Invalid parameter at 'lastValidByteReceived' failed to satisfy "
            "constraint: 'must be greater than or equal to 0'",
        ),
    ],
)
def test_malformed_error_body_is_refused_saying_what_is_wrong(body: object, message: str) -> None:
    with pytest.raises(SerializationException) as refused:
        read_error_body(body)
    assert refused.value.message == message


def test_error_body_members_of_the_wrong_type_are_dropped_and_the_largest_long_kept() -> None:
    kms = read_error_body({"__type": "KmsException", "message": "m", "kmsError": 5})
    assert kms.to_wire() == {"__type": "KmsException", "message": "m"}
    part = read_error_body(
        {
            "__type": "InvalidLayerPartException",
            "message": "m",
            "registryId": 5,
            "uploadId": ["x"],
            "lastValidByteReceived": MAX_LONG,
        }
    )
    assert part.to_wire() == {
        "__type": "InvalidLayerPartException",
        "message": "m",
        "lastValidByteReceived": MAX_LONG,
    }


def test_error_repr_names_its_class_and_message() -> None:
    assert repr(InvalidLayerPartException("gap")) == "InvalidLayerPartException('gap')"


# ---------------------------------------------------------------------------------------
# wire and registry: what the messages say


def test_unknown_operation_message_names_the_operation_or_the_foreign_target() -> None:
    registry = Registry("123456789012")
    for target, named in (
        (f"{TARGET_PREFIX}.UploadLayerPart.x", "'UploadLayerPart.x'"),
        ("Other_V1.UploadLayerPart", "'Other_V1.UploadLayerPart'"),
    ):
        _, _, body = handle(registry, target, b"{}")
        assert json.loads(body)["message"] == (
            f"The operation {named} is not known to this service"
        )


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (b"NaN", "NaN is not a JSON number"),
        (b"-Infinity", "-Infinity is not a JSON number"),
        (b"9" * 40, "NUMBER_VALUE is out of the range of a Long"),
        (b"[" * 100_000, "The request body is nested too deeply"),
    ],
)
def test_body_refusals_say_what_is_wrong(token: bytes, message: str) -> None:
    with pytest.raises(SerializationException) as refused:
        parse_body(b'{"x": ' + token + b"}")
    assert refused.value.message == message


def test_a_registry_of_the_oci_grammar_reads_its_names_over_the_wire() -> None:
    registry = Registry("123456789012", grammar=RepositoryGrammar.OCI)
    registry.create_repository("a__b")
    status, _, _ = handle(
        registry, f"{TARGET_PREFIX}.InitiateLayerUpload", b'{"repositoryName": "a__b"}'
    )
    assert status == 200


def test_request_id_that_would_break_a_header_is_refused_naming_it() -> None:
    with pytest.raises(UsageError, match=r"printable ASCII, not 'a\\nb'"):
        handle(Registry("123456789012"), "x", b"{}", request_id="a\nb")


def test_registry_refusals_name_the_repository_registry_and_upload() -> None:
    registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
    name = registry.create_repository("team/app")
    with pytest.raises(RepositoryNotFoundException) as missing:
        registry.initiate_layer_upload(
            InitiateLayerUploadRequest(repository_name=RepositoryName("x/y"))
        )
    assert missing.value.message == (
        "The repository with name 'x/y' does not exist in the registry with id '123456789012'"
    )
    other = RegistryId("210987654321")
    with pytest.raises(RepositoryNotFoundException, match="registry with id '210987654321'"):
        registry.initiate_layer_upload(
            InitiateLayerUploadRequest(registry_id=other, repository_name=name)
        )
    part = UploadLayerPartRequest(
        repository_name=name,
        upload_id=UploadId(UPLOAD_ID),
        part_first_byte=0,
        part_last_byte=0,
        layer_part_blob=b"x",
    )
    with pytest.raises(UploadNotFoundException) as unknown:
        registry.upload_layer_part(part)
    assert unknown.value.message == (
        f"Upload '{UPLOAD_ID}' is not found in repository 'team/app' of registry '123456789012'"
    )
    complete = CompleteLayerUploadRequest(
        repository_name=name, upload_id=UploadId(UPLOAD_ID), layer_digests=(LayerDigest(DIGEST),)
    )
    with pytest.raises(UploadNotFoundException, match="in repository 'team/app'"):
        registry.complete_layer_upload(complete)


def test_a_layer_already_held_is_refused_naming_it() -> None:
    registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
    name = registry.create_repository("team/app")
    digest = LayerDigest.sha256(hashlib.sha256(b"x").hexdigest())

    def push() -> None:
        upload_id = registry.initiate_layer_upload(
            InitiateLayerUploadRequest(repository_name=name)
        ).upload_id
        registry.upload_layer_part(
            UploadLayerPartRequest(
                repository_name=name,
                upload_id=upload_id,
                part_first_byte=0,
                part_last_byte=0,
                layer_part_blob=b"x",
            )
        )
        registry.complete_layer_upload(
            CompleteLayerUploadRequest(
                repository_name=name, upload_id=upload_id, layer_digests=(digest,)
            )
        )

    push()
    with pytest.raises(LayerAlreadyExistsException) as held:
        push()
    assert held.value.message == (
        f"The layer '{digest}' already exists in the repository 'team/app' "
        "of registry '123456789012'"
    )


def test_sequential_ids_refuse_a_bad_start_and_their_end_saying_so() -> None:
    with pytest.raises(UsageError, match="start must be a non-negative int, not -1"):
        sequential_upload_ids(-1)
    last = sequential_upload_ids(2**128 - 1)
    last()
    with pytest.raises(UsageError, match=r"^sequential upload ids are exhausted \(128 bits\)$"):
        last()
    registry = Registry("123456789012", upload_id_factory=lambda: UploadId(UPLOAD_ID))
    name = registry.create_repository("team/app")
    registry.initiate_layer_upload(InitiateLayerUploadRequest(repository_name=name))
    with pytest.raises(UsageError, match=f"repeated {UPLOAD_ID}, an id in use"):
        registry.initiate_layer_upload(InitiateLayerUploadRequest(repository_name=name))


def test_limits_refuse_a_part_size_outside_the_part_bounds_saying_so() -> None:
    with pytest.raises(
        UsageError, match=r"^part_size must lie between min_part_bytes and max_part_bytes$"
    ):
        Limits(part_size=1)


def test_a_body_that_is_not_an_object_is_named_by_its_token() -> None:
    with pytest.raises(SerializationException) as refused:
        UploadLayerPartRequest.from_wire([])
    assert refused.value.message == "START_ARRAY can not be converted to a Structure"


def test_a_later_blob_of_bad_base64_answers_before_an_earlier_constraint_naming_itself() -> None:
    with pytest.raises(SerializationException) as refused:
        UploadLayerPartRequest.from_wire(
            {
                "repositoryName": "Not/Valid",
                "uploadId": UPLOAD_ID,
                "partFirstByte": 0,
                "partLastByte": 0,
                "layerPartBlob": "!!!!",
            }
        )
    assert refused.value.message == "'layerPartBlob' is not valid base64"


# ---------------------------------------------------------------------------------------
# session and errors: messages and rules no test read

#: The message of a session no transitions reach: the rule broken, then the counts.
UNREACHABLE = "no upload reaches this session: the rule '{}' fails for {}"


@pytest.mark.parametrize(
    ("limits", "progress", "message"),
    [
        (
            SMALL,
            {"lastByteReceived": 4},
            UNREACHABLE.format(
                "an upload without parts holds nothing and is not completed",
                "0 parts, 5 bytes, the latest of 0",
            ),
        ),
        (
            SMALL,
            {"lastByteReceived": 0, "partCount": 1},
            UNREACHABLE.format(
                "the latest part fits the limits", "1 parts, 1 bytes, the latest of 0"
            ),
        ),
        (
            # One part, larger than what the upload holds.
            SMALL,
            {"lastByteReceived": 2, "partCount": 1, "latestPartSize": 5},
            UNREACHABLE.format(
                "earlier parts hold enough bytes", "1 parts, 3 bytes, the latest of 5"
            ),
        ),
        (
            SMALL,
            {"lastByteReceived": 17, "partCount": 2, "latestPartSize": 1},
            UNREACHABLE.format(
                "earlier parts fit the limits", "2 parts, 18 bytes, the latest of 1"
            ),
        ),
        (
            SMALL,
            {
                "lastByteReceived": 4,
                "partCount": 1,
                "latestPartSize": 5,
                "hasSmallPartBeforeLatest": True,
            },
            UNREACHABLE.format(
                "a small part before the latest needs two parts",
                "1 parts, 5 bytes, the latest of 5",
            ),
        ),
        (
            SMALL,
            {
                "lastByteReceived": 1,
                "partCount": 2,
                "latestPartSize": 1,
                "hasSmallPartBeforeLatest": True,
                "layerDigest": DIGEST,
            },
            UNREACHABLE.format(
                "a completed upload has no small part before its last",
                "2 parts, 2 bytes, the latest of 1",
            ),
        ),
        (
            attrs.evolve(SMALL, max_parts=1),
            {"lastByteReceived": 4, "partCount": 2, "latestPartSize": 1},
            UNREACHABLE.format("the parts fit the quota", "2 parts, 5 bytes, the latest of 1"),
        ),
        (
            attrs.evolve(SMALL, max_layer_bytes=2),
            {"lastByteReceived": 2, "partCount": 1, "latestPartSize": 3},
            UNREACHABLE.format("the layer fits the quota", "1 parts, 3 bytes, the latest of 3"),
        ),
    ],
)
def test_snapshot_no_upload_reaches_is_refused_naming_the_rule_it_breaks(
    limits: Limits, progress: dict[str, Any], message: str
) -> None:
    revision = progress.get("partCount", 0) + ("layerDigest" in progress)
    snapshot = fresh_snapshot(limits=attrs.asdict(limits), revision=revision, **progress)
    with pytest.raises(InvalidSnapshotError) as refused:
        UploadSession.from_snapshot(snapshot)
    assert str(refused.value) == f"not a session snapshot: {message}"


@pytest.mark.parametrize(
    ("limits", "held", "request_", "wire"),
    [
        (
            attrs.evolve(SMALL, max_parts=1),
            [b"abcd"],
            {"part_first_byte": 4, "part_last_byte": 5, "layer_part_blob": b"ef"},
            {
                "__type": "LimitExceededException",
                "message": "The upload already holds 1 parts, the most a layer may have",
            },
        ),
        (
            attrs.evolve(SMALL, max_layer_bytes=5),
            [],
            {"part_first_byte": 0, "part_last_byte": 5, "layer_part_blob": b"abcdef"},
            {
                "__type": "LimitExceededException",
                "message": "The part would make the layer 6 bytes, over the maximum 5",
            },
        ),
        (
            # No registryId: the message names the session's registry.
            SMALL,
            [],
            {
                "upload_id": OTHER_UPLOAD,
                "part_first_byte": 0,
                "part_last_byte": 0,
                "layer_part_blob": b"a",
            },
            {
                "__type": "UploadNotFoundException",
                "message": f"Upload '{OTHER_UPLOAD}' is not found in repository "
                "'team/app' of registry '123456789012'",
            },
        ),
        (
            SMALL,
            [],
            {
                "registry_id": RegistryId("210987654321"),
                "part_first_byte": 0,
                "part_last_byte": 0,
                "layer_part_blob": b"a",
            },
            {
                "__type": "UploadNotFoundException",
                "message": f"Upload '{UPLOAD_ID}' is not found in repository "
                "'team/app' of registry '210987654321'",
            },
        ),
    ],
)
def test_refused_part_is_answered_with_a_message_saying_what_it_breaks(
    limits: Limits, held: list[bytes], request_: dict[str, Any], wire: dict[str, object]
) -> None:
    session = holding(*held, limits=limits)
    arguments: dict[str, Any] = {
        "repository_name": session.repository_name,
        "upload_id": session.upload_id,
        **request_,
    }
    with pytest.raises(EcrError) as refused:
        session.upload_part(UploadLayerPartRequest(**arguments))
    assert refused.value.to_wire() == wire


@pytest.mark.parametrize(
    ("held", "wire"),
    [
        (
            [b"ab", b"cd"],
            {
                "__type": "LayerPartTooSmallException",
                "message": "All layer parts except the last part should be at least 4 bytes",
            },
        ),
        (
            [b"abcd"],
            {
                "__type": "InvalidLayerException",
                "message": f"The layer digest calculated for upload '{UPLOAD_ID}' is "
                f"sha256:{'1' * 64}, which is none of the digests specified",
            },
        ),
    ],
)
def test_refused_completion_is_answered_with_a_message_saying_what_is_wrong(
    held: list[bytes], wire: dict[str, object]
) -> None:
    session = holding(*held)
    request = completion(LayerDigest(DIGEST))
    with pytest.raises(EcrError) as refused:
        session.complete(request, LayerDigest("sha256:" + "1" * 64))
    assert refused.value.to_wire() == wire


def fresh_snapshot(*, without: str = "", **changes: object) -> dict[str, object]:
    """The snapshot of a new session under SMALL, written out; ``without`` drops a member."""
    snapshot: dict[str, object] = {
        "schema": "ecr_upload_model.UploadSession/1",
        "registryId": str(REGISTRY),
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "limits": attrs.asdict(SMALL),
        "lastByteReceived": None,
        "partCount": 0,
        "latestPartSize": 0,
        "hasSmallPartBeforeLatest": False,
        "layerDigest": None,
        "revision": 0,
        **changes,
    }
    snapshot.pop(without, None)
    return snapshot


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        (None, "the schema is not 'ecr_upload_model.UploadSession/1'"),
        (fresh_snapshot(registryId=123456789012), "'registryId' is 123456789012, not a str"),
        # A missing count must not quietly read as 0.
        (fresh_snapshot(without="partCount"), "'partCount' is None, not a int"),
        (fresh_snapshot(without="latestPartSize"), "'latestPartSize' is None, not a int"),
        (fresh_snapshot(without="revision"), "'revision' is None, not a int"),
        (
            fresh_snapshot(partCount=-1),
            "'partCount' is -1, outside 0 to 9223372036854775807",
        ),
        (
            fresh_snapshot(limits={"unknown": 1}),
            "'limits' has the fields ['unknown'], not ['max_layer_bytes', 'max_part_bytes', "
            "'max_parts', 'min_part_bytes', 'part_size']",
        ),
        (fresh_snapshot(revision=5), "'revision' is 5, not 0"),
        (
            fresh_snapshot(lastByteReceived=4),
            UNREACHABLE.format(
                "an upload without parts holds nothing and is not completed",
                "0 parts, 5 bytes, the latest of 0",
            ),
        ),
    ],
)
def test_snapshot_refusal_says_what_is_wrong(snapshot: object, message: str) -> None:
    with pytest.raises(InvalidSnapshotError) as refused:
        UploadSession.from_snapshot(snapshot)
    assert str(refused.value) == f"not a session snapshot: {message}"


def test_snapshot_of_the_most_parts_a_session_counts_is_read_back() -> None:
    # MAX_PART_COUNT - 1 parts of one byte (under the minimum, hence the flag), then one of
    # two; completed, its revision is the largest long.
    snapshot = fresh_snapshot(
        limits=attrs.asdict(Limits()),
        lastByteReceived=MAX_PART_COUNT,
        partCount=MAX_PART_COUNT,
        latestPartSize=2,
        hasSmallPartBeforeLatest=True,
        revision=MAX_PART_COUNT,
    )
    session = UploadSession.from_snapshot(snapshot)
    assert (session.part_count, session.last_byte_received, session.revision) == (
        MAX_PART_COUNT,
        MAX_PART_COUNT,
        MAX_LONG - 1,
    )
    assert session.to_snapshot() == snapshot
    with pytest.raises(InvalidSnapshotError, match="the parts fit the quota"):
        UploadSession.from_snapshot(
            {**snapshot, "partCount": MAX_LONG, "lastByteReceived": MAX_LONG, "revision": MAX_LONG}
        )


def test_error_body_with_a_member_of_a_bad_form_is_refused_naming_it() -> None:
    with pytest.raises(SerializationException) as refused:
        read_error_body(
            {"__type": "InvalidLayerPartException", "message": "m", "registryId": "abc"}
        )
    assert refused.value.message == (
        "error body member: Invalid parameter at 'registryId' failed to satisfy constraint: "
        "'must satisfy regular expression '[0-9]{12}''"
    )


def test_type_check_of_a_session_field_names_the_field_and_the_types() -> None:
    # Made here, not at import: the session's fields are checked by checks made at import.
    field = attrs.fields(Limits).part_size
    _instance_of((int, str))(None, field, "text")
    with pytest.raises(UsageError) as refused:
        _instance_of((int, str))(None, field, None)
    assert str(refused.value) == "part_size must be a int or str, not None"
    with pytest.raises(UsageError) as refused:
        _instance_of(int)(None, field, 1.5)
    assert str(refused.value) == "part_size must be a int, not 1.5"
