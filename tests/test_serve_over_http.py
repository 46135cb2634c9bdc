"""``serve`` over real HTTP on loopback: boto3 and the AWS CLI create a repository, push a
layer of several parts, get each ECR error with its modelled members, and clean up; four
clients racing with one part; a stop lets the call in flight finish."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from serve_process import DUMMY_AWS_ENVIRONMENT, Served, serving
from shared_values import REGISTRY_ID

from ecr_upload_model.limits import MIN_PART_BYTES

boto3 = pytest.importorskip("boto3")
pytest.importorskip("cheroot")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DUMMY_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("data"), "--repository", "team/app") as server:
        yield server


def client(url: str) -> Any:
    # No retries: each test sees the first answer.
    return boto3.client(
        "ecr",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def error_of(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    response: dict[str, Any] = raised.value.response
    return response


def test_boto3_creates_pushes_checks_and_deletes_a_repository(served: Served) -> None:
    ecr = client(served.url)
    created = ecr.create_repository(repositoryName="boto/app")["repository"]
    host = urlsplit(served.url).netloc
    assert created["repositoryUri"] == f"{host}/boto/app"
    assert created["registryId"] == REGISTRY_ID
    layer = random.Random(7).randbytes(2 * MIN_PART_BYTES + 1000)
    upload = ecr.initiate_layer_upload(repositoryName="boto/app")
    assert upload["partSize"] == 10 * 1024 * 1024
    upload_id = upload["uploadId"]
    for first in range(0, len(layer), MIN_PART_BYTES):
        last = min(first + MIN_PART_BYTES, len(layer)) - 1
        answer = ecr.upload_layer_part(
            repositoryName="boto/app",
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=last,
            layerPartBlob=layer[first : last + 1],
        )
        assert answer["lastByteReceived"] == last
    done = ecr.complete_layer_upload(
        repositoryName="boto/app", uploadId=upload_id, layerDigests=[digest(layer)]
    )
    assert done["layerDigest"] == digest(layer)
    checked = ecr.batch_check_layer_availability(
        repositoryName="boto/app", layerDigests=[digest(layer), digest(b"other")]
    )
    assert [(x["layerDigest"], x["layerSize"]) for x in checked["layers"]] == [
        (digest(layer), len(layer))
    ]
    assert [x["failureCode"] for x in checked["failures"]] == ["MissingLayerDigest"]
    names = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert {"boto/app", "team/app"} <= set(names)
    not_empty = error_of(lambda: ecr.delete_repository(repositoryName="boto/app"))
    assert not_empty["Error"]["Code"] == "RepositoryNotEmptyException"
    deleted = ecr.delete_repository(repositoryName="boto/app", force=True)["repository"]
    assert deleted["createdAt"] == created["createdAt"]
    gone = error_of(lambda: ecr.describe_repositories(repositoryNames=["boto/app"]))
    assert gone["Error"]["Code"] == "RepositoryNotFoundException"


def test_each_ecr_error_reaches_boto3_with_its_modelled_members(served: Served) -> None:
    ecr = client(served.url)
    repository = "errors/app"
    ecr.create_repository(repositoryName=repository)
    assert (
        error_of(lambda: ecr.create_repository(repositoryName=repository))["Error"]["Code"]
        == "RepositoryAlreadyExistsException"
    )
    missing = error_of(lambda: ecr.initiate_layer_upload(repositoryName="errors/none"))
    assert missing["Error"]["Code"] == "RepositoryNotFoundException"
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 400
    unknown = error_of(
        lambda: ecr.upload_layer_part(
            repositoryName=repository,
            uploadId="0a1b2c3d-0000-4000-8000-000000000000",
            partFirstByte=0,
            partLastByte=0,
            layerPartBlob=b"x",
        )
    )
    assert unknown["Error"]["Code"] == "UploadNotFoundException"
    invalid = error_of(lambda: ecr.initiate_layer_upload(repositoryName="Upper/Case"))
    assert invalid["Error"]["Code"] == "InvalidParameterException"
    assert "'repositoryName'" in invalid["Error"]["Message"]

    upload_id = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    empty = error_of(
        lambda: ecr.complete_layer_upload(
            repositoryName=repository, uploadId=upload_id, layerDigests=[digest(b"")]
        )
    )
    assert empty["Error"]["Code"] == "EmptyUploadException"

    def send(first: int, data: bytes) -> object:
        return ecr.upload_layer_part(
            repositoryName=repository,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=first + len(data) - 1,
            layerPartBlob=data,
        )

    send(0, b"abcd")
    again = error_of(lambda: send(0, b"abcd"))
    assert again["Error"]["Code"] == "InvalidLayerPartException"
    assert again["lastValidByteReceived"] == 3
    assert again["uploadId"] == upload_id
    assert again["registryId"] == REGISTRY_ID
    send(4, b"efgh")
    small = error_of(
        lambda: ecr.complete_layer_upload(
            repositoryName=repository, uploadId=upload_id, layerDigests=[digest(b"abcdefgh")]
        )
    )
    assert small["Error"]["Code"] == "LayerPartTooSmallException"

    single = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(
        repositoryName=repository,
        uploadId=single,
        partFirstByte=0,
        partLastByte=3,
        layerPartBlob=b"wxyz",
    )
    wrong = error_of(
        lambda: ecr.complete_layer_upload(
            repositoryName=repository, uploadId=single, layerDigests=[digest(b"other")]
        )
    )
    assert wrong["Error"]["Code"] == "InvalidLayerException"
    ecr.complete_layer_upload(
        repositoryName=repository, uploadId=single, layerDigests=[digest(b"wxyz")]
    )
    twice = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(
        repositoryName=repository,
        uploadId=twice,
        partFirstByte=0,
        partLastByte=3,
        layerPartBlob=b"wxyz",
    )
    exists = error_of(
        lambda: ecr.complete_layer_upload(
            repositoryName=repository, uploadId=twice, layerDigests=[digest(b"wxyz")]
        )
    )
    assert exists["Error"]["Code"] == "LayerAlreadyExistsException"
    ecr.delete_repository(repositoryName=repository, force=True)


def test_the_token_is_basic_credentials_for_the_servers_own_endpoint(served: Served) -> None:
    [data] = client(served.url).get_authorization_token()["authorizationData"]
    assert data["proxyEndpoint"] == served.url
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    assert password


class AwsCli:
    """The AWS CLI in a subprocess (``aws`` with dummy credentials, no config files),
    running one command after another; each answer's JSON output read back."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url = url
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "aws_cli_session.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env={**os.environ, **DUMMY_AWS_ENVIRONMENT},
        )

    def __call__(self, *arguments: str) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        command = ["ecr", *arguments, "--endpoint-url", self.url, "--output", "json"]
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        result = json.loads(self.process.stdout.readline())
        if result["code"] != 0:
            raise AssertionError(f"aws {' '.join(command)}: {result['stderr']}")
        return json.loads(result["stdout"]) if result["stdout"].strip() else None

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0
        if self.process.stdout is not None:
            self.process.stdout.close()


def test_the_aws_cli_creates_pushes_checks_and_deletes(served: Served, tmp_path: Path) -> None:
    pytest.importorskip("awscli")
    repository = "cli/app"
    layer = random.Random(3).randbytes(MIN_PART_BYTES + 100)
    parts = [layer[:MIN_PART_BYTES], layer[MIN_PART_BYTES:]]
    for number, part in enumerate(parts):
        (tmp_path / f"part{number}").write_bytes(part)
    aws = AwsCli(served.url, tmp_path)
    created = aws("create-repository", "--repository-name", repository)
    assert created["repository"]["repositoryName"] == repository
    started = aws("initiate-layer-upload", "--repository-name", repository)
    first = 0
    for number, part in enumerate(parts):
        answer = aws(
            "upload-layer-part",
            "--repository-name",
            repository,
            "--upload-id",
            started["uploadId"],
            "--part-first-byte",
            str(first),
            "--part-last-byte",
            str(first + len(part) - 1),
            "--layer-part-blob",
            f"fileb://part{number}",
        )
        first += len(part)
        assert answer["lastByteReceived"] == first - 1
    done = aws(
        "complete-layer-upload",
        "--repository-name",
        repository,
        "--upload-id",
        started["uploadId"],
        "--layer-digests",
        digest(layer),
    )
    assert done["layerDigest"] == digest(layer)
    checked = aws(
        "batch-check-layer-availability",
        "--repository-name",
        repository,
        "--layer-digests",
        digest(layer),
    )
    assert checked["layers"][0]["layerAvailability"] == "AVAILABLE"
    described = aws("describe-repositories", "--repository-names", repository)
    assert described["repositories"][0]["repositoryArn"].endswith(f":repository/{repository}")
    deleted = aws("delete-repository", "--repository-name", repository, "--force")
    assert deleted["repository"]["repositoryName"] == repository
    aws.close()


def send_at_once(clients: list[Any], upload_id: str, part: bytes) -> list[object]:
    """Each client sends ``part`` as the first part of ``upload_id``, all released at once;
    each one's lastByteReceived, or its error code and lastValidByteReceived."""
    barrier = threading.Barrier(len(clients))
    outcomes: list[object] = []
    lock = threading.Lock()

    def send(ecr: Any) -> None:
        barrier.wait()
        try:
            answer: object = ecr.upload_layer_part(
                repositoryName="team/app",
                uploadId=upload_id,
                partFirstByte=0,
                partLastByte=len(part) - 1,
                layerPartBlob=part,
            )["lastByteReceived"]
        except ClientError as error:
            answer = (error.response["Error"]["Code"], error.response["lastValidByteReceived"])
        with lock:
            outcomes.append(answer)

    threads = [threading.Thread(target=send, args=(ecr,)) for ecr in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_four_clients_sending_one_part_at_once_one_is_accepted(served: Served) -> None:
    clients = [client(served.url) for _ in range(4)]
    for trial in range(10):
        part = random.Random(trial).randbytes(64 * 1024)
        upload_id = clients[0].initiate_layer_upload(repositoryName="team/app")["uploadId"]
        outcomes = send_at_once(clients, upload_id, part)
        last = len(part) - 1
        assert sorted(outcomes, key=str) == [("InvalidLayerPartException", last)] * 3 + [last]
        done = clients[1].complete_layer_upload(
            repositoryName="team/app", uploadId=upload_id, layerDigests=[digest(part)]
        )
        assert done["layerDigest"] == digest(part)


def http_head(served: Served, head: bytes) -> socket.socket:
    parts = urlsplit(served.url)
    connection = socket.create_connection((parts.hostname or "", parts.port or 0), timeout=60)
    connection.sendall(head)
    return connection


def read_answer(connection: socket.socket) -> tuple[int, dict[str, Any]]:
    stream = connection.makefile("rb")
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, json.loads(stream.read(length))


def test_a_stop_lets_the_call_in_flight_finish_and_exits_0(tmp_path: Path) -> None:
    with serving(tmp_path, "--repository", "team/app") as server:
        ecr = client(server.url)
        upload_id = ecr.initiate_layer_upload(repositoryName="team/app")["uploadId"]
        blob = base64.b64encode(b"in flight").decode()
        body = json.dumps(
            {
                "repositoryName": "team/app",
                "uploadId": upload_id,
                "partFirstByte": 0,
                "partLastByte": 8,
                "layerPartBlob": blob,
            }
        ).encode()
        head = (
            "POST / HTTP/1.1\r\nHost: x\r\n"
            "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.UploadLayerPart\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        connection = http_head(server, head + body[:10])
        # The server reads the part's first bytes before the stop (its answer to a call
        # on another connection comes after them).
        ecr.describe_repositories()
        server.process.send_signal(15)
        assert server.process.stderr is not None
        assert server.process.stderr.readline().startswith("stopping")
        connection.sendall(body[10:])
        status, answer = read_answer(connection)
        assert (status, answer["lastByteReceived"]) == (200, 8)
        connection.close()
        assert server.process.wait(timeout=60) == 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((urlsplit(server.url).hostname, urlsplit(server.url).port))
