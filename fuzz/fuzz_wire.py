"""atheris harness over the wire entry and every ``from_wire`` (``nox -s fuzz``).

Each input is spent on one of three things, chosen by its first byte:

- raw bytes as the body of ``wire.handle``, for a target chosen among the four real
  operations and junk;
- a JSON-ish value built from the input (nested lists and objects, member names of the
  model, huge integers, NaN and infinities, text of any Unicode) sent the same way;
- that value given to one ``from_wire`` of the operations module.

``wire.handle`` must answer every call: an HTTP status the model uses and a JSON body,
``__type`` and ``message`` for an error. ``from_wire`` may raise only an ``EcrError``.
Anything else escaping is a finding; atheris stops and writes the input that caused it.

Run: ``python fuzz/fuzz_wire.py -max_total_time=60 [corpus-dir]`` (libFuzzer flags).
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import atheris

with atheris.instrument_imports():
    from ecr_upload_model import (
        BatchCheckLayerAvailabilityRequest,
        BatchCheckLayerAvailabilityResponse,
        CompleteLayerUploadRequest,
        CompleteLayerUploadResponse,
        EcrError,
        InitiateLayerUploadRequest,
        InitiateLayerUploadResponse,
        Layer,
        LayerFailure,
        Registry,
        UploadLayerPartRequest,
        UploadLayerPartResponse,
    )
    from ecr_upload_model.registry import sequential_upload_ids
    from ecr_upload_model.wire import OPERATIONS, TARGET_PREFIX, handle

TARGETS = [
    *(f"{TARGET_PREFIX}.{name}" for name in OPERATIONS),
    "UploadLayerPart",
    f"{TARGET_PREFIX}.DeleteRepository",
    f"{TARGET_PREFIX}.",
    "",
]
WIRE_TYPES: list[Any] = [
    InitiateLayerUploadRequest,
    InitiateLayerUploadResponse,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
    CompleteLayerUploadRequest,
    CompleteLayerUploadResponse,
    BatchCheckLayerAvailabilityRequest,
    BatchCheckLayerAvailabilityResponse,
    Layer,
    LayerFailure,
]
UPLOAD_ID = "00000000-0000-0000-0000-000000000000"
#: Texts the model gives meaning to, so that built values reach past the type checks.
TEXTS = [
    "team/app",
    "123456789012",
    UPLOAD_ID,
    "sha256:" + "0" * 64,
    "YWJj",
    "",
    "AVAILABLE",
    "InvalidLayerDigest",
]
KEYS = [
    "registryId",
    "repositoryName",
    "uploadId",
    "partFirstByte",
    "partLastByte",
    "layerPartBlob",
    "layerDigests",
    "layerDigest",
    "layers",
    "failures",
    "layerAvailability",
    "layerSize",
    "mediaType",
    "failureCode",
    "failureReason",
    "partSize",
    "lastByteReceived",
]
STATUSES = {200, 400, 500}


def json_value(data: atheris.FuzzedDataProvider, depth: int = 0) -> object:
    """A JSON-ish value (NaN and infinities included) drawn from the input."""
    kind = data.ConsumeIntInRange(0, 9 if depth < 6 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return data.ConsumeBool()
    if kind == 2:
        return data.ConsumeInt(data.ConsumeIntInRange(1, 80))
    if kind == 3:
        return data.ConsumeRegularFloat() if data.ConsumeBool() else data.ConsumeFloat()
    if kind == 4:
        return data.ConsumeUnicodeNoSurrogates(data.ConsumeIntInRange(0, 300))
    if kind in (5, 6):
        return TEXTS[data.ConsumeIntInRange(0, len(TEXTS) - 1)]
    if kind == 7:
        return [json_value(data, depth + 1) for _ in range(data.ConsumeIntInRange(0, 4))]
    return {
        (
            KEYS[data.ConsumeIntInRange(0, len(KEYS) - 1)]
            if data.ConsumeBool()
            else data.ConsumeUnicodeNoSurrogates(8)
        ): json_value(data, depth + 1)
        for _ in range(data.ConsumeIntInRange(0, 7))
    }


def fresh_registry() -> Registry:
    """A registry with the repository ``team/app`` and one upload in progress."""
    registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
    registry.create_repository("team/app")
    status, _, _ = handle(
        registry, f"{TARGET_PREFIX}.InitiateLayerUpload", b'{"repositoryName": "team/app"}'
    )
    assert status == 200
    return registry


def check_answer(answer: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = answer
    assert status in STATUSES, status
    assert headers["Content-Length"] == str(len(body))
    obj = json.loads(body)
    assert type(obj) is dict
    if status != 200:
        assert type(obj["__type"]) is str
        assert type(obj["message"]) is str


def test_one_input(raw: bytes) -> None:
    data = atheris.FuzzedDataProvider(raw)
    mode = data.ConsumeIntInRange(0, 2)
    target = TARGETS[data.ConsumeIntInRange(0, len(TARGETS) - 1)]
    if mode == 0:
        check_answer(handle(fresh_registry(), target, data.ConsumeBytes(data.remaining_bytes())))
        return
    wire_type = WIRE_TYPES[data.ConsumeIntInRange(0, len(WIRE_TYPES) - 1)]
    value = json_value(data)
    if mode == 1:
        # json.dumps writes NaN and Infinity as JSON does not: the parser must refuse them.
        check_answer(handle(fresh_registry(), target, json.dumps(value).encode("utf-8")))
        return
    with contextlib.suppress(EcrError):
        wire_type.from_wire(value)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
