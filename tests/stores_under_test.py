"""The stores the behaviour tests run over, and the Redis server some of them need.

A :class:`StoreSite` is where one store's state lives (a temporary data directory, and
for Redis a key prefix of its own on the test's server): :meth:`StoreSite.open` opens
a store over it, again and again, as a restarted server or another process would. The
fixtures over them are in ``conftest.py``.

The Redis server is the test's own ``redis-server`` (Debian's; ``.ci/run`` installs it),
without persistence, on a free loopback port. Under CI (``CI`` set) a missing server
or client fails the tests that need it; elsewhere they are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

from ecr_upload_model import UploadId
from ecr_upload_model.registry import MemoryStore, RegistryStore
from ecr_upload_model.server.sqlite_store import SqliteFileStore

#: How long redis-server may take to answer PING, and to stop.
SERVER_TIMEOUT_SECONDS = 10.0


class Kind(enum.Enum):
    MEMORY = "memory"
    SQLITE = "sqlite"
    REDIS = "redis"


@dataclass
class StoreSite:
    """Where one store's state lives; opens stores over it and closes them at the end."""

    kind: Kind
    directory: Path
    redis_url: str | None = None
    prefix: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:12]}")
    _memory: MemoryStore = field(default_factory=MemoryStore)
    _opened: list[RegistryStore] = field(default_factory=list)

    @property
    def durable(self) -> bool:
        return self.kind is not Kind.MEMORY

    def open(self) -> RegistryStore:
        """A store over this state: a server's next run, or another process's view.

        The memory store is one object: what it holds dies with it.
        """
        store: RegistryStore
        if self.kind is Kind.MEMORY:
            return self._memory
        if self.kind is Kind.SQLITE:
            store = SqliteFileStore(self.directory)
        else:
            from ecr_upload_model.server.redis_store import RedisFileStore

            assert self.redis_url is not None
            store = RedisFileStore(self.redis_url, self.directory, prefix=self.prefix)
        self._opened.append(store)
        return store

    def close(self, store: RegistryStore) -> None:
        """Closes a store this site opened (a server that stops)."""
        if isinstance(store, MemoryStore):
            return
        self._opened.remove(store)
        store.close()  # type: ignore[attr-defined]  # both durable stores have it

    def close_all(self) -> None:
        for store in list(self._opened):
            self.close(store)
        if self.redis_url is not None:
            import redis

            client = redis.Redis.from_url(self.redis_url)
            keys = list(client.scan_iter(f"{self.prefix}:*"))
            if keys:
                client.delete(*keys)
            client.close()

    def upload_files(self, upload_id: UploadId) -> list[str] | None:
        """The names of the files in an upload's directory, sorted; None for the memory
        store (it keeps no files). An upload without a directory has none."""
        if not self.durable:
            return None
        found = list((self.directory / "uploads").glob(f"*/{upload_id}/*"))
        return sorted(path.name for path in found)

    def layer_files(self) -> list[str]:
        """The names of the layers' files in the data directory, sorted."""
        return sorted(path.name for path in (self.directory / "blobs" / "sha256").glob("*"))


#: What the ``new_site`` fixtures give: a maker of new sites of one kind.
NewSite = Callable[[], contextlib.AbstractContextManager[StoreSite]]


@contextlib.contextmanager
def store_site(kind: Kind, redis_url: str | None) -> Iterator[StoreSite]:
    """A new site of the kind, in a new temporary directory; removed after."""
    with tempfile.TemporaryDirectory(prefix=f"{kind.value}-store-") as directory:
        site = StoreSite(kind, Path(directory), redis_url)
        try:
            yield site
        finally:
            site.close_all()


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


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A redis-server of our own, without persistence, on a free loopback port: its URL."""
    try:
        import redis
    except ImportError:
        skip_or_fail_in_ci("the redis client is not installed (pip package `redis`, test group)")
    executable = shutil.which("redis-server")
    if executable is None:
        skip_or_fail_in_ci("redis-server is not on PATH (.ci/run installs Debian's redis-server)")
    port = free_loopback_port()
    log_path = workdir / "redis.log"
    with log_path.open("wb") as log:
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
                    output = log_path.read_text(errors="replace")
                    assert server.poll() is None, f"redis-server exited:\n{output}"
                    assert time.monotonic() < deadline, f"redis-server does not answer:\n{output}"
                    time.sleep(0.05)  # polls a server starting up; nothing waits on time
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            try:
                server.wait(timeout=SERVER_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
