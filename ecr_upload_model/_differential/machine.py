"""Which call comes next: the Hypothesis state machine of a differential run.

Each step draws one call that makes sense for what the reference has accepted so far
(the run's books) and the faults the caller enabled, and sends it to both sides. Part
faults are shaped by the catalogue (:data:`~ecr_upload_model._faults.PART_SHAPES`), as
the strategies shape them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

import hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from .. import strategies
from .._faults import AFTER_A_PART, PART_FAULTS, PART_SHAPES, Fault, PartPoint
from ..identifiers import RepositoryGrammar
from ..operations import (
    BATCHED_LAYER_DIGEST_LIST,
    BATCHED_OPERATION_LAYER_DIGEST,
    LAYER_DIGEST_LIST,
    LAYER_OPERATIONS,
    PART_SIZE,
)
from .calls import CREATED, MISSING, RepositoryRef, Step, UploadRef
from .runner import Run, Upload

#: Parts of the fast default: a few bytes each, so that a run takes seconds.
SMALL_PART_MAX_BYTES: Final = 8
#: How far a gap, an overlap or a length mismatch is off.
MAX_FAULT_OFFSET: Final = 3
#: Digests per BatchCheckLayerAvailability call (the API allows 100).
MAX_CHECKED_DIGESTS: Final = 4


def machine_class(new_run: Callable[[], Run]) -> type[RuleBasedStateMachine]:
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
            choices = Choices(self.run)
            make = data.draw(st.sampled_from(step_makers(choices)), "operation")
            self.run.execute(make(data, choices))

    return DifferentialMachine


class Choices:
    """What may be sent next: read from the run's books and the faults enabled."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.config = run.config
        self.books = run.books

    def enabled(self, fault: Fault) -> bool:
        return fault in self.config.faults

    def next_ordinal(self) -> int:
        """The ordinal of the upload the next InitiateLayerUpload starts."""
        return 1 + sum(step.starts is not None for step in self.run.steps)

    def addressable(self) -> list[Upload]:
        """The uploads a call may name: those in progress, and completed ones if enabled."""
        return [
            u
            for u in self.books.uploads.values()
            if self.enabled(Fault.COMPLETED_UPLOAD) or not u.completed
        ]

    def part_targets(self) -> list[Upload]:
        return [u for u in self.addressable() if self.part_faults(u)]

    def part_faults(self, upload: Upload) -> list[Fault | None]:
        """The kinds of part that make sense for ``upload`` now; None is a correct part."""
        choices: list[Fault | None] = []
        if not upload.completed and self._may_add_part(upload):
            choices.append(None)
        for fault in PART_FAULTS:
            if not self.enabled(fault) or (fault in AFTER_A_PART and not upload.content):
                continue
            if fault is Fault.TOO_LARGE and not self.config.big_parts:
                continue
            choices.append(fault)
        return choices

    def _may_add_part(self, upload: Upload) -> bool:
        # Without SMALL_PART, a part under the minimum is always the last part.
        return (
            upload.latest_part is None
            or self.enabled(Fault.SMALL_PART)
            or len(upload.latest_part[1]) >= self.config.limits.min_part_bytes
        )

    def completion_targets(self) -> list[Upload]:
        held = {(role, digest) for role, digest, _ in self.books.layers}
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
        return [*CREATED, *([MISSING] if self.enabled(Fault.MISSING_REPOSITORY) else [])]


StepMaker = Callable[[st.DataObject, Choices], Step]


def step_makers(choices: Choices) -> list[StepMaker]:
    """What can be called now, the simplest first (Hypothesis shrinks towards it)."""
    makers: list[StepMaker] = [_initiate]
    if choices.part_targets():
        makers.append(_upload_part)
    if choices.completion_targets():
        makers.append(_complete)
    makers.append(_check)
    if choices.enabled(Fault.INVALID_PARAMETER):
        makers.append(_invalid_request)
    return makers


def _initiate(data: st.DataObject, choices: Choices) -> Step:
    role = data.draw(st.sampled_from(choices.repository_roles()), "repository")
    request = {"repositoryName": RepositoryRef(role)}
    return Step("InitiateLayerUpload", request, starts=choices.next_ordinal())


def _upload_part(data: st.DataObject, choices: Choices) -> Step:
    upload = data.draw(st.sampled_from(choices.part_targets()), "upload")
    fault = data.draw(_correct_or_faulty(choices.part_faults(upload)), "fault")
    first, last, blob = _part(data, upload, fault, choices)
    request = _addressed(data, choices, upload)
    request |= {"partFirstByte": first, "partLastByte": last, "layerPartBlob": blob}
    return Step("UploadLayerPart", request)


def _complete(data: st.DataObject, choices: Choices) -> Step:
    upload = data.draw(st.sampled_from(choices.completion_targets()), "upload")
    digests = data.draw(_completion_digests(choices, upload), "layerDigests")
    return Step(
        "CompleteLayerUpload", _addressed(data, choices, upload) | {"layerDigests": digests}
    )


def _check(data: st.DataObject, choices: Choices) -> Step:
    role = data.draw(st.sampled_from(choices.repository_roles()), "repository")
    digests = data.draw(
        st.lists(
            _checked_digests(choices),
            min_size=BATCHED_LAYER_DIGEST_LIST.min_items,
            max_size=MAX_CHECKED_DIGESTS,
        ),
        "layerDigests",
    )
    request = {"repositoryName": RepositoryRef(role), "layerDigests": digests}
    return Step("BatchCheckLayerAvailability", request)


def _correct_or_faulty(choices: list[Fault | None]) -> st.SearchStrategy[Fault | None]:
    """``None`` (the correct call) half the time when it is a choice, else one fault: a
    uniform choice would make a correct call rare beside many faults."""
    faults = [choice for choice in choices if choice is not None]
    if not faults:
        return st.just(None)
    if len(faults) == len(choices):
        return st.sampled_from(faults)
    return st.one_of(st.none(), st.sampled_from(faults))


def _addressed(data: st.DataObject, choices: Choices, upload: Upload) -> dict[str, object]:
    """The repository and upload id of a request about ``upload``, maybe wrong ones."""
    foreign = [u for u in choices.books.uploads.values() if u.role != upload.role]
    options: list[Fault | None] = [None]
    options += [
        fault
        for fault in (Fault.UNKNOWN_UPLOAD_ID, Fault.MISSING_REPOSITORY)
        if choices.enabled(fault)
    ]
    if foreign and choices.enabled(Fault.FOREIGN_UPLOAD_ID):
        options.append(Fault.FOREIGN_UPLOAD_ID)
    address = data.draw(_correct_or_faulty(options), "address")
    role: str = upload.role
    upload_id: object = UploadRef(upload.ordinal)
    if address is Fault.FOREIGN_UPLOAD_ID:
        upload_id = UploadRef(data.draw(st.sampled_from(foreign), "foreign").ordinal)
    elif address is Fault.UNKNOWN_UPLOAD_ID:
        upload_id = _unknown_upload_id(data, choices)
    elif address is Fault.MISSING_REPOSITORY:
        role = MISSING
    return {"repositoryName": RepositoryRef(role), "uploadId": upload_id}


# ---------------------------------------------------------------------------------------
# What the rules draw


def _part(
    data: st.DataObject, upload: Upload, fault: Fault | None, choices: Choices
) -> tuple[int, int, bytes]:
    """partFirstByte, partLastByte and the blob of a part, correct or with ``fault``."""
    limits = choices.config.limits
    if fault is None and not upload.content and choices.enabled(Fault.DUPLICATE_LAYER):
        # A layer its repository holds, pushed again (random bytes would hardly repeat one)
        # as one part: one that fits in a part.
        layers = [
            content
            for role, _, content in choices.books.layers
            if role == upload.role and len(content) <= limits.max_part_bytes
        ]
        again = data.draw(st.sampled_from([None, *layers]), "layer again") if layers else None
        if again is not None:
            return 0, len(again) - 1, again
    sizes = st.integers(1, SMALL_PART_MAX_BYTES)
    if choices.config.big_parts:
        minimum, maximum = limits.min_part_bytes, limits.max_part_bytes
        sizes = st.one_of(sizes, st.sampled_from((minimum, minimum + 1, minimum - 1, maximum)))
    size = data.draw(sizes, "size")
    filler = bytes([data.draw(st.integers(0, 255), "byte")])
    held = len(upload.content)
    if fault is None:
        return held, held + size - 1, filler * size
    latest = upload.latest_part
    point = PartPoint(
        held=held,
        latest=None if latest is None else (latest[0], latest[0] + len(latest[1]) - 1),
        part_size=size,
        max_part_bytes=limits.max_part_bytes,
        reach=MAX_FAULT_OFFSET,
    )
    shape = PART_SHAPES[fault](point, lambda low, high: data.draw(st.integers(low, high)))
    # The bytes held where the part covers them (a re-sent part is the same part), the
    # filler past them.
    covered = bytes(upload.content[shape.first : shape.first + shape.blob_size])
    return shape.first, shape.last, covered + filler * (shape.blob_size - len(covered))


# Built once: Hypothesis describes each mapped or filtered strategy when it is made.
_DIGESTS: Final = strategies.layer_digests().map(str)
_ANY_DIGESTS: Final = strategies.layer_digests(algorithms=None).map(str)
_UPLOAD_IDS: Final = strategies.upload_ids().map(str)
#: Texts no LayerDigest accepts, within the length of a BatchedOperationLayerDigest.
_MALFORMED_DIGESTS: Final = strategies.invalid_layer_digests(
    [v for v in strategies.Violation if v is not strategies.Violation.WRONG_TYPE]
).map(lambda pair: str(pair[1])[: BATCHED_OPERATION_LAYER_DIGEST.max_length])


def _upper_hex(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}:{hexdigest.upper()}"


def _completion_digests(choices: Choices, upload: Upload) -> st.SearchStrategy[list[str]]:
    right = upload.digest()
    options = [st.just([right])]
    if choices.enabled(Fault.WRONG_DIGEST):
        # A drawn digest may happen to be the right one: the reference says which it is.
        options += [
            st.lists(_DIGESTS, min_size=LAYER_DIGEST_LIST.min_items, max_size=2),
            st.tuples(_DIGESTS, st.just(right)).map(list),
        ]
    if choices.enabled(Fault.UNUSUAL_DIGEST):
        options.append(st.just([_upper_hex(right)]))
    return st.one_of(options)


def _checked_digests(choices: Choices) -> st.SearchStrategy[str]:
    """Digests to check: held and missing ones; unusual and malformed ones if enabled."""
    held = [digest for _, digest, _ in choices.books.layers]
    kinds = [_DIGESTS, *([st.sampled_from(held)] if held else [])]
    if choices.enabled(Fault.UNUSUAL_DIGEST):
        kinds.append(_ANY_DIGESTS)
        if held:
            kinds.append(st.sampled_from([_upper_hex(digest) for digest in held]))
    if choices.enabled(Fault.MALFORMED_DIGEST):
        kinds.append(_MALFORMED_DIGESTS)
    return st.one_of(kinds)


def _unknown_upload_id(data: st.DataObject, choices: Choices) -> str:
    upload_id = data.draw(_UPLOAD_IDS, "unknown upload id")
    # The simplest UUID is the reference's first: an issued id is not unknown.
    hypothesis.assume(
        all(upload_id not in (u.server_id, u.reference_id) for u in choices.books.uploads.values())
    )
    return upload_id


_OPERATIONS: Final = tuple(LAYER_OPERATIONS)
#: Part offsets PART_SIZE refuses: under its minimum, or text.
_INVALID_OFFSETS: Final = st.one_of(
    st.nothing() if PART_SIZE.minimum is None else st.integers(max_value=PART_SIZE.minimum - 1),
    st.just("0"),
)


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
        members["partFirstByte"] = members["partLastByte"] = _INVALID_OFFSETS
    if operation == "CompleteLayerUpload":
        members["layerDigests"] = st.one_of(
            st.lists(_DIGESTS, max_size=LAYER_DIGEST_LIST.min_items - 1),
            strategies.invalid_layer_digests().map(lambda pair: [pair[1]]),
        )
    if operation == "BatchCheckLayerAvailability":
        members["layerDigests"] = st.lists(
            _DIGESTS, max_size=BATCHED_LAYER_DIGEST_LIST.min_items - 1
        )
    return st.one_of([st.tuples(st.just(name), values) for name, values in members.items()])


def _second(pair: tuple[object, object]) -> object:
    return pair[1]


def _invalid_request(data: st.DataObject, choices: Choices) -> Step:
    """A request of any operation, valid but for one member."""
    operation = data.draw(st.sampled_from(_OPERATIONS), "operation")
    role = data.draw(st.sampled_from(choices.repository_roles()), "repository")
    request: dict[str, object] = {"repositoryName": RepositoryRef(role)}
    uploads = choices.books.uploads
    if operation in ("UploadLayerPart", "CompleteLayerUpload"):
        request["uploadId"] = (
            UploadRef(data.draw(st.sampled_from(list(uploads)), "upload"))
            if uploads
            else _unknown_upload_id(data, choices)
        )
    if operation == "UploadLayerPart":
        request |= {"partFirstByte": 0, "partLastByte": 0, "layerPartBlob": b"\0"}
    if operation in ("CompleteLayerUpload", "BatchCheckLayerAvailability"):
        request["layerDigests"] = [data.draw(_DIGESTS, "digest")]
    name, value = data.draw(_invalid_members(operation, choices.config.grammar), "invalid member")
    return Step(operation, {**request, name: value})
