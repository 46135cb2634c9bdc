"""The repository operations: CreateRepository, DescribeRepositories, DeleteRepository and
GetAuthorizationToken, answered by the registry through the wire form as ECR answers them."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_values import REGISTRY_ID, SMALL

from ecr_upload_model import (
    InvalidParameterException,
    Registry,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    SerializationException,
    UsageError,
)
from ecr_upload_model.authorization import verify_password
from ecr_upload_model.limits import AUTHORIZATION_TOKEN_SECONDS, DEFAULT_DESCRIBE_RESULTS
from ecr_upload_model.operations import (
    CreateRepositoryResponse,
    DescribeRepositoriesRequest,
    DescribeRepositoriesResponse,
    GetAuthorizationTokenResponse,
    Repository,
)
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.strategies import repository_names
from ecr_upload_model.wire import TARGET_PREFIX, decode_request, handle

OTHER_REGISTRY_ID = "210987654321"
#: 2026-01-02T03:04:05Z, as seconds since the epoch.
NOW = 1_767_323_045.0
SECRET = b"the registry's secret"


def new_registry(**options: Any) -> Registry:
    return Registry(
        REGISTRY_ID,
        limits=SMALL,
        upload_id_factory=sequential_upload_ids(),
        clock=options.pop("clock", lambda: NOW),
        token_secret=SECRET,
        **options,
    )


def call(registry: Registry, operation: str, body: Mapping[str, object]) -> tuple[int, Any]:
    status, _, answer = handle(registry, f"{TARGET_PREFIX}.{operation}", json.dumps(body).encode())
    return status, json.loads(answer)


def code(answer: tuple[int, Any]) -> tuple[int, str]:
    status, body = answer
    return status, body.get("__type", "ok")


def push_one_layer(registry: Registry, repository: str, data: bytes = b"layer") -> str:
    _, started = call(registry, "InitiateLayerUpload", {"repositoryName": repository})
    upload = {"repositoryName": repository, "uploadId": started["uploadId"]}
    part = {
        **upload,
        "partFirstByte": 0,
        "partLastByte": len(data) - 1,
        "layerPartBlob": base64.b64encode(data).decode(),
    }
    assert call(registry, "UploadLayerPart", part)[0] == 200
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert call(registry, "CompleteLayerUpload", {**upload, "layerDigests": [digest]})[0] == 200
    return digest


# ---------------------------------------------------------------------------------------
# CreateRepository


def test_create_repository_answers_the_repository_with_its_arn_uri_and_creation_time() -> None:
    registry = new_registry(region="eu-west-1", proxy_endpoint="http://127.0.0.1:5000")
    status, answer = call(registry, "CreateRepository", {"repositoryName": "team/app"})
    assert status == 200
    assert answer == {
        "repository": {
            "repositoryArn": f"arn:aws:ecr:eu-west-1:{REGISTRY_ID}:repository/team/app",
            "registryId": REGISTRY_ID,
            "repositoryName": "team/app",
            "repositoryUri": "127.0.0.1:5000/team/app",
            "createdAt": NOW,
        }
    }
    created = CreateRepositoryResponse.from_wire(answer).repository
    assert created.created_at == datetime.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc
    )


def test_the_uri_drops_a_trailing_slash_of_the_proxy_endpoint() -> None:
    registry = new_registry(proxy_endpoint="http://REGISTRY.BOX/")
    _, answer = call(registry, "CreateRepository", {"repositoryName": "team/app"})
    assert answer["repository"]["repositoryUri"] == "REGISTRY.BOX/team/app"


def test_the_default_uri_is_ecrs_own_form_in_the_region() -> None:
    _, answer = call(new_registry(), "CreateRepository", {"repositoryName": "team/app"})
    uri = answer["repository"]["repositoryUri"]
    assert uri == f"{REGISTRY_ID}.dkr.ecr.us-east-1.amazonaws.com/team/app"


def test_create_repository_twice_is_repository_already_exists_and_keeps_the_first() -> None:
    times = iter([NOW, NOW + 60])
    registry = new_registry(clock=lambda: next(times))
    assert code(call(registry, "CreateRepository", {"repositoryName": "team/app"})) == (200, "ok")
    again = call(registry, "CreateRepository", {"repositoryName": "team/app"})
    assert code(again) == (400, "RepositoryAlreadyExistsException")
    assert "team/app" in again[1]["message"]
    _, described = call(registry, "DescribeRepositories", {"repositoryNames": ["team/app"]})
    assert described["repositories"][0]["createdAt"] == NOW


def test_create_repository_in_another_registry_is_refused() -> None:
    registry = new_registry()
    body = {"registryId": OTHER_REGISTRY_ID, "repositoryName": "team/app"}
    status, answer = call(registry, "CreateRepository", body)
    assert (status, answer["__type"]) == (400, "InvalidParameterException")
    assert answer["message"] == (
        "Invalid parameter at 'registryId' failed to satisfy constraint: "
        f"'must name this registry ('{REGISTRY_ID}')'"
    )
    assert code(call(registry, "DescribeRepositories", {"repositoryNames": ["team/app"]})) == (
        400,
        "RepositoryNotFoundException",
    )


def test_create_repository_reads_the_name_by_the_registry_grammar() -> None:
    assert code(call(new_registry(), "CreateRepository", {"repositoryName": "a__b"}))[1] == (
        "InvalidParameterException"
    )
    oci = new_registry(grammar=RepositoryGrammar.OCI)
    assert code(call(oci, "CreateRepository", {"repositoryName": "a__b"})) == (200, "ok")


def test_the_setup_helper_keeps_an_existing_repository_and_its_layers() -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    digest = push_one_layer(registry, "team/app")
    registry.create_repository("team/app")
    _, checked = call(
        registry,
        "BatchCheckLayerAvailability",
        {"repositoryName": "team/app", "layerDigests": [digest]},
    )
    assert [layer["layerDigest"] for layer in checked["layers"]] == [digest]


# ---------------------------------------------------------------------------------------
# DescribeRepositories


def test_describe_named_repositories_answers_them_in_the_order_named() -> None:
    registry = new_registry()
    for name in ("b/two", "a/one"):
        registry.create_repository(name)
    _, answer = call(registry, "DescribeRepositories", {"repositoryNames": ["b/two", "a/one"]})
    assert [r["repositoryName"] for r in answer["repositories"]] == ["b/two", "a/one"]
    assert "nextToken" not in answer


def test_describe_a_missing_repository_is_repository_not_found_naming_it() -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    body = {"repositoryNames": ["team/app", "team/gone", "team/other"]}
    status, answer = call(registry, "DescribeRepositories", body)
    assert (status, answer["__type"]) == (400, "RepositoryNotFoundException")
    assert "'team/gone'" in answer["message"]
    foreign = {"registryId": OTHER_REGISTRY_ID, "repositoryNames": ["team/app"]}
    assert code(call(registry, "DescribeRepositories", foreign))[1] == "RepositoryNotFoundException"


@pytest.mark.parametrize("paging", [{"maxResults": 5}, {"nextToken": "team/app"}])
def test_paging_members_with_repository_names_are_invalid(paging: dict[str, object]) -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    body = {"repositoryNames": ["team/app"], **paging}
    assert call(registry, "DescribeRepositories", body) == (
        400,
        {
            "__type": "InvalidParameterException",
            "message": "maxResults and nextToken cannot be used with repositoryNames",
        },
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"maxResults": 0}, "InvalidParameterException"),
        ({"maxResults": 1001}, "InvalidParameterException"),
        ({"maxResults": "5"}, "SerializationException"),
        ({"repositoryNames": []}, "InvalidParameterException"),
        ({"repositoryNames": ["team/app"] * 101}, "InvalidParameterException"),
        ({"repositoryNames": ["Team"]}, "InvalidParameterException"),
        ({"nextToken": "not a token"}, "InvalidParameterException"),
        ({"nextToken": 5}, "SerializationException"),
    ],
)
def test_describe_refuses_bad_members_with_their_typed_error(
    body: dict[str, object], error: str
) -> None:
    assert code(call(new_registry(), "DescribeRepositories", body)) == (400, error)


def test_a_next_token_no_page_answered_is_invalid_at_next_token() -> None:
    status, answer = call(new_registry(), "DescribeRepositories", {"nextToken": "not a token"})
    assert (status, answer["message"]) == (
        400,
        "Invalid parameter at 'nextToken' failed to satisfy constraint: "
        "'must be a token a previous page answered'",
    )


def test_describe_all_of_another_registry_finds_none() -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    _, answer = call(registry, "DescribeRepositories", {"registryId": OTHER_REGISTRY_ID})
    assert answer == {"repositories": []}


@given(
    names=st.sets(repository_names(), max_size=12),
    page_size=st.one_of(st.none(), st.integers(1, 5)),
)
def test_paging_through_every_repository_lists_each_once_in_name_order(
    names: set[RepositoryName], page_size: int | None
) -> None:
    registry = new_registry()
    for name in names:
        registry.create_repository(name)
    listed: list[str] = []
    token: str | None = None
    for _ in range(len(names) + 2):  # every page but the last is full
        request = DescribeRepositoriesRequest(next_token=token, max_results=page_size)
        answer = registry.describe_repositories(request)
        assert len(answer.repositories) <= (page_size or DEFAULT_DESCRIBE_RESULTS)
        listed += [str(repository.repository_name) for repository in answer.repositories]
        token = answer.next_token
        if token is None:
            break
    assert listed == sorted(str(name) for name in names)


def test_a_page_goes_on_after_its_token_even_when_that_repository_is_deleted() -> None:
    registry = new_registry()
    for name in ("a/1", "a/2", "a/3"):
        registry.create_repository(name)
    _, first = call(registry, "DescribeRepositories", {"maxResults": 2})
    assert [r["repositoryName"] for r in first["repositories"]] == ["a/1", "a/2"]
    assert call(registry, "DeleteRepository", {"repositoryName": "a/2"})[0] == 200
    _, rest = call(registry, "DescribeRepositories", {"nextToken": first["nextToken"]})
    assert [r["repositoryName"] for r in rest["repositories"]] == ["a/3"]
    assert "nextToken" not in rest


def test_a_last_page_that_is_exactly_full_has_no_next_token() -> None:
    registry = new_registry()
    for name in ("a/1", "a/2"):
        registry.create_repository(name)
    _, answer = call(registry, "DescribeRepositories", {"maxResults": 2})
    assert [r["repositoryName"] for r in answer["repositories"]] == ["a/1", "a/2"]
    assert "nextToken" not in answer


def test_a_token_names_a_repository_of_the_registry_grammar() -> None:
    registry = new_registry(grammar=RepositoryGrammar.OCI)
    for name in ("a__1", "a__2"):  # names of the OCI grammar alone
        registry.create_repository(name)
    _, first = call(registry, "DescribeRepositories", {"maxResults": 1})
    _, rest = call(registry, "DescribeRepositories", {"nextToken": first["nextToken"]})
    assert [r["repositoryName"] for r in rest["repositories"]] == ["a__2"]


def test_the_default_page_holds_100_repositories() -> None:
    registry = new_registry()
    for number in range(DEFAULT_DESCRIBE_RESULTS + 1):
        registry.create_repository(f"r/{number:03}")
    answer = registry.describe_repositories(DescribeRepositoriesRequest())
    assert len(answer.repositories) == DEFAULT_DESCRIBE_RESULTS
    assert answer.next_token == "r/099"


# ---------------------------------------------------------------------------------------
# DeleteRepository


def test_delete_an_empty_repository_answers_it_and_it_is_gone() -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    status, answer = call(registry, "DeleteRepository", {"repositoryName": "team/app"})
    assert status == 200
    assert answer["repository"]["repositoryName"] == "team/app"
    assert answer["repository"]["createdAt"] == NOW
    assert code(call(registry, "DeleteRepository", {"repositoryName": "team/app"})) == (
        400,
        "RepositoryNotFoundException",
    )
    assert call(registry, "DescribeRepositories", {}) == (200, {"repositories": []})


def test_delete_a_repository_holding_layers_needs_force() -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    digest = push_one_layer(registry, "team/app")
    refused = call(registry, "DeleteRepository", {"repositoryName": "team/app", "force": False})
    assert code(refused) == (400, "RepositoryNotEmptyException")
    assert refused[1]["message"] == (
        f"The repository with name 'team/app' in registry with id '{REGISTRY_ID}' cannot be "
        "deleted because it still contains images"
    )
    check = {"repositoryName": "team/app", "layerDigests": [digest]}
    assert len(call(registry, "BatchCheckLayerAvailability", check)[1]["layers"]) == 1
    forced = call(registry, "DeleteRepository", {"repositoryName": "team/app", "force": True})
    assert code(forced) == (200, "ok")
    # A new repository of the same name starts empty.
    registry.create_repository("team/app")
    assert call(registry, "BatchCheckLayerAvailability", check)[1]["layers"] == []


def test_an_upload_into_a_deleted_repository_is_repository_not_found() -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    _, started = call(registry, "InitiateLayerUpload", {"repositoryName": "team/app"})
    assert call(registry, "DeleteRepository", {"repositoryName": "team/app"})[0] == 200
    part = {
        "repositoryName": "team/app",
        "uploadId": started["uploadId"],
        "partFirstByte": 0,
        "partLastByte": 0,
        "layerPartBlob": "AA==",
    }
    assert code(call(registry, "UploadLayerPart", part)) == (400, "RepositoryNotFoundException")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"repositoryName": "team/app", "force": "yes"}, "SerializationException"),
        ({"repositoryName": "team/app", "force": 1}, "SerializationException"),
        ({"force": True}, "InvalidParameterException"),
        ({"repositoryName": "team/app", "registryId": OTHER_REGISTRY_ID}, "RepositoryNotFound"),
    ],
)
def test_delete_refuses_bad_members_and_changes_nothing(
    body: dict[str, object], error: str
) -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    status, answer = call(registry, "DeleteRepository", body)
    assert status == 400
    assert answer["__type"].startswith(error)
    assert len(call(registry, "DescribeRepositories", {})[1]["repositories"]) == 1


def test_a_boolean_member_names_its_json_type_in_the_serialization_error() -> None:
    body = b'{"repositoryName": "team/app", "force": "true"}'
    with pytest.raises(SerializationException, match="can not be converted to a Boolean"):
        decode_request(f"{TARGET_PREFIX}.DeleteRepository", body)


# ---------------------------------------------------------------------------------------
# GetAuthorizationToken


def password_of(answer: dict[str, Any]) -> str:
    token = answer["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
    assert user == "AWS"
    assert isinstance(password, str)
    return password


def test_the_token_is_basic_credentials_for_the_proxy_valid_for_12_hours() -> None:
    registry = new_registry(proxy_endpoint="http://127.0.0.1:5000")
    status, answer = call(registry, "GetAuthorizationToken", {})
    assert status == 200
    [data] = answer["authorizationData"]
    assert data["proxyEndpoint"] == "http://127.0.0.1:5000"
    assert data["expiresAt"] == int(NOW) + AUTHORIZATION_TOKEN_SECONDS
    password = password_of(answer)
    assert registry.verify_password(password)
    parsed = GetAuthorizationTokenResponse.from_wire(answer).authorization_data[0]
    assert parsed.expires_at - datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc) == (
        datetime.timedelta(hours=12, seconds=-(NOW % 1))
    )


def test_a_password_verifies_in_any_registry_sharing_the_secret_until_it_expires() -> None:
    now = [NOW]
    issuer = new_registry(clock=lambda: now[0])
    password = password_of(call(issuer, "GetAuthorizationToken", {})[1])
    other_process = new_registry(clock=lambda: now[0])
    assert other_process.verify_password(password)
    another_secret = Registry(REGISTRY_ID, clock=lambda: now[0], token_secret=b"other")
    assert not another_secret.verify_password(password)
    another_registry = Registry(OTHER_REGISTRY_ID, clock=lambda: now[0], token_secret=SECRET)
    assert not another_registry.verify_password(password)
    now[0] = NOW + AUTHORIZATION_TOKEN_SECONDS - 1
    assert other_process.verify_password(password)
    now[0] = NOW + AUTHORIZATION_TOKEN_SECONDS
    assert not other_process.verify_password(password)


def test_registries_without_a_given_secret_do_not_accept_each_others_passwords() -> None:
    first, second = Registry(REGISTRY_ID), Registry(REGISTRY_ID)
    password = password_of(call(first, "GetAuthorizationToken", {})[1])
    assert first.verify_password(password)
    assert not second.verify_password(password)


def test_naming_this_registry_gives_its_token_and_another_registry_is_refused() -> None:
    registry = new_registry()
    mine = call(registry, "GetAuthorizationToken", {"registryIds": [REGISTRY_ID]})
    assert registry.verify_password(password_of(mine[1]))
    foreign = call(registry, "GetAuthorizationToken", {"registryIds": [OTHER_REGISTRY_ID]})
    assert code(foreign) == (400, "InvalidParameterException")
    assert "'registryIds'" in foreign[1]["message"]
    too_many = call(registry, "GetAuthorizationToken", {"registryIds": [REGISTRY_ID] * 11})
    assert code(too_many) == (400, "InvalidParameterException")


@given(st.text(max_size=200))
def test_any_other_text_is_not_a_password(text: str) -> None:
    assert not verify_password(text, secret=SECRET, registry_id=REGISTRY_ID, now=0)


@given(data=st.data())
def test_a_password_changed_anywhere_does_not_verify(data: st.DataObject) -> None:
    registry = new_registry()
    password = password_of(call(registry, "GetAuthorizationToken", {})[1])
    index = data.draw(st.integers(0, len(password) - 1), "index")
    replacement = data.draw(st.characters().filter(lambda c: c != password[index]), "character")
    changed = password[:index] + replacement + password[index + 1 :]
    assert not registry.verify_password(changed)
    assert not registry.verify_password(password[:index])


def test_registry_refuses_a_bad_region_or_secret_with_usage_error() -> None:
    with pytest.raises(UsageError, match="region"):
        Registry(REGISTRY_ID, region="")
    with pytest.raises(UsageError, match="token_secret"):
        Registry(REGISTRY_ID, token_secret=b"")
    with pytest.raises(UsageError, match="token_secret"):
        Registry(REGISTRY_ID, token_secret="text")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# The shapes of the answers


#: The last second of year 9999, the last a datetime holds.
LAST_SECOND = 253_402_300_799


@given(st.floats(0, LAST_SECOND, allow_nan=False) | st.integers(0, LAST_SECOND))
def test_a_timestamp_reads_back_as_the_same_instant(seconds: float) -> None:
    wire = {
        "repositoryArn": "arn",
        "registryId": REGISTRY_ID,
        "repositoryName": "team/app",
        "repositoryUri": "uri",
        "createdAt": seconds,
    }
    repository = Repository.from_wire(wire)
    assert repository.created_at.tzinfo is not None
    assert repository.created_at.timestamp() == pytest.approx(seconds, abs=1e-6)
    assert Repository.from_wire(repository.to_wire()) == repository


@pytest.mark.parametrize("raw", ["2026-01-01", True, None, float("inf"), 10**30])
def test_a_timestamp_that_is_not_a_number_of_seconds_is_a_serialization_error(raw: object) -> None:
    wire = {
        "repositoryArn": "arn",
        "registryId": REGISTRY_ID,
        "repositoryName": "team/app",
        "repositoryUri": "uri",
        "createdAt": raw,
    }
    expected = InvalidParameterException if raw is None else SerializationException
    with pytest.raises(expected):
        Repository.from_wire(wire)


def test_a_naive_datetime_is_refused_when_building_a_repository() -> None:
    with pytest.raises(InvalidParameterException, match="createdAt"):
        Repository(
            repository_arn="arn",
            registry_id=RegistryId(REGISTRY_ID),
            repository_name=RepositoryName("team/app"),
            repository_uri="uri",
            created_at=datetime.datetime(2026, 1, 1),
        )


def test_describe_response_reads_back_through_its_shape() -> None:
    registry = new_registry()
    registry.create_repository("team/app")
    _, answer = call(registry, "DescribeRepositories", {})
    described = DescribeRepositoriesResponse.from_wire(answer)
    assert [str(r.repository_name) for r in described.repositories] == ["team/app"]
    assert described.to_wire() == answer
