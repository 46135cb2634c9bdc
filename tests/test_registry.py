"""The reference Registry: each operation's answers and errors, in ECR's order."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oci_images import OCI_INDEX
from shared_values import REGISTRY_ID, SMALL

from ecr_upload_model import (
    API_LIMITS,
    BatchCheckLayerAvailabilityRequest,
    CompleteLayerUploadRequest,
    EmptyUploadException,
    InitiateLayerUploadRequest,
    InvalidLayerException,
    InvalidLayerPartException,
    InvalidParameterException,
    LayerAlreadyExistsException,
    LayerAvailability,
    LayerDigest,
    LayerFailureCode,
    LayerPartTooSmallException,
    LimitExceededException,
    Limits,
    Registry,
    RegistryId,
    RepositoryGrammar,
    RepositoryName,
    RepositoryNotFoundException,
    UploadId,
    UploadLayerPartRequest,
    UploadNotFoundException,
    UploadSession,
    UsageError,
)
from ecr_upload_model.limits import MAX_LAYER_DIGESTS, MIN_PART_BYTES
from ecr_upload_model.manifests import ImageTag, Manifest
from ecr_upload_model.operations import CreateRepositoryRequest, DeleteRepositoryRequest
from ecr_upload_model.registry import (
    EMPTY_LAYER_DIGEST,
    Completion,
    HeldLayer,
    HeldRepository,
    HeldUpload,
    MemoryStore,
    Removal,
    sequential_upload_ids,
)

OTHER_REGISTRY_ID = "210987654321"
UNKNOWN_UPLOAD_ID = UploadId("ffffffff-ffff-4fff-bfff-ffffffffffff")


def sha256(data: bytes) -> LayerDigest:
    return LayerDigest.sha256(hashlib.sha256(data).hexdigest())


def new_registry(limits: Limits = SMALL, *, start: int = 0) -> Registry:
    registry = Registry(REGISTRY_ID, limits=limits, upload_id_factory=sequential_upload_ids(start))
    registry.create_repository("team/app")
    registry.create_repository("team/other")
    return registry


def name(repository: str) -> RepositoryName:
    # The OCI grammar admits every name of the seed's too: the helpers serve both.
    return RepositoryName(repository, grammar=RepositoryGrammar.OCI)


def registry_id_or_none(registry_id: str | None) -> RegistryId | None:
    return None if registry_id is None else RegistryId(registry_id)


def initiate(
    registry: Registry, repository: str = "team/app", *, registry_id: str | None = None
) -> UploadId:
    request = InitiateLayerUploadRequest(
        registry_id=registry_id_or_none(registry_id), repository_name=name(repository)
    )
    return registry.initiate_layer_upload(request).upload_id


def part(
    upload_id: UploadId,
    first: int,
    blob: bytes,
    *,
    repository: str = "team/app",
    registry_id: str | None = None,
) -> UploadLayerPartRequest:
    return UploadLayerPartRequest(
        registry_id=registry_id_or_none(registry_id),
        repository_name=name(repository),
        upload_id=upload_id,
        part_first_byte=first,
        part_last_byte=first + len(blob) - 1,
        layer_part_blob=blob,
    )


def completion(
    upload_id: UploadId,
    *digests: LayerDigest,
    repository: str = "team/app",
    registry_id: str | None = None,
) -> CompleteLayerUploadRequest:
    return CompleteLayerUploadRequest(
        registry_id=registry_id_or_none(registry_id),
        repository_name=name(repository),
        upload_id=upload_id,
        layer_digests=digests,
    )


def check_request(
    *digests: str, repository: str = "team/app", registry_id: str | None = None
) -> BatchCheckLayerAvailabilityRequest:
    return BatchCheckLayerAvailabilityRequest(
        registry_id=registry_id_or_none(registry_id),
        repository_name=name(repository),
        layer_digests=digests,
    )


def check(
    registry: Registry, *digests: str, repository: str = "team/app"
) -> list[tuple[str, object]]:
    """Each answer as (digest text, layer size or failure code), layers then failures."""
    response = registry.batch_check_layer_availability(
        check_request(*digests, repository=repository)
    )
    for layer in response.layers:
        assert layer.layer_availability is LayerAvailability.AVAILABLE
        assert layer.media_type is None
    return [(str(layer.layer_digest), layer.layer_size) for layer in response.layers] + [
        (failure.layer_digest, failure.failure_code) for failure in response.failures
    ]


def send_parts(
    registry: Registry, upload_id: UploadId, *parts: bytes, repository: str = "team/app"
) -> bytes:
    first = 0
    for blob in parts:
        response = registry.upload_layer_part(part(upload_id, first, blob, repository=repository))
        first += len(blob)
        assert response.last_byte_received == first - 1
    return b"".join(parts)


def push(registry: Registry, *parts: bytes, repository: str = "team/app") -> LayerDigest:
    upload_id = initiate(registry, repository)
    layer = send_parts(registry, upload_id, *parts, repository=repository)
    digest = sha256(layer)
    registry.complete_layer_upload(completion(upload_id, digest, repository=repository))
    return digest


# ---------------------------------------------------------------------------------------
# Construction and upload ids


def test_registry_takes_its_id_as_text_or_value_and_refuses_a_malformed_one() -> None:
    assert Registry(REGISTRY_ID).registry_id == Registry(RegistryId(REGISTRY_ID)).registry_id
    with pytest.raises(InvalidParameterException):
        Registry("12345678901")


def test_create_repository_uses_the_registry_grammar_and_is_idempotent() -> None:
    seed = Registry(REGISTRY_ID)
    with pytest.raises(InvalidParameterException):
        seed.create_repository("team/a__b")
    oci = Registry(REGISTRY_ID, grammar=RepositoryGrammar.OCI)
    name = oci.create_repository("team/a__b")
    push(oci, b"abcd", repository="team/a__b")
    assert oci.create_repository(name) == name
    # Creating it again keeps its layers.
    assert check(oci, str(sha256(b"abcd")), repository="team/a__b") == [(str(sha256(b"abcd")), 4)]


def test_sequential_upload_ids_are_deterministic_uuids() -> None:
    first, second = sequential_upload_ids(5), sequential_upload_ids(5)
    ids = [str(first()) for _ in range(3)]
    assert ids == [str(second()) for _ in range(3)]
    assert [uuid.UUID(text).int for text in ids] == [5, 6, 7]


def test_sequential_upload_ids_refuse_a_negative_start_and_run_out_after_128_bits() -> None:
    with pytest.raises(UsageError):
        sequential_upload_ids(-1)
    last = sequential_upload_ids(2**128 - 1)
    assert str(last()) == "ffffffff-ffff-ffff-ffff-ffffffffffff"
    with pytest.raises(UsageError):
        last()


def test_default_upload_ids_are_distinct_uuid4s() -> None:
    registry = Registry(REGISTRY_ID)
    registry.create_repository("team/app")
    ids = {initiate(registry) for _ in range(20)}
    assert len(ids) == 20
    assert {uuid.UUID(str(upload_id)).version for upload_id in ids} == {4}


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("limits", "small", "limits must be a Limits, not 'small'"),
        ("grammar", "seed", "grammar must be a RepositoryGrammar, not 'seed'"),
        ("token_secret", b"", "token_secret must be non-empty bytes"),
        ("token_secret", "secret", "token_secret must be non-empty bytes"),
    ],
)
def test_a_registry_argument_of_the_wrong_kind_is_a_usage_error_naming_it(
    argument: str, value: object, message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        Registry(REGISTRY_ID, **{argument: value})  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_factory_that_repeats_an_id_in_use_is_a_usage_error_and_changes_nothing() -> None:
    repeated = UploadId("0a1b2c3d-0000-4000-8000-000000000000")
    registry = Registry(REGISTRY_ID, limits=SMALL, upload_id_factory=lambda: repeated)
    registry.create_repository("team/app")
    assert initiate(registry) == repeated
    registry.upload_layer_part(part(repeated, 0, b"abcd"))
    before = registry.session(repeated)
    with pytest.raises(UsageError):
        initiate(registry)
    assert registry.session(repeated) == before
    registry.upload_layer_part(part(repeated, 4, b"e"))


# ---------------------------------------------------------------------------------------
# InitiateLayerUpload


def test_initiate_answers_a_new_id_from_the_factory_and_the_configured_part_size() -> None:
    registry = new_registry(start=7)
    response = registry.initiate_layer_upload(
        InitiateLayerUploadRequest(repository_name=RepositoryName("team/app"))
    )
    assert str(response.upload_id) == "00000000-0000-0000-0000-000000000007"
    assert response.part_size == SMALL.part_size
    session = registry.session(response.upload_id)
    assert session is not None
    assert (session.repository_name, session.limits, session.bytes_received) == (
        RepositoryName("team/app"),
        SMALL,
        0,
    )
    assert initiate(registry) != response.upload_id


def test_initiate_with_its_own_registry_id_is_the_default_registry() -> None:
    registry = new_registry()
    upload_id = initiate(registry, registry_id=REGISTRY_ID)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))


@pytest.mark.parametrize(
    ("repository", "registry_id"),
    [("team/nope", None), ("team/nope", REGISTRY_ID), ("team/app", OTHER_REGISTRY_ID)],
)
def test_initiate_in_a_repository_this_registry_lacks_is_repository_not_found(
    repository: str, registry_id: str | None
) -> None:
    registry = new_registry()
    with pytest.raises(RepositoryNotFoundException):
        initiate(registry, repository, registry_id=registry_id)
    # No id was taken from the factory.
    assert str(initiate(registry)) == "00000000-0000-0000-0000-000000000000"


# ---------------------------------------------------------------------------------------
# UploadLayerPart


def test_unknown_repository_comes_before_every_other_error_of_a_part() -> None:
    registry = new_registry()
    with pytest.raises(RepositoryNotFoundException):
        registry.upload_layer_part(part(UNKNOWN_UPLOAD_ID, 9, b"abcd", repository="team/nope"))
    upload_id = initiate(registry)
    with pytest.raises(RepositoryNotFoundException):
        registry.upload_layer_part(part(upload_id, 0, b"abcd", registry_id=OTHER_REGISTRY_ID))


def test_part_of_an_unknown_upload_is_upload_not_found_before_its_own_rules() -> None:
    registry = new_registry()
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(UNKNOWN_UPLOAD_ID, 9, b"abcd"))


def test_part_for_an_upload_of_another_repository_is_upload_not_found() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    before = registry.session(upload_id)
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(upload_id, 0, b"abcd", repository="team/other"))
    assert registry.session(upload_id) == before


def test_upload_id_of_another_registry_is_not_found_here() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    elsewhere = new_registry(start=100)
    with pytest.raises(UploadNotFoundException):
        elsewhere.upload_layer_part(part(upload_id, 0, b"abcd"))
    with pytest.raises(UploadNotFoundException):
        elsewhere.complete_layer_upload(completion(upload_id, sha256(b"")))


def test_upload_id_is_case_sensitive() -> None:
    registry = Registry(REGISTRY_ID, limits=SMALL)
    registry.create_repository("team/app")
    upload_id = initiate(registry)
    shouted = UploadId(str(upload_id).upper())
    assert shouted != upload_id
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(shouted, 0, b"abcd"))


@pytest.mark.parametrize(
    ("first", "blob", "last_valid"),
    [
        (0, b"abcd", 3),  # an exact re-send of the last part
        (2, b"cdef", 3),  # an overlap
        (5, b"fghi", 3),  # a gap
    ],
)
def test_part_that_is_not_the_next_is_refused_with_the_last_valid_byte(
    first: int, blob: bytes, last_valid: int
) -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    before = registry.session(upload_id)
    with pytest.raises(InvalidLayerPartException) as refused:
        registry.upload_layer_part(part(upload_id, first, blob))
    assert refused.value.last_valid_byte_received == last_valid
    assert (refused.value.upload_id, refused.value.repository_name) == (
        upload_id,
        RepositoryName("team/app"),
    )
    assert refused.value.registry_id == registry.registry_id
    assert registry.session(upload_id) == before


def test_first_part_not_at_zero_is_refused_without_a_last_valid_byte() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    with pytest.raises(InvalidLayerPartException) as refused:
        registry.upload_layer_part(part(upload_id, 1, b"abcd"))
    assert refused.value.last_valid_byte_received is None


def test_part_whose_range_disagrees_with_its_length_is_refused() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    request = UploadLayerPartRequest(
        repository_name=RepositoryName("team/app"),
        upload_id=upload_id,
        part_first_byte=0,
        part_last_byte=4,
        layer_part_blob=b"abcd",
    )
    with pytest.raises(InvalidLayerPartException):
        registry.upload_layer_part(request)


def test_part_over_the_configured_maximum_is_refused() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    with pytest.raises(InvalidLayerPartException):
        registry.upload_layer_part(part(upload_id, 0, bytes(SMALL.max_part_bytes + 1)))
    registry.upload_layer_part(part(upload_id, 0, bytes(SMALL.max_part_bytes)))


def test_part_beyond_the_part_count_quota_is_limit_exceeded() -> None:
    registry = new_registry(Limits(max_part_bytes=8, min_part_bytes=1, part_size=4, max_parts=2))
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"ab", b"cd")
    with pytest.raises(LimitExceededException):
        registry.upload_layer_part(part(upload_id, 4, b"ef"))
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))


def test_refused_part_leaves_upload_unchanged_and_the_next_part_is_accepted() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    before = registry.session(upload_id)
    with pytest.raises(InvalidLayerPartException):
        registry.upload_layer_part(part(upload_id, 0, b"XXXX"))
    assert registry.session(upload_id) == before
    registry.upload_layer_part(part(upload_id, 4, b"efgh"))
    # The refused bytes never reached the running hash.
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcdefgh")))


def test_part_blob_may_be_a_memoryview_over_the_callers_buffer() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    layer = bytearray(b"abcdefgh")
    view = memoryview(layer)
    for first in (0, 4):
        registry.upload_layer_part(
            UploadLayerPartRequest(
                repository_name=RepositoryName("team/app"),
                upload_id=upload_id,
                part_first_byte=first,
                part_last_byte=first + 3,
                layer_part_blob=view[first : first + 4],
            )
        )
    registry.complete_layer_upload(completion(upload_id, sha256(bytes(layer))))


# ---------------------------------------------------------------------------------------
# CompleteLayerUpload


def test_whole_push_makes_the_layer_available_with_its_size() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd", b"efgh", b"ij")
    digest = sha256(b"abcdefghij")
    response = registry.complete_layer_upload(completion(upload_id, digest))
    assert (response.layer_digest, response.upload_id, response.registry_id) == (
        digest,
        upload_id,
        registry.registry_id,
    )
    assert response.repository_name == RepositoryName("team/app")
    assert check(registry, str(digest)) == [(str(digest), 10)]
    session = registry.session(upload_id)
    assert session is not None
    assert session.completed
    assert session.layer_digest == digest


def test_completion_in_a_repository_this_registry_lacks_is_repository_not_found() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    for repository, registry_id in (("team/nope", None), ("team/app", OTHER_REGISTRY_ID)):
        with pytest.raises(RepositoryNotFoundException):
            registry.complete_layer_upload(
                completion(
                    upload_id, sha256(b"abcd"), repository=repository, registry_id=registry_id
                )
            )
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcd"), registry_id=REGISTRY_ID))


def test_completion_of_an_unknown_upload_or_one_of_another_repository_is_upload_not_found() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    with pytest.raises(UploadNotFoundException):
        registry.complete_layer_upload(completion(UNKNOWN_UPLOAD_ID, sha256(b"abcd")))
    with pytest.raises(UploadNotFoundException):
        registry.complete_layer_upload(
            completion(upload_id, sha256(b"abcd"), repository="team/other")
        )
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))


def test_every_call_on_a_completed_upload_is_upload_not_found() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))
    completed = registry.session(upload_id)
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(upload_id, 4, b"efgh"))
    with pytest.raises(UploadNotFoundException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))
    assert registry.session(upload_id) == completed


def test_completion_without_parts_is_empty_upload() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    with pytest.raises(EmptyUploadException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"")))
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))


def test_small_part_before_the_last_is_layer_part_too_small_before_the_digest_check() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abc", b"defg")
    with pytest.raises(LayerPartTooSmallException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"wrong")))


def test_completion_with_no_matching_digest_is_invalid_layer_and_leaves_it_open() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    with pytest.raises(InvalidLayerException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"abce"), sha256(b"")))
    assert check(registry, str(sha256(b"abcd"))) == [
        (str(sha256(b"abcd")), LayerFailureCode.MISSING_LAYER_DIGEST)
    ]
    registry.upload_layer_part(part(upload_id, 4, b"e"))
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcde")))


def test_layer_already_held_is_refused_after_the_digest_check_and_the_upload_stays_open() -> None:
    registry = new_registry()
    digest = push(registry, b"abcd")
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    with pytest.raises(InvalidLayerException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"other")))
    with pytest.raises(LayerAlreadyExistsException):
        registry.complete_layer_upload(completion(upload_id, digest))
    session = registry.session(upload_id)
    assert session is not None
    assert not session.completed
    registry.upload_layer_part(part(upload_id, 4, b"e"))
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcde")))


def test_the_same_layer_may_be_pushed_to_each_repository() -> None:
    registry = new_registry()
    digest = push(registry, b"abcd")
    assert push(registry, b"abcd", repository="team/other") == digest
    assert check(registry, str(digest), repository="team/other") == [(str(digest), 4)]


def test_a_non_final_part_of_exactly_5_mib_passes_and_one_byte_less_fails() -> None:
    assert API_LIMITS.min_part_bytes == MIN_PART_BYTES == 5_242_880
    registry = new_registry(API_LIMITS)
    minimum, short = bytes(5_242_880), bytes(5_242_879)
    # The last part may be of any size, one byte included.
    assert check(registry, str(push(registry, minimum, b"x"))) == [
        (str(sha256(minimum + b"x")), 5_242_881)
    ]
    upload_id = initiate(registry)
    send_parts(registry, upload_id, short, b"x")
    with pytest.raises(LayerPartTooSmallException):
        registry.complete_layer_upload(completion(upload_id, sha256(short + b"x")))


@pytest.mark.parametrize("parts", [[b"x"], [bytes(5_242_879)], [bytes(5_242_880), bytes(3)]])
def test_the_last_part_may_be_of_any_size(parts: list[bytes]) -> None:
    registry = new_registry(API_LIMITS)
    digest = push(registry, *parts)
    assert check(registry, str(digest)) == [(str(digest), sum(map(len, parts)))]


def test_completion_matches_hex_in_any_case_among_digests_of_other_algorithms() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    computed = sha256(b"abcd")
    given = (
        LayerDigest(f"sha512:{hashlib.sha512(b'abcd').hexdigest()}"),
        LayerDigest(f"tarsum.v1+sha256:{computed.hex}"),
        LayerDigest(f"sha256:{computed.hex.upper()}"),
    )
    response = registry.complete_layer_upload(completion(upload_id, *given))
    # The layer is named by the digest the registry computed, in lower case.
    assert response.layer_digest == computed


def test_completion_with_the_right_hex_under_another_algorithm_is_invalid_layer() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    send_parts(registry, upload_id, b"abcd")
    hex_digest = sha256(b"abcd").hex
    with pytest.raises(InvalidLayerException):
        registry.complete_layer_upload(
            completion(
                upload_id, LayerDigest(f"SHA256:{hex_digest}"), LayerDigest(f"sha384:{hex_digest}")
            )
        )


# ---------------------------------------------------------------------------------------
# BatchCheckLayerAvailability


def test_batch_check_answers_available_missing_and_malformed_digests_each_in_order() -> None:
    registry = new_registry()
    digest = push(registry, b"abcd")
    held_upper = f"sha256:{digest.hex.upper()}"
    missing = [str(sha256(b"x")), f"sha512:{digest.hex}", f"tarsum.v1+sha256:{digest.hex}"]
    malformed = ["", "sha256", ":abc", "sha256:xyz", f"{digest} ", "sha256:\u0661\u0662"]
    assert check(registry, str(digest), *missing, held_upper, *malformed) == [
        (str(digest), 4),
        (held_upper, 4),
        *((text, LayerFailureCode.MISSING_LAYER_DIGEST) for text in missing),
        *((text, LayerFailureCode.INVALID_LAYER_DIGEST) for text in malformed),
    ]


def test_batch_check_failure_reasons_say_what_is_wrong() -> None:
    registry = new_registry()
    response = registry.batch_check_layer_availability(
        check_request("sha256:xyz", str(sha256(b"x")))
    )
    invalid, missing = response.failures
    assert "regular expression" in invalid.failure_reason
    assert "team/app" in missing.failure_reason
    assert str(sha256(b"x")) in missing.failure_reason


def test_batch_check_of_100_mixed_digests_answers_each() -> None:
    registry = new_registry()
    held = [push(registry, bytes([n]) * 4) for n in range(10)]
    asked = [str(digest) for digest in held] + [str(sha256(bytes([n]))) for n in range(45)]
    asked += [f"bad-{n}" for n in range(MAX_LAYER_DIGESTS - len(asked))]
    answers = check(registry, *asked)
    assert len(answers) == MAX_LAYER_DIGESTS == 100
    assert [text for text, _ in answers] == asked
    assert [answer for _, answer in answers] == [4] * 10 + [
        LayerFailureCode.MISSING_LAYER_DIGEST
    ] * 45 + [LayerFailureCode.INVALID_LAYER_DIGEST] * 45


@pytest.mark.parametrize("count", [0, MAX_LAYER_DIGESTS + 1])
def test_batch_check_of_no_digest_or_more_than_100_is_invalid_parameter(count: int) -> None:
    with pytest.raises(InvalidParameterException) as refused:
        check_request(*(str(sha256(bytes([n % 256]))) for n in range(count)))
    assert refused.value.member == "layerDigests"


def test_batch_check_answers_a_repeated_digest_each_time() -> None:
    registry = new_registry()
    digest = str(push(registry, b"abcd"))
    assert check(registry, digest, digest) == [(digest, 4), (digest, 4)]


def test_batch_check_in_a_repository_this_registry_lacks_is_repository_not_found() -> None:
    registry = new_registry()
    for repository, registry_id in (("team/nope", None), ("team/app", OTHER_REGISTRY_ID)):
        with pytest.raises(RepositoryNotFoundException):
            registry.batch_check_layer_availability(
                check_request("sha256:xyz", repository=repository, registry_id=registry_id)
            )


def test_layers_are_held_per_repository() -> None:
    registry = new_registry()
    digest = str(push(registry, b"abcd"))
    assert check(registry, digest, repository="team/other") == [
        (digest, LayerFailureCode.MISSING_LAYER_DIGEST)
    ]


@given(st.text(max_size=80))
def test_batch_check_classifies_any_text_as_the_digest_pattern_does(text: str) -> None:
    registry = new_registry()
    ((answered, outcome),) = check(registry, text)
    try:
        LayerDigest(text)
    except InvalidParameterException:
        assert outcome is LayerFailureCode.INVALID_LAYER_DIGEST
    else:
        assert outcome is LayerFailureCode.MISSING_LAYER_DIGEST
    assert answered == text


@given(
    st.sampled_from(["sha256", "sha512", "SHA256"]),
    st.sampled_from([b"abcd", b"abce"]),
    st.integers(0, 2**64 - 1),
)
def test_batch_check_finds_a_layer_exactly_when_the_digest_matches(
    algorithm: str, data: bytes, upper_case_mask: int
) -> None:
    registry = new_registry()
    held = push(registry, b"abcd")
    hex_text = "".join(
        char.upper() if upper_case_mask >> position & 1 else char
        for position, char in enumerate(hashlib.sha256(data).hexdigest())
    )
    asked = LayerDigest(f"{algorithm}:{hex_text}")
    answers = check(registry, str(asked))
    expected: object = 4 if asked.matches(held) else LayerFailureCode.MISSING_LAYER_DIGEST
    assert answers == [(str(asked), expected)]


def test_store_lists_and_removes_repositories_keeping_a_non_empty_one_unless_forced() -> None:
    store = MemoryStore()
    registry = Registry(REGISTRY_ID, limits=SMALL, store=store)
    for repository in ("team/b", "team/a"):
        registry.create_repository(repository)
    push(registry, b"abcd", repository="team/a")
    assert store.repositories() == [name("team/a"), name("team/b")]
    assert store.remove_repository(name("team/a"), force=False) is Removal.NOT_EMPTY
    assert store.remove_repository(name("team/b"), force=False) is Removal.REMOVED
    assert store.remove_repository(name("team/b"), force=False) is Removal.NOT_FOUND
    assert store.remove_repository(name("team/a"), force=True) is Removal.REMOVED
    assert store.repositories() == []
    with pytest.raises(RepositoryNotFoundException):
        check(registry, str(sha256(b"abcd")), repository="team/a")


def test_store_appends_a_part_only_to_the_upload_as_it_was_read() -> None:
    store = MemoryStore()
    registry = Registry(REGISTRY_ID, limits=SMALL, store=store)
    registry.create_repository("team/app")
    upload_id = initiate(registry)
    held = store.upload(upload_id)
    assert held is not None
    assert store.append_part(held, held.session, memoryview(b"abcd"), 1.0)
    current = store.upload(upload_id)
    assert current is not None
    assert current is not held
    assert store.layer_digest(current) == sha256(b"abcd")
    # ``held`` is stale now: a part appended to it would lose ``abcd``.
    assert not store.append_part(held, held.session, memoryview(b"efgh"), 2.0)
    assert store.upload(upload_id) is current


def test_a_completion_whose_repository_was_removed_meanwhile_is_repository_not_found() -> None:
    class RemovingStore(MemoryStore):
        """Removes the repository between the registry's checks and the swap."""

        def complete(self, held: HeldUpload, following: UploadSession, now: float) -> Completion:
            self.remove_repository(following.repository_name, force=True)
            return super().complete(held, following, now)

    registry = Registry(REGISTRY_ID, limits=SMALL, store=RemovingStore())
    registry.create_repository("team/app")
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    with pytest.raises(RepositoryNotFoundException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))


class RemovedAtStore(MemoryStore):
    """Another call removes the repository just before the registry calls ``step``."""

    def __init__(self, step: str) -> None:
        super().__init__()
        self.step = step

    def __getattribute__(self, attribute: str) -> Any:
        if attribute == object.__getattribute__(self, "step"):
            object.__setattr__(self, "step", "")  # once
            super().remove_repository(name("team/app"), force=True)
        return super().__getattribute__(attribute)


def _mount(registry: Registry) -> object:
    digest = push(registry, b"abcd", repository="team/other")
    return registry.mount_layer(name("team/app"), digest, name("team/other"))


def _put_manifest(registry: Registry) -> object:
    content = b'{"schemaVersion": 2, "mediaType": "%s", "manifests": []}' % OCI_INDEX.encode()
    return registry.put_manifest(
        name("team/app"), content, content_type=None, reference=ImageTag("v1")
    )


@pytest.mark.parametrize(
    ("step", "operation"),
    [
        (
            "repository",
            lambda registry: registry.create_repository_call(
                CreateRepositoryRequest(repository_name=name("team/app"))
            ),
        ),
        (
            "remove_repository",
            lambda registry: registry.delete_repository(
                DeleteRepositoryRequest(repository_name=name("team/app"))
            ),
        ),
        (
            "add_empty_layer",
            lambda registry: registry.complete_empty_layer_upload(
                completion(initiate(registry), EMPTY_LAYER_DIGEST)
            ),
        ),
        ("put_manifest", _put_manifest),
        ("mount_layer", _mount),
    ],
)
def test_a_repository_removed_during_a_call_is_repository_not_found(
    step: str, operation: Callable[[Registry], object]
) -> None:
    registry = Registry(REGISTRY_ID, limits=SMALL, store=RemovedAtStore(step))
    registry.create_repository("team/other")
    if step != "repository":  # CreateRepository creates it itself
        registry.create_repository("team/app")
    with pytest.raises(RepositoryNotFoundException) as raised:
        operation(registry)
    assert raised.value.message == (
        "The repository with name 'team/app' does not exist in the registry with id "
        f"'{REGISTRY_ID}'"
    )


def test_the_memory_store_changes_only_a_repository_it_holds() -> None:
    store = MemoryStore()
    app, none = name("team/app"), name("team/none")
    assert store.add_repository(app, 5.0)
    assert store.repository(app) == HeldRepository(app, 5.0)
    assert store.repository(none) is None
    assert store.layer(none, EMPTY_LAYER_DIGEST) is None
    assert (store.add_empty_layer(app), store.add_empty_layer(none)) == (True, False)
    assert store.layer(app, EMPTY_LAYER_DIGEST) == HeldLayer(EMPTY_LAYER_DIGEST, 0)
    assert store.mount_layer(app, none, EMPTY_LAYER_DIGEST) is None
    index = Manifest.parse(b'{"schemaVersion": 2, "manifests": []}', OCI_INDEX)
    assert (store.put_manifest(app, index, None), store.put_manifest(none, index, None)) == (
        True,
        False,
    )
    assert store.manifest(app, index.digest) == index


def test_a_completion_whose_bytes_the_store_found_gone_is_decided_again() -> None:
    class ForgettingStore(MemoryStore):
        """Another call forgets the upload while its bytes are read: the digest is None."""

        def layer_digest(self, held: HeldUpload) -> LayerDigest | None:
            self.forget_idle(cutoff=float("inf"))
            return None

    registry = Registry(REGISTRY_ID, limits=SMALL, store=ForgettingStore())
    registry.create_repository("team/app")
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    with pytest.raises(UploadNotFoundException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))


def test_the_memory_store_keeps_no_layer_bytes_to_read() -> None:
    store = MemoryStore()
    registry = Registry(REGISTRY_ID, limits=SMALL, store=store)
    registry.create_repository("team/app")
    held = push(registry, b"abcd")
    assert store.layer(name("team/app"), held) == HeldLayer(held, 4)
    assert store.open_layer(name("team/app"), held) is None


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
        upload_id=UNKNOWN_UPLOAD_ID,
        part_first_byte=0,
        part_last_byte=0,
        layer_part_blob=b"x",
    )
    with pytest.raises(UploadNotFoundException) as unknown:
        registry.upload_layer_part(part)
    assert unknown.value.message == (
        f"Upload '{UNKNOWN_UPLOAD_ID}' is not found in repository 'team/app' "
        "of registry '123456789012'"
    )
    complete = CompleteLayerUploadRequest(
        repository_name=name, upload_id=UNKNOWN_UPLOAD_ID, layer_digests=(sha256(b""),)
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
    registry = Registry("123456789012", upload_id_factory=lambda: UNKNOWN_UPLOAD_ID)
    name = registry.create_repository("team/app")
    registry.initiate_layer_upload(InitiateLayerUploadRequest(repository_name=name))
    with pytest.raises(UsageError, match=f"repeated {UNKNOWN_UPLOAD_ID}, an id in use"):
        registry.initiate_layer_upload(InitiateLayerUploadRequest(repository_name=name))
