"""The catalogue of faults: each part fault is shaped as it is described and refused with
the error the catalogue names, and the differential tester, given one fault alone, draws
that fault's error and no other."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_values import SMALL
from test_session import holding, part

from ecr_upload_model import (
    EcrError,
    InvalidLayerPartException,
    Registry,
    SerializationException,
)
from ecr_upload_model._faults import (
    AFTER_A_PART,
    PART_FAULTS,
    PART_SHAPES,
    Fault,
    PartPoint,
    PartShape,
)
from ecr_upload_model.strategies import LAYER_UPLOAD_FAULTS
from ecr_upload_model.testing import compare_with_reference
from ecr_upload_model.wire import handle


def test_every_fault_is_described_and_every_part_fault_shaped() -> None:
    assert all(fault.description for fault in Fault)
    # A part's own fault is what the session refuses as an invalid part, and has a shape.
    invalid_parts = tuple(f for f in Fault if f.error is InvalidLayerPartException)
    assert PART_FAULTS == invalid_parts == tuple(PART_SHAPES)
    assert set(PART_FAULTS) >= AFTER_A_PART
    assert set(PART_FAULTS) <= set(LAYER_UPLOAD_FAULTS)


def check_shape(fault: Fault, shape: PartShape, at: PartPoint) -> None:
    """The fault's description, from the bytes held and the part accepted last."""
    first, last, size = shape.first, shape.last, shape.blob_size
    matches_range = size == last - first + 1
    if fault is Fault.GAP:
        assert at.held < first <= at.held + at.reach
        assert matches_range
    elif fault is Fault.OVERLAP:
        assert at.held - at.reach <= first < at.held <= last
        assert matches_range
    elif fault is Fault.RESEND:
        assert (first, last) == at.latest
        assert matches_range
    elif fault is Fault.TOO_LARGE:
        assert (first, size) == (at.held, at.max_part_bytes + 1)
        assert matches_range
    elif fault is Fault.LENGTH_MISMATCH:
        assert first == at.held <= last
        assert 0 < size <= at.part_size + 1
        assert not matches_range
    elif fault is Fault.REVERSED_RANGE:
        assert first - at.reach <= last < first
    else:
        assert fault is Fault.EMPTY_BLOB
        assert (first, last, size) == (at.held, at.held, 0)


@given(
    held=st.lists(st.integers(SMALL.min_part_bytes, SMALL.max_part_bytes), max_size=3),
    fault=st.sampled_from(PART_FAULTS),
    part_size=st.integers(1, SMALL.max_part_bytes),
    reach=st.sampled_from([1, 3, 2**63 - 1]),
    data=st.data(),
)
def test_each_part_shape_is_its_fault_and_draws_its_error(
    held: list[int], fault: Fault, part_size: int, reach: int, data: st.DataObject
) -> None:
    if fault in AFTER_A_PART and not held:
        return
    session = holding(*(bytes(size) for size in held))
    last = session.last_byte_received
    point = PartPoint(
        held=session.bytes_received,
        latest=None if last is None else (last - held[-1] + 1, last),
        part_size=part_size,
        max_part_bytes=SMALL.max_part_bytes,
        reach=reach,
    )
    shape = PART_SHAPES[fault](point, lambda low, high: data.draw(st.integers(low, high)))
    check_shape(fault, shape, point)
    assert fault.error is not None
    with pytest.raises(fault.error):
        session.upload_part(part(shape.first, bytes(shape.blob_size), last=shape.last))


# ---------------------------------------------------------------------------------------
# The differential tester: one fault alone draws its error, and only it

#: Few calls, the same on every run; small limits, so that every part fault is made.
ONE_FAULT = settings(max_examples=30, stateful_step_count=12, derandomize=True, database=None)
#: Faults that only a longer chain of calls provokes, with longer sequences: a duplicate
#: layer takes six calls (a push, then the same layer pushed again into the same
#: repository), a small part four. Over 16 random seeds, 150 sequences of up to 12 calls
#: provoked them in 14 and 15 of the runs; 60 of up to 25 calls in all 16, in half the time.
LONG_CHAINS: Mapping[Fault, settings] = {
    fault: settings(ONE_FAULT, max_examples=60, stateful_step_count=25)
    for fault in (Fault.DUPLICATE_LAYER, Fault.SMALL_PART)
}

#: What else a fault may draw: a member of the wrong JSON type is unreadable before any
#: constraint is judged.
ALSO_DRAWS: Mapping[Fault, frozenset[type[EcrError]]] = {
    Fault.INVALID_PARAMETER: frozenset({SerializationException}),
}


def answers_with_only(fault: Fault) -> list[dict[str, object]]:
    """The answers the package's own server gave to a run with ``fault`` alone."""
    registry = Registry("210987654321", limits=SMALL)
    answers: list[dict[str, object]] = []

    def server(target: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        status, headers, answer = handle(registry, target, body)
        answers.append({"status": status, **json.loads(answer)})
        return status, headers, answer

    compare_with_reference(
        server,
        registry.create_repository,
        limits=SMALL,
        faults={fault},
        big_parts=True,
        settings=LONG_CHAINS.get(fault, ONE_FAULT),
    )
    return answers


@pytest.mark.parametrize("fault", list(Fault), ids=lambda fault: fault.name)
def test_the_tester_given_one_fault_draws_its_error_and_no_other(fault: Fault) -> None:
    answers = answers_with_only(fault)
    drawn = {answer["__type"] for answer in answers if "__type" in answer}
    allowed = {error.code for error in ALSO_DRAWS.get(fault, frozenset())}
    if fault.error is None:
        assert drawn == set()
    else:
        assert fault.error.code in drawn
        allowed.add(fault.error.code)
    assert drawn <= allowed


def test_a_malformed_digest_is_answered_as_a_failure_not_refused() -> None:
    answers = answers_with_only(Fault.MALFORMED_DIGEST)
    codes = {
        failure["failureCode"]
        for answer in answers
        if isinstance(answer.get("failures"), list)
        for failure in answer["failures"]  # type: ignore[attr-defined]
    }
    assert "InvalidLayerDigest" in codes
