"""The reference Registry: each operation's answers and errors, in ECR's order."""

from __future__ import annotations

import hashlib

import pytest

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    CompleteLayerUploadRequest,
    EmptyUploadException,
    InitiateLayerUploadRequest,
    InvalidLayerException,
    InvalidLayerPartException,
    LayerAlreadyExistsException,
    LayerAvailability,
    LayerDigest,
    LayerFailureCode,
    LayerPartTooSmallException,
    Limits,
    Registry,
    RegistryId,
    RepositoryName,
    RepositoryNotFoundException,
    UploadId,
    UploadLayerPartRequest,
    UploadNotFoundException,
)
from ecr_upload_model.registry import sequential_upload_ids

REGISTRY_ID = "123456789012"
OTHER_REGISTRY_ID = "210987654321"
#: Small parts keep these tests fast; the 5 MiB boundary has its own test.
SMALL = Limits(max_part_bytes=64, min_part_bytes=4, part_size=8)


def sha256(data: bytes) -> LayerDigest:
    return LayerDigest.sha256(hashlib.sha256(data).hexdigest())


def new_registry(limits: Limits = SMALL, *, start: int = 0) -> Registry:
    registry = Registry(REGISTRY_ID, limits=limits, upload_id_factory=sequential_upload_ids(start))
    registry.create_repository("team/app")
    registry.create_repository("team/other")
    return registry


def initiate(registry: Registry, repository: str = "team/app") -> UploadId:
    request = InitiateLayerUploadRequest(repository_name=RepositoryName(repository))
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
        registry_id=None if registry_id is None else RegistryId(registry_id),
        repository_name=RepositoryName(repository),
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
        registry_id=None if registry_id is None else RegistryId(registry_id),
        repository_name=RepositoryName(repository),
        upload_id=upload_id,
        layer_digests=digests,
    )


def check(
    registry: Registry, *digests: str, repository: str = "team/app"
) -> tuple[dict[str, int], dict[str, LayerFailureCode]]:
    response = registry.batch_check_layer_availability(
        BatchCheckLayerAvailabilityRequest(
            repository_name=RepositoryName(repository), layer_digests=digests
        )
    )
    assert all(layer.layer_availability is LayerAvailability.AVAILABLE for layer in response.layers)
    return (
        {str(layer.layer_digest): layer.layer_size for layer in response.layers},
        {failure.layer_digest: failure.failure_code for failure in response.failures},
    )


def push(registry: Registry, *parts: bytes, repository: str = "team/app") -> LayerDigest:
    upload_id = initiate(registry, repository)
    first = 0
    for blob in parts:
        registry.upload_layer_part(part(upload_id, first, blob, repository=repository))
        first += len(blob)
    digest = sha256(b"".join(parts))
    registry.complete_layer_upload(completion(upload_id, digest, repository=repository))
    return digest


def test_whole_push_makes_the_layer_available_with_its_size() -> None:
    registry = new_registry()
    digest = push(registry, b"abcd", b"efgh", b"ij")
    assert check(registry, str(digest)) == ({str(digest): 10}, {})


def test_initiate_answers_a_new_id_from_the_factory_and_the_configured_part_size() -> None:
    registry = new_registry(start=7)
    response = registry.initiate_layer_upload(
        InitiateLayerUploadRequest(repository_name=RepositoryName("team/app"))
    )
    assert str(response.upload_id) == "00000000-0000-0000-0000-000000000007"
    assert response.part_size == SMALL.part_size
    assert initiate(registry) != response.upload_id


def test_unknown_repository_is_refused_by_every_operation() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    with pytest.raises(RepositoryNotFoundException):
        initiate(registry, "team/nope")
    with pytest.raises(RepositoryNotFoundException):
        registry.upload_layer_part(part(upload_id, 0, b"abcd", repository="team/nope"))
    with pytest.raises(RepositoryNotFoundException):
        registry.complete_layer_upload(completion(upload_id, sha256(b""), repository="team/nope"))
    with pytest.raises(RepositoryNotFoundException):
        check(registry, str(sha256(b"")), repository="team/nope")


def test_refused_part_leaves_upload_unchanged_and_the_next_part_is_accepted() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    before = registry.session(upload_id)
    with pytest.raises(InvalidLayerPartException) as refused:
        registry.upload_layer_part(part(upload_id, 0, b"XXXX"))
    assert refused.value.last_valid_byte_received == 3
    assert registry.session(upload_id) == before
    registry.upload_layer_part(part(upload_id, 4, b"efgh"))
    # The refused bytes never reached the hash.
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcdefgh")))


def test_completion_errors_come_in_order_and_leave_the_upload_open() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    with pytest.raises(EmptyUploadException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"")))
    registry.upload_layer_part(part(upload_id, 0, b"abc"))
    registry.upload_layer_part(part(upload_id, 3, b"defg"))
    with pytest.raises(LayerPartTooSmallException):
        registry.complete_layer_upload(completion(upload_id, sha256(b"abcdefg")))
    other = initiate(registry)
    registry.upload_layer_part(part(other, 0, b"abcd"))
    with pytest.raises(InvalidLayerException):
        registry.complete_layer_upload(completion(other, sha256(b"abce")))
    registry.complete_layer_upload(completion(other, sha256(b"abcd")))


def test_layer_already_held_is_refused_and_the_upload_stays_open() -> None:
    registry = new_registry()
    digest = push(registry, b"abcd")
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    with pytest.raises(LayerAlreadyExistsException):
        registry.complete_layer_upload(completion(upload_id, digest))
    registry.upload_layer_part(part(upload_id, 4, b"e"))
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcde")))


def test_upload_is_not_found_after_completion_in_another_repository_or_registry() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(upload_id, 0, b"abcd", repository="team/other"))
    elsewhere = new_registry(start=100)
    with pytest.raises(UploadNotFoundException):
        elsewhere.upload_layer_part(part(upload_id, 0, b"abcd"))
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(upload_id, 4, b"efgh"))


def test_batch_check_answers_available_missing_and_malformed_digests() -> None:
    registry = new_registry()
    digest = push(registry, b"abcd")
    upper = f"sha256:{digest.hex.upper()}"
    layers, failures = check(registry, upper, str(sha256(b"x")), "sha256:xyz")
    assert layers == {upper: 4}
    assert failures == {
        str(sha256(b"x")): LayerFailureCode.MISSING_LAYER_DIGEST,
        "sha256:xyz": LayerFailureCode.INVALID_LAYER_DIGEST,
    }
