"""Memory of the part path, measured with tracemalloc (deterministic, so it may assert).

A part costs its decoded bytes and a small constant beyond the body it arrived in, and
nothing of it stays once the upload is complete.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import tracemalloc
import types
from collections.abc import Iterator

import pytest
from shared_values import ALLOCATION_SLACK_BYTES

from ecr_upload_model import Registry
from ecr_upload_model.limits import API_MAX_PART_BYTES, MIB
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import TARGET_PREFIX, handle

CODE = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType)


def _call(registry: Registry, operation: str, body: bytes) -> dict[str, object]:
    status, _, answer = handle(registry, f"{TARGET_PREFIX}.{operation}", body)
    obj = json.loads(answer)
    assert status == 200, obj
    assert isinstance(obj, dict)
    return obj


def _registry_with_upload() -> tuple[Registry, str]:
    registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
    registry.create_repository("team/app")
    started = _call(registry, "InitiateLayerUpload", b'{"repositoryName": "team/app"}')
    upload_id = started["uploadId"]
    assert isinstance(upload_id, str)
    return registry, upload_id


def _part_body(
    upload_id: str, first: int, size: int, blob_text: str, *, blob_first: bool = False
) -> bytes:
    """The body botocore sends for a part (its members in the model's order), or one
    with the blob before the other members."""
    head = json.dumps(
        {
            "repositoryName": "team/app",
            "uploadId": upload_id,
            "partFirstByte": first,
            "partLastByte": first + size - 1,
        }
    )
    if blob_first:
        return f'{{"layerPartBlob": "{blob_text}", {head[1:]}'.encode("ascii")
    return f'{head[:-1]}, "layerPartBlob": "{blob_text}"}}'.encode("ascii")


def _made_once_per_process() -> None:
    """Makes what the package makes once (the readers of the requests): not a part's cost."""
    registry, upload_id = _registry_with_upload()
    _call(registry, "UploadLayerPart", _part_body(upload_id, 0, 3, "YWJj"))
    _call(registry, "UploadLayerPart", _part_body(upload_id, 3, 3, "YWJj", blob_first=True))


@pytest.fixture(scope="module")
def full_part() -> tuple[bytes, str]:
    """A part of the API maximum, 20,971,520 bytes, and its base64 text."""
    part = hashlib.shake_256(b"part").digest(API_MAX_PART_BYTES)
    return part, base64.b64encode(part).decode("ascii")


@pytest.fixture
def traced() -> Iterator[None]:
    gc.collect()
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("blob_first", [False, True], ids=["blob last", "blob first"])
def test_a_full_part_costs_its_decoded_bytes_and_a_small_constant_beyond_its_body(
    full_part: tuple[bytes, str], traced: None, blob_first: bool
) -> None:
    part, blob_text = full_part
    registry, upload_id = _registry_with_upload()
    body = _part_body(upload_id, 0, len(part), blob_text, blob_first=blob_first)
    _made_once_per_process()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()

    _call(registry, "UploadLayerPart", body)

    _, peak = tracemalloc.get_traced_memory()
    # Parsing the whole body would cost a text of the body and a string of the blob:
    # twice the body (56 MB) beyond the part.
    assert peak - before <= len(part) + ALLOCATION_SLACK_BYTES


def _reachable(root: object) -> Iterator[object]:
    """Every object the registry's state holds (not its code: classes, functions, modules)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        current = stack.pop()
        yield current
        for referent in gc.get_referents(current):
            if id(referent) not in seen and not isinstance(referent, CODE):
                seen.add(id(referent))
                stack.append(referent)


def test_a_completed_100_mib_push_leaves_no_part_bytes_and_no_hasher_behind(
    full_part: tuple[bytes, str], traced: None
) -> None:
    part, blob_text = full_part
    parts = 5  # 100 MiB in parts of 20 MiB
    layer_digest = hashlib.sha256(part * parts).hexdigest()
    registry, upload_id = _registry_with_upload()
    _made_once_per_process()
    gc.collect()
    before, _ = tracemalloc.get_traced_memory()

    for index in range(parts):
        body = _part_body(upload_id, index * len(part), len(part), blob_text)
        _call(registry, "UploadLayerPart", body)
        del body
    completed = _call(
        registry,
        "CompleteLayerUpload",
        json.dumps(
            {
                "repositoryName": "team/app",
                "uploadId": upload_id,
                "layerDigests": [f"sha256:{layer_digest}"],
            }
        ).encode("ascii"),
    )

    assert parts * len(part) == 100 * MIB
    assert completed["layerDigest"] == f"sha256:{layer_digest}"
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    assert after - before <= ALLOCATION_SLACK_BYTES
    held = list(_reachable(registry))
    assert any(isinstance(item, Registry) for item in held)
    assert not [item for item in held if isinstance(item, (bytes, bytearray)) and len(item) > MIB]
    assert not [item for item in held if type(item).__name__ in {"HASH", "sha256"}]
