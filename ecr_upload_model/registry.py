"""Registry: an in-memory reference registry that answers the four operations by ECR's rules.

It plays the server in tests and on the command line: repositories, upload sessions
by upload id (each with a running sha256 of the bytes it accepted), and the layers each
repository holds with their sizes. It does no I/O. A refused call changes nothing: the
session's transition is computed first, and only an accepted one is stored (and only
then are the part's bytes fed to the hash).

Answers come in the order of the reference sheet (section 7): RepositoryNotFound, then
UploadNotFound, then the session's part or completion rules, then LayerAlreadyExists.

>>> registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
>>> repository = registry.create_repository("team/app")
>>> started = registry.initiate_layer_upload(InitiateLayerUploadRequest(repository_name=repository))
>>> str(started.upload_id)
'00000000-0000-0000-0000-000000000000'
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import (
    InvalidParameterException,
    LayerAlreadyExistsException,
    RepositoryNotFoundException,
    UploadNotFoundException,
    UsageError,
)
from .identifiers import LayerDigest, RegistryId, RepositoryGrammar, RepositoryName, UploadId
from .limits import API_LIMITS, Limits
from .operations import (
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    Layer,
    LayerAvailability,
    LayerFailure,
    LayerFailureCode,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
)
from .session import UploadSession

if TYPE_CHECKING:
    from hashlib import _Hash


def random_upload_ids() -> UploadId:
    """A new random (uuid4) upload id: the registry's default, and its one randomness."""
    return UploadId(str(uuid.uuid4()))


def sequential_upload_ids(start: int = 0) -> Callable[[], UploadId]:
    """Upload ids that are the same on every run: the UUIDs numbered ``start``, ``start + 1``...

    >>> ids = sequential_upload_ids(start=10)
    >>> str(ids()), str(ids())
    ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-00000000000b')
    """
    if type(start) is not int or start < 0:
        raise UsageError(f"start must be a non-negative int, not {start!r}")
    numbers = itertools.count(start)

    def next_upload_id() -> UploadId:
        # uuid.UUID refuses a number of more than 128 bits with ValueError.
        try:
            return UploadId(str(uuid.UUID(int=next(numbers))))
        except ValueError:
            raise UsageError("sequential upload ids are exhausted (128 bits)") from None

    return next_upload_id


def _canonical(digest: LayerDigest) -> tuple[str, str]:
    """Two digests match (:meth:`LayerDigest.matches`) exactly when these are equal."""
    return digest.algorithm, digest.hex.lower()


class Registry:
    """An in-memory reference registry: mutable, no I/O; a refused call changes nothing.

    ``registry_id`` is the account a request without ``registryId`` addresses; a request
    naming another registry finds no repository here. ``upload_id_factory`` gives each
    new upload its id (uuid4 by default; :func:`sequential_upload_ids` for replays).
    """

    def __init__(
        self,
        registry_id: RegistryId | str,
        *,
        limits: Limits = API_LIMITS,
        grammar: RepositoryGrammar = RepositoryGrammar.SEED,
        upload_id_factory: Callable[[], UploadId] = random_upload_ids,
    ) -> None:
        self.registry_id = (
            registry_id if isinstance(registry_id, RegistryId) else RegistryId(registry_id)
        )
        self.limits = limits
        self.grammar = grammar
        self._new_upload_id = upload_id_factory
        self._repositories: set[RepositoryName] = set()
        #: Every upload ever started, completed ones included (they answer UploadNotFound).
        self._sessions: dict[UploadId, UploadSession] = {}
        #: The running sha256 of each upload in progress; dropped on completion.
        self._hashers: dict[UploadId, _Hash] = {}
        #: Per repository: the canonical form of each layer's digest -> (digest, size).
        self._layers: dict[RepositoryName, dict[tuple[str, str], tuple[LayerDigest, int]]] = {}

    def create_repository(self, name: RepositoryName | str) -> RepositoryName:
        """Adds a repository; an existing one is kept as it is, with its layers.

        A name given as text is read by this registry's grammar; a RepositoryName is
        taken as it is.
        """
        repository = (
            name if isinstance(name, RepositoryName) else RepositoryName(name, grammar=self.grammar)
        )
        self._repositories.add(repository)
        self._layers.setdefault(repository, {})
        return repository

    def session(self, upload_id: UploadId) -> UploadSession | None:
        """The session of an upload this registry started (completed or not), else None."""
        return self._sessions.get(upload_id)

    # -----------------------------------------------------------------------------------
    # The four operations

    def initiate_layer_upload(
        self, request: InitiateLayerUploadRequest
    ) -> InitiateLayerUploadResponse:
        """Starts an upload: RepositoryNotFound, or the new upload id and the part size."""
        self._check_repository(request.registry_id, request.repository_name)
        upload_id = self._new_upload_id()
        if upload_id in self._sessions:
            raise UsageError(f"the upload id factory repeated {upload_id}, an id in use")
        self._sessions[upload_id] = UploadSession(
            registry_id=self.registry_id,
            repository_name=request.repository_name,
            upload_id=upload_id,
            limits=self.limits,
        )
        self._hashers[upload_id] = hashlib.sha256()
        return InitiateLayerUploadResponse(upload_id=upload_id, part_size=self.limits.part_size)

    def upload_layer_part(self, request: UploadLayerPartRequest) -> UploadLayerPartResponse:
        """Accepts the next part of an upload in progress, or raises and changes nothing."""
        self._check_repository(request.registry_id, request.repository_name)
        session, hasher = self._open_upload(request.upload_id, request.repository_name)
        following, response = session.upload_part(request)
        hasher.update(request.layer_part_blob)
        self._sessions[request.upload_id] = following
        return response

    def complete_layer_upload(
        self, request: CompleteLayerUploadRequest
    ) -> CompleteLayerUploadResponse:
        """Makes the upload a layer of its repository, or raises and leaves it open."""
        self._check_repository(request.registry_id, request.repository_name)
        session, hasher = self._open_upload(request.upload_id, request.repository_name)
        following, response = session.complete(request, LayerDigest.sha256(hasher.hexdigest()))
        layers = self._layers[request.repository_name]
        key = _canonical(response.layer_digest)
        if key in layers:
            raise LayerAlreadyExistsException(
                f"The layer '{response.layer_digest}' already exists in the repository "
                f"'{request.repository_name}' of registry '{self.registry_id}'"
            )
        layers[key] = (response.layer_digest, following.bytes_received)
        self._sessions[request.upload_id] = following
        del self._hashers[request.upload_id]
        return response

    def batch_check_layer_availability(
        self, request: BatchCheckLayerAvailabilityRequest
    ) -> BatchCheckLayerAvailabilityResponse:
        """For each digest asked, in order: the held layer, or why there is none.

        A digest is answered with its own text, so a client matches answers to questions
        by string; hex letter case does not matter to whether the layer is held.
        """
        self._check_repository(request.registry_id, request.repository_name)
        held = self._layers[request.repository_name]
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
            layer = held.get(_canonical(digest))
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
                        layer_size=layer[1],
                    )
                )
        return BatchCheckLayerAvailabilityResponse(layers=tuple(layers), failures=tuple(failures))

    # -----------------------------------------------------------------------------------
    # Lookups, in the order they answer

    def _check_repository(
        self, registry_id: RegistryId | None, repository_name: RepositoryName
    ) -> None:
        # A request without registryId addresses this registry (the default account).
        if (
            registry_id is not None and registry_id != self.registry_id
        ) or repository_name not in self._repositories:
            raise RepositoryNotFoundException(
                f"The repository with name '{repository_name}' does not exist in the "
                f"registry with id '{registry_id or self.registry_id}'"
            )

    def _open_upload(
        self, upload_id: UploadId, repository_name: RepositoryName
    ) -> tuple[UploadSession, _Hash]:
        """The session and hasher of an upload in progress, else UploadNotFound.

        The session itself refuses an id of another repository or registry.
        """
        session = self._sessions.get(upload_id)
        hasher = self._hashers.get(upload_id)
        if session is None or hasher is None:
            raise UploadNotFoundException(
                f"Upload '{upload_id}' is not found in repository '{repository_name}' "
                f"of registry '{self.registry_id}'"
            )
        return session, hasher
