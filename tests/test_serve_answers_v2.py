"""``serve`` answers the OCI ``/v2/`` API on the JSON API's port, over the same store: a
blob of any length, whole or in chunks; a malformed chunked body is refused and its
connection closed; the JSON API still refuses a chunked body. The real clients (skopeo,
ORAS) are in ``test_oci_real_clients.py``."""

from __future__ import annotations

import hashlib
import http.client
import random
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from serve_process import Served, serving

from ecr_upload_model.limits import MAX_BODY_BYTES

pytest.importorskip("cheroot")

#: The server's cap on a JSON API request body: a /v2/ blob may be longer.
JSON_BODY_CAP = max(MAX_BODY_BYTES.values())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("data"), "--repository", "team/app") as server:
        yield server


@pytest.fixture
def connect(served: Served) -> Iterator[Callable[[], http.client.HTTPConnection]]:
    """Opens connections to ``serve``; closes them after the test."""
    opened: list[http.client.HTTPConnection] = []
    address = urlsplit(served.url)
    assert address.hostname == "127.0.0.1"

    def new() -> http.client.HTTPConnection:
        opened.append(http.client.HTTPConnection("127.0.0.1", address.port, timeout=60))
        return opened[-1]

    yield new
    for connection in opened:
        connection.close()


Connect = Callable[[], http.client.HTTPConnection]


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def start_upload(connection: http.client.HTTPConnection) -> str:
    connection.request("POST", "/v2/team/app/blobs/uploads/", headers={"Content-Length": "0"})
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 202
    location = answer.getheader("Location")
    assert location is not None
    return location


def pull(connection: http.client.HTTPConnection, blob: str) -> bytes:
    connection.request("GET", f"/v2/team/app/blobs/{blob}")
    answer = connection.getresponse()
    assert answer.status == 200
    return answer.read()


def test_a_blob_longer_than_any_json_body_is_pushed_whole_and_pulled_back(connect: Connect) -> None:
    blob = random.Random(1).randbytes(JSON_BODY_CAP + 1)
    connection = connect()
    location = start_upload(connection)
    connection.request("PUT", f"{location}?digest={digest(blob)}", body=blob)
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 201, answer.status
    assert pull(connection, digest(blob)) == blob


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def test_a_chunked_blob_is_decoded_and_the_connection_kept(connect: Connect) -> None:
    blob = random.Random(2).randbytes(3 * 1024 * 1024 + 17)
    connection = connect()
    location = start_upload(connection)
    connection.request(
        "PATCH",
        location,
        body=chunks(blob, 65_537),
        headers={"Content-Type": "application/octet-stream"},
        encode_chunked=True,
    )
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 201, answer.status  # ECR's proxy answers a PATCH 201
    location = answer.getheader("Location") or location
    connection.request("PUT", f"{location}?digest={digest(blob)}", body=b"")
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 201, answer.status
    # The same connection serves the next request: the chunked body was read to its end.
    assert pull(connection, digest(blob)) == blob


@pytest.mark.parametrize(
    "body",
    [b"zz\r\nab\r\n0\r\n\r\n", b"2\r\nabc\r\n0\r\n\r\n"],
    ids=["size-not-hex", "chunk-longer-than-its-size"],
)
def test_a_malformed_chunked_body_is_refused_and_its_connection_closed(
    connect: Connect, body: bytes
) -> None:
    connection = connect()
    location = start_upload(connection)
    connection.putrequest("PATCH", location, skip_accept_encoding=True)
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders(body)  # in one send, before any answer can close the connection
    answer = connection.getresponse()
    text = answer.read()
    assert answer.status == 400, (answer.status, text)
    assert answer.getheader("Connection") == "close"
    # The upload has no byte of it.
    connection = connect()
    connection.request("GET", location)
    answer = connection.getresponse()
    answer.read()
    assert answer.getheader("Range") in (None, "0-0", "0--1"), answer.getheader("Range")


def test_the_json_api_still_refuses_a_chunked_body(connect: Connect) -> None:
    connection = connect()
    connection.putrequest("POST", "/", skip_accept_encoding=True)
    connection.putheader("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.InitiateLayerUpload")
    connection.putheader("Content-Type", "application/x-amz-json-1.1")
    connection.putheader("Transfer-Encoding", "chunked")
    # Headers and body in one send: the server answers before it reads the body.
    body = b'{"repositoryName": "team/app"}'
    connection.endheaders(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 411
    assert answer.getheader("Connection") == "close"


def test_a_refused_blob_closes_the_connection_instead_of_reading_it(
    connect: Connect,
) -> None:
    connection = connect()
    # No such repository: the front end answers before it reads the body.
    connection.putrequest("PUT", "/v2/team/missing/blobs/uploads/x?digest=sha256:00")
    connection.putheader("Content-Length", str(1 << 40))
    connection.endheaders(b"some of it")  # in one send, before the answer closes it
    answer = connection.getresponse()
    answer.read()
    assert answer.status >= 400
    assert answer.getheader("Connection") == "close"
