"""The command line: replay a trace of calls, or push a layer, through the reference registry.

The package's edge: the one module that reads files and stdin and writes stdout. Every
call goes through :func:`ecr_upload_model.wire.handle`, as a server's would.

Exit codes: 0 done (a replay answers refused calls and still succeeds), 1 a push that
failed (the ECR error is on stderr), 2 bad input (a missing or unreadable file, a bad
size, registry id or repository name). Messages go to stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import BinaryIO, Final, TextIO

from .errors import EcrError, InvalidLayerPartException, SerializationException, UsageError
from .identifiers import RegistryId, RepositoryName
from .limits import API_MAX_PART_BYTES, DEFAULT_PART_SIZE, MIN_PART_BYTES, QUOTA_MAX_LAYER_BYTES
from .operations import (
    BatchCheckLayerAvailabilityResponse,
    CompleteLayerUploadResponse,
    InitiateLayerUploadResponse,
    UploadLayerPartRequest,
    UploadLayerPartResponse,
)
from .planning import Outcome, check_part_size, push_layer
from .registry import Registry, random_upload_ids, sequential_upload_ids
from .wire import DEFAULT_REQUEST_ID, TARGET_PREFIX, Request, encode_error, handle, parse_body

PROG: Final = "python -m ecr_upload_model"
#: The registry's account when none is given: the example account of the issue and docs.
DEFAULT_REGISTRY_ID: Final = "123456789012"
#: The one repository ``push`` creates when none is given.
DEFAULT_REPOSITORY: Final = "team/app"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
#: The seed of a generated layer's bytes: the same layer for the same size on every run.
GENERATED_LAYER_SEED: Final = 0

EXAMPLE_TRACE_LINE: Final = (
    '{"target": "InitiateLayerUpload", "body": {"repositoryName": "team/app"}}'
)


# ---------------------------------------------------------------------------------------
# Arguments


def _registry_id(text: str) -> RegistryId:
    try:
        return RegistryId(text)
    except EcrError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _repository_name(text: str) -> RepositoryName:
    try:
        return RepositoryName(text)
    except EcrError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _byte_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes")
    return count


def _layer_size(text: str) -> int:
    size = _byte_count(text)
    if size > QUOTA_MAX_LAYER_BYTES:
        raise argparse.ArgumentTypeError(
            f"{size} bytes is more than ECR's largest layer ({QUOTA_MAX_LAYER_BYTES} bytes)"
        )
    return size


def _part_size(text: str) -> int:
    try:
        return check_part_size(_byte_count(text))
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, with a ``--help`` for each command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Watch Amazon ECR's layer upload (BatchCheckLayerAvailability, "
            "InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload) answered by the "
            "package's in-memory reference registry, through the AWS JSON 1.1 wire form."
        ),
        epilog="Exit codes: 0 done, 1 the push failed, 2 bad input. "
        f"'{PROG} COMMAND --help' explains each command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry-id",
        type=_registry_id,
        default=RegistryId(DEFAULT_REGISTRY_ID),
        metavar="ID",
        help="the registry's 12-digit account id, which requests without registryId "
        f"address (default: {DEFAULT_REGISTRY_ID})",
    )
    common.add_argument(
        "--deterministic-ids",
        action="store_true",
        help="number upload ids 00000000-0000-0000-0000-000000000000, ...0001, ... "
        "instead of random uuid4s, so that the output is the same on every run",
    )

    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="answer a JSON Lines trace of calls, line by line",
        description=(
            "Answer each line of FILE (or stdin, '-') as the reference registry does. "
            'A line is a call: {"target": OPERATION, "body": {...}}, where OPERATION is '
            f"an operation's name or the full X-Amz-Target value ({TARGET_PREFIX}."
            'OPERATION); other members (a "note", say) are ignored and blank lines are '
            'skipped. Each call is answered on stdout by one line {"status": HTTP_STATUS, '
            '"body": {...}}. A line that is not a JSON object with "target" and "body" is '
            "answered with the SerializationException a server would give, and the replay "
            "goes on. Upload ids come from the registry: use --deterministic-ids so that "
            "a trace can name them."
        ),
        epilog=f"example line: {EXAMPLE_TRACE_LINE}",
    )
    replay.add_argument("file", metavar="FILE", help="the trace, or '-' for stdin")
    replay.add_argument(
        "--repository",
        type=_repository_name,
        action="append",
        default=[],
        metavar="NAME",
        help="a repository that exists in the registry (repeatable; default: none)",
    )
    replay.set_defaults(run=_replay)

    push = commands.add_parser(
        "push",
        parents=[common],
        help="push a layer (a file, or generated bytes) and show each call",
        description=(
            "Push one layer into the reference registry as an ECR client does: "
            "BatchCheckLayerAvailability, InitiateLayerUpload, the parts in order, "
            "CompleteLayerUpload. Each call and its answer is shown on one line, with a "
            "progress line after each part of a layer of more than one part; the last "
            "line is the layer's digest. As in ECR, every part but the last must hold at "
            f"least {MIN_PART_BYTES} bytes, or the completion is refused."
        ),
    )
    layer = push.add_mutually_exclusive_group(required=True)
    layer.add_argument(
        "file", nargs="?", metavar="FILE", help="the layer's bytes, or '-' for stdin"
    )
    layer.add_argument(
        "--size",
        type=_layer_size,
        metavar="BYTES",
        help="push a generated layer of BYTES bytes (the same bytes on every run)",
    )
    push.add_argument(
        "--part-size",
        type=_part_size,
        metavar="BYTES",
        help=f"bytes per part, from 1 to {API_MAX_PART_BYTES} (default: the partSize "
        f"InitiateLayerUpload answers, {DEFAULT_PART_SIZE})",
    )
    push.add_argument(
        "--repository",
        type=_repository_name,
        default=RepositoryName(DEFAULT_REPOSITORY),
        metavar="NAME",
        help=f"the repository to push into, created first (default: {DEFAULT_REPOSITORY})",
    )
    push.set_defaults(run=_push)
    return parser


# ---------------------------------------------------------------------------------------
# The commands


class _BadInput(Exception):
    """Input the command cannot use (exit 2); the message says why."""


def _new_registry(arguments: argparse.Namespace) -> Registry:
    return Registry(
        arguments.registry_id,
        upload_id_factory=(
            sequential_upload_ids() if arguments.deterministic_ids else random_upload_ids
        ),
    )


def _binary_lines(name: str, stdin: BinaryIO) -> Iterable[bytes]:
    if name == "-":
        yield from stdin
        return
    try:
        with open(name, "rb") as file:
            yield from file
    except OSError as error:
        raise _BadInput(f"cannot read {name}: {error.strerror or error}") from None


def answer_line(registry: Registry, line: bytes) -> str:
    """The answer line to one trace line: ``{"status": ..., "body": {...}}``."""
    try:
        call = parse_body(line)
        if not (type(call) is dict and type(call.get("target")) is str and "body" in call):
            raise SerializationException(
                'A trace line is a JSON object with a string "target" and a "body"'
            )
        target: str = call["target"]
        if "." not in target:
            target = f"{TARGET_PREFIX}.{target}"
        status, _, body = handle(
            registry, target, json.dumps(call["body"]).encode(), request_id=DEFAULT_REQUEST_ID
        )
    except SerializationException as error:
        status, _, body = encode_error(error, request_id=DEFAULT_REQUEST_ID)
    return json.dumps({"status": status, "body": json.loads(body)})


def _replay(arguments: argparse.Namespace, stdin: BinaryIO, stdout: TextIO) -> int:
    registry = _new_registry(arguments)
    for repository in arguments.repository:
        registry.create_repository(repository)
    for line in _binary_lines(arguments.file, stdin):
        if line.strip():
            print(answer_line(registry, line.rstrip(b"\r\n")), file=stdout, flush=True)
    return EXIT_OK


def _layer_bytes(arguments: argparse.Namespace, stdin: BinaryIO) -> bytes:
    if arguments.size is not None:
        try:
            return random.Random(GENERATED_LAYER_SEED).randbytes(arguments.size)
        except MemoryError:
            raise _BadInput(f"not enough memory for a {arguments.size}-byte layer") from None
    if arguments.file == "-":
        return stdin.read()
    try:
        with open(arguments.file, "rb") as file:
            return file.read()
    except OSError as error:
        raise _BadInput(f"cannot read {arguments.file}: {error.strerror or error}") from None


def describe_call(request: Request, outcome: Outcome) -> str:
    """One line: the operation, a part's byte range, the status and what came back."""
    operation = type(request).__name__.removesuffix("Request")
    if isinstance(request, UploadLayerPartRequest):
        operation += f" bytes {request.part_first_byte}-{request.part_last_byte}"
    return f"{operation} -> {_describe_outcome(outcome)}"


def _describe_outcome(outcome: Outcome) -> str:
    match outcome:
        case InvalidLayerPartException(last_valid_byte_received=int(last_valid)):
            return f"{outcome.http_status} {outcome.code} lastValidByteReceived={last_valid}"
        case EcrError():
            return f"{outcome.http_status} {outcome.code}"
        case OSError():
            return f"no answer ({outcome})"
        case BatchCheckLayerAvailabilityResponse():
            found = [layer.layer_availability.value for layer in outcome.layers]
            missing = [failure.failure_code.value for failure in outcome.failures]
            return "200 " + " ".join(found + missing)
        case InitiateLayerUploadResponse():
            return f"200 uploadId={outcome.upload_id} partSize={outcome.part_size}"
        case UploadLayerPartResponse():
            return f"200 lastByteReceived={outcome.last_byte_received}"
        case CompleteLayerUploadResponse():
            return f"200 layerDigest={outcome.layer_digest}"


def _push(arguments: argparse.Namespace, stdin: BinaryIO, stdout: TextIO) -> int:
    layer = _layer_bytes(arguments, stdin)
    registry = _new_registry(arguments)
    repository = registry.create_repository(arguments.repository)
    part_size = arguments.part_size or registry.limits.part_size
    show_progress = len(layer) > part_size

    def observe(request: Request, outcome: Outcome) -> None:
        print(describe_call(request, outcome), file=stdout, flush=True)
        if show_progress and isinstance(outcome, UploadLayerPartResponse):
            held = outcome.last_byte_received + 1
            print(
                f"progress: {held} of {len(layer)} bytes ({100 * held // len(layer)}%)",
                file=stdout,
                flush=True,
            )

    digest = push_layer(
        functools.partial(handle, registry),
        layer,
        repository_name=repository,
        part_size=arguments.part_size,
        observe=observe,
    )
    print(digest, file=stdout, flush=True)
    return EXIT_OK


# ---------------------------------------------------------------------------------------
# Entry point


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Runs the command line; returns the exit code (argparse exits 2 on bad arguments)."""
    stdin = sys.stdin.buffer if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    arguments = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace, BinaryIO, TextIO], int] = arguments.run
    try:
        return run(arguments, stdin, stdout)
    except _BadInput as error:
        print(f"{PROG} {arguments.command}: error: {error}", file=stderr)
        return EXIT_USAGE
    except EcrError as error:
        print(f"{PROG} {arguments.command}: failed: {error.code}: {error.message}", file=stderr)
        return EXIT_FAILED
    except UsageError as error:  # an answer a push cannot use: not the user's input
        print(f"{PROG} {arguments.command}: failed: {error}", file=stderr)
        return EXIT_FAILED
