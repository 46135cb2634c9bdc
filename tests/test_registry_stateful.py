"""A stateful test of Registry across repositories and uploads, against a plain model.

The model is dicts, bytearrays and lists: the bytes each upload holds, the sizes of its
parts, and the layers each repository holds. Every call, accepted or refused, is made
on both; the registry must give the answer the model predicts, and a refused call must
change nothing (the invariants compare the two after every step).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from shared_values import REGISTRY_ID

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    CompleteLayerUploadRequest,
    EcrError,
    EmptyUploadException,
    InitiateLayerUploadRequest,
    InvalidLayerException,
    InvalidLayerPartException,
    LayerAlreadyExistsException,
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
from ecr_upload_model.registry import RegistryStore, sequential_upload_ids

OTHER_REGISTRY_ID = "210987654321"
REPOSITORIES = ("team/a", "team/b", "c1")
ABSENT = "team/absent"
LIMITS = Limits(max_part_bytes=12, min_part_bytes=4, part_size=8)
#: Few distinct blobs, so that two uploads often hold the same layer (LayerAlreadyExists);
#: sizes under the minimum, at it, at the maximum and over it.
BLOBS = (b"a", b"abc", b"abcd", b"efgh", b"abcdefgh", bytes(12), bytes(13))
UNKNOWN_UPLOAD_ID = UploadId("ffffffff-ffff-4fff-bfff-ffffffffffff")
MALFORMED_DIGESTS = ("", "sha256:not-hex", "sha256")
#: Digests that name no upload's bytes: another algorithm, or the empty layer's.
OTHER_DIGESTS = (
    f"sha512:{hashlib.sha512(b'a').hexdigest()}",
    f"sha256:{hashlib.sha256().hexdigest()}",
)

registry_ids = st.sampled_from([None, REGISTRY_ID, OTHER_REGISTRY_ID])
repositories = st.sampled_from((*REPOSITORIES, ABSENT))
#: Indexes into lists known only at run time (drawing from a strategy built per step
#: is slow): the rule takes the item at ``pick % len(items)``.
picks_of_an_upload = st.integers(0, 63)
picks_of_digests = st.lists(st.integers(0, 63), min_size=1, max_size=6)


@dataclass
class ModelUpload:
    repository: str
    data: bytearray = field(default_factory=bytearray)
    part_sizes: list[int] = field(default_factory=list)
    completed: bool = False


def sha256_hex(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


class RegistryMachine(RuleBasedStateMachine):
    uploads = Bundle("uploads")

    def __init__(self, store: RegistryStore | None = None) -> None:
        super().__init__()
        self.upload_ids = sequential_upload_ids()
        self.registry = self.registry_over(store)
        for repository in REPOSITORIES:
            self.registry.create_repository(repository)
        self.model_uploads: dict[UploadId, ModelUpload] = {}
        #: Per repository: sha256 hex -> layer size.
        self.model_layers: dict[str, dict[str, int]] = {name: {} for name in REPOSITORIES}

    def registry_over(self, store: RegistryStore | None) -> Registry:
        return Registry(REGISTRY_ID, limits=LIMITS, upload_id_factory=self.upload_ids, store=store)

    # -----------------------------------------------------------------------------------
    # What the model predicts

    def open_uploads(self) -> list[UploadId]:
        return sorted(
            (upload_id for upload_id, upload in self.model_uploads.items() if not upload.completed),
            key=str,
        )

    def completed_uploads(self) -> list[UploadId]:
        return sorted(
            (upload_id for upload_id, upload in self.model_uploads.items() if upload.completed),
            key=str,
        )

    def lookup_error(
        self, upload_id: UploadId, repository: str, registry_id: str | None
    ) -> type[EcrError] | None:
        if repository not in REPOSITORIES or registry_id == OTHER_REGISTRY_ID:
            return RepositoryNotFoundException
        upload = self.model_uploads.get(upload_id)
        if upload is None or upload.completed or upload.repository != repository:
            return UploadNotFoundException
        return None

    def completion_error(
        self, upload: ModelUpload, digest_hexes: list[str]
    ) -> type[EcrError] | None:
        computed = sha256_hex(upload.data)
        if not upload.part_sizes:
            return EmptyUploadException
        if any(size < LIMITS.min_part_bytes for size in upload.part_sizes[:-1]):
            return LayerPartTooSmallException
        if computed not in digest_hexes:
            return InvalidLayerException
        if computed in self.model_layers[upload.repository]:
            return LayerAlreadyExistsException
        return None

    # -----------------------------------------------------------------------------------
    # Rules

    @initialize(target=uploads)
    def start_an_upload_in_each_repository(self) -> object:
        return multiple(*(self.initiate(repository, None) for repository in REPOSITORIES))

    @rule(target=uploads, repository=repositories, registry_id=registry_ids)
    def initiate(self, repository: str, registry_id: str | None) -> object:
        request = InitiateLayerUploadRequest(
            registry_id=None if registry_id is None else RegistryId(registry_id),
            repository_name=RepositoryName(repository),
        )
        if repository not in REPOSITORIES or registry_id == OTHER_REGISTRY_ID:
            with pytest.raises(RepositoryNotFoundException):
                self.registry.initiate_layer_upload(request)
            return multiple()
        response = self.registry.initiate_layer_upload(request)
        assert response.upload_id not in self.model_uploads
        assert response.part_size == LIMITS.part_size
        self.model_uploads[response.upload_id] = ModelUpload(repository)
        return response.upload_id

    def send_part(
        self,
        upload_id: UploadId,
        repository: str,
        registry_id: str | None,
        first: int,
        blob: bytes,
    ) -> None:
        request = UploadLayerPartRequest(
            registry_id=None if registry_id is None else RegistryId(registry_id),
            repository_name=RepositoryName(repository),
            upload_id=upload_id,
            part_first_byte=first,
            part_last_byte=first + len(blob) - 1,
            layer_part_blob=blob,
        )
        expected = self.lookup_error(upload_id, repository, registry_id)
        upload = self.model_uploads.get(upload_id)
        if expected is None:
            assert upload is not None
            if first != len(upload.data) or len(blob) > LIMITS.max_part_bytes:
                expected = InvalidLayerPartException
        if expected is not None:
            event(f"UploadLayerPart: {expected.__name__}")
            with pytest.raises(expected) as refused:
                self.registry.upload_layer_part(request)
            if isinstance(refused.value, InvalidLayerPartException):
                assert upload is not None
                assert refused.value.last_valid_byte_received == (
                    len(upload.data) - 1 if upload.data else None
                )
            return
        assert upload is not None
        response = self.registry.upload_layer_part(request)
        upload.data += blob
        upload.part_sizes.append(len(blob))
        assert response.last_byte_received == len(upload.data) - 1

    @precondition(lambda self: bool(self.open_uploads()))
    @rule(pick=picks_of_an_upload, blob=st.sampled_from(BLOBS))
    def send_next_part(self, pick: int, blob: bytes) -> None:
        open_uploads = self.open_uploads()
        upload_id = open_uploads[pick % len(open_uploads)]
        upload = self.model_uploads[upload_id]
        self.send_part(upload_id, upload.repository, None, len(upload.data), blob)

    @rule(
        upload_id=st.one_of(uploads, st.just(UNKNOWN_UPLOAD_ID)),
        repository=repositories,
        registry_id=registry_ids,
        offset=st.integers(-5, 5),
        blob=st.sampled_from(BLOBS),
    )
    def send_any_part(
        self,
        upload_id: UploadId,
        repository: str,
        registry_id: str | None,
        offset: int,
        blob: bytes,
    ) -> None:
        upload = self.model_uploads.get(upload_id)
        held = 0 if upload is None else len(upload.data)
        self.send_part(upload_id, repository, registry_id, max(0, held + offset), blob)

    def complete(
        self, upload_id: UploadId, repository: str, registry_id: str | None, digests: list[str]
    ) -> None:
        request = CompleteLayerUploadRequest(
            registry_id=None if registry_id is None else RegistryId(registry_id),
            repository_name=RepositoryName(repository),
            upload_id=upload_id,
            layer_digests=tuple(LayerDigest(digest) for digest in digests),
        )
        expected = self.lookup_error(upload_id, repository, registry_id)
        upload = self.model_uploads.get(upload_id)
        if expected is None:
            assert upload is not None
            hexes = [
                digest.lower().removeprefix("sha256:")
                for digest in digests
                if digest.startswith("sha256:")
            ]
            expected = self.completion_error(upload, hexes)
        if expected is not None:
            event(f"CompleteLayerUpload: {expected.__name__}")
            with pytest.raises(expected):
                self.registry.complete_layer_upload(request)
            return
        assert upload is not None
        event("CompleteLayerUpload: accepted")
        response = self.registry.complete_layer_upload(request)
        assert response.layer_digest == LayerDigest.sha256(sha256_hex(upload.data))
        upload.completed = True
        self.model_layers[upload.repository][sha256_hex(upload.data)] = len(upload.data)

    @precondition(lambda self: bool(self.open_uploads()))
    @rule(
        pick=picks_of_an_upload,
        upper_case=st.booleans(),
        right=st.booleans(),
        others=st.lists(st.sampled_from(OTHER_DIGESTS), max_size=2),
    )
    def complete_an_open_upload(
        self, pick: int, upper_case: bool, right: bool, others: list[str]
    ) -> None:
        open_uploads = self.open_uploads()
        upload_id = open_uploads[pick % len(open_uploads)]
        upload = self.model_uploads[upload_id]
        hex_digest = sha256_hex(upload.data if right else upload.data + b"!")
        digest = f"sha256:{hex_digest.upper() if upper_case else hex_digest}"
        self.complete(upload_id, upload.repository, None, [*others, digest])

    @precondition(lambda self: bool(self.completed_uploads()))
    @rule(pick=picks_of_an_upload)
    def push_a_held_layer_again(self, pick: int) -> None:
        """The same parts into the same repository: the completion is LayerAlreadyExists."""
        completed = self.completed_uploads()
        held = self.model_uploads[completed[pick % len(completed)]]
        response = self.registry.initiate_layer_upload(
            InitiateLayerUploadRequest(repository_name=RepositoryName(held.repository))
        )
        self.model_uploads[response.upload_id] = ModelUpload(held.repository)
        first = 0
        for size in held.part_sizes:
            self.send_part(
                response.upload_id,
                held.repository,
                None,
                first,
                bytes(held.data[first : first + size]),
            )
            first += size
        self.complete(
            response.upload_id, held.repository, None, [f"sha256:{sha256_hex(held.data)}"]
        )

    @rule(
        upload_id=st.one_of(uploads, st.just(UNKNOWN_UPLOAD_ID)),
        repository=repositories,
        registry_id=registry_ids,
        digests=st.lists(
            st.sampled_from([sha256_hex(blob) for blob in BLOBS] + [sha256_hex(b"")]),
            min_size=1,
            max_size=3,
        ),
    )
    def complete_any(
        self, upload_id: UploadId, repository: str, registry_id: str | None, digests: list[str]
    ) -> None:
        self.complete(upload_id, repository, registry_id, [f"sha256:{hex_}" for hex_ in digests])

    @rule(repository=repositories, registry_id=registry_ids, picks=picks_of_digests)
    def batch_check(self, repository: str, registry_id: str | None, picks: list[int]) -> None:
        known = sorted({hex_ for layers in self.model_layers.values() for hex_ in layers})
        candidates = [f"sha256:{hex_}" for hex_ in known] + [
            f"sha256:{hex_.upper()}" for hex_ in known
        ]
        candidates += [f"sha256:{sha256_hex(b'never')}", *MALFORMED_DIGESTS]
        digests = [candidates[pick % len(candidates)] for pick in picks]
        request = BatchCheckLayerAvailabilityRequest(
            registry_id=None if registry_id is None else RegistryId(registry_id),
            repository_name=RepositoryName(repository),
            layer_digests=tuple(digests),
        )
        if repository not in REPOSITORIES or registry_id == OTHER_REGISTRY_ID:
            with pytest.raises(RepositoryNotFoundException):
                self.registry.batch_check_layer_availability(request)
            return
        response = self.registry.batch_check_layer_availability(request)
        held = self.model_layers[repository]

        def held_size(digest: str) -> int | None:
            algorithm, _, hex_ = digest.partition(":")
            return held.get(hex_.lower()) if algorithm == "sha256" else None

        assert [(str(layer.layer_digest), layer.layer_size) for layer in response.layers] == [
            (digest, held_size(digest)) for digest in digests if held_size(digest) is not None
        ]
        assert [(failure.layer_digest, failure.failure_code) for failure in response.failures] == [
            (
                digest,
                LayerFailureCode.INVALID_LAYER_DIGEST
                if digest in MALFORMED_DIGESTS
                else LayerFailureCode.MISSING_LAYER_DIGEST,
            )
            for digest in digests
            if held_size(digest) is None
        ]

    # -----------------------------------------------------------------------------------
    # Invariants

    @invariant()
    def every_session_agrees_with_the_model(self) -> None:
        for upload_id, upload in self.model_uploads.items():
            session = self.registry.session(upload_id)
            assert session is not None
            assert session.repository_name == RepositoryName(upload.repository)
            assert session.bytes_received == len(upload.data)
            assert session.part_count == len(upload.part_sizes)
            assert session.completed == upload.completed
        assert self.registry.session(UNKNOWN_UPLOAD_ID) is None

    @invariant()
    def every_repository_holds_exactly_the_model_layers(self) -> None:
        known = sorted({hex_ for layers in self.model_layers.values() for hex_ in layers})
        if not known:
            return
        for repository in REPOSITORIES:
            response = self.registry.batch_check_layer_availability(
                BatchCheckLayerAvailabilityRequest(
                    repository_name=RepositoryName(repository),
                    layer_digests=tuple(f"sha256:{hex_}" for hex_ in known),
                )
            )
            held = {layer.layer_digest.hex: layer.layer_size for layer in response.layers}
            assert held == self.model_layers[repository]


TestRegistryStateful = RegistryMachine.TestCase
# Every outcome is reachable within 25 steps (two pushes of one layer take about 8); the
# profile still decides how many runs.
TestRegistryStateful.settings = settings(stateful_step_count=25)
