"""Benchmarks of the /v2/ front end against distribution 2.8, side by side in one run.

1. A 100 MiB blob pushed in 10 MiB PATCH chunks (POST, ten PATCHes with
   ``Content-Range``, PUT) with ``http.client``, to:

   - a floor: a server that reads each body and answers, checking nothing;
   - the front end behind the standard library's threaded WSGI server, over a
     ``MemoryStore`` that keeps no layer bytes (the model's default), and one that
     keeps them (``keep_layers=True``);
   - distribution 2.8 (Debian's ``docker-registry``, filesystem storage in a temporary
     directory).

   Each server runs in a process of its own; the pushes are interleaved (rounds of one
   push to each, the order rotating) and each gets a new repository. Printed: the best
   and the median time, MiB/s, and the ratio of each to distribution's (target for the
   front end: at most 0.6).

2. A 1 GiB blob pushed in one PUT (after a POST): the server process's resident memory
   growth (peak resident set, ``VmHWM``, minus the resident set before the push) for the
   front end (target: at most 64 MiB) and for distribution.

Run: ``python3 -m nox -s oci_bench`` (``-- --quick`` for 16 MiB and 64 MiB, one round).
The script serves the front end itself when run as ``bench_oci.py serve [--keep-layers]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import os
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from ecr_upload_model import Registry
from ecr_upload_model.oci import OciFrontEnd, wsgi_app
from ecr_upload_model.registry import MemoryStore

MIB = 1024 * 1024
BLOCK = bytes(range(256)) * 4096  # 1 MiB of a pattern: bodies made as they are sent


# ---------------------------------------------------------------------------------------
# The servers


class _QuietWSGIHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _FloorHandler(BaseHTTPRequestHandler):
    """Reads the body, answers what a registry would, checks nothing."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        while length:
            length -= len(self.rfile.read(min(length, MIB)))
        status = {"POST": 202, "PATCH": 202, "PUT": 201}.get(self.command, 200)
        self.send_response(status)
        self.send_header("Location", "/v2/floor/blobs/uploads/00000000-0000-0000-0000-000000000000")
        self.send_header("Range", "0-0")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PATCH = do_PUT = do_GET = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(kind: str) -> None:
    """Runs one server on a free port of 127.0.0.1 and prints the port (child process)."""
    if kind == "floor":
        server: socketserver.TCPServer = ThreadingHTTPServer(("127.0.0.1", 0), _FloorHandler)
    else:
        registry = Registry(
            "123456789012", store=MemoryStore(keep_layers=kind == "front-end-keeping-bytes")
        )
        for number in range(1000):  # the repositories the pushes go to
            registry.create_repository(f"bench/r{number}")
        wsgi_server = _ThreadingWSGIServer(("127.0.0.1", 0), _QuietWSGIHandler)
        wsgi_server.set_app(wsgi_app(OciFrontEnd(registry)))
        server = wsgi_server
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextmanager
def python_server(kind: str) -> Iterator[tuple[int, int]]:
    """(port, pid) of a server of ``kind`` in a child process."""
    process = subprocess.Popen(
        [sys.executable, __file__, "serve", kind], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield port, process.pid
    finally:
        process.terminate()
        process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def distribution() -> Iterator[tuple[int, int]]:
    """(port, pid) of distribution 2.8 with filesystem storage in a temporary directory."""
    executable = shutil.which("docker-registry")
    if executable is None:
        raise SystemExit("docker-registry is not on PATH (Debian package docker-registry)")
    with tempfile.TemporaryDirectory() as directory:
        port = _free_port()
        config = os.path.join(directory, "config.yml")
        with open(config, "w") as file:
            file.write(
                "version: 0.1\n"
                "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {directory}/storage\n"
                f"http:\n  addr: 127.0.0.1:{port}\n"
            )
        process = subprocess.Popen(
            [executable, "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(200):
                try:
                    if request(port, "GET", "/v2/")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            else:
                raise SystemExit("distribution did not start")
            yield port, process.pid
        finally:
            process.terminate()
            process.wait()


# ---------------------------------------------------------------------------------------
# The client


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | memoryview | Iterator[bytes] | None = None,
) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()


def blob(size: int) -> tuple[bytes, str]:
    data = (BLOCK * (size // MIB + 1))[:size]
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def path_of(location: str) -> str:
    """A Location's path (distribution answers absolute URLs)."""
    return "/" + location.split("://", 1)[1].split("/", 1)[1] if "://" in location else location


def push_in_chunks(port: int, repository: str, data: bytes, digest: str, chunk: int) -> None:
    status, headers = request(
        port, "POST", f"/v2/{repository}/blobs/uploads/", headers={"Content-Length": "0"}
    )
    assert status == 202, status
    location = path_of(headers["location"])
    view = memoryview(data)
    for first in range(0, len(data), chunk):
        part = view[first : first + chunk]
        status, headers = request(
            port,
            "PATCH",
            location,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(part)),
                "Content-Range": f"{first}-{first + len(part) - 1}",
            },
            body=part,
        )
        assert status in (201, 202), status
        location = path_of(headers["location"])
    separator = "&" if "?" in location else "?"
    status, _ = request(
        port, "PUT", f"{location}{separator}digest={digest}", headers={"Content-Length": "0"}
    )
    assert status == 201, status


def push_in_one_put(port: int, repository: str, size: int) -> None:
    hasher = hashlib.sha256()
    for _ in range(size // MIB):
        hasher.update(BLOCK)
    digest = "sha256:" + hasher.hexdigest()
    status, headers = request(
        port, "POST", f"/v2/{repository}/blobs/uploads/", headers={"Content-Length": "0"}
    )
    assert status == 202, status
    location = path_of(headers["location"])
    separator = "&" if "?" in location else "?"
    status, _ = request(
        port,
        "PUT",
        f"{location}{separator}digest={digest}",
        headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        body=(BLOCK for _ in range(size // MIB)),
    )
    assert status == 201, status


def memory_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


# ---------------------------------------------------------------------------------------
# The runs


def chunked_push_table(size: int, rounds: int) -> None:
    data, digest = blob(size)
    servers: dict[str, Callable[[], AbstractContextManager[tuple[int, int]]]] = {
        "floor (reads the bodies, checks nothing)": lambda: python_server("floor"),
        "front end, MemoryStore (no bytes kept)": lambda: python_server("front-end"),
        "front end, MemoryStore(keep_layers=True)": lambda: python_server(
            "front-end-keeping-bytes"
        ),
        "distribution 2.8 (Go, filesystem)": distribution,
    }
    times: dict[str, list[float]] = {name: [] for name in servers}
    with contextlib.ExitStack() as stack:
        ports = {name: stack.enter_context(start())[0] for name, start in servers.items()}
        names = list(servers)
        for number in range(rounds):
            order = names[number % len(names) :] + names[: number % len(names)]
            for name in order:
                repository = "floor" if name.startswith("floor") else f"bench/r{number}"
                begin = time.perf_counter()
                push_in_chunks(ports[name], repository, data, digest, 10 * MIB)
                times[name].append(time.perf_counter() - begin)
    baseline = min(times["distribution 2.8 (Go, filesystem)"])
    print(
        f"\n1. {size // MIB} MiB in 10 MiB PATCH chunks, http.client, {rounds} interleaved rounds"
    )
    print(f"   {'server':<44} {'best':>8} {'median':>8} {'MiB/s':>7} {'ratio':>7}")
    for name, taken in times.items():
        best = min(taken)
        print(
            f"   {name:<44} {best:8.3f} {statistics.median(taken):8.3f} "
            f"{size / MIB / best:7.0f} {best / baseline:7.2f}"
        )
    print("   ratio: best time over distribution's best (target for the front end: <= 0.6)")


def memory_table(size: int) -> None:
    print(f"\n2. {size // MIB} MiB in one PUT: the server's resident memory growth")
    runs: dict[str, Callable[[], AbstractContextManager[tuple[int, int]]]] = {
        "front end, MemoryStore (no bytes kept)": lambda: python_server("front-end"),
        "distribution 2.8 (Go, filesystem)": distribution,
    }
    for name, start in runs.items():
        with start() as (port, pid):
            repository = "bench/r0"
            push_in_chunks(port, repository, *blob(MIB), MIB)  # warm up
            before = memory_kib(pid, "VmRSS")
            begin = time.perf_counter()
            push_in_one_put(port, repository, size)
            taken = time.perf_counter() - begin
            growth = (memory_kib(pid, "VmHWM") - before) / 1024
        print(f"   {name:<44} {growth:8.1f} MiB  ({taken:.2f} s)")
    print("   growth: peak resident set in the push minus resident set before (target <= 64 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="bench", choices=["bench", "serve"])
    parser.add_argument("kind", nargs="?", default="front-end")
    parser.add_argument("--quick", action="store_true", help="16 MiB and 64 MiB, one round")
    arguments = parser.parse_args()
    if arguments.command == "serve":
        serve(arguments.kind)
        return
    chunked_push_table(16 * MIB if arguments.quick else 100 * MIB, 1 if arguments.quick else 5)
    memory_table(64 * MIB if arguments.quick else 1024 * MIB)


if __name__ == "__main__":
    main()
