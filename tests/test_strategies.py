"""The public strategies make what their docstrings promise, judged here without them."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import Phase, Verbosity, find, given, settings
from hypothesis import strategies as st
from shared_values import SMALL

from ecr_upload_model import (
    API_LIMITS,
    LayerDigest,
    RepositoryGrammar,
    UploadLayerPartRequest,
    UsageError,
)
from ecr_upload_model.identifiers import LAYER_DIGEST, REGISTRY_ID, UPLOAD_ID, TextRule
from ecr_upload_model.strategies import (
    LAYER_UPLOAD_FAULTS,
    Fault,
    LayerUpload,
    Violation,
    batch_check_layer_availability_requests,
    complete_layer_upload_requests,
    faulty_layer_uploads,
    initiate_layer_upload_requests,
    invalid_layer_digests,
    invalid_registry_ids,
    invalid_repository_names,
    invalid_upload_ids,
    layer_digests,
    layer_uploads,
    repository_names,
    upload_layer_part_requests,
)

SEED, OCI = RepositoryGrammar.SEED, RepositoryGrammar.OCI
T = TypeVar("T")


def some(values: st.SearchStrategy[T], condition: Callable[[T], bool]) -> T:
    """A value of ``values`` that meets ``condition`` (the first found: no shrinking)."""
    quick = settings(
        phases=[Phase.generate], database=None, max_examples=500, verbosity=Verbosity.quiet
    )
    return find(values, condition, settings=quick)


def test_importing_the_core_imports_neither_hypothesis_nor_the_strategies() -> None:
    program = """
import pkgutil, importlib, sys
import ecr_upload_model
optional = {
    "ecr_upload_model.strategies",
    "ecr_upload_model.testing",
    "ecr_upload_model._differential.machine",  # the tester's Hypothesis machine
    "ecr_upload_model._pattern_texts",  # the strategies' texts of a pattern
    "ecr_upload_model.__main__",
}
for info in pkgutil.walk_packages(ecr_upload_model.__path__, "ecr_upload_model."):
    if info.name not in optional:
        importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "hypothesis" or m in optional)
print(loaded)
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------
# Identifiers


@pytest.mark.parametrize("grammar", list(RepositoryGrammar))
@pytest.mark.parametrize("length", [2, 256])
def test_repository_names_reach_both_length_bounds(grammar: RepositoryGrammar, length: int) -> None:
    name = some(repository_names(grammar), lambda name: len(str(name)) == length)
    assert len(str(name)) == length


@pytest.mark.parametrize("separator", ["__", "--", "/", "."])
def test_oci_repository_names_use_every_separator(separator: str) -> None:
    assert separator in str(some(repository_names(OCI), lambda name: separator in str(name)))


def test_layer_digests_are_digests_of_bytes_under_the_algorithms_asked_for() -> None:
    @given(layer_digests(["sha256", "sha512"]))
    def check(digest: LayerDigest) -> None:
        assert digest.algorithm in {"sha256", "sha512"}
        assert len(digest.hex) == 2 * hashlib.new(digest.algorithm).digest_size
        assert digest.hex == digest.hex.lower()

    check()


def test_layer_digests_of_any_algorithm_use_the_published_pattern() -> None:
    mixed_case = some(layer_digests(None), lambda digest: digest.hex != digest.hex.lower())
    assert mixed_case.hex != mixed_case.hex.lower()
    punctuated = some(layer_digests(None), lambda digest: not digest.algorithm.isalnum())
    assert not punctuated.algorithm.isalnum()


@pytest.mark.parametrize("algorithms", [["sha256", "no-such-hash"], ["shake_128"], []])
def test_layer_digests_of_unusable_algorithms_is_a_usage_error(algorithms: list[str]) -> None:
    with pytest.raises(UsageError):
        layer_digests(algorithms)


# Each invalid strategy with the rule it breaks.
INVALID: list[tuple[str, Callable[..., st.SearchStrategy[tuple[Violation, object]]], TextRule]] = [
    ("RegistryId", invalid_registry_ids, REGISTRY_ID),
    ("RepositoryName/seed", lambda v=None: invalid_repository_names(SEED, v), SEED.value),
    ("RepositoryName/oci", lambda v=None: invalid_repository_names(OCI, v), OCI.value),
    ("UploadId", invalid_upload_ids, UPLOAD_ID),
    ("LayerDigest", invalid_layer_digests, LAYER_DIGEST),
]
NOT_APPLICABLE = {("RegistryId", Violation.BAD_SEPARATOR), ("LayerDigest", Violation.TOO_LONG)}
# What each identifier may be written with (docs/ecr-layer-upload.md, section 3).
DIGITS = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
ALPHABETS = {
    "RegistryId": DIGITS,
    "RepositoryName/seed": LOWER + DIGITS + "._-/",
    "RepositoryName/oci": LOWER + DIGITS + "._-/",
    "UploadId": DIGITS + "abcdefABCDEF-",
    "LayerDigest": LOWER + LOWER.upper() + DIGITS + "-_+.:",
}


def within_length(rule: TextRule, text: str) -> bool:
    return (rule.min_length or 0) <= len(text) <= (rule.max_length or len(text))


@pytest.mark.parametrize(("kind", "invalid", "rule"), INVALID, ids=[i[0] for i in INVALID])
@given(data=st.data())
def test_invalid_values_break_the_rule_they_are_labelled_with(
    kind: str,
    invalid: Callable[..., st.SearchStrategy[tuple[Violation, object]]],
    rule: TextRule,
    data: st.DataObject,
) -> None:
    violation, value = data.draw(invalid())
    if violation is Violation.WRONG_TYPE:
        assert not isinstance(value, str)
        assert value is not None
        return
    assert isinstance(value, str)
    assert not (within_length(rule, value) and re.fullmatch(rule.published, value))
    has_bounds = rule.min_length is not None
    if violation is Violation.TOO_SHORT and has_bounds:
        assert len(value) < (rule.min_length or 0)
    elif violation is Violation.TOO_LONG and has_bounds:
        assert len(value) > (rule.max_length or 0)
    else:
        assert within_length(rule, value)
    if violation is Violation.TRAILING_NEWLINE:
        assert value.endswith("\n")
        assert re.fullmatch(rule.published, value[:-1])
    if violation is Violation.NON_ASCII_DIGIT:
        assert any(c.isdecimal() and not c.isascii() for c in value)
    foreign = [c for c in value if c not in ALPHABETS[kind]]
    if violation is Violation.BAD_CHARACTER:
        assert foreign
        assert not any(c.isdecimal() and not c.isascii() for c in value)
    if violation in (Violation.BAD_SEPARATOR, Violation.TOO_SHORT, Violation.TOO_LONG):
        assert not foreign


@pytest.mark.parametrize(("kind", "invalid", "rule"), INVALID, ids=[i[0] for i in INVALID])
@pytest.mark.parametrize("violation", list(Violation))
def test_every_applicable_violation_is_made(
    kind: str,
    invalid: Callable[..., st.SearchStrategy[tuple[Violation, object]]],
    rule: TextRule,
    violation: Violation,
) -> None:
    if (kind, violation) in NOT_APPLICABLE:
        with pytest.raises(UsageError):
            invalid([violation])
        return
    label, _ = some(invalid([violation]), lambda pair: True)
    assert label is violation


# ---------------------------------------------------------------------------------------
# Wire requests


@given(upload_layer_part_requests(blob_sizes=st.integers(0, 40)))
def test_part_request_ranges_hold_their_blob(obj: dict[str, object]) -> None:
    request = UploadLayerPartRequest.from_wire(obj)
    span = request.part_last_byte - request.part_first_byte + 1
    assert span == max(len(request.layer_part_blob), 1)


@pytest.mark.parametrize(
    "objects",
    [
        initiate_layer_upload_requests(),
        upload_layer_part_requests(),
        complete_layer_upload_requests(),
        batch_check_layer_availability_requests(),
    ],
)
def test_requests_come_with_and_without_a_registry_id(
    objects: st.SearchStrategy[dict[str, object]],
) -> None:
    assert "registryId" in some(objects, lambda obj: "registryId" in obj)
    assert "registryId" not in some(objects, lambda obj: "registryId" not in obj)


# ---------------------------------------------------------------------------------------
# A layer's parts


def ranges(upload: LayerUpload) -> list[tuple[int, int]]:
    return [(s.request.part_first_byte, s.request.part_last_byte) for s in upload.steps]


def test_layer_cut_in_parts_of_a_given_size() -> None:
    upload = some(layer_uploads(layer_sizes=10, part_sizes=4), lambda upload: True)
    assert ranges(upload) == [(0, 3), (4, 7), (8, 9)]
    empty = some(layer_uploads(layer_sizes=0, part_sizes=4), lambda upload: True)
    assert empty.steps == ()


@given(layer_uploads(part_sizes=st.integers(1, 64), limits=SMALL))
def test_valid_parts_are_the_layer_in_order_the_last_shorter(upload: LayerUpload) -> None:
    assert all(step.fault is None for step in upload.steps)
    assert b"".join(bytes(s.request.layer_part_blob) for s in upload.steps) == upload.layer
    assert upload.part_size <= SMALL.max_part_bytes
    expected_first = 0
    for index, step in enumerate(upload.steps):
        size = len(step.request.layer_part_blob)
        assert step.request.part_first_byte == expected_first
        assert step.request.part_last_byte == expected_first + size - 1
        assert 0 < size <= upload.part_size
        if index < len(upload.steps) - 1:
            assert size == upload.part_size
        assert step.request.upload_id == upload.upload_id
        assert step.request.repository_name == upload.repository_name
        assert step.request.registry_id in (None, upload.registry_id)
        expected_first += size


def check_fault(
    fault: Fault,
    request: UploadLayerPartRequest,
    held: int,
    latest: UploadLayerPartRequest | None,
    upload: LayerUpload,
) -> None:
    """The fault's definition, from the bytes held and the part accepted last."""
    first, last = request.part_first_byte, request.part_last_byte
    size = len(request.layer_part_blob)
    matches_range = size == last - first + 1
    assert (request.upload_id != upload.upload_id) == (fault is Fault.FOREIGN_UPLOAD_ID)
    if fault is Fault.GAP:
        assert first > held
        assert matches_range
    elif fault is Fault.OVERLAP:
        assert first < held <= last
        assert matches_range
    elif fault is Fault.RESEND:
        assert request == latest
    elif fault is Fault.TOO_LARGE:
        assert (first, size) == (held, SMALL.max_part_bytes + 1)
        assert matches_range
    elif fault is Fault.LENGTH_MISMATCH:
        assert first == held <= last
        assert size > 0
        assert not matches_range
    elif fault is Fault.REVERSED_RANGE:
        assert last < first
    elif fault is Fault.EMPTY_BLOB:
        assert size == 0
    else:
        assert first == held
        assert matches_range


@given(faulty_layer_uploads(part_sizes=st.integers(1, 16), limits=SMALL))
def test_faulty_parts_are_what_their_labels_say(upload: LayerUpload) -> None:
    held, latest, layer = 0, None, bytearray()
    for step in upload.steps:
        if step.fault is None:
            assert step.request.part_first_byte == held
            layer += step.request.layer_part_blob
            held, latest = len(layer), step.request
        else:
            check_fault(step.fault, step.request, held, latest, upload)
    assert bytes(layer) == upload.layer


@pytest.mark.parametrize("fault", LAYER_UPLOAD_FAULTS)
def test_every_fault_is_put_in(fault: Fault) -> None:
    faults = faulty_layer_uploads(layer_sizes=20, part_sizes=8, limits=SMALL, faults=[fault])
    upload = some(faults, lambda upload: any(step.fault is fault for step in upload.steps))
    assert any(step.fault is fault for step in upload.steps)


@given(
    faulty_layer_uploads(
        layer_sizes=st.integers(0, 20), part_sizes=8, limits=API_LIMITS, faults=[Fault.TOO_LARGE]
    )
)
def test_no_part_too_large_under_the_api_maximum(upload: LayerUpload) -> None:
    assert all(step.fault is None for step in upload.steps)


def test_faulty_uploads_without_faults_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        faulty_layer_uploads(faults=[])


@pytest.mark.parametrize("fault", sorted(set(Fault) - set(LAYER_UPLOAD_FAULTS), key=str))
def test_faulty_uploads_of_a_fault_that_needs_a_registry_is_a_usage_error(fault: Fault) -> None:
    with pytest.raises(UsageError, match=fault.name):
        faulty_layer_uploads(faults=[Fault.GAP, fault])
