"""Sessions in Redis shared by OS processes (examples/redis_store.py), on a real server.

The tests start their own ``redis-server`` on a free loopback port and stop it after.
Under CI (``CI`` set) they must run: a missing server or client fails them; elsewhere
it skips them, saying why.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from shared_store_race import (
    LAYER,
    PART_SIZE,
    SendPart,
    check_race,
    new_session,
    part_request,
    race,
)

from ecr_upload_model import (
    InvalidLayerPartException,
    UploadId,
    UploadLayerPartRequest,
    UploadNotFoundException,
    UploadSession,
)

pytestmark = pytest.mark.redis

#: How long redis-server may take to answer PING, and to stop.
SERVER_TIMEOUT_SECONDS = 10.0


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false"}


def skip_or_fail_in_ci(reason: str) -> NoReturn:
    """Skips outside CI; in CI, where these tests must run, fails."""
    if running_in_ci():
        pytest.fail(f"{reason}; under CI the Redis tests must run, not skip")
    pytest.skip(reason, allow_module_level=True)


try:
    import redis
except ImportError:
    skip_or_fail_in_ci("the redis client is not installed (pip package `redis`, test group)")

# examples/ sits beside tests/, outside the package. Appended, not prepended: an
# installed ecr_upload_model keeps precedence over the source tree.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from examples.redis_store import RedisSessionStore, upload_layer_part  # noqa: E402 (after the guard)


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A redis-server of our own, without persistence, on a free loopback port."""
    executable = shutil.which("redis-server")
    if executable is None:
        skip_or_fail_in_ci("redis-server is not on PATH (.ci/run installs Debian's redis-server)")
    workdir = tmp_path_factory.mktemp("redis")
    port = free_loopback_port()
    log = (workdir / "redis.log").open("wb")
    server = subprocess.Popen(
        [
            executable,
            *("--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + SERVER_TIMEOUT_SECONDS
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                output = (workdir / "redis.log").read_text(errors="replace")
                assert server.poll() is None, f"redis-server exited:\n{output}"
                assert time.monotonic() < deadline, f"redis-server does not answer:\n{output}"
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=SERVER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def store(redis_port: int) -> Iterator[RedisSessionStore]:
    client = redis.Redis(host="127.0.0.1", port=redis_port)
    client.flushdb()
    yield RedisSessionStore(client)
    client.close()


def connect_redis(port: int) -> SendPart:
    """Runs in each sender process: its own client of the shared server."""
    client = redis.Redis(host="127.0.0.1", port=port)
    return functools.partial(upload_layer_part, RedisSessionStore(client))


def test_processes_racing_on_one_upload_store_every_byte_once(
    store: RedisSessionStore, redis_port: int
) -> None:
    session = new_session()
    assert store.create(session)

    outcomes = race(functools.partial(connect_redis, redis_port), session)

    stored = store.load(session.upload_id)
    assert stored is not None
    check_race(outcomes, store.parts(session.upload_id), stored)


class OvertakenStore(RedisSessionStore):
    """A store whose first read is overtaken: another client stores the same part
    between that (watched) read and this client's EXEC."""

    def __init__(self, client: redis.Redis, rival_request: UploadLayerPartRequest) -> None:
        super().__init__(client)
        self.rival = RedisSessionStore(redis.Redis(connection_pool=client.connection_pool))
        self.rival_request = rival_request
        self.reads = 0

    def load(
        self, upload_id: UploadId, *, reader: redis.Redis | None = None
    ) -> UploadSession | None:
        session = super().load(upload_id, reader=reader)
        self.reads += 1
        if self.reads == 1:
            upload_layer_part(self.rival, self.rival_request)
        return session


def test_part_decided_on_a_stale_read_is_decided_again_and_refused(
    store: RedisSessionStore,
) -> None:
    session = new_session()
    store.create(session)
    request = part_request(session, 0)
    overtaken = OvertakenStore(store.client, rival_request=request)

    with pytest.raises(InvalidLayerPartException) as refusal:
        upload_layer_part(overtaken, request)

    assert overtaken.reads == 2
    assert refusal.value.last_valid_byte_received == PART_SIZE - 1
    assert store.parts(session.upload_id) == [(0, LAYER[:PART_SIZE])]
    stored = store.load(session.upload_id)
    assert stored is not None
    assert (stored.revision, stored.part_count) == (1, 1)


def test_refused_part_writes_nothing(store: RedisSessionStore) -> None:
    session = new_session()
    store.create(session)

    with pytest.raises(InvalidLayerPartException):
        upload_layer_part(store, part_request(session, PART_SIZE))

    assert store.load(session.upload_id) == session
    assert store.parts(session.upload_id) == []


def test_part_for_an_upload_not_stored_is_upload_not_found(store: RedisSessionStore) -> None:
    with pytest.raises(UploadNotFoundException):
        upload_layer_part(store, part_request(new_session(), 0))
    assert store.parts(new_session().upload_id) == []


def test_a_stored_upload_id_is_not_created_again(store: RedisSessionStore) -> None:
    session = new_session()
    assert store.create(session)
    upload_layer_part(store, part_request(session, 0))

    assert not store.create(session)
    assert store.load(session.upload_id) != session
