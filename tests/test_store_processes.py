"""Three server processes over one state: each byte accepted once, every layer right.

Three processes of ``registry_server.py`` (standing in for ``serve``) share one data
directory and one state: a Redis server of the test's own (RedisFileStore, as several
hosts would share it), or the SQLite database in the directory (processes of one host).
The session's revision decides every race between them. Parts are small (64 KiB, the
servers' minimum) so that a layer has many, and races many chances.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from registry_server import ServerProcess, running_server

from ecr_upload_model import (
    BatchCheckLayerAvailabilityRequest,
    CompleteLayerUploadRequest,
    EcrError,
    InitiateLayerUploadRequest,
    InvalidLayerPartException,
    LayerDigest,
    RepositoryName,
    UploadId,
    UploadLayerPartRequest,
    UploadNotFoundException,
)
from ecr_upload_model.planning import (
    BatchCheckLayerAvailabilityAnswer,
    CompleteLayerUploadAnswer,
    InitiateLayerUploadAnswer,
    UploadLayerPartAnswer,
)
from ecr_upload_model.server.data_directory import open_stored_layer

SERVERS = 3
PART_BYTES = 64 * 1024
REPOSITORY = RepositoryName("team/app")
#: The Redis database these tests use (emptied first): the others' keys are elsewhere.
REDIS_DATABASE = 1


@dataclass(frozen=True)
class Sent:
    """One sending of a part to one server, and what it answered."""

    server: int
    first_byte: int
    last_byte: int
    accepted: bool
    #: lastByteReceived of an acceptance, lastValidByteReceived of a refusal.
    held: int | None


@dataclass
class Servers:
    processes: list[ServerProcess]
    data: Path

    def initiate(self, server: int = 0) -> UploadId:
        answer = self.processes[server].call(InitiateLayerUploadRequest(repository_name=REPOSITORY))
        assert isinstance(answer, InitiateLayerUploadAnswer)
        assert answer.upload_id is not None
        return answer.upload_id

    def send(self, server: int, upload_id: UploadId, first_byte: int, blob: bytes) -> Sent:
        request = UploadLayerPartRequest(
            repository_name=REPOSITORY,
            upload_id=upload_id,
            part_first_byte=first_byte,
            part_last_byte=first_byte + len(blob) - 1,
            layer_part_blob=blob,
        )
        try:
            answer = self.processes[server].call(request)
        except InvalidLayerPartException as refusal:
            return Sent(
                server, first_byte, request.part_last_byte, False, refusal.last_valid_byte_received
            )
        assert isinstance(answer, UploadLayerPartAnswer)
        return Sent(server, first_byte, request.part_last_byte, True, answer.last_byte_received)

    def complete(self, server: int, upload_id: UploadId, layer: bytes) -> LayerDigest | EcrError:
        request = CompleteLayerUploadRequest(
            repository_name=REPOSITORY, upload_id=upload_id, layer_digests=(digest(layer),)
        )
        try:
            answer = self.processes[server].call(request)
        except EcrError as error:
            return error
        assert isinstance(answer, CompleteLayerUploadAnswer)
        assert answer.layer_digest is not None
        return answer.layer_digest

    def check_layers_are_held_whole(self, *layers: bytes) -> None:
        """Every server finds every layer, and its files hold exactly its bytes."""
        asked = tuple(str(digest(layer)) for layer in layers)
        for process in self.processes:
            answer = process.call(
                BatchCheckLayerAvailabilityRequest(repository_name=REPOSITORY, layer_digests=asked)
            )
            assert isinstance(answer, BatchCheckLayerAvailabilityAnswer)
            found = {(str(layer.layer_digest), layer.layer_size) for layer in answer.layers or ()}
            assert found == {(str(digest(layer)), len(layer)) for layer in layers}
        for layer in layers:
            with open_stored_layer(self.data / "blobs" / "sha256", digest(layer).hex) as stored:
                assert stored.read() == layer


def digest(layer: bytes) -> LayerDigest:
    return LayerDigest.sha256(hashlib.sha256(layer).hexdigest())


def parts_of(layer: bytes) -> list[tuple[int, bytes]]:
    return [
        (first, layer[first : first + PART_BYTES]) for first in range(0, len(layer), PART_BYTES)
    ]


def at_once(*calls: Callable[[], Sent]) -> list[Sent]:
    """Runs the calls in threads released together."""
    start = threading.Barrier(len(calls))

    def released(call: Callable[[], Sent]) -> Sent:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(released, calls))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """Three server processes over one data directory and one state."""
    data = tmp_path_factory.mktemp(f"{request.param}-processes") / "data"
    store_url = None
    if request.param == "redis":
        base = request.getfixturevalue("redis_url").rpartition("/")[0]
        store_url = f"{base}/{REDIS_DATABASE}"
        with redis.Redis.from_url(store_url) as client:
            client.flushdb()
    servers = [
        running_server(data, store_url=store_url, part_bytes=PART_BYTES) for _ in range(SERVERS)
    ]
    with ThreadPoolExecutor(SERVERS) as pool:  # they start at the same time
        processes = list(pool.map(lambda server: server.__enter__(), servers))
    try:
        yield Servers(processes, data)
    finally:
        for server in servers:
            server.__exit__(None, None, None)


def test_every_part_sent_by_three_processes_at_once_is_accepted_once(servers: Servers) -> None:
    """Three clients each send every part of one layer, each to its own server."""
    layer = random.Random(3).randbytes(7 * PART_BYTES + 100)
    upload_id = servers.initiate()

    def send_every_part(server: int) -> list[Sent]:
        return [servers.send(server, upload_id, first, blob) for first, blob in parts_of(layer)]

    start = threading.Barrier(SERVERS)
    with ThreadPoolExecutor(SERVERS) as pool:
        reports = list(
            pool.map(lambda server: (start.wait(), send_every_part(server))[1], range(SERVERS))
        )
    sent = [each for report in reports for each in report]

    accepted = sorted((each for each in sent if each.accepted), key=lambda each: each.first_byte)
    assert [each.first_byte for each in accepted] == [first for first, _ in parts_of(layer)]
    assert all(each.held == each.last_byte for each in accepted)
    ends = {each.last_byte for each in accepted}
    for refused in (each for each in sent if not each.accepted):
        # Refused because another server took those bytes: it says where the upload is.
        assert refused.held in ends, refused
        assert refused.held >= refused.last_byte, refused
    for report in reports:  # no client saw the upload go back
        held = [-1 if each.held is None else each.held for each in report]
        assert held == sorted(held)

    assert servers.complete(1, upload_id, layer) == digest(layer)
    servers.check_layers_are_held_whole(layer)


def test_uploads_sent_round_robin_some_parts_to_two_at_once_store_each_byte_once(
    servers: Servers,
) -> None:
    rng = random.Random(4)
    layers = [rng.randbytes(rng.randint(3, 6) * PART_BYTES + rng.randint(1, 999)) for _ in range(4)]
    upload_ids = [servers.initiate(index % SERVERS) for index in range(len(layers))]

    def push(index: int) -> list[list[Sent]]:
        """Upload ``index``: part n to server index + n, every third one to the next too."""
        upload_id, layer = upload_ids[index], layers[index]
        sendings = []
        for number, (first, blob) in enumerate(parts_of(layer)):
            server = (index + number) % SERVERS
            targets = [server, (server + 1) % SERVERS] if number % 3 == index % 3 else [server]
            sendings.append(
                at_once(
                    *[
                        lambda target=target, first=first, blob=blob: servers.send(
                            target, upload_id, first, blob
                        )
                        for target in targets
                    ]
                )
            )
        return sendings

    with ThreadPoolExecutor(len(layers)) as pool:  # the uploads at the same time
        pushed = list(pool.map(push, range(len(layers))))

    for sendings in pushed:
        for sent in sendings:
            assert sum(each.accepted for each in sent) == 1, sent
            # The other sending of the same bytes is refused: the upload holds them.
            assert all(each.held == each.last_byte for each in sent), sent
    # Completions: even uploads to two servers at once, the others to one.
    for index, (upload_id, layer) in enumerate(zip(upload_ids, layers, strict=True)):
        targets = [index % SERVERS, (index + 1) % SERVERS][: 2 if index % 2 == 0 else 1]
        with ThreadPoolExecutor(len(targets)) as pool:
            outcomes = list(pool.map(servers.complete, targets, [upload_id] * 2, [layer] * 2))
        assert outcomes.count(digest(layer)) == 1, outcomes
        assert all(
            isinstance(outcome, UploadNotFoundException)
            for outcome in outcomes
            if outcome != digest(layer)
        )
    servers.check_layers_are_held_whole(*layers)
