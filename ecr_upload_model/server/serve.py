"""``python -m ecr_upload_model serve``: the application on cheroot, over a durable store.

cheroot (the CherryPy project's HTTP server: pure Python, threaded, HTTP/1.1 keep-alive)
reads a request's headers and hands the body to the application as a stream, so a body
over its operation's limit is refused before it is read, and a client that stops sending
is cut off by the socket's timeout. Two small changes make every answer the JSON API's:
cheroot's own refusals (a malformed request line or header) are written as typed
errors, and an answer that says ``Connection: close`` closes the connection at once
instead of reading the rest of a refused body first.

The same port serves the OCI distribution API under ``/v2/`` (:mod:`ecr_upload_model.oci`)
over the same registry and store. Its bodies differ from the JSON API's: a blob may be
of any length (the front end hands it to the registry one part at a time as it reads)
and may come in chunks (skopeo streams each blob so), so ``/v2/`` is not held to the
server's cap on a body, its chunked bodies are decoded as they are read, and a body the
front end left unread closes the connection instead of being read to its end.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pathlib
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any, Final, TextIO

from cheroot import server as cheroot_server
from cheroot import wsgi as cheroot_wsgi

from ..errors import EcrError, SerializationException, ServiceUnavailable
from ..identifiers import RegistryId, RepositoryName
from ..limits import MAX_BODY_BYTES
from ..oci import OciFrontEnd, wsgi_app
from ..registry import Registry
from ..wire import encode_error
from .app import make_app
from .stores import open_store

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_READ_TIMEOUT_SECONDS",
    "DEFAULT_THREADS",
    "default_data_dir",
    "make_server",
    "serve",
    "token_secret",
]

DEFAULT_PORT: Final = 5000
#: A connection that sends nothing for this long is closed (mid-body, its call fails).
DEFAULT_READ_TIMEOUT_SECONDS: Final = 30.0
#: Calls answered at once: more than docker's 5 concurrent uploads, with room for checks.
DEFAULT_THREADS: Final = 16
#: How long a stop waits for the calls in flight (a 28 MB part on a slow link).
SHUTDOWN_SECONDS: Final = 60.0


def default_data_dir() -> pathlib.Path:
    """``$XDG_DATA_HOME/ecr_upload_model`` (``~/.local/share/ecr_upload_model``): where
    the XDG base directory convention keeps a user's application data."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return pathlib.Path(base) / "ecr_upload_model"


def token_secret(secret_access_key: str) -> bytes:
    """The key GetAuthorizationToken signs with, derived from the server's secret access
    key, so that every server given the same credentials verifies the same passwords."""
    return hashlib.sha256(
        b"ecr_upload_model authorization token\0" + secret_access_key.encode()
    ).digest()


#: The chunk-size line of a chunked body is a hex number and extensions: this is plenty.
MAX_CHUNK_LINE_BYTES: Final = 1024
#: A chunk's size: hex digits (16 of them reach 2**64 bytes, more than any body).
_CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]{1,16}")


def _is_oci(path: bytes | str) -> bool:
    """Whether a request's path is the ``/v2/`` API's."""
    text = path.decode("latin-1") if isinstance(path, bytes) else path
    return text == "/v2" or text.startswith("/v2/")


def _read_into(reader: Any, view: memoryview) -> int:
    """One read from a connection into ``view``: what cheroot's reader holds already,
    else one receive from the socket straight into ``view``; 0 at the end.

    cheroot's reader is the pure-Python ``_pyio.BufferedReader``: its ``read`` of n bytes
    allocates n bytes for each chunk it receives and joins them, and its ``readinto``
    can fail when it refills its buffer for the last bytes.
    """
    if reader.has_data():
        chunk: bytes = reader.read1(len(view))  # from its buffer alone
        view[: len(chunk)] = chunk
        return len(chunk)
    return int(reader.raw.readinto(view) or 0)


class _Dechunked(io.RawIOBase):
    """A ``Transfer-Encoding: chunked`` body, decoded as it is read; each read returns
    at most what is left of the current chunk, so nothing is copied twice. A malformed
    chunk, or a client that stops within one, is a ConnectionError (a body that broke
    off, to the front end)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._left = 0  # bytes left in the current chunk
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.done or not len(view):
            return 0
        if self._left == 0:
            line = self._raw.readline(MAX_CHUNK_LINE_BYTES)
            size = line.split(b";")[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size):
                raise ConnectionError(f"a chunked body has a malformed chunk size {line[:40]!r}")
            self._left = int(size, 16)
            if self._left == 0:
                while self._raw.readline(MAX_CHUNK_LINE_BYTES) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: nothing here reads them
                self.done = True
                return 0
        count = _read_into(self._raw, view[: min(len(view), self._left)])
        if not count:
            raise ConnectionError("the client stopped in the middle of a chunk")
        self._left -= count
        if self._left == 0 and self._raw.readline(MAX_CHUNK_LINE_BYTES) not in (b"\r\n", b"\n"):
            raise ConnectionError("a chunk of a chunked body is longer than its size")
        return count


class _KnownLength(cheroot_server.KnownLengthRFile):
    """cheroot's body of a known length, with a ``readinto`` that copies once."""

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[: self.remaining]
        count = _read_into(self.rfile, view) if len(view) else 0
        self.remaining -= count
        return count


class _Uncapped:
    """The server as a ``/v2/`` request sees it: without the cap on a body's length."""

    max_request_body_size: Final = 0  # cheroot's "no cap"

    def __init__(self, server: cheroot_server.HTTPServer) -> None:
        self._server = server

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class _TypedRequest(cheroot_server.HTTPRequest):
    """cheroot's own refusals (malformed request line, headers or Content-Length, a body
    over the server's limit, overload) as the JSON API's typed errors; a ``/v2/``
    request's body of any length, chunked or not."""

    def read_request_headers(self) -> bool:
        if _is_oci(self.path):  # a request of its own each time: this one alone
            self.server = _Uncapped(self.server)
        return bool(super().read_request_headers())  # type: ignore[no-untyped-call]

    def respond(self) -> None:
        if self.chunked_read and not _is_oci(self.path):
            super().respond()  # the JSON API refuses it unread
            return
        # cheroot's respond, with a body read straight into the application's buffer
        # and a decoder of chunks that copies nothing twice (a /v2/ request's server
        # has no cap on the body's length).
        if self.chunked_read:
            self.rfile = _Dechunked(self.conn.rfile)
        else:
            length = int(self.inheaders.get(b"Content-Length", 0))
            cap = self.server.max_request_body_size
            if cap and cap < length:
                self.simple_response(
                    "413 Request Entity Too Large",
                    "The entity sent with the request exceeds the maximum allowed bytes.",
                )
                return
            self.rfile = _KnownLength(self.conn.rfile, length)
        self.server.gateway(self).respond()
        if self.ready:
            self.ensure_headers_sent()
        if self.chunked_write:
            self.conn.wfile.write(b"0\r\n\r\n")

    def simple_response(self, status: Any, msg: Any = "") -> None:
        code = int(str(status)[:3])
        text = msg.decode("latin-1") if isinstance(msg, bytes) else str(msg or status)
        error: EcrError = ServiceUnavailable(text) if code == 503 else SerializationException(text)
        error.http_status = code
        _, headers, body = encode_error(error, request_id=str(uuid.uuid4()))
        # cheroot reads no more of a connection it answered this way.
        self.close_connection = True
        head = [f"{self.server.protocol} {status}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append("Connection: close")
        with contextlib.suppress(OSError):  # the client is gone: nobody to tell
            self.conn.wfile.write("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)


class _TypedConnection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _TypedRequest


class _Gateway(cheroot_wsgi.Gateway_10):
    """Closes the connection when the application says ``Connection: close`` (it refused
    a body, or the body broke off), or when ``/v2/`` answered before reading the whole
    body, instead of reading the rest of the body first."""

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if any(
            name.lower() == "connection" and value.lower() == "close" for name, value in headers
        ) or (_is_oci(self.req.path) and self._body_unread()):
            self.req.close_connection = True
        return super().start_response(status, headers, exc_info)

    def _body_unread(self) -> bool:
        body = self.req.rfile
        if isinstance(body, _Dechunked):
            return not body.done
        return bool(getattr(body, "remaining", 0))


def make_server(
    app: Callable[..., Any],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    threads: int = DEFAULT_THREADS,
    read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS,
) -> cheroot_wsgi.Server:
    """A cheroot server of ``app``, bound and listening (``server.bind_addr`` holds the
    port it got); run it with ``server.serve()`` and stop it with ``server.stop()``."""
    server = cheroot_wsgi.Server(
        (host, port),
        app,
        numthreads=threads,
        timeout=read_timeout,  # type: ignore[arg-type]  # cheroot takes seconds as a float
        shutdown_timeout=SHUTDOWN_SECONDS,  # type: ignore[arg-type]
        request_queue_size=64,
    )
    server.ConnectionClass = _TypedConnection
    server.gateway = _Gateway
    # A backstop behind the application's own limit per operation.
    server.max_request_body_size = max(MAX_BODY_BYTES.values())
    server.prepare()
    return server


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    data_dir: pathlib.Path | None = None,
    registry_id: RegistryId,
    repositories: Sequence[RepositoryName] = (),
    store_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    threads: int = DEFAULT_THREADS,
    read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS,
    stdout: TextIO = sys.stdout,
) -> None:
    """Serves until SIGTERM or SIGINT, then stops accepting, lets the calls in flight
    finish and returns. Prints ``listening on http://HOST:PORT`` once it accepts calls."""
    data_dir = default_data_dir() if data_dir is None else data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(data_dir, store_url)
    stop = threading.Event()
    application: dict[str, Any] = {}

    def late_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return application["app"](environ, start_response)

    server = make_server(late_app, host, port, threads=threads, read_timeout=read_timeout)
    bound_host, bound_port = server.bind_addr[:2]
    url = f"http://{bound_host}:{bound_port}"
    secret = None if credentials is None else token_secret(next(iter(credentials.values())))
    registry = Registry(
        registry_id, store=store, clock=time.time, proxy_endpoint=url, token_secret=secret
    )
    for name in repositories:
        registry.create_repository(name)
    application["app"] = wsgi_app(
        OciFrontEnd(
            registry,
            # A /v2/ client logs in with GetAuthorizationToken's password, as with ECR.
            verify_password=None if credentials is None else registry.verify_password,
            realm=url,
        ),
        fallback=make_app(registry, credentials=credentials),
    )

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {
        number: signal.signal(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)
    }
    thread = threading.Thread(target=server.serve, name="cheroot", daemon=True)
    thread.start()
    try:
        print(f"listening on {url}", file=stdout, flush=True)
        stop.wait()
        print("stopping: no new calls; the calls in flight finish", file=sys.stderr, flush=True)
    finally:
        server.stop()  # stops accepting; waits for the calls in flight
        thread.join()
        for number, handler in previous.items():
            signal.signal(number, handler)
        close = getattr(store, "close", None)
        if callable(close):
            close()
