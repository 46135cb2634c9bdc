"""Layer bytes kept and read back, uploads cancelled, layers mounted and the 0-byte layer:
the Registry and MemoryStore behaviour the /v2/ front end stands on."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_values import REGISTRY_ID, SMALL
from test_registry import UNKNOWN_UPLOAD_ID, check, completion, initiate, name, part, sha256
from test_registry_threads import race, trials

from ecr_upload_model import (
    InvalidLayerException,
    InvalidLayerPartException,
    LayerAlreadyExistsException,
    LayerDigest,
    LayerFailureCode,
    Registry,
    RepositoryNotFoundException,
    UploadNotFoundException,
    UploadSession,
    UsageError,
)
from ecr_upload_model.manifests import ImageTag, Manifest
from ecr_upload_model.registry import (
    EMPTY_LAYER_DIGEST,
    HeldUpload,
    MemoryStore,
    sequential_upload_ids,
)

APP = name("team/app")
OTHER = name("team/other")


def new_registry(*, keep_layers: bool = True) -> Registry:
    registry = Registry(
        REGISTRY_ID,
        limits=SMALL,
        upload_id_factory=sequential_upload_ids(),
        store=MemoryStore(keep_layers=keep_layers),
    )
    registry.create_repository("team/app")
    registry.create_repository("team/other")
    return registry


def push(registry: Registry, parts: list[bytes], repository: str = "team/app") -> LayerDigest:
    upload_id = initiate(registry, repository)
    first = 0
    for blob in parts:
        registry.upload_layer_part(part(upload_id, first, blob, repository=repository))
        first += len(blob)
    digest = sha256(b"".join(parts))
    registry.complete_layer_upload(completion(upload_id, digest, repository=repository))
    return digest


def read(registry: Registry, digest: LayerDigest, repository: str = "team/app") -> bytes | None:
    stream = registry.open_layer(name(repository), digest)
    if stream is None:
        return None
    with stream:
        return stream.read()


#: Parts that obey SMALL's rules: 4 to 64 bytes, the last 1 to 64.
layer_parts = st.lists(st.binary(min_size=4, max_size=64), max_size=5).flatmap(
    lambda parts: st.binary(min_size=1, max_size=64).map(lambda last: [*parts, last])
)


@given(parts=layer_parts)
def test_a_kept_layer_reads_back_as_the_bytes_of_its_parts(parts: list[bytes]) -> None:
    registry = new_registry()
    digest = push(registry, parts)
    assert read(registry, digest) == b"".join(parts)
    assert read(registry, LayerDigest(str(digest).upper().replace("SHA256", "sha256"))) == (
        b"".join(parts)
    )


def test_memory_store_keeps_no_layer_bytes_unless_asked() -> None:
    registry = new_registry(keep_layers=False)
    digest = push(registry, [b"abcd", b"ef"])
    assert check(registry, str(digest)) == [(str(digest), 6)]
    assert read(registry, digest) is None


def test_keep_layers_must_be_a_bool() -> None:
    with pytest.raises(UsageError, match="keep_layers"):
        MemoryStore(keep_layers=1)  # type: ignore[arg-type]


def test_a_refused_part_leaves_no_bytes_in_the_layer() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    with pytest.raises(InvalidLayerPartException):
        registry.upload_layer_part(part(upload_id, 0, b"abcd"))  # sent again
    registry.upload_layer_part(part(upload_id, 4, b"ef"))
    digest = sha256(b"abcdef")
    registry.complete_layer_upload(completion(upload_id, digest))
    assert read(registry, digest) == b"abcdef"


def test_open_layer_of_a_layer_not_held_is_none_and_of_a_missing_repository_refused() -> None:
    registry = new_registry()
    digest = push(registry, [b"abcd"])
    assert read(registry, digest, "team/other") is None
    with pytest.raises(RepositoryNotFoundException):
        registry.open_layer(name("team/none"), digest)


def test_removing_a_repository_drops_its_layer_bytes() -> None:
    registry = new_registry()
    digest = push(registry, [b"abcd"])
    registry._store.remove_repository(APP, force=True)
    registry.create_repository("team/app")
    assert read(registry, digest) is None


# ---------------------------------------------------------------------------------------
# Cancelling an upload


def test_a_cancelled_upload_is_not_found_and_keeps_no_bytes() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    registry.cancel_layer_upload(APP, upload_id)
    assert registry.session(upload_id) is None
    for call in (
        lambda: registry.upload_in_progress(APP, upload_id),
        lambda: registry.cancel_layer_upload(APP, upload_id),
        lambda: registry.upload_layer_part(part(upload_id, 4, b"ef")),
        lambda: registry.complete_layer_upload(completion(upload_id, sha256(b"abcd"))),
    ):
        with pytest.raises(UploadNotFoundException):
            call()


def test_an_upload_is_cancelled_only_through_its_own_repository_and_while_in_progress() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    with pytest.raises(UploadNotFoundException):
        registry.cancel_layer_upload(OTHER, upload_id)
    with pytest.raises(RepositoryNotFoundException):
        registry.cancel_layer_upload(name("team/none"), upload_id)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    registry.complete_layer_upload(completion(upload_id, sha256(b"abcd")))
    with pytest.raises(UploadNotFoundException):
        registry.cancel_layer_upload(APP, upload_id)
    assert registry.session(upload_id) is not None  # the completed upload is still there


def test_upload_in_progress_is_the_session_as_it_stands() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    assert registry.upload_in_progress(APP, upload_id).bytes_received == 0
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    assert registry.upload_in_progress(APP, upload_id).last_byte_received == 3
    for repository, asked in ((OTHER, upload_id), (APP, UNKNOWN_UPLOAD_ID)):
        with pytest.raises(UploadNotFoundException) as raised:
            registry.upload_in_progress(repository, asked)
        assert raised.value.message == (
            f"Upload '{asked}' is not found in repository '{repository}' "
            f"of registry '{REGISTRY_ID}'"
        )


@pytest.mark.parametrize("seed", range(trials()))
def test_a_cancel_racing_a_part_always_ends_the_upload(seed: int) -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))

    def cancel() -> str:
        registry.cancel_layer_upload(APP, upload_id)
        return "cancelled"

    sent, cancelled = race(
        lambda: registry.upload_layer_part(part(upload_id, 4, b"efgh")).last_byte_received,
        cancel,
    )
    # The part either came first or found no upload; the cancel always succeeds.
    assert cancelled == "cancelled"
    assert isinstance(sent, UploadNotFoundException) or sent == 7
    assert registry.session(upload_id) is None


class InterleavingStore(MemoryStore):
    """Runs ``meanwhile`` once, in the window between the registry's read of an upload
    and its swap (the window a race of threads may or may not hit)."""

    def __init__(self) -> None:
        super().__init__(keep_layers=True)
        self.meanwhile: Callable[[], object] | None = None

    def _interleave(self) -> None:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()

    def append_part(
        self, held: HeldUpload, following: UploadSession, blob: memoryview, now: float
    ) -> bool:
        self._interleave()
        return super().append_part(held, following, blob, now)

    def remove_upload(self, held: HeldUpload) -> bool:
        self._interleave()
        return super().remove_upload(held)


def interleaving_registry() -> tuple[Registry, InterleavingStore]:
    store = InterleavingStore()
    registry = Registry(REGISTRY_ID, limits=SMALL, store=store)
    registry.create_repository("team/app")
    return registry, store


def test_a_part_whose_upload_is_cancelled_before_its_swap_is_upload_not_found() -> None:
    registry, store = interleaving_registry()
    upload_id = initiate(registry)
    store.meanwhile = lambda: registry.cancel_layer_upload(APP, upload_id)
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    assert registry.session(upload_id) is None


def test_a_cancel_that_loses_its_swap_to_a_part_decides_again_and_cancels() -> None:
    registry, store = interleaving_registry()
    upload_id = initiate(registry)
    parts: list[int] = []
    store.meanwhile = lambda: parts.append(
        registry.upload_layer_part(part(upload_id, 0, b"abcd")).last_byte_received
    )
    registry.cancel_layer_upload(APP, upload_id)
    assert parts == [3]  # the part was accepted first...
    assert registry.session(upload_id) is None  # ...and the cancel still ended the upload


# ---------------------------------------------------------------------------------------
# The 0-byte layer


def test_an_empty_upload_completes_as_the_empty_layer_when_asked() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    response = registry.complete_empty_layer_upload(completion(upload_id, EMPTY_LAYER_DIGEST))
    assert response.layer_digest == EMPTY_LAYER_DIGEST
    assert str(EMPTY_LAYER_DIGEST) == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert check(registry, str(EMPTY_LAYER_DIGEST)) == [(str(EMPTY_LAYER_DIGEST), 0)]
    assert read(registry, EMPTY_LAYER_DIGEST) == b""
    assert registry.session(upload_id) is None
    # A second one is answered the same, and the layer stays as it was.
    again = initiate(registry)
    registry.complete_empty_layer_upload(completion(again, EMPTY_LAYER_DIGEST))
    assert check(registry, str(EMPTY_LAYER_DIGEST)) == [(str(EMPTY_LAYER_DIGEST), 0)]


def test_an_empty_upload_of_another_registry_is_repository_not_found() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    other = completion(upload_id, EMPTY_LAYER_DIGEST, registry_id="210987654321")
    with pytest.raises(RepositoryNotFoundException, match="'210987654321'"):
        registry.complete_empty_layer_upload(other)
    assert registry.upload_in_progress(APP, upload_id).part_count == 0


def test_an_empty_upload_completed_with_another_digest_is_invalid_and_stays_open() -> None:
    registry = new_registry()
    upload_id = initiate(registry)
    with pytest.raises(InvalidLayerException, match=str(EMPTY_LAYER_DIGEST)):
        registry.complete_empty_layer_upload(completion(upload_id, sha256(b"x")))
    assert registry.upload_in_progress(APP, upload_id).part_count == 0


def test_an_upload_holding_bytes_completes_as_usual_under_the_empty_rule() -> None:
    registry = new_registry()
    digest = push(registry, [b"abcd"])
    upload_id = initiate(registry)
    registry.upload_layer_part(part(upload_id, 0, b"abcd"))
    with pytest.raises(LayerAlreadyExistsException):
        registry.complete_empty_layer_upload(completion(upload_id, digest))
    with pytest.raises(InvalidLayerException):
        registry.complete_empty_layer_upload(completion(upload_id, EMPTY_LAYER_DIGEST))


# ---------------------------------------------------------------------------------------
# Mounting a layer of another repository


def test_a_mounted_layer_is_held_by_both_repositories_with_its_bytes() -> None:
    registry = new_registry()
    digest = push(registry, [b"abcd", b"ef"])
    layer = registry.mount_layer(OTHER, digest, APP)
    assert layer is not None
    assert (layer.layer_digest, layer.layer_size) == (digest, 6)
    assert check(registry, str(digest), repository="team/other") == [(str(digest), 6)]
    assert read(registry, digest, "team/other") == b"abcdef"
    # Mounting again changes nothing.
    assert registry.mount_layer(OTHER, digest, APP) == layer


@pytest.mark.parametrize("keep_layers", [False, True])
def test_the_empty_layer_mounts_as_itself(keep_layers: bool) -> None:
    registry = new_registry(keep_layers=keep_layers)
    registry.complete_empty_layer_upload(completion(initiate(registry), EMPTY_LAYER_DIGEST))
    layer = registry.mount_layer(OTHER, EMPTY_LAYER_DIGEST, APP)
    assert layer is not None
    assert (layer.layer_digest, layer.layer_size) == (EMPTY_LAYER_DIGEST, 0)
    assert check(registry, str(EMPTY_LAYER_DIGEST), repository="team/other") == [
        (str(EMPTY_LAYER_DIGEST), 0)
    ]


def test_a_layer_the_source_lacks_is_not_mounted() -> None:
    registry = new_registry()
    digest = push(registry, [b"abcd"], "team/other")
    assert registry.mount_layer(APP, sha256(b"x"), OTHER) is None
    assert registry.mount_layer(APP, digest, name("team/none")) is None
    assert check(registry, str(digest)) == [(str(digest), LayerFailureCode.MISSING_LAYER_DIGEST)]
    with pytest.raises(RepositoryNotFoundException):
        registry.mount_layer(name("team/none"), digest, OTHER)
    push(registry, [b"x"])  # the refused mount left no trace of the layer


def test_only_a_layer_a_manifest_names_is_mounted_when_only_referenced() -> None:
    registry = new_registry()
    config, layer = push(registry, [b"{}"]), push(registry, [b"abcd"])
    assert registry.mount_layer(OTHER, layer, APP, only_referenced=True) is None
    manifest = (
        '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", '
        f'"config": {{"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, '
        f'"digest": "{config}"}}, "layers": [{{"mediaType": '
        f'"application/vnd.oci.image.layer.v1.tar", "size": 4, "digest": "{layer}"}}]}}'
    ).encode()
    registry.put_manifest(APP, manifest, content_type=None, reference=ImageTag("v1"))
    assert Manifest.parse(manifest, None).blobs == (config, layer)
    mounted = registry.mount_layer(OTHER, layer, APP, only_referenced=True)
    assert mounted is not None
    assert mounted.layer_size == 4
