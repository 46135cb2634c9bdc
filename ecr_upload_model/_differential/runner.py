"""One example of a differential run: each call sent to the server and to the reference
registry, the answers compared, and the books of what the reference accepted; and the
replay that shortens a sequence whose answers differ."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Final, TypeAlias

import attrs

from ..identifiers import LayerDigest
from ..operations import TARGET_PREFIX
from ..registry import Registry, sequential_upload_ids
from ..wire import handle
from .answers import Aliases, Answer, Side
from .calls import CREATED, MISSING, Config, RepositoryRef, Step, UploadRef
from .report import report

#: An ECR-compatible server: (``X-Amz-Target`` value, body) -> (status, headers, body).
Server: TypeAlias = Callable[[str, bytes], tuple[int, Mapping[str, str], bytes]]

#: The account the reference registry plays (AWS's documentation example, and moto's).
REFERENCE_REGISTRY_ID: Final = "123456789012"


class Difference(AssertionError):
    """The answers to the last call of ``run`` differ."""

    def __init__(self, run: Run) -> None:
        super().__init__(run.report())
        self.run = run


class Unreplayable(Exception):
    """A step refers to an upload no call of the replayed sequence started."""


@attrs.define(eq=False)
class Upload:
    """One upload, as the reference accepted it (the server agreed on every answer)."""

    ordinal: int
    label: str
    role: str
    reference_id: str
    server_id: str
    content: bytearray = attrs.Factory(bytearray)
    latest_part: tuple[int, bytes] | None = None
    completed: bool = False

    def digest(self) -> str:
        return str(LayerDigest.sha256(hashlib.sha256(self.content).hexdigest()))


@attrs.define
class Books:
    """What the reference accepted: the uploads started, by the ordinal of the call that
    started them, and the layers completed."""

    uploads: dict[int, Upload] = attrs.Factory(dict)
    #: (repository role, digest, bytes) of each layer completed.
    layers: list[tuple[str, str, bytes]] = attrs.Factory(list)

    def upload(self, ref: UploadRef) -> Upload:
        upload = self.uploads.get(ref.ordinal)
        if upload is None:
            raise Unreplayable(ref)
        return upload

    def start(self, ordinal: int, role: str, reference_id: str, server_id: str) -> Upload:
        label = f"<upload {len(self.uploads) + 1}>"
        upload = self.uploads[ordinal] = Upload(ordinal, label, role, reference_id, server_id)
        return upload

    def follow(self, step: Step, reference: Answer) -> None:
        """Keeps what the reference accepted of ``step``."""
        upload_ref = step.request.get("uploadId")
        if not isinstance(upload_ref, UploadRef):
            return
        upload = self.upload(upload_ref)
        if step.operation == "UploadLayerPart":
            first, blob = step.request["partFirstByte"], step.request["layerPartBlob"]
            assert isinstance(first, int)
            assert isinstance(blob, bytes)
            upload.content += blob
            upload.latest_part = (first, blob)
        elif step.operation == "CompleteLayerUpload":
            upload.completed = True
            digest = reference.member("layerDigest")
            assert isinstance(digest, str)
            self.layers.append((upload.role, digest, bytes(upload.content)))


class Run:
    """One example: a fresh reference registry beside the server, and the calls made."""

    def __init__(
        self,
        server: Server,
        create_repository: Callable[[str], object],
        config: Config,
        number: int,
    ) -> None:
        self.server = server
        self.config = config
        self.reference = Registry(
            REFERENCE_REGISTRY_ID,
            limits=config.limits,
            grammar=config.grammar,
            upload_id_factory=sequential_upload_ids(),
        )
        prefix = f"{config.repository_prefix}/{number}"
        self.names = {role: f"{prefix}-{role}" for role in (*CREATED, MISSING)}
        for role in CREATED:
            create_repository(self.names[role])
            self.reference.create_repository(self.names[role])
        self.aliases = Aliases()
        self.books = Books()
        self.steps: list[Step] = []
        self.answers: list[tuple[Answer, Answer]] = []

    def execute(self, step: Step) -> None:
        """Sends ``step`` to both sides; raises Difference if the answers differ."""
        target = f"{TARGET_PREFIX}.{step.operation}"
        bodies = {side: self._body(step, side) for side in Side}
        server = Answer.of(*self.server(target, bodies[Side.SERVER]))
        reference = Answer.of(*handle(self.reference, target, bodies[Side.REFERENCE]))
        self.steps.append(step)
        self.answers.append((server, reference))
        self._bind_ids(step, server, reference)
        if server.view(Side.SERVER, self.aliases) != reference.view(Side.REFERENCE, self.aliases):
            raise Difference(self)
        if not reference.error:
            self.books.follow(step, reference)

    def _body(self, step: Step, side: Side) -> bytes:
        def wire(value: object) -> object:
            if isinstance(value, RepositoryRef):
                return self.names[value.role]
            if isinstance(value, UploadRef):
                upload = self.books.upload(value)
                return upload.server_id if side is Side.SERVER else upload.reference_id
            if isinstance(value, bytes):
                return base64.b64encode(value).decode("ascii")
            return value

        return json.dumps({name: wire(value) for name, value in step.request.items()}).encode()

    def _bind_ids(self, step: Step, server: Answer, reference: Answer) -> None:
        """Maps the ids each side gave to shared labels; an accepted initiation starts an
        upload in the books."""
        server_registry = server.member("registryId")
        reference_registry = reference.member("registryId")
        if isinstance(server_registry, str) and isinstance(reference_registry, str):
            self.aliases.bind("<registry>", reference_registry, server_registry)
        server_upload, reference_upload = server.member("uploadId"), reference.member("uploadId")
        if (
            step.starts is not None
            and not server.error
            and not reference.error
            and isinstance(server_upload, str)
            and isinstance(reference_upload, str)
        ):
            repository = step.request["repositoryName"]
            assert isinstance(repository, RepositoryRef)
            upload = self.books.start(step.starts, repository.role, reference_upload, server_upload)
            self.aliases.bind(upload.label, reference_upload, server_upload)

    def difference(self) -> tuple[str, tuple[int, object], tuple[int, object]]:
        """What differs at the last call: the operation, and each side's status and code."""
        server, reference = self.answers[-1]
        return self.steps[-1].operation, server.outcome(), reference.outcome()

    def report(self) -> str:
        return report(self.steps, self.answers, self.aliases, self._shown)

    def _shown(self, value: object) -> object:
        if isinstance(value, RepositoryRef):
            return self.names[value.role]
        if isinstance(value, UploadRef):
            upload = self.books.uploads.get(value.ordinal)
            return "<an upload no call started>" if upload is None else upload.label
        return value


def replay(steps: list[Step], new_run: Callable[[], Run]) -> Run | None:
    """The run of ``steps`` on fresh repositories if an answer differs, else None."""
    run = new_run()
    try:
        for step in steps:
            run.execute(step)
    except Difference:
        return run
    except Unreplayable:
        return None
    return None


def shortest(failed: Run, new_run: Callable[[], Run]) -> Run:
    """``failed`` without every call whose removal keeps the same difference.

    Hypothesis shrinks well but can keep a call that its choice of rules depends on;
    replaying the sequence without each call in turn removes those (to a fixed point).
    A removal that changes the difference (for example removing the parts before a
    completion makes it an empty upload) is not kept: that may be a divergence the
    caller left out of ``faults``.
    """
    best = failed
    shrinking = True
    while shrinking:
        shrinking = False
        # The last call is where the answers differ: try removing each call before it.
        for index in reversed(range(len(best.steps) - 1)):
            if index >= len(best.steps) - 1:
                continue
            shorter = replay(best.steps[:index] + best.steps[index + 1 :], new_run)
            if shorter is not None and shorter.difference() == failed.difference():
                best, shrinking = shorter, True
    return best
