"""The command line: replay a trace of calls, or push a layer, through the reference registry.

The package's edge: the one module that reads files and stdin and writes stdout. Every
call goes through :func:`ecr_upload_model.wire.handle`, as a server's would.

Exit codes: 0 done (a replay answers refused calls and still succeeds), 1 a push that
failed (the ECR error is on stderr), 2 bad input (a missing or unreadable file, a bad
size, registry id or repository name). Messages go to stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import pathlib
import random
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO, Final, TextIO

from .errors import EcrError, InvalidLayerPartException, SerializationException, UsageError
from .identifiers import LayerDigest, RegistryId, RepositoryName
from .limits import API_MAX_PART_BYTES, DEFAULT_PART_SIZE, MIN_PART_BYTES, QUOTA_MAX_LAYER_BYTES
from .operations import UploadLayerPartRequest
from .planning import (
    LayerBytes,
    Outcome,
    Transport,
    UploadLayerPartAnswer,
    check_part_size,
    describe_call,
    push_layer,
)
from .registry import Registry, random_upload_ids, sequential_upload_ids
from .wire import DEFAULT_REQUEST_ID, TARGET_PREFIX, Request, encode_error, handle, parse_body

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

PROG: Final = "python -m ecr_upload_model"
#: The registry's account when none is given: the example account of the issue and docs.
DEFAULT_REGISTRY_ID: Final = "123456789012"
#: The one repository ``push`` creates when none is given.
DEFAULT_REPOSITORY: Final = "team/app"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
#: Layers pushed at the same time: dockerd's default ``max-concurrent-uploads``.
DEFAULT_JOBS: Final = 5
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


def _positive_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return count


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return port


def _credentials(text: str) -> tuple[str, str]:
    key, colon, secret = text.partition(":")
    if not (key and colon and secret):
        raise argparse.ArgumentTypeError("credentials are KEY:SECRET, both non-empty")
    return key, secret


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
        metavar="ID",
        help="the reference registry's 12-digit account id, which requests without "
        f"registryId address (default: {DEFAULT_REGISTRY_ID}); with --endpoint-url, the "
        "registryId of every request (default: none, the caller's own registry)",
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
        help="push layers (files, or generated bytes) into the reference registry or an "
        "ECR endpoint, and show each call",
        description=(
            "Push layers as an ECR client does: BatchCheckLayerAvailability, "
            "InitiateLayerUpload, the parts in order, CompleteLayerUpload; failed calls "
            "are retried as botocore's standard retry mode retries them. Without "
            "--endpoint-url the layers go into the in-memory reference registry; with it, "
            "through boto3 (credentials and signing from boto3's usual chain) to ECR or "
            "any ECR-compatible server. Each call and its answer is shown on one line, "
            "with a progress line after each part of a layer of more than one part (or, "
            "on a terminal, a progress bar per layer); last comes each layer's digest. As "
            f"in ECR, every part but the last must hold at least {MIN_PART_BYTES} bytes, "
            "or the completion is refused."
        ),
        epilog=f"example: {PROG} push layer.tar --endpoint-url http://127.0.0.1:5000 "
        "--region us-east-1 --repository team/app",
    )
    # FILE and --size exclude each other; argparse cannot say so of a positional that
    # takes any number of values (it counts the absent one as given), so _layers checks.
    push.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="a layer's bytes, or '-' for stdin (several files push concurrently)",
    )
    push.add_argument(
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
        f"InitiateLayerUpload answers, {DEFAULT_PART_SIZE} from the reference registry)",
    )
    push.add_argument(
        "--repository",
        type=_repository_name,
        metavar="NAME",
        help="the repository to push into (required with --endpoint-url; otherwise "
        f"created first in the reference registry, default: {DEFAULT_REPOSITORY})",
    )
    push.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="push through boto3 to this ECR or ECR-compatible endpoint (needs the "
        "'push' extra: boto3)",
    )
    push.add_argument("--region", metavar="REGION", help="the AWS region (boto3's default)")
    push.add_argument("--profile", metavar="PROFILE", help="the boto3 profile to use")
    push.add_argument(
        "--jobs",
        type=_positive_count,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"layers pushed at the same time (default: {DEFAULT_JOBS}, as docker)",
    )
    push.add_argument(
        "--progress",
        choices=("auto", "bars", "lines"),
        default="auto",
        help="progress bars on stderr (needs tqdm), or a line per call on stdout "
        "(default: bars when stderr is a terminal and tqdm is installed)",
    )
    push.set_defaults(run=_push)

    serve = commands.add_parser(
        "serve",
        help="run an ECR-compatible HTTP endpoint (the JSON API) over a durable store",
        description=(
            "Answer ECR's JSON API over HTTP: the four layer-upload operations, "
            "CreateRepository, DescribeRepositories, DeleteRepository and "
            "GetAuthorizationToken, for boto3, the AWS CLI or any ECR client pointed at "
            "it with --endpoint-url. Prints 'listening on http://HOST:PORT' once it "
            "accepts calls; SIGTERM or SIGINT stops it after the calls in flight. Without "
            "--credentials any signature (or none) is accepted."
        ),
        epilog=f"example: {PROG} serve --port 5000 --repository team/app",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=5000,
        help="the port to listen on; 0 picks a free one (default: 5000)",
    )
    serve.add_argument(
        "--data",
        metavar="DIR",
        help="where the repositories, uploads and layers are kept (default: "
        "$XDG_DATA_HOME/ecr_upload_model, that is ~/.local/share/ecr_upload_model)",
    )
    serve.add_argument(
        "--registry-id",
        type=_registry_id,
        default=RegistryId(DEFAULT_REGISTRY_ID),
        metavar="ID",
        help=f"the registry's 12-digit account id (default: {DEFAULT_REGISTRY_ID})",
    )
    serve.add_argument(
        "--repository",
        type=_repository_name,
        action="append",
        default=[],
        metavar="NAME",
        help="a repository created at start if it does not exist (repeatable)",
    )
    serve.add_argument(
        "--store",
        metavar="URL",
        help="where the state is kept: redis://HOST:PORT/DB for Redis (the bytes stay in "
        "--data); default: SQLite in --data",
    )
    serve.add_argument(
        "--credentials",
        type=_credentials,
        metavar="KEY:SECRET",
        help="check the AWS Signature Version 4 of every call against this access key "
        "and secret (default: accept any signature, or none)",
    )
    serve.set_defaults(run=_serve)
    return parser


# ---------------------------------------------------------------------------------------
# The commands


class _BadInput(Exception):
    """Input the command cannot use (exit 2); the message says why."""


def _new_registry(arguments: argparse.Namespace) -> Registry:
    return Registry(
        arguments.registry_id or RegistryId(DEFAULT_REGISTRY_ID),
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


def _replay(arguments: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    registry = _new_registry(arguments)
    for repository in arguments.repository:
        registry.create_repository(repository)
    for line in _binary_lines(arguments.file, stdin):
        if line.strip():
            print(answer_line(registry, line.rstrip(b"\r\n")), file=stdout, flush=True)
    return EXIT_OK


def _layers(arguments: argparse.Namespace, stdin: BinaryIO) -> list[tuple[str, LayerBytes]]:
    """Each layer to push with its name. A file is mapped, not read: a push sends windows
    of the mapping, so a layer costs no memory of its own."""
    if bool(arguments.files) == (arguments.size is not None):
        raise _BadInput(
            "argument FILE: not allowed with argument --size"
            if arguments.files
            else "one of the arguments FILE --size is required"
        )
    if arguments.size is not None:
        try:
            generated = random.Random(GENERATED_LAYER_SEED).randbytes(arguments.size)
        except MemoryError:
            raise _BadInput(f"not enough memory for a {arguments.size}-byte layer") from None
        return [(f"{arguments.size} generated bytes", generated)]
    return [(name, _file_bytes(name, stdin)) for name in arguments.files]


def _file_bytes(name: str, stdin: BinaryIO) -> LayerBytes:
    if name == "-":
        return stdin.read()
    try:
        with open(name, "rb") as file:
            if os.fstat(file.fileno()).st_size == 0:
                return b""  # an empty file cannot be mapped
            return memoryview(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise _BadInput(f"cannot read {name}: {reason}") from None


def _push_transport(arguments: argparse.Namespace) -> tuple[Transport, RepositoryName]:
    """The transport to push through, and the repository to push into."""
    if arguments.endpoint_url is None:
        registry = _new_registry(arguments)
        repository = registry.create_repository(arguments.repository or DEFAULT_REPOSITORY)
        lock = threading.Lock()  # several layers push at once; the registry is shared

        def in_memory(target: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
            with lock:
                return handle(registry, target, body)

        return in_memory, repository
    if arguments.repository is None:
        raise _BadInput("--repository is required with --endpoint-url")
    try:
        from botocore.exceptions import BotoCoreError  # noqa: PLC0415

        from .boto3_transport import Boto3Transport, ecr_client  # noqa: PLC0415
    except ImportError:
        raise _BadInput(
            "--endpoint-url pushes through boto3: pip install 'ecr_upload_model[push]'"
        ) from None
    try:
        client = ecr_client(
            endpoint_url=arguments.endpoint_url,
            region_name=arguments.region,
            profile_name=arguments.profile,
            max_pool_connections=max(10, arguments.jobs),
        )
    except (BotoCoreError, ValueError) as error:
        raise _BadInput(f"cannot make an ECR client: {error}") from None
    return Boto3Transport(client), arguments.repository


class _Display:
    """What a push shows: a line per call on stdout, or a progress bar per layer."""

    def __init__(self, stdout: TextIO, stderr: TextIO, names: list[str], bars: bool) -> None:
        self.stdout = stdout
        self.lock = threading.Lock()
        self.several = len(names) > 1
        self.bars: dict[str, Any] = {}
        if bars:
            from tqdm import tqdm  # noqa: PLC0415

            self.bars = {
                name: tqdm(
                    desc=name,
                    total=0,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    position=position,
                    file=stderr,
                    leave=True,
                    dynamic_ncols=True,
                )
                for position, name in enumerate(names)
            }

    def line(self, name: str, text: str) -> None:
        with self.lock:
            print(f"{name}: {text}" if self.several else text, file=self.stdout, flush=True)

    def observer(self, name: str, size: int) -> Callable[[Request, Outcome], None]:
        bar = self.bars.get(name)
        if bar is not None:
            bar.reset(total=size)

        def observe(request: Request, outcome: Outcome) -> None:
            held = _bytes_held(request, outcome)
            if bar is not None:
                if held is not None:
                    with self.lock:
                        bar.update(held - bar.n)
                return
            self.line(name, describe_call(request, outcome))
            if (
                held is not None
                and isinstance(request, UploadLayerPartRequest)
                and isinstance(outcome, UploadLayerPartAnswer)
                and request.part_last_byte - request.part_first_byte + 1 < size
            ):  # a part of a layer of several parts
                self.line(name, f"progress: {held} of {size} bytes ({100 * held // size}%)")

        return observe

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _bytes_held(request: Request, outcome: Outcome) -> int | None:
    """The bytes the registry holds by an answer to a part, if it says."""
    if not isinstance(request, UploadLayerPartRequest):
        return None
    match outcome:
        case UploadLayerPartAnswer(last_byte_received=int(last)):
            return last + 1
        case UploadLayerPartAnswer():
            return request.part_last_byte + 1
        case InvalidLayerPartException(last_valid_byte_received=int(last)):
            return last + 1
    return None


def _wants_bars(choice: str, stderr: TextIO) -> bool:
    if choice == "lines":
        return False
    try:
        import tqdm  # noqa: F401, PLC0415
    except ImportError:
        if choice == "bars":
            raise _BadInput("--progress bars needs tqdm: pip install tqdm") from None
        return False
    return choice == "bars" or stderr.isatty()


def _push(arguments: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    layers = _layers(arguments, stdin)
    transport, repository = _push_transport(arguments)
    names = [name for name, _ in layers]
    display = _Display(stdout, stderr, names, _wants_bars(arguments.progress, stderr))

    def push(name: str, layer: LayerBytes) -> LayerDigest:
        return push_layer(
            transport,
            layer,
            repository_name=repository,
            registry_id=None if arguments.endpoint_url is None else arguments.registry_id,
            part_size=arguments.part_size,
            observe=display.observer(name, memoryview(layer).nbytes),
        )

    try:
        with ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
            pushes = [(name, pool.submit(push, name, layer)) for name, layer in layers]
            outcomes = [(name, _finished(future)) for name, future in pushes]
    finally:
        display.close()
    for name, outcome in outcomes:
        if isinstance(outcome, LayerDigest):
            print(f"{outcome}  {name}" if display.several else outcome, file=stdout, flush=True)
        else:
            where = f"{name}: " if display.several else ""
            print(f"{PROG} push: failed: {where}{outcome}", file=stderr, flush=True)
    failed = any(not isinstance(outcome, LayerDigest) for _, outcome in outcomes)
    return EXIT_FAILED if failed else EXIT_OK


def _finished(future: Future[LayerDigest]) -> LayerDigest | str:
    """The digest a push returned, or why it failed (one line)."""
    try:
        return future.result()
    except EcrError as error:
        return f"{error.code}: {error.message}"
    except (UsageError, OSError) as error:  # an answer a push cannot use; no answer
        return str(error)
    except Exception as error:  # boto3's own (no credentials...): the edge reports them
        if type(error).__module__.startswith("botocore"):
            return str(error)
        raise


def _serve(arguments: argparse.Namespace, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    try:
        from .server.serve import default_data_dir, serve  # noqa: PLC0415
    except ImportError as error:
        raise _BadInput(
            f"serve needs the 'server' extra: pip install 'ecr_upload_model[server]' ({error})"
        ) from None
    data = default_data_dir() if arguments.data is None else pathlib.Path(arguments.data)
    try:
        serve(
            host=arguments.host,
            port=arguments.port,
            data_dir=data,
            registry_id=arguments.registry_id,
            repositories=arguments.repository,
            store_url=arguments.store,
            credentials=None if arguments.credentials is None else dict([arguments.credentials]),
            stdout=stdout,
        )
    except OSError as error:  # the port is taken, the data directory cannot be made
        raise _BadInput(f"cannot serve: {error}") from None
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
    run: Callable[[argparse.Namespace, BinaryIO, TextIO, TextIO], int] = arguments.run
    try:
        return run(arguments, stdin, stdout, stderr)
    except _BadInput as error:
        print(f"{PROG} {arguments.command}: error: {error}", file=stderr)
        return EXIT_USAGE
    except EcrError as error:
        print(f"{PROG} {arguments.command}: failed: {error.code}: {error.message}", file=stderr)
        return EXIT_FAILED
    except UsageError as error:  # an answer a push cannot use: not the user's input
        print(f"{PROG} {arguments.command}: failed: {error}", file=stderr)
        return EXIT_FAILED
