"""A /v2/ HTTP server for the tests: ``oci.wsgi_app`` behind the standard library's WSGI
server, threaded, on 127.0.0.1 and a free port.

It stands in for the package's own server until that mounts the front end. The
standard library's server does not decode a chunked request body (skopeo streams each
blob so), so this one does, and says so as servers that do (``wsgi.input_terminated``).
"""

from __future__ import annotations

import io
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from ecr_upload_model.oci import OciFrontEnd, wsgi_app


class _Dechunked(io.RawIOBase):
    """The body of a request sent with ``Transfer-Encoding: chunked``."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self._left = 0  # bytes left in the current chunk
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._done or not len(view):
            return 0
        if self._left == 0:
            size_line = self._raw.readline(1024)
            self._left = int(size_line.split(b";")[0].strip() or b"0", 16)
            if self._left == 0:
                while self._raw.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return 0
        count: int = self._raw.readinto(view[: min(len(view), self._left)])
        if not count:
            raise ConnectionError("the client stopped in the middle of a chunk")
        self._left -= count
        if self._left == 0:
            self._raw.readline(1024)  # the CRLF after the chunk
        return count


class _Handler(WSGIRequestHandler):
    def handle(self) -> None:
        # WSGIRequestHandler.handle, with a chunked body decoded.
        self.raw_requestline = self.rfile.readline(65537)
        if not self.parse_request():
            return
        environ = self.get_environ()
        stdin: io.BufferedIOBase = self.rfile
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            stdin = io.BufferedReader(_Dechunked(self.rfile), 1024 * 1024)
            environ["wsgi.input_terminated"] = True
        handler = ServerHandler(
            cast(BinaryIO, stdin),
            cast(BinaryIO, self.wfile),
            self.get_stderr(),
            environ,
            multithread=False,
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests look at the answers."""


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextmanager
def oci_server(front_end: OciFrontEnd) -> Iterator[str]:
    """Serves ``front_end`` until the block ends; yields its ``127.0.0.1:PORT``."""
    server = ThreadingWSGIServer(("127.0.0.1", 0), _Handler)
    server.set_app(wsgi_app(front_end))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
