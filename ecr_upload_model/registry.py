"""Registry: the reference registry that answers the four operations by ECR's rules.

It plays the server in tests and on the command line, and a threaded server can share
one: repositories, upload sessions by upload id (each with the digest of the bytes it
accepted), and the layers each repository holds with their sizes. The rules live here;
the state lives in a :class:`RegistryStore` (:class:`MemoryStore` by default; the
server's durable stores implement the same protocol).

**Threads.** Every method of :class:`Registry` may be called from any number of threads
at once. A call on an upload reads the upload, lets its session decide, and asks the
store to swap in the next session *only if the upload is still the one it read* (a
compare-and-swap on the session's revision, as a store shared by processes decides
races). A call that loses the swap decides again against what won: a part sent twice
at the same moment is accepted once, and the other sending is refused with
``lastValidByteReceived``, exactly as if it had come second. A refused call changes
nothing. Calls on different uploads never wait for each other's hashing.

**Expiry.** Given a ``clock`` (seconds, e.g. ``time.monotonic``), an upload with no
accepted call for ``idle_seconds`` is forgotten and answers UploadNotFound, completed or
not. Without a clock nothing expires (the model reads no time of its own).

Answers come in the order of docs/ecr-layer-upload.md (section 7): RepositoryNotFound, then
UploadNotFound, then the session's part or completion rules, then LayerAlreadyExists.

>>> registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
>>> repository = registry.create_repository("team/app")
>>> started = registry.initiate_layer_upload(InitiateLayerUploadRequest(repository_name=repository))
>>> str(started.upload_id)
'00000000-0000-0000-0000-000000000000'
"""

from __future__ import annotations

import collections
import datetime
import enum
import hashlib
import io
import itertools
import secrets
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Final, Protocol

import attrs

from .authorization import authorization_token, issue_password, verify_password
from .errors import (
    ImageDigestDoesNotMatchException,
    ImageNotFoundException,
    InvalidLayerException,
    InvalidParameterException,
    LayerAlreadyExistsException,
    LayersNotFoundException,
    ReferencedImagesNotFoundException,
    RepositoryAlreadyExistsException,
    RepositoryNotEmptyException,
    RepositoryNotFoundException,
    UploadNotFoundException,
    UsageError,
)
from .identifiers import LayerDigest, RegistryId, RepositoryGrammar, RepositoryName, UploadId
from .limits import API_LIMITS, AUTHORIZATION_TOKEN_SECONDS, DEFAULT_DESCRIBE_RESULTS, Limits
from .manifests import ImageTag, Manifest
from .operations import (
    AuthorizationData,
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    CreateRepositoryRequest,
    CreateRepositoryResponse,
    DeleteRepositoryRequest,
    DeleteRepositoryResponse,
    DescribeRepositoriesRequest,
    DescribeRepositoriesResponse,
    GetAuthorizationTokenRequest,
    GetAuthorizationTokenResponse,
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    Layer,
    LayerAvailability,
    LayerFailure,
    LayerFailureCode,
    Repository,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
)
from .session import UploadSession

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = [
    "DEFAULT_IDLE_SECONDS",
    "DEFAULT_REGION",
    "EMPTY_LAYER_DIGEST",
    "Completion",
    "HeldLayer",
    "HeldRepository",
    "HeldUpload",
    "MemoryStore",
    "Registry",
    "RegistryStore",
    "Removal",
    "random_upload_ids",
    "sequential_upload_ids",
]

#: The region of a registry's repository ARNs when none is given.
DEFAULT_REGION: Final = "us-east-1"

#: How long an upload may go without an accepted call before it is forgotten: 12 hours,
#: the life of an ECR authorization token (a push idle for longer has lost the
#: credentials it started with). ECR documents no expiry of its own; the package's
#: choice, far above any pause between the parts of a live push.
DEFAULT_IDLE_SECONDS: Final = 12 * 60 * 60.0


#: The digest of the 0-byte layer.
EMPTY_LAYER_DIGEST: Final = LayerDigest.sha256(hashlib.sha256(b"").hexdigest())


def random_upload_ids() -> UploadId:
    """A new random (uuid4) upload id: the registry's default, and its one randomness."""
    return UploadId(str(uuid.uuid4()))


def sequential_upload_ids(start: int = 0) -> Callable[[], UploadId]:
    """Upload ids that are the same on every run: the UUIDs numbered ``start``, ``start + 1``...

    Safe to share between threads (each id is handed out once).

    >>> ids = sequential_upload_ids(start=10)
    >>> str(ids()), str(ids())
    ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-00000000000b')
    """
    if type(start) is not int or start < 0:
        raise UsageError(f"start must be a non-negative int, not {start!r}")
    numbers = itertools.count(start)  # next() of a count is atomic under the GIL
    lock = threading.Lock()  # ...but not on free-threaded builds

    def next_upload_id() -> UploadId:
        with lock:
            number = next(numbers)
        # uuid.UUID refuses a number of more than 128 bits with ValueError.
        try:
            return UploadId(str(uuid.UUID(int=number)))
        except ValueError:
            raise UsageError("sequential upload ids are exhausted (128 bits)") from None

    return next_upload_id


def _canonical(digest: LayerDigest) -> tuple[str, str]:
    """Two digests match (:meth:`LayerDigest.matches`) exactly when these are equal."""
    return digest.algorithm, digest.hex.lower()


# ---------------------------------------------------------------------------------------
# The store: where a registry keeps its state


@attrs.frozen
class HeldUpload:
    """An upload as a store holds it at one moment: what a swap is conditional on.

    ``token`` is the store's own (a running hash, a file position): the registry never
    looks at it, and hands the whole value back to :meth:`RegistryStore.append_part`
    and :meth:`RegistryStore.complete`.
    """

    session: UploadSession
    #: The clock's time of the upload's last accepted call (its start, at first).
    touched_at: float
    token: object = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class HeldRepository:
    """A repository as a store holds it: its name and when it was created."""

    name: RepositoryName
    #: The registry clock's time of its creation (seconds since the epoch for a wall clock).
    created_at: float


@attrs.frozen
class HeldLayer:
    """A layer a repository holds: its digest as it was completed, and its size."""

    digest: LayerDigest
    size: int


class Completion(enum.Enum):
    """What :meth:`RegistryStore.complete` did."""

    #: The layer is stored and the upload completed, as one step.
    DONE = enum.auto()
    #: The repository already holds a layer of that digest: nothing changed.
    LAYER_EXISTS = enum.auto()
    #: The upload is no longer the one read (another call won): nothing changed.
    RACE_LOST = enum.auto()


class Removal(enum.Enum):
    """What :meth:`RegistryStore.remove_repository` did."""

    REMOVED = enum.auto()
    NOT_FOUND = enum.auto()
    #: The repository holds layers and removal was not forced: nothing changed.
    NOT_EMPTY = enum.auto()


class RegistryStore(Protocol):
    """The state of a registry. Each method is atomic; the registry holds the rules.

    The swaps (:meth:`append_part`, :meth:`complete`) succeed only while the upload is
    still ``held`` (same session revision, not forgotten): that is how concurrent calls
    are ordered, in one process or many.
    """

    def add_repository(self, name: RepositoryName, created_at: float) -> bool:
        """Adds an empty repository created at ``created_at``; False (and nothing
        changes) if it exists."""

    def has_repository(self, name: RepositoryName) -> bool: ...

    def repository(self, name: RepositoryName) -> HeldRepository | None:
        """The repository of that name, with its creation time, if there is one."""

    def repositories(self) -> list[RepositoryName]:
        """Every repository, in the order of their names."""

    def remove_repository(self, name: RepositoryName, *, force: bool) -> Removal:
        """Removes a repository with its layers (only an empty one unless ``force``)."""

    def add_upload(self, session: UploadSession, now: float) -> bool:
        """Stores a new upload; False (and nothing changes) if its id is taken."""

    def upload(self, upload_id: UploadId) -> HeldUpload | None:
        """The upload as held now, or None if there is none (or it was forgotten)."""

    def append_part(
        self, held: HeldUpload, following: UploadSession, blob: memoryview, now: float
    ) -> bool:
        """Appends ``blob`` to the upload's bytes and stores ``following``, as one step,
        if the upload is still ``held``; else False, and nothing changes."""

    def layer_digest(self, held: HeldUpload) -> LayerDigest | None:
        """The sha256 digest of the bytes ``held`` holds; None if the upload is no longer
        ``held`` (a store that reads the bytes back can find them gone)."""

    def complete(self, held: HeldUpload, following: UploadSession, now: float) -> Completion:
        """If the upload is still ``held`` and its repository holds no layer of the
        digest ``following`` completed as: stores that layer (with the upload's size)
        and ``following``, as one step."""

    def layer(self, repository: RepositoryName, digest: LayerDigest) -> HeldLayer | None:
        """The layer of ``repository`` that matches ``digest`` (hex case aside), if any."""

    def forget_idle(self, cutoff: float) -> int:
        """Forgets every upload last touched at or before ``cutoff``; returns how many."""

    # -- OCI: layer bytes and manifests (what the /v2/ front end needs besides) --------

    def open_layer(self, repository: RepositoryName, digest: LayerDigest) -> BinaryIO | None:
        """The bytes of the layer of ``repository`` that matches ``digest``, as a binary
        file open for reading (the caller closes it); None if the repository holds no
        such layer, or the store keeps no layer bytes."""

    def remove_upload(self, held: HeldUpload) -> bool:
        """Forgets the upload and the bytes it holds if it is still ``held``; else False,
        and nothing changes."""

    def add_empty_layer(self, repository: RepositoryName) -> bool:
        """Makes the 0-byte layer (:data:`EMPTY_LAYER_DIGEST`) a layer of ``repository``
        (one already held stays as it is); False if the repository does not exist."""

    def mount_layer(
        self, source: RepositoryName, target: RepositoryName, digest: LayerDigest
    ) -> HeldLayer | None:
        """Makes the layer of ``source`` that matches ``digest`` a layer of ``target`` too
        (the same bytes), as one step: the layer as ``target`` holds it now, or None (and
        nothing changes) if ``source`` holds no such layer or ``target`` does not exist."""

    def put_manifest(
        self, repository: RepositoryName, manifest: Manifest, tag: ImageTag | None
    ) -> bool:
        """Stores ``manifest`` in ``repository`` (one held already is kept) and points
        ``tag``, if given, at it (away from any other), as one step; False if the
        repository does not exist."""

    def manifest(self, repository: RepositoryName, digest: LayerDigest) -> Manifest | None:
        """The manifest of ``repository`` whose digest matches ``digest``, if any."""

    def tagged(self, repository: RepositoryName, tag: ImageTag) -> LayerDigest | None:
        """The digest of the manifest ``tag`` points at in ``repository``, if any."""

    def tags(self, repository: RepositoryName) -> list[ImageTag]:
        """The tags of ``repository`` in the order of their text (byte order)."""

    def references_layer(self, repository: RepositoryName, digest: LayerDigest) -> bool:
        """Whether a manifest of ``repository`` names the layer ``digest`` (as its config
        or a layer)."""


@attrs.frozen
class _Running:
    """MemoryStore's token: the sha256 of the bytes held, never updated in place."""

    hasher: _Hash
    #: The parts' bytes, kept when the store keeps layer bytes.
    parts: tuple[bytes, ...] = ()


@attrs.define
class _Images:
    """MemoryStore's manifests of one repository."""

    manifests: dict[tuple[str, str], Manifest] = attrs.Factory(dict)
    tags: dict[ImageTag, LayerDigest] = attrs.Factory(dict)
    #: The layers its manifests name.
    referenced: set[tuple[str, str]] = attrs.Factory(set)


class MemoryStore:
    """A :class:`RegistryStore` in this process's memory, for any number of threads.

    By default it keeps no part's bytes, only each upload's running sha256; with
    ``keep_layers=True`` it keeps them too, and a completed layer's bytes can be read
    back (:meth:`open_layer`, what a ``/v2/`` pull needs). A swap hashes the part into a
    copy of the held hash *before* taking the lock (hashing a large buffer releases the
    GIL, so other uploads go on meanwhile), and under the lock stores the copy only if
    the upload is still the one read: the lock is held for a few dict operations, never
    for hashing.
    """

    def __init__(self, *, keep_layers: bool = False) -> None:
        if type(keep_layers) is not bool:
            raise UsageError(f"keep_layers must be a bool, not {keep_layers!r}")
        self._lock = threading.Lock()
        self._repositories: dict[RepositoryName, dict[tuple[str, str], HeldLayer]] = {}
        self._created_at: dict[RepositoryName, float] = {}
        #: Uploads from the least to the most recently touched (what expiry sweeps).
        self._uploads: collections.OrderedDict[UploadId, HeldUpload] = collections.OrderedDict()
        self._keep_layers = keep_layers
        #: With ``keep_layers``: the bytes of each repository's layers (shared by mounts).
        self._layer_bytes: dict[RepositoryName, dict[tuple[str, str], bytes]] = {}
        self._images: dict[RepositoryName, _Images] = {}

    def add_repository(self, name: RepositoryName, created_at: float) -> bool:
        with self._lock:
            if name in self._repositories:
                return False
            self._repositories[name] = {}
            self._created_at[name] = created_at
            return True

    def has_repository(self, name: RepositoryName) -> bool:
        return name in self._repositories

    def repository(self, name: RepositoryName) -> HeldRepository | None:
        created_at = self._created_at.get(name)
        return None if created_at is None else HeldRepository(name, created_at)

    def repositories(self) -> list[RepositoryName]:
        return sorted(self._repositories, key=str)

    def remove_repository(self, name: RepositoryName, *, force: bool) -> Removal:
        with self._lock:
            layers = self._repositories.get(name)
            if layers is None:
                return Removal.NOT_FOUND
            if layers and not force:
                return Removal.NOT_EMPTY
            del self._repositories[name]
            del self._created_at[name]
            self._layer_bytes.pop(name, None)
            self._images.pop(name, None)
            return Removal.REMOVED

    def add_upload(self, session: UploadSession, now: float) -> bool:
        with self._lock:
            if session.upload_id in self._uploads:
                return False
            self._uploads[session.upload_id] = HeldUpload(session, now, _Running(hashlib.sha256()))
            return True

    def upload(self, upload_id: UploadId) -> HeldUpload | None:
        return self._uploads.get(upload_id)

    def _swap(self, held: HeldUpload, following: HeldUpload) -> bool:
        """Under the lock: replaces ``held`` by ``following`` if it is still there."""
        upload_id = held.session.upload_id
        if self._uploads.get(upload_id) is not held:
            return False
        self._uploads[upload_id] = following
        self._uploads.move_to_end(upload_id)
        return True

    def append_part(
        self, held: HeldUpload, following: UploadSession, blob: memoryview, now: float
    ) -> bool:
        assert isinstance(held.token, _Running)
        hasher = held.token.hasher.copy()
        hasher.update(blob)
        parts = (*held.token.parts, bytes(blob)) if self._keep_layers else ()
        with self._lock:
            return self._swap(held, HeldUpload(following, now, _Running(hasher, parts)))

    def layer_digest(self, held: HeldUpload) -> LayerDigest | None:
        if held.session.layer_digest is not None:  # completed: the hash is gone
            return held.session.layer_digest
        assert isinstance(held.token, _Running)
        return LayerDigest.sha256(held.token.hasher.hexdigest())

    def complete(self, held: HeldUpload, following: UploadSession, now: float) -> Completion:
        assert following.layer_digest is not None
        key = _canonical(following.layer_digest)
        # Joined outside the lock: a copy of the whole layer takes a while.
        content = (
            b"".join(held.token.parts)
            if self._keep_layers and isinstance(held.token, _Running)
            else None
        )
        with self._lock:
            layers = self._repositories.get(following.repository_name)
            if layers is None or self._uploads.get(following.upload_id) is not held:
                return Completion.RACE_LOST  # deciding again finds what changed
            if key in layers:
                return Completion.LAYER_EXISTS
            layers[key] = HeldLayer(following.layer_digest, following.bytes_received)
            if content is not None:
                self._layer_bytes.setdefault(following.repository_name, {})[key] = content
            # A completed upload needs no hash: it answers UploadNotFound from now on.
            self._swap(held, HeldUpload(following, now))
            return Completion.DONE

    def layer(self, repository: RepositoryName, digest: LayerDigest) -> HeldLayer | None:
        layers = self._repositories.get(repository)
        return None if layers is None else layers.get(_canonical(digest))

    def forget_idle(self, cutoff: float) -> int:
        forgotten = 0
        with self._lock:
            # Oldest first: the sweep stops at the first upload still in use, so its
            # cost is the number forgotten (plus one).
            while self._uploads:
                upload_id, held = next(iter(self._uploads.items()))
                if held.touched_at > cutoff:
                    break
                del self._uploads[upload_id]
                forgotten += 1
            if forgotten > len(self._uploads):
                # A dict never shrinks its table: copy it once most of it is gone, so
                # that a burst of abandoned uploads does not hold memory for good.
                self._uploads = collections.OrderedDict(self._uploads)
        return forgotten

    # -- OCI: layer bytes and manifests ------------------------------------------------

    def open_layer(self, repository: RepositoryName, digest: LayerDigest) -> BinaryIO | None:
        content = self._layer_bytes.get(repository, {}).get(_canonical(digest))
        # BytesIO over bytes shares them until written to: opening copies nothing.
        return None if content is None else io.BytesIO(content)

    def remove_upload(self, held: HeldUpload) -> bool:
        with self._lock:
            if self._uploads.get(held.session.upload_id) is not held:
                return False
            del self._uploads[held.session.upload_id]
            return True

    def add_empty_layer(self, repository: RepositoryName) -> bool:
        key = _canonical(EMPTY_LAYER_DIGEST)
        with self._lock:
            layers = self._repositories.get(repository)
            if layers is None:
                return False
            if key not in layers:
                layers[key] = HeldLayer(EMPTY_LAYER_DIGEST, 0)
                if self._keep_layers:
                    self._layer_bytes.setdefault(repository, {})[key] = b""
            return True

    def mount_layer(
        self, source: RepositoryName, target: RepositoryName, digest: LayerDigest
    ) -> HeldLayer | None:
        key = _canonical(digest)
        with self._lock:
            layer = self._repositories.get(source, {}).get(key)
            layers = self._repositories.get(target)
            if layer is None or layers is None:
                return None
            if key not in layers:
                layers[key] = layer
                content = self._layer_bytes.get(source, {}).get(key)
                if content is not None:
                    self._layer_bytes.setdefault(target, {})[key] = content
            return layers[key]

    def put_manifest(
        self, repository: RepositoryName, manifest: Manifest, tag: ImageTag | None
    ) -> bool:
        key = _canonical(manifest.digest)
        with self._lock:
            if repository not in self._repositories:
                return False
            images = self._images.setdefault(repository, _Images())
            held = images.manifests.setdefault(key, manifest)
            images.referenced.update(map(_canonical, held.blobs))
            if tag is not None:
                images.tags[tag] = held.digest
            return True

    def manifest(self, repository: RepositoryName, digest: LayerDigest) -> Manifest | None:
        images = self._images.get(repository)
        return None if images is None else images.manifests.get(_canonical(digest))

    def tagged(self, repository: RepositoryName, tag: ImageTag) -> LayerDigest | None:
        images = self._images.get(repository)
        return None if images is None else images.tags.get(tag)

    def tags(self, repository: RepositoryName) -> list[ImageTag]:
        with self._lock:
            images = self._images.get(repository)
            return [] if images is None else sorted(images.tags, key=str)

    def references_layer(self, repository: RepositoryName, digest: LayerDigest) -> bool:
        images = self._images.get(repository)
        return images is not None and _canonical(digest) in images.referenced


# ---------------------------------------------------------------------------------------
# The registry


class Registry:
    """The reference registry: ECR's rules over a :class:`RegistryStore`; thread-safe.

    ``registry_id`` is the account a request without ``registryId`` addresses; a request
    naming another registry finds no repository here. ``upload_id_factory`` gives each
    new upload its id (uuid4 by default; :func:`sequential_upload_ids` for replays).
    ``store`` keeps the state (a new :class:`MemoryStore` by default). ``clock`` (seconds;
    ``None``: nothing expires) and ``idle_seconds`` decide when an upload is forgotten.

    The repository operations describe a repository by its ARN (in ``region``) and its
    URI under ``proxy_endpoint`` (the URL a container client pushes to; ECR's own form by
    default), with its creation time and the expiry of a login token read from ``clock``
    as seconds since the epoch (so give a wall clock, such as ``time.time``, to a
    registry that answers them; without a clock every time is the epoch).
    GetAuthorizationToken signs its passwords with ``token_secret`` (a random one of
    this registry alone by default): registries given the same secret accept each
    other's passwords (:meth:`verify_password`).
    """

    def __init__(
        self,
        registry_id: RegistryId | str,
        *,
        limits: Limits = API_LIMITS,
        grammar: RepositoryGrammar = RepositoryGrammar.SEED,
        upload_id_factory: Callable[[], UploadId] = random_upload_ids,
        store: RegistryStore | None = None,
        clock: Callable[[], float] | None = None,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        region: str = DEFAULT_REGION,
        proxy_endpoint: str | None = None,
        token_secret: bytes | None = None,
    ) -> None:
        self.registry_id = (
            registry_id if isinstance(registry_id, RegistryId) else RegistryId(registry_id)
        )
        if not isinstance(limits, Limits):
            raise UsageError(f"limits must be a Limits, not {limits!r}")
        if not isinstance(grammar, RepositoryGrammar):
            raise UsageError(f"grammar must be a RepositoryGrammar, not {grammar!r}")
        if type(idle_seconds) not in (int, float) or not idle_seconds > 0:
            raise UsageError(f"idle_seconds must be a positive number, not {idle_seconds!r}")
        self.limits = limits
        self.grammar = grammar
        self.idle_seconds = float(idle_seconds)
        if type(region) is not str or not region:
            raise UsageError(f"region must be a non-empty str, not {region!r}")
        if token_secret is not None and (type(token_secret) is not bytes or not token_secret):
            raise UsageError("token_secret must be non-empty bytes")
        self._new_upload_id = upload_id_factory
        self._store: RegistryStore = MemoryStore() if store is None else store
        self._clock = clock
        self.region = region
        self.proxy_endpoint = (
            f"https://{self.registry_id}.dkr.ecr.{region}.amazonaws.com"
            if proxy_endpoint is None
            else proxy_endpoint
        )
        self._token_secret = secrets.token_bytes(32) if token_secret is None else token_secret

    def create_repository(self, name: RepositoryName | str) -> RepositoryName:
        """Adds a repository; an existing one is kept as it is, with its layers.

        A name given as text is read by this registry's grammar; a RepositoryName is
        taken as it is.
        """
        repository = (
            name if isinstance(name, RepositoryName) else RepositoryName(name, grammar=self.grammar)
        )
        self._store.add_repository(repository, self._now())
        return repository

    def session(self, upload_id: UploadId) -> UploadSession | None:
        """The session of an upload this registry holds (completed or not), else None."""
        held = self._held(upload_id, self._now())
        return None if held is None else held.session

    def expire(self, now: float) -> int:
        """Forgets the uploads idle for ``idle_seconds`` at ``now``; returns how many.

        The registry does this itself on every InitiateLayerUpload when it has a clock;
        call it to free memory at other times, or to expire without a clock.
        """
        return self._store.forget_idle(now - self.idle_seconds)

    # -----------------------------------------------------------------------------------
    # The four operations

    def initiate_layer_upload(
        self, request: InitiateLayerUploadRequest
    ) -> InitiateLayerUploadResponse:
        """Starts an upload: RepositoryNotFound, or the new upload id and the part size."""
        self._check_repository(request.registry_id, request.repository_name)
        now = self._now()
        if self._clock is not None:
            self.expire(now)  # each new upload pays for forgetting the idle ones
        upload_id = self._new_upload_id()
        session = UploadSession(
            registry_id=self.registry_id,
            repository_name=request.repository_name,
            upload_id=upload_id,
            limits=self.limits,
        )
        if not self._store.add_upload(session, now):
            raise UsageError(f"the upload id factory repeated {upload_id}, an id in use")
        return InitiateLayerUploadResponse(upload_id=upload_id, part_size=self.limits.part_size)

    def upload_layer_part(self, request: UploadLayerPartRequest) -> UploadLayerPartResponse:
        """Accepts the next part of an upload in progress, or raises and changes nothing."""
        blob = memoryview(request.layer_part_blob)
        while True:
            self._check_repository(request.registry_id, request.repository_name)
            now = self._now()
            held = self._open_upload(request.upload_id, request.repository_name, now)
            following, response = held.session.upload_part(request)
            if self._store.append_part(held, following, blob, now):
                return response
            # Another call on this upload (or its repository) changed it meanwhile:
            # decide again, from the repository on.

    def complete_layer_upload(
        self, request: CompleteLayerUploadRequest
    ) -> CompleteLayerUploadResponse:
        """Makes the upload a layer of its repository, or raises and leaves it open."""
        while True:
            self._check_repository(request.registry_id, request.repository_name)
            now = self._now()
            held = self._open_upload(request.upload_id, request.repository_name, now)
            digest = self._store.layer_digest(held)
            if digest is None:
                continue  # the upload changed while the store read its bytes: decide again
            following, response = held.session.complete(request, digest)
            completion = self._store.complete(held, following, now)
            if completion is Completion.DONE:
                return response
            if completion is Completion.LAYER_EXISTS:
                raise LayerAlreadyExistsException(
                    f"The layer '{response.layer_digest}' already exists in the repository "
                    f"'{request.repository_name}' of registry '{self.registry_id}'"
                )
            # Completion.RACE_LOST: decide again after the call that won.

    def batch_check_layer_availability(
        self, request: BatchCheckLayerAvailabilityRequest
    ) -> BatchCheckLayerAvailabilityResponse:
        """For each digest asked, in order: the held layer, or why there is none.

        A digest is answered with its own text, so a client matches answers to questions
        by string; hex letter case does not matter to whether the layer is held.
        """
        self._check_repository(request.registry_id, request.repository_name)
        layers: list[Layer] = []
        failures: list[LayerFailure] = []
        for text in request.layer_digests:
            try:
                digest = LayerDigest(text)
            except InvalidParameterException as error:
                failures.append(
                    LayerFailure(
                        layer_digest=text,
                        failure_code=LayerFailureCode.INVALID_LAYER_DIGEST,
                        failure_reason=f"'{text}' is not a layer digest: {error.message}",
                    )
                )
                continue
            layer = self._store.layer(request.repository_name, digest)
            if layer is None:
                failures.append(
                    LayerFailure(
                        layer_digest=text,
                        failure_code=LayerFailureCode.MISSING_LAYER_DIGEST,
                        failure_reason=(
                            f"The repository '{request.repository_name}' holds no layer "
                            f"with digest '{text}'"
                        ),
                    )
                )
            else:
                layers.append(
                    Layer(
                        layer_digest=digest,
                        layer_availability=LayerAvailability.AVAILABLE,
                        layer_size=layer.size,
                    )
                )
        return BatchCheckLayerAvailabilityResponse(layers=tuple(layers), failures=tuple(failures))

    # -----------------------------------------------------------------------------------
    # The repository operations

    def create_repository_call(self, request: CreateRepositoryRequest) -> CreateRepositoryResponse:
        """CreateRepository: a new empty repository, or RepositoryAlreadyExists.

        (:meth:`create_repository` is the setup helper, which keeps an existing one.)
        """
        self._check_own_registry(request.registry_id, "registryId")
        if not self._store.add_repository(request.repository_name, self._now()):
            raise RepositoryAlreadyExistsException(
                f"The repository with name '{request.repository_name}' already exists in "
                f"the registry with id '{self.registry_id}'"
            )
        return CreateRepositoryResponse(repository=self._described(request.repository_name))

    def describe_repositories(
        self, request: DescribeRepositoriesRequest
    ) -> DescribeRepositoriesResponse:
        """The named repositories in the order named (RepositoryNotFound for the first
        one missing), or a page of all of them in the order of their names."""
        if request.repository_names is not None:
            if request.max_results is not None or request.next_token is not None:
                raise InvalidParameterException(
                    "maxResults and nextToken cannot be used with repositoryNames"
                )
            for name in request.repository_names:
                self._check_repository(request.registry_id, name)
            named = tuple(self._described(name) for name in request.repository_names)
            return DescribeRepositoriesResponse(repositories=named)
        if request.registry_id is not None and request.registry_id != self.registry_id:
            return DescribeRepositoriesResponse(repositories=())
        after = "" if request.next_token is None else self._page_start(request.next_token)
        # Names sort as text: the next page starts after the last name of this one.
        names = [name for name in self._store.repositories() if str(name) > after]
        size = DEFAULT_DESCRIBE_RESULTS if request.max_results is None else request.max_results
        page = tuple(
            described
            for name in names[:size]
            if (described := self._described_if_held(name)) is not None
        )
        more = len(names) > size
        return DescribeRepositoriesResponse(
            repositories=page, next_token=str(names[size - 1]) if more else None
        )

    def delete_repository(self, request: DeleteRepositoryRequest) -> DeleteRepositoryResponse:
        """Deletes a repository with its layers (only an empty one unless ``force``); its
        uploads in progress answer RepositoryNotFound from then on."""
        self._check_repository(request.registry_id, request.repository_name)
        described = self._described(request.repository_name)
        removal = self._store.remove_repository(request.repository_name, force=bool(request.force))
        if removal is Removal.NOT_EMPTY:
            raise RepositoryNotEmptyException(
                f"The repository with name '{request.repository_name}' in registry with id "
                f"'{self.registry_id}' cannot be deleted because it still contains images"
            )
        if removal is Removal.NOT_FOUND:  # another call removed it meanwhile
            raise self._not_found(request.registry_id, request.repository_name)
        return DeleteRepositoryResponse(repository=described)

    def get_authorization_token(
        self, request: GetAuthorizationTokenRequest
    ) -> GetAuthorizationTokenResponse:
        """A password for this registry's /v2/ endpoint, valid for 12 hours, once for each
        time this registry is named (once when none is); another registry's id is
        refused, as this registry can sign for no other."""
        for registry_id in request.registry_ids or ():
            self._check_own_registry(registry_id, "registryIds")
        expires_at = int(self._now()) + AUTHORIZATION_TOKEN_SECONDS
        password = issue_password(self._token_secret, self.registry_id, expires_at)
        data = AuthorizationData(
            authorization_token=authorization_token(password),
            expires_at=datetime.datetime.fromtimestamp(expires_at, datetime.timezone.utc),
            proxy_endpoint=self.proxy_endpoint,
        )
        return GetAuthorizationTokenResponse(authorization_data=(data,))

    def verify_password(self, password: str) -> bool:
        """True for a password GetAuthorizationToken issued with this registry's secret
        (by this registry or one sharing the secret) that has not expired by the clock."""
        return verify_password(
            password, secret=self._token_secret, registry_id=self.registry_id, now=self._now()
        )

    def _check_own_registry(self, registry_id: RegistryId | None, member: str) -> None:
        """A registry answers for itself alone: it can create and sign for no other."""
        if registry_id is not None and registry_id != self.registry_id:
            raise InvalidParameterException.constraint(
                member, f"must name this registry ('{self.registry_id}')"
            )

    def _described(self, name: RepositoryName) -> Repository:
        described = self._described_if_held(name)
        if described is None:  # removed since it was checked
            raise self._not_found(None, name)
        return described

    def _described_if_held(self, name: RepositoryName) -> Repository | None:
        held = self._store.repository(name)
        if held is None:
            return None
        host = self.proxy_endpoint.partition("://")[2] or self.proxy_endpoint
        return Repository(
            repository_arn=f"arn:aws:ecr:{self.region}:{self.registry_id}:repository/{name}",
            registry_id=self.registry_id,
            repository_name=name,
            repository_uri=f"{host.rstrip('/')}/{name}",
            created_at=datetime.datetime.fromtimestamp(held.created_at, datetime.timezone.utc),
        )

    def _page_start(self, next_token: str) -> str:
        try:
            return str(RepositoryName(next_token, grammar=RepositoryGrammar.OCI))
        except InvalidParameterException:
            raise InvalidParameterException.constraint(
                "nextToken", "must be a token a previous page answered"
            ) from None

    # -----------------------------------------------------------------------------------
    # Lookups, in the order they answer

    def _now(self) -> float:
        return 0.0 if self._clock is None else self._clock()

    def _held(self, upload_id: UploadId, now: float) -> HeldUpload | None:
        """The upload, unless there is none or it has been idle too long."""
        held = self._store.upload(upload_id)
        if held is None or (self._clock is not None and now - held.touched_at >= self.idle_seconds):
            return None
        return held

    def _check_repository(
        self, registry_id: RegistryId | None, repository_name: RepositoryName
    ) -> None:
        # A request without registryId addresses this registry (the default account).
        if (
            registry_id is not None and registry_id != self.registry_id
        ) or not self._store.has_repository(repository_name):
            raise self._not_found(registry_id, repository_name)

    def _not_found(
        self, registry_id: RegistryId | None, repository_name: RepositoryName
    ) -> RepositoryNotFoundException:
        return RepositoryNotFoundException(
            f"The repository with name '{repository_name}' does not exist in the "
            f"registry with id '{registry_id or self.registry_id}'"
        )

    def _open_upload(
        self, upload_id: UploadId, repository_name: RepositoryName, now: float
    ) -> HeldUpload:
        """The upload as held now, else UploadNotFound.

        The session itself refuses an id of another repository or registry, or one
        already completed.
        """
        held = self._held(upload_id, now)
        if held is None:
            raise UploadNotFoundException(
                f"Upload '{upload_id}' is not found in repository '{repository_name}' "
                f"of registry '{self.registry_id}'"
            )
        return held

    # -----------------------------------------------------------------------------------
    # OCI: layer bytes and manifests. What ECR's proxy (the /v2/ front end, ``oci.py``)
    # needs besides the four operations; each answers ECR's typed errors, in the same
    # order (the repository first).

    def upload_in_progress(
        self, repository_name: RepositoryName, upload_id: UploadId
    ) -> UploadSession:
        """The session of an upload of ``repository_name`` still in progress.

        RepositoryNotFound, else UploadNotFound for an unknown, idle, completed or
        cancelled upload, or one of another repository.
        """
        self._check_repository(None, repository_name)
        return self._in_progress(repository_name, upload_id, self._now()).session

    def cancel_layer_upload(self, repository_name: RepositoryName, upload_id: UploadId) -> None:
        """Forgets an upload in progress and the bytes it holds: it is UploadNotFound from
        now on. Raises as :meth:`upload_in_progress` does."""
        while True:
            self._check_repository(None, repository_name)
            held = self._in_progress(repository_name, upload_id, self._now())
            if self._store.remove_upload(held):
                return
            # A part or a completion came first: decide again after it.

    def complete_empty_layer_upload(
        self, request: CompleteLayerUploadRequest
    ) -> CompleteLayerUploadResponse:
        """Completes an upload that holds no byte as the 0-byte layer, as the OCI spec
        answers a 0-byte blob (CompleteLayerUpload answers EmptyUpload instead).

        The digests given must include :data:`EMPTY_LAYER_DIGEST` (else InvalidLayer,
        and the upload stays open); the upload then ends, and the repository holds the
        empty layer (kept as it is if it held it already). An upload that holds bytes
        is completed as :meth:`complete_layer_upload` completes it.
        """
        while True:
            self._check_repository(request.registry_id, request.repository_name)
            held = self._in_progress(request.repository_name, request.upload_id, self._now())
            if held.session.part_count:
                return self.complete_layer_upload(request)
            if not any(digest.matches(EMPTY_LAYER_DIGEST) for digest in request.layer_digests):
                raise InvalidLayerException(
                    f"The layer digest calculated for upload '{request.upload_id}' is "
                    f"{EMPTY_LAYER_DIGEST}, which is none of the digests specified"
                )
            if self._store.remove_upload(held):
                break
        if not self._store.add_empty_layer(request.repository_name):
            self._check_repository(None, request.repository_name)  # removed meanwhile
        return CompleteLayerUploadResponse(
            registry_id=self.registry_id,
            repository_name=request.repository_name,
            upload_id=request.upload_id,
            layer_digest=EMPTY_LAYER_DIGEST,
        )

    def mount_layer(
        self,
        repository_name: RepositoryName,
        digest: LayerDigest,
        source: RepositoryName,
        *,
        only_referenced: bool = False,
    ) -> Layer | None:
        """Makes the layer ``source`` holds as ``digest`` a layer of ``repository_name``
        (blob mounting): the layer, or None when ``source`` does not hold it (or does
        not exist). With ``only_referenced``, only a layer that a manifest of ``source``
        names is mounted. RepositoryNotFound for ``repository_name`` only.
        """
        self._check_repository(None, repository_name)
        if only_referenced and not self._store.references_layer(source, digest):
            return None
        held = self._store.mount_layer(source, repository_name, digest)
        if held is None:
            self._check_repository(None, repository_name)  # removed meanwhile?
            return None
        return Layer(
            layer_digest=held.digest,
            layer_availability=LayerAvailability.AVAILABLE,
            layer_size=held.size,
        )

    def open_layer(self, repository_name: RepositoryName, digest: LayerDigest) -> BinaryIO | None:
        """The bytes of a layer of the repository, open for reading (close it), or None
        when it holds no such layer or its store keeps no bytes. RepositoryNotFound."""
        self._check_repository(None, repository_name)
        return self._store.open_layer(repository_name, digest)

    def put_manifest(
        self,
        repository_name: RepositoryName,
        content: bytes,
        *,
        content_type: str | None,
        reference: ImageTag | LayerDigest,
    ) -> Manifest:
        """Stores a manifest, tagged when ``reference`` is a tag (as ECR's PutImage).

        Raises, in this order: RepositoryNotFound; InvalidParameter at ``imageManifest``
        for what is not a manifest (:meth:`Manifest.parse`); ImageDigestDoesNotMatch
        when ``reference`` is a digest the bytes do not have; LayersNotFound when it
        names a blob the repository does not hold; ReferencedImagesNotFound when an
        index names a manifest it does not hold. Pushing the same manifest again is
        not an error.
        """
        self._check_repository(None, repository_name)
        manifest = Manifest.parse(content, content_type)
        if isinstance(reference, LayerDigest) and not reference.matches(manifest.digest):
            raise ImageDigestDoesNotMatchException(
                f"The manifest's digest is {manifest.digest}, not {reference}"
            )
        missing = [d for d in manifest.blobs if self._store.layer(repository_name, d) is None]
        if missing:
            raise LayersNotFoundException(_missing("layer", missing, repository_name))
        missing = [
            d for d in manifest.manifests if self._store.manifest(repository_name, d) is None
        ]
        if missing:
            raise ReferencedImagesNotFoundException(_missing("image", missing, repository_name))
        tag = reference if isinstance(reference, ImageTag) else None
        if not self._store.put_manifest(repository_name, manifest, tag):
            self._check_repository(None, repository_name)  # removed meanwhile
        return manifest

    def manifest(
        self, repository_name: RepositoryName, reference: ImageTag | LayerDigest
    ) -> Manifest:
        """The manifest of a tag or digest: RepositoryNotFound, else ImageNotFound."""
        self._check_repository(None, repository_name)
        digest = (
            reference
            if isinstance(reference, LayerDigest)
            else self._store.tagged(repository_name, reference)
        )
        manifest = None if digest is None else self._store.manifest(repository_name, digest)
        if manifest is None:
            raise ImageNotFoundException(
                f"The image with imageId '{reference}' does not exist within the repository "
                f"with name '{repository_name}' in the registry with id '{self.registry_id}'"
            )
        return manifest

    def image_tags(self, repository_name: RepositoryName) -> list[ImageTag]:
        """The repository's tags, in byte order of their text: RepositoryNotFound."""
        self._check_repository(None, repository_name)
        return self._store.tags(repository_name)

    def _in_progress(
        self, repository_name: RepositoryName, upload_id: UploadId, now: float
    ) -> HeldUpload:
        held = self._open_upload(upload_id, repository_name, now)
        if held.session.repository_name != repository_name or held.session.completed:
            raise UploadNotFoundException(
                f"Upload '{upload_id}' is not found in repository '{repository_name}' "
                f"of registry '{self.registry_id}'"
            )
        return held


def _missing(kind: str, digests: list[LayerDigest], repository_name: RepositoryName) -> str:
    """The message of a manifest that names what the repository lacks (the first few)."""
    shown = ", ".join(f"'{digest}'" for digest in digests[:3])
    more = f" and {len(digests) - 3} more" if len(digests) > 3 else ""
    return f"The repository '{repository_name}' holds no {kind} {shown}{more}"
