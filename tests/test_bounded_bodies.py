"""Every body costs time and memory bounded by its own size, and a refused one leaves
nothing behind: body limits per operation, nesting and value counts checked before the
parser runs, members nobody reads never built, and a blob read in place however JSON
spells it. Memory is measured with tracemalloc (deterministic, so it may assert)."""

from __future__ import annotations

import base64
import gc
import glob
import hashlib
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from shared_values import ALLOCATION_SLACK_BYTES, UPLOAD_ID

import ecr_upload_model
from ecr_upload_model import (
    InvalidParameterException,
    Registry,
    SerializationException,
    UnknownOperationException,
    UploadLayerPartRequest,
    UsageError,
)
from ecr_upload_model._in_place import WINDOW_BYTES
from ecr_upload_model.limits import (
    API_MAX_PART_BYTES,
    BODY_SLACK_BYTES,
    MAX_BODY_BYTES,
    MAX_JSON_VALUES,
    MAX_NESTING_DEPTH,
)
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import (
    OPERATIONS,
    TARGET_PREFIX,
    check_body_size,
    decode_request,
    handle,
    max_body_bytes,
    parse_body,
)

MB = 1_000_000
UNKNOWN_UPLOAD_ID = "0a1b2c3d-0000-4000-8000-000000000000"


def target(operation: str) -> str:
    return f"{TARGET_PREFIX}.{operation}"


def registry_with_upload() -> Registry:
    registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
    registry.create_repository("team/app")
    handle(registry, target("InitiateLayerUpload"), b'{"repositoryName": "team/app"}')
    return registry


def answer(registry: Registry, operation: str, body: object) -> tuple[int, dict[str, object]]:
    status, _, raw = handle(registry, target(operation), body)  # type: ignore[arg-type]
    obj = json.loads(raw)
    assert isinstance(obj, dict)
    return status, obj


def part_body(blob_text: str = "YWJj", size: int = 3, **members: object) -> bytes:
    obj = {
        "repositoryName": "team/app",
        "uploadId": UPLOAD_ID,
        "partFirstByte": 0,
        "partLastByte": size - 1,
        "layerPartBlob": blob_text,
        **members,
    }
    return json.dumps(obj).encode("ascii")


def part_body_spelled(blob_source: str, size: int, **members: object) -> bytes:
    """A part's body whose blob string is ``blob_source`` as written (escapes and all)."""
    return part_body("?", size, **members).replace(b'"?"', f'"{blob_source}"'.encode())


class Traced:
    """tracemalloc from a mark: what is allocated since, and the peak since."""

    def mark(self) -> None:
        gc.collect()
        tracemalloc.reset_peak()
        self._before, _ = tracemalloc.get_traced_memory()

    def since(self) -> tuple[int, int]:
        """(held now, peak) beyond what was held at the mark."""
        _, peak = tracemalloc.get_traced_memory()
        gc.collect()
        now, _ = tracemalloc.get_traced_memory()
        return now - self._before, peak - self._before


@pytest.fixture
def traced() -> Iterator[Traced]:
    """tracemalloc, started once the readers are made (once per process, not a call's cost)."""
    answer(registry_with_upload(), "UploadLayerPart", part_body())
    tracemalloc.start()
    try:
        traced = Traced()
        traced.mark()
        yield traced
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------------------------------
# Body limits


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_body_over_its_operations_limit_is_refused_before_it_is_read(operation: str) -> None:
    limit = max_body_bytes(target(operation))
    assert limit == MAX_BODY_BYTES[operation]
    check_body_size(target(operation), limit)
    with pytest.raises(SerializationException) as refused:
        check_body_size(target(operation), limit + 1)
    assert refused.value.message == (
        f"The request body is {limit + 1} bytes, more than the {limit} of any {operation} request"
    )
    # Not even JSON: refused by its size alone, as a server refuses a Content-Length.
    status, obj = answer(registry_with_upload(), operation, b"x" * (limit + 1))
    assert (status, obj["__type"]) == (400, "SerializationException")
    assert f"more than the {limit}" in str(obj["message"])


def test_the_target_is_read_before_the_size() -> None:
    with pytest.raises(UnknownOperationException):
        check_body_size(target("PutImage"), 10**9)
    with pytest.raises(UnknownOperationException):
        max_body_bytes("UploadLayerPart")


def test_the_largest_valid_requests_are_within_their_limits() -> None:
    """Every limit holds the largest valid request of its operation, spelled as
    botocore spells it (``json.dumps``: non-ASCII as ``\\u`` escapes)."""
    astral = "\U0001f600" * 1000
    check = {"registryId": "1" * 12, "repositoryName": "a" * 256, "layerDigests": [astral] * 100}
    complete = {
        "registryId": "1" * 12,
        "repositoryName": "a" * 256,
        "uploadId": UPLOAD_ID,
        "layerDigests": ["sha512:" + "a" * 128] * 100,
    }
    bodies = {
        "BatchCheckLayerAvailability": json.dumps(check).encode(),
        "CompleteLayerUpload": json.dumps(complete).encode(),
        "InitiateLayerUpload": json.dumps({"repositoryName": "a" * 256}).encode(),
    }
    for operation, body in bodies.items():
        assert len(body) <= MAX_BODY_BYTES[operation]
        decode_request(target(operation), body)  # not refused
    # A part of the API maximum with every `/` escaped fits too.
    blob_text = base64.b64encode(b"\xff" * API_MAX_PART_BYTES).decode().replace("/", "\\/")
    assert len(part_body_spelled(blob_text, 1)) <= MAX_BODY_BYTES["UploadLayerPart"]


def test_the_rest_of_a_part_body_is_limited_as_a_small_body_is() -> None:
    junk = "x" * BODY_SLACK_BYTES
    status, obj = answer(registry_with_upload(), "UploadLayerPart", part_body(junk=junk))
    assert (status, obj["__type"]) == (400, "SerializationException")
    assert f"without its blob is more than {BODY_SLACK_BYTES}" in str(obj["message"])


def test_a_body_of_exactly_its_limit_is_read_and_one_byte_more_is_refused_saying_so() -> None:
    limit = MAX_BODY_BYTES["InitiateLayerUpload"]
    body = b'{"repositoryName": "team/app"}'
    at_limit = body + b" " * (limit - len(body))
    decode_request(target("InitiateLayerUpload"), at_limit)  # not refused
    with pytest.raises(SerializationException) as raised:
        decode_request(target("InitiateLayerUpload"), at_limit + b" ")
    assert str(raised.value) == (
        f"The request body is {limit + 1} bytes, more than the {limit} "
        "of any InitiateLayerUpload request"
    )


def part_body_after(junk: int, blob_source: str) -> bytes:
    """A part's body whose first member is ``junk`` bytes of text, before its blob."""
    return b'{"junk": "' + b"x" * junk + b'", ' + part_body_spelled(blob_source, 3)[1:]


def test_a_part_body_whose_rest_is_exactly_the_slack_is_read() -> None:
    without_blob = len(part_body_after(0, ""))
    at_slack = part_body_after(BODY_SLACK_BYTES - without_blob, "YWJj")
    request = decode_request(target("UploadLayerPart"), at_slack)
    assert isinstance(request, UploadLayerPartRequest)
    assert bytes(request.layer_part_blob) == b"abc"
    with pytest.raises(SerializationException, match="without its blob is more than"):
        decode_request(
            target("UploadLayerPart"), part_body_after(BODY_SLACK_BYTES - without_blob + 1, "YWJj")
        )


def test_a_part_body_of_exactly_the_slack_without_a_blob_string_is_judged_whole() -> None:
    body = part_body(blob_text=None)  # type: ignore[arg-type]
    at_slack = body + b" " * (BODY_SLACK_BYTES - len(body))
    with pytest.raises(InvalidParameterException, match=r"'layerPartBlob' .* 'must not be null'"):
        decode_request(target("UploadLayerPart"), at_slack)


def test_a_bad_blob_string_right_after_the_slack_answers_its_json_error() -> None:
    # The blob string starts exactly at the slack: its JSON error answers, not the size.
    opening = len(part_body_after(0, "").split(b'"layerPartBlob": "')[0]) + len(
        '"layerPartBlob": "'
    )
    body = part_body_after(BODY_SLACK_BYTES - opening, "YW\\qJj")
    with pytest.raises(SerializationException) as raised:
        decode_request(target("UploadLayerPart"), body)
    assert "Invalid \\escape" in str(raised.value)


def test_a_byte_after_the_blob_that_is_not_utf8_is_named_by_its_place_in_the_body() -> None:
    body = part_body(junk="?").replace(b'"?"', b'"\xff"')
    with pytest.raises(SerializationException) as raised:
        decode_request(target("UploadLayerPart"), body)
    place = body.index(b"\xff")
    assert str(raised.value) == f"The request body is not UTF-8 (byte {place})"


@pytest.mark.parametrize(
    "blob_source",
    ["YW\\qJj", "x" * 1000 + "\u20ac\\q"],
    ids=["short", "long, then a wide character"],
)
def test_a_bad_blob_string_before_a_byte_that_is_not_utf8_answers_the_byte(
    blob_source: str,
) -> None:
    body = part_body_spelled(blob_source, 3, junk="!").replace(b'"!"', b'"\xff"')
    with pytest.raises(SerializationException) as raised:
        decode_request(target("UploadLayerPart"), body)
    place = body.index(b"\xff")
    assert str(raised.value) == f"The request body is not UTF-8 (byte {place})"


# ---------------------------------------------------------------------------------------
# Bodies as bytes, bytearray or memoryview; anything else is a usage error


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_every_operation_takes_bytes_bytearray_and_memoryview(
    kind: Callable[[bytes], object],
) -> None:
    registry = registry_with_upload()
    calls = [
        ("BatchCheckLayerAvailability", b'{"repositoryName": "team/app", "layerDigests": ["x"]}'),
        ("InitiateLayerUpload", b'{"repositoryName": "team/app"}'),
        ("UploadLayerPart", part_body()),
        (
            "CompleteLayerUpload",
            json.dumps(
                {
                    "repositoryName": "team/app",
                    "uploadId": UPLOAD_ID,
                    "layerDigests": ["sha256:" + hashlib.sha256(b"abc").hexdigest()],
                }
            ).encode(),
        ),
    ]
    for operation, body in calls:
        status, obj = answer(registry, operation, kind(body))
        assert status == 200, (operation, obj)
    assert parse_body(kind(b'{"a": [1]}')) == {"a": [1]}  # type: ignore[arg-type]


def test_a_memoryview_of_other_items_is_read_as_its_bytes() -> None:
    body = part_body() + b" " * (-len(part_body()) % 4)
    request = decode_request(target("UploadLayerPart"), memoryview(body).cast("I"))
    assert isinstance(request, UploadLayerPartRequest)
    assert bytes(request.layer_part_blob) == b"abc"


def test_a_memoryview_of_rows_is_read_and_limited_as_its_bytes() -> None:
    limit = MAX_BODY_BYTES["InitiateLayerUpload"]
    body = b'{"repositoryName": "team/app"}'
    padded = bytearray(body + b" " * (limit + 2 - len(body)))
    rows = memoryview(padded).cast("B", (2, len(padded) // 2))  # len() is 2
    with pytest.raises(SerializationException, match=f"is {limit + 2} bytes, more than"):
        decode_request(target("InitiateLayerUpload"), rows)
    square = memoryview(bytearray(body)).cast("B", (2, len(body) // 2))
    assert decode_request(target("InitiateLayerUpload"), square) == decode_request(
        target("InitiateLayerUpload"), body
    )


@pytest.mark.parametrize(
    "body",
    ['{"repositoryName": "team/app"}', None, 7, [b"{}"], memoryview(b"{} ")[::2]],
    ids=["str", "None", "int", "list", "strided memoryview"],
)
def test_a_body_of_another_type_is_a_usage_error(body: object) -> None:
    for operation in OPERATIONS:
        with pytest.raises(UsageError, match="request body"):
            handle(registry_with_upload(), target(operation), body)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="request body"):
        parse_body(body)  # type: ignore[arg-type]


def test_a_body_of_another_type_is_refused_naming_its_type() -> None:
    with pytest.raises(UsageError) as raised:
        decode_request(target("InitiateLayerUpload"), '{"repositoryName": "team/app"}')  # type: ignore[arg-type]
    assert str(raised.value) == "a request body must be bytes, bytearray or memoryview, not str"
    with pytest.raises(UsageError) as raised:
        decode_request(target("InitiateLayerUpload"), memoryview(b"{} ")[::2])
    assert str(raised.value) == "a request body given as a memoryview must be contiguous"


# ---------------------------------------------------------------------------------------
# Nesting and values, refused before the parser runs


def test_nesting_deeper_than_the_limit_is_refused_and_at_the_limit_is_read() -> None:
    def nested(depth: int) -> bytes:
        return (
            b'{"repositoryName": "team/app", "x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
        )

    decode_request(target("InitiateLayerUpload"), nested(MAX_NESTING_DEPTH))
    with pytest.raises(SerializationException, match="nested too deeply"):
        decode_request(target("InitiateLayerUpload"), nested(MAX_NESTING_DEPTH + 1))
    # Brackets inside strings, escaped quotes included, are not nesting; what follows the
    # string is still judged.
    text = json.dumps({"repositoryName": "team/app", "x": '\\"[[[,' * 100})
    decode_request(target("InitiateLayerUpload"), text.encode())
    deep = b"[" * MAX_NESTING_DEPTH + b"]" * MAX_NESTING_DEPTH
    after_the_string = text.encode()[:-1] + b', "y": ' + deep + b"}"
    with pytest.raises(SerializationException, match="nested too deeply"):
        decode_request(target("InitiateLayerUpload"), after_the_string)


def test_nesting_is_the_depth_of_the_deepest_point_however_brackets_close_and_open() -> None:
    def deepest_after_siblings(depth: int) -> bytes:
        # 40 closed siblings, then a list as deep as the object, "x" and ``depth`` more.
        deep = b"[" * (depth - 2) + b"]" * (depth - 2)
        return b'{"repositoryName": "team/app", "x": [' + b"[]," * 40 + deep + b"]}"

    decode_request(target("InitiateLayerUpload"), deepest_after_siblings(MAX_NESTING_DEPTH))
    with pytest.raises(SerializationException, match="nested too deeply"):
        decode_request(target("InitiateLayerUpload"), deepest_after_siblings(MAX_NESTING_DEPTH + 1))


def test_more_values_than_the_limit_are_refused() -> None:
    def with_values(count: int) -> bytes:
        return b'{"repositoryName": "team/app", "x": [' + b",".join([b"0"] * (count - 3)) + b"]}"

    decode_request(target("InitiateLayerUpload"), with_values(MAX_JSON_VALUES))
    with pytest.raises(SerializationException, match=f"more than {MAX_JSON_VALUES} JSON values"):
        decode_request(target("InitiateLayerUpload"), with_values(MAX_JSON_VALUES + 1))


DEEP_IN_A_SMALL_STACK = """
import json, sys, threading
from ecr_upload_model import Registry
from ecr_upload_model.wire import TARGET_PREFIX, handle

answers = []
def call():
    for body in (b"[" * 20_000 + b"]" * 20_000, b'{"a": ' * 20_000 + b"1" + b"}" * 20_000):
        for operation in ("InitiateLayerUpload", "UploadLayerPart"):
            status, _, raw = handle(Registry("123456789012"), f"{TARGET_PREFIX}.{operation}", body)
            answers.append((status, json.loads(raw)["__type"]))
threading.stack_size(1 << 20)
thread = threading.Thread(target=call)
thread.start()
thread.join()
print(json.dumps(answers))
"""


def _pythons() -> list[str]:
    """This Python, and every other installed one (as noxfile.py finds them)."""
    found = [sys.executable]
    for version in ("3.10", "3.11", "3.12", "3.13"):
        found += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")))
    return found


@pytest.mark.parametrize("python", _pythons())
def test_deep_nesting_in_a_thread_with_a_1_mib_stack_is_refused_on_every_python(
    python: str,
) -> None:
    """CPython 3.13.0 raises RecursionError only 10,000 levels down: a thread's 1 MiB
    stack ends first (SIGSEGV) unless the depth is refused before the parser recurses."""
    package_parent = str(Path(ecr_upload_model.__file__).parent.parent)
    imports = subprocess.run(
        [python, "-c", "import ecr_upload_model"],
        env={**os.environ, "PYTHONPATH": package_parent},
        capture_output=True,
        check=False,
    )
    if imports.returncode != 0 and python != sys.executable:
        pytest.skip(f"{python} cannot import the package (its dependencies are not installed)")
    ran = subprocess.run(
        [python, "-c", DEEP_IN_A_SMALL_STACK],
        env={**os.environ, "PYTHONPATH": package_parent},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert json.loads(ran.stdout) == [[400, "SerializationException"]] * 4


# ---------------------------------------------------------------------------------------
# Memory


def test_refused_requests_leave_nothing_behind(traced: Traced) -> None:
    """Ten CompleteLayerUpload calls of 25 MB digests of a valid pattern, for an unknown
    upload: the reader must not keep their digests."""
    registry = registry_with_upload()
    traced.mark()
    for index in range(10):
        digest = f"sha256:{index}" + "a" * (25 * MB)
        body = json.dumps(
            {"repositoryName": "team/app", "uploadId": UNKNOWN_UPLOAD_ID, "layerDigests": [digest]}
        ).encode()
        status, _ = answer(registry, "CompleteLayerUpload", body)
        assert status == 400
        del digest, body
    # And within the limit: shape-valid requests refused by the registry keep only short
    # identifiers; long digests are never kept.
    for index in range(50):
        digest = f"sha256:{index:04d}" + "a" * 1_000
        body = json.dumps(
            {
                "repositoryName": "team/app",
                "uploadId": UNKNOWN_UPLOAD_ID,
                "layerDigests": [digest] * 100,
            }
        ).encode()
        status, obj = answer(registry, "CompleteLayerUpload", body)
        assert (status, obj["__type"]) == (400, "UploadNotFoundException")
    del body, obj
    kept, _ = traced.since()
    assert kept <= ALLOCATION_SLACK_BYTES


@pytest.mark.parametrize(
    "operation",
    [
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "BatchCheckLayerAvailability",
    ],
)
@pytest.mark.parametrize(
    "junk", [b"{}", b"[]", b'"ab"', b"0"], ids=["objects", "arrays", "strings", "numbers"]
)
def test_a_member_nobody_reads_costs_no_more_than_its_text(
    traced: Traced, operation: str, junk: bytes
) -> None:
    """A body of its operation's largest size, all of it an unknown member's list."""
    limit = MAX_BODY_BYTES[operation]
    items = (min(limit, 3 * MB) - 200) // (len(junk) + 1)
    body = b'{"x": [' + b",".join([junk] * items) + b'], "repositoryName": "team/app"}'
    registry = registry_with_upload()
    traced.mark()
    status, obj = answer(registry, operation, body)
    _, peak = traced.since()
    assert (status, obj["__type"]) == (400, "SerializationException")
    assert peak <= 3 * len(body) + ALLOCATION_SLACK_BYTES


@pytest.fixture(scope="module")
def full_part() -> tuple[bytes, str]:
    part = hashlib.shake_256(b"part").digest(API_MAX_PART_BYTES)
    return part, base64.b64encode(part).decode("ascii")


@pytest.mark.parametrize(
    "spelling",
    ["escaped solidus", "unicode escape", "escapes and non-ASCII elsewhere"],
)
def test_an_escaped_blob_costs_at_most_one_more_copy_of_the_part(
    traced: Traced, full_part: tuple[bytes, str], spelling: str
) -> None:
    part, blob_text = full_part
    escaped = {
        "escaped solidus": blob_text.replace("/", "\\/"),
        "unicode escape": "\\u0041" + blob_text[1:],
        "escapes and non-ASCII elsewhere": blob_text.replace("/", "\\/"),
    }[spelling]
    members = {"note": "\U0001f600 \u00e9"} if spelling.endswith("elsewhere") else {}
    body = part_body_spelled(escaped, len(part), **members)
    if spelling.endswith("elsewhere"):
        body = body.replace(b"\\ud83d\\ude00 \\u00e9", "\U0001f600 \u00e9".encode())
        assert not body.isascii()
    registry = registry_with_upload()
    traced.mark()

    status, obj = answer(registry, "UploadLayerPart", body)

    _, peak = traced.since()
    assert (status, obj) == (200, obj | {"lastByteReceived": len(part) - 1})
    # The part, its bytes once more while they are joined, and the windows of text.
    assert peak <= 2 * len(part) + 4 * WINDOW_BYTES + ALLOCATION_SLACK_BYTES
