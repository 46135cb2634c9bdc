"""The ECR errors: codes, statuses, wire forms, and reading them back."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecr_upload_model import (
    EcrError,
    EmptyUploadException,
    InvalidLayerPartException,
    InvalidParameterException,
    KmsException,
    LimitExceededException,
    RegistryId,
    RepositoryName,
    RepositoryNotFoundException,
    SerializationException,
    ServerException,
    UnknownOperationException,
    UploadId,
    UploadNotFoundException,
)
from ecr_upload_model import errors as errors_module
from ecr_upload_model.errors import AWS_COMMON_ERRORS_BY_CODE, ERRORS_BY_CODE, UnmodelledError
from ecr_upload_model.limits import MAX_LONG
from ecr_upload_model.planning import read_error_body
from ecr_upload_model.strategies import registry_ids, repository_names, upload_ids

ERROR_CLASSES = sorted(ERRORS_BY_CODE.values(), key=lambda error: error.code)

# The errors each operation may return (docs/ecr-layer-upload.md, section 2), each by its wire name.
ERRORS_OF_THE_FOUR_OPERATIONS = {
    "ServerException",
    "InvalidParameterException",
    "RepositoryNotFoundException",
    "KmsException",
    "InvalidLayerPartException",
    "UploadNotFoundException",
    "LimitExceededException",
    "InvalidLayerException",
    "LayerPartTooSmallException",
    "LayerAlreadyExistsException",
    "EmptyUploadException",
}


def test_every_error_of_the_four_operations_is_modelled() -> None:
    assert set(ERRORS_BY_CODE) >= ERRORS_OF_THE_FOUR_OPERATIONS
    assert {"SerializationException", "UnknownOperationException"} <= set(ERRORS_BY_CODE)


def test_every_error_class_of_the_module_is_known_by_its_code() -> None:
    defined = {
        value
        for value in vars(errors_module).values()
        if isinstance(value, type) and issubclass(value, EcrError) and value is not EcrError
    }
    # Every class is read back by its code, but the one that keeps a code it does not know.
    assert defined == {*ERRORS_BY_CODE.values(), *AWS_COMMON_ERRORS_BY_CODE.values()} | {
        UnmodelledError
    }
    assert not set(ERRORS_BY_CODE) & set(AWS_COMMON_ERRORS_BY_CODE)


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda error: error.code)
def test_error_code_is_its_class_name_and_its_wire_type(error_class: type[EcrError]) -> None:
    error = error_class("why")
    assert error.code == error_class.__name__
    assert error.to_wire()["__type"] == error_class.__name__
    assert error.to_wire()["message"] == "why"
    assert isinstance(error, EcrError)


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda error: error.code)
def test_only_server_exception_is_a_fault(error_class: type[EcrError]) -> None:
    expected = 500 if error_class is ServerException else 400
    assert error_class.http_status == expected


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda error: error.code)
def test_error_without_a_message_carries_the_api_models_documentation(
    error_class: type[EcrError],
) -> None:
    error = error_class()
    assert error.message == error_class.default_message
    assert error.message
    assert str(error) == error.message


@pytest.mark.parametrize(
    ("error_class", "builtin"),
    [
        (InvalidParameterException, ValueError),
        (SerializationException, ValueError),
        (InvalidLayerPartException, ValueError),
        (UploadNotFoundException, LookupError),
        (RepositoryNotFoundException, LookupError),
        (UnknownOperationException, LookupError),
    ],
)
def test_error_is_also_the_matching_builtin(
    error_class: type[EcrError], builtin: type[Exception]
) -> None:
    assert issubclass(error_class, builtin)


def test_invalid_parameter_constraint_message_is_ecrs() -> None:
    error = InvalidParameterException.constraint(
        "repositoryName", "must have length greater than or equal to 2"
    )
    assert error.message == (
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
        "'must have length greater than or equal to 2'"
    )
    assert error.member == "repositoryName"
    assert error.to_wire() == {"__type": "InvalidParameterException", "message": error.message}


# ---------------------------------------------------------------------------------------
# Modelled members


def test_invalid_layer_part_carries_its_members_on_the_wire() -> None:
    error = InvalidLayerPartException(
        "gap",
        registry_id=RegistryId("123456789012"),
        repository_name=RepositoryName("team/app"),
        upload_id=UploadId("0a1b2c3d-0000-4000-8000-000000000000"),
        last_valid_byte_received=0,
    )
    assert error.to_wire() == {
        "__type": "InvalidLayerPartException",
        "message": "gap",
        "registryId": "123456789012",
        "repositoryName": "team/app",
        "uploadId": "0a1b2c3d-0000-4000-8000-000000000000",
        "lastValidByteReceived": 0,
    }


def test_invalid_layer_part_with_nothing_received_leaves_last_valid_byte_out() -> None:
    wire = InvalidLayerPartException("first byte is 5 instead of 0").to_wire()
    assert "lastValidByteReceived" not in wire
    assert wire == {
        "__type": "InvalidLayerPartException",
        "message": "first byte is 5 instead of 0",
    }


def test_kms_exception_carries_the_kms_error() -> None:
    assert KmsException("no key", kms_error="KMSInvalidStateException").to_wire() == {
        "__type": "KmsException",
        "message": "no key",
        "kmsError": "KMSInvalidStateException",
    }
    assert "kmsError" not in KmsException("no key").to_wire()


# ---------------------------------------------------------------------------------------
# Reading an error body back (what a client does)


def errors() -> st.SearchStrategy[EcrError]:
    """Any error, its members drawn when it has any."""
    plain = st.builds(
        lambda error_class, message: error_class(message),
        st.sampled_from(
            [e for e in ERROR_CLASSES if e not in (InvalidLayerPartException, KmsException)]
        ),
        st.text(),
    )
    layer_part = st.builds(
        InvalidLayerPartException,
        st.text(),
        registry_id=st.none() | registry_ids(),
        repository_name=st.none() | repository_names(),
        upload_id=st.none() | upload_ids(),
        last_valid_byte_received=st.none() | st.integers(0, MAX_LONG),
    )
    kms = st.builds(KmsException, st.text(), kms_error=st.none() | st.text())
    return st.one_of(plain, layer_part, kms)


@given(errors())
def test_error_reads_back_from_its_wire_form_and_survives_pickling(error: EcrError) -> None:
    again = read_error_body(error.to_wire())
    assert type(again) is type(error)
    assert again == error
    assert again.to_wire() == error.to_wire()
    # Servers of several processes send errors between them: the members come along.
    assert pickle.loads(pickle.dumps(error)) == error


@given(errors())
def test_ecr_error_from_wire_is_the_clients_reading_under_its_older_name(error: EcrError) -> None:
    assert EcrError.from_wire(error.to_wire()) == read_error_body(error.to_wire()) == error
    with pytest.raises(SerializationException):
        EcrError.from_wire([])


@pytest.mark.parametrize(
    "wire_type",
    [
        "UploadNotFoundException",
        "com.amazonaws.ecr#UploadNotFoundException",
        "UploadNotFoundException:http://internal.amazon.com/coral/com.amazonaws.ecr/",
        "aws.ecr#UploadNotFoundException:http://internal",
    ],
)
def test_error_code_is_read_as_botocore_reads_it(wire_type: str) -> None:
    error = read_error_body({"__type": wire_type, "message": "gone"})
    assert error == UploadNotFoundException("gone")


def test_error_body_may_spell_message_with_a_capital() -> None:
    assert read_error_body({"__type": "ServerException", "Message": "down"}) == ServerException(
        "down"
    )


def test_error_body_without_a_message_gets_the_default_message() -> None:
    assert read_error_body({"__type": "EmptyUploadException"}) == EmptyUploadException()


@pytest.mark.parametrize(
    "body",
    [
        {"message": "no type"},
        {"__type": 7, "message": "?"},
        {"__type": "ServerException", "message": 7},
        {"__type": "InvalidLayerPartException", "message": "?", "lastValidByteReceived": -1},
        {"__type": "InvalidLayerPartException", "message": "?", "lastValidByteReceived": True},
        {"__type": "InvalidLayerPartException", "message": "?", "lastValidByteReceived": 2**63},
        {"__type": "InvalidLayerPartException", "message": "?", "lastValidByteReceived": "9"},
        {"__type": "InvalidLayerPartException", "message": "?", "registryId": "12345"},
        {"__type": "InvalidLayerPartException", "message": "?", "uploadId": "not-a-uuid"},
        {"__type": "InvalidLayerPartException", "message": "?", "repositoryName": "A"},
    ],
)
def test_malformed_error_body_is_a_serialization_exception(body: dict[str, object]) -> None:
    with pytest.raises(SerializationException):
        read_error_body(body)


def test_error_body_names_a_repository_by_either_grammar() -> None:
    body = {"__type": "InvalidLayerPartException", "message": "?", "repositoryName": "a__b"}
    error = read_error_body(body)
    assert isinstance(error, InvalidLayerPartException)
    assert str(error.repository_name) == "a__b"


@pytest.mark.parametrize("body", [[], "UploadNotFoundException", None, 400])
def test_error_body_that_is_not_an_object_is_a_serialization_exception(body: object) -> None:
    with pytest.raises(SerializationException):
        read_error_body(body)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


@given(
    st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"__type": st.sampled_from(sorted(ERRORS_BY_CODE)) | JSON},
            optional={
                "message": JSON,
                "Message": JSON,
                "registryId": JSON,
                "repositoryName": JSON,
                "uploadId": JSON,
                "lastValidByteReceived": JSON | st.integers(),
                "kmsError": JSON,
            },
        ),
    )
)
def test_any_json_error_body_reads_as_an_error_or_raises_a_typed_one(body: object) -> None:
    try:
        error = read_error_body(body)
    except EcrError:
        return
    assert isinstance(error, EcrError)


def test_errors_equal_by_wire_form_and_type() -> None:
    assert UploadNotFoundException("x") == UploadNotFoundException("x")
    assert UploadNotFoundException("x") != UploadNotFoundException("y")
    assert UploadNotFoundException("x") != RepositoryNotFoundException("x")
    assert InvalidLayerPartException("x", last_valid_byte_received=1) != InvalidLayerPartException(
        "x", last_valid_byte_received=2
    )
    assert hash(LimitExceededException("x")) == hash(LimitExceededException("x"))


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


def test_error_body_with_a_member_of_a_bad_form_is_refused_naming_it() -> None:
    with pytest.raises(SerializationException) as refused:
        read_error_body(
            {"__type": "InvalidLayerPartException", "message": "m", "registryId": "abc"}
        )
    assert refused.value.message == (
        "error body member: Invalid parameter at 'registryId' failed to satisfy constraint: "
        "'must satisfy regular expression '[0-9]{12}''"
    )
