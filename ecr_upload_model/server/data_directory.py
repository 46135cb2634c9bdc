"""The bytes a durable store keeps: each upload's parts and each layer, as files.

Under the data directory:

- ``uploads/<state>/<upload id>/<n>.<random>.part``: the bytes of a part sent as the
  upload's n-th. The store's state names the one file of each number it accepted; any
  other lost a race (its writer deletes it) or was cut short by a crash.
- ``uploads/<state>/<upload id>/layer.<random>``: a layer being put together at
  completion (``<state>`` is the state's own part of the directory: see DataDirectory).
- ``blobs/sha256/<hex>/``: each stored layer, named by its digest and shared by every
  repository that holds it: a directory of its parts' files in order (``00000000``,
  ``00000001``, ...), which are the upload's part files themselves, hard-linked; the
  empty layer is an empty directory.

A part's file is written whole and fsynced, with its directory, before the state names
it: the state never names bytes a crash could take back. A layer is never copied: its
directory is made beside the parts, synced and renamed into ``blobs/sha256/`` whole, so
a reader never sees part of one (where the file system links no files, the parts are
copied into it and synced). An upload's directory, with whatever a crash left in it,
goes when the upload completes or is forgotten; one left behind by a crash goes when a
store opens. POSIX only (directories are fsynced through a file descriptor).
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hashlib
import io
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, cast

from ..identifiers import UploadId

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = [
    "READ_CHUNK_BYTES",
    "Concurrently",
    "DataDirectory",
    "RunningDigests",
    "open_stored_layer",
]

#: Bytes read at a time when a digest is computed again from the part files.
READ_CHUNK_BYTES: Final = 1 << 20


def _fsync_directory(directory: Path) -> None:
    """Makes the names created in ``directory`` (files, links, renames) durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _make_directory(directory: Path) -> None:
    """Creates ``directory`` unless it exists, durably (its parent is fsynced)."""
    try:
        directory.mkdir()
    except FileExistsError:
        return
    _fsync_directory(directory.parent)


def _unique() -> str:
    """A name no other writer, in any process or host, picks (64 random bits)."""
    return os.urandom(8).hex()


class Concurrently:
    """Runs ``work`` in a thread of its own from entry; the exit waits for it and raises
    what it raised. For work that releases the GIL (hashing, fsync) beside other such
    work: the two cost the longer of them, not their sum."""

    def __init__(self, work: Callable[[], object]) -> None:
        self._work = work
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._work()
        except BaseException as error:
            self._error = error

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join()
        if self._error is not None and exc_info[0] is None:
            raise self._error


def _drop_cached_pages(descriptor: int) -> None:
    """Tells the OS that a synced file's pages need not stay cached, where it takes the
    advice. A part is read again only after a restart or for a pull; kept cached, every
    new part takes pages never used before, which cost ten times a reused page's price
    here (a 10 MiB write took 30 ms, against 3 ms with its pages dropped after each
    fsync: docs/results.md). Advice only: a refusal changes nothing."""
    advise = getattr(os, "posix_fadvise", None)  # not on macOS
    if advise is not None:
        with contextlib.suppress(OSError):
            advise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)


def _write_new_file(path: Path, data: memoryview) -> None:
    """Writes ``data`` to a new file and fsyncs it; on any failure the file is removed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        # The new name is made durable while the bytes are written and synced.
        with Concurrently(lambda: _fsync_directory(path.parent)):
            try:
                written = 0
                while written < len(data):  # a write may take fewer bytes than given
                    written += os.write(descriptor, data[written:])
                os.fsync(descriptor)
                _drop_cached_pages(descriptor)
            finally:
                os.close(descriptor)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


#: os.link's failures that mean "this file system links no files": copy instead.
_NO_HARD_LINKS: Final = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK})


def _link_or_copy(source: Path, target: Path) -> None:
    """Makes ``target`` a new name of ``source``'s bytes, or a synced copy of them where
    the file system cannot link."""
    try:
        os.link(source, target)
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        with source.open("rb") as part, target.open("xb") as out:
            shutil.copyfileobj(part, out, READ_CHUNK_BYTES)
            out.flush()
            os.fsync(out.fileno())


def _layer_member(index: int) -> str:
    """The name of a layer's ``index``-th part in its directory: names sort as numbers."""
    return f"{index:08d}"


class _Concatenation(io.RawIOBase):
    """The files of ``paths`` read one after another, as one stream."""

    def __init__(self, paths: Iterator[Path]) -> None:
        self._paths = paths
        self._file: io.FileIO | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._file is None:
                path = next(self._paths, None)
                if path is None:
                    return 0
                self._file = io.FileIO(path, "rb")
            count = self._file.readinto(buffer)
            if count:
                return count
            self._file.close()
            self._file = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def open_stored_layer(blobs: Path, hex_digest: str) -> BinaryIO:
    """The bytes of the layer ``blobs/<hex>`` holds, as one stream; FileNotFoundError if
    it holds none."""
    members = sorted((blobs / hex_digest.lower()).iterdir())
    return cast(BinaryIO, io.BufferedReader(_Concatenation(iter(members)), READ_CHUNK_BYTES))


class RunningDigests:
    """The sha256 of an upload's bytes up to a part, by the name of the part's file.

    A part file's name is never used twice, so an entry cannot describe other bytes.
    The process that accepts an upload's parts carries the digest on from part to part
    and never reads them back; after a restart, or past parts another process accepted,
    it carries on from the latest part it knows by reading the files after it. Entries
    of uploads that ended elsewhere are dropped, oldest first, beyond ``capacity``.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._by_part: collections.OrderedDict[str, _Hash] = collections.OrderedDict()

    def after(self, part: str | None) -> _Hash | None:
        """A copy of the running sha256 after ``part`` (``None``: no part yet), if known."""
        if part is None:
            return hashlib.sha256()
        with self._lock:
            hasher = self._by_part.get(part)
            if hasher is None:
                return None
            self._by_part.move_to_end(part)
            return hasher.copy()

    def keep(self, part: str, hasher: _Hash, *, replacing: str | None) -> None:
        """Keeps ``hasher`` (never to be updated again) as the digest after ``part``."""
        with self._lock:
            if replacing is not None:
                self._by_part.pop(replacing, None)
            self._by_part[part] = hasher
            while len(self._by_part) > self._capacity:
                self._by_part.popitem(last=False)

    def forget(self, part: str | None) -> None:
        if part is not None:
            with self._lock:
                self._by_part.pop(part, None)

    def longest_known(self, parts: Sequence[str]) -> tuple[int, _Hash]:
        """How many of ``parts`` (from the first) a kept digest covers, and a copy of it."""
        for count in range(len(parts), 0, -1):
            hasher = self.after(parts[count - 1])
            if hasher is not None:
                return count, hasher
        return 0, hashlib.sha256()


class DataDirectory:
    """The files of one data directory (created if missing); safe for many threads and
    for processes that share the directory.

    ``state`` names the state the uploads' files go with (the SQLite database in the
    directory, a Redis server's): each state's uploads are under ``uploads/<state>/``,
    so that states sharing a directory never take each other's files. The layers'
    files are shared by all.
    """

    def __init__(self, root: Path, *, state: str) -> None:
        self.root = root
        self.uploads = root / "uploads" / state
        self.blobs = root / "blobs" / "sha256"
        for directory in (root, self.uploads.parent, self.uploads, self.blobs.parent, self.blobs):
            _make_directory(directory)
        self.digests = RunningDigests()

    def _upload(self, upload_id: UploadId) -> Path:
        return self.uploads / str(upload_id)

    def write_part(self, upload_id: UploadId, number: int, blob: memoryview) -> str | None:
        """Writes a part to a file of its own, durably; returns the file's name, or None
        if the upload's directory went meanwhile (the upload ended)."""
        directory = self._upload(upload_id)
        name = f"{number}.{_unique()}.part"
        try:
            _make_directory(directory)  # at the upload's first part
            _write_new_file(directory / name, blob)
        except FileNotFoundError:
            return None
        return name

    def discard_part(self, upload_id: UploadId, name: str) -> None:
        """Deletes the file of a part the state did not take."""
        (self._upload(upload_id) / name).unlink(missing_ok=True)

    def remove_upload(self, upload_id: UploadId) -> None:
        """Deletes an ended upload's files; what a racing writer adds meanwhile stays
        until the next sweep."""
        shutil.rmtree(self._upload(upload_id), ignore_errors=True)

    def sweep(self, ended: Callable[[UploadId], bool]) -> None:
        """Deletes the directories of the uploads ``ended`` says have ended.

        A directory is made for an upload the state holds already (at its first part),
        so one whose upload the state no longer holds, asked after this listing, has
        ended: an upload being added meanwhile is never taken for one.
        """
        for entry in os.listdir(self.uploads):
            try:
                upload_id = UploadId(entry)
            except ValueError:  # not a directory of ours: leave it
                continue
            if ended(upload_id):
                self.remove_upload(upload_id)

    def digest(self, upload_id: UploadId, parts: Sequence[str]) -> _Hash | None:
        """The sha256 of the parts' bytes in order (reading only what no kept digest
        covers), kept for the next call; None if a part's file is gone."""
        known, hasher = self.digests.longest_known(parts)
        buffer = bytearray(READ_CHUNK_BYTES)
        view = memoryview(buffer)
        upload = self._upload(upload_id)
        try:
            with _Concatenation(upload / name for name in parts[known:]) as unread:
                while read := unread.readinto(buffer):
                    hasher.update(view[:read])
        except FileNotFoundError:
            return None
        if parts:
            self.digests.keep(parts[-1], hasher.copy(), replacing=None)
        return hasher

    def _blob(self, hex_digest: str) -> Path:
        return self.blobs / hex_digest.lower()

    def publish_layer(self, upload_id: UploadId, parts: Sequence[str], hex_digest: str) -> bool:
        """Makes ``blobs/sha256/<hex>`` hold the parts' bytes, unless it does already;
        False if a part's file is gone.

        The caller has checked that the parts hash to ``hex_digest``. The parts' files
        are linked into a new directory, which is synced and renamed into place: no byte
        is copied or written again. The new directory is in the upload's, so it goes
        with it if the upload ends meanwhile (another completion): then False too.
        """
        upload = self._upload(upload_id)
        assembled = upload / f"layer.{_unique()}"
        try:
            assembled.mkdir()
            for index, name in enumerate(parts):
                _link_or_copy(upload / name, assembled / _layer_member(index))
            self._place(assembled, self._blob(hex_digest))
        except FileNotFoundError:
            return False
        return True

    def publish_empty_layer(self, hex_digest: str) -> None:
        """Makes ``blobs/sha256/<hex>`` the empty layer (``hex_digest`` is its digest):
        an empty directory, whole once created."""
        self._blob(hex_digest).mkdir(exist_ok=True)
        _fsync_directory(self.blobs)

    def _place(self, assembled: Path, blob: Path) -> None:
        """Renames the layer directory ``assembled`` to ``blob``, durably; if ``blob`` is
        there already (the same bytes: names are digests), ``assembled`` goes instead."""
        _fsync_directory(assembled)
        try:
            os.rename(assembled, blob)
        except OSError:
            if not blob.exists():
                raise
            shutil.rmtree(assembled, ignore_errors=True)  # the same bytes are in place
        _fsync_directory(self.blobs)

    def open_layer(self, hex_digest: str) -> BinaryIO:
        return open_stored_layer(self.blobs, hex_digest)
