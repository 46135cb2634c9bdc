"""RedisFileStore: a registry's state in Redis and its bytes in files, for many processes.

Several ``serve`` processes, on one host or on hosts that share the data directory (a
network file system), answer the same uploads: the state is in one Redis server, the
bytes in the shared directory (:mod:`.data_directory`), and each swap is a Redis
transaction, ``WATCH`` on the upload's key, a check of the revision and latest part
read, then ``MULTI``/``EXEC``, which does nothing if another process changed the upload
meanwhile: the registry then decides again, and a part another process stored first is
refused with ``lastValidByteReceived``, as ECR refuses a re-sent part.

Keys, under a prefix (``ecr_upload_model`` by default):

- ``<prefix>:repositories``: a set of repository names;
- ``<prefix>:layers:<repository>``: a hash from ``algorithm:hex`` (lower case) to the
  layer's digest as completed and its size (JSON);
- ``<prefix>:upload:<upload id>``: the upload's session snapshot, the time of its last
  accepted call and the file of its latest part (JSON);
- ``<prefix>:parts:<upload id>``: a list of the files of its parts, in order;
- ``<prefix>:touched``: a sorted set of upload ids by the time of their last call;
- ``<prefix>:manifests:<repository>``: a hash from a manifest's digest (lower case) to
  its media type and its bytes in base64 (JSON);
- ``<prefix>:tags:<repository>``: a hash from a tag to the digest of its manifest;
- ``<prefix>:referenced:<repository>``: a set of the digests (lower case) of the layers
  the repository's manifests name;
- ``<prefix>:state``: the state's id, which names its part of the data directory.

Durable as the Redis server is: run it with ``appendonly yes`` and ``appendfsync
always`` for an accepted part to survive the Redis server's crash as well.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import urllib.parse
from pathlib import Path
from typing import ClassVar, Final

import redis

from ..errors import ServerException, UsageError
from ..identifiers import LayerDigest, RepositoryGrammar, RepositoryName, UploadId
from ..manifests import ImageTag, Manifest
from ..registry import Completion, HeldLayer, HeldRepository, HeldUpload, Removal
from ..session import UploadSession
from .data_directory import DataDirectory
from .file_store import FileStore, answered, canonical, last_part, load_manifest, unreadable

__all__ = ["DEFAULT_PREFIX", "RedisFileStore"]

#: The keys' prefix unless told otherwise.
DEFAULT_PREFIX: Final = "ecr_upload_model"


def _without_password(url: str) -> str:
    """The URL as a message may show it."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urllib.parse.urlunsplit(parts._replace(netloc=user + netloc))


class RedisFileStore(FileStore):
    """A durable :class:`~ecr_upload_model.registry.RegistryStore`: Redis and files.

    ``url`` is the Redis server's (``redis://HOST:PORT/DB``, ``rediss://`` or
    ``unix://``, as redis-py reads them); ``directory`` (created if missing) holds the
    bytes, and must be the same for every process that shares the state. A server that
    cannot be reached, or a directory that cannot be used, is refused with UsageError;
    a failure while serving is ServerException. Close the store when done (or use it
    in ``with``). ``prefix`` starts every key (registries may share a Redis database).
    """

    faults: ClassVar[tuple[type[BaseException], ...]] = (OSError, redis.RedisError)

    def __init__(self, url: str, directory: Path | str, *, prefix: str = DEFAULT_PREFIX) -> None:
        if not isinstance(url, str):
            raise UsageError(f"url must be a Redis URL, not {url!r}")
        if not isinstance(directory, (str, os.PathLike)):
            raise UsageError(f"directory must be a path, not {directory!r}")
        if type(prefix) is not str or not prefix:
            raise UsageError(f"prefix must be a non-empty str, not {prefix!r}")
        self._prefix = prefix
        shown = _without_password(url)
        parts = urllib.parse.urlsplit(url)
        database = parts.path.strip("/") if parts.scheme != "unix" else ""  # unix: a socket
        if database and not database.isdigit():  # redis-py would take database 0
            raise UsageError(f"the database in {shown!r} must be a number (redis://HOST:PORT/DB)")
        try:
            self._redis = redis.Redis.from_url(url, decode_responses=True)
        except ValueError as error:  # redis-py's word for a URL it cannot read
            raise UsageError(f"{shown!r} is not a Redis URL: {error}") from None
        try:
            self._redis.ping()
        except redis.RedisError as error:
            self._redis.close()
            raise UsageError(f"cannot reach Redis at {shown}: {error}") from error
        try:
            super().__init__(DataDirectory(Path(directory), state=f"redis-{self._state()}"))
            self._sweep()
        except BaseException as error:
            self._redis.close()
            if isinstance(error, (OSError, redis.RedisError)):
                raise UsageError(
                    f"cannot keep a registry in {str(directory)!r} with Redis at {shown}: {error}"
                ) from error
            raise

    def _state(self) -> str:
        """The id of the state under this prefix, made by the first process to ask."""
        key = self._key("state")
        self._redis.set(key, os.urandom(8).hex(), nx=True)
        return str(self._redis.get(key))

    def close(self) -> None:
        self._redis.close()

    def __enter__(self) -> RedisFileStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -----------------------------------------------------------------------------------
    # Keys and values

    def _key(self, *names: str) -> str:
        return ":".join((self._prefix, *names))

    def _images(self, repository: RepositoryName) -> tuple[str, str, str]:
        """The keys of a repository's manifests, tags and the layers they name."""
        name = str(repository)
        return self._key("manifests", name), self._key("tags", name), self._key("referenced", name)

    @staticmethod
    def _upload_value(session: UploadSession, now: float, part: str | None) -> str:
        return json.dumps(
            {"session": session.to_snapshot(), "touchedAt": now, "lastPart": part},
            separators=(",", ":"),
        )

    @staticmethod
    def _is(upload_id: str, value: str | bytes | None, held: HeldUpload) -> bool:
        """Whether an upload's stored value is still ``held``: the swap's condition."""
        if value is None:
            return False
        session, _, part = _read(upload_id, value)
        return session.revision == held.session.revision and part == last_part(held)

    # -----------------------------------------------------------------------------------
    # Repositories

    # One hash: each repository's name and its creation time.

    @answered
    def add_repository(self, name: RepositoryName, created_at: float) -> bool:
        return bool(self._redis.hsetnx(self._key("repositories"), str(name), repr(created_at)))

    @answered
    def has_repository(self, name: RepositoryName) -> bool:
        return bool(self._redis.hexists(self._key("repositories"), str(name)))

    @answered
    def repository(self, name: RepositoryName) -> HeldRepository | None:
        created_at = self._redis.hget(self._key("repositories"), str(name))
        if created_at is None:
            return None
        return HeldRepository(name, float(created_at))

    @answered
    def repositories(self) -> list[RepositoryName]:
        names: list[str] = self._redis.hkeys(self._key("repositories"))  # type: ignore[assignment]
        # Each name was valid when it was added; the OCI grammar admits both grammars'.
        return [RepositoryName(name, grammar=RepositoryGrammar.OCI) for name in sorted(names)]

    @answered
    def remove_repository(self, name: RepositoryName, *, force: bool) -> Removal:
        repositories, layers = self._key("repositories"), self._key("layers", str(name))
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    _watch(pipe, repositories, layers)
                    found = bool(pipe.hexists(repositories, str(name)))
                    if not found or (not force and pipe.exists(layers)):
                        if _unchanged(pipe):  # what was read held at once
                            return Removal.NOT_EMPTY if found else Removal.NOT_FOUND
                        continue
                    pipe.multi()
                    pipe.hdel(repositories, str(name))
                    # Its layers' files stay: other repositories may hold the same bytes.
                    pipe.delete(layers, *self._images(name))
                    pipe.execute()
                    return Removal.REMOVED
                except redis.WatchError:
                    continue  # changed meanwhile: look again

    # -----------------------------------------------------------------------------------
    # Uploads

    @answered
    def add_upload(self, session: UploadSession, now: float) -> bool:
        upload_id = str(session.upload_id)
        key = self._key("upload", upload_id)
        with self._redis.pipeline() as pipe:
            try:
                _watch(pipe, key)
                if pipe.exists(key):
                    return False
                pipe.multi()
                pipe.set(key, self._upload_value(session, now, None))
                pipe.zadd(self._key("touched"), {upload_id: now})
                pipe.execute()
            except redis.WatchError:
                return False  # another call stored that id meanwhile
        return True

    @answered
    def upload(self, upload_id: UploadId) -> HeldUpload | None:
        value = self._redis.get(self._key("upload", str(upload_id)))
        if value is None:
            return None
        session, touched_at, part = _read(str(upload_id), value)
        return HeldUpload(session, touched_at, part)

    def _swap_part(self, held: HeldUpload, following: UploadSession, part: str, now: float) -> bool:
        upload_id = str(following.upload_id)
        key = self._key("upload", upload_id)
        with self._redis.pipeline() as pipe:
            try:
                _watch(pipe, key)
                if not self._is(upload_id, pipe.get(key), held):
                    return False
                pipe.multi()
                pipe.set(key, self._upload_value(following, now, part))
                pipe.rpush(self._key("parts", upload_id), part)
                pipe.zadd(self._key("touched"), {upload_id: now})
                pipe.execute()
            except redis.WatchError:
                return False
        return True

    def _still_held(self, held: HeldUpload) -> bool:
        upload_id = str(held.session.upload_id)
        return self._is(upload_id, self._redis.get(self._key("upload", upload_id)), held)

    def _parts(self, held: HeldUpload) -> list[str] | None:
        upload_id = str(held.session.upload_id)
        with self._redis.pipeline() as pipe:  # MULTI/EXEC: one consistent read
            pipe.get(self._key("upload", upload_id))
            pipe.lrange(self._key("parts", upload_id), 0, -1)
            value, parts = pipe.execute()
        return list(parts) if self._is(upload_id, value, held) else None

    def _swap_completion(
        self, held: HeldUpload, following: UploadSession, now: float
    ) -> Completion:
        digest = following.layer_digest
        assert digest is not None
        upload_id, repository = str(following.upload_id), str(following.repository_name)
        key, layers = self._key("upload", upload_id), self._key("layers", repository)
        with self._redis.pipeline() as pipe:
            try:
                _watch(pipe, key, self._key("repositories"), layers)
                if not self._is(upload_id, pipe.get(key), held) or not pipe.hexists(
                    self._key("repositories"), repository
                ):
                    return Completion.RACE_LOST  # deciding again finds what changed
                if pipe.hexists(layers, canonical(digest)):
                    # Only if the upload was still held when the layer was seen.
                    return Completion.LAYER_EXISTS if _unchanged(pipe) else Completion.RACE_LOST
                pipe.multi()
                pipe.hset(
                    layers, canonical(digest), json.dumps([str(digest), following.bytes_received])
                )
                pipe.set(key, self._upload_value(following, now, None))
                pipe.delete(self._key("parts", upload_id))
                pipe.zadd(self._key("touched"), {upload_id: now})
                pipe.execute()
            except redis.WatchError:
                return Completion.RACE_LOST
        return Completion.DONE

    def _forget(self, cutoff: float) -> list[tuple[str, str | None]]:
        touched = self._key("touched")
        forgotten: list[tuple[str, str | None]] = []
        idle: list[str] = self._redis.zrangebyscore(touched, "-inf", cutoff)  # type: ignore[assignment]
        for upload_id in idle:
            key = self._key("upload", upload_id)
            with self._redis.pipeline() as pipe:
                try:
                    _watch(pipe, key)
                    value = pipe.get(key)
                    stored = None if value is None else _read(upload_id, value)
                    if stored is not None and stored[1] > cutoff:
                        continue  # touched meanwhile
                    pipe.multi()
                    pipe.delete(key, self._key("parts", upload_id))
                    pipe.zrem(touched, upload_id)
                    pipe.execute()
                except redis.WatchError:
                    continue  # touched or forgotten meanwhile
            if stored is not None:
                forgotten.append((upload_id, stored[2]))
        return forgotten

    # -----------------------------------------------------------------------------------
    # Layers

    @answered
    def layer(self, repository: RepositoryName, digest: LayerDigest) -> HeldLayer | None:
        value = self._redis.hget(self._key("layers", str(repository)), canonical(digest))
        if value is None:
            return None
        text, size = json.loads(value)
        return HeldLayer(LayerDigest(text), size)

    def _forget_upload(self, held: HeldUpload) -> bool:
        upload_id = str(held.session.upload_id)
        key = self._key("upload", upload_id)
        with self._redis.pipeline() as pipe:
            try:
                _watch(pipe, key)
                if not self._is(upload_id, pipe.get(key), held):
                    return False
                pipe.multi()
                pipe.delete(key, self._key("parts", upload_id))
                pipe.zrem(self._key("touched"), upload_id)
                pipe.execute()
            except redis.WatchError:
                return False
        return True

    def _add_layer(self, repository: RepositoryName, layer: HeldLayer) -> bool:
        return self._name_layer(repository, layer) is not None

    def _name_layer(self, repository: RepositoryName, layer: HeldLayer) -> HeldLayer | None:
        """Names ``layer`` as a layer of ``repository`` unless one of its digest is held:
        the layer it holds then; None if the repository does not exist."""
        repositories, layers = self._key("repositories"), self._key("layers", str(repository))
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    _watch(pipe, repositories, layers)
                    if not pipe.hexists(repositories, str(repository)):
                        if _unchanged(pipe):
                            return None
                        continue
                    pipe.multi()
                    pipe.hsetnx(
                        layers, canonical(layer.digest), json.dumps([str(layer.digest), layer.size])
                    )
                    pipe.hget(layers, canonical(layer.digest))
                    _, value = pipe.execute()
                    text, size = json.loads(value)
                    return HeldLayer(LayerDigest(text), size)
                except redis.WatchError:
                    continue  # changed meanwhile: look again

    @answered
    def mount_layer(
        self, source: RepositoryName, target: RepositoryName, digest: LayerDigest
    ) -> HeldLayer | None:
        # A source's layer, once held, stays until its repository goes; a mount racing
        # that removal may name the layer in the target: its file is still there (the
        # files are content-addressed and never removed with a repository).
        layer = self.layer(source, digest)
        return None if layer is None else self._name_layer(target, layer)

    # -----------------------------------------------------------------------------------
    # Manifests and tags

    @answered
    def put_manifest(
        self, repository: RepositoryName, manifest: Manifest, tag: ImageTag | None
    ) -> bool:
        repositories = self._key("repositories")
        manifests, tags, referenced = self._images(repository)
        key = canonical(manifest.digest)
        value = json.dumps(
            [manifest.media_type, base64.b64encode(manifest.content).decode("ascii")]
        )
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    _watch(pipe, repositories)
                    if not pipe.hexists(repositories, str(repository)):
                        if _unchanged(pipe):
                            return False
                        continue
                    pipe.multi()
                    # The same digest is the same bytes: one held already names these too.
                    pipe.hsetnx(manifests, key, value)
                    if manifest.blobs:
                        pipe.sadd(referenced, *(canonical(blob) for blob in manifest.blobs))
                    if tag is not None:
                        pipe.hset(tags, str(tag), key)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue  # changed meanwhile: look again

    @answered
    def manifest(self, repository: RepositoryName, digest: LayerDigest) -> Manifest | None:
        value = self._redis.hget(self._images(repository)[0], canonical(digest))
        if value is None:
            return None
        try:
            media_type, content = json.loads(value)
            return load_manifest(base64.b64decode(content, validate=True), media_type)
        except (ValueError, TypeError, binascii.Error) as error:
            raise ServerException(
                f"The registry's store holds an unreadable manifest {canonical(digest)}"
            ) from error

    @answered
    def tagged(self, repository: RepositoryName, tag: ImageTag) -> LayerDigest | None:
        value = self._redis.hget(self._images(repository)[1], str(tag))
        return None if value is None else LayerDigest(str(value))

    @answered
    def tags(self, repository: RepositoryName) -> list[ImageTag]:
        names: list[str] = self._redis.hkeys(self._images(repository)[1])  # type: ignore[assignment]
        return [ImageTag(name) for name in sorted(names, key=lambda name: name.encode())]

    @answered
    def references_layer(self, repository: RepositoryName, digest: LayerDigest) -> bool:
        return bool(self._redis.sismember(self._images(repository)[2], canonical(digest)))


def _read(upload_id: str, value: str | bytes) -> tuple[UploadSession, float, str | None]:
    """An upload's stored value: its session, the time it was touched, its latest part."""
    try:
        stored = json.loads(value)
        session = UploadSession.from_snapshot(stored["session"])
        touched_at, part = stored["touchedAt"], stored["lastPart"]
        if type(touched_at) not in (int, float) or not (part is None or type(part) is str):
            raise TypeError("touchedAt or lastPart")
    except (ValueError, KeyError, TypeError) as error:
        raise unreadable(upload_id) from error
    return session, float(touched_at), part


def _watch(pipe: redis.client.Pipeline, *keys: str) -> None:
    """WATCHes ``keys``: the pipeline's EXEC then does nothing if one changes first."""
    pipe.watch(*keys)  # type: ignore[no-untyped-call]  # redis-py leaves it bare


def _unchanged(pipe: redis.client.Pipeline) -> bool:
    """Whether the keys the pipeline watches are unchanged since WATCH: then what it read
    since holds at this moment, as one snapshot (an empty MULTI/EXEC checks it)."""
    pipe.multi()
    try:
        pipe.execute()
    except redis.WatchError:
        return False
    return True
