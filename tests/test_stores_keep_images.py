"""Every RegistryStore keeps what the /v2/ front end needs alike: manifests, tags, mounts,
the empty layer and abandoned uploads; the durable ones keep manifests and tags across a
restart.

Each test runs over every store (``site``) or the durable ones (``durable_site``), as in
``test_stores.py``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import sqlite3
import threading
from pathlib import Path

from oci_images import OCI_MANIFEST, image_manifest, index
from stores_under_test import StoreSite
from test_registry import initiate, name, part, push, send_parts, sha256
from test_stores import LAYER, PARTS, read_layer, registry_over

from ecr_upload_model import LayerDigest
from ecr_upload_model.manifests import ImageTag, Manifest
from ecr_upload_model.registry import EMPTY_LAYER_DIGEST, HeldLayer, RegistryStore
from ecr_upload_model.server.sqlite_store import DATABASE_NAME, SCHEMA_VERSION, SqliteFileStore

CONFIG = b'{"architecture": "amd64"}'
IMAGE = Manifest.parse(image_manifest(CONFIG, [LAYER]), OCI_MANIFEST)
OTHER_IMAGE = Manifest.parse(image_manifest(CONFIG, [b"another layer"]), None)
INDEX = Manifest.parse(index([IMAGE.content]), None)


def upper_case(digest: LayerDigest) -> LayerDigest:
    return LayerDigest(f"{digest.algorithm}:{digest.hex.upper()}")


def check_images(store: RegistryStore) -> None:
    """What ``put_images`` stored, as any store must answer it."""
    app = name("team/app")
    assert store.manifest(app, IMAGE.digest) == IMAGE
    assert store.manifest(app, upper_case(INDEX.digest)) == INDEX
    assert store.manifest(name("team/other"), IMAGE.digest) is None
    # "v1" moved to the index; "latest" still points at the image.
    assert store.tagged(app, ImageTag("v1")) == INDEX.digest
    assert store.tagged(app, ImageTag("latest")) == IMAGE.digest
    assert store.tagged(app, ImageTag("v2")) is None
    assert store.tags(app) == [ImageTag("Z"), ImageTag("latest"), ImageTag("v1")]  # byte order
    for blob in (sha256(CONFIG), upper_case(sha256(LAYER))):
        assert store.references_layer(app, blob)
    assert not store.references_layer(app, sha256(b"another layer"))
    assert not store.references_layer(name("team/other"), sha256(LAYER))


def put_images(store: RegistryStore) -> None:
    app = name("team/app")
    assert store.put_manifest(app, IMAGE, ImageTag("v1"))
    assert store.put_manifest(app, IMAGE, ImageTag("latest"))
    assert store.put_manifest(app, INDEX, ImageTag("v1"))
    assert store.put_manifest(app, INDEX, ImageTag("Z"))
    assert store.put_manifest(app, INDEX, None)


def test_manifests_and_tags_are_kept_moved_and_listed(site: StoreSite) -> None:
    store = site.open()
    registry_over(store)
    put_images(store)
    check_images(store)
    assert not store.put_manifest(name("team/missing"), OTHER_IMAGE, ImageTag("v1"))
    assert store.tags(name("team/missing")) == []


def test_manifests_and_tags_survive_a_restart(durable_site: StoreSite) -> None:
    store = durable_site.open()
    registry_over(store)
    put_images(store)
    durable_site.close(store)

    check_images(durable_site.open())


def test_a_removed_repository_takes_its_manifests_and_tags(site: StoreSite) -> None:
    store = site.open()
    registry = registry_over(store)
    put_images(store)
    store.remove_repository(name("team/app"), force=True)
    registry.create_repository("team/app")
    app = name("team/app")
    assert store.manifest(app, IMAGE.digest) is None
    assert store.tagged(app, ImageTag("v1")) is None
    assert store.tags(app) == []
    assert not store.references_layer(app, sha256(LAYER))


def test_a_layer_mounted_across_repositories_is_the_same_layer_and_file(site: StoreSite) -> None:
    store = site.open()
    registry = registry_over(store)
    digest = push(registry, *PARTS)
    other = name("team/other")

    mounted = store.mount_layer(name("team/app"), other, upper_case(digest))
    assert mounted == HeldLayer(digest, len(LAYER))
    assert store.layer(other, digest) == mounted
    assert store.mount_layer(name("team/app"), other, digest) == mounted  # once is enough
    if site.durable:
        assert read_layer(store, digest, "team/other") == LAYER
        assert site.layer_files() == [digest.hex]
        # Another process sees the mount.
        assert site.open().layer(other, digest) == mounted


def test_a_mount_from_or_to_nowhere_changes_nothing(site: StoreSite) -> None:
    store = site.open()
    registry = registry_over(store)
    digest = push(registry, *PARTS)
    app, other = name("team/app"), name("team/other")
    assert store.mount_layer(other, app, digest) is None  # other holds no such layer
    assert store.mount_layer(app, name("team/missing"), digest) is None
    assert store.mount_layer(app, other, sha256(b"not a layer")) is None
    assert store.layer(other, digest) is None
    assert store.repositories() == [app, other]


def test_the_empty_layer_is_added_once_and_reads_back_empty(site: StoreSite) -> None:
    store = site.open()
    registry_over(store)
    app = name("team/app")
    assert store.add_empty_layer(app)
    assert store.add_empty_layer(app)
    assert store.layer(app, EMPTY_LAYER_DIGEST) == HeldLayer(EMPTY_LAYER_DIGEST, 0)
    assert not store.add_empty_layer(name("team/missing"))
    assert store.layer(name("team/missing"), EMPTY_LAYER_DIGEST) is None
    if site.durable:
        assert read_layer(store, EMPTY_LAYER_DIGEST) == b""
        assert site.layer_files() == [EMPTY_LAYER_DIGEST.hex]


def test_a_removed_upload_is_gone_with_its_files(site: StoreSite) -> None:
    store = site.open()
    registry = registry_over(store)
    upload_id = initiate(registry)
    send_parts(registry, upload_id, *PARTS[:2])
    held = store.upload(upload_id)
    assert held is not None

    assert store.remove_upload(held)
    assert store.upload(upload_id) is None
    assert site.upload_files(upload_id) in (None, [])
    assert not store.remove_upload(held)  # twice: nothing more to do


def test_a_stale_upload_is_not_removed(site: StoreSite) -> None:
    store = site.open()
    registry = registry_over(store)
    upload_id = initiate(registry)
    send_parts(registry, upload_id, PARTS[0])
    stale = store.upload(upload_id)
    assert stale is not None
    registry.upload_layer_part(part(upload_id, len(PARTS[0]), PARTS[1]))

    assert not store.remove_upload(stale)
    now = store.upload(upload_id)
    assert now is not None
    assert now.session.bytes_received == len(PARTS[0] + PARTS[1])
    files = site.upload_files(upload_id)
    assert files is None or len(files) == 2


def test_a_database_of_the_first_schema_is_brought_up_to_date(tmp_path: Path) -> None:
    from ecr_upload_model.server import sqlite_store

    with contextlib.closing(sqlite3.connect(tmp_path / DATABASE_NAME)) as db:
        for statement in sqlite_store._MIGRATIONS[1]:
            db.execute(statement)
        db.execute("INSERT INTO repositories (name, created_at) VALUES ('team/app', 5.0)")
        db.execute("PRAGMA user_version = 1")
        db.commit()

    with SqliteFileStore(tmp_path) as store:
        held = store.repository(name("team/app"))
        assert held is not None
        assert held.created_at == 5.0
        assert store.put_manifest(name("team/app"), IMAGE, ImageTag("v1"))
        assert store.tagged(name("team/app"), ImageTag("v1")) == IMAGE.digest
    with contextlib.closing(sqlite3.connect(tmp_path / DATABASE_NAME)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_manifests_pushed_at_once_through_several_stores_are_all_kept(site: StoreSite) -> None:
    """Threads over stores of their own (a server's processes) push manifests and move
    one tag at once: none is lost, and the tag points at one of them."""
    registry_over(site.open())
    writers = 8
    manifests = [
        Manifest.parse(image_manifest(CONFIG, [b"layer %d" % number]), None)
        for number in range(writers * 4)
    ]
    stores = [site.open() for _ in range(writers)]
    start = threading.Barrier(writers)

    def push_share(index: int) -> None:
        start.wait()
        for manifest in manifests[index::writers]:
            assert stores[index].put_manifest(name("team/app"), manifest, ImageTag("latest"))
            assert stores[index].put_manifest(
                name("team/app"), manifest, ImageTag(manifest.digest.hex[:20])
            )

    with concurrent.futures.ThreadPoolExecutor(writers) as pool:
        list(pool.map(push_share, range(writers)))

    store = site.open()
    app = name("team/app")
    assert store.tagged(app, ImageTag("latest")) in {manifest.digest for manifest in manifests}
    assert len(store.tags(app)) == len(manifests) + 1
    for number, manifest in enumerate(manifests):
        assert store.manifest(app, manifest.digest) == manifest
        assert store.tagged(app, ImageTag(manifest.digest.hex[:20])) == manifest.digest
        assert store.references_layer(app, sha256(b"layer %d" % number))
