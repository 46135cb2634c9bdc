"""Benchmarks of ecr_upload_model against its peers and its floors (``nox -s bench``).

Every comparison runs its candidates in this one process, interleaved: each round times
a batch of calls of every candidate in turn (the order rotating from round to round),
and the table reports the median time per call over the rounds and its ratio to the
comparison's baseline. Speed is measured here and never asserted in the tests.

1. ``UploadLayerPartRequest.from_wire`` (a valid request, 1 KiB blob) against a pydantic
   v2 strict model, a frozen attrs class with attrs validators, botocore's
   ``validate_parameters`` with the ECR model, and a hand-written minimum (type checks,
   length checks, the package's own compiled patterns, the base64 decode, no object).
   Targets: faster than pydantic; at most 1.3 times the hand-written minimum. Read again
   and again, the request finds its identifiers kept by the reader (as the parts of one
   upload do on a server); table 1b gives every call three identifiers not seen before.
2. One 20,971,520-byte part through ``wire.handle`` against the floor: ``json.loads``
   of the same body, ``binascii.a2b_base64(strict_mode=True)`` and ``hashlib.sha256``
   of the part. Target: at most 1.03 times the floor.
3. Identifier validation: each adversarial name against a valid name of the same
   length. Target: at most 2 times.
4. Growth: each identifier's linear pattern on adversarial text of 1k, 10k and 100k
   characters (no length check): about 10 times per 10 times the length. For contrast,
   the seed's published repository pattern under ``regex`` (quadratic: about 100 times).
5. Threads: four different uploads pushed through one shared ``Registry`` by four
   threads at once, against one thread pushing the same four in turn. Target: the
   threads are not slower (hashing releases the GIL; the registry's lock is never held
   while hashing).

Usage: ``python bench/bench.py [--quick] [--only 1,2,3,4,5]``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import gc
import hashlib
import itertools
import json
import math
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import attrs
import botocore.session
import pydantic
import regex
from _report import human, print_table
from botocore.validate import validate_parameters

from ecr_upload_model import (
    InitiateLayerUploadRequest,
    InvalidParameterException,
    Registry,
    RepositoryGrammar,
    RepositoryName,
    UploadId,
    UploadLayerPartRequest,
)
from ecr_upload_model._shapes import MAX_KEPT_IDENTIFIERS
from ecr_upload_model.identifiers import LAYER_DIGEST, REGISTRY_ID, UPLOAD_ID
from ecr_upload_model.limits import API_MAX_PART_BYTES, MAX_LONG, MAX_REPOSITORY_NAME_LENGTH
from ecr_upload_model.operations import LAYER_PART_BLOB
from ecr_upload_model.registry import sequential_upload_ids
from ecr_upload_model.wire import TARGET_PREFIX, handle

Candidate = tuple[str, Callable[[], object]]

SEED_PUBLISHED = RepositoryGrammar.SEED.value.published
UPLOAD_ID_TEXT = "0a1b2c3d-0000-4000-8000-000000000000"
REQUEST_1KIB: dict[str, object] = {
    "registryId": "123456789012",
    "repositoryName": "team/app",
    "uploadId": UPLOAD_ID_TEXT,
    "partFirstByte": 0,
    "partLastByte": 1023,
    "layerPartBlob": base64.b64encode(bytes(range(256)) * 4).decode("ascii"),
}


# ---------------------------------------------------------------------------------------
# Timing


def per_call_seconds(function: Callable[[], object], number: int) -> float:
    """The time of one call, averaged over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        function()
    return (time.perf_counter() - start) / number


def calibrate(function: Callable[[], object], batch_seconds: float) -> int:
    """How many calls of ``function`` take about ``batch_seconds``."""
    number = 1
    while True:
        elapsed = per_call_seconds(function, number) * number
        if elapsed >= batch_seconds / 10 or number >= 1 << 24:
            return max(1, round(number * batch_seconds / max(elapsed, 1e-9)))
        number *= 10


def interleaved(
    candidates: Sequence[Candidate], rounds: int, batch_seconds: float
) -> dict[str, float]:
    """The median time per call of each candidate, timed in alternating rounds."""
    numbers = {name: calibrate(function, batch_seconds) for name, function in candidates}
    samples: dict[str, list[float]] = {name: [] for name, _ in candidates}
    gc.collect()
    for round_ in range(rounds):
        shift = round_ % len(candidates)
        for name, function in [*candidates[shift:], *candidates[:shift]]:
            samples[name].append(per_call_seconds(function, numbers[name]))
    return {name: statistics.median(times) for name, times in samples.items()}


def print_ratios(
    title: str, baseline: str, medians: dict[str, float], notes: dict[str, str]
) -> None:
    rows = [
        [name, human(median), f"{median / medians[baseline]:.2f}", notes.get(name, "")]
        for name, median in medians.items()
    ]
    print_table(title, ["candidate", "median per call", f"ratio to {baseline}", "note"], rows)


# ---------------------------------------------------------------------------------------
# 1. UploadLayerPartRequest.from_wire against its peers


def _decode_blob(text: str) -> bytes:
    """The blob rule every peer applies: strict base64, at most the API maximum."""
    if len(text) > LAYER_PART_BLOB.max_text_length:
        raise ValueError("layerPartBlob is too long")
    data = binascii.a2b_base64(text, strict_mode=True)
    if len(data) > API_MAX_PART_BYTES:
        raise ValueError("layerPartBlob is too long")
    return data


_MATCH_REGISTRY_ID = REGISTRY_ID.linear.fullmatch
_MATCH_NAME = RepositoryGrammar.SEED.value.linear.fullmatch
_MATCH_UPLOAD_ID = UPLOAD_ID.linear.fullmatch


def hand_written_minimum(obj: dict[str, Any]) -> None:
    """Type checks, length checks, the package's compiled patterns, the decode; no object."""
    registry_id = obj.get("registryId")
    if registry_id is not None and (
        type(registry_id) is not str or _MATCH_REGISTRY_ID(registry_id) is None
    ):
        raise ValueError("registryId")
    name = obj.get("repositoryName")
    if (
        type(name) is not str
        or not 2 <= len(name) <= MAX_REPOSITORY_NAME_LENGTH
        or _MATCH_NAME(name) is None
    ):
        raise ValueError("repositoryName")
    upload_id = obj.get("uploadId")
    if type(upload_id) is not str or _MATCH_UPLOAD_ID(upload_id) is None:
        raise ValueError("uploadId")
    for member in ("partFirstByte", "partLastByte"):
        value = obj.get(member)
        if type(value) is not int or not 0 <= value <= MAX_LONG:
            raise ValueError(member)
    blob = obj.get("layerPartBlob")
    if type(blob) is not str:
        raise ValueError("layerPartBlob")
    _decode_blob(blob)


def pydantic_candidate() -> Callable[[dict[str, Any]], object]:
    text = pydantic.StringConstraints
    part_size = Annotated[int, pydantic.Field(ge=0, le=MAX_LONG)]

    class PydanticUploadLayerPart(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(strict=True, frozen=True)

        registryId: Annotated[str, text(pattern=f"^{REGISTRY_ID.published}$")] | None = None
        repositoryName: Annotated[
            str,
            text(
                min_length=2, max_length=MAX_REPOSITORY_NAME_LENGTH, pattern=f"^{SEED_PUBLISHED}$"
            ),
        ]
        uploadId: Annotated[str, text(pattern=f"^{UPLOAD_ID.published}$")]
        partFirstByte: part_size
        partLastByte: part_size
        layerPartBlob: Annotated[str, pydantic.AfterValidator(_decode_blob)]

    return PydanticUploadLayerPart.model_validate


def attrs_candidate() -> Callable[[dict[str, Any]], object]:
    v = attrs.validators
    part_size = [v.instance_of(int), v.ge(0), v.le(MAX_LONG)]

    def matching(pattern: str) -> list[Any]:
        return [v.instance_of(str), v.matches_re(pattern, func=re.fullmatch)]

    def blob(text: object) -> bytes:
        if type(text) is not str:
            raise TypeError("layerPartBlob")
        return _decode_blob(text)

    @attrs.frozen
    class AttrsUploadLayerPart:
        repositoryName: str = attrs.field(
            validator=[
                *matching(SEED_PUBLISHED),
                v.min_len(2),
                v.max_len(MAX_REPOSITORY_NAME_LENGTH),
            ]
        )
        uploadId: str = attrs.field(validator=matching(UPLOAD_ID.published))
        partFirstByte: int = attrs.field(validator=part_size)
        partLastByte: int = attrs.field(validator=part_size)
        layerPartBlob: bytes = attrs.field(converter=blob)
        registryId: str | None = attrs.field(
            default=None, validator=v.optional(matching(REGISTRY_ID.published))
        )

    def build(obj: dict[str, Any]) -> object:
        return AttrsUploadLayerPart(**obj)

    return build


def botocore_candidate() -> Callable[[dict[str, Any]], object]:
    model = botocore.session.get_session().get_service_model("ecr")
    shape = model.operation_model("UploadLayerPart").input_shape

    def check(obj: dict[str, Any]) -> object:
        validate_parameters(obj, shape)
        return obj

    return check


def unseen_identifiers(count: int) -> list[dict[str, object]]:
    """``count`` requests like REQUEST_1KIB, no two with the same registry id, repository
    name or upload id: more than a reader keeps, so none is read twice in a row
    of ``count``."""
    return [
        {
            **REQUEST_1KIB,
            "registryId": f"{index:012d}",
            "repositoryName": f"team/app-{index}",
            "uploadId": f"{index:08x}-0000-4000-8000-000000000000",
        }
        for index in range(count)
    ]


def _cycling(
    subject: Callable[[dict[str, Any]], object], requests: list[dict[str, object]]
) -> Callable[[], object]:
    """Calls ``subject`` with the next of ``requests`` each time, round and round."""
    cycle = itertools.cycle(requests)
    return lambda: subject(next(cycle))


def bench_from_wire(rounds: int, batch_seconds: float) -> None:
    subjects: dict[str, Callable[[dict[str, Any]], object]] = {
        "from_wire": UploadLayerPartRequest.from_wire,
        "hand-written minimum": hand_written_minimum,
        "pydantic v2 strict": pydantic_candidate(),
        "attrs validators": attrs_candidate(),
        "botocore validate_parameters": botocore_candidate(),
    }
    notes = {
        "from_wire": "target <= 1.3; faster than pydantic",
        "botocore validate_parameters": "checks less: no pattern, maximum or decode",
    }
    unseen = unseen_identifiers(4 * MAX_KEPT_IDENTIFIERS)
    for subject in subjects.values():  # each accepts the requests before it is timed
        subject(dict(REQUEST_1KIB))
        subject(unseen[0])
    same = interleaved(
        [(name, lambda f=subject: f(REQUEST_1KIB)) for name, subject in subjects.items()],  # type: ignore[misc]
        rounds,
        batch_seconds,
    )
    print_ratios(
        "1. UploadLayerPartRequest.from_wire, valid request with a 1 KiB blob",
        "hand-written minimum",
        same,
        notes,
    )
    # The same request, read again and again, finds its identifiers kept (as a server's
    # parts of one upload do); here every request brings three it has not seen.
    fresh = interleaved(
        [(name, _cycling(subject, unseen)) for name, subject in subjects.items()],
        rounds,
        batch_seconds,
    )
    print_ratios(
        "1b. The same, each request with identifiers not seen before",
        "hand-written minimum",
        fresh,
        notes,
    )


# ---------------------------------------------------------------------------------------
# 2. One 20 MiB part through the wire entry against the floor


def bench_wire_part(rounds: int) -> None:
    part = os.urandom(API_MAX_PART_BYTES)
    blob_text = base64.b64encode(part).decode("ascii")
    registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
    registry.create_repository("team/app")
    target = f"{TARGET_PREFIX}.UploadLayerPart"
    status, _, answer = handle(
        registry, f"{TARGET_PREFIX}.InitiateLayerUpload", b'{"repositoryName": "team/app"}'
    )
    upload_id = json.loads(answer)["uploadId"]

    def body(index: int) -> bytes:
        first = index * API_MAX_PART_BYTES
        return json.dumps(
            {
                "repositoryName": "team/app",
                "uploadId": upload_id,
                "partFirstByte": first,
                "partLastByte": first + API_MAX_PART_BYTES - 1,
                "layerPartBlob": blob_text,
            }
        ).encode("ascii")

    def floor(wire_body: bytes) -> None:
        obj = json.loads(wire_body)
        hashlib.sha256(binascii.a2b_base64(obj["layerPartBlob"], strict_mode=True)).digest()

    samples: dict[str, list[float]] = {"wire.handle": [], "floor": []}
    index = 0
    for round_ in range(rounds):
        order = ("wire.handle", "floor") if round_ % 2 == 0 else ("floor", "wire.handle")
        for name in order:
            wire_body = body(index)
            gc.collect()
            start = time.perf_counter()
            if name == "floor":
                floor(wire_body)
            else:
                status, _, answer = handle(registry, target, wire_body)
                if status != 200:
                    raise SystemExit(f"the part was refused: {answer!r}")
                index += 1
            samples[name].append(time.perf_counter() - start)
            del wire_body
    medians = {name: statistics.median(times) for name, times in samples.items()}
    print_ratios(
        f"2. One {API_MAX_PART_BYTES:,}-byte part ({len(body(0)):,}-byte body) through wire.handle",
        "floor",
        medians,
        {
            "wire.handle": "target <= 1.03",
            "floor": "json.loads + a2b_base64(strict_mode=True) + sha256",
        },
    )


# ---------------------------------------------------------------------------------------
# 5. Four uploads through one registry: four threads against one


def bench_threads(rounds: int) -> None:
    uploads, parts_per_upload, part_size = 4, 4, 5 * 1024 * 1024
    parts = [os.urandom(part_size) for _ in range(parts_per_upload)]

    def push_all(registry: Registry, upload_ids: list[UploadId], threads: int) -> None:
        def push(upload_id: UploadId) -> None:
            for index, blob in enumerate(parts):
                first = index * part_size
                registry.upload_layer_part(
                    UploadLayerPartRequest(
                        repository_name=RepositoryName("team/app"),
                        upload_id=upload_id,
                        part_first_byte=first,
                        part_last_byte=first + part_size - 1,
                        layer_part_blob=blob,
                    )
                )

        if threads == 1:
            for upload_id in upload_ids:
                push(upload_id)
            return
        workers = [threading.Thread(target=push, args=(upload_id,)) for upload_id in upload_ids]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    samples: dict[str, list[float]] = {"4 threads": [], "1 thread": []}
    for round_ in range(rounds):
        order = ("4 threads", "1 thread") if round_ % 2 == 0 else ("1 thread", "4 threads")
        for name in order:
            registry = Registry("123456789012", upload_id_factory=sequential_upload_ids())
            repository = registry.create_repository("team/app")
            upload_ids = [
                registry.initiate_layer_upload(
                    InitiateLayerUploadRequest(repository_name=repository)
                ).upload_id
                for _ in range(uploads)
            ]
            gc.collect()
            start = time.perf_counter()
            push_all(registry, upload_ids, 4 if name == "4 threads" else 1)
            samples[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(times) for name, times in samples.items()}
    total = uploads * parts_per_upload * part_size / (1024 * 1024)
    print_ratios(
        f"5. {uploads} uploads of {parts_per_upload} parts of 5 MiB ({total:.0f} MiB) "
        "through one Registry",
        "1 thread",
        medians,
        {"4 threads": "target <= 1 (not slower)", "1 thread": "the same uploads in turn"},
    )


# ---------------------------------------------------------------------------------------
# 3. Identifier validation, typical and adversarial


def refused_or_accepted(text: str) -> Callable[[], object]:
    def validate() -> object:
        try:
            return RepositoryName(text)
        except InvalidParameterException as error:
            return error

    return validate


def bench_identifiers(rounds: int, batch_seconds: float) -> None:
    pairs = (
        ("a" * 255 + "!", "a" * 256),
        ("a/" * 127 + "!", "a/" * 127 + "a"),
        ("a-" * 127 + "-", "a-" * 127 + "a"),
    )
    pattern = RepositoryGrammar.SEED.value.linear
    rows = []
    for adversarial, valid in pairs:
        medians = interleaved(
            [
                ("valid", refused_or_accepted(valid)),
                ("adversarial", refused_or_accepted(adversarial)),
                ("valid pattern", lambda text=valid: pattern.fullmatch(text)),  # type: ignore[misc]
                ("adversarial pattern", lambda text=adversarial: pattern.fullmatch(text)),  # type: ignore[misc]
            ],
            rounds,
            batch_seconds,
        )
        rows.append(
            [
                f"`{shorten(adversarial)}` vs `{shorten(valid)}` ({len(valid)} chars)",
                human(medians["valid"]),
                human(medians["adversarial"]),
                f"{medians['adversarial'] / medians['valid']:.2f}",
                f"{medians['adversarial pattern'] / medians['valid pattern']:.2f}",
            ]
        )
    typical = interleaved([("typical", refused_or_accepted("team/app"))], rounds, batch_seconds)
    rows.append(["`team/app` (typical)", human(typical["typical"]), "", "", ""])
    print_table(
        "3. RepositoryName(text): adversarial against valid of the same length (target <= 2)",
        [
            "names",
            "valid",
            "adversarial (refused)",
            "ratio",
            "ratio of the pattern alone",
        ],
        rows,
    )


def shorten(text: str) -> str:
    unit = text[:2] if text[1] != text[0] else text[0]
    count = (len(text) - 1) // len(unit)
    return f"'{unit}'*{count}+'{text[-1]}'"


# ---------------------------------------------------------------------------------------
# 4. Growth of the patterns on adversarial text


def once(function: Callable[[], object], repeat: int) -> float:
    return statistics.median(per_call_seconds(function, 1) for _ in range(repeat))


def growth_row(
    label: str, pattern: Any, make: Callable[[int], str], sizes: Sequence[int], repeat: int
) -> list[str]:
    times = []
    for size in sizes:
        text = make(size)
        if pattern.fullmatch(text) is not None:
            raise SystemExit(f"{label}: the adversarial text matches")
        times.append(once(lambda text=text: pattern.fullmatch(text), repeat))  # type: ignore[misc]
    cells = [human(elapsed) for elapsed in times]
    steps = [
        f"{later / earlier:.1f}x per {size_later // size_earlier}x"
        for earlier, later, size_earlier, size_later in zip(
            times, times[1:], sizes, sizes[1:], strict=False
        )
    ]
    exponent = math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0])
    return [label, *cells, ", ".join(steps), f"{exponent:.2f}"]


def repeat_to(unit: str, size: int, end: str) -> str:
    return unit * ((size - len(end)) // len(unit)) + end


def bench_growth(quick: bool) -> None:
    sizes = (1_000, 10_000, 100_000)
    repeat = 3 if quick else 7
    cases: list[tuple[str, Any, Callable[[int], str]]] = [
        ("RegistryId `'1'*n`", REGISTRY_ID.linear, lambda n: "1" * n),
        ("UploadId `'0'*n`", UPLOAD_ID.linear, lambda n: "0" * n),
        (
            "LayerDigest `'sha256:'+'a'*n+'!'`",
            LAYER_DIGEST.linear,
            lambda n: "sha256:" + repeat_to("a", n - 7, "!"),
        ),
        (
            "RepositoryName seed `'a/'*n+'!'`",
            RepositoryGrammar.SEED.value.linear,
            lambda n: repeat_to("a/", n, "!"),
        ),
        (
            "RepositoryName seed `'a-'*n+'-'`",
            RepositoryGrammar.SEED.value.linear,
            lambda n: repeat_to("a-", n, "-"),
        ),
        (
            "RepositoryName OCI `'a__'*n+'_'`",
            RepositoryGrammar.OCI.value.linear,
            lambda n: repeat_to("a__", n, "_"),
        ),
        (
            "RepositoryName OCI `'a-'*n+'/'`",
            RepositoryGrammar.OCI.value.linear,
            lambda n: repeat_to("a-", n, "/"),
        ),
    ]
    rows = [growth_row(label, pattern, make, sizes, repeat) for label, pattern, make in cases]
    published_sizes = (1_000, 10_000) if quick else (1_000, 10_000, 30_000)
    published = regex.compile(SEED_PUBLISHED, regex.VERSION0)
    contrast = growth_row(
        "published seed pattern under `regex`, `'a/'*n+'!'`",
        published,
        lambda n: repeat_to("a/", n, "!"),
        published_sizes,
        1 if quick else 3,
    )
    if len(published_sizes) < len(sizes):
        contrast.insert(1 + len(published_sizes), "(skipped)")
    else:
        contrast[3] = f"{contrast[3]} (at 30k)"
    rows.append(contrast)
    print_table(
        "4. Growth: each linear pattern on adversarial text, no length check",
        ["pattern, text", "1k chars", "10k chars", "100k chars", "growth", "exponent"],
        rows,
    )


# ---------------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--only", default="1,2,3,4,5", help="which benchmarks, e.g. 1,3")
    args = parser.parse_args(argv)
    chosen = {int(item) for item in args.only.split(",")}
    rounds = 5 if args.quick else 31
    batch_seconds = 0.01 if args.quick else 0.05
    print(f"Machine: {machine()}")
    print(f"Command: {' '.join(['python', *sys.argv])}")
    if 1 in chosen:
        bench_from_wire(rounds, batch_seconds)
    if 2 in chosen:
        bench_wire_part(3 if args.quick else 15)
    if 3 in chosen:
        bench_identifiers(rounds, batch_seconds)
    if 4 in chosen:
        bench_growth(args.quick)
    if 5 in chosen:
        bench_threads(3 if args.quick else 11)


if __name__ == "__main__":
    main()
