"""kill -9 in the middle of a part, then a restart on the same data directory.

A server process over SqliteFileStore (``registry_server.py``, standing in for
``serve --data DIR``) is killed with SIGKILL at a point of a 20 MiB part's way to disk
(or of the layer's, at completion); a new process opens the same directory. The client
then does what a client does: sends the part again, resumes from
``lastValidByteReceived + 1`` if it was refused, and completes. What must hold: a part
is counted exactly when its bytes are durably stored, the running digest survives the
restart, the layer is the accepted bytes alone (never those of an interrupted or a
refused part), and no file of the upload stays behind.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from registry_server import ServerProcess, in_thread, running_server

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    CompleteLayerUploadRequest,
    InitiateLayerUploadRequest,
    InvalidLayerPartException,
    LayerDigest,
    RepositoryName,
    UploadId,
    UploadLayerPartRequest,
)
from ecr_upload_model.planning import (
    BatchCheckLayerAvailabilityAnswer,
    InitiateLayerUploadAnswer,
    UploadLayerPartAnswer,
)
from ecr_upload_model.server.data_directory import open_stored_layer

MIB = 1024 * 1024
REPOSITORY = RepositoryName("team/app")
_random = random.Random(12)
#: A 5 MiB part (ECR's minimum before the last), the 20 MiB part the server dies in
#: (the API's maximum), and a short last part.
FIRST, SECOND, LAST = (_random.randbytes(size) for size in (5 * MIB, 20 * MIB, MIB))
LAYER = FIRST + SECOND + LAST
#: Bytes of the second part's size that are not the second part's.
NOT_THE_SECOND = _random.randbytes(len(SECOND))


def digest(data: bytes) -> LayerDigest:
    return LayerDigest.sha256(hashlib.sha256(data).hexdigest())


def part_request(upload_id: UploadId, first_byte: int, blob: bytes) -> UploadLayerPartRequest:
    return UploadLayerPartRequest(
        repository_name=REPOSITORY,
        upload_id=upload_id,
        part_first_byte=first_byte,
        part_last_byte=first_byte + len(blob) - 1,
        layer_part_blob=blob,
    )


def completion(upload_id: UploadId) -> CompleteLayerUploadRequest:
    return CompleteLayerUploadRequest(
        repository_name=REPOSITORY, upload_id=upload_id, layer_digests=(digest(LAYER),)
    )


def send(server: ServerProcess, upload_id: UploadId, first_byte: int, blob: bytes) -> int | None:
    """Sends a part: the last byte the server holds after it, accepted or refused."""
    try:
        answer = server.call(part_request(upload_id, first_byte, blob))
    except InvalidLayerPartException as refusal:
        return refusal.last_valid_byte_received
    assert isinstance(answer, UploadLayerPartAnswer)
    return answer.last_byte_received


def interrupted(server: ServerProcess, call: object) -> None:
    """Waits for the server to pause inside ``call`` (a request sent from a thread),
    kills it there, and checks the call got no answer."""
    join = in_thread(call)  # type: ignore[arg-type]
    server.paused_at()
    server.kill()
    assert isinstance(join(), OSError)  # the connection died: no answer was sent


def test_a_push_killed_at_each_step_of_its_way_to_disk_resumes_and_lands_whole(
    tmp_path: Path,
) -> None:
    """Five server processes in turn; each is killed a step further along (but the last)."""
    data = tmp_path / "data"
    with running_server(data, pause_at="part-half-written:2") as server:
        initiated = server.call(InitiateLayerUploadRequest(repository_name=REPOSITORY))
        assert isinstance(initiated, InitiateLayerUploadAnswer)
        upload_id = initiated.upload_id
        assert upload_id is not None
        assert send(server, upload_id, 0, FIRST) == len(FIRST) - 1
        # Bytes that are not the layer's, cut short: they must never count.
        interrupted(
            server, lambda: server.call(part_request(upload_id, len(FIRST), NOT_THE_SECOND))
        )

    for pause_at, sent in (("part-written", NOT_THE_SECOND), ("part-committed", SECOND)):
        with running_server(data, pause_at=pause_at) as server:
            # What the restarted server holds: the first part alone (a refused part's
            # bytes never count either).
            assert send(server, upload_id, 0, b"not the layer") == len(FIRST) - 1
            # Killed with the part's file whole but not named, then named but unanswered.
            interrupted(
                server, lambda sent=sent: server.call(part_request(upload_id, len(FIRST), sent))
            )

    with running_server(data, pause_at="layer-half-linked") as server:
        # The client sends the part again: refused, it was counted; it resumes after it.
        held = send(server, upload_id, len(FIRST), SECOND)
        assert held == len(FIRST + SECOND) - 1
        assert send(server, upload_id, held + 1, LAST) == len(LAYER) - 1
        interrupted(server, lambda: server.call(completion(upload_id)))
        # A layer cut short while its parts were linked is never a layer: nothing under its digest.
        assert not (data / "blobs" / "sha256" / digest(LAYER).hex).exists()

    with running_server(data) as server:
        # The digest of the parts, all accepted before restarts, comes from their files.
        done = server.call(completion(upload_id))
        found = server.call(
            BatchCheckLayerAvailabilityRequest(
                repository_name=REPOSITORY, layer_digests=(str(digest(LAYER)),)
            )
        )
    assert isinstance(found, BatchCheckLayerAvailabilityAnswer)
    held_layers = [(layer.layer_digest, layer.layer_size) for layer in found.layers or ()]
    assert held_layers == [(digest(LAYER), len(LAYER))]
    check_the_layer_is_stored_whole(data, upload_id, done)


def check_the_layer_is_stored_whole(data: Path, upload_id: UploadId, done: object) -> None:
    assert getattr(done, "layer_digest", None) == digest(LAYER)
    with open_stored_layer(data / "blobs" / "sha256", digest(LAYER).hex) as stored:
        assert stored.read() == LAYER  # the accepted bytes, in order, and nothing else
    # The interrupted part's file went with the upload.
    assert list((data / "uploads").glob(f"*/{upload_id}")) == []
