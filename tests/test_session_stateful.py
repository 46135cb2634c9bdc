"""UploadSession against a plain model: the bytes accepted (a bytearray), the part sizes,
and whether the upload completed. Every rule sends one call, good or faulty; the model
says what must come of it."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ecr_upload_model import (
    CompleteLayerUploadRequest,
    EcrError,
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    LayerDigest,
    LayerPartTooSmallException,
    LimitExceededException,
    Limits,
    RegistryId,
    RepositoryName,
    SessionPhase,
    UploadId,
    UploadLayerPartRequest,
    UploadNotFoundException,
    UploadSession,
)

REGISTRY = RegistryId("123456789012")
NAME = RepositoryName("team/app")
UPLOAD = UploadId("0a1b2c3d-0000-4000-8000-000000000000")
#: Small numbers, so that every limit is met within a few steps.
MAX_PARTS, MAX_LAYER_BYTES = 4, 48
LIMITS = Limits(
    max_part_bytes=16,
    min_part_bytes=4,
    part_size=8,
    max_parts=MAX_PARTS,
    max_layer_bytes=MAX_LAYER_BYTES,
)
sizes = st.integers(1, LIMITS.max_part_bytes)


def sha256(data: bytes) -> LayerDigest:
    return LayerDigest.sha256(hashlib.sha256(data).hexdigest())


class UploadSessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.session = UploadSession(
            registry_id=REGISTRY, repository_name=NAME, upload_id=UPLOAD, limits=LIMITS
        )
        # The model.
        self.layer = bytearray()
        self.part_sizes: list[int] = []
        self.completed = False

    # -----------------------------------------------------------------------------------
    # Helpers

    @property
    def last_byte(self) -> int | None:
        return len(self.layer) - 1 if self.layer else None

    @property
    def open_with_room(self) -> bool:
        return not self.completed and len(self.part_sizes) < MAX_PARTS

    def part(
        self, first: int, last: int, blob: bytes, **ids: RegistryId | RepositoryName | UploadId
    ) -> UploadLayerPartRequest:
        addressed = {"repository_name": NAME, "upload_id": UPLOAD, **ids}
        return UploadLayerPartRequest(
            part_first_byte=first,
            part_last_byte=last,
            layer_part_blob=blob,
            **addressed,  # type: ignore[arg-type]
        )

    def refused(self, request: UploadLayerPartRequest, error: type[EcrError]) -> None:
        before = self.session
        with pytest.raises(error) as refusal:
            self.session.upload_part(request)
        assert self.session == before
        if isinstance(refusal.value, InvalidLayerPartException):
            assert refusal.value.last_valid_byte_received == self.last_byte
            assert refusal.value.upload_id == UPLOAD

    def completion(self, digest: LayerDigest) -> CompleteLayerUploadRequest:
        return CompleteLayerUploadRequest(
            repository_name=NAME, upload_id=UPLOAD, layer_digests=(digest,)
        )

    # -----------------------------------------------------------------------------------
    # Good parts

    @precondition(lambda self: self.open_with_room and len(self.layer) < MAX_LAYER_BYTES)
    @rule(data=st.data())
    def send_next_part(self, data: st.DataObject) -> None:
        size = data.draw(
            st.integers(1, min(LIMITS.max_part_bytes, MAX_LAYER_BYTES - len(self.layer)))
        )
        blob = data.draw(st.binary(min_size=size, max_size=size))
        first = len(self.layer)
        self.session, response = self.session.upload_part(self.part(first, first + size - 1, blob))
        self.layer += blob
        self.part_sizes.append(size)
        assert response.last_byte_received == self.last_byte

    # -----------------------------------------------------------------------------------
    # Faulty parts: each refused, changing nothing

    @precondition(lambda self: not self.completed)
    @rule(gap=st.integers(1, 2**62), size=sizes)
    def send_part_after_a_gap(self, gap: int, size: int) -> None:
        first = len(self.layer) + gap
        self.refused(self.part(first, first + size - 1, bytes(size)), InvalidLayerPartException)

    @precondition(lambda self: not self.completed and self.layer)
    @rule(data=st.data(), extra=st.integers(0, LIMITS.max_part_bytes))
    def send_overlapping_part(self, data: st.DataObject, extra: int) -> None:
        first = data.draw(st.integers(0, len(self.layer) - 1))
        last = len(self.layer) - 1 + extra
        blob = bytes(self.layer[first:]) + bytes(extra)
        self.refused(self.part(first, last, blob), InvalidLayerPartException)

    @precondition(lambda self: not self.completed and self.part_sizes)
    @rule()
    def resend_the_last_part(self) -> None:
        first = len(self.layer) - self.part_sizes[-1]
        blob = bytes(self.layer[first:])
        self.refused(self.part(first, len(self.layer) - 1, blob), InvalidLayerPartException)

    @precondition(lambda self: not self.completed)
    @rule()
    def send_part_too_large(self) -> None:
        size, first = LIMITS.max_part_bytes + 1, len(self.layer)
        self.refused(self.part(first, first + size - 1, bytes(size)), InvalidLayerPartException)

    @precondition(lambda self: not self.completed)
    @rule(span=sizes, size=sizes)
    def send_part_whose_length_is_not_its_ranges(self, span: int, size: int) -> None:
        size = size + 1 if size == span else size
        first = len(self.layer)
        self.refused(self.part(first, first + span - 1, bytes(size)), InvalidLayerPartException)

    @precondition(lambda self: not self.completed)
    @rule(data=st.data(), size=sizes)
    def send_part_ending_before_it_starts(self, data: st.DataObject, size: int) -> None:
        first = max(len(self.layer), 1)
        last = data.draw(st.integers(0, first - 1))
        self.refused(self.part(first, last, bytes(size)), InvalidLayerPartException)

    @precondition(lambda self: not self.completed)
    @rule()
    def send_empty_part(self) -> None:
        first = len(self.layer)
        self.refused(self.part(first, first, b""), InvalidLayerPartException)

    @precondition(lambda self: not self.completed)
    @rule(
        ids=st.sampled_from(
            [
                {"upload_id": UploadId("ffffffff-ffff-4fff-bfff-ffffffffffff")},
                {"repository_name": RepositoryName("team/other")},
                {"registry_id": RegistryId("210987654321")},
            ]
        ),
        size=sizes,
    )
    def send_part_of_another_upload(
        self, ids: dict[str, RegistryId | RepositoryName | UploadId], size: int
    ) -> None:
        first = len(self.layer)
        self.refused(
            self.part(first, first + size - 1, bytes(size), **ids), UploadNotFoundException
        )

    @precondition(
        lambda self: (
            not self.completed
            and len(self.part_sizes) == MAX_PARTS
            and len(self.layer) < MAX_LAYER_BYTES
        )
    )
    @rule()
    def send_part_beyond_the_part_count_quota(self) -> None:
        # One byte, which the layer has room for: only the count is over its quota.
        first = len(self.layer)
        self.refused(self.part(first, first, b"x"), LimitExceededException)

    @precondition(
        lambda self: (
            self.open_with_room and len(self.layer) + LIMITS.max_part_bytes > MAX_LAYER_BYTES
        )
    )
    @rule(data=st.data())
    def send_part_beyond_the_layer_size_quota(self, data: st.DataObject) -> None:
        size = data.draw(st.integers(MAX_LAYER_BYTES - len(self.layer) + 1, LIMITS.max_part_bytes))
        first = len(self.layer)
        self.refused(self.part(first, first + size - 1, bytes(size)), LimitExceededException)

    # -----------------------------------------------------------------------------------
    # Completion

    @precondition(lambda self: not self.completed)
    @rule(digest_of=st.sampled_from(["the layer", "the layer, in capitals", "other bytes"]))
    def complete(self, digest_of: str) -> None:
        computed = sha256(bytes(self.layer))
        given = {
            "the layer": computed,
            "the layer, in capitals": LayerDigest(f"sha256:{computed.hex.upper()}"),
            "other bytes": sha256(bytes(self.layer) + b"!"),
        }[digest_of]
        if not self.part_sizes:
            expected: type[EcrError] | None = EmptyUploadException
        elif any(size < LIMITS.min_part_bytes for size in self.part_sizes[:-1]):
            expected = LayerPartTooSmallException
        elif digest_of == "other bytes":
            expected = InvalidLayerException
        else:
            expected = None
        before = self.session
        if expected is not None:
            with pytest.raises(expected):
                self.session.complete(self.completion(given), computed)
            assert self.session == before
            return
        self.session, response = self.session.complete(self.completion(given), computed)
        assert response.layer_digest == computed
        self.completed = True

    @precondition(lambda self: self.completed)
    @rule(size=sizes)
    def send_part_after_completion(self, size: int) -> None:
        first = len(self.layer)
        self.refused(self.part(first, first + size - 1, bytes(size)), UploadNotFoundException)

    @precondition(lambda self: self.completed)
    @rule()
    def complete_again(self) -> None:
        computed = sha256(bytes(self.layer))
        with pytest.raises(UploadNotFoundException):
            self.session.complete(self.completion(computed), computed)

    # -----------------------------------------------------------------------------------
    # A store: the session is saved and read back, and goes on from there

    @rule()
    def restore_from_a_snapshot(self) -> None:
        stored = json.dumps(self.session.to_snapshot())
        restored = UploadSession.from_snapshot(json.loads(stored))
        assert restored == self.session
        self.session = restored

    # -----------------------------------------------------------------------------------
    # What always holds

    @invariant()
    def holds_the_bytes_the_model_accepted(self) -> None:
        assert self.session.bytes_received == len(self.layer)
        assert self.session.last_byte_received == self.last_byte

    @invariant()
    def counts_the_parts_the_model_accepted(self) -> None:
        assert self.session.part_count == len(self.part_sizes)
        # The progress the completion judges is private; a snapshot shows it.
        snapshot = self.session.to_snapshot()
        assert snapshot["latestPartSize"] == (self.part_sizes[-1] if self.part_sizes else 0)
        assert snapshot["hasSmallPartBeforeLatest"] == any(
            size < LIMITS.min_part_bytes for size in self.part_sizes[:-1]
        )

    @invariant()
    def is_in_the_phase_of_the_model(self) -> None:
        if self.completed:
            assert self.session.phase is SessionPhase.COMPLETED
        elif self.part_sizes:
            assert self.session.phase is SessionPhase.RECEIVING
        else:
            assert self.session.phase is SessionPhase.EMPTY

    @invariant()
    def is_completed_when_the_model_is(self) -> None:
        assert self.session.completed == self.completed
        assert self.session.layer_digest == (sha256(bytes(self.layer)) if self.completed else None)

    @invariant()
    def revision_counts_the_accepted_transitions(self) -> None:
        assert self.session.revision == len(self.part_sizes) + self.completed

    @invariant()
    def keeps_its_ids_and_limits(self) -> None:
        assert self.session.limits == LIMITS
        assert self.session.upload_id == UPLOAD
        assert self.session.repository_name == NAME
        assert self.session.registry_id == REGISTRY


UploadSessionMachine.TestCase.settings = settings(stateful_step_count=40)
TestUploadSession = UploadSessionMachine.TestCase
