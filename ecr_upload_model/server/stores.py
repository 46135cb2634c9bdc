"""open_store: the registry's durable store, as ``serve --data DIR [--store URL]`` names it.

>>> import pathlib, shutil, tempfile
>>> from ecr_upload_model import Registry
>>> directory = pathlib.Path(tempfile.mkdtemp())
>>> store = open_store(directory, None)
>>> Registry("123456789012", store=store).create_repository("team/app")
RepositoryName(value='team/app')
>>> store.close()
>>> with open_store(directory, None) as store:  # the next run of the server
...     store.repositories()
[RepositoryName(value='team/app')]
>>> shutil.rmtree(directory)"""

from __future__ import annotations

import pathlib
import urllib.parse
from typing import Final, Protocol

from ..errors import UsageError
from ..registry import RegistryStore
from .sqlite_store import SqliteFileStore

__all__ = ["REDIS_SCHEMES", "DurableStore", "open_store"]

#: The URL schemes of a Redis server, as redis-py reads them.
REDIS_SCHEMES: Final = ("redis", "rediss", "unix")


class DurableStore(RegistryStore, Protocol):
    """A store that keeps what it holds across restarts, and holds resources until closed."""

    def close(self) -> None: ...

    def __enter__(self) -> DurableStore: ...

    def __exit__(self, *exc_info: object) -> None: ...


def open_store(data_dir: pathlib.Path, store_url: str | None) -> DurableStore:
    """The store of a registry whose files are in ``data_dir`` (created if missing).

    ``store_url`` None: the state in SQLite in ``data_dir`` too (one host; processes
    that share the directory share the registry). ``redis://HOST:PORT/DB`` (or
    ``rediss://``, ``unix://``): the state in that Redis server, for processes on
    several hosts that share ``data_dir``. UsageError, saying why, for anything else,
    a directory that cannot be used, or a Redis server that cannot be reached.
    """
    if store_url is None:
        return SqliteFileStore(data_dir)
    if not isinstance(store_url, str):
        raise UsageError(f"store_url must be a str or None, not {store_url!r}")
    if urllib.parse.urlsplit(store_url).scheme not in REDIS_SCHEMES:
        raise UsageError(
            f"the store must be a Redis URL (redis://HOST:PORT/DB, rediss://... or "
            f"unix://...), or none for SQLite in the data directory; not {store_url!r}"
        )
    try:
        # Here, not at the top: redis is an optional dependency (the `server` extra).
        from .redis_store import RedisFileStore  # noqa: PLC0415
    except ImportError as error:
        raise UsageError(
            "a Redis store needs the redis package: pip install 'ecr_upload_model[server]'"
        ) from error
    return RedisFileStore(store_url, data_dir)
