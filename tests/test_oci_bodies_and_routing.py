"""The /v2/ front end as a WSGI application: the bodies it reads (with and without a
length, one part at a time) and the paths it hands to the fallback application."""

from __future__ import annotations

import io
import tracemalloc
from typing import Any

from oci_calls import V2, digest_text
from wsgi_calls import environ, serve

from ecr_upload_model import API_LIMITS
from ecr_upload_model.oci import wsgi_app

DATA = bytes(range(200))


def test_a_push_and_a_pull_through_the_adapter() -> None:
    v2 = V2()
    app = wsgi_app(v2.front_end)
    status, headers, _ = serve(app, environ("POST", "/v2/team/app/blobs/uploads/"))
    assert status == "202 Accepted"
    location = headers["Location"]
    status, headers, _ = serve(
        app,
        environ(
            "PATCH",
            location,
            body=DATA,
            CONTENT_LENGTH=str(len(DATA)),
            HTTP_CONTENT_RANGE=f"0-{len(DATA) - 1}",
        ),
    )
    assert (status, headers["Range"]) == ("201 Created", "0-199")
    status, headers, _ = serve(
        app, environ("PUT", location, query=f"digest={digest_text(DATA).replace(':', '%3A')}")
    )
    assert status == "201 Created"
    status, headers, body = serve(app, environ("GET", f"/v2/team/app/blobs/{digest_text(DATA)}"))
    assert (status, headers["Content-Length"], body) == ("200 OK", "200", DATA)
    status, headers, body = serve(app, environ("HEAD", f"/v2/team/app/blobs/{digest_text(DATA)}"))
    assert (status, headers["Content-Length"], body) == ("200 OK", "200", b"")


def test_a_body_without_content_length_is_read_only_when_the_server_ends_it() -> None:
    v2 = V2()
    app = wsgi_app(v2.front_end)
    location = v2.start()
    # The WSGI rule: no CONTENT_LENGTH, no body (the input may be the open connection).
    _, headers, _ = serve(app, environ("PATCH", location, body=DATA[:50]))
    assert headers["Range"] == "0-0"
    # A server that decoded a chunked body says where it ends.
    env = environ("PATCH", location, body=DATA[:50])
    env["wsgi.input_terminated"] = True
    _, headers, _ = serve(app, env)
    assert headers["Range"] == "0-49"


def test_other_paths_go_to_the_fallback_application() -> None:
    v2 = V2()

    def json_api(env: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [b"{}"]

    app = wsgi_app(v2.front_end, fallback=json_api)
    assert serve(app, environ("POST", "/"))[1]["Content-Type"] == "application/x-amz-json-1.1"
    assert serve(app, environ("GET", "/v2"))[0] == "200 OK"
    status, headers, _ = serve(app, environ("GET", "/v2/"))
    assert headers["Docker-Distribution-API-Version"] == "registry/2.0"
    status, _, _ = serve(wsgi_app(v2.front_end), environ("POST", "/"))
    assert status == "404 Not Found"


class PatternStream(io.RawIOBase):
    """``length`` bytes made as they are read: a body no test holds whole."""

    def __init__(self, length: int) -> None:
        self._left = length
        self._block = bytes(range(256)) * 4096  # 1 MiB

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), len(self._block), self._left)
        buffer[:count] = self._block[:count]
        self._left -= count
        return count


def test_a_64_mib_chunk_is_held_one_part_at_a_time() -> None:
    v2 = V2(limits=API_LIMITS, keep_layers=False)
    app = wsgi_app(v2.front_end)
    location = v2.start()
    length = 64 * 1024 * 1024
    env = environ("PATCH", location, CONTENT_LENGTH=str(length))
    env["wsgi.input"] = PatternStream(length)
    tracemalloc.start()
    try:
        status, headers, _ = serve(app, env)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (status, headers["Range"]) == ("201 Created", f"0-{length - 1}")
    # One part's buffer (four near-equal parts of 16 MiB) and a little more.
    assert peak <= 16 * 1024 * 1024 + 256 * 1024, peak
