"""A registry server in a process of its own, for the tests that kill it or run three.

As a script, ``python tests/registry_server.py DATA_DIR [options]`` serves ECR's JSON
API (``POST /`` with ``X-Amz-Target``) through ``wire.handle``, over a Registry whose
store is ``open_store(DATA_DIR, --store)`` and whose clock is the wall clock (a durable
store's times outlive the process), on 127.0.0.1 and a free port; it prints
``listening on http://127.0.0.1:PORT`` once it accepts connections, as ``serve`` does.
It stands in for ``python -m ecr_upload_model serve --data DATA_DIR --port 0``: to run
the tests against ``serve``, change :func:`command` alone (the pause points then need
this script's hooks put around serve's main).

``--pause-at POINT[:N]`` stops the process at a point of the N-th part's (or layer's)
way to disk, prints ``paused at POINT`` and waits to be killed:

- ``part-half-written``: half of the part's bytes are in its file;
- ``part-written``: its file is whole and synced; the state does not name it yet;
- ``part-committed``: the state names the part; its answer is not sent;
- ``layer-half-linked``: the first part is linked into the layer's new directory, at
  completion (the occurrence counts the parts linked).

Imported, :func:`running_server` starts one and gives the tests a client of it.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

from shared_values import REGISTRY_ID

from ecr_upload_model import API_LIMITS, Limits, Registry
from ecr_upload_model.operations import Request
from ecr_upload_model.planning import Answer, decode_answer, encode_request
from ecr_upload_model.server import data_directory
from ecr_upload_model.server.file_store import FileStore
from ecr_upload_model.server.stores import open_store
from ecr_upload_model.wire import CONTENT_TYPE, handle

PAUSE_POINTS = ("part-half-written", "part-written", "part-committed", "layer-half-linked")
#: Long enough for a slow machine; only reached if a server hangs.
TIMEOUT_SECONDS = 60.0


# ---------------------------------------------------------------------------------------
# The server process


def pause(point: str) -> NoReturn:
    print(f"paused at {point}", flush=True)
    threading.Event().wait()  # until the test kills this process
    raise AssertionError("not reached")


def install_pause(point: str, occurrence: int) -> None:
    """Makes the ``occurrence``-th passage through ``point`` pause the process."""
    seen = 0

    def reached() -> bool:
        nonlocal seen
        seen += 1
        return seen == occurrence

    if point == "part-half-written":
        write = data_directory._write_new_file

        def write_half(path: Path, data: memoryview) -> None:
            if reached():
                write(path, data[: len(data) // 2])
                pause(point)
            write(path, data)

        setattr(data_directory, "_write_new_file", write_half)  # noqa: B010
    elif point == "part-written":
        write_part = data_directory.DataDirectory.write_part

        def written(self: data_directory.DataDirectory, *args: Any) -> str | None:
            name = write_part(self, *args)
            if reached():
                pause(point)
            return name

        setattr(data_directory.DataDirectory, "write_part", written)  # noqa: B010
    elif point == "part-committed":
        append_part = FileStore.append_part

        def committed(self: FileStore, *args: Any) -> bool:
            swapped = append_part(self, *args)
            if swapped and reached():
                pause(point)
            return swapped

        setattr(FileStore, "append_part", committed)  # noqa: B010
    elif point == "layer-half-linked":
        link = data_directory._link_or_copy

        def link_then_pause(source: Path, target: Path) -> None:
            link(source, target)
            if reached():
                pause(point)

        setattr(data_directory, "_link_or_copy", link_then_pause)  # noqa: B010
    else:
        raise SystemExit(f"no pause point {point!r}; the points: {', '.join(PAUSE_POINTS)}")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, headers, answer = handle(
            self.server.registry,
            self.headers.get("X-Amz-Target", ""),
            body,
            request_id=str(uuid.uuid4()),
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: Registry


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--store", default=None, help="Redis URL; none: SQLite in DATA")
    parser.add_argument("--repository", action="append", default=[])
    parser.add_argument("--part-bytes", type=int, help="min and advised part size")
    parser.add_argument("--pause-at", metavar="POINT[:N]")
    arguments = parser.parse_args(argv)
    if arguments.pause_at:
        point, _, occurrence = arguments.pause_at.partition(":")
        install_pause(point, int(occurrence or 1))
    limits = API_LIMITS
    if arguments.part_bytes:
        limits = Limits(min_part_bytes=arguments.part_bytes, part_size=arguments.part_bytes)
    store = open_store(arguments.data, arguments.store)
    registry = Registry(REGISTRY_ID, limits=limits, store=store, clock=time.time)
    for name in arguments.repository:
        registry.create_repository(name)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.registry = registry
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


# ---------------------------------------------------------------------------------------
# The tests' side


def command(
    data: Path,
    *,
    store_url: str | None,
    repositories: Sequence[str],
    part_bytes: int | None,
    pause_at: str | None,
) -> list[str]:
    """The command line of a server over ``data`` (the one line to change for ``serve``)."""
    return [
        sys.executable,
        str(Path(__file__)),
        str(data),
        *(["--store", store_url] if store_url else []),
        *(option for name in repositories for option in ("--repository", name)),
        *(["--part-bytes", str(part_bytes)] if part_bytes else []),
        *(["--pause-at", pause_at] if pause_at else []),
    ]


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    log: Path

    def transport(self, target: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        """One HTTP call; OSError when the server is gone (killed) before it answers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_SECONDS)
        try:
            connection.request(
                "POST",
                "/",
                body,
                {"X-Amz-Target": target, "Content-Type": CONTENT_TYPE},
            )
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def call(self, request: Request) -> Answer:
        """The server's answer to ``request``; its ECR error raised, OSError if none came."""
        status, headers, body = self.transport(*encode_request(request))
        return decode_answer(request, status, body, headers)

    def paused_at(self) -> str:
        """Waits for the server to say it paused; the point it names."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("paused at "), (line, self.log.read_text())
        return line.removeprefix("paused at ").strip()

    def kill(self) -> None:
        """SIGKILL: the process ends where it is, with no cleanup of any kind."""
        self.process.kill()
        self.process.wait(timeout=TIMEOUT_SECONDS)


@contextlib.contextmanager
def running_server(
    data: Path,
    *,
    store_url: str | None = None,
    repositories: Sequence[str] = ("team/app",),
    part_bytes: int | None = None,
    pause_at: str | None = None,
) -> Iterator[ServerProcess]:
    """A server process over ``data``, listening; stopped (or found killed) on exit."""
    log = data.parent / f"server-{uuid.uuid4().hex[:8]}.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command(
                data,
                store_url=store_url,
                repositories=repositories,
                part_bytes=part_bytes,
                pause_at=pause_at,
            ),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()  # the server's first line, or EOF if it died
            assert line.startswith("listening on http://127.0.0.1:"), (line, log.read_text())
            yield ServerProcess(process, int(line.rpartition(":")[2]), log)
        finally:
            process.terminate()
            process.wait(timeout=TIMEOUT_SECONDS)
            if process.stdout is not None:
                process.stdout.close()


def in_thread(call: Callable[[], object]) -> Callable[[], object]:
    """Starts ``call`` in a thread; returns what joins it and gives its result or error."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the joining test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> object:
        thread.join(timeout=TIMEOUT_SECONDS)
        assert outcome, "the call did not end"
        return outcome[0]

    return join


if __name__ == "__main__":
    main()
