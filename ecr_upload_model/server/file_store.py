"""FileStore: what the durable stores share, the bytes in files and the order of the steps.

A store keeps its state (repositories, uploads, layers) where it likes and its bytes in
a :class:`~.data_directory.DataDirectory`; this class does the steps around the state's
swaps, so that every store orders them alike:

- a part: its file is written and synced, *then* the state's swap names it as the
  upload's next part (or the file is deleted: the swap lost). The running digest is
  carried on in this process's memory (:class:`~.data_directory.RunningDigests`);
- a completion: the layer is made of the part files (linked), *then* the state's swap
  stores the layer and completes the session; then the upload's files go;
- forgetting idle uploads (or removing one): the state forgets them, then their files go;
- the empty layer: its (empty) file is made, then the state names it as a layer.

A mount names a layer's files for one more repository: the files are content-addressed,
so the state's step is all it takes. Manifests and tags are state alone.

A store's failure (a full disk, a lost connection) is answered as ECR's fault,
:class:`ServerException` (HTTP 500, which clients retry), its cause chained for the
server's log. Each step is atomic, so a failed one changed nothing, except where the
failure hid whether it took (a connection lost after a commit was sent): a client that
sends the part again then learns from ``lastValidByteReceived``.
"""

from __future__ import annotations

import abc
import functools
import hashlib
import os
from collections.abc import Callable
from typing import BinaryIO, ClassVar, Concatenate, ParamSpec, TypeVar

from ..errors import EcrError, ServerException
from ..identifiers import LayerDigest, RepositoryName, UploadId
from ..manifests import Manifest
from ..registry import EMPTY_LAYER_DIGEST, Completion, HeldLayer, HeldUpload
from ..session import UploadSession
from .data_directory import Concurrently, DataDirectory

__all__ = ["FileStore"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="FileStore")


def describe(error: BaseException) -> str:
    """A failure in words a client may read: no path, no address, no secret."""
    if isinstance(error, OSError) and error.errno is not None:
        return f"{type(error).__name__}: {os.strerror(error.errno)}"
    return type(error).__name__


def answered(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Decorates a store's method: the store's ``faults`` become ServerException."""

    @functools.wraps(method)
    def answering(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except self.faults as error:
            raise ServerException(f"The registry's store failed ({describe(error)})") from error

    return answering


def canonical(digest: LayerDigest) -> str:
    """Two digests match (:meth:`LayerDigest.matches`) exactly when these are equal."""
    return f"{digest.algorithm}:{digest.hex.lower()}"


def last_part(held: HeldUpload) -> str | None:
    """A file store's token of an upload: the file of its latest accepted part."""
    assert held.token is None or isinstance(held.token, str), held.token
    return held.token


def unreadable(upload_id: UploadId | str) -> ServerException:
    """What a stored upload that cannot be read is answered with."""
    return ServerException(f"The registry's store holds an unreadable upload {upload_id}")


def load_manifest(content: bytes, media_type: str) -> Manifest:
    """A stored manifest, read again as it was parsed when pushed."""
    try:
        return Manifest.parse(content, media_type)
    except EcrError as error:
        digest = hashlib.sha256(content).hexdigest()
        raise ServerException(
            f"The registry's store holds an unreadable manifest sha256:{digest}"
        ) from error


class FileStore(abc.ABC):
    """A :class:`~ecr_upload_model.registry.RegistryStore` whose bytes are files.

    A subclass keeps the state and gives the atomic steps below; its token of a held
    upload is :func:`last_part`, which a swap compares along with the revision.
    """

    #: What the state's client raises when the state fails (with OSError, the files').
    faults: ClassVar[tuple[type[BaseException], ...]]

    def __init__(self, files: DataDirectory) -> None:
        self.files = files

    @property
    def directory(self) -> os.PathLike[str]:
        return self.files.root

    # -----------------------------------------------------------------------------------
    # The state's atomic steps

    @abc.abstractmethod
    def upload(self, upload_id: UploadId) -> HeldUpload | None: ...

    @abc.abstractmethod
    def layer(self, repository: RepositoryName, digest: LayerDigest) -> HeldLayer | None: ...

    @abc.abstractmethod
    def _swap_part(self, held: HeldUpload, following: UploadSession, part: str, now: float) -> bool:
        """If the upload is still ``held``: stores ``following``, names ``part`` as its
        next part's file and ``touched_at = now``, as one step; else False."""

    @abc.abstractmethod
    def _parts(self, held: HeldUpload) -> list[str] | None:
        """The files of the upload's parts in order, None if it is no longer ``held``."""

    @abc.abstractmethod
    def _still_held(self, held: HeldUpload) -> bool: ...

    @abc.abstractmethod
    def _swap_completion(
        self, held: HeldUpload, following: UploadSession, now: float
    ) -> Completion:
        """:meth:`complete`'s swap, the layer's files being in place."""

    @abc.abstractmethod
    def _forget(self, cutoff: float) -> list[tuple[str, str | None]]:
        """Forgets the uploads touched at or before ``cutoff``: their ids and tokens."""

    @abc.abstractmethod
    def _forget_upload(self, held: HeldUpload) -> bool:
        """Forgets the upload if it is still ``held``, as one step; else False."""

    @abc.abstractmethod
    def _add_layer(self, repository: RepositoryName, layer: HeldLayer) -> bool:
        """Names ``layer`` (its file in place) as a layer of ``repository`` unless one of
        its digest is held already, as one step; False if the repository does not exist."""

    # -----------------------------------------------------------------------------------
    # The steps around them

    @answered
    def append_part(
        self, held: HeldUpload, following: UploadSession, blob: memoryview, now: float
    ) -> bool:
        upload_id, previous = following.upload_id, last_part(held)
        hasher = self.files.digests.after(previous)
        # The digest is carried on while the part is written and synced.
        with Concurrently(lambda: None if hasher is None else hasher.update(blob)):
            part = self.files.write_part(upload_id, following.part_count, blob)
        if part is None:
            self._missing(held)
            return False
        # A swap that raises keeps the file: the failure may hide that the swap took (a
        # lost connection), and an unnamed file goes with the upload's directory anyway.
        if not self._swap_part(held, following, part, now):
            self.files.discard_part(upload_id, part)
            return False
        if hasher is not None:
            self.files.digests.keep(part, hasher, replacing=previous)
        return True

    def _missing(self, held: HeldUpload) -> None:
        """A file of the upload is gone: fine if it ended meanwhile, else a fault."""
        if self._still_held(held):
            raise ServerException(
                f"The bytes of upload {held.session.upload_id} are missing from the data directory"
            )

    @answered
    def layer_digest(self, held: HeldUpload) -> LayerDigest | None:
        if held.session.layer_digest is not None:  # completed: its parts are gone
            return held.session.layer_digest
        hasher = self.files.digests.after(last_part(held))
        if hasher is None:  # after a restart, or parts another process accepted
            parts = self._parts(held)
            hasher = None if parts is None else self.files.digest(held.session.upload_id, parts)
            if hasher is None:
                self._missing(held)
                return None
        return LayerDigest.sha256(hasher.hexdigest())

    @answered
    def complete(self, held: HeldUpload, following: UploadSession, now: float) -> Completion:
        assert following.layer_digest is not None
        parts = self._parts(held)
        if parts is None:
            return Completion.RACE_LOST
        if not self.files.publish_layer(following.upload_id, parts, following.layer_digest.hex):
            self._missing(held)
            return Completion.RACE_LOST
        completion = self._swap_completion(held, following, now)
        if completion is Completion.DONE:
            # A completed upload answers UploadNotFound from now on: its parts can go.
            self.files.remove_upload(following.upload_id)
            self.files.digests.forget(last_part(held))
        return completion

    @answered
    def forget_idle(self, cutoff: float) -> int:
        forgotten = self._forget(cutoff)
        for upload_id, part in forgotten:
            self.files.remove_upload(UploadId(upload_id))
            self.files.digests.forget(part)
        return len(forgotten)

    @answered
    def remove_upload(self, held: HeldUpload) -> bool:
        if not self._forget_upload(held):
            return False
        self.files.remove_upload(held.session.upload_id)
        self.files.digests.forget(last_part(held))
        return True

    @answered
    def add_empty_layer(self, repository: RepositoryName) -> bool:
        self.files.publish_empty_layer(EMPTY_LAYER_DIGEST.hex)
        return self._add_layer(repository, HeldLayer(EMPTY_LAYER_DIGEST, 0))

    @answered
    def open_layer(self, repository: RepositoryName, digest: LayerDigest) -> BinaryIO | None:
        held = self.layer(repository, digest)
        return None if held is None else self.files.open_layer(held.digest.hex)

    def _sweep(self) -> None:
        """Deletes the files of uploads that ended while their files were being deleted."""

        def ended(upload_id: UploadId) -> bool:
            try:
                held = self.upload(upload_id)
            except ServerException:  # an unreadable session: keep its bytes
                return False
            return held is None or held.session.completed

        self.files.sweep(ended)
