"""A differential tester for ECR-compatible servers: your server against the reference.

:func:`compare_with_reference` drives your server and the reference :class:`Registry`
(through :func:`~ecr_upload_model.wire.handle`) with the same generated layer pushes, a
Hypothesis stateful test with faults put in (:class:`Fault`), and compares every answer:
the HTTP status, the content type, the error code (``__type`` as botocore reads it) and
the modelled members. What may honestly differ is not compared: upload ids and the
registry id (each of the server's is mapped to the reference's), messages, request ids,
other headers, member order, the order of BatchCheckLayerAvailability's lists,
``failureReason`` wording and ``mediaType`` (an image manifest decides it, and this
model has none).

When an answer differs, Hypothesis shrinks the pushes, the tester then drops every call
it can while the difference stays, and an ``AssertionError`` lists that shortest call
sequence with both answers to each call, marking the call where they differ. The server
is any callable ``(target, body) -> (status, headers, body)``:

>>> from hypothesis import settings
>>> from ecr_upload_model import Registry
>>> from ecr_upload_model.wire import handle
>>> registry = Registry("210987654321")  # the server under test: here, the package's own
>>> compare_with_reference(
...     lambda target, body: handle(registry, target, body),
...     create_repository=registry.create_repository,
...     settings=settings(max_examples=5, stateful_step_count=5, database=None),
... )

Hypothesis is an optional dependency of the package; this module needs it.
"""

from __future__ import annotations

try:
    import hypothesis
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, rule
    from hypothesis.stateful import run_state_machine_as_test as _run_state_machine_as_test
except ImportError as missing:  # pragma: no cover (tested in a subprocess)
    raise ImportError(
        "ecr_upload_model.testing needs Hypothesis, an optional dependency: "
        "pip install 'ecr_upload_model[hypothesis]'"
    ) from missing

import base64
import enum
import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Collection, Mapping
from typing import Final, TypeAlias

import attrs

from . import strategies
from .errors import UsageError, error_code
from .identifiers import LayerDigest, RepositoryGrammar
from .limits import API_LIMITS, MAX_BATCHED_DIGEST_LENGTH, Limits
from .operations import LAYER_OPERATIONS
from .registry import Registry, sequential_upload_ids
from .wire import CONTENT_TYPE, TARGET_PREFIX, handle

__all__ = ["ALL_FAULTS", "Fault", "Server", "compare_with_reference"]

#: An ECR-compatible server: (``X-Amz-Target`` value, body) -> (status, headers, body).
Server: TypeAlias = Callable[[str, bytes], tuple[int, Mapping[str, str], bytes]]

#: The account the reference registry plays (AWS's documentation example, and moto's).
REFERENCE_REGISTRY_ID: Final = "123456789012"
#: Parts of the fast default: a few bytes each, so that a run takes seconds.
SMALL_PART_MAX_BYTES: Final = 8
#: How far a gap, an overlap or a length mismatch is off.
MAX_FAULT_OFFSET: Final = 3
#: Digests per BatchCheckLayerAvailability call (the API allows 100).
MAX_CHECKED_DIGESTS: Final = 4
#: Bytes of a blob shown in a report.
SHOWN_BLOB_BYTES: Final = 8


class Fault(enum.Enum):
    """The kinds of call that are wrong, or at an edge; pass a subset as ``faults``.

    Without any, the tester pushes layers correctly (one part each, unless
    ``big_parts`` makes parts of at least ``limits.min_part_bytes``) and checks them.
    The part faults have the names of :class:`ecr_upload_model.strategies.Fault`.
    """

    GAP = "a part that starts after the next byte expected"
    OVERLAP = "a part that starts before the next byte expected"
    RESEND = "the part accepted last, sent again"
    TOO_LARGE = "a part over limits.max_part_bytes (generated only with big_parts)"
    LENGTH_MISMATCH = "a blob whose length is not its byte range's"
    REVERSED_RANGE = "partLastByte before partFirstByte"
    EMPTY_BLOB = "an empty blob"
    FOREIGN_UPLOAD_ID = "an upload id of another repository"
    UNKNOWN_UPLOAD_ID = "an upload id that was never issued"
    COMPLETED_UPLOAD = "a part or a completion for an upload already completed"
    MISSING_REPOSITORY = "a repository that does not exist"
    EMPTY_UPLOAD = "completing an upload that holds no part"
    SMALL_PART = "a part under limits.min_part_bytes followed by another part"
    WRONG_DIGEST = "completing with digests that are not the layer's"
    DUPLICATE_LAYER = "completing a layer the repository already holds"
    UNUSUAL_DIGEST = "a well-formed digest of another algorithm or in upper-case hex"
    MALFORMED_DIGEST = "checking the availability of a digest that breaks the pattern"
    INVALID_PARAMETER = "a member that breaks its type or constraint (refused before all else)"


ALL_FAULTS: Final = frozenset(Fault)

#: The faults of one part, once the part reaches its upload.
_PART_FAULTS: Final = (
    Fault.GAP,
    Fault.OVERLAP,
    Fault.RESEND,
    Fault.TOO_LARGE,
    Fault.LENGTH_MISMATCH,
    Fault.REVERSED_RANGE,
    Fault.EMPTY_BLOB,
)
#: Part faults that need a part accepted before them.
_AFTER_A_PART: Final = frozenset({Fault.OVERLAP, Fault.RESEND})

#: The modelled members of the errors that have any (reference sheet, section 5).
ERROR_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "InvalidLayerPartException": (
        "registryId",
        "repositoryName",
        "uploadId",
        "lastValidByteReceived",
    ),
    "KmsException": ("kmsError",),
}
#: Success members not compared: ``mediaType`` comes from an image manifest, which this
#: model has none of; ``failureReason`` is wording.
HONESTLY_DIFFERENT_MEMBERS: Final = frozenset({"mediaType", "failureReason"})
#: Members holding ids that each side issues for itself.
_ALIASED_MEMBERS: Final = frozenset({"uploadId", "registryId"})
_ABSENT: Final = "<absent>"


def compare_with_reference(
    server: Server,
    create_repository: Callable[[str], object] | None = None,
    *,
    limits: Limits = API_LIMITS,
    grammar: RepositoryGrammar = RepositoryGrammar.SEED,
    faults: Collection[Fault] = ALL_FAULTS,
    big_parts: bool = False,
    settings: hypothesis.settings | None = None,
    repository_prefix: str = "difftest",
) -> None:
    """Drives ``server`` and the reference registry with the same pushes; raises on a difference.

    - ``server(target, body)`` answers one AWS JSON 1.1 call: ``target`` is the full
      ``X-Amz-Target`` value, ``body`` the JSON bytes; it returns the HTTP status, the
      headers and the body bytes.
    - ``create_repository(name)`` creates a repository on the server; without it the
      tester calls the server's ``CreateRepository`` operation. Each example uses two
      new repositories, ``{repository_prefix}/{n}-a`` and ``-b`` (``n`` counts up from
      0 in each call of this function), so a server that keeps its state between
      examples is fine; one that keeps it between runs needs a new prefix per run.
    - ``limits`` and ``grammar`` configure the reference registry: set them to what
      your server applies.
    - ``faults`` chooses the kinds of wrong call generated (:class:`Fault`); leave out
      a known divergence to look for the next one.
    - ``big_parts`` also makes parts around ``limits.min_part_bytes``, of
      ``limits.max_part_bytes`` and over it (megabytes per call with the default
      limits: slow; use it with small limits).
    - ``settings`` are Hypothesis settings (``max_examples``, ``stateful_step_count``,
      ``database``...); by default the current profile's. The deadline and the
      explain phase are always off (they would time, and replay, whole call sequences).

    Returns ``None`` when no answer differed. Otherwise raises ``AssertionError`` whose
    message lists the shortest call sequence found, with both answers to each call.
    A server whose answers to the same calls change from run to run makes Hypothesis
    raise its ``Flaky`` error instead.
    """
    unknown = set(faults) - ALL_FAULTS
    if unknown:
        raise UsageError(f"faults must be Fault members, not {sorted(map(repr, unknown))}")
    create = create_repository or _create_through(server)
    config = _Config(limits, grammar, frozenset(faults), big_parts, repository_prefix)
    numbers = itertools.count()

    def new_run() -> _Run:
        return _Run(server, create, config, next(numbers))

    chosen = settings if settings is not None else hypothesis.settings()
    # One AssertionError describes the difference, never a group of several; a deadline
    # would time a whole call sequence; the report lists the calls, so Hypothesis's
    # explain phase (slow: it replays variants of the sequence) is left out.
    effective = hypothesis.settings(
        chosen,
        deadline=None,
        report_multiple_bugs=False,
        phases=[phase for phase in chosen.phases if phase is not hypothesis.Phase.explain],
    )
    try:
        _run_state_machine_as_test(_machine_class(new_run), settings=effective)
    except _Difference as difference:
        raise AssertionError(_shortest(difference.run, new_run).report()) from None


def _create_through(server: Server) -> Callable[[str], object]:
    def create(name: str) -> None:
        body = json.dumps({"repositoryName": name}).encode()
        status, _, answer = server(f"{TARGET_PREFIX}.CreateRepository", body)
        if status != 200:
            raise UsageError(
                f"the server refused CreateRepository for {name!r} ({status}: "
                f"{answer[:200]!r}); pass create_repository"
            )

    return create


# ---------------------------------------------------------------------------------------
# Calls, as a sequence that can be replayed


@attrs.frozen
class _Config:
    limits: Limits
    grammar: RepositoryGrammar
    faults: frozenset[Fault]
    big_parts: bool
    repository_prefix: str


#: The repositories of an example, by role: two created, one never.
_CREATED: Final = ("a", "b")
_MISSING: Final = "missing"


@attrs.frozen
class _RepositoryRef:
    """A repository of the example by its role; each run names its own."""

    role: str


@attrs.frozen
class _UploadRef:
    """The upload the ``ordinal``-th InitiateLayerUpload of the sequence started."""

    ordinal: int


@attrs.frozen(eq=False)
class _Step:
    """One call: its operation and request, with references where each side differs."""

    operation: str
    #: JSON values, and bytes (blobs), _RepositoryRef and _UploadRef to resolve.
    request: Mapping[str, object]
    #: For InitiateLayerUpload: the ordinal of the upload it starts.
    starts: int | None = None


class _Difference(AssertionError):
    """The answers to the last call of ``run`` differ."""

    def __init__(self, run: _Run) -> None:
        super().__init__(run.report())
        self.run = run


class _Unreplayable(Exception):
    """A step refers to an upload no call of the replayed sequence started."""


@attrs.define(eq=False)
class _Upload:
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


class _Side(enum.Enum):
    SERVER = "server"
    REFERENCE = "reference"


@attrs.define
class _Aliases:
    """Each side's id for a thing, by the label both share (``<upload 1>``, ``<registry>``)."""

    labels: dict[_Side, dict[str, str]] = attrs.Factory(lambda: {side: {} for side in _Side})

    def bind(self, label: str, reference_id: str, server_id: str) -> None:
        self.labels[_Side.REFERENCE].setdefault(reference_id, label)
        self.labels[_Side.SERVER].setdefault(server_id, label)

    def label(self, side: _Side, value: object) -> object:
        return self.labels[side].get(value, value) if isinstance(value, str) else value


@attrs.frozen
class _Answer:
    status: int
    content_type: str | None
    body: object  # the decoded JSON, or the raw bytes when they are not JSON

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str], body: bytes) -> _Answer:
        content_type = next(
            (value for name, value in headers.items() if name.lower() == "content-type"), None
        )
        try:
            decoded: object = json.loads(body)
        except (ValueError, RecursionError):
            decoded = bytes(body)
        media_type = None if content_type is None else content_type.split(";")[0].strip().lower()
        return cls(status, media_type, decoded)

    @property
    def error(self) -> bool:
        return self.status >= 300

    def outcome(self) -> tuple[int, object]:
        """The status, and the error code (``__type`` as botocore reads it) of an error."""
        wire_type = self.member("__type") if self.error else None
        return self.status, error_code(wire_type) if isinstance(wire_type, str) else wire_type

    def member(self, name: str) -> object:
        return self.body.get(name) if isinstance(self.body, dict) else None

    def view(self, side: _Side, aliases: _Aliases) -> dict[str, object]:
        """What is compared: status, content type, error code and modelled members."""
        seen: dict[str, object] = {"status": self.status, "contentType": self.content_type}
        if not isinstance(self.body, dict):
            seen["body"] = f"not a JSON object: {_shorten(repr(self.body))}"
            return seen
        names: Collection[str]
        if self.error:
            code = seen["__type"] = self.outcome()[1]
            names = ERROR_MEMBERS.get(code, ()) if isinstance(code, str) else ()
        else:
            names = sorted(set(self.body) - HONESTLY_DIFFERENT_MEMBERS)
        for name in names:
            seen[name] = _comparable(name, self.body.get(name), side, aliases)
        return seen

    def summary(self, side: _Side, aliases: _Aliases) -> str:
        seen = self.view(side, aliases)
        head = " ".join(str(seen.pop(key)) for key in ("status", "__type") if key in seen)
        content_type = seen.pop("contentType")
        text = f"{head} {json.dumps(seen, sort_keys=True)}"
        if content_type != CONTENT_TYPE:
            text += f" Content-Type: {content_type}"
        message = self.member("message") or self.member("Message")
        return text + (f"  ({_shorten(str(message))})" if message else "")


def _comparable(name: str, value: object, side: _Side, aliases: _Aliases) -> object:
    if value is None:
        return _ABSENT
    if name in _ALIASED_MEMBERS:
        return aliases.label(side, value)
    if isinstance(value, list):
        items = [
            {key: item[key] for key in sorted(item) if key not in HONESTLY_DIFFERENT_MEMBERS}
            if isinstance(item, dict)
            else item
            for item in value
        ]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=repr))
    return value


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Run:
    """One example: a fresh reference registry beside the server, and the calls made."""

    def __init__(
        self,
        server: Server,
        create_repository: Callable[[str], object],
        config: _Config,
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
        self.names = {role: f"{prefix}-{role}" for role in (*_CREATED, _MISSING)}
        for role in _CREATED:
            create_repository(self.names[role])
            self.reference.create_repository(self.names[role])
        self.aliases = _Aliases()
        self.steps: list[_Step] = []
        self.answers: list[tuple[_Answer, _Answer]] = []
        #: The uploads started, by the ordinal of the call that started them.
        self.uploads: dict[int, _Upload] = {}
        self.initiations = 0
        #: (repository role, digest, bytes) of each layer completed.
        self.layers: list[tuple[str, str, bytes]] = []

    # -----------------------------------------------------------------------------------
    # One call to both sides

    def execute(self, step: _Step) -> None:
        """Sends ``step`` to both sides; raises _Difference if the answers differ."""
        target = f"{TARGET_PREFIX}.{step.operation}"
        bodies = {side: self._body(step, side) for side in _Side}
        server = _Answer.of(*self.server(target, bodies[_Side.SERVER]))
        reference = _Answer.of(*handle(self.reference, target, bodies[_Side.REFERENCE]))
        self.steps.append(step)
        self.answers.append((server, reference))
        self._bind_ids(step, server, reference)
        if server.view(_Side.SERVER, self.aliases) != reference.view(_Side.REFERENCE, self.aliases):
            raise _Difference(self)
        if not reference.error:
            self._follow(step, reference)

    def _body(self, step: _Step, side: _Side) -> bytes:
        def wire(value: object) -> object:
            if isinstance(value, _RepositoryRef):
                return self.names[value.role]
            if isinstance(value, _UploadRef):
                upload = self.upload(value)
                return upload.server_id if side is _Side.SERVER else upload.reference_id
            if isinstance(value, bytes):
                return base64.b64encode(value).decode("ascii")
            return value

        return json.dumps({name: wire(value) for name, value in step.request.items()}).encode()

    def upload(self, ref: _UploadRef) -> _Upload:
        upload = self.uploads.get(ref.ordinal)
        if upload is None:
            raise _Unreplayable(ref)
        return upload

    def _bind_ids(self, step: _Step, server: _Answer, reference: _Answer) -> None:
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
            label = f"<upload {len(self.uploads) + 1}>"
            self.aliases.bind(label, reference_upload, server_upload)
            repository = step.request["repositoryName"]
            assert isinstance(repository, _RepositoryRef)
            self.uploads[step.starts] = _Upload(
                step.starts, label, repository.role, reference_upload, server_upload
            )

    def _follow(self, step: _Step, reference: _Answer) -> None:
        """Keeps what the reference accepted (the server agreed)."""
        upload_ref = step.request.get("uploadId")
        if not isinstance(upload_ref, _UploadRef):
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

    # -----------------------------------------------------------------------------------
    # The report

    def difference(self) -> tuple[str, tuple[int, object], tuple[int, object]]:
        """What differs at the last call: the operation, and each side's status and code."""
        server, reference = self.answers[-1]
        return self.steps[-1].operation, server.outcome(), reference.outcome()

    def report(self) -> str:
        lines = [
            f"The server's answer differs from the reference registry's at call "
            f"{len(self.steps)} of this sequence, the shortest found. <upload N> stands for "
            "the id each side gave the Nth upload; messages are shown, not compared.",
        ]
        for number, (step, (server, reference)) in enumerate(
            zip(self.steps, self.answers, strict=True), start=1
        ):
            marker = ">>" if number == len(self.steps) else "  "
            lines.append(f"{marker} {number}. {self._render(step)}")
            lines.append(f"       server:    {server.summary(_Side.SERVER, self.aliases)}")
            lines.append(f"       reference: {reference.summary(_Side.REFERENCE, self.aliases)}")
        return "\n".join(lines)

    def _render(self, step: _Step) -> str:
        def shown(value: object) -> object:
            if isinstance(value, _RepositoryRef):
                return self.names[value.role]
            if isinstance(value, _UploadRef):
                upload = self.uploads.get(value.ordinal)
                return "<an upload no call started>" if upload is None else upload.label
            if isinstance(value, bytes):
                head = value[:SHOWN_BLOB_BYTES].hex()
                more = "..." if len(value) > SHOWN_BLOB_BYTES else ""
                return f"<{len(value)} bytes 0x{head}{more}>"
            return value

        request = {name: shown(value) for name, value in step.request.items()}
        return f"{step.operation} {json.dumps(request)}"

    # -----------------------------------------------------------------------------------
    # What may be sent next

    def enabled(self, fault: Fault) -> bool:
        return fault in self.config.faults

    def addressable(self) -> list[_Upload]:
        """The uploads a call may name: those in progress, and completed ones if enabled."""
        return [
            u
            for u in self.uploads.values()
            if self.enabled(Fault.COMPLETED_UPLOAD) or not u.completed
        ]

    def part_targets(self) -> list[_Upload]:
        return [u for u in self.addressable() if self.part_faults(u)]

    def part_faults(self, upload: _Upload) -> list[Fault | None]:
        """The kinds of part that make sense for ``upload`` now; None is a correct part."""
        choices: list[Fault | None] = []
        if not upload.completed and self._may_add_part(upload):
            choices.append(None)
        for fault in _PART_FAULTS:
            if not self.enabled(fault) or (fault in _AFTER_A_PART and not upload.content):
                continue
            if fault is Fault.TOO_LARGE and not self.config.big_parts:
                continue
            choices.append(fault)
        return choices

    def _may_add_part(self, upload: _Upload) -> bool:
        # Without SMALL_PART, a part under the minimum is always the last part.
        return (
            upload.latest_part is None
            or self.enabled(Fault.SMALL_PART)
            or len(upload.latest_part[1]) >= self.config.limits.min_part_bytes
        )

    def completion_targets(self) -> list[_Upload]:
        held = {(role, digest) for role, digest, _ in self.layers}
        return [
            u
            for u in self.addressable()
            if (u.content or self.enabled(Fault.EMPTY_UPLOAD))
            and (
                u.completed
                or self.enabled(Fault.DUPLICATE_LAYER)
                or (u.role, u.digest()) not in held
            )
        ]

    def repository_roles(self) -> list[str]:
        return [*_CREATED, *([_MISSING] if self.enabled(Fault.MISSING_REPOSITORY) else [])]


def _replay(steps: list[_Step], new_run: Callable[[], _Run]) -> _Run | None:
    """The run of ``steps`` on fresh repositories if an answer differs, else None."""
    run = new_run()
    try:
        for step in steps:
            run.execute(step)
    except _Difference:
        return run
    except _Unreplayable:
        return None
    return None


def _shortest(failed: _Run, new_run: Callable[[], _Run]) -> _Run:
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
            shorter = _replay(best.steps[:index] + best.steps[index + 1 :], new_run)
            if shorter is not None and shorter.difference() == failed.difference():
                best, shrinking = shorter, True
    return best


# ---------------------------------------------------------------------------------------
# The Hypothesis machine: each rule makes one step for the current state


def _machine_class(new_run: Callable[[], _Run]) -> type[RuleBasedStateMachine]:
    class DifferentialMachine(RuleBasedStateMachine):
        """Each step is one call to both sides, compared at once.

        One rule draws the operation among those that make sense now: with a rule per
        operation, Hypothesis's swarm testing would leave all but one or two out of
        most examples, and a push needs three.
        """

        def __init__(self) -> None:
            super().__init__()
            self.run = new_run()

        @rule(data=st.data())
        def call(self, data: st.DataObject) -> None:
            make = data.draw(st.sampled_from(_step_makers(self.run)), "operation")
            self.run.execute(make(data, self.run))

    return DifferentialMachine


def _step_makers(run: _Run) -> list[Callable[[st.DataObject, _Run], _Step]]:
    """What can be called now, the simplest first (Hypothesis shrinks towards it)."""
    makers: list[Callable[[st.DataObject, _Run], _Step]] = [_initiate]
    if run.part_targets():
        makers.append(_upload_part)
    if run.completion_targets():
        makers.append(_complete)
    makers.append(_check)
    if run.enabled(Fault.INVALID_PARAMETER):
        makers.append(_invalid_request)
    return makers


def _initiate(data: st.DataObject, run: _Run) -> _Step:
    role = data.draw(st.sampled_from(run.repository_roles()), "repository")
    run.initiations += 1
    request = {"repositoryName": _RepositoryRef(role)}
    return _Step("InitiateLayerUpload", request, starts=run.initiations)


def _upload_part(data: st.DataObject, run: _Run) -> _Step:
    upload = data.draw(st.sampled_from(run.part_targets()), "upload")
    fault = data.draw(_correct_or_faulty(run.part_faults(upload)), "fault")
    first, last, blob = _part(data, upload, fault, run)
    request = _addressed(data, run, upload)
    request |= {"partFirstByte": first, "partLastByte": last, "layerPartBlob": blob}
    return _Step("UploadLayerPart", request)


def _complete(data: st.DataObject, run: _Run) -> _Step:
    upload = data.draw(st.sampled_from(run.completion_targets()), "upload")
    digests = data.draw(_completion_digests(run, upload), "layerDigests")
    return _Step("CompleteLayerUpload", _addressed(data, run, upload) | {"layerDigests": digests})


def _check(data: st.DataObject, run: _Run) -> _Step:
    role = data.draw(st.sampled_from(run.repository_roles()), "repository")
    digests = data.draw(
        st.lists(_checked_digests(run), min_size=1, max_size=MAX_CHECKED_DIGESTS), "layerDigests"
    )
    request = {"repositoryName": _RepositoryRef(role), "layerDigests": digests}
    return _Step("BatchCheckLayerAvailability", request)


def _correct_or_faulty(choices: list[Fault | None]) -> st.SearchStrategy[Fault | None]:
    """``None`` (the correct call) half the time when it is a choice, else one fault: a
    uniform choice would make a correct call rare beside many faults."""
    faults = [choice for choice in choices if choice is not None]
    if not faults:
        return st.just(None)
    if len(faults) == len(choices):
        return st.sampled_from(faults)
    return st.one_of(st.none(), st.sampled_from(faults))


def _addressed(data: st.DataObject, run: _Run, upload: _Upload) -> dict[str, object]:
    """The repository and upload id of a request about ``upload``, maybe wrong ones."""
    foreign = [u for u in run.uploads.values() if u.role != upload.role]
    choices: list[Fault | None] = [None]
    choices += [
        fault for fault in (Fault.UNKNOWN_UPLOAD_ID, Fault.MISSING_REPOSITORY) if run.enabled(fault)
    ]
    if foreign and run.enabled(Fault.FOREIGN_UPLOAD_ID):
        choices.append(Fault.FOREIGN_UPLOAD_ID)
    address = data.draw(_correct_or_faulty(choices), "address")
    role: str = upload.role
    upload_id: object = _UploadRef(upload.ordinal)
    if address is Fault.FOREIGN_UPLOAD_ID:
        upload_id = _UploadRef(data.draw(st.sampled_from(foreign), "foreign").ordinal)
    elif address is Fault.UNKNOWN_UPLOAD_ID:
        upload_id = _unknown_upload_id(data, run)
    elif address is Fault.MISSING_REPOSITORY:
        role = _MISSING
    return {"repositoryName": _RepositoryRef(role), "uploadId": upload_id}


# ---------------------------------------------------------------------------------------
# What the rules draw


def _part(
    data: st.DataObject, upload: _Upload, fault: Fault | None, run: _Run
) -> tuple[int, int, bytes]:
    """partFirstByte, partLastByte and the blob of a part, correct or with ``fault``."""
    if fault is Fault.RESEND and upload.latest_part is not None:
        first, blob = upload.latest_part
        return first, first + len(blob) - 1, blob
    if fault is None and not upload.content and run.enabled(Fault.DUPLICATE_LAYER):
        # A layer its repository holds, pushed again (random bytes would hardly repeat one).
        held = [content for role, _, content in run.layers if role == upload.role]
        again = data.draw(st.sampled_from([None, *held]), "layer again") if held else None
        if again is not None:
            return 0, len(again) - 1, again
    config = run.config
    small = st.integers(1, SMALL_PART_MAX_BYTES)
    if config.big_parts:
        minimum, maximum = config.limits.min_part_bytes, config.limits.max_part_bytes
        small = st.one_of(small, st.sampled_from((minimum, minimum + 1, minimum - 1, maximum)))
    size = data.draw(small, "size")
    if fault is Fault.TOO_LARGE:
        size = config.limits.max_part_bytes + 1
    elif fault is Fault.EMPTY_BLOB:
        size = 0
    blob = bytes([data.draw(st.integers(0, 255), "byte")]) * size
    offset = data.draw(st.integers(1, MAX_FAULT_OFFSET), "offset") if fault else 0
    first = len(upload.content)
    if fault is Fault.GAP:
        first += offset
    elif fault is Fault.OVERLAP:
        first = max(first - offset, 0)
    last = first + max(size, 1) - 1
    if fault is Fault.LENGTH_MISMATCH:
        last += offset
    elif fault is Fault.REVERSED_RANGE:
        first, last = first + offset, first
    return first, last, blob


# Built once: Hypothesis describes each mapped or filtered strategy when it is made.
_DIGESTS: Final = strategies.layer_digests().map(str)
_ANY_DIGESTS: Final = strategies.layer_digests(algorithms=None).map(str)
_UPLOAD_IDS: Final = strategies.upload_ids().map(str)
#: Texts no LayerDigest accepts, within the 1000 characters of a BatchedOperationLayerDigest.
_MALFORMED_DIGESTS: Final = strategies.invalid_layer_digests(
    [v for v in strategies.Violation if v is not strategies.Violation.WRONG_TYPE]
).map(lambda pair: str(pair[1])[:MAX_BATCHED_DIGEST_LENGTH])


def _upper_hex(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}:{hexdigest.upper()}"


def _completion_digests(run: _Run, upload: _Upload) -> st.SearchStrategy[list[str]]:
    right = upload.digest()
    choices = [st.just([right])]
    if run.enabled(Fault.WRONG_DIGEST):
        # A drawn digest may happen to be the right one: the reference says which it is.
        choices += [
            st.lists(_DIGESTS, min_size=1, max_size=2),
            st.tuples(_DIGESTS, st.just(right)).map(list),
        ]
    if run.enabled(Fault.UNUSUAL_DIGEST):
        choices.append(st.just([_upper_hex(right)]))
    return st.one_of(choices)


def _checked_digests(run: _Run) -> st.SearchStrategy[str]:
    """Digests to check: held and missing ones; unusual and malformed ones if enabled."""
    held = [digest for _, digest, _ in run.layers]
    kinds = [_DIGESTS, *([st.sampled_from(held)] if held else [])]
    if run.enabled(Fault.UNUSUAL_DIGEST):
        kinds.append(_ANY_DIGESTS)
        if held:
            kinds.append(st.sampled_from([_upper_hex(digest) for digest in held]))
    if run.enabled(Fault.MALFORMED_DIGEST):
        kinds.append(_MALFORMED_DIGESTS)
    return st.one_of(kinds)


def _unknown_upload_id(data: st.DataObject, run: _Run) -> str:
    upload_id = data.draw(_UPLOAD_IDS, "unknown upload id")
    # The simplest UUID is the reference's first: an issued id is not unknown.
    hypothesis.assume(
        all(upload_id not in (u.server_id, u.reference_id) for u in run.uploads.values())
    )
    return upload_id


_OPERATIONS: Final = tuple(LAYER_OPERATIONS)
_NEGATIVE_OR_TEXT: Final = st.one_of(st.integers(max_value=-1), st.just("0"))


@functools.cache
def _invalid_members(
    operation: str, grammar: RepositoryGrammar
) -> st.SearchStrategy[tuple[str, object]]:
    """A member of ``operation`` and a value its type or constraint refuses."""
    members: dict[str, st.SearchStrategy[object]] = {
        "registryId": strategies.invalid_registry_ids().map(_second),
        "repositoryName": strategies.invalid_repository_names(grammar).map(_second),
    }
    if operation in ("UploadLayerPart", "CompleteLayerUpload"):
        members["uploadId"] = strategies.invalid_upload_ids().map(_second)
    if operation == "UploadLayerPart":
        members["partFirstByte"] = members["partLastByte"] = _NEGATIVE_OR_TEXT
    if operation == "CompleteLayerUpload":
        members["layerDigests"] = st.one_of(
            st.just([]), strategies.invalid_layer_digests().map(lambda pair: [pair[1]])
        )
    if operation == "BatchCheckLayerAvailability":
        members["layerDigests"] = st.just([])
    return st.one_of([st.tuples(st.just(name), values) for name, values in members.items()])


def _second(pair: tuple[object, object]) -> object:
    return pair[1]


def _invalid_request(data: st.DataObject, run: _Run) -> _Step:
    """A request of any operation, valid but for one member."""
    operation = data.draw(st.sampled_from(_OPERATIONS), "operation")
    role = data.draw(st.sampled_from(run.repository_roles()), "repository")
    request: dict[str, object] = {"repositoryName": _RepositoryRef(role)}
    if operation in ("UploadLayerPart", "CompleteLayerUpload"):
        request["uploadId"] = (
            _UploadRef(data.draw(st.sampled_from(list(run.uploads)), "upload"))
            if run.uploads
            else _unknown_upload_id(data, run)
        )
    if operation == "UploadLayerPart":
        request |= {"partFirstByte": 0, "partLastByte": 0, "layerPartBlob": b"\0"}
    if operation in ("CompleteLayerUpload", "BatchCheckLayerAvailability"):
        request["layerDigests"] = [data.draw(_DIGESTS, "digest")]
    name, value = data.draw(_invalid_members(operation, run.config.grammar), "invalid member")
    return _Step(operation, {**request, name: value})
