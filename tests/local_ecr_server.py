"""A small ECR-compatible HTTP server for the tests: ``wire.handle`` behind a
ThreadingHTTPServer on 127.0.0.1 and a free port, with throttling put in on request.

It stands in until the package has a server of its own. It checks no signature (it
records the ``Authorization`` header for the tests to look at).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ecr_upload_model import API_LIMITS, Limits, Registry, RepositoryName
from ecr_upload_model.wire import handle


class LocalEcrServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, registry: Registry, *, throttle_first: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.registry = registry
        #: The first calls answered 429 ThrottlingException instead of being handled.
        self.throttle_first = throttle_first
        self.lock = threading.Lock()
        self.targets: list[str] = []
        self.authorizations: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(
        self, target: str, body: bytes, authorization: str
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:  # the registry is shared by the handler threads
            self.targets.append(target.rpartition(".")[2])
            self.authorizations.append(authorization)
            if len(self.targets) <= self.throttle_first:
                answer = {"__type": "ThrottlingException", "message": "Rate exceeded"}
                return (
                    429,
                    {"Content-Type": "application/x-amz-json-1.1"},
                    json.dumps(answer).encode(),
                )
            return handle(self.registry, target, body)


class _Handler(BaseHTTPRequestHandler):
    server: LocalEcrServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, headers, answer = self.server.answer(
            self.headers.get("X-Amz-Target", ""), body, self.headers.get("Authorization", "")
        )
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests look at ``targets``."""


@contextmanager
def local_ecr_server(
    *repositories: str, throttle_first: int = 0, limits: Limits = API_LIMITS
) -> Iterator[LocalEcrServer]:
    """A running server whose registry holds ``repositories``; stopped on exit."""
    registry = Registry("123456789012", limits=limits)
    for name in repositories:
        registry.create_repository(RepositoryName(name))
    server = LocalEcrServer(registry, throttle_first=throttle_first)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
