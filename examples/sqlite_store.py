"""Upload sessions in a SQLite database that several server processes share.

Each session is a row: its snapshot (``session.to_snapshot()`` as JSON) and its
``revision``, the compare-and-swap column. A process reads the session without a lock,
lets the model decide, and writes the next session only if the revision is still the
one it read (``UPDATE ... WHERE upload_id = ? AND revision = ?``, then ``rowcount``),
storing the part's bytes in the same transaction. If another process got there first,
it reads again and decides again: a part whose bytes another process already stored is
then refused with InvalidLayerPartException, as ECR refuses a re-sent part.

>>> from ecr_upload_model import RegistryId, RepositoryName
>>> store = SqliteSessionStore(":memory:")
>>> session = UploadSession(
...     registry_id=RegistryId("123456789012"),
...     repository_name=RepositoryName("team/app"),
...     upload_id=UploadId("0a1b2c3d-0000-4000-8000-000000000000"),
... )
>>> store.create(session)
True
>>> request = UploadLayerPartRequest(
...     repository_name=session.repository_name,
...     upload_id=session.upload_id,
...     part_first_byte=0,
...     part_last_byte=2,
...     layer_part_blob=b"abc",
... )
>>> upload_layer_part(store, request).last_byte_received
2
>>> upload_layer_part(store, request)
Traceback (most recent call last):
...
ecr_upload_model.errors.InvalidLayerPartException: First byte of the layer part is 0 instead of 3
>>> store.parts(session.upload_id)
[(0, b'abc')]
>>> store.close()
"""

from __future__ import annotations

import json
import os
import sqlite3

from ecr_upload_model import (
    UploadId,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
    UploadNotFoundException,
    UploadSession,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    upload_id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    first_byte INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (upload_id, first_byte)
);
"""


class SqliteSessionStore:
    """Sessions and their parts' bytes in one SQLite database; one per process."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        # Autocommit: every transaction below is an explicit BEGIN ... COMMIT.
        self.db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def create(self, session: UploadSession) -> bool:
        """Stores a new session; False if the upload id is already stored."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO sessions (upload_id, revision, snapshot) VALUES (?, ?, ?)",
            (str(session.upload_id), session.revision, json.dumps(session.to_snapshot())),
        )
        return cursor.rowcount == 1

    def load(self, upload_id: UploadId) -> UploadSession | None:
        """The stored session (its ``revision`` included), or None."""
        row = self.db.execute(
            "SELECT snapshot FROM sessions WHERE upload_id = ?", (str(upload_id),)
        ).fetchone()
        return None if row is None else UploadSession.from_snapshot(json.loads(row[0]))

    def save_part(
        self, read: UploadSession, following: UploadSession, request: UploadLayerPartRequest
    ) -> bool:
        """Stores ``following`` and the part's bytes if the stored session is still ``read``.

        False, and nothing written, if another process changed the session since.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            swapped = (
                self.db.execute(
                    "UPDATE sessions SET revision = ?, snapshot = ? "
                    "WHERE upload_id = ? AND revision = ?",
                    (
                        following.revision,
                        json.dumps(following.to_snapshot()),
                        str(read.upload_id),
                        read.revision,
                    ),
                ).rowcount
                == 1
            )
            if swapped:
                self.db.execute(
                    "INSERT INTO parts (upload_id, first_byte, data) VALUES (?, ?, ?)",
                    (str(read.upload_id), request.part_first_byte, request.layer_part_blob),
                )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return swapped

    def parts(self, upload_id: UploadId) -> list[tuple[int, bytes]]:
        """The stored parts of an upload, ``(first byte, bytes)`` in byte order."""
        rows = self.db.execute(
            "SELECT first_byte, data FROM parts WHERE upload_id = ? ORDER BY first_byte",
            (str(upload_id),),
        )
        return [(first_byte, bytes(data)) for first_byte, data in rows]


def upload_layer_part(
    store: SqliteSessionStore, request: UploadLayerPartRequest
) -> UploadLayerPartResponse:
    """Answers one UploadLayerPart for an upload that other processes may be writing to.

    Raises what the session raises (InvalidLayerPartException, ...), and
    UploadNotFoundException for an upload the store does not hold.
    """
    while True:
        session = store.load(request.upload_id)
        if session is None:
            raise UploadNotFoundException(f"Upload '{request.upload_id}' is not found")
        following, response = session.upload_part(request)
        if store.save_part(session, following, request):
            return response
        # Another process changed the upload after we read it: decide again on what it
        # holds now.
