"""Sessions in SQLite shared by OS processes (examples/sqlite_store.py)."""

from __future__ import annotations

import contextlib
import doctest
import functools
import sys
from collections.abc import Iterator
from pathlib import Path

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

# examples/ sits beside tests/, outside the package. Appended, not prepended: an
# installed ecr_upload_model keeps precedence over the source tree.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from examples import sqlite_store
from examples.sqlite_store import SqliteSessionStore, upload_layer_part


def connect_sqlite(path: Path) -> SendPart:
    """Runs in each sender process: its own connection to the shared database."""
    return functools.partial(upload_layer_part, SqliteSessionStore(path))


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "sessions.sqlite3"


@pytest.fixture
def store(database: Path) -> Iterator[SqliteSessionStore]:
    with contextlib.closing(SqliteSessionStore(database)) as store:
        yield store


def test_processes_racing_on_one_upload_store_every_byte_once(
    store: SqliteSessionStore, database: Path
) -> None:
    session = new_session()
    assert store.create(session)

    outcomes = race(functools.partial(connect_sqlite, database), session)

    stored = store.load(session.upload_id)
    assert stored is not None
    check_race(outcomes, store.parts(session.upload_id), stored)


class OvertakenStore(SqliteSessionStore):
    """A store whose first read is overtaken: another process stores the same part
    between that read and this process's write."""

    def __init__(self, path: Path, rival_request: UploadLayerPartRequest) -> None:
        super().__init__(path)
        self.rival = SqliteSessionStore(path)
        self.rival_request = rival_request
        self.reads = 0

    def close(self) -> None:
        self.rival.close()
        super().close()

    def load(self, upload_id: UploadId) -> UploadSession | None:
        session = super().load(upload_id)
        self.reads += 1
        if self.reads == 1:
            upload_layer_part(self.rival, self.rival_request)
        return session


def test_part_decided_on_a_stale_read_is_decided_again_and_refused(
    store: SqliteSessionStore, database: Path
) -> None:
    session = new_session()
    store.create(session)
    request = part_request(session, 0)

    with (
        contextlib.closing(OvertakenStore(database, rival_request=request)) as overtaken,
        pytest.raises(InvalidLayerPartException) as refusal,
    ):
        upload_layer_part(overtaken, request)

    assert overtaken.reads == 2
    assert refusal.value.last_valid_byte_received == PART_SIZE - 1
    assert store.parts(session.upload_id) == [(0, LAYER[:PART_SIZE])]
    stored = store.load(session.upload_id)
    assert stored is not None
    assert (stored.revision, stored.part_count) == (1, 1)


def test_refused_part_writes_nothing(store: SqliteSessionStore) -> None:
    session = new_session()
    store.create(session)

    with pytest.raises(InvalidLayerPartException):
        upload_layer_part(store, part_request(session, PART_SIZE))

    assert store.load(session.upload_id) == session
    assert store.parts(session.upload_id) == []


def test_part_for_an_upload_not_stored_is_upload_not_found(store: SqliteSessionStore) -> None:
    with pytest.raises(UploadNotFoundException):
        upload_layer_part(store, part_request(new_session(), 0))
    assert store.parts(new_session().upload_id) == []


def test_a_stored_upload_id_is_not_created_again(store: SqliteSessionStore) -> None:
    session = new_session()
    assert store.create(session)
    upload_layer_part(store, part_request(session, 0))

    assert not store.create(session)
    assert store.load(session.upload_id) != session


def test_docstring_example_runs() -> None:
    result = doctest.testmod(sqlite_store)
    assert (result.failed, result.attempted > 0) == (0, True)
