"""Sessions shared by OS processes through the example stores (examples/*_store.py).

Every test runs against each store: SQLite in a temporary file, and Redis on a real
server. For Redis the tests start their own ``redis-server`` on a free loopback port and
stop it after. Under CI (``CI`` set) they must run: a missing server or client fails
them; elsewhere it skips them, saying why.
"""

from __future__ import annotations

import contextlib
import doctest
import functools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Protocol

import pytest
from shared_store_race import (
    LAYER,
    PART_SIZE,
    Connect,
    SendPart,
    check_race,
    new_session,
    part_request,
    race,
)

from ecr_upload_model import (
    InvalidLayerPartException,
    UploadId,
    UploadNotFoundException,
    UploadSession,
)

# examples/ sits beside tests/, outside the package. Appended, not prepended: an
# installed ecr_upload_model keeps precedence over the source tree.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from examples import sqlite_store

if TYPE_CHECKING:
    import redis

#: How long redis-server may take to answer PING, and to stop.
SERVER_TIMEOUT_SECONDS = 10.0

AfterRead = Callable[[], None]


class SessionStore(Protocol):
    """What the tests read and write directly; each example store has it."""

    def create(self, session: UploadSession) -> bool: ...
    def load(self, upload_id: UploadId) -> UploadSession | None: ...
    def parts(self, upload_id: UploadId) -> list[tuple[int, bytes]]: ...


@dataclass(frozen=True)
class StoreUnderTest:
    """One example store, and the ways the tests reach it."""

    sessions: SessionStore
    #: UploadLayerPart through ``sessions``.
    send_part: SendPart
    #: For race(): picklable; gives each sender process its own connection to the store.
    connect: Connect
    #: UploadLayerPart through a second connection that calls the hook after each read of
    #: the session, before deciding on what it read.
    send_part_calling_after_read: Callable[[AfterRead], SendPart]


# ------------------------------------------------------------------------------ SQLite


def connect_sqlite(path: Path) -> SendPart:
    """Runs in each sender process: its own connection to the shared database."""
    return functools.partial(sqlite_store.upload_layer_part, sqlite_store.SqliteSessionStore(path))


def sqlite_store_under_test(path: Path) -> Iterator[StoreUnderTest]:
    class HookedStore(sqlite_store.SqliteSessionStore):
        def __init__(self, after_read: AfterRead) -> None:
            super().__init__(path)
            self.after_read = after_read

        def load(self, upload_id: UploadId) -> UploadSession | None:
            session = super().load(upload_id)
            self.after_read()
            return session

    with contextlib.ExitStack() as connections:

        def send_part_calling_after_read(after_read: AfterRead) -> SendPart:
            hooked = connections.enter_context(contextlib.closing(HookedStore(after_read)))
            return functools.partial(sqlite_store.upload_layer_part, hooked)

        store = connections.enter_context(contextlib.closing(sqlite_store.SqliteSessionStore(path)))
        yield StoreUnderTest(
            sessions=store,
            send_part=functools.partial(sqlite_store.upload_layer_part, store),
            connect=functools.partial(connect_sqlite, path),
            send_part_calling_after_read=send_part_calling_after_read,
        )


# ------------------------------------------------------------------------------- Redis


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false"}


def skip_or_fail_in_ci(reason: str) -> NoReturn:
    """Skips outside CI; in CI, where the Redis tests must run, fails."""
    if running_in_ci():
        pytest.fail(f"{reason}; under CI the Redis tests must run, not skip")
    pytest.skip(reason)


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A redis-server of our own, without persistence, on a free loopback port."""
    try:
        import redis
    except ImportError:
        skip_or_fail_in_ci("the redis client is not installed (pip package `redis`, test group)")
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


def connect_redis(port: int) -> SendPart:
    """Runs in each sender process: its own client of the shared server."""
    import redis

    from examples.redis_store import RedisSessionStore, upload_layer_part

    client = redis.Redis(host="127.0.0.1", port=port)
    return functools.partial(upload_layer_part, RedisSessionStore(client))


def redis_store_under_test(port: int) -> Iterator[StoreUnderTest]:
    # Imported here, after redis_port has checked that the client is installed.
    import redis

    from examples.redis_store import RedisSessionStore, upload_layer_part

    class HookedStore(RedisSessionStore):
        def __init__(self, client: redis.Redis, after_read: AfterRead) -> None:
            super().__init__(client)
            self.after_read = after_read

        def load(
            self, upload_id: UploadId, *, reader: redis.Redis | None = None
        ) -> UploadSession | None:
            session = super().load(upload_id, reader=reader)
            self.after_read()
            return session

    client = redis.Redis(host="127.0.0.1", port=port)
    client.flushdb()
    store = RedisSessionStore(client)

    def send_part_calling_after_read(after_read: AfterRead) -> SendPart:
        # Sharing the client is enough: each pipeline takes a connection of its own.
        return functools.partial(upload_layer_part, HookedStore(client, after_read))

    yield StoreUnderTest(
        sessions=store,
        send_part=functools.partial(upload_layer_part, store),
        connect=functools.partial(connect_redis, port),
        send_part_calling_after_read=send_part_calling_after_read,
    )
    client.close()


# ------------------------------------------------------------------------------- Tests


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreUnderTest]:
    if request.param == "sqlite":
        yield from sqlite_store_under_test(tmp_path / "sessions.sqlite3")
    else:
        yield from redis_store_under_test(request.getfixturevalue("redis_port"))


def test_processes_racing_on_one_upload_store_every_byte_once(store: StoreUnderTest) -> None:
    session = new_session()
    assert store.sessions.create(session)

    outcomes = race(store.connect, session)

    stored = store.sessions.load(session.upload_id)
    assert stored is not None
    check_race(outcomes, store.sessions.parts(session.upload_id), stored)


def test_part_decided_on_a_stale_read_is_decided_again_and_refused(
    store: StoreUnderTest,
) -> None:
    session = new_session()
    store.sessions.create(session)
    request = part_request(session, 0)
    reads = 0

    def overtake_the_first_read() -> None:
        """Another connection stores the same part between the first read and its write."""
        nonlocal reads
        reads += 1
        if reads == 1:
            store.send_part(request)

    with pytest.raises(InvalidLayerPartException) as refusal:
        store.send_part_calling_after_read(overtake_the_first_read)(request)

    assert reads == 2
    assert refusal.value.last_valid_byte_received == PART_SIZE - 1
    assert store.sessions.parts(session.upload_id) == [(0, LAYER[:PART_SIZE])]
    stored = store.sessions.load(session.upload_id)
    assert stored is not None
    assert (stored.revision, stored.part_count) == (1, 1)


def test_refused_part_writes_nothing(store: StoreUnderTest) -> None:
    session = new_session()
    store.sessions.create(session)

    with pytest.raises(InvalidLayerPartException):
        store.send_part(part_request(session, PART_SIZE))

    assert store.sessions.load(session.upload_id) == session
    assert store.sessions.parts(session.upload_id) == []


def test_part_for_an_upload_not_stored_is_upload_not_found(store: StoreUnderTest) -> None:
    with pytest.raises(UploadNotFoundException):
        store.send_part(part_request(new_session(), 0))
    assert store.sessions.parts(new_session().upload_id) == []


def test_a_stored_upload_id_is_not_created_again(store: StoreUnderTest) -> None:
    session = new_session()
    assert store.sessions.create(session)
    store.send_part(part_request(session, 0))

    assert not store.sessions.create(session)
    assert store.sessions.load(session.upload_id) != session


def test_sqlite_store_docstring_example_runs() -> None:
    result = doctest.testmod(sqlite_store)
    assert (result.failed, result.attempted > 0) == (0, True)
