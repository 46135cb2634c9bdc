"""Who may call (SigV4 with ``--credentials``) and what bad HTTP input gets: each case is
answered with its typed error in the JSON API's form, and a refused call stores nothing."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from serve_process import DUMMY_AWS_ENVIRONMENT, Served, serving
from shared_values import REGISTRY_ID, REPOSITORY

from ecr_upload_model import Registry, UploadId, UsageError
from ecr_upload_model.authorization import verify_password
from ecr_upload_model.operations import TARGET_PREFIX

boto3 = pytest.importorskip("boto3")
pytest.importorskip("cheroot")
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from ecr_upload_model.limits import MAX_BODY_BYTES  # noqa: E402
from ecr_upload_model.server.app import make_app  # noqa: E402
from ecr_upload_model.server.serve import make_server, token_secret  # noqa: E402

KEY, SECRET = "AKIDSERVER", "server-secret"


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DUMMY_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("data")
    with serving(data, "--repository", "team/app", "--credentials", f"{KEY}:{SECRET}") as served:
        yield served


def client(url: str, key: str = KEY, secret: str = SECRET, **config: Any) -> Any:
    return boto3.client(
        "ecr",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )


def refusal(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


# ---------------------------------------------------------------------------------------
# SigV4


def test_the_right_secret_is_accepted_in_any_region(guarded: Served) -> None:
    names = client(guarded.url).describe_repositories()["repositories"]
    assert [r["repositoryName"] for r in names] == ["team/app"]


def test_a_wrong_secret_is_an_invalid_signature(guarded: Served) -> None:
    status, code, message = refusal(client(guarded.url, secret="wrong").describe_repositories)
    assert (status, code) == (400, "InvalidSignatureException")
    assert message.startswith("The request signature we calculated does not match")


def test_an_unknown_key_is_an_unrecognized_client(guarded: Served) -> None:
    status, code, message = refusal(client(guarded.url, key="AKIDOTHER").describe_repositories)
    assert (status, code) == (400, "UnrecognizedClientException")
    assert message == "The security token included in the request is invalid."


def test_an_unsigned_call_is_a_missing_authentication_token(guarded: Served) -> None:
    unsigned = client(guarded.url, signature_version=botocore.UNSIGNED)
    status, code, message = refusal(
        lambda: unsigned.initiate_layer_upload(repositoryName="team/app")
    )
    assert (status, code, message) == (
        400,
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    )


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(-16, "Signature expired: "), (16, "Signature not yet current: ")],
)
def test_a_call_signed_more_than_15_minutes_off_is_refused(
    guarded: Served, minutes: int, expected: str
) -> None:
    signed_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    ecr = client(guarded.url)
    with mock.patch(
        "botocore.auth.get_current_datetime", return_value=signed_at.replace(tzinfo=None)
    ):
        status, code, message = refusal(ecr.describe_repositories)
    assert (status, code) == (400, "InvalidSignatureException")
    assert message.startswith(expected)
    within = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=14)
    with mock.patch("botocore.auth.get_current_datetime", return_value=within.replace(tzinfo=None)):
        assert ecr.describe_repositories()["repositories"]


def signed_request(url: str, body: bytes, **headers: str) -> Any:
    """A call signed by botocore's signer, as a request to send by hand."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

    request = AWSRequest(
        method="POST",
        url=url + "/",
        headers={
            "X-Amz-Target": f"{TARGET_PREFIX}.InitiateLayerUpload",
            "Content-Type": "application/x-amz-json-1.1",
            **headers,
        },
        data=body,
    )
    SigV4Auth(ReadOnlyCredentials(KEY, SECRET, None), "ecr", "us-east-1").add_auth(request)
    return request


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    import requests

    answer = requests.post(url + "/", headers=headers, data=body, timeout=60)
    return answer.status_code, answer.json()


def test_a_body_changed_after_signing_is_an_invalid_signature(guarded: Served) -> None:
    request = signed_request(guarded.url, b'{"repositoryName": "team/app"}')
    headers = {name: str(value) for name, value in request.headers.items()}
    assert post(guarded.url, headers, request.body)[0] == 200
    status, answer = post(guarded.url, headers, b'{"repositoryName": "team/xyz"}')
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")
    # A signed payload hash is a promise about the body: botocore's signer takes it on
    # trust, so the server holds the body to it.
    declared = hashlib.sha256(b'{"repositoryName": "team/app"}').hexdigest()
    promised = signed_request(
        guarded.url, b'{"repositoryName": "team/app"}', **{"X-Amz-Content-SHA256": declared}
    )
    promised_headers = {name: str(value) for name, value in promised.headers.items()}
    assert post(guarded.url, promised_headers, promised.body)[0] == 200
    status, answer = post(guarded.url, promised_headers, b'{"repositoryName": "team/xyz"}')
    assert (status, answer["__type"]) == (400, "InvalidSignatureException")


def test_a_token_verifies_in_any_process_holding_the_same_credentials(guarded: Served) -> None:
    [data] = client(guarded.url).get_authorization_token()["authorizationData"]
    password = base64.b64decode(data["authorizationToken"]).decode().partition(":")[2]
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    assert verify_password(
        password, secret=token_secret(SECRET), registry_id="123456789012", now=now
    )
    assert not verify_password(
        password, secret=token_secret("another"), registry_id="123456789012", now=now
    )


# ---------------------------------------------------------------------------------------
# Bad HTTP input


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("data"), "--repository", "team/app") as served:
        yield served


def exchange(url: str, request: bytes, *, shut: bool = False) -> tuple[int, dict[str, str], Any]:
    """Sends raw bytes on a new connection; the answer's status, headers and JSON body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=60) as sock:
        sock.sendall(request)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        stream = sock.makefile("rb")
        status = int(stream.readline().split()[1])
        headers: dict[str, str] = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, json.loads(stream.read(int(headers["content-length"])))


def head(
    operation: str = "InitiateLayerUpload",
    length: int | str | None = None,
    *,
    method: str = "POST",
    path: str = "/",
    extra: str = "",
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: test",
        f"X-Amz-Target: {TARGET_PREFIX}.{operation}",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (head(length=0, path="/v1/other"), 404, "UnknownOperationException"),
        (head(length=0, method="GET"), 405, "UnknownOperationException"),
        (head(length=0, method="PUT"), 405, "UnknownOperationException"),
        (head("PutImage", length=2) + b"{}", 400, "UnknownOperationException"),
        (head(), 411, "SerializationException"),
        (
            head(extra="Transfer-Encoding: chunked\r\n") + b"0\r\n\r\n",
            411,
            "SerializationException",
        ),
        (head(length="ten"), 400, "SerializationException"),
        (head(length="-5"), 400, "SerializationException"),
        (head(length=5) + b"{nope", 400, "SerializationException"),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "SerializationException"),
    ],
)
def test_bad_http_input_gets_a_typed_answer(
    open_server: Served, request_bytes: bytes, status: int, code: str
) -> None:
    answered, headers, body = exchange(open_server.url, request_bytes)
    assert (answered, body["__type"]) == (status, code)
    assert isinstance(body["message"], str)
    assert headers["content-type"] == "application/x-amz-json-1.1"


def test_a_body_over_its_operation_limit_is_refused_before_it_is_sent(open_server: Served) -> None:
    # Only the head is sent: the answer comes without the server waiting for the body.
    limit = MAX_BODY_BYTES["BatchCheckLayerAvailability"]
    request = head("BatchCheckLayerAvailability", limit + 1)
    status, headers, body = exchange(open_server.url, request)
    assert (status, body["__type"]) == (413, "SerializationException")
    assert str(limit + 1) in body["message"]
    assert headers["connection"] == "close"
    part = head("UploadLayerPart", 10**12)
    assert exchange(open_server.url, part)[0] == 413


def part_request(upload_id: str, data: bytes, first: int = 0) -> bytes:
    body = json.dumps(
        {
            "repositoryName": "team/app",
            "uploadId": upload_id,
            "partFirstByte": first,
            "partLastByte": first + len(data) - 1,
            "layerPartBlob": base64.b64encode(data).decode(),
        }
    ).encode()
    return head("UploadLayerPart", len(body)) + body


def new_upload(url: str) -> str:
    status, _, body = exchange(url, head(length=30) + b'{"repositoryName": "team/app"}')
    assert status == 200
    upload_id: str = body["uploadId"]
    return upload_id


def test_a_client_that_stops_mid_body_gets_an_answer_and_nothing_is_stored(
    open_server: Served,
) -> None:
    upload_id = new_upload(open_server.url)
    whole = part_request(upload_id, b"abcdefgh")
    status, headers, body = exchange(open_server.url, whole[:-10], shut=True)
    assert (status, body["__type"]) == (400, "SerializationException")
    assert "ended after" in body["message"]
    assert headers["connection"] == "close"
    # Nothing of the broken part is held: the same part is the first one accepted.
    status, _, body = exchange(open_server.url, whole)
    assert (status, body["lastByteReceived"]) == (200, 7)


def test_a_client_that_goes_silent_mid_body_is_cut_off_and_nothing_is_stored() -> None:
    registry = Registry(REGISTRY_ID)
    registry.create_repository(REPOSITORY)
    server = make_server(make_app(registry), read_timeout=0.5)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.bind_addr[1]}"
    try:
        upload_id = new_upload(url)
        whole = part_request(upload_id, b"abcdefgh")
        # The connection stays open and sends nothing more: the server's timeout ends it.
        status, headers, body = exchange(url, whole[:-10])
        assert (status, body["__type"]) == (400, "SerializationException")
        assert "within the server's timeout" in body["message"]
        assert headers["connection"] == "close"
        session = registry.session(UploadId(upload_id))
        assert session is not None
        assert session.bytes_received == 0
        assert exchange(url, whole)[2]["lastByteReceived"] == 7
    finally:
        server.stop()
        thread.join()


def test_a_part_body_is_in_the_servers_memory_once() -> None:
    registry = Registry("123456789012")
    registry.create_repository("team/app")
    server = make_server(make_app(registry))
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.bind_addr[1]}"
    part = bytes(8 * 1024 * 1024)
    try:
        request = part_request(new_upload(url), part)
        tracemalloc.start()
        try:
            status, _, body = exchange(url, request)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (status, body["lastByteReceived"]) == (200, len(part) - 1)
        # The body (read from the socket into one buffer) and the part decoded from it;
        # cheroot's own read of the body held it twice, and its chunks a third time.
        assert peak < len(request) + len(part) + 1024 * 1024
    finally:
        server.stop()
        thread.join()


def test_keep_alive_serves_several_calls_on_one_connection(open_server: Served) -> None:
    import http.client

    parts = urlsplit(open_server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        for _ in range(3):
            connection.request(
                "POST",
                "/",
                body=b'{"repositoryName": "team/app"}',
                headers={"X-Amz-Target": f"{TARGET_PREFIX}.InitiateLayerUpload"},
            )
            answer = connection.getresponse()
            assert answer.status == 200
            assert "uploadId" in json.loads(answer.read())
            assert answer.getheader("Content-Length") is not None
            assert len(answer.headers.get_all("Content-Length") or []) == 1
    finally:
        connection.close()


def test_make_app_refuses_malformed_credentials() -> None:
    for credentials in ({}, {"": "secret"}, {"key": ""}):
        with pytest.raises(UsageError, match="credentials"):
            make_app(Registry("123456789012"), credentials=credentials)


def test_serve_refuses_bad_arguments_with_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    for arguments in (["--port", "70000"], ["--credentials", "nocolon"], ["--registry-id", "12"]):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ecr_upload_model",
                "serve",
                "--data",
                str(tmp_path),
                *arguments,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert "error" in result.stderr
