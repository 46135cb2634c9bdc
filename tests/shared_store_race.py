"""A race of OS processes pushing one layer into one upload kept in a shared store.

Every process (a "sender") sends every part of the layer, in order, as fast as the store
answers: each part is sent by all of them, so each part has one winner and the others
must be refused. The store is reached through a ``connect`` callable that runs in the
sender's own process and returns its ``UploadLayerPart`` handler; it must be picklable
(a module-level function, or a ``functools.partial`` of one), as the senders are
started with ``spawn``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
import random
import traceback
from collections.abc import Callable
from typing import NamedTuple

from ecr_upload_model import (
    CompleteLayerUploadRequest,
    InvalidLayerPartException,
    LayerDigest,
    Limits,
    RegistryId,
    RepositoryName,
    UploadId,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
    UploadSession,
)

SendPart = Callable[[UploadLayerPartRequest], UploadLayerPartResponse]
Connect = Callable[[], SendPart]

PART_SIZE = 8
#: Seven full parts and a shorter last one.
LAYER = random.Random(2015).randbytes(7 * PART_SIZE + 4)
SENDERS = 3
#: Small parts, so that a small layer has several; every part but the last is full.
LIMITS = Limits(min_part_bytes=PART_SIZE, part_size=PART_SIZE)
#: Long enough for a slow machine; only reached if a sender hangs.
TIMEOUT_SECONDS = 60.0


def new_session(upload_id: str = "5e55a1e0-0000-4000-8000-000000000000") -> UploadSession:
    return UploadSession(
        registry_id=RegistryId("123456789012"),
        repository_name=RepositoryName("team/app"),
        upload_id=UploadId(upload_id),
        limits=LIMITS,
    )


def part_request(session: UploadSession, first_byte: int) -> UploadLayerPartRequest:
    """The request for the part of ``LAYER`` that starts at ``first_byte``."""
    blob = LAYER[first_byte : first_byte + PART_SIZE]
    return UploadLayerPartRequest(
        repository_name=session.repository_name,
        upload_id=session.upload_id,
        part_first_byte=first_byte,
        part_last_byte=first_byte + len(blob) - 1,
        layer_part_blob=blob,
    )


PART_FIRST_BYTES = range(0, len(LAYER), PART_SIZE)


class Outcome(NamedTuple):
    """One part one sender sent, and the answer it got."""

    sender: int
    first_byte: int
    last_byte: int
    accepted: bool
    #: The answer's lastByteReceived, or the refusal's lastValidByteReceived.
    last_byte_received: int | None


def _send_every_part(
    connect: Connect,
    session: UploadSession,
    sender: int,
    start: multiprocessing.synchronize.Barrier,
    results: multiprocessing.queues.Queue[list[Outcome] | str],
) -> None:
    try:
        send_part = connect()
        outcomes: list[Outcome] = []
        start.wait()
        for first_byte in PART_FIRST_BYTES:
            request = part_request(session, first_byte)
            try:
                response = send_part(request)
            except InvalidLayerPartException as refusal:
                received, accepted = refusal.last_valid_byte_received, False
            else:
                received, accepted = response.last_byte_received, True
            outcomes.append(Outcome(sender, first_byte, request.part_last_byte, accepted, received))
        results.put(outcomes)
    except BaseException:
        results.put(traceback.format_exc())
        raise


def race(connect: Connect, session: UploadSession) -> list[Outcome]:
    """Runs ``SENDERS`` processes that each send every part; returns all their outcomes."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(SENDERS, timeout=TIMEOUT_SECONDS)
    results: multiprocessing.queues.Queue[list[Outcome] | str] = context.Queue()
    senders = [
        context.Process(target=_send_every_part, args=(connect, session, sender, start, results))
        for sender in range(SENDERS)
    ]
    for process in senders:
        process.start()
    try:
        reports = [results.get(timeout=TIMEOUT_SECONDS) for _ in senders]
    finally:
        for process in senders:
            process.join(timeout=TIMEOUT_SECONDS)
            if process.is_alive():
                process.kill()
    failures = [report for report in reports if isinstance(report, str)]
    assert not failures, "a sender failed:\n" + "\n".join(failures)
    assert [process.exitcode for process in senders] == [0] * SENDERS
    return [outcome for report in reports if not isinstance(report, str) for outcome in report]


def check_race(
    outcomes: list[Outcome], stored_parts: list[tuple[int, bytes]], stored: UploadSession
) -> None:
    """Every byte accepted exactly once, refusals truthful, the store self-consistent."""
    accepted = sorted(
        (outcome for outcome in outcomes if outcome.accepted), key=lambda o: o.first_byte
    )
    refused = [outcome for outcome in outcomes if not outcome.accepted]
    # Each part was accepted from exactly one sender, with the right lastByteReceived.
    assert [outcome.first_byte for outcome in accepted] == list(PART_FIRST_BYTES)
    assert all(outcome.last_byte_received == outcome.last_byte for outcome in accepted)
    # Every other sending of a part was refused, because its bytes were already taken:
    # lastValidByteReceived is the end of an accepted part, at or past the refused one.
    assert len(refused) == (SENDERS - 1) * len(PART_FIRST_BYTES)
    ends_of_accepted_parts = {outcome.last_byte for outcome in accepted}
    for outcome in refused:
        assert outcome.last_byte_received in ends_of_accepted_parts, outcome
        assert outcome.last_byte_received >= outcome.last_byte, outcome
    # A sender never saw the upload go back.
    for sender in range(SENDERS):
        seen = [o.last_byte_received for o in outcomes if o.sender == sender]
        assert seen == sorted(seen, key=lambda byte: -1 if byte is None else byte), sender
    # The stored parts tile the layer, and they are the accepted ones.
    assert [first_byte for first_byte, _ in stored_parts] == list(PART_FIRST_BYTES)
    stored_bytes = b"".join(data for _, data in stored_parts)
    assert hashlib.sha256(stored_bytes).hexdigest() == hashlib.sha256(LAYER).hexdigest()
    # The stored session holds what the parts table holds, and completes as the layer.
    assert stored.bytes_received == len(stored_bytes)
    assert stored.part_count == len(stored_parts)
    assert stored.revision == len(stored_parts)
    digest = LayerDigest.sha256(hashlib.sha256(stored_bytes).hexdigest())
    completed, _ = stored.complete(
        CompleteLayerUploadRequest(
            repository_name=stored.repository_name,
            upload_id=stored.upload_id,
            layer_digests=(LayerDigest.sha256(hashlib.sha256(LAYER).hexdigest()),),
        ),
        digest,
    )
    assert completed.completed
