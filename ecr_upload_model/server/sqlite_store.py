"""SqliteFileStore: a registry's state in SQLite and its bytes in files, in one directory.

With only a data directory, repositories, uploads, their parts, the layers, manifests
and tags survive a restart, and a ``kill -9`` at any moment:

- a part's bytes go to a new file of their own, fsynced (:mod:`.data_directory`); then
  one transaction swaps the upload's session and names that file as its next part, if
  the upload is still at the revision the registry read (``UPDATE ... WHERE revision``).
  SQLite in WAL mode with ``synchronous = FULL`` has the commit on disk before the call
  returns, so a part is durable before its answer is sent, and a part cut short by a
  crash was never named: the client resumes from ``lastValidByteReceived + 1``;
- the running digest of each upload lives in this process's memory, carried from part
  to part; after a restart it is computed again from the part files;
- a completion makes the layer (``blobs/sha256/<hex>``, its part files linked) before
  the transaction that stores the layer and completes the session; then the upload's
  files go.

Any number of threads may share one store (each call takes a connection of its own),
and processes on one host may open the same directory: SQLite's lock orders their
writes, and each swap is conditional on the revision.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Final

from ..errors import UsageError
from ..identifiers import LayerDigest, RepositoryGrammar, RepositoryName, UploadId
from ..manifests import ImageTag, Manifest
from ..registry import Completion, HeldLayer, HeldRepository, HeldUpload, Removal
from ..session import UploadSession
from .data_directory import DataDirectory
from .file_store import FileStore, answered, canonical, last_part, load_manifest, unreadable

__all__ = ["DATABASE_NAME", "SCHEMA_VERSION", "SqliteFileStore"]

#: The database's file in the data directory.
DATABASE_NAME: Final = "registry.sqlite3"
#: The schema below, as ``PRAGMA user_version``; a database of another is refused, but
#: one of an older version is brought up to this one.
SCHEMA_VERSION: Final = 2

#: The statements that bring a database of schema ``n - 1`` to schema ``n``.
_MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        "CREATE TABLE repositories (name TEXT PRIMARY KEY, created_at REAL NOT NULL) WITHOUT ROWID",
        # canonical: algorithm ':' lower-case hex, what a lookup matches; digest: as completed.
        """CREATE TABLE layers (
            repository TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
            canonical TEXT NOT NULL,
            digest TEXT NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY (repository, canonical)
        ) WITHOUT ROWID""",
        # session: the session's snapshot (JSON). revision and last_part (the file of the
        # latest accepted part) are what a swap compares.
        """CREATE TABLE uploads (
            upload_id TEXT PRIMARY KEY,
            revision INTEGER NOT NULL,
            last_part TEXT,
            touched_at REAL NOT NULL,
            session TEXT NOT NULL
        )""",
        "CREATE INDEX uploads_by_touched_at ON uploads (touched_at)",
        """CREATE TABLE parts (
            upload_id TEXT NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            file TEXT NOT NULL,
            PRIMARY KEY (upload_id, number)
        ) WITHOUT ROWID""",
    ),
    2: (
        # A manifest's digest is the sha256 of its bytes, in lower case: canonical.
        """CREATE TABLE manifests (
            repository TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
            canonical TEXT NOT NULL,
            media_type TEXT NOT NULL,
            content BLOB NOT NULL,
            PRIMARY KEY (repository, canonical)
        ) WITHOUT ROWID""",
        """CREATE TABLE tags (
            repository TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            canonical TEXT NOT NULL,
            PRIMARY KEY (repository, tag)
        ) WITHOUT ROWID""",
        # The layers (and configs) a repository's manifests name.
        """CREATE TABLE referenced_layers (
            repository TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
            canonical TEXT NOT NULL,
            PRIMARY KEY (repository, canonical)
        ) WITHOUT ROWID""",
    ),
}


def dump_session(session: UploadSession) -> str:
    return json.dumps(session.to_snapshot(), separators=(",", ":"))


def load_session(upload_id: str, snapshot: str) -> UploadSession:
    try:
        return UploadSession.from_snapshot(json.loads(snapshot))
    except ValueError as error:  # not JSON, or not a session's snapshot
        raise unreadable(upload_id) from error


class SqliteFileStore(FileStore):
    """A durable :class:`~ecr_upload_model.registry.RegistryStore`: SQLite and files.

    ``directory`` (created if missing) holds ``registry.sqlite3`` and the files.
    ``busy_timeout`` (seconds) is how long a write waits while another process writes.
    A directory that cannot be used is refused with UsageError; a failure while
    serving is ServerException. Close the store when done (or use it in ``with``).
    """

    faults: ClassVar[tuple[type[BaseException], ...]] = (OSError, sqlite3.Error)

    def __init__(self, directory: Path | str, *, busy_timeout: float = 30.0) -> None:
        if not isinstance(directory, (str, os.PathLike)):
            raise UsageError(f"directory must be a path, not {directory!r}")
        if type(busy_timeout) not in (int, float) or not busy_timeout >= 0:
            raise UsageError(f"busy_timeout must be seconds (>= 0), not {busy_timeout!r}")
        self._busy_timeout = float(busy_timeout)
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        try:
            super().__init__(DataDirectory(Path(directory), state="sqlite"))
            self._database = self.files.root / DATABASE_NAME
            self._prepare()
            self._sweep()
        except BaseException as error:
            self.close()
            if isinstance(error, (OSError, sqlite3.Error)):
                raise UsageError(
                    f"cannot keep a registry in {str(directory)!r}: {error}"
                ) from error
            raise

    # -----------------------------------------------------------------------------------
    # Connections and transactions

    def _connect(self) -> sqlite3.Connection:
        # Autocommit: every transaction is an explicit BEGIN ... COMMIT below. A
        # connection moves between threads, one at a time (the pool hands it out).
        db = sqlite3.connect(
            self._database,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            db.execute("PRAGMA synchronous = FULL")  # the WAL is synced at every commit
            db.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            db.close()
            raise
        return db

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of this call's own, from the pool (SQLite's are not shareable)."""
        with self._lock:
            if self._closed:
                raise UsageError("the store is closed")
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = self._connect()
        try:
            yield db
        finally:
            self._give_back(db)

    def _give_back(self, db: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(db)
                return
        db.close()

    @contextlib.contextmanager
    def _transaction(self, kind: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """One transaction: IMMEDIATE takes the write lock at once, so that what it reads
        stays true until COMMIT; DEFERRED reads one consistent snapshot."""
        with self._connection() as db:
            db.execute(f"BEGIN {kind}")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _prepare(self) -> None:
        with self._connection() as db:
            db.execute("PRAGMA journal_mode = WAL")  # kept in the file: readers never wait
        with self._transaction() as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version < SCHEMA_VERSION:
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[step]:
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise UsageError(
                    f"{self._database} has schema {version}; this version of "
                    f"ecr_upload_model reads schema {SCHEMA_VERSION}"
                )

    def close(self) -> None:
        """Closes the store's connections; a call after this raises UsageError."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    def __enter__(self) -> SqliteFileStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -----------------------------------------------------------------------------------
    # Repositories

    @answered
    def add_repository(self, name: RepositoryName, created_at: float) -> bool:
        with self._connection() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO repositories (name, created_at) VALUES (?, ?)",
                (str(name), created_at),
            )
            return cursor.rowcount == 1

    @answered
    def repository(self, name: RepositoryName) -> HeldRepository | None:
        with self._connection() as db:
            query = "SELECT created_at FROM repositories WHERE name = ?"
            row = db.execute(query, (str(name),)).fetchone()
        return None if row is None else HeldRepository(name, row[0])

    @answered
    def has_repository(self, name: RepositoryName) -> bool:
        with self._connection() as db:
            query = "SELECT 1 FROM repositories WHERE name = ?"
            return db.execute(query, (str(name),)).fetchone() is not None

    @answered
    def repositories(self) -> list[RepositoryName]:
        with self._connection() as db:
            rows = db.execute("SELECT name FROM repositories ORDER BY name").fetchall()
        # Each name was valid when it was added; the OCI grammar admits both grammars'.
        return [RepositoryName(name, grammar=RepositoryGrammar.OCI) for (name,) in rows]

    @answered
    def remove_repository(self, name: RepositoryName, *, force: bool) -> Removal:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM repositories WHERE name = ?", (str(name),)).fetchone():
                query = "SELECT 1 FROM layers WHERE repository = ? LIMIT 1"
                if not force and db.execute(query, (str(name),)).fetchone():
                    return Removal.NOT_EMPTY
                # Its layers go with it (ON DELETE CASCADE); their files stay, as other
                # repositories may hold the same bytes.
                db.execute("DELETE FROM repositories WHERE name = ?", (str(name),))
                return Removal.REMOVED
            return Removal.NOT_FOUND

    # -----------------------------------------------------------------------------------
    # Uploads

    @answered
    def add_upload(self, session: UploadSession, now: float) -> bool:
        with self._connection() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO uploads (upload_id, revision, touched_at, session) "
                "VALUES (?, ?, ?, ?)",
                (
                    str(session.upload_id),
                    session.revision,
                    now,
                    dump_session(session),
                ),
            )
            return cursor.rowcount == 1

    @answered
    def upload(self, upload_id: UploadId) -> HeldUpload | None:
        with self._connection() as db:
            row = db.execute(
                "SELECT session, touched_at, last_part FROM uploads WHERE upload_id = ?",
                (str(upload_id),),
            ).fetchone()
        if row is None:
            return None
        snapshot, touched_at, part = row
        return HeldUpload(load_session(str(upload_id), snapshot), touched_at, part)

    def _swap_part(self, held: HeldUpload, following: UploadSession, part: str, now: float) -> bool:
        with self._transaction() as db:
            if not self._is(db, held):
                return False
            upload_id = str(following.upload_id)
            db.execute(
                "UPDATE uploads SET revision = ?, last_part = ?, touched_at = ?, session = ? "
                "WHERE upload_id = ?",
                (following.revision, part, now, dump_session(following), upload_id),
            )
            db.execute(
                "INSERT INTO parts (upload_id, number, file) VALUES (?, ?, ?)",
                (upload_id, following.part_count, part),
            )
            return True

    @staticmethod
    def _is(db: sqlite3.Connection, held: HeldUpload) -> bool:
        """Whether the upload is still ``held``: the swap's condition."""
        row = db.execute(
            "SELECT revision, last_part FROM uploads WHERE upload_id = ?",
            (str(held.session.upload_id),),
        ).fetchone()
        return bool(row == (held.session.revision, last_part(held)))

    def _still_held(self, held: HeldUpload) -> bool:
        with self._connection() as db:
            return self._is(db, held)

    def _parts(self, held: HeldUpload) -> list[str] | None:
        with self._transaction("DEFERRED") as db:
            if not self._is(db, held):
                return None
            rows = db.execute(
                "SELECT file FROM parts WHERE upload_id = ? ORDER BY number",
                (str(held.session.upload_id),),
            ).fetchall()
        return [file for (file,) in rows]

    def _swap_completion(
        self, held: HeldUpload, following: UploadSession, now: float
    ) -> Completion:
        digest = following.layer_digest
        assert digest is not None
        repository, upload_id = str(following.repository_name), str(following.upload_id)
        with self._transaction() as db:
            query = "SELECT 1 FROM repositories WHERE name = ?"
            if not self._is(db, held) or not db.execute(query, (repository,)).fetchone():
                return Completion.RACE_LOST  # deciding again finds what changed
            query = "SELECT 1 FROM layers WHERE repository = ? AND canonical = ?"
            if db.execute(query, (repository, canonical(digest))).fetchone():
                return Completion.LAYER_EXISTS
            db.execute(
                "INSERT INTO layers (repository, canonical, digest, size) VALUES (?, ?, ?, ?)",
                (repository, canonical(digest), str(digest), following.bytes_received),
            )
            db.execute(
                "UPDATE uploads SET revision = ?, last_part = NULL, touched_at = ?, session = ? "
                "WHERE upload_id = ?",
                (following.revision, now, dump_session(following), upload_id),
            )
            db.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
        return Completion.DONE

    def _forget(self, cutoff: float) -> list[tuple[str, str | None]]:
        query = "SELECT upload_id, last_part FROM uploads WHERE touched_at <= ?"
        with self._connection() as db:  # most calls find none: no write lock, no sync
            if db.execute(f"{query} LIMIT 1", (cutoff,)).fetchone() is None:
                return []
        with self._transaction() as db:
            forgotten: list[tuple[str, str | None]] = db.execute(query, (cutoff,)).fetchall()
            db.execute("DELETE FROM uploads WHERE touched_at <= ?", (cutoff,))  # parts too
        return forgotten

    # -----------------------------------------------------------------------------------
    # Layers

    @answered
    def layer(self, repository: RepositoryName, digest: LayerDigest) -> HeldLayer | None:
        with self._connection() as db:
            row = db.execute(
                "SELECT digest, size FROM layers WHERE repository = ? AND canonical = ?",
                (str(repository), canonical(digest)),
            ).fetchone()
        return None if row is None else HeldLayer(LayerDigest(row[0]), row[1])

    def _forget_upload(self, held: HeldUpload) -> bool:
        with self._transaction() as db:
            if not self._is(db, held):
                return False
            db.execute("DELETE FROM uploads WHERE upload_id = ?", (str(held.session.upload_id),))
        return True

    @staticmethod
    def _insert_layer(db: sqlite3.Connection, repository: str, layer: HeldLayer) -> None:
        db.execute(
            "INSERT OR IGNORE INTO layers (repository, canonical, digest, size) "
            "VALUES (?, ?, ?, ?)",
            (repository, canonical(layer.digest), str(layer.digest), layer.size),
        )

    def _add_layer(self, repository: RepositoryName, layer: HeldLayer) -> bool:
        with self._transaction() as db:
            query = "SELECT 1 FROM repositories WHERE name = ?"
            if not db.execute(query, (str(repository),)).fetchone():
                return False
            self._insert_layer(db, str(repository), layer)
        return True

    @answered
    def mount_layer(
        self, source: RepositoryName, target: RepositoryName, digest: LayerDigest
    ) -> HeldLayer | None:
        query = "SELECT digest, size FROM layers WHERE repository = ? AND canonical = ?"
        with self._transaction() as db:
            found = db.execute(query, (str(source), canonical(digest))).fetchone()
            exists = "SELECT 1 FROM repositories WHERE name = ?"
            if found is None or not db.execute(exists, (str(target),)).fetchone():
                return None
            # The layer's files are named by its digest: the target shares them as they are.
            self._insert_layer(db, str(target), HeldLayer(LayerDigest(found[0]), found[1]))
            row = db.execute(query, (str(target), canonical(digest))).fetchone()
        return HeldLayer(LayerDigest(row[0]), row[1])

    # -----------------------------------------------------------------------------------
    # Manifests and tags

    @answered
    def put_manifest(
        self, repository: RepositoryName, manifest: Manifest, tag: ImageTag | None
    ) -> bool:
        name, key = str(repository), canonical(manifest.digest)
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM repositories WHERE name = ?", (name,)).fetchone():
                return False
            db.execute(
                "INSERT OR IGNORE INTO manifests (repository, canonical, media_type, content) "
                "VALUES (?, ?, ?, ?)",
                (name, key, manifest.media_type, manifest.content),
            )
            # The same digest is the same bytes: the manifest held names these blobs too.
            db.executemany(
                "INSERT OR IGNORE INTO referenced_layers (repository, canonical) VALUES (?, ?)",
                [(name, canonical(blob)) for blob in manifest.blobs],
            )
            if tag is not None:
                db.execute(
                    "INSERT OR REPLACE INTO tags (repository, tag, canonical) VALUES (?, ?, ?)",
                    (name, str(tag), key),
                )
        return True

    @answered
    def manifest(self, repository: RepositoryName, digest: LayerDigest) -> Manifest | None:
        with self._connection() as db:
            row = db.execute(
                "SELECT content, media_type FROM manifests WHERE repository = ? AND canonical = ?",
                (str(repository), canonical(digest)),
            ).fetchone()
        return None if row is None else load_manifest(bytes(row[0]), row[1])

    @answered
    def tagged(self, repository: RepositoryName, tag: ImageTag) -> LayerDigest | None:
        with self._connection() as db:
            row = db.execute(
                "SELECT canonical FROM tags WHERE repository = ? AND tag = ?",
                (str(repository), str(tag)),
            ).fetchone()
        return None if row is None else LayerDigest(row[0])

    @answered
    def tags(self, repository: RepositoryName) -> list[ImageTag]:
        with self._connection() as db:
            # SQLite compares TEXT by memcmp of its UTF-8: byte order.
            rows = db.execute(
                "SELECT tag FROM tags WHERE repository = ? ORDER BY tag", (str(repository),)
            ).fetchall()
        return [ImageTag(tag) for (tag,) in rows]

    @answered
    def references_layer(self, repository: RepositoryName, digest: LayerDigest) -> bool:
        with self._connection() as db:
            row = db.execute(
                "SELECT 1 FROM referenced_layers WHERE repository = ? AND canonical = ?",
                (str(repository), canonical(digest)),
            ).fetchone()
        return row is not None
