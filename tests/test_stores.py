"""Every RegistryStore behaves alike under the registry; the durable ones keep it all.

Each test runs over every store (MemoryStore, SqliteFileStore, RedisFileStore) or over
the durable ones, each in a site of its own (``stores_under_test.py``). A second store
opened over the same site stands for another server process; closing a store and
opening another stands for a restart.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from shared_values import REGISTRY_ID, SMALL
from stores_under_test import Kind, StoreSite, free_loopback_port
from test_registry import check, completion, initiate, name, part, push, send_parts, sha256

from ecr_upload_model import (
    InvalidLayerPartException,
    LayerAlreadyExistsException,
    LayerDigest,
    Registry,
    RepositoryNotFoundException,
    ServerException,
    UploadId,
    UploadNotFoundException,
    UsageError,
)
from ecr_upload_model.registry import HeldUpload, RegistryStore, Removal, sequential_upload_ids
from ecr_upload_model.server import data_directory
from ecr_upload_model.server.sqlite_store import DATABASE_NAME, SqliteFileStore
from ecr_upload_model.server.stores import open_store

#: Three full parts and a short last one, under SMALL's limits (parts of 4 to 64 bytes).
PARTS = (b"abcdefgh", b"ijklmnop", b"qrstuvwx", b"yz")
LAYER = b"".join(PARTS)


def registry_over(store: RegistryStore, ids: Callable[[], UploadId] | None = None) -> Registry:
    registry = Registry(
        REGISTRY_ID,
        limits=SMALL,
        store=store,
        upload_id_factory=ids or sequential_upload_ids(),
    )
    registry.create_repository("team/app")
    registry.create_repository("team/other")
    return registry


def read_layer(store: RegistryStore, digest: LayerDigest, repository: str = "team/app") -> bytes:
    file = store.open_layer(name(repository), digest)
    assert file is not None
    with file:
        return file.read()


# ---------------------------------------------------------------------------------------
# What every store does alike


def test_a_part_decided_on_a_stale_read_is_decided_again_and_refused(
    site: StoreSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = site.open()
    registry = registry_over(store)
    upload_id = initiate(registry)
    request = part(upload_id, 0, PARTS[0])
    # Another process, over the same state.
    other = Registry(REGISTRY_ID, limits=SMALL, store=site.open())
    read = store.upload
    reads = 0

    def overtaken(upload_id: UploadId) -> HeldUpload | None:
        """The other process stores the same part between the first read and its swap."""
        nonlocal reads
        held = read(upload_id)
        reads += 1
        if reads == 1:
            other.upload_layer_part(request)
        return held

    monkeypatch.setattr(store, "upload", overtaken)
    with pytest.raises(InvalidLayerPartException) as refusal:
        registry.upload_layer_part(request)

    assert reads >= 2  # decided again on what the other process stored
    assert refusal.value.last_valid_byte_received == len(PARTS[0]) - 1
    session = registry.session(upload_id)
    assert session is not None
    assert (session.revision, session.bytes_received) == (1, len(PARTS[0]))
    files = site.upload_files(upload_id)
    assert files is None or len(files) == 1  # the loser's file is gone


def test_a_refused_part_changes_nothing_and_leaves_no_file(site: StoreSite) -> None:
    registry = registry_over(site.open())
    upload_id = initiate(registry)
    send_parts(registry, upload_id, PARTS[0])
    before = registry.session(upload_id)
    files = site.upload_files(upload_id)

    for refused in (part(upload_id, 0, PARTS[1]), part(upload_id, 4, PARTS[1])):
        with pytest.raises(InvalidLayerPartException):
            registry.upload_layer_part(refused)

    assert registry.session(upload_id) == before
    assert site.upload_files(upload_id) == files


def test_a_layer_reads_back_whole_from_the_repositories_that_hold_it(site: StoreSite) -> None:
    store = site.open()
    registry = registry_over(store)
    one_part = push(registry, b"just one part")
    several = push(registry, *PARTS)

    for digest, layer in ((one_part, b"just one part"), (several, LAYER)):
        if site.durable:
            assert read_layer(store, digest) == layer
            upper = LayerDigest(f"sha256:{digest.hex.upper()}")
            assert read_layer(store, upper) == layer
        else:
            assert store.open_layer(name("team/app"), digest) is None  # keeps no bytes
        assert store.open_layer(name("team/other"), digest) is None
    assert store.open_layer(name("team/app"), sha256(b"never pushed")) is None


def test_repositories_are_listed_and_removed_keeping_a_non_empty_one_unless_forced(
    site: StoreSite,
) -> None:
    store = site.open()
    registry = registry_over(store)
    digest = push(registry, b"abcd", repository="team/other")

    assert store.repositories() == [name("team/app"), name("team/other")]
    assert store.remove_repository(name("team/other"), force=False) is Removal.NOT_EMPTY
    assert store.remove_repository(name("team/app"), force=False) is Removal.REMOVED
    assert store.remove_repository(name("team/app"), force=False) is Removal.NOT_FOUND
    assert store.remove_repository(name("team/other"), force=True) is Removal.REMOVED
    assert store.repositories() == []
    assert store.layer(name("team/other"), digest) is None
    with pytest.raises(RepositoryNotFoundException):
        check(registry, str(digest), repository="team/other")


def test_a_repository_keeps_its_creation_time_across_a_second_process(site: StoreSite) -> None:
    store = site.open()
    registry = Registry(REGISTRY_ID, store=store, clock=lambda: 1_700_000_000.25)
    registry.create_repository("team/app")
    registry.create_repository("team/app")  # kept as it was
    held = site.open().repository(name("team/app"))
    assert held is not None
    assert (held.name, held.created_at) == (name("team/app"), 1_700_000_000.25)
    assert store.repository(name("team/absent")) is None


def test_an_upload_id_is_stored_once(site: StoreSite) -> None:
    store = site.open()
    registry = registry_over(store, sequential_upload_ids())
    upload_id = initiate(registry)
    send_parts(registry, upload_id, PARTS[0])
    held = store.upload(upload_id)
    assert held is not None

    assert not store.add_upload(held.session, 0.0)
    repeated = registry_over(store, sequential_upload_ids())  # a factory that repeats ids
    with pytest.raises(UsageError, match="repeated"):
        initiate(repeated)
    assert store.upload(upload_id) == held


def test_a_layer_pushed_through_two_processes_in_turn_has_the_right_digest(
    site: StoreSite,
) -> None:
    """Each process carries the digest of the parts it saw; the other's it reads back."""
    ids = sequential_upload_ids()
    first, second = registry_over(site.open(), ids), registry_over(site.open(), ids)
    upload_id = initiate(first)
    start = 0
    for turn, blob in enumerate(PARTS):
        (first, second)[turn % 2].upload_layer_part(part(upload_id, start, blob))
        start += len(blob)

    with pytest.raises(InvalidLayerPartException):  # the other process sees every part
        second.upload_layer_part(part(upload_id, 0, PARTS[0]))
    done = first.complete_layer_upload(completion(upload_id, sha256(LAYER)))
    assert done.layer_digest == sha256(LAYER)
    with pytest.raises(UploadNotFoundException):
        second.complete_layer_upload(completion(upload_id, sha256(LAYER)))
    assert check(second, str(sha256(LAYER))) == [(str(sha256(LAYER)), len(LAYER))]


def test_a_completion_leaves_no_upload_file_behind(site: StoreSite) -> None:
    registry = registry_over(site.open())
    for layer in ((b"one part only",), PARTS):
        upload_id = initiate(registry)
        send_parts(registry, upload_id, *layer)
        files = site.upload_files(upload_id)
        assert files is None or len(files) == len(layer)
        registry.complete_layer_upload(completion(upload_id, sha256(b"".join(layer))))
        assert site.upload_files(upload_id) in (None, [])
    if site.durable:
        assert site.layer_files() == sorted([sha256(b"one part only").hex, sha256(LAYER).hex])


def test_a_layer_held_by_two_repositories_is_stored_once_and_outlives_either(
    durable_site: StoreSite,
) -> None:
    store = durable_site.open()
    registry = registry_over(store)
    digest = push(registry, *PARTS)
    assert push(registry, *PARTS, repository="team/other") == digest
    upload_id = initiate(registry)
    send_parts(registry, upload_id, *PARTS)
    with pytest.raises(LayerAlreadyExistsException):
        registry.complete_layer_upload(completion(upload_id, digest))

    assert durable_site.layer_files() == [digest.hex]
    assert store.remove_repository(name("team/app"), force=True) is Removal.REMOVED
    assert read_layer(store, digest, "team/other") == LAYER


def part_inodes(site: StoreSite, upload_id: UploadId) -> list[int]:
    """The inodes of an upload's part files, in the order of the parts."""
    paths = (site.directory / "uploads").glob(f"*/{upload_id}/*.part")
    by_number = sorted(paths, key=lambda path: int(path.name.split(".")[0]))
    return [path.stat().st_ino for path in by_number]


def layer_inodes(blobs: Path, digest: LayerDigest) -> list[int]:
    """The inodes of a stored layer's files (``blobs`` is ``blobs/sha256``), in order."""
    return [path.stat().st_ino for path in sorted((blobs / digest.hex).iterdir())]


def uploaded(site: StoreSite) -> tuple[RegistryStore, Registry, UploadId]:
    """A store, its registry, and an upload of PARTS all sent, not completed."""
    store = site.open()
    registry = registry_over(store)
    upload_id = initiate(registry)
    send_parts(registry, upload_id, *PARTS)
    return store, registry, upload_id


def test_a_completed_layer_is_its_part_files_linked_not_copied(durable_site: StoreSite) -> None:
    store, registry, upload_id = uploaded(durable_site)
    parts = part_inodes(durable_site, upload_id)
    assert len(parts) == len(PARTS)
    digest = sha256(LAYER)
    registry.complete_layer_upload(completion(upload_id, digest))
    assert layer_inodes(durable_site.directory / "blobs" / "sha256", digest) == parts
    assert read_layer(store, digest) == LAYER


def links_fail(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """Every ``os.link`` from now on fails with the error ``code``."""

    def failing(source: object, target: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", failing)


def test_where_files_cannot_be_linked_a_layer_is_copied_from_its_parts(
    durable_site: StoreSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, registry, upload_id = uploaded(durable_site)
    parts = part_inodes(durable_site, upload_id)
    links_fail(monkeypatch, errno.EXDEV)
    digest = sha256(LAYER)
    registry.complete_layer_upload(completion(upload_id, digest))
    assert not set(layer_inodes(durable_site.directory / "blobs" / "sha256", digest)) & set(parts)
    assert read_layer(store, digest) == LAYER


def test_a_link_that_fails_otherwise_is_a_server_error_and_the_upload_completes_later(
    durable_site: StoreSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, registry, upload_id = uploaded(durable_site)
    links_fail(monkeypatch, errno.ENOSPC)
    with pytest.raises(ServerException, match="No space left on device"):
        registry.complete_layer_upload(completion(upload_id, sha256(LAYER)))
    assert durable_site.layer_files() == []
    monkeypatch.undo()
    registry.complete_layer_upload(completion(upload_id, sha256(LAYER)))
    assert read_layer(store, sha256(LAYER)) == LAYER


def test_a_completion_overtaken_while_placing_its_layer_answers_that_the_upload_ended(
    durable_site: StoreSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process completes the upload (and removes its files, this completion's
    new layer directory with them) between this one's links and its sync of them."""
    ids = sequential_upload_ids()
    first, second = registry_over(durable_site.open(), ids), registry_over(durable_site.open(), ids)
    upload_id = initiate(first)
    send_parts(first, upload_id, *PARTS)
    fsync_directory = data_directory._fsync_directory
    overtaken: list[object] = []

    def overtaken_first(directory: Path) -> None:
        if directory.name.startswith("layer.") and not overtaken:
            overtaken.append(None)  # the other completion's own sync passes through
            overtaken[0] = second.complete_layer_upload(completion(upload_id, sha256(LAYER)))
        fsync_directory(directory)

    monkeypatch.setattr(data_directory, "_fsync_directory", overtaken_first)
    with pytest.raises(UploadNotFoundException):
        first.complete_layer_upload(completion(upload_id, sha256(LAYER)))
    assert getattr(overtaken[0], "layer_digest", None) == sha256(LAYER)
    assert read_layer(durable_site.open(), sha256(LAYER)) == LAYER


def test_the_same_bytes_completed_by_two_uploads_are_one_layer_and_no_leftover(
    tmp_path: Path,
) -> None:
    """Two uploads of one layer, completed one after the other as two processes would:
    the second finds the layer in place, keeps it, and drops the directory it made."""
    files = data_directory.DataDirectory(tmp_path, state="one")
    uploads = [UploadId(f"0000000{n}-0000-4000-8000-000000000000") for n in (1, 2)]
    names = {
        upload: [files.write_part(upload, n, memoryview(data)) for n, data in enumerate(PARTS)]
        for upload in uploads
    }
    for upload in uploads:
        parts = [name for name in names[upload] if name is not None]
        assert files.publish_layer(upload, parts, sha256(LAYER).hex)
        assert not list(files.uploads.glob(f"{upload}/layer.*"))
    assert [path.name for path in files.blobs.iterdir()] == [sha256(LAYER).hex]
    first_upload_inodes = [
        (files.uploads / str(uploads[0]) / name).stat().st_ino for name in names[uploads[0]] if name
    ]
    assert layer_inodes(files.blobs, sha256(LAYER)) == first_upload_inodes
    with files.open_layer(sha256(LAYER).hex) as stored:
        assert stored.read() == LAYER


def test_forgetting_idle_uploads_removes_their_files(site: StoreSite) -> None:
    now = [100.0]
    store = site.open()
    registry = Registry(REGISTRY_ID, limits=SMALL, store=store, clock=lambda: now[0])
    registry.create_repository("team/app")
    idle, busy = initiate(registry), initiate(registry)
    send_parts(registry, idle, *PARTS[:2])
    now[0] += 10.0
    send_parts(registry, busy, PARTS[0])

    assert registry.expire(now[0] + registry.idle_seconds - 5.0) == 1
    assert registry.session(idle) is None
    assert site.upload_files(idle) in (None, [])
    files = site.upload_files(busy)
    assert files is None or len(files) == 1
    with pytest.raises(UploadNotFoundException):
        registry.upload_layer_part(part(idle, 16, PARTS[2]))


# ---------------------------------------------------------------------------------------
# What the durable stores keep across a restart


def test_repositories_uploads_parts_and_layers_survive_a_restart(durable_site: StoreSite) -> None:
    ids = sequential_upload_ids()
    store = durable_site.open()
    registry = registry_over(store, ids)
    held = push(registry, b"a layer before")
    upload_id = initiate(registry)
    send_parts(registry, upload_id, *PARTS[:2])
    session = registry.session(upload_id)
    durable_site.close(store)

    store = durable_site.open()
    restarted = Registry(REGISTRY_ID, limits=SMALL, store=store, upload_id_factory=ids)
    assert store.repositories() == [name("team/app"), name("team/other")]
    assert restarted.session(upload_id) == session
    assert read_layer(store, held) == b"a layer before"
    with pytest.raises(InvalidLayerPartException) as refusal:  # where to resume
        restarted.upload_layer_part(part(upload_id, 0, PARTS[0]))
    assert refusal.value.last_valid_byte_received == 15
    send_parts_from(restarted, upload_id, 16, *PARTS[2:])
    # The digest of the parts before the restart is computed again from their files.
    done = restarted.complete_layer_upload(completion(upload_id, sha256(LAYER)))
    assert done.layer_digest == sha256(LAYER)
    assert read_layer(store, sha256(LAYER)) == LAYER


def send_parts_from(registry: Registry, upload_id: UploadId, first: int, *parts: bytes) -> None:
    for blob in parts:
        registry.upload_layer_part(part(upload_id, first, blob))
        first += len(blob)


def test_leftovers_of_ended_uploads_go_when_a_store_opens(durable_site: StoreSite) -> None:
    store = durable_site.open()
    registry = registry_over(store)
    live, completed = initiate(registry), initiate(registry)
    send_parts(registry, live, PARTS[0])
    send_parts(registry, completed, b"done")
    live_files = durable_site.upload_files(live)
    uploads = next((durable_site.directory / "uploads").iterdir())
    # A crash after the state forgot or completed an upload, before its files went.
    registry.complete_layer_upload(completion(completed, sha256(b"done")))
    for upload_id in (completed, UploadId("0badc0de-0000-4000-8000-000000000000")):
        (uploads / str(upload_id)).mkdir(exist_ok=True)
        (uploads / str(upload_id) / "1.cut-short.part").write_bytes(b"half")
    (uploads / "not-an-upload").mkdir()  # not the store's: left alone
    durable_site.close(store)

    durable_site.open()
    assert sorted(path.name for path in uploads.iterdir()) == sorted([str(live), "not-an-upload"])
    assert durable_site.upload_files(live) == live_files


# ---------------------------------------------------------------------------------------
# Failures: a store's is ServerException, a caller's UsageError; nothing half-done


def test_a_part_the_disk_refuses_is_a_server_error_and_is_not_counted(
    durable_site: StoreSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = durable_site
    registry = registry_over(site.open())
    upload_id = initiate(registry)
    send_parts(registry, upload_id, PARTS[0])
    write = data_directory._write_new_file

    def disk_full(path: Path, data: memoryview) -> None:
        write(path, data[: len(data) // 2])  # some of it lands, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(data_directory, "_write_new_file", disk_full)
    with pytest.raises(ServerException, match="No space left on device") as failure:
        registry.upload_layer_part(part(upload_id, 8, PARTS[1]))
    assert failure.value.http_status == 500
    assert str(site.directory) not in str(failure.value)  # no path for the client
    monkeypatch.undo()

    session = registry.session(upload_id)
    assert session is not None
    assert session.bytes_received == 8
    send_parts_from(registry, upload_id, 8, *PARTS[1:])
    registry.complete_layer_upload(completion(upload_id, sha256(LAYER)))


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_a_part_is_kept_when_the_os_refuses_the_advice_to_drop_its_cached_pages(
    durable_site: StoreSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    advised: list[int] = []

    def refuse(descriptor: int, offset: int, length: int, advice: int) -> None:
        advised.append(advice)
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "posix_fadvise", refuse)
    store = durable_site.open()
    registry = registry_over(store)
    digest = push(registry, *PARTS)
    assert advised == [os.POSIX_FADV_DONTNEED] * len(PARTS)
    assert read_layer(store, digest) == LAYER


def test_a_part_whose_new_name_cannot_be_synced_is_a_server_error_and_leaves_no_file(
    durable_site: StoreSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The directory is synced in a thread of its own, beside the part's bytes.
    site = durable_site
    registry = registry_over(site.open())
    upload_id = initiate(registry)
    send_parts(registry, upload_id, PARTS[0])
    (upload_directory,) = site.directory.glob(f"uploads/*/{upload_id}")
    files = sorted(upload_directory.iterdir())

    def broken_sync(directory: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(data_directory, "_fsync_directory", broken_sync)
    with pytest.raises(ServerException, match="Input/output error"):
        registry.upload_layer_part(part(upload_id, 8, PARTS[1]))
    monkeypatch.undo()

    assert sorted(upload_directory.iterdir()) == files
    session = registry.session(upload_id)
    assert session is not None
    assert session.bytes_received == 8
    send_parts_from(registry, upload_id, 8, *PARTS[1:])
    registry.complete_layer_upload(completion(upload_id, sha256(LAYER)))


def test_a_part_file_lost_behind_the_stores_back_is_a_server_error(
    durable_site: StoreSite,
) -> None:
    store = durable_site.open()
    registry = registry_over(store)
    upload_id = initiate(registry)
    send_parts(registry, upload_id, *PARTS)
    durable_site.close(store)  # the running digest goes with the process
    for path in (durable_site.directory / "uploads").glob(f"*/{upload_id}/2.*"):
        path.unlink()

    restarted = registry_over(durable_site.open())
    with pytest.raises(ServerException, match="missing"):
        restarted.complete_layer_upload(completion(upload_id, sha256(LAYER)))
    session = restarted.session(upload_id)
    assert session is not None
    assert not session.completed


def test_an_unreadable_stored_upload_is_a_server_error(durable_site: StoreSite) -> None:
    store = durable_site.open()
    registry = registry_over(store)
    upload_id = initiate(registry)
    if durable_site.kind is Kind.SQLITE:
        with contextlib.closing(sqlite3.connect(durable_site.directory / DATABASE_NAME)) as db:
            db.execute("UPDATE uploads SET session = '{\"schema\": 1}'")
            db.commit()
    else:
        import redis

        client = redis.Redis.from_url(durable_site.redis_url or "")
        client.set(f"{durable_site.prefix}:upload:{upload_id}", json.dumps({"session": 1}))
        client.close()

    with pytest.raises(ServerException, match="unreadable"):
        registry.upload_layer_part(part(upload_id, 0, PARTS[0]))


@pytest.mark.parametrize(
    ("store_url", "message"),
    [
        ("http://127.0.0.1/0", "must be a Redis URL"),
        ("127.0.0.1:1", "must be a Redis URL"),
        ("redis://127.0.0.1:notaport/0", "not a Redis URL"),
        ("redis://127.0.0.1:{port}/notadb", "database .* must be a number"),
    ],
)
def test_a_store_url_that_is_not_redis_is_refused(
    tmp_path: Path, store_url: str, message: str
) -> None:
    pytest.importorskip("redis")
    with pytest.raises(UsageError, match=message):
        open_store(tmp_path, store_url.format(port=free_loopback_port()))


def test_a_redis_server_that_does_not_answer_is_refused_without_its_password(
    tmp_path: Path,
) -> None:
    pytest.importorskip("redis")
    url = f"redis://user:s3cret@127.0.0.1:{free_loopback_port()}/0"  # nobody listens
    with pytest.raises(UsageError, match="cannot reach Redis") as refusal:
        open_store(tmp_path, url)
    assert "s3cret" not in str(refusal.value)
    assert "user:***@127.0.0.1" in str(refusal.value)


def test_a_data_directory_that_cannot_be_used_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    with pytest.raises(UsageError, match="cannot keep a registry"):
        open_store(a_file, None)
    with pytest.raises(UsageError, match="cannot keep a registry"):
        open_store(a_file / "below", None)
    not_a_database = tmp_path / "data"
    not_a_database.mkdir()
    (not_a_database / DATABASE_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(UsageError, match="not a database"):
        open_store(not_a_database, None)


def test_a_database_of_another_schema_is_refused(tmp_path: Path) -> None:
    SqliteFileStore(tmp_path).close()
    with contextlib.closing(sqlite3.connect(tmp_path / DATABASE_NAME)) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(UsageError, match="schema 99"):
        SqliteFileStore(tmp_path)


@pytest.mark.parametrize(
    "arguments",
    [
        {"directory": 42},
        {"directory": ".", "busy_timeout": -1.0},
        {"directory": ".", "busy_timeout": "30"},
    ],
)
def test_sqlite_store_arguments_of_the_wrong_kind_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        SqliteFileStore(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "arguments",
    [
        {"url": 42, "directory": "."},
        {"url": "redis://127.0.0.1:1/0", "directory": 42},
        {"url": "redis://127.0.0.1:1/0", "directory": ".", "prefix": ""},
    ],
)
def test_redis_store_arguments_of_the_wrong_kind_are_refused(arguments: dict[str, object]) -> None:
    pytest.importorskip("redis")
    from ecr_upload_model.server.redis_store import RedisFileStore

    with pytest.raises(UsageError, match="must be"):
        RedisFileStore(**arguments)  # type: ignore[arg-type]


def test_a_closed_store_refuses_to_serve(tmp_path: Path) -> None:
    store = SqliteFileStore(tmp_path)
    store.close()
    with pytest.raises(UsageError, match="closed"):
        store.repositories()
