"""The differential tester: it finds nothing against the package's own wire entry, even
when the answers differ in what may honestly differ; it finds moto's known divergences
and reports each as its shortest call sequence."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping

import pytest
from hypothesis import settings

from ecr_upload_model import Registry, UsageError
from ecr_upload_model.testing import Fault, Server, compare_with_reference
from ecr_upload_model.wire import CONTENT_TYPE, TARGET_PREFIX, handle

#: Small runs, the same on every run: each test takes a few seconds.
QUICK = settings(max_examples=25, stateful_step_count=10, derandomize=True, database=None)
#: For a search that must find a divergence: it stops at the first one found, so a larger
#: budget costs nothing when it finds one early; whether 25 examples meet one fault
#: depends on the search's path, which moves with unrelated changes to the package.
FINDING = settings(QUICK, max_examples=100)

#: A moto whose ECR implements the four layer-upload operations (5.2.1's do not).
MOTO_WITH_LAYER_UPLOADS = "5.2.5"
ECR_ENDPOINT = "https://api.ecr.us-east-1.amazonaws.com/"

Answer = tuple[int, Mapping[str, str], bytes]


def own_server(registry_id: str = "210987654321") -> tuple[Server, Callable[[str], object]]:
    """The package's wire entry over a registry of its own (random upload ids)."""
    registry = Registry(registry_id)
    return (lambda target, body: handle(registry, target, body)), registry.create_repository


CALL_LINE = re.compile(r"^(?:>>|  ) \d+\. (\w+) ")


def calls_of(report: str) -> list[str]:
    """The numbered call lines of a report; the differing one starts with ``>>``."""
    return [line for line in report.splitlines() if CALL_LINE.match(line)]


def operations_of(report: str) -> list[str]:
    """The operation of each call of a report, in order."""
    return [match[1] for line in calls_of(report) if (match := CALL_LINE.match(line))]


# ---------------------------------------------------------------------------------------
# Against the package's own wire entry


def test_the_package_own_wire_entry_agrees_with_the_reference() -> None:
    server, create_repository = own_server()
    compare_with_reference(server, create_repository, settings=QUICK)


def _reworded(answer: Answer) -> Answer:
    """The same answer as another honest server might give it."""
    status, _, body = answer
    obj = json.loads(body)
    if "__type" in obj:
        obj["__type"] = f"com.amazonaws.ecr#{obj['__type']}:http://internal.amazon.com/"
        obj["Message"] = "worded otherwise: " + obj.pop("message")
    for listed in ("layers", "failures"):
        obj.get(listed, []).reverse()
    for layer in obj.get("layers", []):
        layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    for failure in obj.get("failures", []):
        failure["failureReason"] = "worded otherwise"
    reordered = dict(reversed(obj.items()))
    other_headers = {"content-type": f"{CONTENT_TYPE}; charset=utf-8", "x-amzn-RequestId": "x"}
    return status, other_headers, json.dumps(reordered).encode()


def test_what_may_honestly_differ_is_not_a_difference() -> None:
    # Other upload ids and registry id, messages, member and list order, __type's
    # namespace and suffix, mediaType, failureReason, headers: none is a difference.
    inner, create_repository = own_server(registry_id="999999999999")
    compare_with_reference(
        lambda target, body: _reworded(inner(target, body)), create_repository, settings=QUICK
    )


def _minus_one_before_any_byte(inner: Server) -> Server:
    """The server moto is about lastValidByteReceived: -1 where nothing was received."""

    def server(target: str, body: bytes) -> Answer:
        status, headers, answer = inner(target, body)
        obj = json.loads(answer)
        if obj.get("__type") == "InvalidLayerPartException":
            obj.setdefault("lastValidByteReceived", -1)
        return status, headers, json.dumps(obj).encode()

    return server


def test_a_difference_is_reported_as_its_shortest_call_sequence_with_both_answers() -> None:
    inner, create_repository = own_server()
    with pytest.raises(AssertionError) as raised:
        compare_with_reference(
            _minus_one_before_any_byte(inner), create_repository, faults={Fault.GAP}, settings=QUICK
        )
    report = str(raised.value)
    calls = calls_of(report)
    assert operations_of(report) == ["InitiateLayerUpload", "UploadLayerPart"]
    assert calls[-1].startswith(">> 2. UploadLayerPart")
    assert '"uploadId": "<upload 1>"' in calls[-1]
    assert re.search(
        r'server: +400 InvalidLayerPartException .*"lastValidByteReceived": -1', report
    )
    assert re.search(r'reference: +400 InvalidLayerPartException .*"<absent>"', report)


def test_a_difference_left_out_of_the_faults_is_not_reported() -> None:
    # The same server, without gaps: its one divergence is never provoked.
    inner, create_repository = own_server()
    compare_with_reference(
        _minus_one_before_any_byte(inner),
        create_repository,
        faults=set(Fault)
        - {
            Fault.GAP,
            Fault.REVERSED_RANGE,
            Fault.LENGTH_MISMATCH,
            Fault.EMPTY_BLOB,
            Fault.INVALID_PARAMETER,
        },
        settings=QUICK,
    )


def test_a_server_that_cannot_create_repositories_needs_create_repository() -> None:
    registry = Registry("210987654321")

    def server(target: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        if target.endswith(".CreateRepository"):
            return handle(registry, f"{TARGET_PREFIX}.NoSuchOperation", body)
        return handle(registry, target, body)

    with pytest.raises(UsageError, match="pass create_repository"):
        compare_with_reference(server, settings=QUICK)


def test_a_server_that_creates_repositories_is_driven_through_create_repository() -> None:
    server, _ = own_server()  # the package's own wire entry answers CreateRepository
    compare_with_reference(server, settings=QUICK)


def test_faults_must_be_fault_members() -> None:
    server, create_repository = own_server()
    with pytest.raises(UsageError, match="Fault members"):
        compare_with_reference(server, create_repository, faults=["GAP"])  # type: ignore[list-item]


def test_the_strategies_and_the_tester_share_one_catalogue_of_faults() -> None:
    from ecr_upload_model import strategies

    assert strategies.Fault is Fault


# ---------------------------------------------------------------------------------------
# Hypothesis stays optional


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_importing_the_package_does_not_import_hypothesis() -> None:
    done = _run_python(
        "import sys, ecr_upload_model, ecr_upload_model.wire\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis was imported'"
    )
    assert done.returncode == 0, done.stderr


def test_the_testing_module_without_hypothesis_says_how_to_install_it() -> None:
    done = _run_python(
        "import sys\nsys.modules['hypothesis'] = None\nimport ecr_upload_model.testing"
    )
    assert "ImportError" in done.stderr
    assert "pip install 'ecr_upload_model[hypothesis]'" in done.stderr


# ---------------------------------------------------------------------------------------
# Against moto, a real peer with known divergences (docs/ecr-layer-upload.md, section 6)


@pytest.fixture
def moto_ecr() -> Iterator[Server]:
    """moto's ECR, called with raw AWS JSON 1.1 requests (moto's mock serves ``requests``)."""
    moto = pytest.importorskip("moto", minversion=MOTO_WITH_LAYER_UPLOADS)
    import requests

    def server(target: str, body: bytes) -> Answer:
        headers = {"X-Amz-Target": target, "Content-Type": CONTENT_TYPE}
        answer = requests.post(ECR_ENDPOINT, data=body, headers=headers, timeout=30)
        return answer.status_code, answer.headers, answer.content

    with moto.mock_aws():
        yield server


def test_moto_diverges_within_four_calls(moto_ecr: Server) -> None:
    # Repositories are made through moto's own CreateRepository (no create_repository).
    with pytest.raises(AssertionError) as raised:
        compare_with_reference(moto_ecr, settings=QUICK)
    calls = calls_of(str(raised.value))
    assert 1 <= len(calls) <= 4
    assert calls[-1].startswith(f">> {len(calls)}. ")
    assert operations_of(str(raised.value))[-1] in {
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "BatchCheckLayerAvailability",
    }


#: Each divergence of moto 5.2.5, provoked alone: the fault, the calls of the shortest
#: sequence, and what each side answers to the last.
MOTO_DIVERGENCES = {
    # moto accepts a blob whose length does not match its byte range.
    Fault.LENGTH_MISMATCH: (
        ["InitiateLayerUpload", "UploadLayerPart"],
        r"server: +200 .*\n +reference: +400 InvalidLayerPartException",
    ),
    # moto completes an upload that holds no part.
    Fault.EMPTY_UPLOAD: (
        ["InitiateLayerUpload", "CompleteLayerUpload"],
        r"server: +200 .*\n +reference: +400 EmptyUploadException",
    ),
    # moto answers lastValidByteReceived -1 before any byte (PartSize has a minimum of 0).
    Fault.GAP: (
        ["InitiateLayerUpload", "UploadLayerPart"],
        r'"lastValidByteReceived": -1.*\n +reference: +400 InvalidLayerPartException'
        r' .*"lastValidByteReceived": "<absent>"',
    ),
    # moto accepts an empty blob, and answers lastByteReceived -1.
    Fault.EMPTY_BLOB: (
        ["InitiateLayerUpload", "UploadLayerPart"],
        r'server: +200 .*"lastByteReceived": -1.*\n +reference: +400 InvalidLayerPartException',
    ),
    # moto ignores the client's digests.
    Fault.WRONG_DIGEST: (
        ["InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload"],
        r"server: +200 .*\n +reference: +400 InvalidLayerException",
    ),
    # moto completes whatever parts it holds, ignoring the 5 MiB minimum of non-final parts.
    Fault.SMALL_PART: (
        ["InitiateLayerUpload", "UploadLayerPart", "UploadLayerPart", "CompleteLayerUpload"],
        r"server: +200 .*\n +reference: +400 LayerPartTooSmallException",
    ),
    # moto finds only lower-case sha256 digests well formed; the API's pattern is wider.
    Fault.UNUSUAL_DIGEST: (
        ["BatchCheckLayerAvailability"],
        r'server: +200 .*"InvalidLayerDigest".*\n +reference: +200 .*"MissingLayerDigest"',
    ),
    # moto validates no member.
    Fault.INVALID_PARAMETER: (
        None,
        r"server: +[0-9]+ .*\n +reference: +400 InvalidParameterException",
    ),
}


@pytest.mark.parametrize("fault", list(MOTO_DIVERGENCES), ids=lambda fault: fault.name)
def test_moto_known_divergence_is_found_alone_as_its_shortest_sequence(
    moto_ecr: Server, fault: Fault
) -> None:
    operations, answers = MOTO_DIVERGENCES[fault]
    with pytest.raises(AssertionError) as raised:
        compare_with_reference(moto_ecr, faults={fault}, settings=FINDING)
    report = str(raised.value)
    if operations is not None:
        assert operations_of(report) == operations, report
    assert re.search(answers, report), report


def test_moto_agrees_on_the_faults_it_handles_like_the_reference(moto_ecr: Server) -> None:
    compare_with_reference(
        moto_ecr,
        faults={
            Fault.OVERLAP,
            Fault.RESEND,
            Fault.FOREIGN_UPLOAD_ID,
            Fault.UNKNOWN_UPLOAD_ID,
            Fault.COMPLETED_UPLOAD,
            Fault.MISSING_REPOSITORY,
            Fault.MALFORMED_DIGEST,
        },
        settings=QUICK,
    )
